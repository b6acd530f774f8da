"""Monorepos: the top-level folders that are projects of their own.

A folder is a subproject when it has its own README and Python code, and its own manifest or a
program to run. With two or more, checks gather evidence from each and the report says so.
"""

from __future__ import annotations

from reproducibility.repo_view import RepoView

MANIFESTS = ("requirements.txt", "setup.py", "setup.cfg", "pyproject.toml", "environment.yml", "environment.yaml")


def subprojects(view: RepoView) -> list[str]:
    """The top-level folders ("efficientdet/") that are projects of their own, when there are two or more."""
    return view.memo("subprojects", lambda: _find(view))


def _find(view: RepoView) -> list[str]:
    # A project has a README at its top: the view's index of names gives those folders without a
    # pass over every file, and with fewer than two there is no monorepo.
    with_readme = {
        entry.path.partition("/")[0]
        for name in view.names
        if name.split(".", 1)[0] == "readme"
        for entry in view.named(name)
        if entry.path.count("/") == 1
    }
    if len(with_readme) < 2:
        return []
    folders: dict[str, set[str]] = {}
    for entry in view.files:
        folder, slash, rest = entry.path.partition("/")
        if not slash or folder.startswith(".") or folder not in with_readme:
            continue
        found = folders.setdefault(folder, set())
        name = entry.name.lower()
        if "/" not in rest and name.split(".", 1)[0] == "readme":
            found.add("readme")
        if entry.suffix in (".py", ".ipynb"):
            found.add("code")
        if name in MANIFESTS or (name.startswith("requirements") and name.endswith(".txt")):
            found.add("manifest")
        if entry.suffix == ".py" and "/" not in rest and name.startswith(("train", "main", "run")):
            found.add("program")
    projects = [
        f"{folder}/"
        for folder, found in sorted(folders.items())
        if {"readme", "code"} <= found and found & {"manifest", "program"}
    ]
    return projects if len(projects) >= 2 else []
