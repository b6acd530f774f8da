"""API views of the grant's life after the award (issue 17): progress reports and award requests.

As in portal.api.views: lists show what the user may see (the reports and requests of the allocations
they see), detail routes check the object's permissions (403), and the services' refusals answer 400 with
their reasons keyed by field (portal.api.refusals) and change nothing. An allocation's own actions
(tranche release, reclaim, revocation, its notices) are on the allocation's viewset.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from portal.api import award_serializers as a
from portal.api.filters import AwardRequestFilter, ReportFilter
from portal.api.permissions import require
from portal.api.refusals import REFUSED, refusals
from portal.api.views import DENIED, PortalViewSet
from portal.forms.award_requests import AwardRequestDecisionForm
from portal.forms.progress_reports import ReportDecisionForm
from portal.models import AwardRequest, ProgressReport
from portal.services import award_requests, progress_reports, renewals
from scheduler import selectors as scheduler_selectors

HOUR = 3600


class ProgressReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Progress and final reports of the allocations you see: the project submits them, maintainers (or the
    award's reviewer) approve or return them."""

    serializer_class = a.ProgressReportSerializer
    filterset_class = ReportFilter
    object_permissions = {
        "retrieve": ("scheduler.view_allocation",),
        "submit": ("scheduler.view_allocation", "portal.write_report"),
        "decide": ("scheduler.view_allocation", "portal.decide_report"),
    }

    def visible(self) -> QuerySet[Any]:
        allocations = scheduler_selectors.visible_allocations(self.request.user).values("pk")
        return self.everything().filter(allocation__in=allocations).order_by("due_at", "pk")

    def everything(self) -> QuerySet[Any]:
        return ProgressReport.objects.select_related(
            "allocation__project", "allocation__pool", "submitted_by", "decided_by"
        ).prefetch_related("runs", "released_models")

    def reread(self, report: ProgressReport) -> Response:
        return self.answer(self.everything().get(pk=report.pk), a.ProgressReportSerializer)

    @extend_schema(
        request=a.ReportSubmitSerializer, responses={200: a.ProgressReportSerializer, 400: REFUSED, 403: DENIED}
    )
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Hand in the report (what was done, what changed, problems, the runs and the released models)."""
        report = self.get_object()
        serializer = a.ReportSubmitSerializer(
            data=request.data, context={**self.get_serializer_context(), "report": report}
        )
        serializer.is_valid(raise_exception=True)
        with refusals(serializer):
            report = progress_reports.submit(report, actor=request.user, **serializer.validated_data)
        return self.reread(report)

    @extend_schema(
        request=a.ReportDecisionSerializer, responses={200: a.ProgressReportSerializer, 400: REFUSED, 403: DENIED}
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        """Approve the report (maintainers may release held hours with it) or return it with a comment."""
        report = self.get_object()
        may_release = request.user.has_perm("scheduler.release_tranche", report.allocation)
        serializer = a.ReportDecisionSerializer(
            data=request.data, context={**self.get_serializer_context(), "may_release": may_release}
        )
        serializer.is_valid(raise_exception=True)
        form = serializer.form
        comment = form.cleaned_data["comment"]
        with refusals(serializer):
            if form.cleaned_data["decision"] == ReportDecisionForm.APPROVE:
                report = progress_reports.approve(
                    report, actor=request.user, comment=comment, release_seconds=form.release_seconds()
                )
            else:
                report = progress_reports.return_for_changes(report, actor=request.user, comment=comment)
        return self.reread(report)


@extend_schema_view(
    create=extend_schema(
        request=a.AwardRequestCreateSerializer, responses={201: a.AwardRequestSerializer, 400: REFUSED, 403: DENIED}
    ),
)
class AwardRequestViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, PortalViewSet):
    """Requests on the awards you see: a no-cost extension, a supplement or a renewal (a new application to a
    later call, decided with it). The project asks; maintainers decide."""

    serializer_class = a.AwardRequestSerializer
    filterset_class = AwardRequestFilter
    object_permissions = {
        "retrieve": ("scheduler.view_allocation",),
        "decide": ("scheduler.view_allocation", "portal.decide_award_request"),
    }

    def visible(self) -> QuerySet[Any]:
        allocations = scheduler_selectors.visible_allocations(self.request.user).values("pk")
        return self.everything().filter(allocation__in=allocations).order_by("-created", "-pk")

    def everything(self) -> QuerySet[Any]:
        return AwardRequest.objects.select_related("allocation__project", "requested_by", "decided_by")

    def reread(self, award_request: AwardRequest, code: int = status.HTTP_200_OK) -> Response:
        return self.answer(self.everything().get(pk=award_request.pk), a.AwardRequestSerializer, code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Ask for an extension (`new_end`), a supplement (`hours`) or a renewal (`call`) of your project's award."""
        serializer = a.AwardRequestCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        allocation, kind = data["allocation"], data["kind"]
        require(request, "scheduler.view_allocation", allocation)
        with refusals(serializer):
            if kind == AwardRequest.Kind.RENEWAL:
                require(
                    request, "scheduler.renew_allocation", allocation, "Only the project's members renew its award."
                )
                made = renewals.request_renewal(
                    allocation, actor=request.user, call=data["call"], reason=data["reason"]
                )
            else:
                require(request, "scheduler.submit_job", allocation, "Only the project's members ask on its award.")
                if kind == AwardRequest.Kind.EXTENSION:
                    made = award_requests.request_extension(
                        allocation, actor=request.user, new_end=data["new_end"], reason=data["reason"]
                    )
                else:
                    seconds = round(data["hours"] * HOUR)
                    made = award_requests.request_supplement(
                        allocation, actor=request.user, seconds=seconds, reason=data["reason"]
                    )
        return self.reread(made, status.HTTP_201_CREATED)

    @extend_schema(
        request=a.AwardRequestDecisionSerializer, responses={200: a.AwardRequestSerializer, 400: REFUSED, 403: DENIED}
    )
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        """Maintainers: approve (a supplement beyond half the award with `override_reason`) or decline with a
        message. A renewal is approved by awarding its application; declining it withdraws or declines that."""
        award_request = self.get_object()
        serializer = a.AwardRequestDecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.form.cleaned_data
        with refusals(serializer):
            if data["decision"] == AwardRequestDecisionForm.APPROVE:
                award_request = award_requests.approve(
                    award_request, actor=request.user, message=data["message"], override_reason=data["override_reason"]
                )
            else:
                award_request = award_requests.decline(award_request, actor=request.user, message=data["message"])
        return self.reread(award_request)
