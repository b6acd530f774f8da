"""Dynamic checks: what a verification run of the repository's own training showed.

Static checks say what the files promise; these say what happened when the entry point ran here:
it installs, starts, learns, logs, exports, repeats, and how it exited. Each is judged from the
run's recorded evidence (the environment step's record, the event files' scalars or the workers'
progress lines, the SavedModel inspection, the backend's end), never by running anything again.
A run stopped by its time box after progress still counts as started and learning.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

# Scalars compared between the run and its repeat, and how close counts as "repeatable".
REPEAT_VALUES = 5
REPEAT_TOLERANCE = 1e-4
TIME_BOX = "Deadline exceeded"
# "loss: 0.31", "loss=0.31", '"loss": 0.31', "train_loss 0.31" on a worker's progress lines.
LOSS_ON_A_LINE = re.compile(r"\bloss['\"]?\s*[:=]?\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|nan|inf)", re.IGNORECASE)
PROGRESS_ON_A_LINE = re.compile(r"\b(epoch|step|loss|iteration|iter)\b", re.IGNORECASE)


@dataclass(frozen=True)
class RunEvidence:
    """What one finished run left: the backend's end, its environment, its scalars, logs and model."""

    phase: str  # succeeded, failed, cancelled, lost
    reason: str = ""
    exit_code: int | None = None
    environment: dict[str, Any] | None = None
    scalars: dict[str, Any] = field(default_factory=dict)  # scheduler.artifacts.cache.scalar_cache_of
    log: str = ""  # the chief worker's log (its tail)
    model: dict[str, Any] = field(default_factory=dict)  # scheduler.artifacts.cache.model_summary_of
    event_files: int = 0
    max_runtime_seconds: int = 0


@dataclass(frozen=True)
class DynamicCheck:
    id: str
    name: str
    status: str  # pass, partial, fail, not_applicable
    reason: str
    evidence: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "evidence": list(self.evidence),
        }


def judge(run: RunEvidence, repeat: RunEvidence | None = None) -> list[DynamicCheck]:
    """The dynamic checks of a verification run and, when one was made, its repeat."""
    losses = loss_series(run)
    return [
        installs(run),
        starts(run, losses),
        learns(run, losses),
        logs(run),
        exports(run),
        repeats(losses, loss_series(repeat) if repeat is not None else None),
        exit_of(run, losses),
    ]


def installs(run: RunEvidence) -> DynamicCheck:
    name = "Dependencies install"
    recorded = run.environment
    if recorded is None:
        return DynamicCheck("installs", name, "not_applicable", "No environment step was recorded for this run.")
    if recorded.get("status") == "failed":
        log = [line for line in str(recorded.get("log", "")).splitlines() if line.strip()][-8:]
        return DynamicCheck("installs", name, "fail", str(recorded.get("summary", "")), tuple(log))
    installed = list(recorded.get("installed", []))
    total, reused = int(recorded.get("requirements", 0)), int(recorded.get("from_worker", 0))
    seconds = float(recorded.get("seconds", 0.0))
    source = recorded.get("manifest") or "no declared requirements"
    reason = (
        f"{total} requirements from {source}: {reused} already in the worker's environment, "
        f"{len(installed)} installed; {'a cached environment' if recorded.get('cached') else 'installed'} "
        f"in {seconds:.1f} s."
    )
    return DynamicCheck("installs", name, "pass", reason, (f"environment {recorded.get('key')}", *installed[:20]))


def starts(run: RunEvidence, losses: list[float]) -> DynamicCheck:
    name = "Training starts"
    first = _first_progress_line(run.log)
    if losses or first:
        shown = first or f"first logged loss {losses[0]:.6g}"
        return DynamicCheck("starts", name, "pass", "The entry point began training.", (shown,))
    if run.environment is not None and run.environment.get("status") == "failed":
        return DynamicCheck("starts", name, "fail", "Nothing ran: the dependencies did not install.")
    return DynamicCheck(
        "starts", name, "fail", "No training step, epoch or loss was logged before the run ended.", _tail(run.log)
    )


def learns(run: RunEvidence, losses: list[float]) -> DynamicCheck:
    name = "Loss goes down"
    finite = [value for value in losses if math.isfinite(value)]
    if len(finite) < 2:
        return DynamicCheck(
            "learns", name, "fail", f"{len(finite)} finite loss value(s) logged: at least two are needed to tell."
        )
    first, last = finite[0], finite[-1]
    numbers = (f"first {first:.6g}", f"last {last:.6g}", f"{len(finite)} values")
    if last < first:
        return DynamicCheck(
            "learns", name, "pass", f"The loss went down by {100 * (first - last) / abs(first or 1):.1f}%.", numbers
        )
    return DynamicCheck(
        "learns", name, "fail", "The loss did not go down between the first and last logged values.", numbers
    )


def logs(run: RunEvidence) -> DynamicCheck:
    name = "TensorBoard logs"
    tags = sorted({f"{run_name}/{tag}" for run_name, series in run.scalars.get("runs", {}).items() for tag in series})
    if run.event_files and tags:
        return DynamicCheck(
            "logs", name, "pass", f"{run.event_files} event file(s), {len(tags)} scalar series.", tuple(tags[:10])
        )
    if run.event_files:
        return DynamicCheck("logs", name, "partial", f"{run.event_files} event file(s), but no scalar in them.")
    return DynamicCheck(
        "logs", name, "fail", "No TensorBoard event file was written (AIP_TENSORBOARD_LOG_DIR or the work folder)."
    )


def exports(run: RunEvidence) -> DynamicCheck:
    name = "SavedModel exported"
    if run.model and not run.model.get("error"):
        signatures = sorted(run.model.get("signatures", {}) or [])
        return DynamicCheck(
            "exports",
            name,
            "pass",
            "A SavedModel was written to AIP_MODEL_DIR.",
            tuple(f"signature {s}" for s in signatures),
        )
    reason = (run.model or {}).get("error") or "No SavedModel was written to AIP_MODEL_DIR."
    return DynamicCheck("exports", name, "fail", str(reason))


def repeats(first: list[float], second: list[float] | None) -> DynamicCheck:
    name = "Same seed, same numbers"
    if second is None:
        return DynamicCheck("repeats", name, "not_applicable", "No repeat run was made (the call's setting).")
    count = min(REPEAT_VALUES, len(first), len(second))
    if count == 0:
        return DynamicCheck("repeats", name, "fail", "The runs logged no loss values to compare.")
    a, b = first[:count], second[:count]
    numbers = (f"run 1: {', '.join(f'{v:.8g}' for v in a)}", f"run 2: {', '.join(f'{v:.8g}' for v in b)}")
    if a == b:
        return DynamicCheck("repeats", name, "pass", f"Identical: the first {count} logged losses are equal.", numbers)
    worst = max(abs(x - y) / max(abs(x), abs(y), 1e-12) for x, y in zip(a, b, strict=True))
    if worst <= REPEAT_TOLERANCE:
        return DynamicCheck(
            "repeats",
            name,
            "pass",
            f"Repeatable: the first {count} losses agree within {REPEAT_TOLERANCE:g} (relative).",
            numbers,
        )
    return DynamicCheck(
        "repeats", name, "fail", f"Different: the first {count} losses differ by up to {worst:.3g} (relative).", numbers
    )


def exit_of(run: RunEvidence, losses: list[float]) -> DynamicCheck:
    name = "How it ended"
    if run.phase == "succeeded":
        return DynamicCheck("exit", name, "pass", "A clean exit (code 0).")
    if TIME_BOX in run.reason:
        if losses or _first_progress_line(run.log):
            return DynamicCheck(
                "exit", name, "pass", f"The time box ({run.max_runtime_seconds} s) was reached after progress; stopped."
            )
        return DynamicCheck(
            "exit",
            name,
            "fail",
            f"The time box ({run.max_runtime_seconds} s) was reached with no progress.",
            _tail(run.log),
        )
    first_line = run.reason.splitlines()[0] if run.reason else f"The run ended {run.phase}."
    return DynamicCheck("exit", name, "fail", first_line, _tail(run.log))


def loss_series(run: RunEvidence) -> list[float]:
    """The training loss in logged order: from the event files, or the progress lines if none."""
    runs = run.scalars.get("runs", {}) or {}
    candidates = [
        (run_name != "train", tag != "epoch_loss", run_name, tag)
        for run_name, series in runs.items()
        for tag in series
        if tag.endswith("loss") and "val" not in run_name and not tag.startswith("val")
    ]
    if candidates:
        _, _, run_name, tag = min(candidates)
        points = sorted(runs[run_name][tag], key=lambda point: point[1])
        return [float(point[2]) if point[2] is not None else math.nan for point in points]
    return [
        _number(match.group(1)) for line in run.log.splitlines() for match in [LOSS_ON_A_LINE.search(line)] if match
    ]


def _number(text: str) -> float:
    return float(text)


def _first_progress_line(log: str) -> str:
    noise = ("Traceback", "File ", "WARNING", "I0000", "W0000", "E0000")
    for line in log.splitlines():
        if PROGRESS_ON_A_LINE.search(line) and not line.lstrip().startswith(noise) and "Error" not in line:
            return line.strip()[:200]
    return ""


def _tail(log: str, lines: int = 8) -> tuple[str, ...]:
    return tuple(line[:300] for line in log.strip().splitlines()[-lines:])


def as_scorecard(checks: list[DynamicCheck], *, job_ids: list[int]) -> dict[str, Any]:
    """The dynamic checks under their own key of the Scorecard-shaped report."""
    return {"runs": job_ids, "checks": [check.as_json() for check in checks], "verdict": verdict(checks)}


def verdict(checks: list[DynamicCheck]) -> str:
    """ "verified" when every applicable check passed, else the first failing check's id."""
    failed = [check.id for check in checks if check.status == "fail"]
    return "verified" if not failed else f"failed: {', '.join(failed)}"
