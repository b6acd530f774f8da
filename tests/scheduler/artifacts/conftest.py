"""Real TensorBoard logs, a real SavedModel and a real TensorBoard server, made once per session."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from scheduler.artifacts import cache, runs
from scheduler.artifacts.tensorboard import forget_apps

TRAIN_STEPS = 40


def write_training_logs(log_dir: Path, steps: int = TRAIN_STEPS, seed: int = 7) -> None:
    """Event files as a Keras-style training run writes them: train/ and validation/ runs."""
    import tensorflow as tf
    from tensorboard.plugins.hparams import summary_v2 as hparams_summary

    tf.random.set_seed(seed)
    train = tf.summary.create_file_writer(str(log_dir / "train"))
    validation = tf.summary.create_file_writer(str(log_dir / "validation"))
    with train.as_default():
        # The hparams summary as written by TensorBoard's `hp.hparams`, but without its lazy `tf`,
        # which resolves to TensorBoard's stub once this process has asked for no TensorFlow.
        trial = hparams_summary.hparams_pb({"learning_rate": 0.01, "optimizer": "adam", "batch_size": 32})
        tf.summary.experimental.write_raw_pb(trial.SerializeToString(), step=0)
        for step in range(steps):
            tf.summary.scalar("epoch_loss", 2.0 / (step + 1) + 0.01 * (step % 3), step=step)
            tf.summary.scalar("epoch_accuracy", 1.0 - 1.0 / (step + 2), step=step)
            if step % 10 == 0:
                tf.summary.histogram("dense/kernel", tf.random.normal([16]), step=step)
    with validation.as_default():
        for step in range(0, steps, 2):
            tf.summary.scalar("epoch_loss", 2.5 / (step + 1), step=step)
            tf.summary.scalar("epoch_accuracy", 0.9 - 1.0 / (step + 3), step=step)
    train.close()
    validation.close()


def write_legacy_logs(run_dir: Path, steps: int = 12) -> None:
    """A TF1-style run: scalars as simple_value, written with TensorBoard's own writer."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = EventFileWriter(str(run_dir))
    for step in range(steps):
        summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="loss", simple_value=1.0 / (step + 1))])
        writer.add_event(event_pb2.Event(wall_time=1_700_000_000.0 + step, step=step, summary=summary))
    writer.close()


def write_images_only(run_dir: Path) -> None:
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(run_dir))
    with writer.as_default():
        tf.summary.image("samples", tf.zeros([1, 8, 8, 1]), step=0)
        tf.summary.histogram("weights", tf.range(10.0), step=0)
    writer.close()


@pytest.fixture(scope="session")
def training_logs(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """A log folder with train/, validation/ (TF2 tensor scalars) and legacy/ (simple values)."""
    log_dir = tmp_path_factory.mktemp("logs")
    write_training_logs(log_dir)
    write_legacy_logs(log_dir / "legacy")
    return log_dir


@pytest.fixture
def logs_copy(training_logs: Path, tmp_path: Path) -> Path:
    """A private copy of the session's logs that a test may damage."""
    target = tmp_path / "logs"
    shutil.copytree(training_logs, target)
    return target


@pytest.fixture(scope="session")
def saved_model_dir(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    """A SavedModel with a predict signature and a second one that reads a file (ReadFile op)."""
    import tensorflow as tf

    class Digits(tf.Module):
        def __init__(self) -> None:
            super().__init__()
            self.kernel = tf.Variable(tf.ones([64, 10]), name="kernel")
            self.bias = tf.Variable(tf.zeros([10]), name="bias")

        @tf.function(input_signature=[tf.TensorSpec([None, 64], tf.float32, name="pixels")])
        def predict(self, pixels):  # type: ignore[no-untyped-def]
            logits = tf.matmul(pixels, self.kernel) + self.bias
            return {"logits": logits, "label": tf.argmax(logits, axis=1)}

        @tf.function(input_signature=[tf.TensorSpec([], tf.string, name="path")])
        def read(self, path):  # type: ignore[no-untyped-def]
            return {"contents": tf.io.read_file(path)}

    model = Digits()
    target = tmp_path_factory.mktemp("model") / "model"
    tf.saved_model.save(model, str(target), signatures={"serving_default": model.predict, "read": model.read})
    return target


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class TensorBoardServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def get_json(self, path: str) -> object:
        with urllib.request.urlopen(self.url + path, timeout=30) as response:
            return json.loads(response.read())


@pytest.fixture(scope="session")
def tensorboard_server(training_logs: Path, tmp_path_factory) -> Iterator[TensorBoardServer]:  # type: ignore[no-untyped-def]
    """The `tensorboard` program itself, serving the session's logs on loopback."""
    port = _free_port()
    log = (tmp_path_factory.mktemp("tensorboard") / "tensorboard.log").open("w")
    binary = Path(sys.executable).with_name("tensorboard")
    process = subprocess.Popen(
        [
            str(binary),
            "--logdir",
            str(training_logs),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--reload_interval",
            "1",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    server = TensorBoardServer(f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                runs = server.get_json("/data/runs")
                if isinstance(runs, list) and {"train", "validation", "legacy"} <= set(runs):
                    break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"TensorBoard did not start; see {log.name}")
            time.sleep(0.5)
        time.sleep(2)  # one more reload cycle so every file is fully read
        yield server
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


# Runs for the view tests: real TrainingJob rows (explicit ids, so URLs are stable) of real
# projects, with real logs and a real SavedModel in their artifact folders; the permission check
# is the real one (portal.access.permissions via has_perm).
JOB_ID = 41
OTHER_JOB_ID = 42


@pytest.fixture
def artifacts_root(settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    settings.CG_ARTIFACTS_ROOT = tmp_path / "artifacts"
    forget_apps()
    yield settings.CG_ARTIFACTS_ROOT
    forget_apps()


def _finished_job(job_id: int, owner, slug: str):  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from scheduler.models import TrainingJob
    from tests.scheduler.factories import ProjectFactory, make_allocation

    allocation = make_allocation(project=ProjectFactory(owner=owner, slug=slug, name=slug.title()))
    now = timezone.now()
    return TrainingJob.objects.create(
        id=job_id,
        allocation=allocation,
        pool=allocation.pool,
        entrypoint="train.py",
        args=["--epochs", "40"],
        workers=1,
        max_runtime_seconds=600,
        state=TrainingJob.State.SUCCEEDED,
        started_at=now,
        finished_at=now,
    )


def refresh_stand_in(job) -> None:  # type: ignore[no-untyped-def]
    """Re-read the job's logs and model into its cached fields, as the runner does at the end of a run."""
    cache.refresh_run_artifacts(job)


@pytest.fixture
def jobs(artifacts_root: Path, applicant, make_user, training_logs: Path, saved_model_dir: Path):  # type: ignore[no-untyped-def]
    """Job 41 of ada's project with real logs and model; job 42 of another applicant's project."""
    table = {
        JOB_ID: _finished_job(JOB_ID, applicant, "digits"),
        OTHER_JOB_ID: _finished_job(OTHER_JOB_ID, make_user("bob"), "other"),
    }
    for job_id, job in table.items():
        paths = runs.run_artifacts(job_id)
        shutil.copytree(training_logs, paths.logs)
        shutil.copytree(saved_model_dir, paths.model)
        refresh_stand_in(job)
    return table
