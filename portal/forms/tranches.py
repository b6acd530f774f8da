"""The maintainer's form releasing held hours of an award. It only parses; portal.services.tranches decides."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from portal.forms.validators import MAX_HOURS

HOUR = 3600


class TrancheReleaseForm(forms.Form):
    hours = forms.DecimalField(
        label="Accelerator-hours to release",
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        max_value=MAX_HOURS,
    )
    reason = forms.CharField(
        label="Why (to the project)",
        max_length=450,
        help_text="For example: the 3-month progress report was approved.",
    )

    def seconds(self) -> int:
        return round(self.cleaned_data["hours"] * HOUR)
