"""DRF permission: each action of a viewset names the object permissions it needs.

The rules themselves live in portal.access.permissions (asked through `user.has_perm(perm, obj)`),
the same rules the pages use. A signed-in user refused an object gets 403, as on the pages.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

# What a refusal says, per permission.
DENIED = {
    "portal.view_project": "You may not see this project.",
    "portal.change_project": "Only the project's members can change this project.",
    "portal.view_application": "You may not see this application.",
    "portal.change_application": "Only the project's members can change this application.",
    "portal.decide_application": "Only maintainers decide applications.",
    "portal.view_projectinvitation": "You may not see this invitation.",
    "portal.answer_projectinvitation": "This invitation is not addressed to you.",
    "portal.revoke_projectinvitation": "Only the project's members revoke its invitations.",
    "scheduler.view_allocation": "This allocation belongs to another project.",
    "scheduler.submit_job": "Only the project's members can launch runs on this allocation.",
    "scheduler.view_trainingjob": "This run belongs to another project.",
    "scheduler.cancel_trainingjob": "Only the project's members and maintainers can cancel this run.",
    "reproducibility.view_snapshot": "You may not see this report.",
    "portal.write_report": "Only the project's members write its reports.",
    "portal.decide_report": "Only maintainers and the award's reviewers decide on its reports.",
    "portal.decide_award_request": "Only maintainers decide on requests.",
    "scheduler.release_tranche": "Only maintainers release held hours.",
    "scheduler.reclaim_hours": "Only maintainers reclaim idle hours.",
    "scheduler.revoke_allocation": "Only maintainers revoke allocations.",
}


class ObjectRules(BasePermission):
    """Grants an action on an object when the user has every permission the view lists for it.

    Views declare `object_permissions = {"retrieve": ("portal.view_project",), ...}`; an action
    missing from the mapping is refused, so a new action cannot be left open by accident.
    """

    message = "You may not do this."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        required = getattr(view, "object_permissions", {}).get(view.action)
        if required is None:
            return False
        for perm in required:
            if not request.user.has_perm(perm, obj):
                self.message = DENIED.get(perm, self.message)
                return False
        return True


def require(request: Request, perm: str, obj: Any, message: str | None = None) -> None:
    """Refuse with 403 unless the user has `perm` on `obj` (for objects named in a request body)."""
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied(message or DENIED.get(perm))
