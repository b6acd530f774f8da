"""The error the workflow raises when it refuses a request; its message is shown to the user as is."""


class WorkflowError(Exception):
    """A request the grant workflow refuses (closed call, over budget, conflict...). Nothing changed."""
