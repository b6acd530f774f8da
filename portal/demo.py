"""Demo data for a fresh install (`manage.py seed_demo`): idempotent, safe to run twice.

Each app adds its own seeder to SEEDERS (dotted paths, run in order); a seeder takes the
people created first and returns lines to print.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import transaction
from django.utils.module_loading import import_string

from portal import roles
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
    DemoPerson("maintainer", "maintainer-demo-pass", roles.MAINTAINER, "Max", "Maintainer", "ComputeGrant"),
)

SEEDERS: list[str] = [
    "portal.demo.seed_people",
    "scheduler.demo.seed_pools",
]


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
def seed_demo() -> list[str]:
    """Create (or leave as they are) the demo people, pools, call and allocations."""
    lines: list[str] = []
    for dotted in SEEDERS:
        seeder: Callable[[], list[str]] = import_string(dotted)
        lines.extend(seeder())
    return lines
