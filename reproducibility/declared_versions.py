"""The TensorFlow release and the Python version a repository says it was run with, from every place
people write them: manifests, Dockerfiles (base image tags, installs, ENV), and README prose
("tested with TensorFlow 1.11 and Python 3.6", badges, `pip install tensorflow==1.15`).

A TensorFlow release counts when one release line is named: an exact pin, a range closed above, a
version in prose or an image tag; an open lower bound (`>=2.0`, "2.1 and above") does not. A Python
version counts when a minor version is named (`3.6`, `>=3.7`); "Python 3" does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from reproducibility.dockerfiles import dockerfiles
from reproducibility.manifests import Declared, read_manifests
from reproducibility.markup import Document, readmes
from reproducibility.repo_view import Location, RepoView

# Every distribution that installs TensorFlow itself (`import tensorflow`).
TENSORFLOW_BUILDS = frozenset(
    {
        "tensorflow", "tensorflow-gpu", "tensorflow-cpu", "tf-nightly", "tf-nightly-gpu", "tf-nightly-cpu",
        "tensorflow-macos", "tensorflow-intel", "intel-tensorflow", "intel-tensorflow-avx512",
        "tensorflow-aarch64", "tensorflow-rocm", "tensorflow-directml", "tensorflow-base", "tensorflow-mkl",
    }
)  # fmt: skip
# tf-keras is released in step with TensorFlow: its version names the TensorFlow line.
TENSORFLOW_RELEASES = TENSORFLOW_BUILDS | {"tf-keras"}

_CLAUSE = re.compile(r"^(===|==|~=|<=|>=|!=|<|>|=|\^|~)?\s*v?(\d[\w.*+!-]*)$")
_MINOR = re.compile(r"\d+\.\d+")
_NAME_GAP = (
    r"(?P<gap>[ \t]*(?:[(:,][ \t]*)?(?:(?:recommended|tested|stable|required|minimum|supported)[ \t]+)?"
    r"(?:version|release|ver\.?)?[ \t]*[:(]?[ \t]*)"
    r"(?P<op>===|==|>=|<=|~=|!=|=|>|<)?[ \t]*[vr]?(?P<version>\d+\.(?:\d+|x|\*))(?P<more>[\w.*+-]*)"
)
TENSORFLOW_PROSE = re.compile(r"(?<![\w.-])(?:tensor[ -]?flow(?:[-_](?:gpu|cpu))?|tf(?=[ \t]?\d))" + _NAME_GAP, re.I)
KERAS_PROSE = re.compile(r"(?<![\w.-])keras" + _NAME_GAP, re.I)
PYTHON_PROSE = re.compile(
    r"(?<![\w.-])(?:python|py)(?:[ \t]*[-_]?[ \t]*(?:version|ver\.?)\b)?[ \t]*[-_]?[ \t]*"
    r"(?:===|==|>=|<=|~=|=|>|<|:)?[ \t]*v?(?P<version>[23]\.\d{1,2})(?![\d])",
    re.I,
)
_OPEN_AFTER = re.compile(
    r"^\+|^[ \t]*\)?[ \t]*,?[ \t]*(?:or|and|&)[ \t]+(?:newer|later|higher|above|over|up|greater|beyond|more recent)\b"
    r"|^[ \t]*(?:onwards|upwards|and up)\b",
    re.I,
)
_OPEN_BEFORE = re.compile(
    r"(?:starting|start|since|from|after|prior to|before|as of|at least|newer than|later than|introduced in"
    r"|greater than|higher than|above|minimum|min\.?|upgrade to|migrat\w* to)[ \t]*(?:with|in|from|of|to)?[ \t]*$",
    re.I,
)
_CLOSED_AFTER = re.compile(r"^[ \t]*,[ \t]*<")
# Words of a sentence that states what the work uses: "tested with", "requires", "implemented in".
_DECLARING = re.compile(
    r"\b(?:test\w*|requir\w*|install\w*|implement\w*|using|uses?|used|with|works?|compatib\w*|support\w*"
    r"|environment|based on|written in|built|recommend\w*|needs?|depend\w*|ported|run\w*|version)\b",
    re.I,
)
_DECLARING_SECTION = re.compile(
    r"\b(?:install\w*|setup|set[ -]up|requirements?|dependenc(?:y|ies)|pre-?requisites?|compatib\w*|environment"
    r"|system)\b",
    re.I,
)
_SHORT_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])(?:[ \t]+\[[ x]\])?[ \t]+\W*(?:\S+\W*){1,6}$")
_SHIELDS = re.compile(r"img\.shields\.io/badge/([^/?#\s)\"']+)", re.I)
_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_LINK = re.compile(r"\[([^\]\n]*)\]\([^)\n]*\)")
_URL = re.compile(r"(?:https?|ftp)://[^\s<>()\"'\]]+", re.I)
_TAG = re.compile(r"<[^>\n]*>")


@dataclass(frozen=True)
class Declaration:
    version: str  # as written: "==1.15", "1.10", ">=3.7"
    location: Location


@dataclass(frozen=True)
class Versions:
    tensorflow: Declaration | None  # a release line of TensorFlow (or of Keras, for standalone Keras code)
    python: Declaration | None
    open_tensorflow: Declaration | None  # TensorFlow named without a release line (>=2.0, unversioned)


def declared_versions(view: RepoView) -> Versions:
    return view.memo("declared-versions", lambda: _find(view))


def _find(view: RepoView) -> Versions:
    keras = uses_standalone_keras(view)
    names = TENSORFLOW_RELEASES | ({"keras"} if keras else set())
    manifests = read_manifests(view)
    tensorflow = [d for d in manifests.declared if d.name in names]
    found_tf = next((Declaration(_written(d), d.location) for d in tensorflow if names_release(d.specifier)), None)
    loose = next((Declaration(_written(d), d.location) for d in tensorflow), None)
    found_py = next((Declaration(spec, at) for spec, at in manifests.python_specs if names_minor(spec)), None)
    texts = _dockerfile_texts(view) + _readme_texts(view)
    for text in texts:
        if found_tf is None:
            found_tf = _prose(TENSORFLOW_PROSE, text) or (_prose(KERAS_PROSE, text) if keras else None)
            found_tf = found_tf or _image_version(text.images, "tensorflow", text.path)
        if found_py is None:
            found_py = _python_prose(text) or _image_version(text.images, "python", text.path)
        if found_tf and found_py:
            break
    if loose is None:
        loose = next((d for text in texts if (d := _prose(TENSORFLOW_PROSE, text, any_bound=True))), None)
    return Versions(found_tf, found_py, loose)


@dataclass(frozen=True)
class Source:
    """Text that may declare versions: a Dockerfile, or a README read as prose."""

    path: str
    text: str
    images: tuple[tuple[str, str, int], ...] = ()  # a Dockerfile's base images: (repository, tag, line)
    document: Document | None = None  # a README: which lines declare, which only mention

    def declares(self, line: int, lines: list[str]) -> bool:
        """Whether a line of a README states the version the work uses, rather than mentioning a
        release in passing ("the TensorFlow 1.2 data iterator", "prior to TensorFlow 1.2")."""
        document = self.document
        if document is None:
            return True
        written = document.lines[line - 1] if line <= len(document.lines) else ""
        if line in document.heading_lines or line in document.code_lines or "![" in written:
            return True
        if _DECLARING.search(lines[line - 1]) or _SHORT_ITEM.match(lines[line - 1]):
            return True
        heading = next((h for h in reversed(document.headings) if h.line < line), None)
        return heading is not None and bool(_DECLARING_SECTION.search(heading.text))


def _written(declared: Declared) -> str:
    """`tensorflow==1.15`, `tensorflow 2.12.1` (Poetry's bare version), `tensorflow` (no version)."""
    spec = declared.specifier
    return (
        f"{declared.name} {spec}"
        if spec[:1].isdigit() or (spec[:1] in "^~*" and spec[:2] != "~=")
        else declared.name + spec
    )


def uses_standalone_keras(view: RepoView) -> bool:
    return "keras" in view.import_roots


def names_release(specifier: str) -> bool:
    """Whether a version specifier (pip, Poetry or conda syntax) names one release line: an exact
    version or a range closed above."""
    for clause in re.split(r"[,\s]+(?=[<>=!~^\d])|,", specifier.strip()):
        match = _CLAUSE.match(clause.strip())
        if not match:
            continue
        operator, version = match.group(1) or "==", match.group(2)
        if operator in ("==", "===", "=") and re.match(r"\d+\.\d+", version):
            return True
        if operator in ("~=", "^", "~") and re.match(r"\d+\.\d+", version):
            return True
        if operator in ("<", "<="):
            return True
    return False


def names_minor(specifier: str) -> bool:
    """Whether a Python version as written names a minor version (3.6, >=3.7, python-3.7.2)."""
    return bool(_MINOR.search(specifier))


def _prose(pattern: re.Pattern[str], source: Source, any_bound: bool = False) -> Declaration | None:
    text = source.text
    lines: list[str] | None = None
    for match in pattern.finditer(text):
        version = match.group("version")
        if not re.fullmatch(r"\d+\.\d+", version):
            continue  # "2.x", "1.*": no release line
        if not any_bound and _open(match, text):
            continue
        location = _location(source.path, text, match.start())
        lines = lines or text.splitlines()
        if any_bound or source.declares(location.line, lines):
            return Declaration(match.group(0).strip(" ._"), location)
    return None


def _open(match: re.Match[str], text: str) -> bool:
    """An open lower bound: `>=1.11` (not closed by `,<2`), `2.0+`, "2.1 and above", "starting with 2.1"."""
    after = text[match.end() : match.end() + 40]
    before = text[max(0, match.start() - 40) : match.start()]
    if match.group("op") in (">=", ">", "!=") and not _CLOSED_AFTER.match(after):
        return True
    return "+" in match.group("more") or bool(_OPEN_AFTER.match(after) or _OPEN_BEFORE.search(before))


def _python_prose(source: Source) -> Declaration | None:
    if match := PYTHON_PROSE.search(source.text):
        return Declaration(match.group(0).strip(" ._"), _location(source.path, source.text, match.start()))
    return None


def _image_version(tags: tuple[tuple[str, str, int], ...], kind: str, path: str) -> Declaration | None:
    """tensorflow/tensorflow:2.15.0-gpu names TensorFlow 2.15; python:3.8-slim and ...-py38 tags name Python."""
    for repository, tag, line in tags:
        last = repository.rsplit("/", 1)[-1].lower()
        if last == kind and re.match(r"\d+\.\d+", tag):
            return Declaration(f"{repository}:{tag}", Location(path, line, f"FROM {repository}:{tag}"))
        if kind == "python" and re.search(r"(?:^|[-_])py3\.?\d{1,2}(?!\d)", tag):
            return Declaration(f"{repository}:{tag}", Location(path, line, f"FROM {repository}:{tag}"))
    return None


def _dockerfile_texts(view: RepoView) -> list[Source]:
    """Each Dockerfile's instructions as text, with its base images (repository, tag, line)."""
    return [
        Source(d.path, view.text(d.path) or "", tuple((i.repository, i.tag, i.line) for i in d.images))
        for d in dockerfiles(view)
    ]


def _readme_texts(view: RepoView) -> list[Source]:
    return [Source(document.path, prose_of(document.text), document=document) for document in readmes(view)]


def prose_of(text: str) -> str:
    """README text as words: badges read as "label message" (at the end of their line), images by
    their alt text, links by their text; no URLs, tags or backquotes; line breaks kept."""
    if "shields.io" in text:
        text = "\n".join(_with_badges(line) if "shields.io" in line else line for line in text.split("\n"))
    text = _IMAGE.sub(lambda m: m.group(1), text)
    text = _LINK.sub(lambda m: m.group(1), text)
    text = _URL.sub(" ", text)
    return _TAG.sub(" ", text).replace("`", "")


def _with_badges(line: str) -> str:
    badges = [_badge(match.group(1)) for match in _SHIELDS.finditer(line)]
    return _SHIELDS.sub(" ", line) + " " + " ".join(badges)


def _badge(path: str) -> str:
    """shields.io/badge/<label>-<message>-<colour>: `--` is a dash, `_` a space."""
    parts = unquote(path).replace("--", "\0").rsplit(".", 1)[0].split("-")
    words = [part.replace("\0", "-").replace("_", " ") for part in parts[:-1] or parts]
    return " ".join(words)


def _location(path: str, text: str, offset: int) -> Location:
    line = text.count("\n", 0, offset) + 1
    snippet = text.splitlines()[line - 1].strip()[:120] if text else ""
    return Location(path, line, snippet)


def tensorflow_declarations(view: RepoView) -> list[Declared]:
    """Every manifest line naming a TensorFlow build (or Keras, for standalone Keras code)."""
    names = TENSORFLOW_RELEASES | ({"keras"} if uses_standalone_keras(view) else set())
    return [d for d in read_manifests(view).declared if d.name in names]
