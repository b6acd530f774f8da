"""The three roles of the portal, kept as Django groups."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group

APPLICANT = "applicant"
REVIEWER = "reviewer"
MAINTAINER = "maintainer"
ROLES = (APPLICANT, REVIEWER, MAINTAINER)


def role_names(user: AbstractBaseUser | AnonymousUser) -> set[str]:
    """The roles of a user, cached on the instance for the request."""
    if not user.is_authenticated:
        return set()
    cached = getattr(user, "_role_names", None)
    if cached is None:
        cached = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))  # type: ignore[attr-defined]
        if user.is_superuser:  # type: ignore[attr-defined]
            cached.add(MAINTAINER)
        user._role_names = cached  # type: ignore[union-attr,attr-defined]
    return cached


def has_role(user: AbstractBaseUser | AnonymousUser, role: str) -> bool:
    return role in role_names(user)


def is_applicant(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, APPLICANT)


def is_reviewer(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, REVIEWER)


def is_maintainer(user: AbstractBaseUser | AnonymousUser) -> bool:
    return has_role(user, MAINTAINER)


def assign_role(user: Any, role: str) -> None:
    """Put a user in a role; maintainers also get the admin site (is_staff)."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    # get_or_create: a flushed database (transactional tests) has lost the migration's groups.
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    if role == MAINTAINER and not user.is_staff:
        user.is_staff = True
        user.save(update_fields=["is_staff"])
    user.__dict__.pop("_role_names", None)
