"""API views: parse input, check the object permission, call one service, answer.

Lists show only what the user may see; a detail route of an object the user may not see answers
403 (the pages' convention); a request the services refuse answers 400 with their reasons keyed by
the request's fields (portal.api.refusals) and changes nothing.
"""

from __future__ import annotations

from typing import Any, cast

from django.db import IntegrityError
from django.db.models import Model, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from portal.access import roles
from portal.api import award_serializers, selectors
from portal.api import serializers as s
from portal.api.filters import AllocationFilter, ApplicationFilter, JobFilter
from portal.api.permissions import ObjectRules, require
from portal.api.refusals import REFUSED, refusals, refuse
from portal.models import Application, Project, ProjectInvitation, User
from portal.selectors.paging import IdFirstPaginator
from portal.services import applications, award_terms, calls, decisions, projects, tranches, usage
from portal.services import invitations as invitation_services
from reproducibility.models import Snapshot
from reproducibility.scorecard import SCHEMA as SCORECARD_SCHEMA
from scheduler import quota
from scheduler import selectors as scheduler_selectors
from scheduler.models import Allocation, TrainingJob

HOUR = 3600


class Pages(PageNumberPagination):
    django_paginator_class = IdFirstPaginator
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


DENIED = OpenApiResponse(OpenApiTypes.OBJECT, description='Not yours to see or do: {"detail": "why"}.')


class PortalViewSet(viewsets.GenericViewSet):
    """Lists come from `visible()`; detail routes find any object and check its permissions."""

    permission_classes = [IsAuthenticated, ObjectRules]
    pagination_class = Pages
    lookup_value_converter = "int"
    object_permissions: dict[str, tuple[str, ...]] = {}

    def visible(self) -> QuerySet[Any]:
        raise NotImplementedError

    def everything(self) -> QuerySet[Any]:
        raise NotImplementedError

    def get_queryset(self) -> QuerySet[Any]:
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user
            return self.everything().none()
        return self.visible() if self.action == "list" else self.everything()

    def answer(self, obj: Model, serializer_class: type[BaseSerializer], code: int = status.HTTP_200_OK) -> Response:
        return Response(serializer_class(obj, context=self.get_serializer_context()).data, status=code)


# --- calls ---------------------------------------------------------------------------------


class CallViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Calls open now, with their pools, the budget left on each, and the rubric reviewers use."""

    serializer_class = s.CallSerializer
    object_permissions = {"retrieve": ()}  # open calls are for every signed-in user

    def everything(self) -> QuerySet[Any]:
        return calls.open_calls().prefetch_related("call_pools__pool", "criteria")

    visible = everything


# --- projects ------------------------------------------------------------------------------


@extend_schema_view(
    create=extend_schema(responses={201: s.ProjectSerializer, 400: REFUSED, 403: DENIED}),
    update=extend_schema(responses={200: s.ProjectSerializer, 400: REFUSED, 403: DENIED}),
    partial_update=extend_schema(responses={200: s.ProjectSerializer, 400: REFUSED, 403: DENIED}),
)
class ProjectViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, PortalViewSet
):
    """Projects the user owns, belongs to, or (as an assigned reviewer) reviews; members change them."""

    serializer_class = s.ProjectSerializer
    object_permissions = {
        "retrieve": ("portal.view_project",),
        "update": ("portal.view_project", "portal.change_project"),
        "partial_update": ("portal.view_project", "portal.change_project"),
        "invitations": ("portal.view_project", "portal.change_project"),
        "leave": ("portal.view_project",),  # and a member: checked by the action
        "remove_member": ("portal.view_project", "portal.change_project"),
    }

    def visible(self) -> QuerySet[Any]:
        return selectors.visible_projects(self.request.user)

    def everything(self) -> QuerySet[Any]:
        return Project.objects.select_related("owner").prefetch_related("members")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        if not roles.is_applicant(request.user):
            raise PermissionDenied("Only applicants create projects.")
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer) -> None:
        with refusals(serializer):
            owner = cast(User, self.request.user)
            serializer.instance = projects.create_project(owner, **serializer.validated_data)

    def perform_update(self, serializer: BaseSerializer) -> None:
        with refusals(serializer):
            serializer.instance = projects.update_project(
                cast(Project, serializer.instance), actor=self.request.user, **serializer.validated_data
            )

    @extend_schema(methods=["GET"], request=None, responses={200: s.InvitationSerializer(many=True), 403: DENIED})
    @extend_schema(
        methods=["POST"], request=s.InviteSerializer, responses={201: s.InvitationSerializer, 400: REFUSED, 403: DENIED}
    )
    @action(detail=True, methods=["get", "post"])
    def invitations(self, request: Request, pk: str | None = None) -> Response:
        """The project's invitations (GET), or invite someone by username or email (POST).

        The answer is the same whether or not the name has an account; they become a member on accepting.
        """
        project = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(invitation_services.invitations_of(project))
            data = s.InvitationSerializer(page, many=True, context=self.get_serializer_context()).data
            return self.get_paginated_response(data)
        serializer = s.InviteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusals(serializer):
            invitation = invitation_services.invite(project, serializer.validated_data["invitee"], actor=request.user)
        return self.answer(invitation, s.InvitationSerializer, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"])
    def leave(self, request: Request, pk: str | None = None) -> Response:
        """Stop being a member of the project (the owner cannot)."""
        project = self.get_object()
        if not project.is_member(cast(User, request.user)):
            raise PermissionDenied("You are not a member of this project.")
        with refusals():
            invitation_services.leave(project, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=s.MemberSerializer, responses={200: s.ProjectSerializer, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"], url_path="remove-member")
    def remove_member(self, request: Request, pk: str | None = None) -> Response:
        """Take a member off the project."""
        project = self.get_object()
        serializer = s.MemberSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        username = serializer.validated_data["username"]
        member = project.members.filter(username=username).first()
        if member is None:
            refuse(f"{username} is not a member of this project.", "username")
        with refusals(serializer):
            invitation_services.remove_member(project, member, actor=request.user)
        return self.answer(self.everything().get(pk=project.pk), s.ProjectSerializer)


class InvitationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Invitations addressed to you (list); accept or decline one, or revoke one your project sent."""

    serializer_class = s.InvitationSerializer
    object_permissions = {
        "retrieve": ("portal.view_projectinvitation",),
        "accept": ("portal.answer_projectinvitation",),
        "decline": ("portal.answer_projectinvitation",),
        "revoke": ("portal.revoke_projectinvitation",),
    }

    def visible(self) -> QuerySet[Any]:
        return self.everything().filter(invitee=self.request.user)

    def everything(self) -> QuerySet[Any]:
        return ProjectInvitation.objects.select_related("project", "inviter")

    def _respond(self, work: Any) -> Response:
        with refusals():
            invitation = work(self.get_object(), actor=self.request.user)
        return self.answer(self.everything().get(pk=invitation.pk), s.InvitationSerializer)

    @extend_schema(request=None, responses={200: s.InvitationSerializer, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"])
    def accept(self, request: Request, pk: str | None = None) -> Response:
        """Become a member of the project (and so no reviewer of its applications)."""
        return self._respond(invitation_services.accept)

    @extend_schema(request=None, responses={200: s.InvitationSerializer, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"])
    def decline(self, request: Request, pk: str | None = None) -> Response:
        """Say no to the invitation."""
        return self._respond(invitation_services.decline)

    @extend_schema(request=None, responses={200: s.InvitationSerializer, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Withdraw a pending invitation of your project."""
        return self._respond(invitation_services.revoke)


# --- applications --------------------------------------------------------------------------


def _plan(data: dict[str, Any], base: Application | None = None) -> applications.Plan:
    """The plan given in `data`; a partial update keeps the rest of the draft's plan."""

    def value(name: str, default: Any) -> Any:
        return data[name] if name in data else (getattr(base, name) if base is not None else default)

    seconds = round(data["requested_hours"] * HOUR) if "requested_hours" in data else None
    return applications.Plan(
        pool=value("pool", None),
        requested_seconds=seconds if seconds is not None else (base.requested_seconds if base else 0),
        justification=value("justification", ""),
        entrypoint=value("entrypoint", ""),
        workers=value("workers", 1),
        accelerators_per_worker=value("accelerators_per_worker", 1),
        expected_runs=value("expected_runs", 1),
    )


CHANGE_APPLICATION = ("portal.view_application", "portal.change_application")


@extend_schema_view(
    create=extend_schema(request=s.ApplicationCreateSerializer, responses={201: s.ApplicationSerializer, 400: REFUSED}),
    update=extend_schema(request=s.ApplicationDraftSerializer, responses={200: s.ApplicationSerializer, 400: REFUSED}),
    partial_update=extend_schema(
        request=s.ApplicationDraftSerializer, responses={200: s.ApplicationSerializer, 400: REFUSED}
    ),
)
class ApplicationViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, PortalViewSet
):
    """Applications with their state and the repository's snapshot: 'scoring…', its error, or its score."""

    serializer_class = s.ApplicationSerializer
    filterset_class = ApplicationFilter
    object_permissions = {
        "retrieve": ("portal.view_application",),
        "update": CHANGE_APPLICATION,
        "partial_update": CHANGE_APPLICATION,
        "submit": CHANGE_APPLICATION,
        "withdraw": CHANGE_APPLICATION,
        "decide": ("portal.view_application", "portal.decide_application"),
    }

    def visible(self) -> QuerySet[Any]:
        return selectors.visible_applications(self.request.user)

    def everything(self) -> QuerySet[Any]:
        return selectors.with_latest_reports(Application.objects.all())

    def reread(self, application: Application) -> Application:
        return self.everything().get(pk=application.pk)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Save a draft application of one of your projects to an open call."""
        serializer = s.ApplicationCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        project, call = serializer.validated_data["project"], serializer.validated_data["call"]
        require(request, "portal.change_application", project, "Only the project's members apply with it.")
        existing = Application.objects.filter(call=call, project=project).first()
        already = f"{project} already has an application to {call}"
        if existing is not None:
            refuse(f"{already} (id {existing.pk}); change that one instead.")
        try:
            with refusals(serializer):
                application = applications.save_draft(
                    project, call, _plan(serializer.validated_data), actor=request.user
                )
        except IntegrityError:  # the same draft created at the same moment by another request
            refuse(f"{already}.")
        return self.answer(self.reread(application), s.ApplicationSerializer, status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Change a draft's plan (PATCH: only the fields given)."""
        application = self.get_object()
        partial = kwargs.get("partial", False)
        serializer = s.ApplicationDraftSerializer(
            application, data=request.data, partial=partial, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        with refusals(serializer):
            application = applications.save_draft(
                application.project,
                application.call,
                _plan(serializer.validated_data, base=application),
                actor=request.user,
            )
        return self.answer(self.reread(application), s.ApplicationSerializer)

    @extend_schema(request=None, responses={200: s.ApplicationSerializer, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: str | None = None) -> Response:
        """Submit the draft: the repository is snapshotted and scored, reviewers are assigned."""
        with refusals():
            application = applications.submit(self.get_object(), actor=request.user)
        return self.answer(self.reread(application), s.ApplicationSerializer)

    @extend_schema(request=s.WithdrawSerializer, responses={200: s.ApplicationSerializer, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"])
    def withdraw(self, request: Request, pk: str | None = None) -> Response:
        """Take the application back; open review assignments end with it."""
        application = self.get_object()
        serializer = s.WithdrawSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusals(serializer):
            application = applications.withdraw(application, actor=request.user, **serializer.validated_data)
        return self.answer(self.reread(application), s.ApplicationSerializer)

    @extend_schema(request=s.DecisionSerializer, responses={200: s.ApplicationSerializer, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"])
    def decide(self, request: Request, pk: str | None = None) -> Response:
        """Maintainers: award accelerator-hours (within the call's budget), decline or waitlist."""
        application = self.get_object()
        serializer = s.DecisionSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with refusals(serializer):
            if data["decision"] == "award":
                seconds = round(data["awarded_hours"] * HOUR)
                held = round((data.get("held_hours") or 0) * HOUR)
                application = decisions.award(
                    application, seconds, actor=request.user, message=data["message"], held_seconds=held
                )
            elif data["decision"] == "decline":
                application = decisions.decline(application, actor=request.user, message=data["message"])
            else:
                application = decisions.waitlist(application, actor=request.user, message=data["message"])
        return self.answer(self.reread(application), s.ApplicationSerializer)


# --- snapshots and their reports ----------------------------------------------------------


class SnapshotViewSet(mixins.RetrieveModelMixin, PortalViewSet):
    """A repository snapshot's status, and its reproducibility report once scored."""

    serializer_class = s.SnapshotSerializer
    object_permissions = {"retrieve": ("reproducibility.view_snapshot",), "report": ("reproducibility.view_snapshot",)}

    def everything(self) -> QuerySet[Any]:
        return Snapshot.objects.all()

    visible = everything  # there is no list of snapshots

    @extend_schema(
        responses={
            200: OpenApiResponse(
                {k: v for k, v in SCORECARD_SCHEMA.items() if not k.startswith("$")},
                description="The report, shaped like OpenSSF Scorecard's JSON.",
            ),
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="No such snapshot, or not scored yet."),
        }
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: str | None = None) -> Response:
        """The latest report of the snapshot (Scorecard-shaped JSON)."""
        snapshot = self.get_object()
        latest = snapshot.latest_report
        if latest is None:
            detail = f"Not scored yet: the snapshot is {snapshot.status}."
            if snapshot.status == Snapshot.Status.FAILED:
                detail = f"The snapshot failed: {snapshot.error}"
            raise NotFound(detail)
        return Response(latest.results)


# --- allocations and jobs ------------------------------------------------------------------


class AllocationViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, PortalViewSet):
    """Allocations with their balances in accelerator-seconds and -hours; their notices, and the maintainers'
    actions on them (release a held tranche, reclaim idle hours, revoke)."""

    serializer_class = s.AllocationSerializer
    filterset_class = AllocationFilter
    object_permissions = {
        "retrieve": ("scheduler.view_allocation",),
        "notices": ("scheduler.view_allocation",),
        "release_tranche": ("scheduler.view_allocation", "scheduler.release_tranche"),
        "reclaim": ("scheduler.view_allocation", "scheduler.reclaim_hours"),
        "revoke": ("scheduler.view_allocation", "scheduler.revoke_allocation"),
    }

    def visible(self) -> QuerySet[Any]:
        return scheduler_selectors.visible_allocations(self.request.user).order_by("expires_at", "pk")

    def everything(self) -> QuerySet[Any]:
        return Allocation.objects.select_related("project", "pool")

    def reread(self, allocation: Allocation) -> Response:
        return self.answer(self.everything().get(pk=allocation.pk), s.AllocationSerializer)

    @extend_schema(request=None, responses={200: award_serializers.AllocationNoticeSerializer(many=True), 403: DENIED})
    @action(detail=True, methods=["get"])
    def notices(self, request: Request, pk: str | None = None) -> Response:
        """The notices sent about the allocation's terms (30, 7, 1 days before the end; low usage; the end)."""
        allocation = self.get_object()
        page = self.paginate_queryset(allocation.notices.order_by("sent_at", "pk"))
        data = award_serializers.AllocationNoticeSerializer(page, many=True).data
        return self.get_paginated_response(data)

    @extend_schema(
        request=award_serializers.HoursAndReasonSerializer,
        responses={200: s.AllocationSerializer, 400: REFUSED, 403: DENIED},
    )
    @action(detail=True, methods=["post"], url_path="release-tranche")
    def release_tranche(self, request: Request, pk: str | None = None) -> Response:
        """Maintainers: make `hours` of the held tranches runnable, saying why."""
        allocation = self.get_object()
        serializer = award_serializers.HoursAndReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusals(serializer):
            tranches.release(
                allocation, serializer.seconds(), actor=request.user, reason=serializer.validated_data["reason"]
            )
        return self.reread(allocation)

    @extend_schema(
        request=award_serializers.HoursAndReasonSerializer,
        responses={200: s.AllocationSerializer, 400: REFUSED, 403: DENIED},
    )
    @action(detail=True, methods=["post"])
    def reclaim(self, request: Request, pk: str | None = None) -> Response:
        """Maintainers: take up to `hours` of an idle allocation's unreserved hours back to its call."""
        allocation = self.get_object()
        serializer = award_serializers.HoursAndReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusals(serializer):
            usage.reclaim(
                allocation, serializer.seconds(), actor=request.user, reason=serializer.validated_data["reason"]
            )
        return self.reread(allocation)

    @extend_schema(
        request=award_serializers.ReasonSerializer, responses={200: s.AllocationSerializer, 400: REFUSED, 403: DENIED}
    )
    @action(detail=True, methods=["post"])
    def revoke(self, request: Request, pk: str | None = None) -> Response:
        """Maintainers: end the allocation now; its unused hours, held tranches included, go back to the call."""
        allocation = self.get_object()
        serializer = award_serializers.ReasonSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        with refusals(serializer):
            award_terms.revoke(allocation, actor=request.user, reason=serializer.validated_data["reason"])
        return self.reread(allocation)


@extend_schema_view(
    create=extend_schema(
        request=s.JobSubmitSerializer, responses={201: s.JobDetailSerializer, 400: REFUSED, 403: DENIED}
    ),
)
class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, PortalViewSet):
    """Training runs: submit one on an allocation (its worst case is reserved), follow it, cancel it."""

    serializer_class = s.JobSerializer
    filterset_class = JobFilter
    object_permissions = {
        "retrieve": ("scheduler.view_trainingjob",),
        "cancel": ("scheduler.view_trainingjob", "scheduler.cancel_trainingjob"),
    }

    def get_serializer_class(self) -> type[BaseSerializer]:
        return s.JobDetailSerializer if self.action == "retrieve" else s.JobSerializer

    def visible(self) -> QuerySet[Any]:
        return scheduler_selectors.visible_jobs(self.request.user).select_related("submitted_by")

    def everything(self) -> QuerySet[Any]:
        return TrainingJob.objects.select_related("allocation__project", "pool", "submitted_by")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Queue a run on an allocation of your project, as the allocation page does."""
        serializer = s.JobSubmitSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        allocation = serializer.validated_data["allocation"]
        require(request, "scheduler.submit_job", allocation)
        assert serializer.form is not None
        with refusals(serializer):
            # The source is the allocation's reviewed (or approved) snapshot, not the repository now.
            job = quota.submit_job(allocation, serializer.form.job_request(), actor=request.user)
        return self.answer(self.everything().get(pk=job.pk), s.JobDetailSerializer, status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: s.JobDetailSerializer, 400: REFUSED, 403: DENIED})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        """Cancel a run: a queued one at once (its reservation released), a running one shortly (charged)."""
        job = self.get_object()
        if job.is_terminal:
            refuse(f"The run already ended ({job.state}).")
        job = quota.cancel_job(job, actor=request.user, reason=f"cancelled by {request.user.get_username()}")
        return self.answer(self.everything().get(pk=job.pk), s.JobDetailSerializer)
