"""Containers: Dockerfiles by every naming convention in any folder, ARG defaults substituted into
FROM lines, build stages told from base images, the least pinned image deciding; Binder as a
partial fallback."""

from __future__ import annotations

import pytest

from reproducibility.checks import REGISTRY, Status, all_checks
from reproducibility.repo_view import RepoView

all_checks()
DIGEST = "@sha256:" + "c" * 64


def run(make_repo, files: dict):
    return REGISTRY["container"].run(RepoView(make_repo(files)))


@pytest.mark.parametrize("name", ["Dockerfile", "docker/Dockerfile.gpu", "env/train.Dockerfile", "Containerfile"])
def test_every_dockerfile_name_in_any_folder_counts(make_repo, name):
    result = run(make_repo, {name: f"FROM python:3.11-slim{DIGEST}\n"})
    assert result.status == Status.PASS, result.reason


@pytest.mark.parametrize(
    ("dockerfile", "status"),
    [
        (f"FROM tensorflow/tensorflow:2.15.0{DIGEST}\nRUN pip install x\n", Status.PASS),
        ("FROM tensorflow/tensorflow:1.15.5-gpu-py3\n", Status.PARTIAL),
        ("FROM registry.example.org:5000/team/base:1.2\n", Status.PARTIAL),
        ("FROM ubuntu\n", Status.FAIL),
        ("FROM tensorflow/tensorflow:latest-gpu\n", Status.FAIL),
        ("FROM registry.example.org:5000/team/base\n", Status.FAIL),
        ("ARG BASE=python:3.8\nFROM ${BASE}\n", Status.PARTIAL),
        ("ARG BASE\nFROM ${BASE}\n", Status.FAIL),
        ("ARG CUDA=11.2\nFROM nvidia/cuda:${CUDA}.1-base${FLAVOUR:+-$FLAVOUR} AS base\n", Status.PARTIAL),
        (f"FROM python:3.11{DIGEST} AS build\nFROM build AS final\nFROM scratch\n", Status.PASS),
        ("FROM --platform=linux/amd64 \\\n    python:3.11-slim\n", Status.PARTIAL),
    ],
    ids=["digest", "tag", "registry-port-tag", "no-tag", "latest", "registry-port-no-tag", "arg-default",
         "arg-unset", "arg-expansions", "stages-and-scratch", "continuation"],
)  # fmt: skip
def test_base_images_are_judged_by_how_they_are_pinned(make_repo, dockerfile, status):
    result = run(make_repo, {"Dockerfile": dockerfile})
    assert result.status == status, result.reason


def test_with_several_dockerfiles_the_least_pinned_decides(make_repo):
    files = {"Dockerfile": f"FROM python:3.11{DIGEST}\n", "docker/cpu.dockerfile": "FROM python:latest\n"}
    result = run(make_repo, files)
    assert result.status == Status.FAIL and "docker/cpu.dockerfile" in result.reason


def test_a_binder_folder_alone_is_partial(make_repo):
    result = run(make_repo, {"binder/environment.yml": "dependencies: [numpy]\n"})
    assert result.status == Status.PARTIAL and "Binder" in result.reason


def test_a_mybinder_link_in_the_readme_alone_is_partial(make_repo):
    readme = "[![Binder](https://mybinder.org/badge_logo.svg)](https://mybinder.org/v2/gh/org/repo/HEAD)\n"
    assert run(make_repo, {"README.md": readme}).status == Status.PARTIAL


def test_a_loose_dockerfile_is_not_rescued_by_a_binder_link(make_repo):
    files = {"Dockerfile": "FROM ubuntu:latest\n", "README.md": "https://mybinder.org/v2/gh/org/repo/HEAD\n"}
    assert run(make_repo, files).status == Status.FAIL


def test_no_container_at_all_fails(make_repo):
    result = run(make_repo, {"README.md": "Run it on [Colab](https://colab.research.google.com/x).\n"})
    assert result.status == Status.FAIL
