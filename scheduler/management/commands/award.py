import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.migrated import require_migrated
from portal.models import Project, User
from scheduler import quota
from scheduler.models import AcceleratorPool


class Command(BaseCommand):
    help = "Award accelerator-hours on a pool to a project (creates an allocation)."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("project", help="project slug")
        parser.add_argument("pool", help="pool name")
        parser.add_argument("hours", type=float, help="accelerator-hours")
        parser.add_argument("--days", type=int, default=90, help="valid for this many days")
        parser.add_argument("--actor", help="username of the maintainer awarding")
        parser.add_argument("--memo", default="", help="a note kept on the ledger entry")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        require_migrated()
        try:
            project = Project.objects.get(slug=options["project"])
            pool = AcceleratorPool.objects.get(name=options["pool"])
            actor = User.objects.get(username=options["actor"]) if options["actor"] else None
        except (Project.DoesNotExist, AcceleratorPool.DoesNotExist, User.DoesNotExist) as error:
            raise CommandError(str(error)) from error
        if options["days"] <= 0:
            raise CommandError("--days must be positive.")
        try:
            allocation = quota.award(
                project,
                pool,
                round(options["hours"] * 3600),
                actor=actor,
                memo=options["memo"],
                expires_at=timezone.now() + timedelta(days=options["days"]),
            )
        except quota.QuotaError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps({"allocation": allocation.pk, "awarded_seconds": allocation.awarded}))
