from django.core.management.base import BaseCommand, CommandError

from config.migrated import require_migrated
from scheduler.backends.kubernetes_manifests import job_network_policy, render_manifests, render_preparation
from scheduler.contract import JobSpec, PoolSpec, job_artifact_paths
from scheduler.management.command_inputs import at_least
from scheduler.models import AcceleratorPool
from scheduler.plain_yaml import plain_yaml


class Command(BaseCommand):
    help = (
        "Print, as YAML, the Kubernetes objects a job on POOL would create: its NetworkPolicy, Service, "
        "preparation Job (fetch and install) and Job."
    )

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
            raise CommandError(f"--pool: no pool is named {options['pool']!r}.")
        workers = at_least(options["workers"], 1, "--workers")
        per_worker = at_least(options["accelerators_per_worker"], 1, "--accelerators-per-worker")
        if workers * per_worker > pool.capacity:
            raise CommandError(
                f"--workers x --accelerators-per-worker: {workers} x {per_worker} do not fit in {pool.name}, "
                f"which has {pool.capacity} accelerators."
            )
        at_least(options["max_runtime"], 1, "--max-runtime")
        at_least(options["job_id"], 0, "--job-id")
        if options["artifact_uri"] and not options["artifact_uri"].startswith(("gs://", "s3://")):
            raise CommandError(f"--artifact-uri must start with gs:// or s3://, got {options['artifact_uri']!r}.")
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
        service, job = render_manifests(spec, artifact_uri=options["artifact_uri"])
        documents = [job_network_policy(spec), service, render_preparation(spec), job]
        self.stdout.write(plain_yaml(documents))
