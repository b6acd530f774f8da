"""What the API reads and writes of the grant's life after the award (issue 17): progress reports, award
requests (extension, supplement, renewal), notices, tranche releases, reclaims and revocations.

The bodies are judged by the pages' forms where one exists (the report form, the decisions' forms), so the
API refuses what the pages refuse with the same words; the services decide the rest.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from rest_framework import serializers

from portal.api.form_rules import FormValidated, form_field
from portal.api.serializers import HoursField
from portal.forms.award_requests import AwardRequestDecisionForm
from portal.forms.progress_reports import ProgressReportForm, ReportDecisionForm
from portal.forms.validators import MAX_HOURS
from portal.models import AllocationNotice, AwardRequest, Call, ProgressReport
from portal.services.progress_reports import fingerprint_of
from scheduler.models import Allocation

HOUR = 3600


class ReleasedModelSerializer(serializers.Serializer):
    run = serializers.IntegerField(source="pk", read_only=True)
    fingerprint = serializers.SerializerMethodField(help_text="The SavedModel's checksum (fingerprint.pb).")

    def get_fingerprint(self, job: Any) -> str:
        return fingerprint_of(job)


class ProgressReportSerializer(serializers.ModelSerializer):
    """A progress or final report: when it is due, what the project wrote, and the decision."""

    url = serializers.HyperlinkedIdentityField(view_name="api:report-detail")
    project = serializers.IntegerField(source="allocation.project_id", read_only=True)
    title = serializers.CharField(read_only=True)
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    runs: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    released_models = ReleasedModelSerializer(many=True, read_only=True)
    submitted_by = serializers.CharField(source="submitted_by.username", read_only=True, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True)

    class Meta:
        model = ProgressReport
        fields = [
            "id",
            "url",
            "allocation",
            "project",
            "kind",
            "title",
            "months_after_award",
            "due_at",
            "state",
            "state_label",
            "work_done",
            "changes",
            "problems",
            "runs",
            "released_models",
            "submitted_at",
            "submitted_by",
            "decided_at",
            "decided_by",
            "decision_comment",
        ]
        read_only_fields = fields


class ReportSubmitSerializer(FormValidated):
    """The report, judged by the report page's form: the runs and models must be the allocation's own."""

    work_done = form_field(ProgressReportForm, "work_done")
    changes = form_field(ProgressReportForm, "changes")
    problems = form_field(ProgressReportForm, "problems")
    runs = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        default=list,
        max_length=1000,
        help_text="Ids of the allocation's runs the report links.",
    )
    released_models = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=2**63 - 1),
        required=False,
        default=list,
        max_length=1000,
        help_text="Ids of the allocation's runs whose SavedModel (with a fingerprint) the project releases.",
    )

    def form_data(self, given: dict[str, Any], attrs: Any) -> dict[str, Any]:
        return {**given, "runs": attrs.get("runs", []), "released_models": attrs.get("released_models", [])}

    def make_form(self, data: dict[str, Any], attrs: Any) -> ProgressReportForm:
        return ProgressReportForm(data, allocation=self.context["report"].allocation)

    def to_internal_value(self, data: Any) -> Any:
        attrs = super().to_internal_value(data)
        return {
            **attrs,
            "runs": self.form.cleaned_data["runs"],
            "released_models": self.form.cleaned_data["released_models"],
        }


class ReportDecisionSerializer(FormValidated):
    """Judged by the report page's decision form; releasing held hours is the maintainers'."""

    decision = form_field(ReportDecisionForm, "decision")
    comment = form_field(ReportDecisionForm, "comment")
    release_hours = form_field(ReportDecisionForm, "release_hours")

    def make_form(self, data: dict[str, Any], attrs: Any) -> ReportDecisionForm:
        return ReportDecisionForm(data, may_release=self.context["may_release"])


class AwardRequestSerializer(serializers.ModelSerializer):
    """A request on an award: a new end (extension), more hours (supplement) or a new application (renewal)."""

    url = serializers.HyperlinkedIdentityField(view_name="api:award-request-detail")
    project = serializers.IntegerField(source="allocation.project_id", read_only=True)
    hours = HoursField(source="seconds", help_text="Supplement: the accelerator-hours asked for.")
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    requested_by = serializers.CharField(source="requested_by.username", read_only=True, allow_null=True)
    decided_by = serializers.CharField(source="decided_by.username", read_only=True, allow_null=True)
    renewal: serializers.PrimaryKeyRelatedField = serializers.PrimaryKeyRelatedField(
        read_only=True, help_text="Renewal: the application it drafted, decided with the request."
    )

    class Meta:
        model = AwardRequest
        fields = [
            "id",
            "url",
            "allocation",
            "project",
            "kind",
            "state",
            "state_label",
            "new_expires_at",
            "seconds",
            "hours",
            "renewal",
            "reason",
            "requested_by",
            "created",
            "decided_by",
            "decided_at",
            "decision_message",
            "override_reason",
        ]
        read_only_fields = fields


class AwardRequestCreateSerializer(serializers.Serializer):
    """What a request asks: `new_end` for an extension, `hours` for a supplement, `call` for a renewal."""

    allocation = serializers.PrimaryKeyRelatedField(
        queryset=Allocation.objects.select_related("project", "pool"), help_text="An allocation of your project."
    )
    kind = serializers.ChoiceField(choices=AwardRequest.Kind.choices)
    new_end = serializers.DateTimeField(required=False, help_text="Extension: the new end (UTC).")
    hours = serializers.DecimalField(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_HOURS,
        required=False,
        help_text="Supplement: how many more accelerator-hours.",
    )
    call = serializers.PrimaryKeyRelatedField(
        queryset=Call.objects.all(), required=False, help_text="Renewal: the later open call to apply to."
    )
    reason = serializers.CharField(max_length=5000, help_text="Why the project asks.")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        needed = {
            AwardRequest.Kind.EXTENSION: ("new_end", "Say when the allocation should end instead."),
            AwardRequest.Kind.SUPPLEMENT: ("hours", "Say how many more accelerator-hours."),
            AwardRequest.Kind.RENEWAL: ("call", "Say which open call the renewal applies to."),
        }
        field, says = needed[attrs["kind"]]
        if attrs.get(field) is None:
            raise serializers.ValidationError({field: [says]})
        return attrs


class AwardRequestDecisionSerializer(FormValidated):
    """Judged by the requests page's decision form."""

    form_class = AwardRequestDecisionForm
    decision = form_field(AwardRequestDecisionForm, "decision")
    message = form_field(AwardRequestDecisionForm, "message")
    override_reason = form_field(AwardRequestDecisionForm, "override_reason")


class AllocationNoticeSerializer(serializers.ModelSerializer):
    """A notice about the allocation's terms, sent once (end of term, low usage, the end)."""

    kind_label = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = AllocationNotice
        fields = ["kind", "kind_label", "mailed", "sent_at"]
        read_only_fields = fields


class HoursAndReasonSerializer(serializers.Serializer):
    """Accelerator-hours moved (a tranche released, idle hours reclaimed) and why: the project reads it."""

    hours = serializers.DecimalField(max_digits=14, decimal_places=2, min_value=Decimal("0.01"), max_value=MAX_HOURS)
    reason = serializers.CharField(max_length=450)

    def seconds(self) -> int:
        return round(self.validated_data["hours"] * HOUR)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=450, help_text="Why: the project reads it.")
