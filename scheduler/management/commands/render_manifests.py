import yaml
from django.core.management.base import BaseCommand, CommandError

from config.migrated import require_migrated
from scheduler.backends.kubernetes_manifests import job_network_policy, render_manifests
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from scheduler.models import AcceleratorPool


class PlainDumper(yaml.SafeDumper):
    """YAML as people write it: a value used twice is written twice, never as an &id001 anchor."""

    def ignore_aliases(self, data: object) -> bool:
        return True


class Command(BaseCommand):
    help = "Print, as YAML, the Kubernetes objects a job on POOL would create: its NetworkPolicy, Service and Job."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--pool", required=True, help="pool name, e.g. tpu-v4-8")
        parser.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
        parser.add_argument("--accelerators-per-worker", type=int, default=1, help="default: 1")
        parser.add_argument("--max-runtime", type=int, default=3600, help="seconds")
        parser.add_argument("--entrypoint", default="train.py", help="script in the repository")
        parser.add_argument("--repository", default="https://github.com/example/digits", help="git URL")
        parser.add_argument("--commit", default="HEAD", help="commit the pods fetch")
        parser.add_argument("--image", default="", help="container image (default: the pool's)")
        parser.add_argument("--artifact-uri", default="", help="gs:// or s3:// prefix instead of the shared volume")
        parser.add_argument("--job-id", type=int, default=0, help="the job id names the objects")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        require_migrated()
        pool = AcceleratorPool.objects.filter(name=options["pool"]).first()
        if pool is None:
            raise CommandError(f"No pool named {options['pool']!r}.")
        if options["workers"] < 1 or options["workers"] * options["accelerators_per_worker"] > pool.capacity:
            raise CommandError(f"{pool.name} has {pool.capacity} accelerators; ask for at least 1 and at most that.")
        if options["artifact_uri"] and not options["artifact_uri"].startswith(("gs://", "s3://")):
            raise CommandError("--artifact-uri must start with gs:// or s3://.")
        spec = JobSpec(
            job_id=options["job_id"],
            workers=options["workers"],
            accelerators_per_worker=options["accelerators_per_worker"],
            max_runtime_seconds=options["max_runtime"],
            seed=42,
            entrypoint=options["entrypoint"],
            args=(),
            image=options["image"] or pool.default_image,
            repository_url=options["repository"],
            commit=options["commit"],
            artifacts=job_artifact_paths(0),
            pool=PoolSpec.from_pool(pool),
        )
        documents = [job_network_policy(spec), *render_manifests(spec, artifact_uri=options["artifact_uri"])]
        self.stdout.write(yaml.dump_all(documents, Dumper=PlainDumper, sort_keys=False))
