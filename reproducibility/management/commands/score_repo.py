import json
import sys
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from reproducibility.scorecard import to_scorecard
from reproducibility.scoring import add_omitted, score_tree
from reproducibility.services import source_kind
from reproducibility.snapshots import Caps, SnapshotError, shown_path
from reproducibility.snapshots.archives import extract_archive
from reproducibility.snapshots.git import clone
from reproducibility.snapshots.local import copy_local


def resolved(source: str) -> Path:
    """The absolute path a local source names, its links resolved."""
    try:
        return Path(source).resolve()
    except (OSError, RuntimeError) as error:  # RuntimeError: a symlink loop, in Python 3.11
        raise SnapshotError(f"{shown_path(source)} cannot be resolved: {error}.") from error


ICONS = {"pass": "✔", "partial": "◐", "fail": "✘", "not_applicable": "-", "error": "!"}


class Command(BaseCommand):
    help = "Score a repository's reproducibility: an https git URL, a local folder or a .zip/.tar.gz archive."

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("source", help="https git URL, local folder or archive")
        parser.add_argument("--ref", default="", help="branch, tag or commit (git only)")
        parser.add_argument("--json", action="store_true", help="print the Scorecard-shaped JSON report")
        parser.add_argument("--min-score", type=float, default=None, help="exit 1 below this score (for CI)")

    def progress(self, stage: str) -> None:
        sys.stderr.write(f"[{time.monotonic() - self.started:6.1f}s] {stage}\n")

    def handle(self, *args, **options):  # type: ignore[no-untyped-def]
        self.started = time.monotonic()
        source, caps = options["source"], Caps.from_settings()
        kind = source_kind(source)
        if options["ref"] and kind != "git":
            raise CommandError(f"--ref applies to git URLs only; {source!r} is not one.")
        min_score = options["min_score"]
        if min_score is not None and not 0 <= min_score <= 100:
            raise CommandError(f"--min-score must be between 0 and 100, got {min_score}.")
        with tempfile.TemporaryDirectory(prefix="cg-score-") as work:
            dest = Path(work) / "repo"
            self.progress(f"fetching {source} ({kind})")
            try:
                if kind == "git":
                    acquired = clone(
                        source,
                        dest,
                        ref=options["ref"],
                        allowed_hosts=settings.CG_GIT_ALLOWED_HOSTS,
                        caps=caps,
                    )
                elif kind == "archive":
                    acquired = extract_archive(resolved(source), dest, caps)
                else:
                    acquired = copy_local(resolved(source), dest, caps)
            except SnapshotError as error:
                raise CommandError(str(error)) from error
            self.progress(f"fetched {acquired.file_count} files, {acquired.size_bytes / 1024:.0f} KB")
            self.progress("scoring")
            scored = score_tree(dest)
        self.progress(f"scored {len(scored.outcomes)} checks")
        add_omitted(scored, acquired.omitted)  # left out of the snapshot (a FIFO, an unreadable file)
        report = to_scorecard(scored, repo=source, commit=acquired.commit, date=timezone.now())
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            for category, outcomes in scored.by_category():
                self.stdout.write(f"\n{category}")
                for outcome in outcomes:
                    status = outcome.result.status.value
                    self.stdout.write(f"  {ICONS[status]} {outcome.check.title}: {outcome.result.reason}")
                    for evidence in outcome.result.evidence[:3]:
                        self.stdout.write(f"      {evidence.path}:{evidence.line} {evidence.snippet}")
                    if status in ("fail", "partial"):
                        self.stdout.write(f"      fix: {outcome.check.remedy.splitlines()[0]}")
            if scored.problems:
                self.stdout.write("\nProblems")
                for problem in scored.problems:
                    where = f"{problem['path']}:{problem['line']}" if problem["line"] else problem["path"]
                    self.stdout.write(f"  ! {where}: {problem['reason']}")
            self.stdout.write(f"\nScore {scored.score}/100, level {scored.level} (checker {scored.checker_version})")
        if options["min_score"] is not None and scored.score < options["min_score"]:
            raise CommandError(f"Score {scored.score} is below the required {options['min_score']}.")
