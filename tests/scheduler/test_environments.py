"""Each run's environment comes from its repository: real uv installs from the package index."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scheduler import environments
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from scheduler.environments import InstallFailed, prepare_environment

DIGITS = Path(__file__).resolve().parents[2] / "examples" / "digits"
# Small pure-Python packages the worker's own environment does not have.
ABSENT = "humanize==4.9.0"


@pytest.fixture(autouse=True)
def _own_environments(settings, tmp_path):
    settings.CG_ENVIRONMENTS_ROOT = tmp_path / "environments"


def repository(tmp_path: Path, name: str, files: dict[str, str]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    for path, text in files.items():
        (folder / path).write_text(text)
    return folder


def runs(python: str, code: str) -> str:
    return subprocess.run([python, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_a_repository_declaring_nothing_runs_on_the_workers_python(tmp_path):
    environment = prepare_environment(repository(tmp_path, "bare", {"train.py": "print(1)\n"}))
    assert (environment.key, environment.python, environment.installed) == ("worker", sys.executable, [])


def test_digits_lock_is_satisfied_by_the_workers_tensorflow_so_nothing_is_downloaded():
    environment = prepare_environment(DIGITS)
    assert environment.manifest == "requirements.lock"
    assert environment.requirements == environment.from_worker > 30
    assert environment.installed == [] and environment.python == sys.executable and len(environment.key) == 32


def test_a_package_the_worker_lacks_is_installed_on_top_of_the_workers_tensorflow_then_reused(tmp_path):
    source = repository(tmp_path, "needs", {"requirements.txt": f"{ABSENT}\ntensorflow==2.21.0\n"})
    first = prepare_environment(source)
    assert first.installed == [ABSENT] and first.from_worker == 1 and not first.cached
    origins = runs(
        first.python,
        "import humanize, importlib.util as u; print(humanize.__file__); print(u.find_spec('tensorflow').origin)",
    ).splitlines()
    assert origins[0].startswith(str(Path(first.python).parents[1]))  # its own copy
    assert origins[1].startswith(str(Path(sys.executable).parents[1]))  # the worker's TensorFlow
    # The worker's own environment is untouched.
    assert subprocess.run([sys.executable, "-c", "import humanize"], capture_output=True).returncode != 0
    second = prepare_environment(repository(tmp_path, "same", {"requirements.txt": f"tensorflow==2.21.0\n{ABSENT}\n"}))
    assert (second.key, second.python, second.cached) == (first.key, first.python, True)


def test_unpinned_requirements_are_resolved_preferring_the_workers_versions_and_remembered(tmp_path):
    source = repository(
        tmp_path,
        "loose",
        {"pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = ["humanize>=4,<4.10", "numpy"]\n'},
    )
    first = prepare_environment(source)
    assert first.manifest == "pyproject.toml" and first.from_worker == 1  # numpy: the worker's
    assert len(first.installed) == 1 and first.installed[0].startswith("humanize==4.")
    second = prepare_environment(source)
    assert second.cached and second.key == first.key and second.seconds < first.seconds


def test_a_requirement_that_cannot_be_installed_is_evidence_saying_why(tmp_path):
    source = repository(tmp_path, "old", {"requirements.txt": "tensorflow==1.15.0\n"})
    with pytest.raises(InstallFailed) as failure:
        prepare_environment(source)
    assert "tensorflow==1.15.0" in failure.value.summary and "cp311" in failure.value.summary
    assert failure.value.summary.startswith("requirements.txt: ")
    assert not list((tmp_path / "environments").glob("*/bin"))  # nothing half-installed is kept


def test_a_repository_cannot_choose_the_package_index(tmp_path):
    source = repository(
        tmp_path, "evil", {"requirements.txt": "--extra-index-url https://example.org/simple\nhumanize\n"}
    )
    with pytest.raises(InstallFailed, match="only requirements"):
        prepare_environment(source)
    assert not (tmp_path / "environments" / "resolved").exists()


def test_a_failed_install_is_recorded_beside_the_runs_artifacts(tmp_path, settings):
    settings.CG_ARTIFACTS_ROOT = tmp_path / "artifacts"
    source = repository(tmp_path, "missing", {"requirements.txt": "no-such-package-computegrant-test==1.0\n"})
    spec = JobSpec(
        job_id=5,
        workers=1,
        accelerators_per_worker=1,
        max_runtime_seconds=60,
        seed=1,
        entrypoint="train.py",
        args=(),
        pool=PoolSpec(name="cpu", kind="cpu", backend="local"),
        artifacts=job_artifact_paths(5),
        source_path=str(source),
    )
    with pytest.raises(ValueError, match="could not be installed"):
        environments.for_run(spec)
    recorded = environments.evidence(spec.artifacts.root)
    assert recorded is not None and recorded["status"] == "failed"
    assert "no-such-package-computegrant-test" in str(recorded["summary"])


NEEDS_HUMANIZE_TRAIN = """
import os
import humanize
import numpy as np
import tensorflow as tf

tf.keras.utils.set_random_seed(int(os.environ["CG_SEED"]))
x = np.random.rand(64, 4).astype("float32")
y = x.sum(axis=1, keepdims=True)
model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(1)])
model.compile(optimizer=tf.keras.optimizers.SGD(0.1), loss="mse")
history = model.fit(x, y, epochs=3, verbose=0)
print("trained", humanize.intcomma(len(x) * 1000), [round(v, 4) for v in history.history["loss"]], flush=True)
"""


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_an_awarded_run_of_a_repository_needing_a_package_the_worker_lacks_installs_it_and_trains(
    celery_worker, tmp_path
):
    from config.celery import app
    from scheduler import quota
    from scheduler.models import TrainingJob
    from tests.scheduler.backends.test_runner import wait_for
    from tests.scheduler.factories import PoolFactory, job_request, make_allocation

    source = repository(
        tmp_path, "needs", {"requirements.txt": f"{ABSENT}\ntensorflow==2.21.0\n", "train.py": NEEDS_HUMANIZE_TRAIN}
    )
    pool = PoolFactory(kind="cpu", capacity=2)
    job = quota.submit_job(make_allocation(pool=pool, hours=1), job_request(runtime=300, source_path=str(source)))
    app.send_task("scheduler.tasks.run_admission_cycle", kwargs={"pool_id": pool.pk}).get(timeout=60)
    job = wait_for(job, {TrainingJob.State.SUCCEEDED, TrainingJob.State.FAILED}, timeout=180)
    assert job.state == TrainingJob.State.SUCCEEDED, (job.failure_reason, celery_worker.log_tail())
    log = (Path(job.artifacts_dir) / "workers" / "worker-0.log").read_text()
    assert "trained 64,000" in log
    recorded = environments.evidence(Path(job.artifacts_dir))
    assert recorded is not None and recorded["installed"] == [ABSENT] and recorded["from_worker"] == 1
