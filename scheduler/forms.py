"""Forms of the quota pages."""

from __future__ import annotations

import shlex
from typing import Any

from django import forms

from portal.forms.validators import single_line
from scheduler import entrypoints
from scheduler.models import AcceleratorPool
from scheduler.quota import JobRequest, hours


class JobSubmitForm(forms.Form):
    """A training run within an allocation; the worst case is reserved on submission."""

    name = forms.CharField(max_length=200, required=False, validators=[single_line])
    entrypoint = forms.CharField(
        max_length=300,
        initial="train.py",
        validators=[single_line],
        help_text="The script every worker runs, a path in the repository, with any arguments: " + entrypoints.EXAMPLE,
    )
    args = forms.CharField(
        max_length=2000, required=False, help_text="Arguments, shell-quoted, e.g. --epochs 5 --batch-size 64"
    )
    workers = forms.IntegerField(min_value=1, max_value=256, initial=2)
    accelerators_per_worker = forms.IntegerField(min_value=1, max_value=64, initial=1)
    max_runtime_minutes = forms.IntegerField(min_value=1, max_value=7 * 24 * 60, initial=60)
    seed = forms.IntegerField(min_value=0, max_value=2**31 - 1, initial=42)
    priority = forms.IntegerField(min_value=-10, max_value=10, initial=0, required=False)

    def __init__(self, *args: Any, pool: AcceleratorPool | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool = pool
        if pool is not None:  # offer what the pool allows, not the form's outer bound
            limit = pool.max_runtime_seconds // 60
            field = self.fields["max_runtime_minutes"]
            field.widget.attrs["max"] = limit
            field.help_text = f"At most {limit:,} minutes ({hours(pool.max_runtime_seconds)} h) on {pool.name}."

    def clean_max_runtime_minutes(self) -> int:
        minutes: int = self.cleaned_data["max_runtime_minutes"]
        if self.pool is not None and minutes * 60 > self.pool.max_runtime_seconds:
            limit = self.pool.max_runtime_seconds // 60
            raise forms.ValidationError(
                f"{self.pool.name} runs a job for at most {limit:,} minutes "
                f"({hours(self.pool.max_runtime_seconds)} h); ask for {limit:,} or fewer."
            )
        return minutes

    def clean_args(self) -> list[str]:
        try:
            return shlex.split(self.cleaned_data.get("args") or "")
        except ValueError as error:
            raise forms.ValidationError(f"Arguments could not be read: {error}.") from error

    def clean_entrypoint(self) -> str:
        """The entrypoint as its script and arguments, shell-quoted (`python train.py` is `train.py`)."""
        try:
            entrypoint = entrypoints.parse(self.cleaned_data["entrypoint"])
        except entrypoints.EntrypointError as error:
            raise forms.ValidationError(str(error)) from error
        return shlex.join([entrypoint.script, *entrypoint.args])

    def job_request(self, **source: str) -> JobRequest:
        data = self.cleaned_data
        entrypoint = entrypoints.parse(data["entrypoint"])
        return JobRequest(
            name=data["name"],
            # The entrypoint's own arguments come first, then the arguments field's.
            entrypoint=entrypoint.script,
            args=[*entrypoint.args, *data["args"]],
            workers=data["workers"],
            accelerators_per_worker=data["accelerators_per_worker"],
            max_runtime_seconds=data["max_runtime_minutes"] * 60,
            seed=data["seed"],
            priority=data.get("priority") or 0,
            **source,
        )
