"""The grant workflow in the admin: calls, applications, reviews, invitations, repository changes, audit.

Read-only for everyone, operators included: each record changes through portal.services (a state
machine, an audit entry, a notification), which an admin form would bypass. Each list names its
related rows through list_select_related so a page costs the same few queries at any length.
"""

from django.contrib import admin

from portal.models import (
    Application,
    AuditEntry,
    Call,
    CallPool,
    ConflictDeclaration,
    CriterionScore,
    ProjectInvitation,
    RepositoryChange,
    Review,
    ReviewAssignment,
    RubricCriterion,
)
from scheduler.admin import ReadOnlyAdmin
from scheduler.quota import hours


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False

    def has_change_permission(self, request, obj=None):  # type: ignore[no-untyped-def]
        return False


class CallPoolInline(ReadOnlyInline):
    model = CallPool
    fields = ("pool", "budget_seconds", "awarded_seconds")


class RubricCriterionInline(ReadOnlyInline):
    model = RubricCriterion
    fields = ("position", "name", "weight", "description")


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = ("title", "slug", "opens_at", "closes_at", "reviews_per_application", "created_by")
    list_select_related = ("created_by",)
    list_filter = ("opens_at", "closes_at")
    search_fields = ("title", "slug", "description")
    date_hierarchy = "opens_at"
    inlines = [CallPoolInline, RubricCriterionInline]


@admin.register(CallPool)
class CallPoolAdmin(ReadOnlyAdmin):
    list_display = ("call", "pool", "budget_hours", "awarded_hours")
    list_select_related = ("call", "pool")
    list_filter = ("pool",)
    search_fields = ("call__title", "pool__name")

    @admin.display(description="Budget (accelerator-hours)", ordering="budget_seconds")
    def budget_hours(self, call_pool: CallPool) -> str:
        return hours(call_pool.budget_seconds)

    @admin.display(description="Awarded (accelerator-hours)", ordering="awarded_seconds")
    def awarded_hours(self, call_pool: CallPool) -> str:
        return hours(call_pool.awarded_seconds)


@admin.register(RubricCriterion)
class RubricCriterionAdmin(ReadOnlyAdmin):
    list_display = ("name", "call", "weight", "position")
    list_select_related = ("call",)
    list_filter = ("call",)
    search_fields = ("name", "description", "call__title")


@admin.register(Application)
class ApplicationAdmin(ReadOnlyAdmin):
    list_display = ("pk", "project", "call", "pool", "state", "requested_hours", "review_mean", "submitted_at")
    # Application.__str__ names its project and call; the owner is a column's filter target.
    list_select_related = ("project", "call", "pool")
    list_filter = ("state", "call", "pool")
    search_fields = ("project__name", "project__owner__username", "call__title", "justification")
    date_hierarchy = "created"

    @admin.display(description="Requested (accelerator-hours)", ordering="requested_seconds")
    def requested_hours(self, application: Application) -> str:
        return hours(application.requested_seconds)


@admin.register(ReviewAssignment)
class ReviewAssignmentAdmin(ReadOnlyAdmin):
    list_display = ("pk", "application", "reviewer", "state", "assigned_by", "created")
    list_select_related = ("application__project", "application__call", "reviewer", "assigned_by")
    list_filter = ("state", "application__call")
    search_fields = ("reviewer__username", "application__project__name")


class CriterionScoreInline(ReadOnlyInline):
    model = CriterionScore
    fields = ("criterion", "score")


@admin.register(Review)
class ReviewAdmin(ReadOnlyAdmin):
    list_display = ("pk", "application", "reviewer", "recommendation", "weighted_score", "submitted_at")
    list_select_related = (
        "assignment__application__project",
        "assignment__application__call",
        "assignment__reviewer",
    )
    list_filter = ("recommendation", "assignment__application__call")
    search_fields = ("assignment__reviewer__username", "assignment__application__project__name")
    inlines = [CriterionScoreInline]

    @admin.display(ordering="assignment__application")
    def application(self, review: Review) -> Application:
        return review.assignment.application

    @admin.display(ordering="assignment__reviewer__username")
    def reviewer(self, review: Review) -> object:
        return review.assignment.reviewer


@admin.register(CriterionScore)
class CriterionScoreAdmin(ReadOnlyAdmin):
    list_display = ("pk", "review", "criterion", "score")
    list_select_related = (
        "review__assignment__application__project",
        "review__assignment__application__call",
        "review__assignment__reviewer",
        "criterion",
    )
    list_filter = ("criterion__call", "score")
    search_fields = ("criterion__name", "review__assignment__reviewer__username")


@admin.register(ConflictDeclaration)
class ConflictDeclarationAdmin(ReadOnlyAdmin):
    list_display = ("reviewer", "project", "reason", "created")
    list_select_related = ("reviewer", "project")
    search_fields = ("reviewer__username", "project__name", "reason")
    date_hierarchy = "created"


@admin.register(ProjectInvitation)
class ProjectInvitationAdmin(ReadOnlyAdmin):
    list_display = ("invitee_name", "project", "invitee", "inviter", "state", "created", "expires_at")
    list_select_related = ("project", "invitee", "inviter")
    list_filter = ("state",)
    search_fields = ("invitee_name", "project__name", "inviter__username")
    # The token is the invitation's secret link: not shown.
    exclude = ("token",)


@admin.register(RepositoryChange)
class RepositoryChangeAdmin(ReadOnlyAdmin):
    list_display = ("pk", "project", "repository_url", "ref", "state", "requested_by", "decided_by", "created")
    list_select_related = ("project", "requested_by", "decided_by")
    list_filter = ("state",)
    search_fields = ("project__name", "repository_url", "reason")
    date_hierarchy = "created"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log is append-only (AuditEntry refuses updates and deletes)."""

    list_display = ("at", "actor", "verb", "target_repr", "from_state", "to_state", "call")
    list_select_related = ("actor", "call", "target_type")
    list_filter = ("verb", "target_type", "call")
    search_fields = ("verb", "target_repr", "message", "actor__username")
    date_hierarchy = "at"
