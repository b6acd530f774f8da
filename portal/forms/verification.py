"""The maintainer's form for a call's verification runs; portal.services.verification decides what is acceptable."""

from __future__ import annotations

from decimal import Decimal

from django import forms

from portal.forms.validators import MAX_HOURS
from scheduler.models import AcceleratorPool


class VerificationPolicyForm(forms.Form):
    enabled = forms.BooleanField(required=False, label="Verify every submitted application")
    pool = forms.ModelChoiceField(
        queryset=AcceleratorPool.objects.order_by("kind", "name"),
        label="Verification pool",
        help_text="Where the runs go; a CPU pool is enough for a few minutes of training.",
    )
    minutes = forms.IntegerField(min_value=1, max_value=120, initial=10, label="Time box (minutes per run)")
    workers = forms.IntegerField(min_value=1, max_value=8, initial=2, label="Workers per run (TF_CONFIG)")
    repeat = forms.BooleanField(required=False, initial=True, label="Repeat with the same seed and compare")
    budget_hours = forms.DecimalField(
        min_value=Decimal(0),
        max_value=MAX_HOURS,
        decimal_places=2,
        label="Verification budget (accelerator-hours)",
        help_text="Charged for what the runs use, never to the applicants' awards.",
    )
