"""What a renewal's readers see of the award it continues: its usage, its reports and its released models."""

from __future__ import annotations

from dataclasses import dataclass

from portal.models import Application, AwardRequest, ProgressReport
from portal.services.progress_reports import fingerprint_of
from portal.services.usage import Usage, usage_of
from scheduler.models import Allocation, TrainingJob

R = ProgressReport.State


@dataclass(frozen=True)
class ReleasedModel:
    job: TrainingJob
    fingerprint: str
    approved: bool  # released in an approved report (a submitted one may still be returned)


@dataclass(frozen=True)
class PastAward:
    """The award a renewal application continues, as its reviewers and the project read it."""

    request: AwardRequest
    allocation: Allocation
    application: Application | None  # the one that made the award
    usage: Usage
    reports: list[ProgressReport]
    released_models: list[ReleasedModel]


def past_award(application: Application) -> PastAward | None:
    """The old award of a renewal application, or None when the application renews nothing (a few queries)."""
    request = (
        AwardRequest.objects.select_related("allocation__project", "allocation__pool", "requested_by")
        .filter(renewal=application)
        .first()
    )
    if request is None:
        return None
    allocation = request.allocation
    old = Application.objects.select_related("call").filter(allocation=allocation).first()
    reports = list(allocation.reports.select_related("decided_by").prefetch_related("released_models"))
    models: dict[int, ReleasedModel] = {}
    for report in reports:
        if report.state not in (R.SUBMITTED, R.APPROVED):
            continue
        for job in report.released_models.all():
            fingerprint = fingerprint_of(job)
            approved = report.state == R.APPROVED or (job.pk in models and models[job.pk].approved)
            if fingerprint:
                models[job.pk] = ReleasedModel(job, fingerprint, approved)
    return PastAward(request, allocation, old, usage_of(allocation), reports, list(models.values()))
