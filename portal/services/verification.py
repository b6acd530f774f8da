"""Verification runs (issue 16): before hours are awarded, a call runs each submitted application's
own training entry point for a few minutes on its verification pool, and reviewers see what happened.

A verification is funded from the call's verification budget (VerificationPolicy.budget_seconds),
never from the applicant's award: it gets an allocation of its own on the verification pool holding
exactly its worst case, its runs are submitted through the quota ledger and admitted like any job,
and once they ended the unused seconds go back (the allocation is revoked), so the budget's use is
what the runs used. The runs execute the application's snapshot at its commit, in the job contract
(TF_CONFIG, AIP_*, CG_SEED), in an environment built from the repository (scheduler.environments);
their evidence is judged as dynamic checks (reproducibility.verification).
"""

from __future__ import annotations

import logging
import shlex
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from portal.models import Application, Call, Verification, VerificationPolicy
from reproducibility.models import Snapshot
from scheduler import quota
from scheduler.models import AcceleratorPool, TrainingJob

log = logging.getLogger(__name__)
SEED = 1234
# Interpreters an applicant may write before the script ("python train.py --epochs 5").
INTERPRETERS = {"python", "python3", "python3.11"}
VERIFIABLE = (Application.State.SUBMITTED, Application.State.UNDER_REVIEW, Application.State.WAITLISTED)


class VerificationRefused(Exception):
    """A verification cannot start now; the message says why. Nothing was reserved."""


def set_policy(
    call: Call,
    *,
    pool: AcceleratorPool,
    budget_hours: float,
    minutes: int = 10,
    workers: int = 2,
    repeat: bool = True,
    enabled: bool = True,
) -> VerificationPolicy:
    """A call's verification settings (created or changed)."""
    if not 1 <= minutes <= 120:
        raise VerificationRefused("A verification run's time box is between 1 and 120 minutes.")
    if not 1 <= workers <= min(8, pool.capacity):
        raise VerificationRefused(f"Verification runs have between 1 and {min(8, pool.capacity)} workers on {pool}.")
    if budget_hours < 0:
        raise VerificationRefused("The verification budget cannot be negative.")
    policy, _ = VerificationPolicy.objects.update_or_create(
        call=call,
        defaults={
            "pool": pool,
            "budget_seconds": int(budget_hours * 3600),
            "minutes": minutes,
            "workers": workers,
            "repeat": repeat,
            "enabled": enabled,
        },
    )
    return policy


def budget_spent(policy: VerificationPolicy) -> int:
    """Accelerator-seconds the call's verifications hold or used (judged ones: only what they used)."""
    spent = Verification.objects.filter(application__call_id=policy.call_id, allocation__isnull=False).aggregate(
        total=Sum("allocation__awarded")
    )["total"]
    return int(spent or 0)


def usage(policy: VerificationPolicy) -> dict[str, int]:
    """The call's verification usage, for the maintainer: budget, held or used, runs made."""
    verifications = Verification.objects.filter(application__call_id=policy.call_id)
    return {
        "budget_seconds": policy.budget_seconds,
        "spent_seconds": budget_spent(policy),
        "verifications": verifications.count(),
        "judged": verifications.filter(state=Verification.State.JUDGED).count(),
    }


def entrypoint_of(application: Application) -> tuple[str, list[str]]:
    """The script and its arguments from the application's training plan."""
    try:
        words = shlex.split(application.entrypoint)
    except ValueError as error:
        raise VerificationRefused(f"The training plan's entrypoint cannot be read: {error}.") from error
    if words and words[0] in INTERPRETERS:
        words = words[1:]
    if not words or not words[0].endswith(".py"):
        raise VerificationRefused("The training plan names no Python script to run (e.g. python train.py).")
    return words[0], words[1:]


def start(application: Application, *, requested_by: Any = None) -> Verification:
    """Submit the verification runs of the application's snapshot, charged to the call's budget."""
    with transaction.atomic():
        policy = (
            VerificationPolicy.objects.select_for_update()
            .select_related("pool")
            .filter(call_id=application.call_id)
            .first()
        )
        if policy is None or not policy.enabled:
            raise VerificationRefused("This call does not run verification runs.")
        if policy.pool.backend == AcceleratorPool.Backend.LOCAL and not settings.CG_VERIFY_LOCALLY:
            raise VerificationRefused(
                f"The verification pool {policy.pool} runs local processes, and this installation does not run "
                "applicants' code locally before review (CG_VERIFY_LOCALLY)."
            )
        application = Application.objects.select_related("project", "snapshot").get(pk=application.pk)
        if application.state not in VERIFIABLE:
            raise VerificationRefused(f"A {application.get_state_display().lower()} application is not verified.")
        snapshot = application.snapshot
        if snapshot is None or snapshot.status != Snapshot.Status.DONE:
            raise VerificationRefused("The application's repository is not fetched and scored yet.")
        if application.verifications.filter(state=Verification.State.RUNNING).exists():
            raise VerificationRefused("A verification of this application is already running.")
        script, args = entrypoint_of(application)
        worst = policy.worst_case_seconds
        left = policy.budget_seconds - budget_spent(policy)
        if worst > left:
            raise VerificationRefused(
                f"The call's verification budget has {quota.hours(max(left, 0))} accelerator-hours left; "
                f"a verification may use {quota.hours(worst)}."
            )
        allocation = quota.award(
            application.project,
            policy.pool,
            worst,
            expires_at=timezone.now() + timedelta(days=1),
            snapshot=snapshot,
            actor=requested_by,
            memo=f"verification of application {application.pk}, from the call's verification budget",
        )
        request = quota.JobRequest(
            entrypoint=script,
            args=args,
            workers=policy.workers,
            max_runtime_seconds=policy.minutes * 60,
            seed=SEED,
            name=f"verification of application {application.pk}",
        )
        try:
            run = quota.submit_job(allocation, request, actor=requested_by)
            repeat = quota.submit_job(allocation, request, actor=requested_by) if policy.repeat else None
        except quota.QuotaError as error:
            raise VerificationRefused(str(error)) from error
        verification = Verification.objects.create(
            application=application,
            snapshot=snapshot,
            allocation=allocation,
            run=run,
            repeat_run=repeat,
            requested_by=requested_by,
        )
        transaction.on_commit(lambda: _enqueue_judging(verification.pk))
    return verification


def judge(verification_id: int) -> str:
    """Judge a verification whose runs all ended, and give its unused seconds back to the budget."""
    from reproducibility.verification import judge_jobs, record_in_report

    with transaction.atomic():
        verification = (
            Verification.objects.select_for_update(of=("self",))
            .select_related("run", "repeat_run", "allocation", "snapshot")
            .get(pk=verification_id)
        )
        if verification.state == Verification.State.JUDGED:
            return "nothing to do"
        runs = [job for job in (verification.run, verification.repeat_run) if job is not None]
        if any(job.state not in TrainingJob.TERMINAL_STATES for job in runs):
            return "running"
        result = judge_jobs(runs[0], runs[1] if len(runs) > 1 else None)
        if verification.allocation is not None:
            quota.revoke(verification.allocation, memo="verification judged: the unused seconds go back to the call")
        verification.result = result
        verification.verdict = result["verdict"]
        verification.state = Verification.State.JUDGED
        verification.judged_at = timezone.now()
        verification.save(update_fields=["result", "verdict", "state", "judged_at"])
        record_in_report(verification.snapshot, result)
    return verification.verdict


def judge_running() -> int:
    """Judge every running verification whose runs all ended; how many were judged."""
    judged = 0
    for verification_id in Verification.objects.filter(state=Verification.State.RUNNING).values_list("pk", flat=True):
        if judge(verification_id) not in ("running", "nothing to do"):
            judged += 1
    return judged


def start_when_scored(application_id: int) -> str:
    """After submission: start the verification once the static report is in (the task retries)."""
    application = Application.objects.select_related("snapshot").filter(pk=application_id).first()
    if application is None or application.snapshot is None:
        return "no snapshot"
    if application.snapshot.status in (Snapshot.Status.QUEUED, Snapshot.Status.FETCHING, Snapshot.Status.SCORING):
        return "waiting for the report"
    if application.verifications.exists():
        return "already verified"
    try:
        start(application)
    except VerificationRefused as error:
        log.info("Application %s is not verified: %s", application_id, error)
        return f"refused: {error}"
    return "started"


def wants_verification(application: Application) -> bool:
    return VerificationPolicy.objects.filter(call_id=application.call_id, enabled=True).exists()


def _enqueue_judging(verification_id: int) -> None:
    from portal.tasks import judge_verification

    judge_verification.apply_async(kwargs={"verification_id": verification_id}, countdown=5)
