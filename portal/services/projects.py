"""Projects: creating them and checking where their repository comes from."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction

from portal.errors import Problem, WorkflowError, refuse_if_any
from portal.models import Project, User
from portal.services import audit, invitations, repository_changes
from portal.services.calls import unique_slug
from reproducibility.services import check_local_source, source_kind
from reproducibility.snapshots import SnapshotError
from reproducibility.snapshots.git import check_url

ARCHIVE_SUFFIXES = (".zip", ".tar.gz", ".tgz", ".tar")


def uploads_root() -> Path:
    return Path(settings.DATA_DIR) / "uploads"


def _no_dns(host: str, port: int) -> list[str]:
    # Addresses are checked when the clone resolves the host (once, pinned); here only the form.
    return ["93.184.216.34"]  # any public address: the check of the address itself is skipped


# ssh://git@github.com/org/repo.git and git@github.com:org/repo.git (scp-like).
SSH_URLS = (
    re.compile(r"^ssh://(?:[\w.-]+@)?(?P<host>[\w.-]+)(?::\d+)?/(?P<path>\S+)$", re.I),
    re.compile(r"^[\w.-]+@(?P<host>[\w.-]+):(?!\d+/)(?P<path>\S+)$"),
)


def check_repository_source(source: str) -> str:
    """The repository source, cleaned, or a WorkflowError saying why it is refused."""
    source = source.strip()
    if not source:
        raise WorkflowError("Give the project's repository: an https git URL.", field="repository_url")
    ssh = next((m for m in (pattern.match(source) for pattern in SSH_URLS) if m), None)
    if ssh:  # else read as a local folder name and answered "not an absolute path"
        https = f"https://{ssh['host']}/{ssh['path'].lstrip('/')}"
        raise WorkflowError(
            f"The portal fetches repositories over https, not SSH: use the https URL, e.g. {https}",
            field="repository_url",
        )
    kind = source_kind(source)
    if kind == "git":
        try:
            check_url(source, settings.CG_GIT_ALLOWED_HOSTS, resolve=_no_dns)
        except SnapshotError as error:
            raise WorkflowError(str(error), field="repository_url") from error
        return source
    if kind == "archive":
        # Archives only come from uploads: a typed path must never make the server read its own files.
        path = Path(source).resolve()
        if not path.is_relative_to(uploads_root().resolve()) or not _exists(path, "file"):
            raise WorkflowError("Archives must be uploaded, not given as a path.", field="repository_url")
        return str(path)
    if not settings.CG_ALLOW_LOCAL_REPOSITORIES:
        raise WorkflowError(
            "Give an https git URL (local folders are not accepted on this portal).", field="repository_url"
        )
    try:
        path = Path(source).expanduser()
    except RuntimeError:  # ~name of no user on this machine
        path = Path(source)
    if not path.is_absolute() or not _exists(path, "dir"):
        raise WorkflowError(f"{source} is not an absolute path to a folder on this machine.", field="repository_url")
    try:
        check_local_source(path)
    except SnapshotError as error:
        raise WorkflowError(str(error), field="repository_url") from error
    return str(path.resolve())


def _exists(path: Path, kind: str) -> bool:
    try:
        return path.is_dir() if kind == "dir" else path.is_file()
    except OSError:  # e.g. a name longer than the filesystem allows
        return False


def store_upload(name: str, stream: IO[bytes], max_bytes: int) -> str:
    """Keep an uploaded archive under the uploads folder and return its path (the project's source)."""
    suffix = next((s for s in ARCHIVE_SUFFIXES if name.lower().endswith(s)), None)
    if suffix is None:
        raise WorkflowError("Upload a .zip, .tar.gz or .tar archive of the repository.", field="archive")
    folder = uploads_root()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{uuid.uuid4().hex}{suffix}"
    written = 0
    with target.open("wb") as out:
        while chunk := stream.read(1 << 20):
            written += len(chunk)
            if written > max_bytes:
                out.close()
                target.unlink(missing_ok=True)
                raise WorkflowError(f"The archive is larger than {max_bytes // (1 << 20)} MB.", field="archive")
            out.write(chunk)
    return str(target)


def check_name_free(owner: User, name: str, *, besides: Project | None = None) -> None:
    """Refuse a second project of the same name (any case) in one account: lists could not tell them apart."""
    same = Project.objects.filter(owner=owner, name__iexact=name.strip())
    if besides is not None:
        same = same.exclude(pk=besides.pk)
    if same.exists():
        raise WorkflowError(
            f"You already have a project named {name.strip()}; give this one another name.", field="name"
        )


def problems_with(owner: User, *, project: Project | None = None, **given: Any) -> list[Problem]:
    """What creating (or, with `project`, updating) a project would refuse about the `given` name and
    repository, each with its field; nothing is changed. Values that are not text are left to the caller."""
    problems: list[Problem] = []
    name, source = given.get("name"), given.get("repository_url")
    if isinstance(name, str):
        try:
            check_name_free(owner, name, besides=project)
        except WorkflowError as error:
            problems += error.problems
    if isinstance(source, str):
        try:
            cleaned = check_repository_source(source)
            if project is not None:
                repository_changes.check_editable(project, cleaned)
        except WorkflowError as error:
            problems += error.problems
    return problems


@transaction.atomic
def create_project(
    owner: User,
    *,
    name: str,
    repository_url: str,
    licence: str = "",
    description: str = "",
    organisation: str = "",
    invitees: Iterable[str] = (),
) -> Project:
    """A new project owned by `owner`; its repository source is checked first.

    `invitees`: usernames or email addresses invited to join (they are members once they accept).
    """
    problems: list[Problem] = []
    source = ""
    try:
        source = check_repository_source(repository_url)
    except WorkflowError as error:
        problems += error.problems
    try:
        check_name_free(owner, name)
    except WorkflowError as error:
        problems += error.problems
    refuse_if_any(problems)  # every reason at once, as the page shows them
    project = Project.objects.create(
        name=name.strip(),
        slug=unique_slug(Project, name),
        owner=owner,
        repository_url=source,
        licence=licence.strip(),
        description=description,
        organisation=organisation.strip(),
    )
    audit.record(owner, "project.created", project)
    for name in invitees:
        invitations.invite(project, name, actor=owner)
    return project


@transaction.atomic
def update_project(project: Project, *, actor: Any, **fields: Any) -> Project:
    """Change a project's details; a changed repository is checked like a new one.

    Members are not among them: they join by accepting an invitation (portal.services.invitations).
    """
    problems: list[Problem] = []
    if "name" in fields:
        try:
            check_name_free(project.owner, fields["name"], besides=project)
        except WorkflowError as error:
            problems += error.problems
    if "repository_url" in fields:
        try:
            fields["repository_url"] = check_repository_source(fields["repository_url"])
            repository_changes.check_editable(project, fields["repository_url"])  # before any field is set
        except WorkflowError as error:
            problems += error.problems
    refuse_if_any(problems)
    for name, value in fields.items():
        setattr(project, name, value)
    project.save()
    audit.record(actor, "project.updated", project, fields=sorted(fields))
    return project
