"""Benchmark: reading a run's event files, and the run page drawn from the cache.

A run with 100,000 scalar points in 5 tags (20,000 steps, written by tf.summary like a training
loop) is read by the portal's reader and by TensorBoard's EventAccumulator with every point kept
(size_guidance 0). Both run warm, in this process, best of several rounds. Then the run page is
rendered from the cached, downsampled curves. Figures are printed; the last line is JSON.

    python benchmarks/event_files.py [--points 100000] [--tags 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def write_run(run_dir: Path, steps: int, tags: int) -> None:
    """tf.summary scalars as TF2 writes them (tensor-encoded), from a compiled loop for speed."""
    import tensorflow as tf

    writer = tf.summary.create_file_writer(str(run_dir), max_queue=10_000)
    names = [f"metric_{index}" for index in range(tags)]

    @tf.function
    def log_all() -> None:
        with writer.as_default():
            for step in tf.range(steps, dtype=tf.int64):
                x = tf.cast(step, tf.float32)
                for index, name in enumerate(names):
                    tf.summary.scalar(name, tf.math.sin(x / (50.0 + index)) + 1.0 / (1.0 + x), step=step)

    log_all()
    writer.close()


def best_of(rounds: int, work) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--tags", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()

    import django

    django.setup()
    import logging

    logging.getLogger("tensorboard").setLevel(logging.WARNING)  # "No path found after ..." per reload
    from tensorboard.backend.event_processing import event_accumulator
    from tensorboard.util import tensor_util

    from scheduler.artifacts import cache, events

    steps = options.points // options.tags
    with tempfile.TemporaryDirectory() as folder:
        log_dir = Path(folder) / "logs"
        run_dir = log_dir / "train"
        started = time.perf_counter()
        write_run(run_dir, steps, options.tags)
        size = sum(path.stat().st_size for path in run_dir.iterdir())
        print(
            f"wrote {steps * options.tags} points in {options.tags} tags: {size / 2**20:.1f} MiB "
            f"in {time.perf_counter() - started:.1f} s"
        )

        reading = events.read_scalars(log_dir)  # warm-up: TensorFlow's record reader is loaded once
        assert reading.point_count == steps * options.tags, reading.point_count

        def read_with_portal() -> None:
            events.read_scalars(log_dir)

        guidance = {kind: 0 for kind in event_accumulator.DEFAULT_SIZE_GUIDANCE}

        def read_with_accumulator() -> None:
            accumulator = event_accumulator.EventAccumulator(str(run_dir), size_guidance=guidance)
            accumulator.Reload()

        def read_with_accumulator_values() -> None:
            accumulator = event_accumulator.EventAccumulator(str(run_dir), size_guidance=guidance)
            accumulator.Reload()
            for tag in accumulator.Tags()["tensors"]:
                [
                    (event.wall_time, event.step, tensor_util.make_ndarray(event.tensor_proto).item())
                    for event in accumulator.Tensors(tag)
                ]

        portal_s = best_of(options.rounds, read_with_portal)
        accumulator_s = best_of(options.rounds, read_with_accumulator)
        accumulator_values_s = best_of(options.rounds, read_with_accumulator_values)
        ratio = portal_s / accumulator_s
        print(f"portal reader:                      {portal_s * 1000:8.0f} ms")
        print(f"EventAccumulator.Reload():          {accumulator_s * 1000:8.0f} ms")
        print(f"EventAccumulator + decoding values: {accumulator_values_s * 1000:8.0f} ms")
        print(
            f"ratio portal / EventAccumulator:    {ratio:8.3f} (goal <= 1.0); "
            f"vs accumulator with values {portal_s / accumulator_values_s:.3f}"
        )

        cache_started = time.perf_counter()
        scalars = cache.scalar_cache_of(log_dir)
        print(
            f"cache refresh (read + downsample):  {(time.perf_counter() - cache_started) * 1000:8.0f} ms, "
            f"{sum(len(p) for t in scalars['runs'].values() for p in t.values())} points kept"
        )

    page_ms = page_time_ms(scalars, options.rounds)
    print(f"run page from the cache:            {page_ms:8.1f} ms")
    print(
        json.dumps(
            {
                "benchmark": "event_files",
                "points": steps * options.tags,
                "ratio_vs_event_accumulator": round(ratio, 3),
                "portal_ms": round(portal_s * 1000, 1),
                "event_accumulator_ms": round(accumulator_s * 1000, 1),
                "page_ms": round(page_ms, 1),
            }
        )
    )


def page_time_ms(scalars: dict, rounds: int) -> float:
    """Server time of the run page drawn from the cached fields (template + charts, no files)."""
    from django.contrib.auth.models import AnonymousUser
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from scheduler.artifacts import runs, views

    try:
        job = runs.training_job_model()(pk=1, state="succeeded")
    except LookupError:  # before the quota engineer's model exists
        job = SimpleNamespace(pk=1, state="succeeded", allocation=SimpleNamespace(project="bench"))
    job.scalar_cache, job.model_summary, job.progress = scalars, {}, {}
    request = RequestFactory().get("/runs/1/")
    request.user = AnonymousUser()

    def render() -> None:
        html = render_to_string("scheduler/artifacts/run_detail.html", views.run_context(job), request=request)
        assert "<polyline" in html

    render()
    return best_of(max(rounds, 5), render) * 1000


if __name__ == "__main__":
    main()
