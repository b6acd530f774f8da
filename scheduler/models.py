"""Pools, allocations, the quota ledger and training jobs.

Quota is counted in integer accelerator-seconds. An allocation's balances (awarded, reserved,
used) are derived from its append-only ledger and cached on the row, where CHECK constraints keep
them sane: nothing negative and never `used + reserved > awarded`.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class AcceleratorPool(models.Model):
    """A set of identical accelerators that jobs are admitted to, run by one backend."""

    class Kind(models.TextChoices):
        GPU = "gpu", "GPU"
        TPU = "tpu", "TPU"
        CPU = "cpu", "CPU"

    class Backend(models.TextChoices):
        LOCAL = "local", "Local processes"
        KUBERNETES = "kubernetes", "Kubernetes"

    name = models.SlugField(max_length=63, unique=True, help_text="e.g. nvidia-v100 or tpu-v4-8")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    resource_name = models.CharField(
        max_length=100,
        blank=True,
        help_text="Kubernetes extended resource, e.g. nvidia.com/gpu or google.com/tpu.",
    )
    node_selectors = models.JSONField(default=dict, blank=True)
    capacity = models.PositiveIntegerField(help_text="Accelerators in the pool.")
    backend = models.CharField(max_length=16, choices=Backend.choices, default=Backend.LOCAL)
    namespace = models.CharField(max_length=63, default="computegrant")
    default_image = models.CharField(max_length=300, blank=True)
    kueue_queue = models.CharField(max_length=63, blank=True, help_text="Kueue LocalQueue; empty: no Kueue.")
    runtime_class = models.CharField(max_length=63, blank=True, help_text="e.g. gvisor; empty: the default.")
    max_runtime_seconds = models.PositiveIntegerField(default=24 * 3600)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity__gt=0), name="pool_capacity_positive"),
            models.CheckConstraint(condition=Q(max_runtime_seconds__gt=0), name="pool_max_runtime_positive"),
        ]

    def __str__(self) -> str:
        return self.name


class SourceBasis(models.TextChoices):
    """Why a run executes the code it does: the award is for what the reviewers scored."""

    REVIEWED = "reviewed", "the reviewed commit"
    APPROVED = "approved", "a change a maintainer approved"
    UNREVIEWED = "unreviewed", "not reviewed"


class Allocation(models.Model):
    """Accelerator-seconds awarded to one project on one pool, for a period."""

    class State(models.TextChoices):
        ACTIVE = "active"
        SUSPENDED = "suspended"
        EXPIRED = "expired"
        REVOKED = "revoked"

    project = models.ForeignKey("portal.Project", on_delete=models.PROTECT, related_name="allocations")
    pool = models.ForeignKey(AcceleratorPool, on_delete=models.PROTECT, related_name="allocations")
    awarded = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    used = models.BigIntegerField(default=0)
    # Part of the award not yet released (a later tranche): counted in `awarded`, never reservable.
    held = models.BigIntegerField(default=0)
    # Usage with exponential decay, for fair-share ordering (updated at each charge).
    decayed_usage = models.FloatField(default=0.0)
    decayed_usage_at = models.DateTimeField(null=True, blank=True)
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    # What its runs execute: the snapshot the reviewers scored, until a maintainer approves another
    # (portal.services.repository_changes). None only for allocations made without a review (the demo's).
    snapshot = models.ForeignKey(
        "reproducibility.Snapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="allocations"
    )
    source_basis = models.CharField(max_length=12, choices=SourceBasis.choices, default=SourceBasis.UNREVIEWED)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["state", "expires_at"])]
        constraints = [
            models.CheckConstraint(condition=Q(awarded__gte=0), name="allocation_awarded_not_negative"),
            models.CheckConstraint(condition=Q(reserved__gte=0), name="allocation_reserved_not_negative"),
            models.CheckConstraint(condition=Q(used__gte=0), name="allocation_used_not_negative"),
            models.CheckConstraint(condition=Q(held__gte=0), name="allocation_held_not_negative"),
            models.CheckConstraint(
                condition=Q(used__lte=F("awarded") - F("reserved") - F("held")), name="allocation_never_overspent"
            ),
            models.CheckConstraint(condition=Q(expires_at__gt=F("starts_at")), name="allocation_period_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.project} on {self.pool}"

    @property
    def remaining(self) -> int:
        """What new runs may still reserve: held tranches are not theirs yet."""
        return self.awarded - self.reserved - self.used - self.held


class LedgerEntry(models.Model):
    """One change to an allocation's balances. Never updated or deleted.

    award, top_up, revoke, adjust and return (-: unused hours handed back to the call's budget)
    move `awarded`; reserve (+) and release (-) move `reserved`; charge (+) moves seconds from
    `reserved` to `used` (a run is charged out of its own reservation, so it can never spend what
    was not held); hold (+) and unhold (-: a tranche released) move `held`, the part of the award
    runs may not reserve yet.
    """

    class Kind(models.TextChoices):
        AWARD = "award"
        TOP_UP = "top_up", "top-up"
        RESERVE = "reserve"
        RELEASE = "release"
        CHARGE = "charge"
        REVOKE = "revoke"
        ADJUST = "adjust"
        RETURN = "return", "returned to the call"
        HOLD = "hold", "held (later tranche)"
        UNHOLD = "unhold", "tranche released"

    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    seconds = models.BigIntegerField(help_text="Signed accelerator-seconds.")
    job = models.ForeignKey("TrainingJob", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    memo = models.CharField(max_length=500, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created", "id"]
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(kind__in=["award", "top_up", "reserve", "charge", "hold"], seconds__gte=0)
                    | Q(kind__in=["release", "revoke", "return", "unhold"], seconds__lte=0)
                    | Q(kind="adjust")
                ),
                name="ledger_sign_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.seconds:+d}s on allocation {self.allocation_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("Ledger entries are append-only: add an adjusting entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise ValueError("Ledger entries are append-only and cannot be deleted.")


class TrainingJob(models.Model):
    """A distributed training run spending an allocation's quota."""

    class State(models.TextChoices):
        QUEUED = "queued"
        ADMITTED = "admitted"
        LAUNCHING = "launching"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"
        PREEMPTED = "preempted"
        LOST = "lost"

    ACTIVE_STATES = (State.ADMITTED, State.LAUNCHING, State.RUNNING)
    TERMINAL_STATES = (State.SUCCEEDED, State.FAILED, State.CANCELLED, State.PREEMPTED, State.LOST)

    allocation = models.ForeignKey(Allocation, on_delete=models.PROTECT, related_name="jobs")
    pool = models.ForeignKey(AcceleratorPool, on_delete=models.PROTECT, related_name="jobs")
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    name = models.CharField(max_length=200, blank=True)
    # The spec.
    entrypoint = models.CharField(max_length=300, help_text="e.g. train.py")
    args = models.JSONField(default=list, blank=True)
    image = models.CharField(max_length=300, blank=True)
    workers = models.PositiveSmallIntegerField(default=1)
    accelerators_per_worker = models.PositiveSmallIntegerField(default=1)
    max_runtime_seconds = models.PositiveIntegerField()
    priority = models.SmallIntegerField(default=0)
    seed = models.BigIntegerField(default=0)
    source_path = models.CharField(max_length=500, blank=True, help_text="Local snapshot folder.")
    repository_url = models.CharField(max_length=500, blank=True)
    commit = models.CharField(max_length=80, blank=True, help_text="The commit (or content digest) the run executes.")
    snapshot = models.ForeignKey(
        "reproducibility.Snapshot", null=True, blank=True, on_delete=models.PROTECT, related_name="jobs"
    )
    source_basis = models.CharField(max_length=12, choices=SourceBasis.choices, default=SourceBasis.UNREVIEWED)
    # The life.
    state = models.CharField(max_length=16, choices=State.choices, default=State.QUEUED)
    submitted_at = models.DateTimeField(auto_now_add=True)
    admitted_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # The launch claim (scheduler.launches): one launcher wins it, and the backend's objects carry the
    # token, so a second launch, a retried one or the sweep's reconciliation never starts another run.
    launch_token = models.CharField(max_length=64, blank=True)
    launch_claimed_at = models.DateTimeField(null=True, blank=True)
    launch_attempts = models.PositiveSmallIntegerField(default=0)
    reserved_seconds = models.BigIntegerField(default=0, help_text="Accelerator-seconds still held.")
    charged_seconds = models.BigIntegerField(default=0)
    backend_handle = models.JSONField(default=dict, blank=True)
    failure_reason = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    # What came back (filled by the runner and the artifact readers).
    artifacts_dir = models.CharField(max_length=500, blank=True)
    scalar_cache = models.JSONField(default=dict, blank=True)
    model_summary = models.JSONField(default=dict, blank=True)
    progress = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        indexes = [
            models.Index(fields=["pool", "state"]),
            models.Index(fields=["state"]),
            # Job lists show the newest 50: an index read instead of sorting every job (88 ms at 20,000).
            models.Index(fields=["-submitted_at", "-id"], name="job_newest_first"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(workers__gte=1), name="job_workers_positive"),
            models.CheckConstraint(condition=Q(accelerators_per_worker__gte=1), name="job_accelerators_positive"),
            models.CheckConstraint(condition=Q(max_runtime_seconds__gt=0), name="job_runtime_positive"),
            models.CheckConstraint(condition=Q(reserved_seconds__gte=0), name="job_reserved_not_negative"),
            models.CheckConstraint(condition=Q(charged_seconds__gte=0), name="job_charged_not_negative"),
        ]

    def __str__(self) -> str:
        return self.name or f"job {self.pk}"

    @property
    def title(self) -> str:
        """What every page calls the run: its number, and its name when it has one."""
        return f"Run #{self.pk}" + (f" ({self.name})" if self.name else "")

    @property
    def accelerators(self) -> int:
        return self.workers * self.accelerators_per_worker

    @property
    def worst_case_seconds(self) -> int:
        return self.accelerators * self.max_runtime_seconds

    @property
    def is_terminal(self) -> bool:
        return self.state in self.TERMINAL_STATES

    @property
    def runs_reviewed_source(self) -> bool:
        """Whether the run executes the reviewed commit or one a maintainer approved."""
        return self.source_basis in (SourceBasis.REVIEWED, SourceBasis.APPROVED)


class JobEvent(models.Model):
    """A state change of a job: the job page's timeline."""

    job = models.ForeignKey(TrainingJob, on_delete=models.CASCADE, related_name="events")
    from_state = models.CharField(max_length=16, blank=True)
    to_state = models.CharField(max_length=16)
    at = models.DateTimeField(help_text="When it happened, by the backend's clock where it said.")
    # When the portal learnt it: a run's end can be learnt before its start was (a short job), so
    # the timeline follows this, not `at`.
    recorded_at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    message = models.TextField(blank=True)

    class Meta:
        ordering = ["recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.from_state or '-'} -> {self.to_state}"
