"""The pages' forms as the API's validation: one set of rules, one set of messages.

An API field made by `form_field` carries its form field's bounds (so the schema shows them) but
judges nothing itself beyond the JSON shape: a serializer using `FormValidated` hands every such
value, as given, to the page's form, and answers with the form's verdict, cleaned values and words.
So whatever the page refuses the API refuses, saying the same thing (tests/portal/api/test_form_rules.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

from django import forms
from rest_framework import serializers

NOT_ONE_VALUE = "Give one value (a string or a number), not a list, an object or true/false."


class _JudgedByForm:
    """Mixed into a DRF field: only the shape is checked here; the form field of the same name
    (`form_name`) parses and judges the value. Its validators stay on the field for the schema."""

    def __init__(self, *, form_name: str, form_validators: list[Any], **options: Any) -> None:
        # Keyword arguments, not attributes: DRF copies a serializer's fields by calling them again.
        super().__init__(**options)
        self.form_name = form_name
        self.validators = list(form_validators)  # read by the schema only (maxLength, pattern)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) or not isinstance(data, str | int | float | Decimal):
            raise serializers.ValidationError(NOT_ONE_VALUE, code="invalid")
        return data

    def run_validators(self, value: Any) -> None:
        """The form runs the rules."""


class FormCharField(_JudgedByForm, serializers.CharField):
    pass


class FormIntegerField(_JudgedByForm, serializers.IntegerField):
    pass


class FormDecimalField(_JudgedByForm, serializers.DecimalField):
    pass


class FormFloatField(_JudgedByForm, serializers.FloatField):
    pass


class FormChoiceField(_JudgedByForm, serializers.ChoiceField):
    pass


def form_field(form_class: type[forms.Form], name: str, *, api_name: str | None = None, **options: Any) -> Any:
    """The API field for `form_class`'s field `name`: its type, bounds, help and default, judged by the form.

    `api_name`: what the field is called in the API when the names differ (the form's name is kept on the field).
    """
    field: Any = form_class.base_fields[name]  # Any: django-stubs types bounds as possibly callable
    options = {
        "help_text": field.help_text or None,
        "form_name": name,
        "form_validators": list(field.validators),
        **options,
    }
    if "default" not in options and "required" not in options:
        if field.initial is not None and not callable(field.initial):
            options["default"] = field.initial
        elif not field.required:
            options["required"] = False
    # Blank strings and surrounding spaces are the form's to judge and clean, as on the page.
    text: dict[str, Any] = {"allow_blank": True, "trim_whitespace": False}
    limits: dict[str, Any] = {
        "min_value": getattr(field, "min_value", None),
        "max_value": getattr(field, "max_value", None),
    }
    choices: Any = getattr(field, "choices", ())
    made: Any
    if isinstance(field, forms.ModelChoiceField):  # e.g. a pool by name: the form looks it up
        made = FormCharField(**text, **options)
    elif isinstance(field, forms.ChoiceField):
        made = FormChoiceField(choices=list(choices), **options)
    elif isinstance(field, forms.IntegerField):
        made = FormIntegerField(**limits, **options)
    elif isinstance(field, forms.DecimalField):
        made = FormDecimalField(max_digits=field.max_digits, decimal_places=field.decimal_places, **limits, **options)
    elif isinstance(field, forms.FloatField):
        made = FormFloatField(**limits, **options)
    elif isinstance(field, forms.CharField):
        made = FormCharField(max_length=field.max_length, **text, **options)
    else:
        raise TypeError(f"{form_class.__name__}.{name}: no API field for {type(field).__name__}")
    return made


def judged_fields(serializer: serializers.Serializer) -> dict[str, str]:
    """The serializer's fields judged by its form: API name -> form field name."""
    return {
        name: field.form_name
        for name, field in serializer.fields.items()
        if isinstance(field, _JudgedByForm) and not field.read_only
    }


class FormValidated(serializers.Serializer):
    """A serializer validated by a page's form (`form_class`, or what `make_form` builds).

    Fields made by `form_field` are judged by the form; the others (the object a request is about,
    such as a project or an allocation) are the serializer's own. A partial update fills in the
    object's current values (`current_form_data`), so the form judges the whole, as the page does.
    """

    form_class: ClassVar[type[forms.Form] | None] = None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.form: Any = None

    def make_form(self, data: dict[str, Any], attrs: Mapping[str, Any]) -> forms.Form:
        assert self.form_class is not None, f"{type(self).__name__} names no form_class"
        return self.form_class(data)

    def current_form_data(self) -> dict[str, Any]:
        """The object's values, by form field name, under a partial update."""
        instance = getattr(self, "instance", None)
        if instance is None:
            return {}
        return {form: getattr(instance, api) for api, form in judged_fields(self).items() if hasattr(instance, api)}

    def form_data(self, given: dict[str, Any], attrs: Mapping[str, Any]) -> dict[str, Any]:
        """What the form receives: the judged values as given (by form field name), over the current ones."""
        return {**(self.current_form_data() if self.partial else {}), **given}

    def to_internal_value(self, data: Any) -> Any:
        attrs = super().to_internal_value(data)
        judged = judged_fields(self)
        given = {form: attrs[api] for api, form in judged.items() if api in attrs}
        form = self.make_form(self.form_data(given, attrs), attrs)
        if not form.is_valid():
            by_form_name = {form_name: api for api, form_name in judged.items()}
            errors: dict[str, list[str]] = {}
            for name, messages in form.errors.items():
                api = by_form_name.get(name) or (name if name in self.fields else "non_field_errors")
                errors.setdefault(api, []).extend(str(message) for message in messages)
            raise serializers.ValidationError(errors)
        self.form = form
        cleaned = {
            api: form.cleaned_data[name]
            for api, name in judged.items()
            if name in form.cleaned_data and (api in attrs or not self.partial)
        }
        return {**attrs, **cleaned}
