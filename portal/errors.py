"""The error the workflow raises when it refuses a request; its message is shown to the user as is."""


class WorkflowError(Exception):
    """A request the grant workflow refuses (closed call, over budget, conflict...). Nothing changed.

    `field`: the form field the refusal is about, where it is one, so pages show it next to that field.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
