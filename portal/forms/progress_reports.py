"""The report form (the project's) and the decision on it (a maintainer's or the award's reviewer's). They only
parse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from portal.forms.validators import MAX_HOURS
from portal.services.progress_reports import fingerprint_of, linkable_runs, releasable_models
from scheduler.models import Allocation, TrainingJob

HOUR = 3600
ONLY_MAINTAINERS_RELEASE = "Only maintainers release held hours; approve without them and a maintainer releases them."


class RunChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: TrainingJob) -> str:
        checksum = fingerprint_of(obj)
        model = f" · SavedModel {checksum}" if checksum else ""
        return f"Run {obj.pk} {obj.name or obj.entrypoint} ({obj.state}){model}"


class ProgressReportForm(forms.Form):
    work_done = forms.CharField(label="What was done", max_length=20000, widget=forms.Textarea(attrs={"rows": 6}))
    changes = forms.CharField(
        label="What changed from the plan", max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    problems = forms.CharField(
        label="Problems", max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 4})
    )
    runs = RunChoices(
        label="Runs this report covers",
        queryset=TrainingJob.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    released_models = RunChoices(
        label="Models released (a run's SavedModel, by its fingerprint)",
        queryset=TrainingJob.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    def __init__(self, *args: Any, allocation: Allocation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["runs"].queryset = linkable_runs(allocation)  # type: ignore[attr-defined]
        with_models = [job.pk for job in releasable_models(allocation)]
        self.fields["released_models"].queryset = TrainingJob.objects.filter(pk__in=with_models)  # type: ignore[attr-defined]


class ReportDecisionForm(forms.Form):
    APPROVE, RETURN = "approve", "return"

    decision = forms.ChoiceField(label="Decision", choices=[(APPROVE, "Approve"), (RETURN, "Return for changes")])
    comment = forms.CharField(
        label="Comment to the project",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required when returning: what to change.",
    )
    release_hours = forms.DecimalField(
        label="Release held accelerator-hours with the approval",
        max_digits=14,
        decimal_places=2,
        min_value=0,
        max_value=MAX_HOURS,
        required=False,
        help_text="Empty: none.",
    )

    def __init__(self, *args: Any, may_release: bool = True, **kwargs: Any) -> None:
        # Releasing held hours stays with maintainers (scheduler.release_tranche); a reviewer approves without.
        super().__init__(*args, **kwargs)
        self.may_release = may_release
        if not may_release:
            del self.fields["release_hours"]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if not self.may_release and str(self.data.get("release_hours") or "").strip() not in ("", "0"):
            self.add_error("decision", ONLY_MAINTAINERS_RELEASE)
        return cleaned

    def release_seconds(self) -> int:
        return round((self.cleaned_data.get("release_hours") or Decimal(0)) * HOUR)
