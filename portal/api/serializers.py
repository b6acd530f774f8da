"""What the API reads and writes. Serializers validate shapes and bounds; services decide the rest."""

from __future__ import annotations

import shlex
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.authtoken.models import Token
from rest_framework.reverse import reverse

from portal.api.form_rules import FormValidated, form_field
from portal.api.refusals import non_field_key
from portal.errors import WorkflowError
from portal.forms.applications import ApplicationForm, WithdrawForm
from portal.forms.calls import DecisionForm
from portal.forms.projects import ProjectForm
from portal.models import Application, Call, CallPool, Project, ProjectInvitation, RubricCriterion
from portal.services import invitations as invitation_services
from portal.services import projects as project_services
from reproducibility.models import Snapshot
from scheduler import selectors as scheduler_selectors
from scheduler.forms import JobSubmitForm
from scheduler.models import Allocation, JobEvent, TrainingJob

HOUR = 3600


@extend_schema_field(OpenApiTypes.DOUBLE)
class HoursField(serializers.ReadOnlyField):
    """Accelerator-seconds shown as accelerator-hours."""

    def to_representation(self, value: int) -> float:
        return round(value / HOUR, 4)


def _user(serializer: serializers.Serializer) -> Any:
    return serializer.context["request"].user


# --- calls ---------------------------------------------------------------------------------


class CallPoolSerializer(serializers.ModelSerializer):
    pool = serializers.CharField(source="pool.name", read_only=True)
    kind = serializers.CharField(source="pool.kind", read_only=True)
    capacity = serializers.IntegerField(source="pool.capacity", read_only=True)
    remaining_seconds = serializers.IntegerField(read_only=True)
    budget_hours = HoursField(source="budget_seconds")
    remaining_hours = HoursField(source="remaining_seconds")

    class Meta:
        model = CallPool
        fields = ["pool", "kind", "capacity", "budget_seconds", "remaining_seconds", "budget_hours", "remaining_hours"]
        read_only_fields = fields


class RubricCriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = RubricCriterion
        fields = ["name", "description", "weight"]
        read_only_fields = fields


class CallSerializer(serializers.ModelSerializer):
    pools = CallPoolSerializer(source="call_pools", many=True, read_only=True)
    rubric = RubricCriterionSerializer(source="criteria", many=True, read_only=True)

    class Meta:
        model = Call
        fields = [
            "id",
            "slug",
            "title",
            "description",
            "opens_at",
            "closes_at",
            "reviews_per_application",
            "pools",
            "rubric",
        ]
        read_only_fields = fields


# --- projects ------------------------------------------------------------------------------


class ProjectSerializer(FormValidated, serializers.ModelSerializer):
    """A project; its fields are judged by the project page's form (portal.api.form_rules)."""

    form_class = ProjectForm
    url = serializers.HyperlinkedIdentityField(view_name="api:project-detail")
    owner = serializers.CharField(source="owner.username", read_only=True)
    name = form_field(ProjectForm, "name")
    organisation = form_field(ProjectForm, "organisation")
    repository_url = form_field(
        ProjectForm, "repository_url", help_text="An https git URL, or a local folder where the operator allows it."
    )
    licence = form_field(ProjectForm, "licence")
    description = form_field(ProjectForm, "description")
    members: serializers.Field = serializers.SlugRelatedField(
        many=True,
        slug_field="username",
        read_only=True,
        help_text="Usernames of the project's other members (the owner is always one). People join by accepting "
        "an invitation: POST /api/v1/projects/{id}/invitations/.",
    )

    class Meta:
        model = Project
        fields = [
            "id",
            "url",
            "slug",
            "name",
            "owner",
            "members",
            "organisation",
            "repository_url",
            "licence",
            "description",
            "created",
        ]
        read_only_fields = ["id", "url", "slug", "owner", "created"]

    def to_internal_value(self, data: Any) -> Any:
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            # The form refused some fields: what the workflow refuses about the others comes in the same
            # answer (a taken name beside a bad licence), not one round trip later.
            raise serializers.ValidationError(self._with_workflow_problems(error.detail, data)) from error

    def _with_workflow_problems(self, detail: Any, data: Any) -> Any:
        if not isinstance(detail, dict) or not hasattr(data, "get"):
            return detail
        owner = self.instance.owner if self.instance is not None else _user(self)
        given = {name: data.get(name) for name in ("name", "repository_url") if name not in detail}
        merged = dict(detail)
        for field, message in project_services.problems_with(owner, project=self.instance, **given):
            merged.setdefault(field or non_field_key(), []).append(message)
        return merged

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Members are never set directly (that made people members without their consent); giving the
        # list back unchanged, as a client that read the project and writes it back does, is fine.
        given = self.initial_data.get("members") if hasattr(self.initial_data, "get") else None
        if given is not None:
            current = sorted(self.instance.members.values_list("username", flat=True)) if self.instance else []
            if not isinstance(given, list) or sorted(str(name) for name in given) != current:
                raise serializers.ValidationError({"members": MEMBERS_ARE_INVITED})
        return attrs


MEMBERS_ARE_INVITED = (
    "Members are not set directly: invite people with POST /api/v1/projects/{id}/invitations/ "
    '{"invitee": "<username or email>"}; they become members when they accept.'
)


class InvitationSerializer(serializers.ModelSerializer):
    """An invitation to a project, named as the inviter typed it: it never says whether an account exists."""

    url = serializers.HyperlinkedIdentityField(view_name="api:invitation-detail")
    project_name = serializers.CharField(source="project.name", read_only=True)
    inviter = serializers.CharField(source="inviter.username", read_only=True, allow_null=True)
    state = serializers.SerializerMethodField(help_text="pending, accepted, declined, revoked or expired.")

    class Meta:
        model = ProjectInvitation
        fields = ["id", "url", "project", "project_name", "invitee_name", "inviter", "state", "created", "expires_at"]
        read_only_fields = fields

    def get_state(self, invitation: ProjectInvitation) -> str:
        if invitation.state == ProjectInvitation.State.PENDING and not invitation.is_open:
            return ProjectInvitation.State.EXPIRED.value
        return str(invitation.state)


class InviteSerializer(serializers.Serializer):
    invitee = serializers.CharField(max_length=254, help_text="A username or an email address.")

    def validate_invitee(self, value: str) -> str:
        try:
            return invitation_services.invitee_key(value)
        except WorkflowError as error:
            raise serializers.ValidationError(str(error)) from error


class MemberSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150, help_text="The member to take off the project.")


# --- snapshots and applications ------------------------------------------------------------


def _latest_report(snapshot: Snapshot) -> Any:
    newest_first = getattr(snapshot, "reports_newest_first", None)
    if newest_first is not None:
        return newest_first[0] if newest_first else None
    return snapshot.latest_report


SUMMARIES: dict[str, str] = {
    Snapshot.Status.QUEUED: "scoring…",
    Snapshot.Status.FETCHING: "scoring…",
    Snapshot.Status.SCORING: "scoring…",
    Snapshot.Status.DONE: "scored",
    Snapshot.Status.FAILED: "failed",
}


class SnapshotSerializer(serializers.ModelSerializer):
    """A repository snapshot: 'scoring…' until its report is ready, or why fetching it failed."""

    summary = serializers.SerializerMethodField(help_text="scoring…, scored or failed.")
    score = serializers.SerializerMethodField(help_text="Reproducibility score (0-100) once scored.")
    level = serializers.SerializerMethodField(help_text="none, bronze, silver or gold once scored.")
    report = serializers.SerializerMethodField(help_text="Where the Scorecard-shaped report is, once scored.")

    class Meta:
        model = Snapshot
        fields = ["id", "status", "summary", "error", "source", "commit", "score", "level", "report", "created"]
        read_only_fields = fields

    def get_summary(self, snapshot: Snapshot) -> str:
        return SUMMARIES.get(snapshot.status, snapshot.status)

    def get_score(self, snapshot: Snapshot) -> float | None:
        report = _latest_report(snapshot)
        return report.score if report else None

    def get_level(self, snapshot: Snapshot) -> str | None:
        report = _latest_report(snapshot)
        return report.level if report else None

    def get_report(self, snapshot: Snapshot) -> str | None:
        if _latest_report(snapshot) is None:
            return None
        return reverse("api:snapshot-report", args=[snapshot.pk], request=self.context.get("request"))


class ApplicationSerializer(serializers.ModelSerializer):
    """An application as its applicants, assigned reviewers and maintainers see it."""

    url = serializers.HyperlinkedIdentityField(view_name="api:application-detail")
    call_title = serializers.CharField(source="call.title", read_only=True)
    project_name = serializers.CharField(source="project.name", read_only=True)
    pool = serializers.CharField(source="pool.name", read_only=True)
    requested_hours = HoursField(source="requested_seconds")
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    snapshot = SnapshotSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Application
        fields = [
            "id",
            "url",
            "call",
            "call_title",
            "project",
            "project_name",
            "pool",
            "requested_seconds",
            "requested_hours",
            "justification",
            "entrypoint",
            "workers",
            "accelerators_per_worker",
            "expected_runs",
            "state",
            "state_label",
            "snapshot",
            "allocation",
            "decision_message",
            "submitted_at",
            "decided_at",
            "created",
            "updated",
        ]
        read_only_fields = fields


class ApplicationDraftSerializer(FormValidated):
    """The plan of a draft (the instance), judged by the application page's form; a PATCH changes only
    what it gives."""

    pool = form_field(ApplicationForm, "pool", help_text="Pool name, e.g. nvidia-v100.")
    requested_hours = form_field(ApplicationForm, "requested_hours", help_text="Accelerator-hours asked for.")
    justification = form_field(ApplicationForm, "justification")
    entrypoint = form_field(ApplicationForm, "entrypoint")
    workers = form_field(ApplicationForm, "workers")
    accelerators_per_worker = form_field(ApplicationForm, "accelerators_per_worker")
    expected_runs = form_field(ApplicationForm, "expected_runs")

    def make_form(self, data: dict[str, Any], attrs: Any) -> ApplicationForm:
        assert self.instance is not None, "the draft being changed"
        return ApplicationForm.for_draft(self.instance, data)

    def current_form_data(self) -> dict[str, Any]:
        assert self.instance is not None, "the draft being changed"
        return dict(ApplicationForm.for_draft(self.instance).initial)


class ApplicationCreateSerializer(ApplicationDraftSerializer):
    """A new draft: a project the user belongs to, an open call, and the plan."""

    project = serializers.PrimaryKeyRelatedField(
        queryset=Project.objects.all(), help_text="A project you own or belong to."
    )
    call = serializers.PrimaryKeyRelatedField(queryset=Call.objects.all(), help_text="An open call (see /calls/).")

    def make_form(self, data: dict[str, Any], attrs: Any) -> ApplicationForm:
        # Membership is the view's to check (403, as the pages answer), so the form offers this project only.
        project = attrs["project"]
        form_data = {**data, "project": project.pk}
        return ApplicationForm(form_data, call=attrs["call"], projects=Project.objects.filter(pk=project.pk))


class WithdrawSerializer(FormValidated):
    form_class = WithdrawForm
    reason = form_field(WithdrawForm, "reason")


class DecisionSerializer(FormValidated):
    """Judged by the form of the maintainer's ranking page."""

    form_class = DecisionForm
    decision = form_field(DecisionForm, "decision")
    awarded_hours = form_field(DecisionForm, "hours", help_text="Accelerator-hours to award (award only).")
    held_hours = form_field(DecisionForm, "held_hours")
    message = form_field(DecisionForm, "message")


# --- allocations and jobs ------------------------------------------------------------------


class AllocationSerializer(serializers.ModelSerializer):
    """An award of accelerator-seconds on one pool, with its balances (cached from the ledger)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:allocation-detail")
    project_name = serializers.CharField(source="project.name", read_only=True)
    pool = serializers.CharField(source="pool.name", read_only=True)
    awarded_seconds = serializers.IntegerField(source="awarded", read_only=True)
    reserved_seconds = serializers.IntegerField(source="reserved", read_only=True)
    used_seconds = serializers.IntegerField(source="used", read_only=True)
    remaining_seconds = serializers.IntegerField(source="remaining", read_only=True)
    held_seconds = serializers.IntegerField(
        source="held", read_only=True, help_text="Later tranches: in the award, not reservable until released."
    )
    awarded_hours = HoursField(source="awarded")
    reserved_hours = HoursField(source="reserved")
    used_hours = HoursField(source="used")
    remaining_hours = HoursField(source="remaining")

    class Meta:
        model = Allocation
        fields = [
            "id",
            "url",
            "project",
            "project_name",
            "pool",
            "state",
            "starts_at",
            "expires_at",
            "awarded_seconds",
            "reserved_seconds",
            "used_seconds",
            "remaining_seconds",
            "held_seconds",
            "awarded_hours",
            "reserved_hours",
            "used_hours",
            "remaining_hours",
        ]
        read_only_fields = fields


class JobSerializer(serializers.ModelSerializer):
    url = serializers.HyperlinkedIdentityField(view_name="api:job-detail")
    project = serializers.IntegerField(source="allocation.project_id", read_only=True)
    pool = serializers.CharField(source="pool.name", read_only=True)
    submitted_by = serializers.CharField(source="submitted_by.username", read_only=True, allow_null=True)

    class Meta:
        model = TrainingJob
        fields = [
            "id",
            "url",
            "allocation",
            "project",
            "pool",
            "name",
            "entrypoint",
            "args",
            "image",
            "workers",
            "accelerators_per_worker",
            "max_runtime_seconds",
            "priority",
            "seed",
            "repository_url",
            "commit",
            "snapshot",
            "source_basis",
            "state",
            "cancel_requested",
            "submitted_by",
            "submitted_at",
            "admitted_at",
            "started_at",
            "finished_at",
            "reserved_seconds",
            "charged_seconds",
            "failure_reason",
            "exit_code",
            "progress",
        ]
        read_only_fields = fields


class JobEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobEvent
        fields = ["from_state", "to_state", "at", "message"]
        read_only_fields = fields


class JobDetailSerializer(JobSerializer):
    """A job with its timeline and, while queued, its place in the pool's queue."""

    events = JobEventSerializer(many=True, read_only=True)
    queue_position = serializers.SerializerMethodField()
    estimated_start = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "events", "queue_position", "estimated_start"]
        read_only_fields = fields

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queue_rows: dict[int, Any] = {}

    def _queue_row(self, job: TrainingJob) -> Any:
        if job.pk not in self._queue_rows:  # position and estimate come from one computation
            self._queue_rows[job.pk] = scheduler_selectors.queue_position(job)
        return self._queue_rows[job.pk]

    def get_queue_position(self, job: TrainingJob) -> int | None:
        row = self._queue_row(job)
        return row.position if row else None

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_estimated_start(self, job: TrainingJob) -> str | None:
        row = self._queue_row(job)
        return row.estimated_start.isoformat() if row else None


class JobSubmitSerializer(FormValidated):
    """A training run on an allocation. Judged by the run page's form, then by the quota."""

    form_class = JobSubmitForm

    allocation = serializers.PrimaryKeyRelatedField(
        queryset=Allocation.objects.select_related("project", "pool"),
        help_text="An allocation of a project you belong to.",
    )
    name = form_field(JobSubmitForm, "name")
    entrypoint = form_field(JobSubmitForm, "entrypoint")
    args = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=2000),
        required=False,
        default=list,
        max_length=200,
        help_text='Arguments given to the entrypoint, one string each, e.g. ["--epochs", "5"].',
    )
    workers = form_field(JobSubmitForm, "workers")
    accelerators_per_worker = form_field(JobSubmitForm, "accelerators_per_worker")
    max_runtime_minutes = form_field(JobSubmitForm, "max_runtime_minutes")
    seed = form_field(JobSubmitForm, "seed")
    priority = form_field(JobSubmitForm, "priority")

    def form_data(self, given: dict[str, Any], attrs: Any) -> dict[str, Any]:
        return {**given, "args": shlex.join(attrs.get("args", []))}  # the page takes them shell-quoted

    def make_form(self, data: dict[str, Any], attrs: Any) -> JobSubmitForm:
        allocation = attrs.get("allocation")  # the pool's own limits, as on the allocation's page
        return JobSubmitForm(data, pool=allocation.pool if allocation else None)


class TokenSerializer(serializers.ModelSerializer):
    class Meta:
        model = Token
        fields = ["key", "created"]
        read_only_fields = fields


class TokenStatusSerializer(serializers.Serializer):
    exists = serializers.BooleanField(read_only=True)
    created = serializers.DateTimeField(read_only=True, allow_null=True)
