import json

from django.core.management.base import BaseCommand, CommandError

from config.migrated import require_migrated
from scheduler import quota
from scheduler.management.command_inputs import actor_named, positive_hours
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
        seconds = positive_hours(options["hours"])
        allocation = Allocation.objects.filter(pk=options["allocation"]).first()
        if allocation is None:
            raise CommandError(f"allocation: there is no allocation {options['allocation']}.")
        actor = actor_named(options["actor"])
        try:
            allocation = quota.top_up(allocation, seconds, actor=actor, memo=options["memo"])
        except quota.QuotaError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps({"allocation": allocation.pk, "awarded_seconds": allocation.awarded}))
