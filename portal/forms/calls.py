"""Forms of the maintainer's pages: opening a call, deciding an application, assigning a reviewer.

They parse input; whether a call, an award or an assignment is acceptable (budgets, rubric,
conflicts of interest) is for portal.services.calls, portal.services.decisions and
portal.services.assignment to decide and explain.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils import timezone

from portal.forms.validators import MAX_HOURS, single_line
from portal.models import Call, User
from portal.services import calls as call_services
from portal.services.calls import DEFAULT_RUBRIC, Criterion
from scheduler.models import AcceleratorPool

HOUR = 3600
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S"]


def _datetime_field(label: str) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        input_formats=DATETIME_FORMATS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UTC.",
    )


def _hours_to_seconds(hours: Decimal) -> int:
    return round(hours * HOUR)


class CallForm(forms.Form):
    """The call itself, and one budget field per pool (left empty: the call does not offer that pool)."""

    title = forms.CharField(max_length=200, validators=[single_line])
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    opens_at = _datetime_field("Opens")
    closes_at = _datetime_field("Closes")
    reviews_per_application = forms.IntegerField(
        label="Reviews per application", initial=2, max_value=50, widget=forms.NumberInput(attrs={"min": 1})
    )
    conflict_same_affiliation = forms.BooleanField(
        label="Conflict when the reviewer's affiliation matches the project's organisation or a member's",
        required=False,
        initial=True,
        help_text="Project members and declared conflicts are never assigned, whatever this says.",
    )
    disagreement_threshold = forms.FloatField(
        label="Disagreement threshold",
        initial=Call._meta.get_field("disagreement_threshold").default,
        min_value=0.1,
        max_value=4,
        help_text="Reviews whose weighted scores (1-5) differ by more than this are flagged.",
    )
    award_validity_days = forms.IntegerField(
        label="Awards last (days)",
        initial=Call._meta.get_field("award_validity_days").default,
        min_value=1,
        max_value=3650,
    )
    report_months = forms.CharField(
        label="Progress reports due (months after the award)",
        required=False,
        max_length=100,
        help_text="Comma-separated, e.g. 1, 3, 9. A final report is due at the end of every award.",
    )
    overdue_reports_block_runs = forms.BooleanField(
        label="An overdue report stops new runs on the allocation until it is submitted",
        required=False,
    )
    idle_notice_days = forms.IntegerField(
        label="Low-usage notice after (days without a run)",
        required=False,
        min_value=1,
        max_value=3650,
        help_text=f"Empty: {Call._meta.get_field('idle_notice_days').default}. "
        "Maintainers may then reclaim idle hours.",
    )
    accept_over_capacity = forms.BooleanField(
        label="Keep these budgets although the pools cannot run them all in the call's period",
        required=False,
        widget=forms.CheckboxInput(attrs={"data-testid": "accept-over-capacity"}),
    )

    def clean_report_months(self) -> list[int]:
        text = self.cleaned_data.get("report_months") or ""
        parts = [part.strip() for part in text.split(",") if part.strip()]
        if not all(part.isdigit() and 1 <= int(part) <= 120 for part in parts):
            raise forms.ValidationError("Give whole months from 1 to 120, separated by commas, e.g. 1, 3, 9.")
        return sorted({int(part) for part in parts})

    def __init__(self, *args: Any, pools: Sequence[AcceleratorPool], **kwargs: Any) -> None:
        kwargs.setdefault("initial", {})
        now = timezone.now().replace(second=0, microsecond=0)
        kwargs["initial"].setdefault("opens_at", now)
        kwargs["initial"].setdefault("closes_at", now + timedelta(days=30))
        super().__init__(*args, **kwargs)
        self.pools = list(pools)
        self.over_capacity: list[call_services.CapacityShortfall] = []
        for pool in self.pools:
            self.fields[self.budget_field(pool)] = forms.DecimalField(
                label=f"{pool.name} budget (accelerator-hours)",
                max_digits=14,
                decimal_places=2,
                required=False,
                min_value=Decimal("0.01"),
                max_value=MAX_HOURS,
                error_messages={"min_value": "Give a positive number of accelerator-hours, or leave it empty."},
                widget=forms.NumberInput(attrs={"step": "any", "min": 0}),
                help_text=f"{pool.get_kind_display()}, {pool.capacity} accelerators. Empty: not offered.",
            )

    @classmethod
    def for_call(cls, call: Call, data: Any = None, *, pools: Sequence[AcceleratorPool]) -> CallForm:
        """The form of an existing call, filled in with its settings and budgets."""
        initial: dict[str, Any] = {name: getattr(call, name) for name in call_services.EDITABLE}
        initial["report_months"] = ", ".join(str(month) for month in call.report_months)
        for offer in call.call_pools.all():
            initial[call_services.budget_field(offer.pool_id)] = Decimal(offer.budget_seconds) / HOUR
        return cls(data, pools=pools, initial=initial)

    @staticmethod
    def budget_field(pool: AcceleratorPool) -> str:
        return call_services.budget_field(pool.pk)

    def clean(self) -> dict[str, Any]:
        """Budgets larger than their pool can run while the call's awards last are flagged next to their field,
        until the maintainer ticks accept_over_capacity: a warning, not a rule."""
        cleaned = super().clean() or {}
        opens_at, closes_at = cleaned.get("opens_at"), cleaned.get("closes_at")
        if opens_at and closes_at and closes_at <= opens_at:
            self.add_error("closes_at", "A call must close after it opens.")
        needed = ("opens_at", "closes_at", "award_validity_days")
        if self.errors or cleaned.get("accept_over_capacity") or not all(cleaned.get(name) for name in needed):
            return cleaned
        self.over_capacity = call_services.capacity_shortfalls(
            opens_at=cleaned["opens_at"],
            closes_at=cleaned["closes_at"],
            award_validity_days=cleaned["award_validity_days"],
            budgets=self.budgets(),
        )
        for shortfall in self.over_capacity:
            self.add_error(
                self.budget_field(shortfall.pool), f"{shortfall} Lower it, or tick the box below to keep it."
            )
        return cleaned

    def budget_fields(self) -> list[forms.BoundField]:
        return [self[self.budget_field(pool)] for pool in self.pools]

    def budgets(self) -> list[tuple[AcceleratorPool, int]]:
        """(pool, accelerator-seconds) for each pool given a budget."""
        given = [(pool, self.cleaned_data.get(self.budget_field(pool))) for pool in self.pools]
        return [(pool, _hours_to_seconds(hours)) for pool, hours in given if hours is not None]

    def options(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "title": data["title"].strip(),
            "description": data["description"].strip(),
            "opens_at": data["opens_at"],
            "closes_at": data["closes_at"],
            "reviews_per_application": data["reviews_per_application"],
            "conflict_same_affiliation": data["conflict_same_affiliation"],
            "disagreement_threshold": data["disagreement_threshold"],
            "award_validity_days": data["award_validity_days"],
            "report_months": data["report_months"],
            "overdue_reports_block_runs": data["overdue_reports_block_runs"],
            "idle_notice_days": data.get("idle_notice_days") or Call._meta.get_field("idle_notice_days").default,
        }


class CloseCallForm(forms.Form):
    reason = forms.CharField(
        label="Why close it now (kept in the audit log)",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class CriterionForm(forms.Form):
    """One rubric criterion; a row without a name is left out."""

    name = forms.CharField(max_length=100, required=False, validators=[single_line])
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    weight = forms.FloatField(required=False, widget=forms.NumberInput(attrs={"step": "any", "min": 0}))

    def criterion(self) -> Criterion | None:
        data = self.cleaned_data
        name = (data.get("name") or "").strip()
        if not name:
            return None
        weight = data.get("weight")
        return Criterion(name, (data.get("description") or "").strip(), 1.0 if weight is None else weight)


# Two empty rows below the default rubric, for criteria of the maintainer's own.
CriterionFormSet = forms.formset_factory(CriterionForm, extra=2, max_num=20, absolute_max=20, validate_max=True)


def rubric_formset(data: Any = None) -> Any:
    initial = [{"name": c.name, "description": c.description, "weight": c.weight} for c in DEFAULT_RUBRIC]
    return CriterionFormSet(data, initial=None if data is not None else initial, prefix="criteria")


def criteria_of(formset: Any) -> list[Criterion]:
    return [criterion for form in formset.forms if (criterion := form.criterion()) is not None]


class DecisionForm(forms.Form):
    """Award (with hours), decline or waitlist, with a message to the applicant."""

    AWARD, DECLINE, WAITLIST = "award", "decline", "waitlist"

    decision = forms.ChoiceField(
        label="Decision", choices=[(AWARD, "Award"), (DECLINE, "Decline"), (WAITLIST, "Waitlist")]
    )
    hours = forms.DecimalField(
        label="Accelerator-hours", max_digits=14, decimal_places=2, max_value=MAX_HOURS, required=False
    )
    held_hours = forms.DecimalField(
        label="Held for a later tranche",
        max_digits=14,
        decimal_places=2,
        min_value=0,
        max_value=MAX_HOURS,
        required=False,
        help_text="Accelerator-hours of the award kept back until a maintainer releases them "
        "(for example after an approved progress report); empty: all released now.",
    )
    message = forms.CharField(
        label="Message to the applicant", max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    # Where the row stood in the ranking, so a re-rendered row keeps its number.
    rank = forms.IntegerField(label="Rank", required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == self.AWARD and cleaned.get("hours") is None and "hours" not in self.errors:
            self.add_error("hours", "Say how many accelerator-hours to award.")
        held, hours = cleaned.get("held_hours"), cleaned.get("hours")
        if held and cleaned.get("decision") == self.AWARD and hours is not None and held >= hours:
            self.add_error("held_hours", "Release part of the award now: hold back less than the award.")
        return cleaned

    def seconds(self) -> int:
        return _hours_to_seconds(self.cleaned_data.get("hours") or Decimal(0))

    def held_seconds(self) -> int:
        return _hours_to_seconds(self.cleaned_data.get("held_hours") or Decimal(0))


class AssignReviewerForm(forms.Form):
    """A reviewer chosen by hand; the choices offered are the conflict-free candidates, least loaded first.

    Any active reviewer parses, so that a conflicted one (a stale page, a crafted request) gets the
    assignment service's explanation.
    """

    reviewer = forms.ModelChoiceField(queryset=User.objects.none(), empty_label=None, label="Reviewer")

    def __init__(self, *args: Any, reviewers: QuerySet[User], candidates: Iterable[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field: Any = self.fields["reviewer"]
        field.queryset = reviewers
        field.widget.choices = [
            (user.pk, f"{user} ({user.get_username()}; {getattr(user, 'load', 0)} open)") for user in candidates
        ]
