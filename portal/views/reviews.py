"""The reviewer's pages: the queue, and the review page with the reproducibility report beside the rubric."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.access import roles
from portal.errors import WorkflowError
from portal.forms.reviews import ReasonForm, ReviewForm
from portal.forms.workflow_errors import show_refusal
from portal.models import ReviewAssignment
from portal.selectors import renewals as renewal_selectors
from portal.selectors import reviewer
from portal.selectors import verification as verification_selectors
from portal.selectors.paging import IdFirstPaginator
from portal.services import assignment as reviewer_assignment
from portal.services import reviews

QUEUE_PAGE_SIZE = 50
HOUR = 3600


@login_required
@require_GET
def review_queue(request: HttpRequest) -> HttpResponse:
    if not roles.is_reviewer(request.user):
        raise PermissionDenied("Only reviewers have a review queue.")
    page = IdFirstPaginator(reviewer.queue(request.user), QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "counts": reviewer.queue_counts(request.user),
        "reports_to_decide": reviewer.reports_to_decide(request.user),
    }
    return render(request, "portal/reviews/queue.html", context)


def _assignment_for(request: HttpRequest, pk: int, perm: str = "portal.view_reviewassignment") -> ReviewAssignment:
    """The signed-in reviewer's own assignment, while it gives access to the application."""
    assignment = get_object_or_404(
        ReviewAssignment.objects.select_related(
            "application__call", "application__project__owner", "application__pool", "application__snapshot", "review"
        ),
        pk=pk,
    )
    if not request.user.has_perm(perm, assignment):
        raise PermissionDenied("This review is assigned to someone else.")
    if not assignment.is_active:
        # A declined or conflicted review no longer shows the application.
        reason = f" ({assignment.reason})" if assignment.reason else ""
        state = assignment.get_state_display().lower()
        raise PermissionDenied(f"This review is {state}{reason}; the application is no longer shown to you.")
    return assignment


def _review_form(assignment: ReviewAssignment, data: Any = None) -> ReviewForm:
    application = assignment.application
    return ReviewForm(
        data,
        criteria=application.call.criteria.all(),
        initial={"recommended_hours": round(application.requested_seconds / HOUR, 2)},
    )


def _render_review(
    request: HttpRequest, assignment: ReviewAssignment, form: ReviewForm | None, status: int = 200
) -> HttpResponse:
    application = assignment.application
    submitted = assignment.state == ReviewAssignment.State.SUBMITTED
    review = assignment.review if submitted else None
    latest_verification = verification_selectors.latest(application)
    context = {
        "assignment": assignment,
        "application": application,
        "project": application.project,
        "report": reviewer.report_summary(application),
        "runs": reviewer.project_runs(application),
        "past_award": renewal_selectors.past_award(application),  # a renewal: the award it continues
        "verification": latest_verification,
        "verification_queue": verification_selectors.waiting_runs(latest_verification),
        "can_verify": request.user.has_perm("portal.verify_application", application),
        "form": None if submitted else form or _review_form(assignment),
        "review": review,
        "scores": review.scores.select_related("criterion").order_by("criterion__position") if review else (),
    }
    return render(request, "portal/reviews/review.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """The application, its report and runs, and the rubric; once submitted, the review read-only."""
    assignment = _assignment_for(request, pk)
    if request.method == "GET":
        return _render_review(request, assignment, None)
    if not request.user.has_perm("portal.change_reviewassignment", assignment):
        raise PermissionDenied("This review is assigned to someone else.")
    if assignment.state != ReviewAssignment.State.ASSIGNED:
        # The page shows the submitted review read-only: nothing to fill in again.
        messages.error(request, "Your review is already submitted; it cannot be changed.")
        return redirect("portal:review", pk=assignment.pk)
    form = _review_form(assignment, request.POST)
    if form.is_valid():
        try:
            reviews.submit_review(
                assignment,
                actor=request.user,
                scores=form.scores(),
                comment_to_applicant=form.cleaned_data["comment_to_applicant"],
                confidential_comment=form.cleaned_data["confidential_comment"],
                recommendation=form.cleaned_data["recommendation"],
                recommended_seconds=form.recommended_seconds(),
            )
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            messages.success(request, "Your review is submitted. Thank you.")
            return redirect("portal:review", pk=assignment.pk)
    return _render_review(request, assignment, form, status=400)


def _end(request: HttpRequest, pk: int, *, conflict: bool) -> HttpResponse:
    """Decline the review or declare a conflict of interest; the service asks another reviewer."""
    assignment = _assignment_for(request, pk, "portal.change_reviewassignment")
    form = ReasonForm(request.POST)
    try:
        if not form.is_valid():
            raise WorkflowError(" ".join(map(str, form.errors["reason"])))
        reason = form.cleaned_data["reason"].strip()
        if conflict:
            reviewer_assignment.declare_conflict(assignment, actor=request.user, reason=reason)
        else:
            reviewer_assignment.decline(assignment, actor=request.user, reason=reason)
    except WorkflowError as error:
        messages.error(request, str(error))
        return redirect("portal:review", pk=pk)
    what = "declared a conflict of interest with" if conflict else "declined"
    messages.success(request, f"You {what} {assignment.application.project}; another reviewer is asked instead.")
    return redirect("portal:review_queue")


@login_required
@require_POST
def review_decline(request: HttpRequest, pk: int) -> HttpResponse:
    return _end(request, pk, conflict=False)


@login_required
@require_POST
def review_conflict(request: HttpRequest, pk: int) -> HttpResponse:
    return _end(request, pk, conflict=True)
