import json
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from config.migrated import require_migrated
from portal.models import Project
from scheduler import quota
from scheduler.management.command_inputs import actor_named, at_least, positive_hours
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
        seconds = positive_hours(options["hours"])
        days = at_least(options["days"], 1, "--days")
        project = Project.objects.filter(slug=options["project"]).first()
        if project is None:
            raise CommandError(f"project: no project has the slug {options['project']!r}.")
        pool = AcceleratorPool.objects.filter(name=options["pool"]).first()
        if pool is None:
            raise CommandError(f"pool: no pool is named {options['pool']!r}.")
        actor = actor_named(options["actor"])
        try:
            allocation = quota.award(
                project,
                pool,
                seconds,
                actor=actor,
                memo=options["memo"],
                expires_at=timezone.now() + timedelta(days=days),
            )
        except quota.QuotaError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps({"allocation": allocation.pk, "awarded_seconds": allocation.awarded}))
