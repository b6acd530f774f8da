from django.contrib import admin

from reproducibility.models import Report, Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "source", "commit", "status", "file_count", "created")
    list_filter = ("kind", "status")
    search_fields = ("source", "commit", "ref")
    date_hierarchy = "created"
    readonly_fields = ("commit", "path", "size_bytes", "file_count", "fetch_seconds", "error")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("snapshot", "checker_version", "score", "level", "created")
    list_select_related = ("snapshot",)
    list_filter = ("level", "checker_version")
    search_fields = ("snapshot__source", "snapshot__commit")
    date_hierarchy = "created"
    readonly_fields = ("results",)
