"""Demo data for a fresh install (`manage.py seed_demo`): idempotent, safe to run twice.

Each app adds its own seeder to SEEDERS (dotted paths, run in order); a seeder takes the
people created first and returns lines to print.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from portal.access import roles
from portal.models import User


@dataclass(frozen=True)
class DemoPerson:
    username: str
    password: str
    role: str
    first_name: str
    last_name: str
    affiliation: str


DEMO_PEOPLE = (
    DemoPerson("applicant", "applicant-demo-pass", roles.APPLICANT, "Ada", "Applicant", "Open Digits Lab"),
    DemoPerson("reviewer", "reviewer-demo-pass", roles.REVIEWER, "Rosa", "Reviewer", "Review Institute"),
    DemoPerson("reviewer2", "reviewer-demo-pass", roles.REVIEWER, "Tomas", "Second", "Systems Lab"),
    # Works where the applicant works: assignment must skip them.
    DemoPerson("reviewer3", "reviewer-demo-pass", roles.REVIEWER, "Carla", "Conflicted", "Open Digits Lab"),
    DemoPerson("maintainer", "maintainer-demo-pass", roles.MAINTAINER, "Max", "Maintainer", "ComputeGrant"),
)

SEEDERS: list[str] = [
    "portal.demo.seeders.seed_people",
    "scheduler.demo.seed_pools",
    "portal.demo.seeders.seed_call",
    "portal.demo.story.seed_applications",
    "portal.demo.seeders.seed_verification",
    "scheduler.demo.seed_runs",
]

DEMO_CALL_TITLE = "Open compute for open AI, 2027"
DEMO_CALL_BUDGETS = {"nvidia-v100": 2000, "tpu-v4-8": 500}  # accelerator-hours
# Each submitted demo application is verified on the CPU pool: 5 minutes, 2 workers and a repeat
# (40 accelerator-minutes at worst), from a budget of 20 accelerator-hours.
DEMO_VERIFICATION_POOL, DEMO_VERIFICATION_HOURS, DEMO_VERIFICATION_MINUTES = "cpu-verify", 20, 5


@transaction.atomic
def seed_people() -> list[str]:
    lines = []
    for person in DEMO_PEOPLE:
        user, created = User.objects.get_or_create(
            username=person.username,
            defaults={
                "email": f"{person.username}@example.org",
                "first_name": person.first_name,
                "last_name": person.last_name,
                "affiliation": person.affiliation,
            },
        )
        if created:
            user.set_password(person.password)
            user.save()
        roles.assign_role(user, person.role)
        lines.append(f"{person.role:<11} username={person.username}  password={person.password}")
    return lines


@transaction.atomic
def seed_call() -> list[str]:
    """An open call offering both demo pools, with the default rubric."""
    from portal.models import Call
    from portal.services.calls import open_call
    from scheduler.models import AcceleratorPool

    if not Call.objects.filter(title=DEMO_CALL_TITLE).exists():
        now = timezone.now()
        pools = AcceleratorPool.objects.in_bulk(list(DEMO_CALL_BUDGETS), field_name="name")
        open_call(
            title=DEMO_CALL_TITLE,
            description="Accelerator-hours for open-source TensorFlow projects that others can reproduce.",
            opens_at=now - timedelta(days=1),
            closes_at=now + timedelta(days=90),
            budgets=[(pools[name], hours * 3600) for name, hours in DEMO_CALL_BUDGETS.items()],
            actor=User.objects.filter(username="maintainer").first(),
        )
    return [
        f"call        {DEMO_CALL_TITLE!r}, open for 90 days: "
        + ", ".join(f"{hours} h of {name}" for name, hours in DEMO_CALL_BUDGETS.items())
    ]


@transaction.atomic
def seed_verification() -> list[str]:
    """The demo call's verification policy, set after the story: the applications submitted from
    then on (the Handwriting GAN draft, once submitted) are verified by the worker of `make run`,
    without the story's own applications all training at once on first start. A policy already set
    is kept."""
    from portal.models import Call, VerificationPolicy
    from portal.services.verification import set_policy
    from scheduler.models import AcceleratorPool

    call = Call.objects.filter(title=DEMO_CALL_TITLE).first()
    pool = AcceleratorPool.objects.filter(name=DEMO_VERIFICATION_POOL).first()
    if call is None or pool is None:
        return []
    if not VerificationPolicy.objects.filter(call=call).exists():
        set_policy(
            call,
            pool=pool,
            budget_hours=DEMO_VERIFICATION_HOURS,
            minutes=DEMO_VERIFICATION_MINUTES,
            workers=2,
            repeat=True,
        )
    return [f"verifying   applications submitted from now on, on {pool} ({DEMO_VERIFICATION_MINUTES} min, a repeat)"]


def seed_demo() -> list[str]:
    """Create (or leave as they are) the demo people, pools, call, applications and runs."""
    lines: list[str] = []
    for dotted in SEEDERS:
        seeder: Callable[[], list[str]] = import_string(dotted)
        # Each seeder keeps its own transactions: the runs' seeder trains outside any, on the
        # applications committed before it.
        lines.extend(seeder())
    return lines
