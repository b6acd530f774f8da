"""Middleware of the portal's own."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from portal.views.health import healthz


def answer_health_checks(get_response: Callable[[HttpRequest], HttpResponse]) -> Callable[[HttpRequest], HttpResponse]:
    """Answer /healthz before any other middleware reads the Host header.

    Probes (compose, Kubernetes, load balancers) call the container's own address, which is not
    in ALLOWED_HOSTS in production; host validation would answer them 400, not the services' state.
    """

    def middleware(request: HttpRequest) -> HttpResponse:
        if request.path_info == "/healthz":
            return healthz(request)
        return get_response(request)

    return middleware
