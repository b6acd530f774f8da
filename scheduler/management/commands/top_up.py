import json

from django.core.management.base import BaseCommand, CommandError

from config.migrated import require_migrated
from portal.models import User
from scheduler import quota
from scheduler.models import Allocation


class Command(BaseCommand):
    help = "Add accelerator-hours to an allocation."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("allocation", type=int, help="allocation id")
        parser.add_argument("hours", type=float, help="accelerator-hours to add")
        parser.add_argument("--actor", help="username of the maintainer")
        parser.add_argument("--memo", default="", help="a note kept on the ledger entry")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        require_migrated()
        try:
            allocation = Allocation.objects.get(pk=options["allocation"])
            actor = User.objects.get(username=options["actor"]) if options["actor"] else None
            allocation = quota.top_up(allocation, round(options["hours"] * 3600), actor=actor, memo=options["memo"])
        except (Allocation.DoesNotExist, User.DoesNotExist, quota.QuotaError) as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps({"allocation": allocation.pk, "awarded_seconds": allocation.awarded}))
