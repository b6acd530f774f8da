"""Data: where the data comes from, and no paths that exist only on the author's machine."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, not_applicable, partial, passed
from reproducibility.repo_view import Location, RepoView

ABSOLUTE = re.compile(r"^(/home/|/Users/|/mnt/|/data/|/scratch/|/content/drive|[A-Za-z]:\\\\)")
CHECKSUM = re.compile(r"[0-9a-f]{64}")
DOWNLOAD_SCRIPT = re.compile(r"(download|fetch|prepare)_?\w*\.(py|sh)$")
BUNDLED = ("sklearn.datasets.load_", "keras.datasets", "tensorflow.keras.datasets")


@check(
    "data-provenance",
    "Data provenance: versioned, downloadable, checksummed",
    "Data",
    2,
    """Load data reproducibly: a versioned TFDS name (tfds.load("mnist:3.0.1")), a download script with
checksums, or a data set bundled with a package (sklearn.datasets.load_digits).""",
)
def provenance(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    bundled = view.find_use("sklearn.datasets", "keras.datasets")
    if bundled:
        return passed("Data comes from a versioned package's bundled data set.", bundled)
    tfds = view.calls("tensorflow_datasets.load") + view.calls("tensorflow_datasets.builder")
    if tfds:
        versioned = [loc for loc in tfds if re.search(r"[\"'][\w/-]+:\d+\.\d+\.\d+", loc.snippet)]
        if versioned:
            return passed("TFDS data sets are loaded at pinned versions.", versioned[0])
        return partial("TFDS data sets are loaded without a version (name:1.2.3).", tfds[0])
    scripts = [
        e
        for e in view.files
        if e.name.endswith((".py", ".sh"))
        and ("download" in e.name or "fetch" in e.name or "prepare" in e.name)
        and DOWNLOAD_SCRIPT.search(e.name)
    ]
    checksums = [
        (f, line) for f in view.python_files for s, line in f.strings if len(s) == 64 and CHECKSUM.fullmatch(s)
    ]
    if scripts and checksums:
        return passed("A download script with checksums.", Evidence(scripts[0].path, 1))
    if scripts:
        return partial("A download script, but no checksum verifies what it fetched.", Evidence(scripts[0].path, 1))
    return failed("Nothing says where the data comes from.")


@check(
    "no-absolute-paths",
    "No absolute paths to the author's machine",
    "Data",
    2,
    """Replace paths like "/home/me/data" with flags or environment variables:
parser.add_argument("--data-dir", default=os.environ.get("DATA_DIR", "data"))""",
)
def absolute_paths(view: RepoView):
    if not view.python_files:
        return not_applicable("No Python code.")
    found = [
        Location(f.path, line, f.snippet(line))
        for f in view.python_files
        for s, line in f.strings
        if (s[0] == "/" or s[1] == ":") and ABSOLUTE.match(s)  # every pattern starts with / or X:
    ]
    if found:
        return failed(f"{len(found)} absolute path(s) that exist only on the author's machine.", *found[:10])
    return passed("No absolute paths in code.")
