"""Forms of the project pages: creating a project and choosing its members.

They only parse input; where the repository may come from is decided by portal.projects.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.conf import settings
from django.db.models import Q

from portal.models import User

# An SPDX licence identifier or expression (e.g. "Apache-2.0", "MIT OR Apache-2.0",
# "GPL-2.0-only WITH Classpath-exception-2.0").
SPDX_ID = r"(?:LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.+-]*"
SPDX_EXPRESSION = re.compile(rf"^\(?{SPDX_ID}\)?(?:\s+(?:AND|OR|WITH)\s+\(?{SPDX_ID}\)?)*$")
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


class MembersField(forms.CharField):
    """Usernames or email addresses, separated by commas, spaces or new lines, as the users they name."""

    widget = forms.Textarea(attrs={"rows": 2})

    def to_python(self, value: Any) -> list[User]:  # type: ignore[override]
        names = list(dict.fromkeys(n for n in re.split(r"[\s,;]+", super().to_python(value) or "") if n))
        if not names:
            return []
        query = Q(username__in=[n for n in names if "@" not in n])
        for email in (n for n in names if "@" in n):
            query |= Q(email__iexact=email)  # addresses are unique whatever their case
        by_key: dict[str, User] = {}
        for user in User.objects.filter(query, is_active=True):
            by_key[user.username] = by_key[user.email.casefold()] = user
        missing = [n for n in names if _key(n) not in by_key]
        if missing:
            raise forms.ValidationError(
                "No account for %(names)s. Each member signs up first; then add them by username or email.",
                params={"names": ", ".join(missing)},
                code="unknown_member",
            )
        return list(dict.fromkeys(by_key[_key(n)] for n in names))

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list | tuple) and all(isinstance(v, User) for v in value):
            return ", ".join(user.username for user in value)
        return value


def _key(name: str) -> str:
    return name.casefold() if "@" in name else name


def repository_help() -> str:
    allowed = ", ".join(settings.CG_GIT_ALLOWED_HOSTS)
    text = f"An https git URL on {allowed}"
    if settings.CG_ALLOW_LOCAL_REPOSITORIES:
        text += ", or the absolute path of a folder on this machine"
    return text + ". Or leave this empty and upload an archive below."


class ProjectForm(forms.Form):
    name = forms.CharField(max_length=200)
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
    organisation = forms.CharField(max_length=200, required=False)
    members = MembersField(
        label="Other members",
        required=False,
        help_text="Usernames or email addresses of people who already have an account, separated by commas. "
        "Members can edit the project and its applications.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["repository_url"].help_text = repository_help()

    def clean_licence(self) -> str:
        licence = self.cleaned_data["licence"].strip()
        if licence and not SPDX_EXPRESSION.match(licence):
            raise forms.ValidationError(
                "Give an SPDX licence identifier such as Apache-2.0 or MIT (see spdx.org/licenses)."
            )
        return licence

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("repository_url", "").strip() and cleaned.get("archive"):
            raise forms.ValidationError("Give a repository URL or upload an archive, not both.")
        return cleaned


class ProjectMembersForm(forms.Form):
    members = MembersField(
        label="Other members",
        required=False,
        help_text="Usernames or email addresses, separated by commas. The owner is always a member.",
    )
