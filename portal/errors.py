"""The error the workflow raises when it refuses a request; its message is shown to the user as is."""

from __future__ import annotations

from collections.abc import Sequence

# (form field or None, message): one reason a request was refused.
Problem = tuple[str | None, str]


class WorkflowError(Exception):
    """A request the grant workflow refuses (closed call, over budget, conflict...). Nothing changed.

    `field`: the form field the refusal is about, where it is one, so pages show it next to that field.
    `problems`: every reason found, each with its field, so a page shows them all in one round trip.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.problems: list[Problem] = [(field, message)]

    @classmethod
    def collected(cls, problems: Sequence[Problem]) -> WorkflowError:
        """One refusal carrying every problem found (the first one's field is `field`)."""
        error = cls(" ".join(message for _, message in problems), field=problems[0][0])
        error.problems = list(problems)
        return error


def refuse_if_any(problems: Sequence[Problem]) -> None:
    """Raise the problems found as one WorkflowError; nothing if there are none."""
    if problems:
        raise WorkflowError.collected(problems)
