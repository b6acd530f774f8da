from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Grant portal"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from portal.roles import grant_role_permissions

        post_migrate.connect(grant_role_permissions, sender=self)
