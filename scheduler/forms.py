"""Forms of the quota pages."""

from __future__ import annotations

import shlex

from django import forms

from portal.forms.validators import single_line
from scheduler.quota import JobRequest


class JobSubmitForm(forms.Form):
    """A training run within an allocation; the worst case is reserved on submission."""

    name = forms.CharField(max_length=200, required=False, validators=[single_line])
    entrypoint = forms.CharField(
        max_length=300, initial="train.py", validators=[single_line], help_text="Script run by every worker."
    )
    args = forms.CharField(
        max_length=2000, required=False, help_text="Arguments, shell-quoted, e.g. --epochs 5 --batch-size 64"
    )
    workers = forms.IntegerField(min_value=1, max_value=256, initial=2)
    accelerators_per_worker = forms.IntegerField(min_value=1, max_value=64, initial=1)
    max_runtime_minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, initial=60)
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=42)
    priority = forms.IntegerField(min_value=-10, max_value=10, initial=0, required=False)

    def clean_args(self) -> list[str]:
        try:
            return shlex.split(self.cleaned_data.get("args") or "")
        except ValueError as error:
            raise forms.ValidationError(f"Arguments could not be read: {error}.") from error

    def clean_entrypoint(self) -> str:
        entrypoint = self.cleaned_data["entrypoint"].strip()
        if entrypoint.startswith("/") or ".." in entrypoint.split("/"):
            raise forms.ValidationError("The entrypoint is a path inside the repository, e.g. train.py.")
        return entrypoint

    def job_request(self, **source: str) -> JobRequest:
        data = self.cleaned_data
        return JobRequest(
            name=data["name"],
            entrypoint=data["entrypoint"],
            args=data["args"],
            workers=data["workers"],
            accelerators_per_worker=data["accelerators_per_worker"],
            max_runtime_seconds=data["max_runtime_minutes"] * 60,
            seed=data["seed"],
            priority=data.get("priority") or 0,
            **source,
        )
