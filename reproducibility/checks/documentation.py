"""Documentation: a README that says how to install, run and what results to expect; licence; citation."""

from __future__ import annotations

import re

from reproducibility import readme_contents
from reproducibility.checks import Evidence, check, failed, partial, passed
from reproducibility.licences import Identified, identify, is_open, name, spdx_for
from reproducibility.markup import Document, documents, readmes, top_readme
from reproducibility.repo_view import FileEntry, RepoView
from reproducibility.setup_py import read_setup_py


def readme(view: RepoView) -> tuple[str, str] | None:
    """The top-level README's path and text."""
    found = top_readme(view)
    return (found.path, found.text) if found else None


@check(
    "readme",
    "README with install, usage, results and exact commands",
    "Documentation",
    3,
    """Write a README with sections `## Install` and `## Usage`, the exact commands in a code block
(```sh\\npython train.py --epochs 10\\n```), and a results table (| metric | value |).""",
)
def readme_check(view: RepoView):
    document = top_readme(view)
    if document is None:
        return failed("No README at the top of the repository.")
    parts = {
        "install": readme_contents.install(document),
        "usage": readme_contents.usage(document),
        "results": readme_contents.results(document),
        "commands": readme_contents.commands(document),
    }
    present = {part: found for part, found in parts.items() if found}
    missing = [part for part, found in parts.items() if not found]
    evidence = [Evidence(document.path, found.line, f"{part}: {found.why}") for part, found in present.items()]
    has = "; ".join(f"{part}: {found.why}" for part, found in present.items())
    if not missing:
        return passed(f"{document.path} covers installation, usage, results and exact commands ({has}).", *evidence)
    reason = f"{document.path} lacks {', '.join(missing)}" + (f" (has {has})." if has else ".")
    return (partial if len(present) >= 2 else failed)(reason, *(evidence or [Evidence(document.path, 1)]))


LICENCE_STEMS = ("license", "licence", "copying", "unlicense")


def licence_files(view: RepoView) -> list[FileEntry]:
    """LICENSE, LICENCE, COPYING at the top, with or without an extension or a suffix (LICENSE-MIT)."""
    found = []
    for entry in view.files:
        if "/" in entry.path:
            continue
        lower = entry.name.lower()
        if any(lower == stem or lower.startswith((stem + ".", stem + "-", stem + "_")) for stem in LICENCE_STEMS):
            found.append(entry)
    return found


@check(
    "licence",
    "An open-source licence (SPDX)",
    "Documentation",
    2,
    """Add a LICENSE file with the full, unmodified text of an OSI licence (e.g. Apache-2.0) and name it in
pyproject.toml: license = "Apache-2.0" """,
)
def licence(view: RepoView):
    verdicts = []
    for entry in licence_files(view):
        text = view.text(entry.path)
        if text is None or not text.strip():
            continue
        verdicts.append((entry.path, identify(text)))
    if good := [
        (path, found) for path, found in verdicts if found.recognised and found.open_source and not found.added
    ]:
        path, found = good[0]
        names = " + ".join(found.spdx)
        return passed(f"{path} is the text of {names} ({name(found.spdx[0])}).", Evidence(path, 1, names))
    if verdicts:
        path, found = verdicts[0]
        return partial(_licence_problem(path, found), Evidence(path, 1, found.first_line))
    if named := _named_licence(view):
        spdx, where = named
        return partial(f"{spdx} is named only in {where.path} (no LICENSE file holds its text).", where)
    return failed("No licence: no LICENSE file, no licence in package metadata or the README.")


def _licence_problem(path: str, found: Identified) -> str:
    if not found.recognised:
        return (
            f"{path}'s text matches no SPDX licence: a modified or custom licence (it begins "
            f'"{found.first_line}"). Use a standard licence text unchanged.'
        )
    names = " + ".join(found.spdx)
    closed = [spdx for spdx in found.spdx if not is_open(spdx)]
    if closed:
        return f"{path} is {names} ({name(closed[0])}), a licence that is not open source (neither OSI nor FSF)."
    return f'{path} is {names} with added terms: "{found.added[:160]}".'


def _named_licence(view: RepoView) -> tuple[str, Evidence] | None:
    """A licence named in setup.py, pyproject.toml, setup.cfg or a README licence section."""
    return _in_setup_py(view) or _in_pyproject(view) or _in_setup_cfg(view) or _in_readme(view)


def _in_setup_py(view: RepoView) -> tuple[str, Evidence] | None:
    for entry in view.named("setup.py"):
        setup = read_setup_py(view, entry.path)
        if setup is None:
            continue
        if setup.license:
            written, line = setup.license
            return spdx_for(written) or written[:40], Evidence(entry.path, line, f"license={written[:40]!r}")
        for classifier, line in setup.classifiers:
            if classifier.startswith("License ::") and (spdx := spdx_for(classifier.rsplit("::", 1)[-1])):
                return spdx, Evidence(entry.path, line, classifier)
    return None


def _in_pyproject(view: RepoView) -> tuple[str, Evidence] | None:
    for entry in view.named("pyproject.toml"):
        data = view.toml(entry.path) or {}
        project = data.get("project")
        written = project.get("license") if isinstance(project, dict) else None
        if isinstance(written, dict):
            written = written.get("text") or written.get("file")
        if isinstance(written, str) and written.strip():
            return spdx_for(written) or written[:40], Evidence(entry.path, 1, f"license = {written[:40]!r}")
    return None


def _in_setup_cfg(view: RepoView) -> tuple[str, Evidence] | None:
    for entry in view.named("setup.cfg"):
        parser = view.ini(entry.path)
        if parser is not None and parser.has_option("metadata", "license"):
            written = parser.get("metadata", "license").strip()
            if written:
                return spdx_for(written) or written[:40], Evidence(entry.path, 1, f"license = {written[:40]}")
    return None


def _in_readme(view: RepoView) -> tuple[str, Evidence] | None:
    document = top_readme(view)
    if document is None:
        return None
    for heading in document.headings:
        if LICENCE_HEADING.search(heading.text) and any(line.strip() for _, line in document.section(heading)):
            return "a licence", Evidence(document.path, heading.line, heading.text)
    return None


LICENCE_HEADING = re.compile(r"\blicen[cs](?:e|es|ing)\b")
CITATION_LINK = re.compile(
    r"arxiv\.org/(?:abs|pdf)/|\barxiv:\s*\d{4}\.\d{4,5}|(?:dx\.)?doi\.org/10\.|\bdoi:\s*10\.\d{4,}", re.I
)
BIBTEX = re.compile(r"^[ \t>]*@[A-Za-z_]+[ \t]*\{\s*[^,\s{}]+\s*,", re.M)


@check(
    "citation",
    "How to cite the work",
    "Documentation",
    1,
    """Add a CITATION.cff (https://citation-file-format.github.io/) or a BibTeX entry in the README.""",
)
def citation(view: RepoView):
    cff = view.named("CITATION.cff")
    for entry in cff:
        data = view.yaml(entry.path)
        if isinstance(data, dict) and data.get("title") and data.get("authors"):
            return passed(f"{entry.path} names the title and authors.", Evidence(entry.path, 1))
    if found := _bibtex(view):
        path, line = found
        return passed(f"{path} has a BibTeX entry.", Evidence(path, line))
    if cff:
        return partial(f"{cff[0].path} lacks a title or authors.", Evidence(cff[0].path, 1))
    for document in readmes(view):
        if match := CITATION_LINK.search(document.text):
            line = document.text.count("\n", 0, match.start()) + 1
            return partial(
                f"{document.path} links the paper ({match.group(0)}...) but gives no BibTeX entry or CITATION.cff.",
                Evidence(document.path, line, match.group(0)),
            )
    return failed("Nothing says what to cite: no CITATION.cff, no BibTeX entry, no paper link in a README.")


def _bibtex(view: RepoView) -> tuple[str, int] | None:
    document: Document
    for document in documents(view):
        if match := BIBTEX.search(document.text):
            return document.path, document.text.count("\n", 0, match.start()) + 1
    for entry in view.files:
        if entry.suffix == ".bib" and (text := view.text(entry.path)) and (match := BIBTEX.search(text)):
            return entry.path, text.count("\n", 0, match.start()) + 1
    return None
