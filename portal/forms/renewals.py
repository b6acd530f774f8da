"""The renewal form: the later call to continue the award in, and why. It only parses."""

from __future__ import annotations

from typing import Any

from django import forms

from portal.services.renewals import renewal_calls
from scheduler.models import Allocation


class RenewalForm(forms.Form):
    call: forms.ModelChoiceField = forms.ModelChoiceField(
        label="Call to renew in",
        queryset=None,
        empty_label=None,
        help_text="An open call other than the one that made the award.",
        error_messages={"invalid_choice": "Choose one of the open calls listed; the award's own call is not one."},
    )
    reason = forms.CharField(
        label="Why the project should go on",
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What the award achieved and what the next round would do; reviewers read it beside the old award.",
    )

    def __init__(self, *args: Any, allocation: Allocation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["call"].queryset = renewal_calls(allocation)  # type: ignore[attr-defined]
