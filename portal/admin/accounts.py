"""Admin for accounts, projects and the admin's own history. Accounts are administered by operators
(superusers) only.

Which role sees which model is decided by the table in portal.access.admin_rights; the account and group
admins below also refuse every change to anyone but a superuser, so that no grant in that table can
reopen issue 13 (a maintainer making someone superuser or setting another user's password).
"""

from typing import Any

from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from portal.access import roles
from portal.models import Project, User
from portal.services import repository_changes
from scheduler.admin import ReadOnlyAdmin

# The admin's pages say whose admin they are (Django's default reads "Django administration").
admin.site.site_header = "ComputeGrant administration"
admin.site.site_title = "ComputeGrant admin"
admin.site.index_title = "Operators' tables"


def is_operator(request: HttpRequest) -> bool:
    user: Any = request.user
    return bool(user.is_active and user.is_superuser)


class OperatorsOnlyChange(admin.ModelAdmin):
    """Adding, changing and deleting need a superuser; viewing follows the model permissions."""

    def has_add_permission(self, request: HttpRequest, *args: Any) -> bool:
        return is_operator(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request)


@admin.register(User)
class UserAdmin(OperatorsOnlyChange, DjangoUserAdmin):
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Portal", {"fields": ("affiliation",)}))  # type: ignore[misc]
    list_display = ("username", "email", "first_name", "last_name", "affiliation", "is_staff")
    readonly_fields = ("roles_held",)
    # What a non-operator reads: no password hash, and none of the fields that grant rights.
    directory_fieldsets = (
        (None, {"fields": ("username", "first_name", "last_name", "email", "affiliation")}),
        ("Portal", {"fields": ("roles_held", "is_active")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description="Roles")
    def roles_held(self, user: User) -> str:
        return ", ".join(sorted(roles.role_names(user))) or "none"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if is_operator(request):
            return super().get_fieldsets(request, obj)
        return self.directory_fieldsets

    def get_list_filter(self, request: HttpRequest) -> Any:
        return super().get_list_filter(request) if is_operator(request) else ("is_active", "groups")

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        # Django's own check is has_change_permission; say it again where the takeover happened.
        if not is_operator(request):
            raise PermissionDenied
        return super().user_change_password(request, id, form_url)


admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(DjangoGroupAdmin):
    """Groups are the roles. Their permissions come from portal.access.admin_rights and are reset to it
    by every migrate, so an edit here lasts until the next deployment."""

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return is_operator(request)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return is_operator(request)


@admin.register(LogEntry)
class AdminHistoryAdmin(ReadOnlyAdmin):
    """What was changed through the admin, by whom: operators read it; nobody edits it."""

    list_display = ("action_time", "user", "action_flag", "content_type", "object_repr", "change_message")
    list_select_related = ("user", "content_type")
    list_filter = ("action_flag", "content_type")
    search_fields = ("object_repr", "user__username", "change_message")
    date_hierarchy = "action_time"


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "organisation", "repository_url", "created")
    list_select_related = ("owner",)
    search_fields = ("name", "organisation", "repository_url", "owner__username")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)

    def get_readonly_fields(self, request, obj=None):  # type: ignore[no-untyped-def]
        # Under review or awarded, the repository changes only by an approved change request
        # (portal.services.repository_changes; Project.save refuses it too).
        fixed = obj is not None and repository_changes.lock_reason(obj)
        return (*super().get_readonly_fields(request, obj), *(("repository_url",) if fixed else ()))
