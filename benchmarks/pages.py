"""Benchmark: the portal's main pages at 1,000 projects, 5,000 applications and 20,000 runs, and at a tenth.

Each page is requested as its user sees it (django.test.Client with force_login; the API with a
token): once to warm up, once counting its SQL queries, then N timed requests (p50 and p95 of the
client call, DEBUG off), the pages taken in turn so that a slow moment of the machine does not
fall on one page alone. A fixed template render with no database is timed in each turn too: its
median (`reference_ms`) tells how fast the machine was, so runs compare by `p95_per_reference`.
The same pages at a tenth of the data must run the same number of queries: a count that grows
with the data is a query per row (N+1). A query run three times or more within one request is
printed too. Figures are printed; the last line is JSON.

The data: five calls that every project applies to (one application per project per call is the
rule, so a call has as many applications as there are projects), states mixed, two reviews per
reviewed application, an allocation per award with a ledger that replays to its balances, and
runs on the allocations (one in twenty queued). After the award (issue 17), in proportion: each award
an entry in its call's budget ledger, one award in ten a supplement, one in ten idle hours reclaimed,
one in ten unused hours returned (entries dated from the award over the months since); two reports
per award (a progress report, approved for awards older than three months with runs linked and a
released model, and a final one due); one project in five publishes its public page.
`--keep` leaves the large data set in place.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/cg_bench_pages python benchmarks/pages.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/cg_bench_pages")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/7")
os.environ.setdefault("CG_DATA_DIR", "/tmp/cg-bench-pages-data")  # noqa: S108 - the benchmark's own scratch folder

import django

from benchmarks.postgres import ensure_database

ensure_database(os.environ["DATABASE_URL"])
django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.contrib.contenttypes.models import ContentType  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.db.models import Q, Sum  # noqa: E402
from django.http import HttpResponseBase  # noqa: E402
from django.template import Context as TemplateContext  # noqa: E402
from django.template import Template  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import reverse  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from config.heap import freeze_startup_heap  # noqa: E402
from portal.access import roles  # noqa: E402
from portal.models import (  # noqa: E402
    Application,
    AuditEntry,
    BudgetEntry,
    Call,
    CallPool,
    CriterionScore,
    ProgressReport,
    Project,
    Review,
    ReviewAssignment,
    RubricCriterion,
    User,
)
from portal.services.calls import DEFAULT_RUBRIC  # noqa: E402
from portal.services.reviews import keep_review_means  # noqa: E402
from reproducibility.models import Report, Snapshot  # noqa: E402
from scheduler.models import AcceleratorPool, Allocation, LedgerEntry, TrainingJob  # noqa: E402

# Server time as in production: no query log kept, no template debug information.
settings.DEBUG = False

HOUR = 3600
GOAL_P95_MS = 50  # issue 6: every main page's server time at the large size
S, J, K = Application.State, TrainingJob.State, LedgerEntry.Kind
CALLS = 5  # every project applies to every call: one application per project per call is the rule
PROJECTS_PER_REVIEWER = 50  # reviewers grow with the portal: 20 at 1,000 projects, at least 10
POOLS = (("nvidia-v100", "gpu", 8), ("tpu-v4-8", "tpu", 4), ("nvidia-a100", "gpu", 16))
APPLICATION_STATES = {S.DRAFT: 8, S.SUBMITTED: 10, S.UNDER_REVIEW: 30, S.AWARDED: 17, S.DECLINED: 20, S.WAITLISTED: 15}
ENDINGS = {J.SUCCEEDED: 70, J.FAILED: 15, J.CANCELLED: 10, J.PREEMPTED: 5}
REVIEWED = (S.UNDER_REVIEW, S.AWARDED, S.DECLINED, S.WAITLISTED)
DECIDED = (S.AWARDED, S.DECLINED, S.WAITLISTED)
CHECKS = ("dependency pinning", "global seed", "op determinism", "savedmodel export", "tests and ci", "licence")
UNUSABLE_PASSWORD = make_password(None)


@dataclass(frozen=True)
class Cast:
    """Who requests the pages, and the objects the pages are about."""

    applicant: User  # owns a tenth of the projects, member of a twentieth more
    reviewer: User  # one of the reviewers sharing two reviews per reviewed application
    maintainer: User
    call: Call
    application: Application  # an application of `call` with submitted reviews
    public_project: Project  # a published project with an award and a released model
    report: ProgressReport  # a report the applicant may still write


def reset() -> None:
    with connection.cursor() as cursor:  # the ledger refuses DELETE; TRUNCATE is the reset
        cursor.execute("TRUNCATE portal_user, scheduler_acceleratorpool, django_session RESTART IDENTITY CASCADE")


def people(prefix: str, count: int, role: str, **fields: Any) -> list[User]:
    users = User.objects.bulk_create(
        User(username=f"{prefix}-{i}", email=f"{prefix}-{i}@bench.example.org", password=UNUSABLE_PASSWORD, **fields)
        for i in range(count)
    )
    group = Group.objects.get_or_create(name=role)[0]
    User.groups.through.objects.bulk_create(User.groups.through(user_id=u.pk, group_id=group.pk) for u in users)
    return users


def level_of(score: float) -> str:
    return "gold" if score >= 85 else "silver" if score >= 65 else "bronze" if score >= 40 else "none"


def make_calls(maintainer: User, now: datetime) -> list[Call]:
    """Four closed calls and one open now, each with the default rubric; budgets come with the awards."""
    calls = []
    for k in range(CALLS):
        opens = now - timedelta(days=60 * (CALLS - k))
        closes = opens + timedelta(days=45) if k < CALLS - 1 else now + timedelta(days=30)
        calls.append(
            Call(
                title=f"Bench call {k + 1}",
                slug=f"bench-call-{k + 1}",
                opens_at=opens,
                closes_at=closes,
                created_by=maintainer,
            )
        )
    calls = Call.objects.bulk_create(calls)
    RubricCriterion.objects.bulk_create(
        RubricCriterion(call=call, name=c.name, description=c.description, weight=c.weight, position=i)
        for call in calls
        for i, c in enumerate(DEFAULT_RUBRIC)
    )
    return calls


def plan_jobs(
    awarded: list[Application], count: int, rng: random.Random, now: datetime
) -> tuple[list[TrainingJob], list[int], list[int]]:
    """Runs spread over the awards (a few running, one in twenty queued, the rest ended), and what
    each award has then used and holds."""
    assert awarded, "no application was awarded: use more projects"
    jobs, used, held = [], [0] * len(awarded), [0] * len(awarded)
    for n in range(count):
        slot = n % len(awarded)
        application = awarded[slot]
        running = n < 2 * len(POOLS)  # one accelerator each: within every pool's capacity
        workers, per_worker = (1, 1) if running else (1 + n % 2, 1 + n // 2 % 2)
        runtime = 600 * (1 + n % 6)
        worst = workers * per_worker * runtime
        state = (
            J.RUNNING if running else J.QUEUED if n % 20 == 0 else rng.choices(list(ENDINGS), list(ENDINGS.values()))[0]
        )
        ended = state not in (J.RUNNING, J.QUEUED)
        charged = 0 if state in (J.QUEUED, J.RUNNING, J.CANCELLED) else int(worst * rng.uniform(0.2, 1.0))
        used[slot] += charged
        held[slot] += 0 if ended else worst
        started = now - timedelta(minutes=5 + n % 500) if state != J.QUEUED else None
        jobs.append(
            TrainingJob(
                pool=application.pool,
                submitted_by=application.project.owner,
                name=f"run-{n}",
                entrypoint="train.py",
                workers=workers,
                accelerators_per_worker=per_worker,
                max_runtime_seconds=runtime,
                priority=n % 3,
                seed=n,
                repository_url=application.project.repository_url,
                state=state,
                admitted_at=started,
                started_at=started,
                finished_at=now if ended else None,
                reserved_seconds=0 if ended else worst,
                charged_seconds=charged,
                exit_code=(0 if state == J.SUCCEEDED else 1) if ended else None,
            )
        )
    return jobs, used, held


def ledger_of(
    allocations: list[Allocation], jobs: list[TrainingJob], actor: User, moved: dict[int, int] | None = None
) -> list[LedgerEntry]:
    """Each award (what was awarded before the `moved` seconds of later supplements and returns), each run's
    worst case reserved, then charged for what it used and the rest released."""
    moved = moved or {}
    entries = [
        LedgerEntry(allocation=a, kind=K.AWARD, seconds=a.awarded - moved.get(a.pk, 0), actor=actor, memo="award")
        for a in allocations
    ]
    for job in jobs:
        worst = job.workers * job.accelerators_per_worker * job.max_runtime_seconds
        entries.append(LedgerEntry(allocation=job.allocation, kind=K.RESERVE, seconds=worst, job=job))
        if job.state in TrainingJob.TERMINAL_STATES:
            if job.charged_seconds:
                entries.append(
                    LedgerEntry(allocation=job.allocation, kind=K.CHARGE, seconds=job.charged_seconds, job=job)
                )
            if worst > job.charged_seconds:
                entries.append(
                    LedgerEntry(allocation=job.allocation, kind=K.RELEASE, seconds=job.charged_seconds - worst, job=job)
                )
    return entries


def review(
    assignment: ReviewAssignment, criteria: list[RubricCriterion], rng: random.Random
) -> tuple[Review, list[CriterionScore]]:
    scores = {c.pk: rng.randint(1, 5) for c in criteria}
    weighted = sum(c.weight * scores[c.pk] for c in criteria) / sum(c.weight for c in criteria)
    recommendation = "award" if weighted >= 3.5 else "waitlist" if weighted >= 2.5 else "decline"
    made = Review(
        assignment=assignment,
        comment_to_applicant="Clear plan; pin the dependencies.",
        confidential_comment="Solid team.",
        recommendation=recommendation,
        recommended_seconds=int(assignment.application.requested_seconds * rng.choice((0.5, 0.75, 1.0))),
        weighted_score=weighted,
    )
    return made, [CriterionScore(review=made, criterion=c, score=scores[c.pk]) for c in criteria]


def populate(project_count: int, job_count: int, seed: int = 7) -> Cast:
    """The portal's data at one size, bulk-created, allocation balances consistent with their ledger."""
    reset()
    rng, now = random.Random(seed), timezone.now()
    maintainer = people("maintainer", 1, roles.MAINTAINER, is_staff=True)[0]
    reviewer_count = max(10, project_count // PROJECTS_PER_REVIEWER)
    reviewers = people("reviewer", reviewer_count, roles.REVIEWER, affiliation="Review Institute")
    applicants = people("applicant", max(2, project_count // 5), roles.APPLICANT)
    pools = AcceleratorPool.objects.bulk_create(AcceleratorPool(name=n, kind=k, capacity=c) for n, k, c in POOLS)
    projects = make_projects(project_count, applicants[0], applicants[1:])
    calls = make_calls(maintainer, now)
    applications = plan_applications(calls, projects, pools, rng, now)
    awarded = [a for a in applications if a.state == S.AWARDED]
    allocations, jobs = make_awards(awarded, job_count, rng, now)
    movements = after_award_movements(awarded, allocations, jobs)
    spent: Counter[tuple[int, int]] = Counter()  # each call's awards per pool, within its budget there
    for application, allocation in zip(awarded, allocations, strict=True):
        spent[application.call_id, application.pool_id] += allocation.awarded
    budgets = CallPool.objects.bulk_create(
        CallPool(call=c, pool=p, budget_seconds=spent[c.pk, p.pk] + 2000 * HOUR, awarded_seconds=spent[c.pk, p.pk])
        for c in calls
        for p in pools
    )
    make_snapshots([a for a in applications if a.state != S.DRAFT], rng)
    applications = Application.objects.bulk_create(applications, batch_size=2000)
    make_reviews([a for a in applications if a.state in REVIEWED], reviewers, maintainer, rng)
    keep_review_means(Application.objects.all())  # as submit_review keeps them
    jobs = TrainingJob.objects.bulk_create(jobs, batch_size=5000)
    LedgerEntry.objects.bulk_create(
        ledger_of(allocations, jobs, maintainer, {e.allocation.pk: e.seconds for e, _ in movements})
        + [entry for entry, _ in movements],
        batch_size=5000,
    )
    make_budget_ledger(awarded, budgets, movements, maintainer)
    published, report = make_reports(awarded, jobs, projects, applicants[0], now)
    record_history(calls, applications, maintainer)
    with connection.cursor() as cursor:  # runs submitted over the past days, not all at once
        cursor.execute("UPDATE scheduler_trainingjob SET submitted_at = submitted_at - id * interval '1 minute'")
    check_balances()
    call = calls[0]
    reviewed = next(a for a in applications if a.call_id == call.pk and a.state == S.UNDER_REVIEW)
    return Cast(applicants[0], reviewers[0], maintainer, call, reviewed, published, report)


def after_award_movements(
    awarded: list[Application], allocations: list[Allocation], jobs: list[TrainingJob]
) -> list[tuple[LedgerEntry, BudgetEntry.Kind]]:
    """One award in ten gets a supplement of a tenth more, one in ten gives back a tenth of its free hours
    (reclaimed), one in ten half of them (returned at the end); each an allocation ledger entry (unsaved)
    and the budget kind it is on the call's side. The allocations' cached `awarded` moves with them."""
    movements: list[tuple[LedgerEntry, BudgetEntry.Kind]] = []
    for x, (application, allocation) in enumerate(zip(awarded, allocations, strict=True)):
        free = allocation.awarded - allocation.used - allocation.reserved
        if x % 10 == 3:
            seconds, kind, budget_kind = application.requested_seconds // 10, K.TOP_UP, BudgetEntry.Kind.SUPPLEMENT
        elif x % 10 == 7 and free >= 10:
            seconds, kind, budget_kind = -(free // 10), K.RETURN, BudgetEntry.Kind.RECLAIM
        elif x % 10 == 9 and free >= 2:
            seconds, kind, budget_kind = -(free // 2), K.RETURN, BudgetEntry.Kind.RETURN
        else:
            continue
        allocation.awarded += seconds
        movements.append(
            (LedgerEntry(allocation=allocation, kind=kind, seconds=seconds, memo=budget_kind), budget_kind)
        )
    Allocation.objects.bulk_update(allocations, ["awarded"], batch_size=5000)
    return movements


def make_budget_ledger(
    awarded: list[Application],
    budgets: list[CallPool],
    movements: list[tuple[LedgerEntry, BudgetEntry.Kind]],
    maintainer: User,
) -> None:
    """The calls' budget ledgers: each award, then the supplements, reclaims and returns, dated from the
    award over the months since, summing to each budget's cached awarded seconds."""
    budget_of = {(b.call_id, b.pool_id): b for b in budgets}
    supplements = {entry.allocation.pk: entry.seconds for entry, _ in movements if entry.kind == K.TOP_UP}
    given_back = {entry.allocation.pk: -entry.seconds for entry, _ in movements if entry.kind == K.RETURN}
    entries = [
        BudgetEntry(
            call_pool=budget_of[a.call_id, a.pool_id],
            kind=BudgetEntry.Kind.AWARD,
            seconds=a.allocation.awarded - supplements.get(a.allocation.pk, 0) + given_back.get(a.allocation.pk, 0),
            allocation=a.allocation,
            actor=maintainer,
        )
        for a in awarded
        if a.allocation is not None
    ]
    application_of = {a.allocation.pk: a for a in awarded if a.allocation is not None}
    for entry, kind in movements:
        a = application_of[entry.allocation.pk]
        entries.append(
            BudgetEntry(
                call_pool=budget_of[a.call_id, a.pool_id], kind=kind, seconds=entry.seconds, allocation=a.allocation
            )
        )
    BudgetEntry.objects.bulk_create(entries, batch_size=5000)
    with connection.cursor() as cursor:  # the award when it was decided; what followed 45 days on, or now
        cursor.execute(
            "UPDATE portal_budgetentry b SET created = LEAST(now(), a.starts_at + CASE WHEN b.kind = 'award' "
            "THEN interval '0' ELSE interval '45 days' END) FROM scheduler_allocation a WHERE b.allocation_id = a.id"
        )
    assert (
        BudgetEntry.objects.aggregate(s=Sum("seconds"))["s"]
        == CallPool.objects.aggregate(s=Sum("awarded_seconds"))["s"]
    ), "the budget ledgers differ from the budgets"


def make_reports(
    awarded: list[Application], jobs: list[TrainingJob], projects: list[Project], applicant: User, now: datetime
) -> tuple[Project, ProgressReport]:
    """Two reports per award: a 3-month progress report (approved once three months have passed, linking
    up to three runs and releasing the first succeeded one's model) and a final report, due."""
    runs_of: dict[int, list[TrainingJob]] = defaultdict(list)
    for job in jobs:
        runs_of[job.allocation.pk].append(job)
    reports: list[ProgressReport] = []
    links: list[tuple[ProgressReport, list[TrainingJob], TrainingJob | None]] = []
    for a in awarded:
        allocation = a.allocation
        assert allocation is not None
        due = allocation.starts_at + timedelta(days=91)
        approved = due < now
        ended = [j for j in runs_of[allocation.pk] if j.state == J.SUCCEEDED]
        progress = ProgressReport(
            allocation=allocation,
            kind=ProgressReport.Kind.PROGRESS,
            months_after_award=3,
            due_at=due,
            state=ProgressReport.State.APPROVED if approved else ProgressReport.State.DUE,
            work_done="Trained the model across two workers." if approved else "",
            submitted_at=due - timedelta(days=2) if approved else None,
            submitted_by=a.project.owner if approved else None,
            decided_at=due if approved else None,
        )
        final = ProgressReport(allocation=allocation, kind=ProgressReport.Kind.FINAL, due_at=allocation.expires_at)
        reports += [progress, final]
        if approved:
            links.append((progress, runs_of[allocation.pk][:3], ended[0] if ended else None))
    ProgressReport.objects.bulk_create(reports, batch_size=5000)
    ProgressReport.runs.through.objects.bulk_create(
        (ProgressReport.runs.through(progressreport_id=r.pk, trainingjob_id=j.pk) for r, ran, _ in links for j in ran),
        batch_size=5000,
    )
    released = [(r, model) for r, _, model in links if model is not None]
    ProgressReport.released_models.through.objects.bulk_create(
        (ProgressReport.released_models.through(progressreport_id=r.pk, trainingjob_id=m.pk) for r, m in released),
        batch_size=5000,
    )
    # The applicant's report still to write, on an award with a run that exported a SavedModel (so the form
    # offers a model to release) at both sizes: the same page shape, so that the query counts compare.
    writable = [r for r in reports if r.is_open and r.allocation.project.owner_id == applicant.pk]
    open_report, exported = next((r, j) for r in writable for j in runs_of[r.allocation.pk] if j.state == J.SUCCEEDED)
    with connection.cursor() as cursor:  # each released model, and that one, with its SavedModel fingerprint
        cursor.execute(
            "UPDATE scheduler_trainingjob SET model_summary = jsonb_build_object('fingerprint', "
            "jsonb_build_object('saved_model_checksum', (1000000 + id)::text)) WHERE id = ANY(%s)",
            [[m.pk for _, m in released] + [exported.pk]],
        )
    with_model = {r.allocation.project_id for r, _ in released}
    public = [p for i, p in enumerate(projects) if i % 5 == 0]
    published = next((p for p in public if p.pk in with_model), None) or next(p for p in projects if p.pk in with_model)
    Project.objects.filter(pk__in=[p.pk for p in [*public, published]]).update(public_page=True)
    return published, open_report


def make_projects(count: int, heavy: User, others: list[User]) -> list[Project]:
    """`heavy` owns one project in ten and is a member of one in twenty more; the others own the rest."""
    projects = Project.objects.bulk_create(
        Project(
            name=f"Project {i:04d}",
            slug=f"project-{i:04d}",
            owner=heavy if i % 10 == 0 else others[i % len(others)],
            organisation=f"Lab {i % 37}",
            repository_url=f"https://github.com/bench/project-{i:04d}",
            licence="Apache-2.0",
        )
        for i in range(count)
    )
    Project.members.through.objects.bulk_create(
        Project.members.through(project_id=p.pk, user_id=heavy.pk) for i, p in enumerate(projects) if i % 20 == 5
    )
    return projects


def plan_applications(
    calls: list[Call], projects: list[Project], pools: list[AcceleratorPool], rng: random.Random, now: datetime
) -> list[Application]:
    """Every project applies to every call (unsaved), in the states of APPLICATION_STATES."""
    states, weights = list(APPLICATION_STATES), list(APPLICATION_STATES.values())
    applications = []
    for k, call in enumerate(calls):
        for i, project in enumerate(projects):
            state = rng.choices(states, weights)[0]
            applications.append(
                Application(
                    call=call,
                    project=project,
                    pool=pools[(i + k) % len(pools)],
                    requested_seconds=(50 + rng.randrange(350)) * HOUR,
                    justification="Train and publish the model.",
                    entrypoint="python train.py",
                    workers=2,
                    state=state,
                    submitted_at=None if state == S.DRAFT else call.opens_at + timedelta(minutes=i + 1),
                    decided_at=min(call.closes_at + timedelta(days=3), now) if state in DECIDED else None,
                    decision_message="Thank you." if state in DECIDED else "",
                )
            )
    return applications


def make_awards(
    awarded: list[Application], job_count: int, rng: random.Random, now: datetime
) -> tuple[list[Allocation], list[TrainingJob]]:
    """An allocation per awarded application, large enough for the runs planned on it (returned unsaved)."""
    jobs, used, held = plan_jobs(awarded, job_count, rng, now)
    allocations = Allocation.objects.bulk_create(
        Allocation(
            project=a.project,
            pool=a.pool,
            awarded=max(a.requested_seconds, math.ceil((used[x] + held[x]) * 1.25)),
            reserved=held[x],
            used=used[x],
            decayed_usage=float(used[x]),
            decayed_usage_at=now,
            starts_at=a.decided_at or now,
            expires_at=(a.decided_at or now) + timedelta(days=365),
        )
        for x, a in enumerate(awarded)
    )
    for application, allocation in zip(awarded, allocations, strict=True):
        application.allocation = allocation
    for n, job in enumerate(jobs):  # plan_jobs gave run n to award n % len(awarded)
        job.allocation = allocations[n % len(awarded)]
    return allocations, jobs


def make_snapshots(submitted: list[Application], rng: random.Random) -> None:
    """A snapshot of each submitted application's repository; nine in ten are scored."""
    snapshots = Snapshot.objects.bulk_create(
        Snapshot(
            kind=Snapshot.Kind.GIT,
            source=a.project.repository_url,
            ref="main",
            commit=f"{rng.getrandbits(160):040x}",
            status=Snapshot.Status.DONE if rng.random() < 0.9 else Snapshot.Status.SCORING,
            requested_by=a.project.owner,
        )
        for a in submitted
    )
    reports = []
    for application, snapshot in zip(submitted, snapshots, strict=True):
        application.snapshot = snapshot
        if snapshot.status == Snapshot.Status.DONE:
            score = round(rng.uniform(10, 100), 1)
            checks = [{"name": c, "status": rng.choice(("pass", "fail", "partial")), "weight": 2} for c in CHECKS]
            results = {"checks": checks}
            reports.append(
                Report(snapshot=snapshot, checker_version="1", score=score, level=level_of(score), results=results)
            )
    Report.objects.bulk_create(reports)


def make_reviews(reviewed: list[Application], reviewers: list[User], maintainer: User, rng: random.Random) -> None:
    """Two reviewers per application (the second still at work while it is under review), and now
    and then a third who declined."""
    assignments = []
    for j, application in enumerate(reviewed):
        first = j % len(reviewers)
        second = (first + 1 + j // len(reviewers) % (len(reviewers) - 1)) % len(reviewers)
        done = application.state != S.UNDER_REVIEW
        assignments += [
            ReviewAssignment(
                application=application, reviewer=reviewers[first], state="submitted", assigned_by=maintainer
            ),
            ReviewAssignment(
                application=application,
                reviewer=reviewers[second],
                state="submitted" if done else "assigned",
                assigned_by=maintainer,
            ),
        ]
        if j % 25 == 0:
            third = next(r for r in range(len(reviewers)) if r not in (first, second))
            assignments.append(
                ReviewAssignment(application=application, reviewer=reviewers[third], state="declined", reason="Away.")
            )
    criteria: dict[int, list[RubricCriterion]] = defaultdict(list)
    for criterion in RubricCriterion.objects.order_by("position"):
        criteria[criterion.call_id].append(criterion)
    reviews, scores = [], []
    for assignment in ReviewAssignment.objects.bulk_create(assignments, batch_size=5000):
        if assignment.state == "submitted":
            made, its_scores = review(assignment, criteria[assignment.application.call_id], rng)
            reviews.append(made)
            scores += its_scores
    Review.objects.bulk_create(reviews, batch_size=5000)
    CriterionScore.objects.bulk_create(scores, batch_size=5000)


def record_history(calls: list[Call], applications: list[Application], maintainer: User) -> None:
    """The audit log: each call opened, each application submitted, under review and decided."""
    types = ContentType.objects.get_for_models(Call, Application)
    entries = [
        AuditEntry(
            actor=maintainer, verb="call.opened", target_type=types[Call], target_id=c.pk, target_repr=str(c), call=c
        )
        for c in calls
    ]
    reached: dict[str, tuple[str, ...]] = {
        S.DRAFT: (),
        S.SUBMITTED: (S.SUBMITTED,),
        S.UNDER_REVIEW: (S.SUBMITTED, S.UNDER_REVIEW),
    }
    for a in applications:
        steps = reached.get(a.state, (S.SUBMITTED, S.UNDER_REVIEW, a.state))
        previous: str = S.DRAFT
        for step in steps:
            actor = a.project.owner if step == S.SUBMITTED else maintainer if step in DECIDED else None
            target = f"{a.project.name} → {a.call.title}"
            entries.append(
                AuditEntry(
                    actor=actor,
                    verb=f"application.{step}",
                    target_type=types[Application],
                    target_id=a.pk,
                    target_repr=target,
                    from_state=previous,
                    to_state=step,
                    call_id=a.call_id,
                )
            )
            previous = step
    AuditEntry.objects.bulk_create(entries, batch_size=5000)


def check_balances() -> None:
    """The cached balances of every allocation equal those replayed from its ledger (as quota.ledger_balances)."""
    ledger = LedgerEntry.objects.values("allocation_id").annotate(
        awarded=Sum("seconds", filter=Q(kind__in=[K.AWARD, K.TOP_UP, K.REVOKE, K.ADJUST, K.RETURN]), default=0),
        held=Sum("seconds", filter=Q(kind__in=[K.RESERVE, K.RELEASE]), default=0),
        used=Sum("seconds", filter=Q(kind=K.CHARGE), default=0),
    )
    replayed = {row["allocation_id"]: (row["awarded"], row["held"] - row["used"], row["used"]) for row in ledger}
    cached = {pk: (a, r, u) for pk, a, r, u in Allocation.objects.values_list("pk", "awarded", "reserved", "used")}
    assert replayed == cached, "allocation balances differ from their ledger"


# --- measuring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    p50_ms: float
    p95_ms: float
    queries: int
    repeated: int  # how often the most repeated query ran within the request
    repeated_sql: str
    slowest_ms: float  # the request's slowest query
    slowest_sql: str


def pattern(sql: str) -> str:
    """The query with its literal values taken out, so the same query for another row looks the same."""
    sql = re.sub(r"'(?:[^']|'')*'", "?", sql)
    sql = re.sub(r"\b\d+(?:\.\d+)?\b", "?", sql)
    return re.sub(r"\((?:\?, )*\?\)", "(…)", sql)


def answered(response: HttpResponseBase, name: str, path: str) -> None:
    if response.status_code != 200:
        raise SystemExit(f"{name}: GET {path} answered {response.status_code}, not 200")


def fetch(client: Client, path: str) -> HttpResponseBase:
    """A whole response: a streamed one (the CSV downloads) does its work as its body is read."""
    response = client.get(path)
    if response.streaming:
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
    return response


def queries_of(name: str, client: Client, path: str) -> list[dict[str, str]]:
    """The SQL one request runs, after a warm-up request (caches, compiled templates)."""
    answered(fetch(client, path), name, path)
    with CaptureQueriesContext(connection) as captured:
        answered(fetch(client, path), name, path)
    return list(captured)  # now: the next request clears the connection's log


REFERENCE = "reference"  # timed beside the pages; not a page
REFERENCE_TEMPLATE = Template("{% for i in items %}<tr><td>{{ i }}</td><td>{{ i|floatformat:2 }}</td></tr>{% endfor %}")


def reference_work() -> None:
    """A fixed piece of Django work with no database: its time tells how fast the machine was during
    the run (shared virtual machines vary by half from one hour to the next)."""
    REFERENCE_TEMPLATE.render(TemplateContext({"items": range(400)}))


def timings_of(pages: dict[str, tuple[Client, str]], requests: int) -> dict[str, list[float]]:
    """Milliseconds per request of each page, the pages taken in turn `requests` times over, so that
    a moment when the machine is slow falls on every page a little rather than on one page wholly;
    and, under REFERENCE, the time of `reference_work` once per turn."""
    timings: dict[str, list[float]] = defaultdict(list)
    for _ in range(requests):
        for name, (client, path) in pages.items():
            started = time.perf_counter()
            response = fetch(client, path)
            timings[name].append((time.perf_counter() - started) * 1000)
            answered(response, name, path)
        started = time.perf_counter()
        reference_work()
        timings[REFERENCE].append((time.perf_counter() - started) * 1000)
    return timings


def figures_of(queries: list[dict[str, str]], timings: list[float]) -> Figures:
    patterns = Counter(pattern(query["sql"]) for query in queries)
    slowest = max(queries, key=lambda query: float(query["time"]), default={"sql": "", "time": "0"})
    sql, repeated = patterns.most_common(1)[0] if patterns else ("", 0)
    p95 = statistics.quantiles(timings, n=20, method="inclusive")[-1]
    return Figures(
        round(statistics.median(timings), 1),
        round(p95, 1),
        len(queries),
        repeated,
        sql,
        float(slowest["time"]) * 1000,
        slowest["sql"],
    )


def pages(cast: Cast) -> dict[str, tuple[Client, str]]:
    """The pages measured: name -> (a client signed in as the page's user, path)."""
    clients: dict[int, Client] = {}
    for user in (cast.applicant, cast.reviewer, cast.maintainer):
        clients[user.pk] = Client()
        clients[user.pk].force_login(user, backend="django.contrib.auth.backends.ModelBackend")

    def api(user: User) -> Client:
        return Client(headers={"authorization": f"Token {Token.objects.create(user=user).key}"})

    applicant, reviewer, maintainer = clients[cast.applicant.pk], clients[cast.reviewer.pk], clients[cast.maintainer.pk]
    api_maintainer, api_applicant = api(cast.maintainer), api(cast.applicant)
    call = cast.call.pk
    return {
        "applicant_dashboard": (applicant, reverse("portal:home")),
        "applicant_projects": (applicant, reverse("portal:project_list")),
        "applicant_jobs": (applicant, reverse("scheduler:job_list")),
        "reviewer_dashboard": (reviewer, reverse("portal:home")),
        "reviewer_queue": (reviewer, reverse("portal:review_queue")),
        "maintainer_dashboard": (maintainer, reverse("portal:home")),
        "call_list": (maintainer, reverse("portal:call_list")),
        "call_dashboard": (maintainer, reverse("portal:call_dashboard", args=[call])),
        "call_dashboard_page_3": (maintainer, reverse("portal:call_dashboard", args=[call]) + "?page=3"),
        "call_audit": (maintainer, reverse("portal:call_audit", args=[call])),
        "application_reviews": (maintainer, reverse("portal:application_reviews", args=[cast.application.pk])),
        "allocations": (maintainer, reverse("scheduler:allocation_list")),
        "queue": (maintainer, reverse("scheduler:queue")),
        "pools": (maintainer, reverse("scheduler:pool_list")),
        "jobs": (maintainer, reverse("scheduler:job_list")),
        "api_applications": (api_maintainer, "/api/v1/applications/"),
        "api_applications_applicant": (api_applicant, "/api/v1/applications/"),
        "api_allocations": (api_maintainer, "/api/v1/allocations/"),
        "api_jobs": (api_maintainer, "/api/v1/jobs/"),
        "api_jobs_applicant": (api_applicant, "/api/v1/jobs/"),
        # After the award (issue 17).
        "program_view": (maintainer, reverse("portal:program_view")),
        "program_view_call": (maintainer, reverse("portal:program_view") + f"?call={call}"),
        "program_hours_csv": (maintainer, reverse("portal:program_hours_csv")),
        "program_decisions_csv": (maintainer, reverse("portal:program_decisions_csv")),
        "program_reviewers_csv": (maintainer, reverse("portal:program_reviewers_csv")),
        "public_project": (Client(), reverse("portal:public_project", args=[cast.public_project.pk])),
        "report_form": (applicant, reverse("portal:report_detail", args=[cast.report.pk])),
    }


def run_size(label: str, project_count: int, job_count: int, requests: int) -> tuple[dict[str, Figures], float]:
    """Each page's figures at one size, and the median time of the reference work meanwhile."""
    started = time.perf_counter()
    with transaction.atomic():
        cast = populate(project_count, job_count)
    print(
        f"{label}: {project_count} projects, {Application.objects.count()} applications, "
        f"{ReviewAssignment.objects.count()} assignments, {Review.objects.count()} reviews, "
        f"{Allocation.objects.count()} allocations, {TrainingJob.objects.count()} jobs, "
        f"{LedgerEntry.objects.count()} ledger entries: made in {time.perf_counter() - started:.1f} s"
    )
    with connection.cursor() as cursor:
        # Statistics and visibility maps as autovacuum keeps them in a long-lived database (index-only
        # scans need the latter: the counts of a list page read the heap of every row without it).
        cursor.execute("VACUUM ANALYZE")
    measured = pages(cast)
    queries = {name: queries_of(name, client, path) for name, (client, path) in measured.items()}
    freeze_startup_heap()  # as config/wsgi.py does once the web process has started
    timings = timings_of(measured, requests)
    results = {}
    for name in measured:
        figures = results[name] = figures_of(queries[name], timings[name])
        print(f"  {name:28} p50 {figures.p50_ms:7.1f} ms  p95 {figures.p95_ms:7.1f} ms  {figures.queries:3} queries")
    reference = statistics.median(timings[REFERENCE])
    print(f"  machine reference (fixed template render, no database): {reference:.1f} ms")
    return results, reference


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--projects", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--small-fraction", type=float, default=0.1, help="size of the comparison data set")
    parser.add_argument("--requests", type=int, default=40, help="timed requests per page")
    parser.add_argument("--quick", action="store_true", help="5 timed requests per page")
    parser.add_argument("--keep", action="store_true", help="leave the large data set in the database")
    options = parser.parse_args()
    requests = 5 if options.quick else max(options.requests, 2)

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    small, _ = run_size(
        "small",
        max(20, round(options.projects * options.small_fraction)),
        max(50, round(options.jobs * options.small_fraction)),
        requests,
    )
    large, reference = run_size("large", options.projects, options.jobs, requests)
    applications, jobs = Application.objects.count(), TrainingJob.objects.count()
    if not options.keep:
        reset()

    print(f"{'page':28} {'queries small -> large':>22} {'p95 large/small':>16}")
    figures: dict[str, dict[str, float | int]] = {}
    for name, big in large.items():
        ratio = big.p95_ms / max(small[name].p95_ms, 0.1)
        grows = "  <- differs with the data size (N+1?)" if big.queries != small[name].queries else ""
        print(f"{name:28} {small[name].queries:>12} -> {big.queries:<7} {ratio:>14.2f}x{grows}")
        figures[name] = {
            "p50_ms": big.p50_ms,
            "p95_ms": big.p95_ms,
            "queries": big.queries,
            "queries_small": small[name].queries,
            "p95_ratio_vs_small": round(ratio, 2),
            "p95_per_reference": round(big.p95_ms / reference, 2),
        }
    for name, big in large.items():
        if big.repeated >= 3:
            print(f"repeated in {name}: x{big.repeated} {big.repeated_sql[:160]}")
    for name, big in sorted(large.items(), key=lambda item: -item[1].p95_ms)[:5]:
        print(f"slowest query of {name}: {big.slowest_ms:.1f} ms {big.slowest_sql[:160]}")
    over = [name for name, big in large.items() if big.p95_ms >= GOAL_P95_MS]
    growing = [name for name, big in large.items() if big.queries != small[name].queries]
    print(f"goal p95 under {GOAL_P95_MS} ms: {'met on every page' if not over else 'NOT met on ' + ', '.join(over)}")
    print(f"goal query counts independent of size: {'met' if not growing else 'NOT met on ' + ', '.join(growing)}")
    print(f"total runtime: {time.perf_counter() - started:.0f} s")
    print(
        json.dumps(
            {
                "benchmark": "pages",
                "projects": options.projects,
                "applications": applications,
                "jobs": jobs,
                "goal_p95_ms": GOAL_P95_MS,
                "reference_ms": round(reference, 2),
                "pages_over_goal": over,
                "pages_with_growing_queries": growing,
                "pages": figures,
            }
        )
    )


if __name__ == "__main__":
    main()
