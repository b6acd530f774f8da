"""The navigation bar: which entries each role sees.

Each app lists its own entries in `<app>/navigation.py` as `NAV_ITEMS`: tuples of
(label, URL name, roles that see it — empty for every signed-in user). Plain tuples, so that
apps need not import the portal to appear in its navigation.
"""

from __future__ import annotations

from functools import cache
from importlib import import_module
from importlib.util import find_spec
from typing import Any

from django.urls import reverse

from portal.access import roles

NavEntry = tuple[str, str, frozenset[str]]

NAV_ITEMS: list[NavEntry] = [
    ("Dashboard", "portal:home", frozenset()),
    ("Projects", "portal:project_list", frozenset({roles.APPLICANT})),
    ("Calls", "portal:open_calls", frozenset({roles.APPLICANT})),
    ("Reviews", "portal:review_queue", frozenset({roles.REVIEWER})),
    ("Manage calls", "portal:call_list", frozenset({roles.MAINTAINER})),
    ("Repository changes", "portal:repository_change_list", frozenset({roles.MAINTAINER})),
]
# Last in the bar, after every app's entries.
TRAILING_ITEMS: list[NavEntry] = [
    ("Admin", "admin:index", frozenset({roles.MAINTAINER})),
]
APPS_WITH_NAVIGATION = ("scheduler", "reproducibility")


@cache
def all_entries() -> tuple[NavEntry, ...]:
    entries = list(NAV_ITEMS)
    for app in APPS_WITH_NAVIGATION:
        if find_spec(f"{app}.navigation") is not None:
            entries.extend(import_module(f"{app}.navigation").NAV_ITEMS)
    return (*entries, *TRAILING_ITEMS)


def items_for(user: Any) -> list[dict[str, str]]:
    if not user.is_authenticated:
        return []
    user_roles = roles.role_names(user)
    return [
        {"label": label, "url": reverse(url_name)}
        for label, url_name, allowed in all_entries()
        if not allowed or set(allowed) & user_roles
    ]
