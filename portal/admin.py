from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from portal.models import Project, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    fieldsets = (*DjangoUserAdmin.fieldsets, ("Portal", {"fields": ("affiliation",)}))  # type: ignore[misc]
    list_display = ("username", "email", "first_name", "last_name", "affiliation", "is_staff")


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ("name", "owner", "organisation", "repository_url", "created")
    search_fields = ("name", "organisation", "repository_url")
    prepopulated_fields = {"slug": ("name",)}
    filter_horizontal = ("members",)
