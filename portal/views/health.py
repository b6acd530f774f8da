"""/healthz: is the database reachable, is the broker reachable, and which one is not."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.web.health import check_services


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = check_services()
    return JsonResponse(report.as_dict(), status=200 if report.healthy else 503)
