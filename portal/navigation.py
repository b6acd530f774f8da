"""The navigation bar: which entries each role sees. Apps add their pages here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import reverse

from portal import roles


@dataclass(frozen=True)
class NavItem:
    label: str
    url_name: str
    roles: frozenset[str]  # empty: every signed-in user


NAV_ITEMS: list[NavItem] = [
    NavItem("Dashboard", "portal:home", frozenset()),
    NavItem("Admin", "admin:index", frozenset({roles.MAINTAINER})),
]


def items_for(user: Any) -> list[dict[str, str]]:
    if not user.is_authenticated:
        return []
    user_roles = roles.role_names(user)
    return [
        {"label": item.label, "url": reverse(item.url_name)}
        for item in NAV_ITEMS
        if not item.roles or item.roles & user_roles
    ]
