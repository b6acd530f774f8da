"""Data: where the data comes from, and no paths that exist only on the author's machine."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, not_applicable, partial, passed
from reproducibility.repo_view import Location, RepoView

ABSOLUTE = re.compile(r"^(/home/|/Users/|/mnt/|/data/|/scratch/|/content/drive|[A-Za-z]:\\\\)")
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
    scripts = [e for e in view.files if re.search(r"(download|fetch|prepare)_?\w*\.(py|sh)$", e.name)]
    checksums = [(f, line) for f in view.python_files for s, line in f.strings if re.fullmatch(r"[0-9a-f]{64}", s)]
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
        Location(f.path, line, f.snippet(line)) for f in view.python_files for s, line in f.strings if ABSOLUTE.match(s)
    ]
    if found:
        return failed(f"{len(found)} absolute path(s) that exist only on the author's machine.", *found[:10])
    return passed("No absolute paths in code.")
