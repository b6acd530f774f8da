"""The API's page for people: every operation (drawn from the OpenAPI schema) and a button for a token.

Plain server-rendered HTML: no CDN, no script, so it keeps to the Content Security Policy.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from drf_spectacular.generators import SchemaGenerator

from portal.api.tokens import new_token

METHODS = ("get", "post", "put", "patch", "delete")


@cache
def operations() -> list[dict[str, Any]]:
    """(method, path, summary) of every operation, grouped by tag; the schema depends only on the code."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    groups: dict[str, list[dict[str, str]]] = {}
    for path, item in schema["paths"].items():
        for method in METHODS:
            operation = item.get(method)
            if operation is None:
                continue
            tag = (operation.get("tags") or ["api"])[0]
            summary = (operation.get("description") or "").strip().split("\n")[0]
            groups.setdefault(tag, []).append({"method": method.upper(), "path": path, "summary": summary})
    return [{"tag": tag, "operations": rows} for tag, rows in groups.items()]


@never_cache
@require_http_methods(["GET", "POST"])
def api_docs(request: HttpRequest) -> HttpResponse:
    """GET: the page. POST (signed in): a new token, its key shown on the page this once."""
    key = None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        key = new_token(request.user).key  # type: ignore[arg-type]
    return render(request, "api/docs.html", {"groups": operations(), "new_key": key})
