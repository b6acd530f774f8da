"""Forms of award requests: the project's request and the maintainer's decision. They only parse."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from portal.forms.validators import MAX_HOURS
from portal.models import AwardRequest

HOUR = 3600


class AwardRequestForm(forms.Form):
    # A renewal has its own form (portal.forms.renewals): it drafts an application rather than asking a figure.
    kind = forms.ChoiceField(
        label="Request", choices=[c for c in AwardRequest.Kind.choices if c[0] != AwardRequest.Kind.RENEWAL]
    )
    new_end = forms.DateTimeField(
        label="New end (extension)",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        help_text="UTC.",
    )
    hours = forms.DecimalField(
        label="More accelerator-hours (supplement)",
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_HOURS,
    )
    reason = forms.CharField(label="Why", max_length=5000, widget=forms.Textarea(attrs={"rows": 3}))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        if kind == AwardRequest.Kind.EXTENSION and not cleaned.get("new_end") and "new_end" not in self.errors:
            self.add_error("new_end", "Say when the allocation should end instead.")
        if kind == AwardRequest.Kind.SUPPLEMENT and cleaned.get("hours") is None and "hours" not in self.errors:
            self.add_error("hours", "Say how many more accelerator-hours.")
        return cleaned

    def seconds(self) -> int:
        return round((self.cleaned_data.get("hours") or Decimal(0)) * HOUR)


class AwardRequestDecisionForm(forms.Form):
    APPROVE, DECLINE = "approve", "decline"

    decision = forms.ChoiceField(label="Decision", choices=[(APPROVE, "Approve"), (DECLINE, "Decline")])
    message = forms.CharField(label="Message to the project", max_length=5000, required=False)
    override_reason = forms.CharField(
        label="Why more than half the award (supplements only)", max_length=2000, required=False
    )
