"""After the award in the admin: the calls' budget ledger, allocation notices, progress reports, award
requests and verification runs.

Read-only for everyone, operators included: each changes through its service (portal.services.call_budget,
progress_reports, award_requests, verification), which keeps the ledgers balanced and audits the change.
"""

from django.contrib import admin

from portal.models import (
    AllocationNotice,
    AwardRequest,
    BudgetEntry,
    ProgressReport,
    Verification,
    VerificationPolicy,
)
from scheduler.admin import ReadOnlyAdmin
from scheduler.quota import hours

# Allocation.__str__ names its project and pool.
ALLOCATION = ("allocation__project", "allocation__pool")


@admin.register(BudgetEntry)
class BudgetEntryAdmin(ReadOnlyAdmin):
    """A call's budget ledger is append-only (BudgetEntry refuses updates and deletes)."""

    list_display = ("created", "call_pool", "kind", "signed_hours", "allocation", "actor", "memo")
    list_select_related = ("call_pool__call", "call_pool__pool", *ALLOCATION, "actor")
    list_filter = ("kind", "call_pool__call", "call_pool__pool")
    search_fields = ("memo", "call_pool__call__title", "allocation__project__name")
    date_hierarchy = "created"

    @admin.display(description="Accelerator-hours", ordering="seconds")
    def signed_hours(self, entry: BudgetEntry) -> str:
        return ("-" if entry.seconds < 0 else "+") + hours(abs(entry.seconds))


@admin.register(AllocationNotice)
class AllocationNoticeAdmin(ReadOnlyAdmin):
    list_display = ("sent_at", "allocation", "kind", "mailed")
    list_select_related = ALLOCATION
    list_filter = ("kind", "mailed")
    search_fields = ("allocation__project__name",)
    date_hierarchy = "sent_at"


@admin.register(ProgressReport)
class ProgressReportAdmin(ReadOnlyAdmin):
    list_display = ("pk", "allocation", "kind", "state", "due_at", "submitted_at", "decided_by")
    list_select_related = (*ALLOCATION, "decided_by")
    list_filter = ("kind", "state")
    search_fields = ("allocation__project__name", "work_done")
    date_hierarchy = "due_at"


@admin.register(AwardRequest)
class AwardRequestAdmin(ReadOnlyAdmin):
    list_display = ("pk", "allocation", "kind", "state", "requested_by", "created", "decided_by")
    list_select_related = (*ALLOCATION, "requested_by", "decided_by")
    list_filter = ("kind", "state")
    search_fields = ("allocation__project__name", "reason")
    date_hierarchy = "created"


@admin.register(VerificationPolicy)
class VerificationPolicyAdmin(ReadOnlyAdmin):
    list_display = ("call", "enabled", "pool", "minutes", "workers", "repeat", "budget_hours")
    list_select_related = ("call", "pool")
    list_filter = ("enabled", "pool")
    search_fields = ("call__title",)

    @admin.display(description="Budget (accelerator-hours)", ordering="budget_seconds")
    def budget_hours(self, policy: VerificationPolicy) -> str:
        return hours(policy.budget_seconds)


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "application", "state", "verdict", "run", "created", "judged_at")
    list_select_related = ("application__project", "application__call", "run")
    list_filter = ("state",)
    search_fields = ("application__project__name", "verdict")
    date_hierarchy = "created"
