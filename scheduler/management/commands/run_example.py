import json
import sys
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from config.migrated import require_migrated
from scheduler import quota, runner
from scheduler.demo import DEMO_PROJECT_SLUG, run_to_end
from scheduler.management.command_inputs import at_least
from scheduler.models import Allocation, TrainingJob

S = TrainingJob.State


class Command(BaseCommand):
    help = "Train examples/digits as a job on the demo allocation and print a JSON summary when it ends."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("--workers", type=int, default=2, help="worker processes (default: 2)")
        parser.add_argument("--epochs", type=int, default=3, help="training epochs (default: 3)")
        parser.add_argument("--max-runtime", type=int, default=600, help="seconds")
        parser.add_argument("--timeout", type=int, default=900, help="give up waiting after this many seconds")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        require_migrated()
        at_least(options["workers"], 1, "--workers")
        at_least(options["epochs"], 1, "--epochs")
        at_least(options["max_runtime"], 1, "--max-runtime")
        at_least(options["timeout"], 1, "--timeout")
        allocation = Allocation.objects.filter(project__slug=DEMO_PROJECT_SLUG, state="active").first()
        if allocation is None:
            call_command("seed_demo", stdout=self.stderr)
            allocation = Allocation.objects.filter(project__slug=DEMO_PROJECT_SLUG, state="active").first()
        if allocation is None:
            raise CommandError("No demo allocation: run `manage.py seed_demo` first.")
        # An awarded allocation runs the snapshot its application was reviewed at; one made without
        # a review (`manage.py award`) runs examples/digits as it is.
        source = "" if allocation.snapshot_id else str(Path(settings.BASE_DIR) / "examples" / "digits")
        request = quota.JobRequest(
            name="digits example",
            entrypoint="train.py",
            workers=options["workers"],
            max_runtime_seconds=options["max_runtime"],
            source_path=source,
            args=["--epochs", str(options["epochs"]), "--steps-per-epoch", "10"],
        )
        try:
            job = quota.submit_job(allocation, request)
        except quota.QuotaError as error:
            raise CommandError(str(error)) from error

        def tick(jobs: list[TrainingJob], elapsed: float) -> None:
            epoch = (jobs[0].progress or {}).get("epochs_done")
            progress = f", epoch {epoch}" if epoch else ""
            sys.stderr.write(f"\r[{elapsed:5.1f}s] job {job.pk}: {jobs[0].state}{progress}   ")
            sys.stderr.flush()

        (job,) = run_to_end([job], timeout=options["timeout"], tick=tick)
        sys.stderr.write("\n")
        if not job.is_terminal:
            quota.cancel_job(job)
            raise CommandError(f"Job {job.pk} did not finish within {options['timeout']} s; cancellation requested.")
        artifacts = runner.collected_artifacts(job.pk)
        self.stdout.write(
            json.dumps(
                {
                    "job_id": job.pk,
                    "state": job.state,
                    "workers": job.workers,
                    "charged_accelerator_seconds": job.charged_seconds,
                    "failure_reason": job.failure_reason,
                    "event_files": artifacts["event_files"],
                    "saved_model": artifacts["saved_model"],
                }
            )
        )
        if job.state != S.SUCCEEDED:
            raise CommandError(f"Job {job.pk} ended {job.state}: {job.failure_reason}")
