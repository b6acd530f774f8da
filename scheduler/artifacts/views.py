"""Run pages: curves, model inspection, a real TensorBoard and downloads, all permission-checked.

Every view resolves the job and asks `has_perm("scheduler.view_trainingjob", job)`; a user who may
not see the run gets a 404, as if it did not exist. Pages draw from the cache on the job (see
cache.py); only TensorBoard and the downloads read files, and neither runs applicant code.
"""

from __future__ import annotations

import io
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseNotAllowed,
    HttpResponseRedirect,
    JsonResponse,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from scheduler.artifacts import archives, runs
from scheduler.artifacts.charts import charts_for_runs, line_chart
from scheduler.artifacts.tensorboard import (
    call_wsgi,
    confined_policy,
    refusal_reason,
    relative_font_urls,
    tensorboard_app,
)

VIEW_PERMISSION = "scheduler.view_trainingjob"
MAX_COMPARED_JOBS = 8
DOWNLOADS = {"model": "model", "logs": "logs"}


def _viewable_job(request: HttpRequest, job_id: int) -> Any:
    job = runs.get_job(job_id)
    if not request.user.has_perm(VIEW_PERMISSION, job):
        raise Http404("No such run.")
    return job


def run_context(job: Any) -> dict[str, Any]:
    """What the run page and its live panel show, from the job's cached fields only."""
    scalars = job.scalar_cache or {}
    charts = [line_chart(tag, series) for tag, series in charts_for_runs(scalars.get("runs", {})).items()]
    return {
        "job": job,
        "live": runs.is_live(job),
        "scalars": scalars,
        "charts": charts,
        "hparams": scalars.get("hparams", {}),
        "model": job.model_summary or {},
        "progress": job.progress or {},
        "cached": bool(scalars),
    }


@login_required
@require_GET
def run_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _viewable_job(request, job_id)
    return render(request, "scheduler/artifacts/run_detail.html", run_context(job))


@login_required
@require_GET
def run_panel(request: HttpRequest, job_id: int) -> HttpResponse:
    """The curves and progress alone, refreshed by htmx while the run is live."""
    job = _viewable_job(request, job_id)
    return render(request, "scheduler/artifacts/_run_panel.html", run_context(job))


@login_required
@require_GET
def run_scalars(request: HttpRequest, job_id: int) -> JsonResponse:
    job = _viewable_job(request, job_id)
    return JsonResponse(job.scalar_cache or {})


@login_required
@require_GET
def compare(request: HttpRequest) -> HttpResponse:
    """Several runs on one chart per tag: `?job=3&job=5`. Runs the user may not see are left out."""
    ids: list[int] = []
    for raw in request.GET.getlist("job")[:MAX_COMPARED_JOBS]:
        if not raw.isdigit():
            return HttpResponse("Run ids must be numbers.", status=400)
        ids.append(int(raw))
    jobs = []
    for job_id in dict.fromkeys(ids):
        try:
            jobs.append(_viewable_job(request, job_id))
        except Http404:
            continue
    by_tag: dict[str, list[tuple[str, list[Any]]]] = {}
    for job in jobs:
        for tag, series in charts_for_runs((job.scalar_cache or {}).get("runs", {}), f"#{job.pk} ").items():
            by_tag.setdefault(tag, []).extend(series)
    charts = [line_chart(tag, series) for tag, series in sorted(by_tag.items())]
    return render(request, "scheduler/artifacts/compare.html", {"jobs": jobs, "charts": charts})


@login_required
@require_GET
def download(request: HttpRequest, job_id: int, kind: str) -> HttpResponseBase:
    job = _viewable_job(request, job_id)
    if kind not in DOWNLOADS:
        raise Http404("No such download.")
    folder = getattr(runs.run_artifacts(job.pk), DOWNLOADS[kind])
    name = f"job-{job.pk}-{kind}"
    try:
        chunks = archives.stream_tar_gz(folder, name)
    except archives.ArchiveError:
        return render(
            request,
            "scheduler/artifacts/missing.html",
            {"job": job, "message": f"This run has no {kind} to download yet."},
            status=404,
        )
    response = StreamingHttpResponse(chunks, content_type="application/gzip")
    response["Content-Disposition"] = f'attachment; filename="{name}.tar.gz"'
    return response


TENSORBOARD_METHODS = ("GET", "HEAD", "POST")


# TensorBoard's frontend POSTs read-only data queries without Django's CSRF token; nothing it
# serves changes state, and the session cookie is SameSite=Lax, so exempting this mount is safe.
@csrf_exempt
@login_required
def tensorboard(request: HttpRequest, job_id: int, subpath: str = "") -> HttpResponseBase:
    if request.method not in TENSORBOARD_METHODS:
        return HttpResponseNotAllowed(TENSORBOARD_METHODS)
    job = _viewable_job(request, job_id)
    mount = reverse("runs:tensorboard", kwargs={"job_id": job.pk})
    if not subpath and not request.path.endswith("/"):
        return HttpResponseRedirect(mount)  # TensorBoard's frontend uses page-relative URLs
    logs = runs.run_artifacts(job.pk).logs
    if not logs.is_dir():
        return render(
            request,
            "scheduler/artifacts/missing.html",
            {"job": job, "message": "This run has written no TensorBoard logs yet."},
            status=404,
        )
    refusal = refusal_reason(logs)
    if refusal:
        return render(
            request,
            "scheduler/artifacts/missing.html",
            {"job": job, "message": f"TensorBoard is not served for this run: {refusal}"},
            status=403,
        )
    app = tensorboard_app(logs, live=runs.is_live(job))
    environ = dict(request.META)
    body = request.body if request.method == "POST" else b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    prefix = request.META.get("SCRIPT_NAME", "").rstrip("/") + mount
    result = call_wsgi(app, environ, prefix, subpath)
    headers = dict(result.headers)
    response: HttpResponseBase
    if not subpath and headers.get("Content-Type", "").startswith("text/html"):
        headers.pop("Content-Length", None)
        response = HttpResponse(relative_font_urls(b"".join(result.body)), status=result.status)
    else:
        response = StreamingHttpResponse(result.body, status=result.status)
    for header, value in headers.items():
        response[header] = value
    # TensorBoard's pages bring their own policy (inline scripts by hash, inline styles); the CSP
    # middleware leaves a response that has one alone, so the site-wide policy does not break them.
    # Everything else under the mount (data, scripts, images) and our own pages get the site's.
    if "Content-Security-Policy" in response:
        response["Content-Security-Policy"] = confined_policy(response["Content-Security-Policy"])
    return response
