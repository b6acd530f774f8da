"""The page django-axes shows when sign-in is paused after repeated failures (AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

from typing import Any

from axes.helpers import get_client_username, get_cool_off
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from config.signin_throttle import address_is_paused


def locked_out(request: HttpRequest, response: HttpResponse | None = None, credentials: Any = None) -> HttpResponse:
    """429 with when to try again: each attempt during the pause restarts it, so it ends one cool-off from now."""
    cool_off = get_cool_off(request)
    context = {
        "username": get_client_username(request, credentials) or "",
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        # Paused for the whole address (many usernames failed from it), not only for this username.
        "address_paused": address_is_paused(request),
        "address_username_limit": settings.CG_SIGNIN_ADDRESS_USERNAME_LIMIT,
        "cool_off_minutes": round(cool_off.total_seconds() / 60) if cool_off else None,
        "retry_at": timezone.now() + cool_off if cool_off else None,
    }
    page = render(request, "registration/locked_out.html", context, status=429)
    if cool_off:
        page["Retry-After"] = str(int(cool_off.total_seconds()))
    return page
