"""Sign-in throttling per address across usernames, on top of django-axes' per (username, address) pause.

axes pauses a username from an address after AXES_FAILURE_LIMIT failures, so one wrong password on
each of many usernames (password spraying) is never paused. This handler also pauses an address once
failures from it name CG_SIGNIN_ADDRESS_USERNAME_LIMIT different usernames within the cool-off:
distinct usernames, so someone retrying their own account counts once, not once per try.
"""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.http import HttpRequest


def failed_usernames(ip_address: str, request: HttpRequest) -> int:
    """How many different usernames failed to sign in from `ip_address` within the cool-off."""
    recent = AccessAttempt.objects.filter(ip_address=ip_address, attempt_time__gte=get_cool_off_threshold(request))
    return recent.values("username").distinct().count()


def address_is_paused(request: HttpRequest) -> bool:
    """Whether sign-in from the request's address is paused, whatever the username."""
    ip_address = getattr(request, "axes_ip_address", None)
    if not ip_address:
        return False
    return failed_usernames(ip_address, request) >= settings.CG_SIGNIN_ADDRESS_USERNAME_LIMIT


class AddressAwareHandler(AxesDatabaseHandler):
    """axes' database handler (AXES_HANDLER), also refusing an address paused by `address_is_paused`."""

    def is_locked(self, request: Any, credentials: dict[str, Any] | None = None) -> bool:
        return bool(super().is_locked(request, credentials)) or address_is_paused(request)

    def user_login_failed(self, sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        # axes flags the failure that reaches its own limit; flag the one that reaches the address's.
        if request is None or getattr(request, "axes_locked_out", False) or not address_is_paused(request):
            return
        request.axes_locked_out = True
        request.axes_credentials = credentials
        username = get_client_username(request, credentials)
        user_locked_out.send("axes", request=request, username=username, ip_address=request.axes_ip_address)
