"""Environment: a container or Binder definition, with base images pinned by digest."""

from __future__ import annotations

import re

from reproducibility.checks import Evidence, check, failed, partial, passed
from reproducibility.dockerfiles import BaseImage, dockerfiles
from reproducibility.markup import readmes
from reproducibility.repo_view import RepoView

MYBINDER = re.compile(r"mybinder\.org/v2/|mybinder\.org/repo/|\bbinder\.pangeo\.io/", re.I)
BINDER_FOLDERS = ("binder/", ".binder/")


@check(
    "container",
    "A container definition with a base image pinned by digest",
    "Environment",
    2,
    """Add a Dockerfile whose base image is pinned by digest, e.g.

    FROM tensorflow/tensorflow:2.21.0@sha256:<digest>""",
)
def container(view: RepoView):
    files = dockerfiles(view)
    if not files:
        return _binder(view)
    images = [(dockerfile.path, image) for dockerfile in files for image in dockerfile.images]
    if not images:
        return failed("The Dockerfile has no external FROM image.", *[Evidence(f.path, 1) for f in files[:3]])
    loose = [(path, image) for path, image in images if image.pinning == "none"]
    tagged = [(path, image) for path, image in images if image.pinning == "tag"]
    if loose:  # with several Dockerfiles, the least pinned decides
        return failed(
            f"A base image has no version: {_names(loose)} (no tag, a floating tag such as latest, or a build "
            "argument with no default).",
            *_evidence(loose),
        )
    if tagged:
        return partial(
            f"Base images are pinned by tag, not by digest (tags can move): {_names(tagged)}.", *_evidence(tagged)
        )
    return passed(
        f"Every base image is pinned by digest ({len(images)} in {len(files)} Dockerfile(s)).", *_evidence(images)
    )


def _binder(view: RepoView):
    folder = next((e for e in view.files if e.path.startswith(BINDER_FOLDERS)), None)
    if folder is not None:
        return partial("Only a Binder environment, no Dockerfile.", Evidence(folder.path, 1))
    for document in readmes(view):
        if match := MYBINDER.search(document.text):
            line = document.text.count("\n", 0, match.start()) + 1
            return partial("Only a Binder launch link, no Dockerfile.", Evidence(document.path, line, "mybinder.org"))
    return failed("No Dockerfile, Containerfile or Binder environment.")


def _names(images: list[tuple[str, BaseImage]]) -> str:
    shown = [f"{image.reference or image.written} ({path}:{image.line})" for path, image in images[:4]]
    return ", ".join(shown) + (f" and {len(images) - 4} more" if len(images) > 4 else "")


def _evidence(images: list[tuple[str, BaseImage]]) -> list[Evidence]:
    return [Evidence(path, image.line, f"FROM {image.written}") for path, image in images[:10]]
