"""Checks of the operators' commands' inputs, each refusal naming the argument or option it is about."""

from __future__ import annotations

import math

from django.core.management.base import CommandError

from portal.models import User
from scheduler.quota import hours


def positive_hours(value: float, name: str = "hours") -> int:
    """Accelerator-hours given on the command line, as accelerator-seconds; refuses 0, negatives, nan and inf."""
    if not (math.isfinite(value) and value > 0):
        raise CommandError(f"{name} must be a positive number of accelerator-hours, got {hours(value * 3600)}.")
    return round(value * 3600)


def at_least(value: int, minimum: int, option: str) -> int:
    if value < minimum:
        raise CommandError(f"{option} must be at least {minimum}, got {value}.")
    return value


def actor_named(username: str | None) -> User | None:
    """The --actor account, or None when the option was not given."""
    if not username:
        return None
    actor = User.objects.filter(username=username).first()
    if actor is None:
        raise CommandError(f"--actor: no account is named {username!r}.")
    return actor
