"""Run one check on a fixture repository: status and reason."""

from __future__ import annotations

import pytest

from reproducibility.checks import REGISTRY, Status, all_checks
from reproducibility.repo_view import RepoView

all_checks()


@pytest.fixture
def status_of(make_repo):
    def run(check_id: str, files: dict) -> Status:
        return REGISTRY[check_id].run(RepoView(make_repo(files))).status

    return run
