"""Refusals as the API answers them: 400, every reason keyed by the request's field, all at once.

The shape is DRF's own validation error, so a client reads a refused request (a closed call, a
repository fixed under review, too little quota) the way it reads a malformed one:
`{"repository_url": ["why"], "non_field_errors": ["why"]}`. A reason about a field the request
does not have (or about no field) goes under `non_field_errors`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from typing import NoReturn

from drf_spectacular.utils import OpenApiResponse
from rest_framework.exceptions import ValidationError
from rest_framework.serializers import BaseSerializer
from rest_framework.settings import api_settings

from portal.errors import Problem, WorkflowError
from scheduler import quota


def non_field_key() -> str:
    return str(api_settings.NON_FIELD_ERRORS_KEY)


def by_field(problems: Iterable[Problem], fields: Collection[str]) -> dict[str, list[str]]:
    """The problems' messages keyed by field, in the order found; fields not in `fields` go under non_field_errors."""
    answer: dict[str, list[str]] = {}
    for field, message in problems:
        key = field if field is not None and field in fields else non_field_key()
        answer.setdefault(key, []).append(message)
    return answer


def writable_fields(serializer: BaseSerializer | None) -> set[str]:
    """The names a client writes in `serializer`'s request: the only keys a refusal may use besides non_field_errors."""
    if serializer is None:
        return set()
    fields = getattr(serializer, "fields", {})
    return {name for name, field in fields.items() if not field.read_only}


@contextmanager
def refusals(serializer: BaseSerializer | None = None) -> Iterator[None]:
    """Turn the services' refusals into 400 answers keyed by `serializer`'s fields (the request's)."""
    fields = writable_fields(serializer)
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
