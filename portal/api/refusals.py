"""Refusals as the API answers them: 400, every reason keyed by the request's field, all at once.

The shape is DRF's own validation error, so a client reads a refused request (a closed call, a
repository fixed under review, too little quota) the way it reads a malformed one:
`{"repository_url": ["why"], "non_field_errors": ["why"]}`. A reason about a field the request
does not have (or about no field) goes under `non_field_errors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import NoReturn

from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import ValidationError
from rest_framework.serializers import BaseSerializer, Serializer
from rest_framework.settings import api_settings

from portal.api.form_rules import judged_fields
from portal.errors import Problem, WorkflowError
from scheduler import quota


def non_field_key() -> str:
    return str(api_settings.NON_FIELD_ERRORS_KEY)


def by_field(problems: Iterable[Problem], fields: Mapping[str, str]) -> dict[str, list[str]]:
    """The problems' messages keyed by the request's field (`fields`: a service's field name -> the request's),
    in the order found; a problem about no field of the request goes under non_field_errors."""
    answer: dict[str, list[str]] = {}
    for field, message in problems:
        key = fields.get(field, non_field_key()) if field is not None else non_field_key()
        answer.setdefault(key, []).append(message)
    return answer


def request_fields(serializer: BaseSerializer | None) -> dict[str, str]:
    """The fields a client writes in `serializer`'s request, by the name the services and pages give them:
    a field judged by a page's form under another name (awarded_hours is the decision form's hours) by both."""
    if serializer is None:
        return {}
    writable = [name for name, field in getattr(serializer, "fields", {}).items() if not field.read_only]
    names = {name: name for name in writable}
    if isinstance(serializer, Serializer):
        names.update({form_name: api for api, form_name in judged_fields(serializer).items()})
    return names


@contextmanager
def refusals(serializer: BaseSerializer | None = None) -> Iterator[None]:
    """Turn the services' refusals into 400 answers keyed by `serializer`'s fields (the request's)."""
    fields = request_fields(serializer)
    try:
        yield
    except WorkflowError as error:
        raise ValidationError(by_field(error.problems, fields)) from error
    except quota.EntrypointError as error:  # the script is not in what the run executes
        raise ValidationError(by_field([("entrypoint", str(error))], fields)) from error
    except quota.QuotaError as error:
        raise ValidationError(by_field([(None, str(error))], fields)) from error


def refuse(message: str, field: str | None = None) -> NoReturn:
    """Refuse the request for one reason, under `field` (a field of the request) or non_field_errors."""
    raise ValidationError({field or non_field_key(): [message]})


REFUSED = OpenApiResponse(
    {
        "type": "object",
        "description": "Each reason under the request field it is about; reasons about no one field under "
        "non_field_errors. A body that is not JSON answers detail instead.",
        "properties": {
            "non_field_errors": {"type": "array", "items": {"type": "string"}},
            "detail": {"type": "string"},
        },
        "additionalProperties": {"type": "array", "items": {"type": "string"}},
        "example": {
            "name": ["You already have a project named Digits; give this one another name."],
            "repository_url": [
                "The portal fetches repositories over https, not SSH: use the https URL, e.g. https://github.com/org/repo"
            ],
        },
    },
    description="Refused, every reason at once, keyed by field as a malformed field is; nothing changed.",
)
