"""Installed environments are evicted least recently used first past a count or a size, never one a
live run uses (scheduler.environment_cache, scheduler.environments.evict_unused)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

import pytest

from scheduler import environments, quota, runner
from scheduler.admission import admit_pool
from scheduler.environment_cache import COMPLETE, LAST_USED, cached_environments, evict_least_recently_used, lock_path
from scheduler.models import TrainingJob
from tests.scheduler.factories import PoolFactory, job_request, make_allocation

HOUR = 3600


@pytest.fixture(autouse=True)
def _own_folders(settings, tmp_path):
    settings.CG_ENVIRONMENTS_ROOT = tmp_path / "environments"
    settings.CG_ARTIFACTS_ROOT = tmp_path / "artifacts"
    settings.CG_LAUNCH_ON_ADMISSION = False


def installed(root: Path, key: str, *, used_ago: float, size: int = 10) -> Path:
    """A complete environment folder as scheduler.environments leaves one, last used `used_ago` s ago."""
    folder = root / key
    (folder / "lib").mkdir(parents=True)
    (folder / "lib" / "package.py").write_bytes(b"x" * size)
    (folder / COMPLETE).write_text("{}")
    (folder / LAST_USED).touch()
    at = time.time() - used_ago
    os.utime(folder / LAST_USED, (at, at))
    return folder


def test_past_the_count_the_least_recently_used_go_first_and_one_in_use_stays(tmp_path):
    for key, ago in (("a", 4 * HOUR), ("b", 3 * HOUR), ("c", 2 * HOUR), ("d", HOUR)):
        installed(tmp_path, key, used_ago=ago)
    assert evict_least_recently_used(tmp_path, max_count=2, max_bytes=10**9, in_use=lambda: {"a"}) == ["b", "c"]
    assert [environment.key for environment in cached_environments(tmp_path)] == ["a", "d"]


def test_past_the_size_the_oldest_go_until_the_rest_fits(tmp_path):
    for key, ago in (("old", 3 * HOUR), ("older", 4 * HOUR), ("new", HOUR)):
        installed(tmp_path, key, used_ago=ago, size=1000)
    sizes = {environment.key: environment.size_bytes for environment in cached_environments(tmp_path)}
    assert sizes["old"] >= 1000
    evicted = evict_least_recently_used(tmp_path, max_count=10, max_bytes=sizes["new"] + 10, in_use=set)
    assert evicted == ["older", "old"] and not (tmp_path / "old").exists() and (tmp_path / "new").is_dir()


def test_within_the_limits_nothing_is_evicted_and_an_incomplete_install_is_not_counted(tmp_path):
    installed(tmp_path, "done", used_ago=HOUR)
    (tmp_path / "half-installed" / "lib").mkdir(parents=True)  # no COMPLETE: an install under way
    assert evict_least_recently_used(tmp_path, max_count=1, max_bytes=10**9, in_use=set) == []
    assert (tmp_path / "done").is_dir() and (tmp_path / "half-installed").is_dir()


def test_an_environment_just_used_or_locked_by_an_install_or_a_run_about_to_use_it_is_spared(tmp_path):
    installed(tmp_path, "fresh", used_ago=10)  # a run got it and has not recorded it yet
    installed(tmp_path, "locked", used_ago=HOUR)
    installed(tmp_path, "idle", used_ago=2 * HOUR)
    with open(lock_path(tmp_path, "locked"), "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        assert evict_least_recently_used(tmp_path, max_count=0, max_bytes=0, in_use=set) == ["idle"]
    assert {environment.key for environment in cached_environments(tmp_path)} == {"fresh", "locked"}


def repository(tmp_path: Path, name: str, requirement: str, train: str = "print('step 1 loss: 1.0')\n") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "requirements.txt").write_text(f"{requirement}\n")
    (folder / "train.py").write_text(train)
    return folder


def sync_until(job: TrainingJob, states: set[str], timeout: float = 120) -> TrainingJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.state in states:
            return job
        runner.sync_job(job.pk)
        time.sleep(0.3)
    raise AssertionError(f"job {job.pk} still {job.state}")


@pytest.mark.slow
@pytest.mark.django_db
def test_a_new_install_past_the_count_never_evicts_the_environment_of_a_running_job(tmp_path, settings):
    settings.CG_ENVIRONMENTS_MAX_COUNT = 1
    root = Path(settings.CG_ENVIRONMENTS_ROOT)
    # A real run on an environment of its own (a package the worker lacks), still running.
    train = "import humanize, time\nprint('step 1 loss: 1.0', flush=True)\ntime.sleep(6)\n"
    running_source = repository(tmp_path, "running", "humanize==4.9.0", train)
    pool = PoolFactory(kind="cpu", capacity=2)
    job = quota.submit_job(
        make_allocation(pool=pool, hours=1), job_request(runtime=120, source_path=str(running_source))
    )
    assert admit_pool(pool.pk) == [job.pk]
    runner.launch_job(job.pk)
    job = sync_until(job, {TrainingJob.State.RUNNING})
    running_key = environments.evidence(Path(job.artifacts_dir))["key"]
    long_ago = time.time() - 2 * HOUR  # as if last used long ago: only the live run protects it
    os.utime(root / running_key / LAST_USED, (long_ago, long_ago))
    assert environments.keys_in_use() == {running_key}

    other = environments.prepare_environment(repository(tmp_path, "other", "tabulate==0.9.0"))
    assert not other.cached
    assert {environment.key for environment in cached_environments(root)} == {running_key, other.key}

    job = sync_until(job, set(TrainingJob.TERMINAL_STATES))
    assert job.state == TrainingJob.State.SUCCEEDED, job.failure_reason
    assert environments.keys_in_use() == set()
    assert environments.evict_unused() == [running_key]  # the other was used a moment ago
    again = environments.prepare_environment(running_source)
    assert again.key == running_key and not again.cached  # installed anew, not a half-deleted folder
