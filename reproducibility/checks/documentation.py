"""Documentation: a README that says how to install, run and what results to expect; licence; citation."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, partial, passed
from reproducibility.repo_view import RepoView

SECTIONS = {
    "install": re.compile(r"^#+\s*(install|installation|setup|getting started|requirements)\b", re.I | re.M),
    "usage": re.compile(r"^#+\s*(usage|training|train|how to run|running|quick ?start)\b", re.I | re.M),
    "results": re.compile(r"^\s*\|.*\|\s*$\n^\s*\|?\s*:?-{3,}", re.M),
    "commands": re.compile(r"```(?:sh|bash|shell|console)?\s*\n[^`]*\b(python3?|pip|make|docker|bash)\b", re.I),
}
SPDX = {
    "Apache-2.0": re.compile(r"Apache License,?\s+Version 2\.0", re.I),
    "MIT": re.compile(r"\bMIT License\b|Permission is hereby granted, free of charge", re.I),
    "BSD-3-Clause": re.compile(r"Redistribution and use in source and binary forms.*?Neither the name", re.I | re.S),
    "BSD-2-Clause": re.compile(r"Redistribution and use in source and binary forms", re.I),
    "GPL-3.0": re.compile(r"GNU GENERAL PUBLIC LICENSE\s+Version 3", re.I),
    "GPL-2.0": re.compile(r"GNU GENERAL PUBLIC LICENSE\s+Version 2", re.I),
    "LGPL-3.0": re.compile(r"GNU LESSER GENERAL PUBLIC LICENSE\s+Version 3", re.I),
    "MPL-2.0": re.compile(r"Mozilla Public License,?\s+(version|v\.?)\s*2\.0", re.I),
    "CC-BY-4.0": re.compile(r"Creative Commons Attribution 4\.0", re.I),
}


def readme(view: RepoView) -> tuple[str, str] | None:
    for entry in view.named("README.md", "README.rst", "README.txt", "README"):
        if "/" not in entry.path:
            return entry.path, view.text(entry.path) or ""
    return None


@check(
    "readme",
    "README with install, usage, results and exact commands",
    "Documentation",
    3,
    """Write a README with sections `## Install` and `## Usage`, the exact commands in a code block
(```sh\\npython train.py --epochs 10\\n```), and a results table (| metric | value |).""",
)
def readme_check(view: RepoView):
    found = readme(view)
    if found is None:
        return failed("No README at the top of the repository.")
    path, text = found
    present = [name for name, pattern in SECTIONS.items() if pattern.search(text)]
    missing = [name for name in SECTIONS if name not in present]
    if not missing:
        return passed("The README covers installation, usage, results and exact commands.", Evidence(path, 1))
    reason = f"The README lacks: {', '.join(missing)}."
    return (partial if len(present) >= 2 else failed)(reason, Evidence(path, 1))


@check(
    "licence",
    "An open-source licence (SPDX)",
    "Documentation",
    2,
    """Add a LICENSE file with the full text of an OSI licence (e.g. Apache-2.0) and name it in pyproject.toml:
license = "Apache-2.0" """,
)
def licence(view: RepoView):
    for entry in view.named("LICENSE", "LICENSE.txt", "LICENSE.md", "LICENCE", "COPYING", "LICENSE.rst"):
        text = view.text(entry.path) or ""
        for spdx, pattern in SPDX.items():
            if pattern.search(text):
                return passed(f"Licensed under {spdx}.", Evidence(entry.path, 1, spdx))
        return partial("A licence file exists but its licence was not recognised.", Evidence(entry.path, 1))
    for entry in view.named("pyproject.toml"):
        project = (view.toml(entry.path) or {}).get("project", {})
        if isinstance(project, dict) and project.get("license"):
            return partial("pyproject.toml names a licence, but there is no LICENSE file.", Evidence(entry.path, 1))
    return failed("No licence: others may not legally reuse the code.")


@check(
    "citation",
    "How to cite the work",
    "Documentation",
    1,
    """Add a CITATION.cff (https://citation-file-format.github.io/) or a BibTeX entry in the README.""",
)
def citation(view: RepoView):
    cff = view.named("CITATION.cff")
    if cff:
        data = view.yaml(cff[0].path)
        if isinstance(data, dict) and data.get("title") and data.get("authors"):
            return passed("CITATION.cff names the title and authors.", Evidence(cff[0].path, 1))
        return partial("CITATION.cff lacks a title or authors.", Evidence(cff[0].path, 1))
    found = readme(view)
    if found and re.search(r"@(article|inproceedings|misc|software)\s*\{", found[1], re.I):
        return passed("The README has a BibTeX entry.", Evidence(found[0], 1))
    return failed("No CITATION.cff and no BibTeX entry.")
