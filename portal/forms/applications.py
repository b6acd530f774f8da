"""Forms of the application pages: the application with its training plan, and withdrawal.

They parse input into a portal.services.applications.Plan; whether the call can serve the plan (its pools,
budget, window, the pool's size) is for portal.services.applications to decide and explain.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet

from portal.errors import WorkflowError
from portal.forms.validators import MAX_HOURS, single_line
from portal.forms.workflow_errors import show_refusal
from portal.models import Application, Call, Project
from portal.services.applications import Plan, check_plan
from scheduler import entrypoints
from scheduler.models import AcceleratorPool

HOUR = 3600
# The database keeps workers, accelerators per worker and runs as small integers.
SMALL_INT_MAX = 32767


def _count(label: str, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        initial=1,
        max_value=SMALL_INT_MAX,
        # Not the database's limit in the user's face: the pool they choose sets the real one.
        error_messages={"max_value": "No pool is that large; the pool you choose sets the limit (see its size)."},
        help_text=help_text,
        widget=forms.NumberInput(attrs={"min": 1}),
    )


class ApplicationForm(forms.Form):
    project = forms.ModelChoiceField(queryset=Project.objects.none(), empty_label=None)
    # Any pool parses, so that one the call does not offer gets the workflow's explanation.
    pool = forms.ModelChoiceField(
        label="Accelerator pool",
        queryset=AcceleratorPool.objects.all(),
        to_field_name="name",
        empty_label=None,
        error_messages={"invalid_choice": "There is no pool named %(value)s."},
    )
    requested_hours = forms.DecimalField(
        label="Requested accelerator-hours",
        max_digits=12,
        decimal_places=2,
        max_value=MAX_HOURS,
        help_text="Accelerators times hours: 2 workers with 1 GPU each for 50 hours is 100 accelerator-hours.",
        widget=forms.NumberInput(attrs={"min": 0, "step": "any"}),
    )
    justification = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text="What you will train, why it matters to the community, and why these hours.",
    )
    entrypoint = forms.CharField(
        label="Training entrypoint",
        max_length=300,
        required=False,
        validators=[single_line],
        help_text="The script that trains, a path in the repository, with its arguments, e.g. "
        + entrypoints.EXAMPLE
        + " (what you give each run).",
    )
    workers = _count("Workers", "Processes trained together (MultiWorkerMirroredStrategy).")
    accelerators_per_worker = _count("Accelerators per worker", "")
    expected_runs = _count("Expected runs", "How many training runs you plan within the award.")

    def __init__(self, *args: Any, call: Call, projects: QuerySet[Project], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.call = call
        project_field: Any = self.fields["project"]
        project_field.queryset = projects
        # The choices offered are the call's pools, with what is left of their budget.
        pool_field: Any = self.fields["pool"]
        pool_field.widget.choices = [
            (
                offer.pool.name,
                f"{offer.pool.name} ({offer.pool.get_kind_display()}, {offer.pool.capacity} accelerators; "
                f"{offer.remaining_seconds / HOUR:,.0f} h left in this call)",
            )
            for offer in call.call_pools.select_related("pool")
        ]

    @classmethod
    def for_draft(cls, application: Application, data: Any = None) -> ApplicationForm:
        """The form of an existing draft: its project is fixed, its plan filled in."""
        form = cls(
            data,
            call=application.call,
            projects=Project.objects.filter(pk=application.project_id),
            initial={
                "project": application.project_id,
                "pool": application.pool.name,
                "requested_hours": (Decimal(application.requested_seconds) / HOUR).quantize(Decimal("0.01")),
                "justification": application.justification,
                "entrypoint": application.entrypoint,
                "workers": application.workers,
                "accelerators_per_worker": application.accelerators_per_worker,
                "expected_runs": application.expected_runs,
            },
        )
        form.fields["project"].disabled = True
        return form

    def clean(self) -> dict[str, Any]:
        """Whether the call can serve the plan (its pools, budget, the pool's size), each problem next to its
        field, together with the fields' own errors: one round trip shows them all."""
        cleaned = super().clean() or {}
        needed = ("pool", "requested_hours", "workers", "accelerators_per_worker", "expected_runs")
        # A closed call's refusal comes first and alone (portal.services.applications.save_draft).
        if self.call.is_open() and all(cleaned.get(name) is not None for name in needed):
            try:
                check_plan(self.call, self.plan())
            except WorkflowError as error:
                show_refusal(self, error)
        return cleaned

    def clean_entrypoint(self) -> str:
        """Empty, or a script and its arguments as the run form takes them (scheduler.entrypoints);
        kept as written, which the run form takes as it is."""
        text = self.cleaned_data["entrypoint"].strip()
        if text:
            try:
                entrypoints.parse(text)
            except entrypoints.EntrypointError as error:
                raise forms.ValidationError(str(error)) from error
        return text

    def plan(self) -> Plan:
        data = self.cleaned_data
        return Plan(
            pool=data["pool"],
            requested_seconds=round(data["requested_hours"] * HOUR),
            justification=data.get("justification", "").strip(),
            entrypoint=data.get("entrypoint", "").strip(),
            workers=data["workers"],
            accelerators_per_worker=data["accelerators_per_worker"],
            expected_runs=data["expected_runs"],
        )


class WithdrawForm(forms.Form):
    reason = forms.CharField(
        label="Reason (optional)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Shown in the application's history; reviewers are told it was withdrawn.",
    )
