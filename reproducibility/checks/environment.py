"""Environment: a container or binder definition with a pinned base image."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, partial, passed
from reproducibility.repo_view import RepoView

FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE | re.MULTILINE)


@check(
    "container",
    "A container definition with a base image pinned by digest",
    "Environment",
    2,
    """Add a Dockerfile whose base image is pinned by digest, e.g.

    FROM tensorflow/tensorflow:2.21.0@sha256:<digest>""",
)
def container(view: RepoView):
    dockerfiles = [e for e in view.files if e.name == "Dockerfile" or e.name.endswith(".Dockerfile")]
    if not dockerfiles:
        binder = [e for e in view.files if e.path.startswith(("binder/", ".binder/"))]
        if binder:
            return partial("A binder environment exists, but no Dockerfile.", Evidence(binder[0].path, 1))
        return failed("No Dockerfile or binder environment.")
    path = dockerfiles[0].path
    text = view.text(path) or ""
    images = [(m.group(1), text[: m.start()].count("\n") + 1) for m in FROM.finditer(text)]
    # Stages built FROM an earlier stage of the same file are not base images.
    stages = {m.group(1).lower() for m in re.finditer(r"\bAS\s+(\S+)", text, re.IGNORECASE)}
    external = [(image, line) for image, line in images if image.lower() not in stages]
    if not external:
        return failed("The Dockerfile has no FROM line.", Evidence(path, 1))
    if all("@sha256:" in image for image, _ in external):
        return passed("Every base image is pinned by digest.", Evidence(path, external[0][1], external[0][0]))
    loose = [(i, line) for i, line in external if "@sha256:" not in i]
    tagged = [(i, line) for i, line in loose if ":" in i.split("/")[-1] and not i.endswith(":latest")]
    if len(tagged) == len(loose):
        return partial(
            "Base images are pinned by tag, not by digest (tags can move).",
            *[Evidence(path, line, i) for i, line in tagged],
        )
    return failed("A base image is unpinned or :latest.", *[Evidence(path, line, i) for i, line in loose])
