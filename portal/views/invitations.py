"""Members and invitations: a project's members page, and the invitee's answer to an invitation."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.errors import WorkflowError
from portal.forms.projects import InviteForm
from portal.forms.workflow_errors import show_refusal
from portal.models import Project, ProjectInvitation, User
from portal.services import invitations


def _project_for(request: HttpRequest, pk: int, perm: str) -> Project:
    project = get_object_or_404(Project.objects.select_related("owner"), pk=pk)
    if not request.user.has_perm(perm, project):
        raise PermissionDenied("Only the project's members change its members.")
    return project


@login_required
@require_http_methods(["GET", "POST"])
def project_members(request: HttpRequest, pk: int) -> HttpResponse:
    """The members, the invitations and their states, and a form to invite more."""
    project = _project_for(request, pk, "portal.change_project")
    form = InviteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        names = form.cleaned_data["invitees"]
        try:
            for name in names:
                invitations.invite(project, name, actor=request.user)
        except WorkflowError as error:
            show_refusal(form, error)
        else:
            # The same words whether or not the names have accounts.
            for name in names:
                messages.success(request, invitations.SENT.format(name=name))
            return redirect("portal:project_members", pk=project.pk)
    context = {
        "project": project,
        "form": form,
        "members": list(project.members.order_by("username")),
        "invitations": list(invitations.invitations_of(project)[:100]),
    }
    return render(request, "portal/projects/members.html", context, status=400 if form.errors else 200)


def _done(request: HttpRequest, work: Callable[[], object], success: str, back: str, *args: object) -> HttpResponse:
    """Run one service call; say what happened or why it was refused, and go back."""
    try:
        work()
    except WorkflowError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, success)
    return redirect(back, *args)


@login_required
@require_POST
def invitation_revoke(request: HttpRequest, pk: int, invitation_pk: int) -> HttpResponse:
    project = _project_for(request, pk, "portal.change_project")
    invitation = get_object_or_404(ProjectInvitation, pk=invitation_pk, project=project)
    return _done(
        request,
        lambda: invitations.revoke(invitation, actor=request.user),
        f"Invitation to {invitation.invitee_name} revoked.",
        "portal:project_members",
        project.pk,
    )


@login_required
@require_POST
def member_remove(request: HttpRequest, pk: int, user_pk: int) -> HttpResponse:
    project = _project_for(request, pk, "portal.change_project")
    member = get_object_or_404(User, pk=user_pk)
    return _done(
        request,
        lambda: invitations.remove_member(project, member, actor=request.user),
        f"{member.username} is no longer a member.",
        "portal:project_members",
        project.pk,
    )


@login_required
@require_POST
def project_leave(request: HttpRequest, pk: int) -> HttpResponse:
    """A member leaves; only the project's own people may ask (the owner is told they cannot)."""
    project = _project_for(request, pk, "portal.view_project")
    if not project.is_member(request.user):  # type: ignore[arg-type]
        raise PermissionDenied("You are not a member of this project.")
    try:
        invitations.leave(project, actor=request.user)
    except WorkflowError as error:
        messages.error(request, str(error))
        return redirect("portal:project_detail", pk=project.pk)
    messages.success(request, f"You left {project}.")
    return redirect("portal:home")


@login_required
@require_GET
def invitation_list(request: HttpRequest) -> HttpResponse:
    """The invitations waiting for the signed-in user's answer."""
    waiting = invitations.open_invitations_for(request.user)
    return render(request, "portal/invitations/list.html", {"invitations": waiting})


def _invitation_for(request: HttpRequest, token: str) -> ProjectInvitation:
    # Only the invitee finds it: anyone else (even holding the link) gets the same 404 as a wrong token.
    invitation = ProjectInvitation.objects.select_related("project__owner", "inviter").filter(token=token).first()
    if invitation is None or invitation.invitee_id != request.user.pk:
        raise Http404("No such invitation.")
    return invitation


@login_required
@require_GET
def invitation_detail(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_for(request, token)
    return render(request, "portal/invitations/detail.html", {"invitation": invitation})


@login_required
@require_POST
def invitation_accept(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_for(request, token)
    try:
        invitations.accept(invitation, actor=request.user)
    except WorkflowError as error:
        messages.error(request, str(error))
        return redirect("portal:invitation_detail", token=token)
    messages.success(request, f"You are now a member of {invitation.project}.")
    return redirect("portal:project_detail", pk=invitation.project_id)


@login_required
@require_POST
def invitation_decline(request: HttpRequest, token: str) -> HttpResponse:
    invitation = _invitation_for(request, token)
    return _done(
        request,
        lambda: invitations.decline(invitation, actor=request.user),
        f"You declined to join {invitation.project}.",
        "portal:invitation_list",
    )
