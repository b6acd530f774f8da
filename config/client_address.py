"""The address a request came from, for throttling sign-in attempts per client, and a warning when a
proxy nobody declared seems to stand in front of the portal."""

from __future__ import annotations

import ipaddress
import logging
import threading
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


def client_address(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or behind CG_TRUSTED_PROXY_COUNT proxies the address the outermost one saw.

    Each proxy appends the address it received the request from to X-Forwarded-For, so with N
    proxies the Nth entry from the right is the client as the first proxy saw it; entries further
    left came from the client and could be anything.
    """
    remote = request.META.get("REMOTE_ADDR")
    count = settings.CG_TRUSTED_PROXY_COUNT
    if not count:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return remote  # the request did not come through every proxy
    candidate = forwarded[-count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote


# Headers a reverse proxy adds. Seen while CG_TRUSTED_PROXY_COUNT is 0, they mean the portal probably
# runs behind a proxy it was not told about: every client then has the proxy's address, and one
# person's failed sign-ins pause that username for everyone.
PROXY_HEADERS = {
    "HTTP_X_FORWARDED_FOR": "X-Forwarded-For",
    "HTTP_X_REAL_IP": "X-Real-IP",
    "HTTP_FORWARDED": "Forwarded",
    "HTTP_X_FORWARDED_PROTO": "X-Forwarded-Proto",
}
_proxy_headers_seen = False
_watch_lock = threading.Lock()
logger = logging.getLogger(__name__)


def forget_proxy_headers_seen() -> None:
    """Warn again on the next proxy header (tests)."""
    global _proxy_headers_seen
    with _watch_lock:
        _proxy_headers_seen = False


def warn_of_an_untrusted_proxy(request: HttpRequest) -> None:
    """Log once per process that proxy headers arrive while CG_TRUSTED_PROXY_COUNT is 0."""
    global _proxy_headers_seen
    if _proxy_headers_seen or settings.CG_TRUSTED_PROXY_COUNT:
        return
    names = [name for key, name in PROXY_HEADERS.items() if key in request.META]
    if not names:
        return
    with _watch_lock:
        if _proxy_headers_seen:
            return
        _proxy_headers_seen = True
    logger.warning(
        "A request came with %s, but CG_TRUSTED_PROXY_COUNT is 0: the portal counts sign-in failures by "
        "the address that connected (%s), so behind a proxy every client shares one address and one "
        "person's failures pause a username for everyone. Set CG_TRUSTED_PROXY_COUNT to the number of "
        "proxies that append to X-Forwarded-For. (Logged once per process.)",
        ", ".join(names),
        request.META.get("REMOTE_ADDR"),
    )


def watch_for_an_untrusted_proxy(
    get_response: Callable[[HttpRequest], HttpResponse],
) -> Callable[[HttpRequest], HttpResponse]:
    """Middleware: `warn_of_an_untrusted_proxy` on every request (a flag test once it has warned)."""

    def middleware(request: HttpRequest) -> HttpResponse:
        warn_of_an_untrusted_proxy(request)
        return get_response(request)

    return middleware
