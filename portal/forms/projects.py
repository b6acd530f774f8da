"""Forms of the project pages: creating a project and inviting its members.

They only parse input; where the repository may come from is decided by portal.services.projects.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings

from portal.errors import WorkflowError
from portal.forms.validators import single_line, spdx_licence
from portal.services import invitations

# Offered as suggestions (a <datalist>); any SPDX identifier is accepted.
COMMON_LICENCES = (
    "Apache-2.0",
    "MIT",
    "BSD-3-Clause",
    "BSD-2-Clause",
    "MPL-2.0",
    "GPL-3.0-only",
    "GPL-3.0-or-later",
    "LGPL-3.0-only",
    "AGPL-3.0-only",
    "CC-BY-4.0",
    "Unlicense",
)
ARCHIVE_TYPES = ".zip,.tar.gz,.tgz,.tar"


# Names one form may invite at once.
MAX_INVITEES = 20


class InviteesField(forms.CharField):
    """Usernames or email addresses, separated by commas, spaces or new lines, checked for shape only.

    Whether a name has an account is never looked up here: the answer would tell who is registered.
    """

    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        names = list(dict.fromkeys(n for n in re.split(r"[\s,;]+", super().to_python(value) or "") if n))
        if len(names) > MAX_INVITEES:
            raise forms.ValidationError(f"Invite at most {MAX_INVITEES} people at once.", code="too_many")
        keys = []
        for name in names:
            try:
                keys.append(invitations.invitee_key(name))
            except WorkflowError as error:
                raise forms.ValidationError(str(error), code="bad_name") from error
        return list(dict.fromkeys(keys))


def repository_help() -> str:
    allowed = ", ".join(settings.CG_GIT_ALLOWED_HOSTS)
    text = f"An https git URL on {allowed}"
    if settings.CG_ALLOW_LOCAL_REPOSITORIES:
        text += ", or the absolute path of a folder on this machine"
    return text + ". Or leave this empty and upload an archive below."


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200, validators=[single_line])
    repository_url = forms.CharField(label="Repository", max_length=500, required=False)
    archive = forms.FileField(
        label="…or upload the repository as an archive",
        required=False,
        help_text="A .zip, .tar.gz or .tar file of the repository.",
        widget=forms.ClearableFileInput(attrs={"accept": ARCHIVE_TYPES}),
    )
    licence = forms.CharField(
        label="Licence (SPDX identifier)",
        max_length=100,
        required=False,
        help_text="For example Apache-2.0, MIT or BSD-3-Clause.",
        widget=forms.TextInput(attrs={"list": "spdx-licences", "autocomplete": "off"}),
    )
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    organisation = forms.CharField(max_length=200, required=False, validators=[single_line])
    invitees = InviteesField(
        label="Invite members",
        required=False,
        help_text="Usernames or email addresses, separated by commas. Each person becomes a member on accepting "
        "the invitation; members can edit the project and its applications.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["repository_url"].help_text = repository_help()

    def clean_licence(self) -> str:
        return spdx_licence(self.cleaned_data["licence"])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("repository_url", "").strip() and cleaned.get("archive"):
            raise forms.ValidationError("Give a repository URL or upload an archive, not both.")
        return cleaned


class ProjectEditForm(forms.Form):
    """A project's name, repository and details. While the project is reviewed or awarded its repository is
    fixed (portal.services.repository_changes): the field is shown disabled, with the way to ask for a change."""

    name = forms.CharField(max_length=200, validators=[single_line])
    repository_url = forms.CharField(label="Repository", max_length=500)
    licence = ProjectForm.base_fields["licence"]
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), required=False)
    organisation = forms.CharField(max_length=200, required=False, validators=[single_line])

    def __init__(self, data: Any = None, *, project: Any, repository_locked_because: str = "") -> None:
        fields = ("name", "repository_url", "licence", "description", "organisation")
        super().__init__(data, initial={name: getattr(project, name) for name in fields})
        self.project = project
        repository = self.fields["repository_url"]
        if repository_locked_because:
            repository.disabled = True
            repository.help_text = (
                f"Fixed while {repository_locked_because}: ask a maintainer with a repository change request."
            )
        else:
            repository.help_text = repository_help().removesuffix(" Or leave this empty and upload an archive below.")

    def clean_licence(self) -> str:
        return spdx_licence(self.cleaned_data["licence"])

    def changes(self) -> dict[str, Any]:
        """The fields whose value differs from the project's, as the project keeps them."""
        given = {**self.cleaned_data, "name": self.cleaned_data["name"].strip()}
        given["organisation"] = given["organisation"].strip()
        return {name: value for name, value in given.items() if getattr(self.project, name) != value}


class InviteForm(forms.Form):
    invitees = InviteesField(
        label="Invite",
        help_text="Usernames or email addresses, separated by commas. Each becomes a member on accepting; "
        "an address without an account waits until someone signs up with it.",
    )
