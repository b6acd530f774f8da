"""Quota pages: allocations, ledgers, pools, the queue, jobs. Thin: selectors and services do the work."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.access import roles
from portal.selectors.paging import IdFirstPaginator
from scheduler import quota, runner, selectors
from scheduler.forms import JobSubmitForm
from scheduler.models import AcceleratorPool, Allocation, TrainingJob

QUEUE_HEAD = 10  # runs per pool on the queue overview; each pool's own page has its whole line
QUEUE_PAGE_SIZE = 50


def _require_maintainer(request: HttpRequest) -> None:
    if not roles.is_maintainer(request.user):
        raise PermissionDenied("Only maintainers can see this page.")


def _allocation_for(request: HttpRequest, pk: int) -> Allocation:
    allocation = get_object_or_404(Allocation.objects.select_related("project", "pool"), pk=pk)
    if not request.user.has_perm("scheduler.view_allocation", allocation):
        raise PermissionDenied("This allocation belongs to another project.")
    return allocation


@login_required
@require_GET
def allocation_list(request: HttpRequest) -> HttpResponse:
    allocations = selectors.visible_allocations(request.user).order_by("expires_at", "pk")
    state = request.GET.get("state")
    if state in Allocation.State.values:
        allocations = allocations.filter(state=state)
    page = Paginator(allocations, 50).get_page(request.GET.get("page"))
    rows = [(allocation, selectors.bar(allocation)) for allocation in page]
    return render(
        request,
        "scheduler/allocation_list.html",
        {"page": page, "rows": rows, "state": state, "states": Allocation.State.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def allocation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    allocation = _allocation_for(request, pk)
    can_submit = request.user.has_perm("scheduler.submit_job", allocation)
    form = JobSubmitForm(request.POST or None, pool=allocation.pool)
    if request.method == "POST":
        if not can_submit:
            raise PermissionDenied("Only the project's members can launch runs on this allocation.")
        if form.is_valid():
            try:
                # The source is the allocation's reviewed (or approved) snapshot, not the repository now.
                job = quota.submit_job(allocation, form.job_request(), actor=request.user)
            except quota.EntrypointError as error:
                form.add_error("entrypoint", str(error))
            except quota.QuotaError as error:
                form.add_error(None, str(error))
            else:
                messages.success(request, f"Run {job.pk} is queued; its worst case is reserved.")
                return redirect("scheduler:job_detail", pk=job.pk)
    context = {
        "allocation": allocation,
        "bar": selectors.bar(allocation),
        "burn_down": selectors.burn_down(allocation),
        "ledger": allocation.ledger.select_related("job", "actor").order_by("-created", "-id")[:50],
        "jobs": allocation.jobs.order_by("-submitted_at")[:20],
        "form": form if can_submit and allocation.state == Allocation.State.ACTIVE else None,
    }
    return render(request, "scheduler/allocation_detail.html", context, status=400 if form.errors else 200)


def _csv_response(filename: str, header: list[str], rows: Iterator[list[Any]]) -> StreamingHttpResponse:
    class Echo:
        def write(self, value: str) -> str:
            return value

    writer = csv.writer(Echo())

    def lines() -> Iterator[str]:
        yield writer.writerow(header)
        for row in rows:
            yield writer.writerow(row)

    response = StreamingHttpResponse(lines(), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
@require_GET
def allocation_ledger_csv(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    allocation = _allocation_for(request, pk)
    entries = allocation.ledger.select_related("actor").order_by("created", "id")
    rows = (
        [
            e.created.isoformat(),
            e.kind,
            e.seconds,
            round(e.seconds / 3600, 4),
            e.job_id or "",
            e.actor.get_username() if e.actor else "",
            e.memo,
        ]
        for e in entries.iterator()
    )
    header = ["time", "kind", "accelerator_seconds", "accelerator_hours", "job", "actor", "memo"]
    return _csv_response(f"allocation-{allocation.pk}-ledger.csv", header, rows)


@login_required
@require_GET
def allocations_csv(request: HttpRequest) -> StreamingHttpResponse:
    allocations = selectors.visible_allocations(request.user).order_by("pk")
    rows = (
        [
            a.pk,
            a.project.name,
            a.pool.name,
            a.state,
            a.awarded,
            a.reserved,
            a.used,
            a.remaining,
            a.starts_at.isoformat(),
            a.expires_at.isoformat(),
        ]
        for a in allocations.iterator()
    )
    header = [
        "id",
        "project",
        "pool",
        "state",
        "awarded_s",
        "reserved_s",
        "used_s",
        "remaining_s",
        "starts",
        "expires",
    ]
    return _csv_response("allocations.csv", header, rows)


@login_required
@require_GET
def pool_list(request: HttpRequest) -> HttpResponse:
    _require_maintainer(request)
    return render(request, "scheduler/pool_list.html", {"usage": selectors.pool_usage()})


@login_required
@require_GET
def queue(request: HttpRequest) -> HttpResponse:
    _require_maintainer(request)
    queues = selectors.queues(list(AcceleratorPool.objects.order_by("name")), limit=QUEUE_HEAD)
    return render(request, "scheduler/queue.html", {"queues": queues})


@login_required
@require_GET
def pool_queue(request: HttpRequest, pk: int) -> HttpResponse:
    """One pool's whole line, a page at a time."""
    _require_maintainer(request)
    pool = get_object_or_404(AcceleratorPool, pk=pk)
    page, rows = selectors.queue_page(pool, request.GET.get("page"), QUEUE_PAGE_SIZE)
    return render(request, "scheduler/pool_queue.html", {"pool": pool, "page": page, "rows": rows})


@login_required
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    jobs = selectors.visible_jobs(request.user)
    state = request.GET.get("state")
    if state in TrainingJob.State.values:
        jobs = jobs.filter(state=state)
    page = IdFirstPaginator(jobs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "scheduler/job_list.html",
        {"page": page, "state": state, "states": TrainingJob.State.choices},
    )


def _job_for(request: HttpRequest, pk: int) -> TrainingJob:
    job = get_object_or_404(TrainingJob.objects.select_related("allocation__project", "pool"), pk=pk)
    if not request.user.has_perm("scheduler.view_trainingjob", job):
        raise PermissionDenied("This run belongs to another project.")
    return job


@login_required
@require_GET
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    context = {
        "job": job,
        "events": job.events.select_related("actor"),
        "queue_row": selectors.queue_position(job),
        "can_cancel": not job.is_terminal and request.user.has_perm("scheduler.cancel_trainingjob", job),
        "log_tails": sorted(runner.worker_log_tails(job).items()),
    }
    template = "scheduler/_job_status.html" if request.htmx else "scheduler/job_detail.html"  # type: ignore[attr-defined]
    return render(request, template, context)


@login_required
@require_POST
def job_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job_for(request, pk)
    if not request.user.has_perm("scheduler.cancel_trainingjob", job):
        raise PermissionDenied("Only the project's members and maintainers can cancel this run.")
    job = quota.cancel_job(job, actor=request.user, reason=f"cancelled by {request.user.get_username()}")
    if job.state == TrainingJob.State.CANCELLED:
        messages.success(request, "The run is cancelled and its reservation released.")
    elif job.cancel_requested:
        messages.info(request, "Cancellation requested: the run stops shortly and is charged for the time used.")
    else:
        messages.info(request, f"The run already ended ({job.state}).")
    return redirect("scheduler:job_detail", pk=job.pk)
