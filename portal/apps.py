from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Grant portal"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from portal.access.admin_rights import grant_role_permissions

        # After every app: permissions of apps migrated after the portal exist only then.
        # Each role's admin rights come from the table in portal.access.admin_rights.
        post_migrate.connect(grant_role_permissions, dispatch_uid="portal.grant_role_permissions")

        from portal.services.progress_reports import refuse_runs_while_overdue
        from scheduler.quota import register_submission_check

        # The call may stop new runs while a progress report is overdue; the scheduler asks, never imports us.
        register_submission_check(refuse_runs_while_overdue)
