"""Public project pages, opt-in by the project's members: what its awards produced.

Shown: the project's name and description, each award's call, pool, hours awarded and used, the
reproducibility badge if the members published it, and the models released in approved reports
with their provenance (SavedModel fingerprint, the run that made it, its accelerator-hours, the
award). Nothing else: no repository, members, applications, reviews, unapproved reports or runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from portal.errors import WorkflowError
from portal.models import Application, ProgressReport, Project
from portal.services import audit
from portal.services.progress_reports import fingerprint_of


@dataclass(frozen=True)
class PublicAward:
    call: str
    pool: str
    awarded_seconds: int
    used_seconds: int


@dataclass(frozen=True)
class PublicModel:
    fingerprint: str
    run_id: int
    accelerator_seconds: int
    call: str
    pool: str


@dataclass(frozen=True)
class PublicProject:
    name: str
    description: str
    awards: list[PublicAward]
    models: list[PublicModel]
    badge_token: str  # '' unless the members published the badge of an awarded snapshot


@transaction.atomic
def set_public(project: Project, public: bool, *, actor: Any) -> Project:
    """The members choose whether the project has a public page."""
    if not project.is_member(actor):
        raise WorkflowError("Only the project's members publish its page.")
    project.public_page = public
    project.save(update_fields=["public_page"])
    audit.record(actor, "project.public_page", project, message="published" if public else "withdrawn")
    return project


def public_project(project: Project) -> PublicProject | None:
    """What the public page shows, or None when the project has not published one."""
    if not project.public_page:
        return None
    awarded = list(
        Application.objects.filter(project=project, state=Application.State.AWARDED, allocation__isnull=False)
        .select_related("call", "pool", "allocation", "snapshot")
        .order_by("decided_at", "pk")
    )
    allocations = [(a, a.allocation) for a in awarded if a.allocation is not None]
    awards = [PublicAward(a.call.title, a.pool.name, alloc.awarded, alloc.used) for a, alloc in allocations]
    by_allocation = {alloc.pk: a for a, alloc in allocations}
    models = []
    approved = ProgressReport.objects.filter(
        allocation_id__in=list(by_allocation), state=ProgressReport.State.APPROVED
    ).prefetch_related("released_models")
    seen: set[int] = set()
    for report in approved:
        for job in report.released_models.all():
            if job.pk in seen or not fingerprint_of(job):
                continue
            seen.add(job.pk)
            award = by_allocation[job.allocation_id]
            models.append(
                PublicModel(fingerprint_of(job), job.pk, job.charged_seconds, award.call.title, award.pool.name)
            )
    badge = next((a.snapshot.badge_token for a in awarded if a.snapshot and a.snapshot.badge_public), "")
    return PublicProject(project.name, project.description, awards, models, badge)


def sponsored_badge(project: Project) -> str:
    """A 'sponsored by' SVG for the project's README: the calls that awarded it and the hours."""
    page = public_project(project)
    if page is None or not page.awards:
        raise WorkflowError("No public page with an award.")
    calls = ", ".join(dict.fromkeys(a.call for a in page.awards))
    hours = sum(a.awarded_seconds for a in page.awards) / 3600
    right = f"{calls} · {hours:,.0f} accelerator-h"
    left_w, right_w = 90, 8 + 7 * len(right)
    return render_badge("sponsored by", right, left_w, right_w)


def render_badge(left: str, right: str, left_w: int, right_w: int) -> str:
    from django.utils.html import escape

    width = left_w + right_w
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
        f'aria-label="{escape(left)}: {escape(right)}"><title>{escape(left)}: {escape(right)}</title>'
        f'<rect width="{left_w}" height="20" fill="#555"/>'
        f'<rect x="{left_w}" width="{right_w}" height="20" fill="#2b7bb9"/>'
        f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="6" y="14">{escape(left)}</text><text x="{left_w + 4}" y="14">{escape(right)}</text></g></svg>'
    )
