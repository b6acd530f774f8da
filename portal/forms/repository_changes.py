"""Forms of the repository change pages: asking for another repository or commit, deciding on it.

They only parse input; what may change and when is decided by portal.services.repository_changes.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings


class RepositoryChangeForm(forms.Form):
    repository_url = forms.CharField(
        label="Repository",
        max_length=500,
        required=False,
        help_text="Empty: the project's current repository.",
    )
    ref = forms.CharField(
        label="Commit, branch or tag",
        max_length=200,
        required=False,
        help_text="For a git repository; empty: its default branch as it is now.",
    )
    reason = forms.CharField(
        label="Why the runs need it",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="The maintainers read it beside how the reproducibility report changes.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        where = f"An https git URL on {', '.join(settings.CG_GIT_ALLOWED_HOSTS)}"
        if settings.CG_ALLOW_LOCAL_REPOSITORIES:
            where += ", or the absolute path of a folder on this machine"
        self.fields["repository_url"].help_text = f"{where}. Empty: the project's current repository."


class RepositoryDecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "Approve"), ("decline", "Decline")])
    message = forms.CharField(
        label="Reason",
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Sent to the project's members and kept in the audit log.",
    )
