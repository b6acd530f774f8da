"""What each role may do in the Django admin: one table, applied to the role groups after each migrate.

The portal's pages never read model permissions: they ask `has_perm(perm, obj)` of the object rules
in portal.access.permissions. Model permissions therefore decide the admin alone, and the table below
grants only what each role does there. Maintainers run calls: in the admin they read accounts,
projects, quota and reports, and tune a pool's capacity and runtime limit; they administer no
account, group or permission. Operators (superusers) keep the whole admin.

Every model of every installed app is named, `{}` where no role gets anything, so that a new model
needs a decision (tests/portal/test_admin_rights.py fails otherwise).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db.models import Q

from portal.access.roles import MAINTAINER, ROLES

VIEW = ("view",)

# model label -> role -> the admin actions it may take ("view", "add", "change", "delete").
ADMIN_RIGHTS: dict[str, dict[str, tuple[str, ...]]] = {
    # Accounts and permissions are the operators': a maintainer who could edit them could make
    # anyone superuser or take over an account (issue 13). Read-only, without the password hash.
    "portal.user": {MAINTAINER: VIEW},
    "auth.group": {},
    "auth.permission": {},
    "authtoken.token": {},
    "authtoken.tokenproxy": {},
    "sessions.session": {},
    "contenttypes.contenttype": {},
    "admin.logentry": {},  # the admin's own history: operators read it (portal/admin/accounts.py)
    # Lockouts are an operator's matter (and name the addresses people sign in from).
    "axes.accessattempt": {},
    "axes.accessattemptexpiration": {},
    "axes.accessfailurelog": {},
    "axes.accesslog": {},
    # Projects change through their pages and API, where the workflow's rules apply.
    "portal.project": {MAINTAINER: VIEW},
    # The grant workflow changes on the pages (calls, reviews, decisions, the audit log), where its
    # rules apply; the admin shows it to operators only, read-only (portal/admin/grants.py).
    "portal.application": {},
    "portal.auditentry": {},
    "portal.call": {},
    "portal.callpool": {},
    "portal.conflictdeclaration": {},
    "portal.criterionscore": {},
    "portal.projectinvitation": {},
    "portal.repositorychange": {},  # approved or refused on the project's pages
    "portal.review": {},
    "portal.reviewassignment": {},
    "portal.rubriccriterion": {},
    # After the award (issue 17): the call's budget ledger, notices, reports and requests live on the
    # allocation's pages, where their workflows' rules apply (operators read them: portal/admin/awards.py).
    "portal.budgetentry": {},
    "portal.allocationnotice": {},
    "portal.progressreport": {},
    "portal.awardrequest": {},
    # Verification runs (issue 16) are started and judged by portal.services.verification, shown on the review page.
    "portal.verification": {},
    "portal.verificationpolicy": {},
    # Capacity and runtime limit only: scheduler/admin.py keeps the sandbox fields (backend,
    # namespace, image, runtime class...) read-only for non-operators. Pools are made by operators.
    "scheduler.acceleratorpool": {MAINTAINER: ("view", "change")},
    # Balances and history change only through scheduler.quota, which writes the ledger.
    "scheduler.allocation": {MAINTAINER: VIEW},
    "scheduler.ledgerentry": {MAINTAINER: VIEW},
    "scheduler.trainingjob": {MAINTAINER: VIEW},
    "scheduler.jobevent": {MAINTAINER: VIEW},  # the job page's timeline, an inline of the job
    # Reports are the checker's output: nobody edits a score.
    "reproducibility.snapshot": {MAINTAINER: VIEW},
    "reproducibility.report": {MAINTAINER: VIEW},
}

# Records that are never updated or deleted (their models refuse it); no role may be granted more
# than viewing them, and their admins refuse changes even to operators.
APPEND_ONLY = ("portal.auditentry", "portal.budgetentry", "scheduler.ledgerentry", "scheduler.jobevent")


def permissions_of(role: str) -> set[str]:
    """The model permissions a role's group holds, as "app_label.codename"."""
    if role not in ROLES:
        raise ValueError(f"Unknown role {role!r}; expected one of {', '.join(ROLES)}.")
    granted = set()
    for label, rights in ADMIN_RIGHTS.items():
        app_label, model = label.split(".")
        granted |= {f"{app_label}.{action}_{model}" for action in rights.get(role, ())}
    return granted


def grant_role_permissions(**kwargs: Any) -> None:
    """post_migrate: each role's group holds exactly its permissions from the table, and no
    account holds permissions of its own.

    `set`, not `add`: a database migrated before the table gave maintainers every permission of the
    portal's apps, and those are taken back here, as are the permissions the old user editor let a
    maintainer grant their own account. Runs after each app's migrate because a model's permissions
    exist only once its app has migrated; the last run sees them all.
    """
    for role in ROLES:  # also after `flush`, which empties the groups the data migration made
        group = Group.objects.get_or_create(name=role)[0]
        wanted = Q(pk__in=[])
        for perm in permissions_of(role):
            app_label, codename = perm.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        group.permissions.set(Permission.objects.filter(wanted))
    # Rights come from roles only (superusers have every permission without any row).
    get_user_model().user_permissions.through.objects.all().delete()
