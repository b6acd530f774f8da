import json
import math

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from config.migrated import require_migrated
from scheduler.management.command_inputs import at_least
from scheduler.models import AcceleratorPool
from scheduler.quota import hours

# What the pool's max_runtime_seconds column holds (a PostgreSQL integer), in whole hours.
LONGEST_RUNTIME_HOURS = (2**31 - 1) // 3600

# The model's fields as the command's options name them, so a refusal says which option to fix.
OPTION_OF_FIELD = {
    "name": "name",
    "kind": "--kind",
    "capacity": "--capacity",
    "backend": "--backend",
    "resource_name": "--resource-name",
    "node_selectors": "--node-selector",
    "namespace": "--namespace",
    "default_image": "--image",
    "kueue_queue": "--kueue-queue",
    "runtime_class": "--runtime-class",
    "max_runtime_seconds": "--max-runtime-hours",
}


def refusal(error: ValidationError) -> str:
    """A model validation error as `--option: message` lines."""
    return "; ".join(
        f"{OPTION_OF_FIELD.get(field, field)}: {' '.join(messages)}" for field, messages in error.message_dict.items()
    )


class Command(BaseCommand):
    help = "Create or update an accelerator pool."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("name", help="e.g. nvidia-v100")
        parser.add_argument("--kind", choices=AcceleratorPool.Kind.values, required=True, help="accelerator type")
        parser.add_argument("--capacity", type=int, required=True, help="accelerators in the pool")
        parser.add_argument(
            "--backend", choices=AcceleratorPool.Backend.values, default="local", help="where its jobs run"
        )
        parser.add_argument("--resource-name", default="", help="e.g. nvidia.com/gpu")
        parser.add_argument(
            "--node-selector", action="append", default=[], metavar="KEY=VALUE", help="node label (repeatable)"
        )
        parser.add_argument("--namespace", default="computegrant", help="Kubernetes namespace of its jobs")
        parser.add_argument("--image", default="", help="default container image")
        parser.add_argument("--kueue-queue", default="", help="Kueue LocalQueue its jobs are labelled with")
        parser.add_argument("--runtime-class", default="", help="RuntimeClass of its pods, e.g. gvisor")
        parser.add_argument("--max-runtime-hours", type=float, default=24, help="longest run allowed (default: 24)")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        require_migrated()
        at_least(options["capacity"], 1, "--capacity")
        max_runtime_hours = options["max_runtime_hours"]
        if not (math.isfinite(max_runtime_hours) and 0 < max_runtime_hours <= LONGEST_RUNTIME_HOURS):
            raise CommandError(
                f"--max-runtime-hours must be more than 0 and at most {LONGEST_RUNTIME_HOURS:,}, "
                f"got {hours(max_runtime_hours * 3600)}."
            )
        selectors = {}
        for item in options["node_selector"]:
            key, sep, value = item.partition("=")
            if not sep or not key:
                raise CommandError(f"--node-selector takes KEY=VALUE, got {item!r}.")
            selectors[key] = value
        values = {
            "kind": options["kind"],
            "capacity": options["capacity"],
            "backend": options["backend"],
            "resource_name": options["resource_name"],
            "node_selectors": selectors,
            "namespace": options["namespace"],
            "default_image": options["image"],
            "kueue_queue": options["kueue_queue"],
            "runtime_class": options["runtime_class"],
            "max_runtime_seconds": round(max_runtime_hours * 3600),
        }
        pool = AcceleratorPool.objects.filter(name=options["name"]).first() or AcceleratorPool(name=options["name"])
        for field, value in values.items():
            setattr(pool, field, value)
        try:
            pool.full_clean()
        except ValidationError as error:
            raise CommandError(refusal(error)) from error
        pool.save()
        self.stdout.write(json.dumps({"pool": pool.name, "id": pool.pk, "capacity": pool.capacity}))
