from django.contrib import admin

from reproducibility.models import Report, Snapshot


@admin.register(Snapshot)
class SnapshotAdmin(admin.ModelAdmin):
    list_display = ("pk", "kind", "source", "commit", "status", "file_count", "created")
    list_filter = ("kind", "status")
    readonly_fields = ("commit", "path", "size_bytes", "file_count", "fetch_seconds", "error")


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("snapshot", "checker_version", "score", "level", "created")
    readonly_fields = ("results",)
