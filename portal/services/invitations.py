"""Project membership by invitation: invite, accept or decline, revoke, leave, remove.

Membership is a conflict of interest (portal.services.assignment), so nobody becomes a member without saying
yes: an invitation only offers it. Inviting answers the same whether the name has an account or not
(same message, same work: one row and one queued delivery), so the form tells nobody who is
registered. An invitation to an address without an account waits; someone who later signs up with
that address finds it on their dashboard. One to a username without an account waits until it
expires.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from portal.errors import WorkflowError
from portal.models import Project, ProjectInvitation, User
from portal.services import assignment, audit, notifications

S = ProjectInvitation.State
# More open invitations than any real project needs: a cap on a project's people sending mail.
MAX_PENDING_PER_PROJECT = 50
USERNAME_MAX = 150

SENT = "Invitation to {name} recorded. {name} becomes a member on accepting it."
NOT_FOR_YOU = "This invitation is not addressed to you."
BAD_NAME = "{name!r} is neither an email address nor a username."
TOO_MANY = f"The project has {MAX_PENDING_PER_PROJECT} invitations waiting; revoke some first."
OWNER_STAYS = "The owner cannot leave the project."


def invitee_key(raw: str) -> str:
    """The name as stored and compared: an email address casefolded, a username as typed (trimmed)."""
    name = raw.strip()
    if "@" in name:
        try:
            validate_email(name)
        except ValidationError as error:
            raise WorkflowError(BAD_NAME.format(name=name)) from error
        return name.casefold()
    try:
        UnicodeUsernameValidator()(name)
    except ValidationError as error:
        raise WorkflowError(BAD_NAME.format(name=name)) from error
    if not name or len(name) > USERNAME_MAX:
        raise WorkflowError(BAD_NAME.format(name=name))
    return name


def _account_named(key: str) -> User | None:
    if "@" in key:
        return User.objects.filter(email__iexact=key, is_active=True).first()
    return User.objects.filter(username=key, is_active=True).first()


def _expire(invitations: QuerySet[ProjectInvitation]) -> None:
    invitations.filter(state=S.PENDING, expires_at__lte=timezone.now()).update(
        state=S.EXPIRED, answered_at=timezone.now()
    )


@transaction.atomic
def invite(project: Project, name: str, *, actor: Any) -> ProjectInvitation:
    """Offer membership of `project` to a username or email address; the same name twice gives one invitation.

    The caller may change the project (checked by the view). Whether the name has an account is
    never part of the answer.
    """
    key = invitee_key(name)
    project = Project.objects.select_for_update().get(pk=project.pk)  # one pending row per name, counted once
    _expire(project.invitations.all())
    existing = project.invitations.filter(state=S.PENDING, invitee_name=key).first()
    if existing is not None:
        return existing
    if project.invitations.filter(state=S.PENDING).count() >= MAX_PENDING_PER_PROJECT:
        raise WorkflowError(TOO_MANY)
    invitation = ProjectInvitation.objects.create(
        project=project,
        invitee_name=key,
        invitee=_account_named(key),
        inviter=actor if getattr(actor, "pk", None) else None,
    )
    audit.record(actor, "project.invited", project, invitee=key)
    _queue_delivery(invitation)
    return invitation


def _queue_delivery(invitation: ProjectInvitation) -> None:
    # Queued whether or not an account was found, so both answers cost the request the same.
    from portal.tasks import deliver_invitation

    transaction.on_commit(partial(deliver_invitation.delay, invitation.pk))


def deliver(invitation_id: int) -> bool:
    """Email the invitee a link to the invitation, if it is still open and names an account."""
    invitation = (
        ProjectInvitation.objects.select_related("project", "invitee", "inviter").filter(pk=invitation_id).first()
    )
    if invitation is None or not invitation.is_open or invitation.invitee is None:
        return False
    notifications.notify("project_invitation", [invitation.invitee], invitation=invitation)
    return True


def open_invitations_for(user: Any) -> QuerySet[ProjectInvitation]:
    """The invitations waiting for `user`'s answer, newest first."""
    return ProjectInvitation.objects.filter(
        invitee=user, state=S.PENDING, expires_at__gt=timezone.now()
    ).select_related("project", "inviter")


def invitations_of(project: Project) -> QuerySet[ProjectInvitation]:
    """A project's invitations, newest first, as its people see them (by the name typed)."""
    _expire(project.invitations.all())
    return project.invitations.select_related("inviter", "invitee")


@transaction.atomic
def bind_to_account(user: User) -> int:
    """Give a new account the open invitations sent to its email address before it existed."""
    if not user.email:
        return 0
    waiting = ProjectInvitation.objects.filter(
        invitee__isnull=True, invitee_name=user.email.strip().casefold(), state=S.PENDING, expires_at__gt=timezone.now()
    )
    bound = list(waiting.select_for_update())
    for invitation in bound:
        invitation.invitee = user
        invitation.save(update_fields=["invitee"])
        _queue_delivery(invitation)
    return len(bound)


def _locked(invitation: ProjectInvitation) -> ProjectInvitation:
    # A pending invitation past its date is refused here and marked expired by the next sweep
    # (`_expire`): a refusal rolls back whatever its transaction wrote.
    locked = ProjectInvitation.objects.select_for_update().select_related("project").get(pk=invitation.pk)
    if locked.state == S.PENDING and not locked.is_open:
        raise WorkflowError(f"This invitation expired on {locked.expires_at:%Y-%m-%d}; ask for a new one.")
    return locked


def _answerable(invitation: ProjectInvitation, actor: Any) -> ProjectInvitation:
    locked = _locked(invitation)
    if locked.invitee_id is None or locked.invitee_id != getattr(actor, "pk", None):
        raise WorkflowError(NOT_FOR_YOU)
    if locked.state != S.PENDING:
        raise WorkflowError(f"This invitation is {locked.get_state_display().lower()}; it can no longer be answered.")
    return locked


def _close(invitation: ProjectInvitation, state: str) -> None:
    invitation.state, invitation.answered_at = state, timezone.now()
    invitation.save(update_fields=["state", "answered_at"])


@transaction.atomic
def accept(invitation: ProjectInvitation, *, actor: Any) -> ProjectInvitation:
    """The invitee says yes: they become a member, and so can no longer review the project's applications."""
    locked = _answerable(invitation, actor)
    _close(locked, S.ACCEPTED)
    project = locked.project
    if actor.pk != project.owner_id:
        project.members.add(actor)
    audit.record(actor, "project.joined", project, invitee=locked.invitee_name)
    # A reviewer who joins the project now has a conflict: their open reviews of it go to someone else.
    assignment.end_for_new_member(project, actor)
    return locked


@transaction.atomic
def decline(invitation: ProjectInvitation, *, actor: Any) -> ProjectInvitation:
    """The invitee says no; nothing else changes."""
    locked = _answerable(invitation, actor)
    _close(locked, S.DECLINED)
    audit.record(actor, "project.invitation_declined", locked.project, invitee=locked.invitee_name)
    return locked


@transaction.atomic
def revoke(invitation: ProjectInvitation, *, actor: Any) -> ProjectInvitation:
    """Withdraw an invitation that has not been answered (the view checks the actor may change the project)."""
    locked = _locked(invitation)
    if locked.state != S.PENDING:
        raise WorkflowError(f"This invitation is {locked.get_state_display().lower()}; only a pending one is revoked.")
    _close(locked, S.REVOKED)
    audit.record(actor, "project.invitation_revoked", locked.project, invitee=locked.invitee_name)
    return locked


@transaction.atomic
def leave(project: Project, *, actor: Any) -> None:
    """A member leaves the project."""
    if actor.pk == project.owner_id:
        raise WorkflowError(OWNER_STAYS)
    if not project.members.filter(pk=actor.pk).exists():
        raise WorkflowError("You are not a member of this project.")
    project.members.remove(actor)
    audit.record(actor, "project.left", project, member=actor.username)


@transaction.atomic
def remove_member(project: Project, member: User, *, actor: Any) -> None:
    """Take a member off the project (the view checks the actor may change it)."""
    if member.pk == project.owner_id:
        raise WorkflowError("The owner cannot be removed from the project.")
    if not project.members.filter(pk=member.pk).exists():
        raise WorkflowError(f"{member.username} is not a member of this project.")
    project.members.remove(member)
    audit.record(actor, "project.member_removed", project, member=member.username)
