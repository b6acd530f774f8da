"""A workflow refusal shown on the form that asked: each problem next to its field, all of them at once."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms

from portal.errors import WorkflowError


def show_refusal(form: forms.BaseForm, error: WorkflowError, *, fields: Mapping[str, str] | None = None) -> None:
    """Add each of the refusal's problems to `form`: next to its field where the form has it (`fields` renames a
    service's field to the form's), at the top of the form otherwise."""
    for field, message in error.problems:
        name = (fields or {}).get(field or "", field)
        form.add_error(name if name in form.fields else None, message)
