import sys

from django.core.management.base import BaseCommand, CommandError

from config.migrated import require_migrated
from scheduler import tpu_slices
from scheduler.kueue import queue_name, render_kueue
from scheduler.models import AcceleratorPool
from scheduler.plain_yaml import plain_yaml


class Command(BaseCommand):
    help = (
        "Print, as YAML, Kueue's ResourceFlavors, ClusterQueues and LocalQueues for the Kubernetes pools, "
        "from their capacities (kubectl apply -f -)."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--pool", action="append", default=[], help="only these pools (repeatable)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        require_migrated()
        pools = AcceleratorPool.objects.filter(backend=AcceleratorPool.Backend.KUBERNETES).order_by("name")
        if options["pool"]:
            pools = pools.filter(name__in=options["pool"])
            missing = set(options["pool"]) - {p.name for p in pools}
            if missing:
                raise CommandError(f"--pool: no Kubernetes pool is named {', '.join(sorted(missing))}.")
        if not pools:
            raise CommandError("There is no Kubernetes pool; create one with manage.py create_pool.")
        try:
            documents = render_kueue(list(pools))
        except tpu_slices.SliceError as error:
            raise CommandError(str(error)) from error
        for pool in pools:
            if not pool.kueue_queue:  # its Jobs carry no queue label: Kueue would never see them
                print(
                    f"# note: set {pool.name}'s Kueue queue to {queue_name(pool)!r} so its Jobs are queued here",
                    file=sys.stderr,
                )
        self.stdout.write(plain_yaml(documents))
