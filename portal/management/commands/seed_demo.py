from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.migrated import require_migrated
from portal.demo.seeders import seed_demo


class Command(BaseCommand):
    help = "Create demo data (people for each role, pools, an open call). Safe to run twice."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--force", action="store_true", help="Allow in production.")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        require_migrated()
        if settings.PRODUCTION and not options["force"]:
            raise CommandError("Refusing to create demo accounts with known passwords in production (use --force).")
        lines = seed_demo()
        self.stdout.write("Demo data ready. Sign in with:")
        for line in lines:
            self.stdout.write(f"  {line}")
