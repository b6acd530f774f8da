"""Writes: each module is one workflow of the portal (applications, reviews, decisions, awards and
what follows them), plain functions that take and return model instances and raise WorkflowError
with a message for the user."""
