"""Template context shared by every page."""

from typing import Any

from django.http import HttpRequest

from portal import navigation
from portal.access import roles


def portal_context(request: HttpRequest) -> dict[str, Any]:
    """The user's roles and the navigation entries for them."""
    return {
        "user_roles": roles.role_names(request.user),
        "nav_items": navigation.items_for(request.user),
    }
