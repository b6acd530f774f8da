"""Admin: pools are edited here; allocations, jobs, the ledger and job events are read-only (use the services)."""

from django.contrib import admin

from scheduler.models import AcceleratorPool, Allocation, JobEvent, LedgerEntry, TrainingJob


@admin.register(AcceleratorPool)
class AcceleratorPoolAdmin(admin.ModelAdmin):
    """Operators make pools; maintainers may tune capacity and the runtime limit (portal.access.admin_rights)."""

    list_display = ("name", "kind", "capacity", "backend", "namespace", "kueue_queue")
    list_filter = ("kind", "backend")
    search_fields = ("name", "resource_name", "namespace")
    # Where and how applicants' code runs (the sandbox) is the operator's decision.
    operator_fields = (
        "name",
        "kind",
        "resource_name",
        "node_selectors",
        "backend",
        "namespace",
        "default_image",
        "kueue_queue",
        "runtime_class",
    )

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        if request.user.is_active and request.user.is_superuser:
            return super().get_readonly_fields(request, obj)
        return self.operator_fields


class ReadOnlyAdmin(admin.ModelAdmin):
    """Shown, never edited here, operators included: the records change only through their services
    (scheduler.quota writes the ledger; the portal's workflow in portal.services)."""

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_delete_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class LedgerInline(admin.TabularInline):
    model = LedgerEntry
    extra = 0
    can_delete = False
    readonly_fields = ("created", "kind", "seconds", "job", "actor", "memo")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(Allocation)
class AllocationAdmin(ReadOnlyAdmin):
    list_display = ("project", "pool", "state", "awarded", "reserved", "used", "expires_at")
    # Allocation.__str__ names its project and pool: selected with the rows, not once per row.
    list_select_related = ("project", "pool")
    list_filter = ("state", "pool")
    search_fields = ("project__name",)
    date_hierarchy = "expires_at"
    inlines = [LedgerInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """The ledger is append-only (LedgerEntry refuses updates and deletes)."""

    list_display = ("created", "allocation", "kind", "seconds", "job", "actor", "memo")
    list_select_related = ("allocation__project", "allocation__pool", "job", "actor")
    list_filter = ("kind", "allocation__pool")
    search_fields = ("allocation__project__name", "memo")
    date_hierarchy = "created"


class JobEventInline(admin.TabularInline):
    model = JobEvent
    extra = 0
    can_delete = False
    readonly_fields = ("at", "from_state", "to_state", "actor", "message")

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


@admin.register(TrainingJob)
class TrainingJobAdmin(ReadOnlyAdmin):
    list_display = (
        "pk",
        "allocation",
        "state",
        "workers",
        "accelerators_per_worker",
        "submitted_at",
        "charged_seconds",
    )
    list_select_related = ("allocation__project", "allocation__pool")
    list_filter = ("state", "pool")
    search_fields = ("name", "allocation__project__name", "entrypoint", "commit")
    date_hierarchy = "submitted_at"
    inlines = [JobEventInline]


@admin.register(JobEvent)
class JobEventAdmin(ReadOnlyAdmin):
    """A job's timeline is its history: written by scheduler.jobs as the job moves, edited by nobody."""

    list_display = ("at", "job", "from_state", "to_state", "actor", "message")
    list_select_related = ("job", "actor")
    list_filter = ("to_state",)
    search_fields = ("message", "job__name")
    date_hierarchy = "at"
