"""The portal's tables in the Django admin, one module per part of the workflow.

Accounts and projects (accounts.py) follow portal.access.admin_rights. The grant workflow (grants.py) and
what follows an award (awards.py) are shown read-only, to operators: they change on the portal's pages,
where the workflow's rules, audit entries and notifications apply.
"""

from portal.admin import accounts, awards, grants

__all__ = ["accounts", "awards", "grants"]
