"""TPU slices as GKE schedules them: a pool names an accelerator type and a topology (its node
selectors), and a job on it is one pod per TPU host, each requesting every chip of its host.

GKE places a multi-host slice's pods on the slice's node pool only when every pod asks for all the
chips of its VM (`google.com/tpu`) with the `cloud.google.com/gke-tpu-accelerator` and
`cloud.google.com/gke-tpu-topology` node selectors; fewer chips, or more pods than hosts, leave
pods pending forever. So a job that cannot be laid onto one slice is refused at submission.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

ACCELERATOR_SELECTOR = "cloud.google.com/gke-tpu-accelerator"
TOPOLOGY_SELECTOR = "cloud.google.com/gke-tpu-topology"

# Chips on each TPU VM of a multi-host slice, per GKE accelerator type; and the single-host
# topologies where one VM holds the whole slice (GKE's "Plan TPUs" tables: v5e and v6e VMs hold
# 1, 4 or 8 chips alone, 4 chips in a multi-host slice; v4, v5p and v3 VMs hold 4).
CHIPS_PER_HOST = {
    "tpu-v3-slice": 4,
    "tpu-v3-device": 4,
    "tpu-v4-podslice": 4,
    "tpu-v5p-slice": 4,
    "tpu-v5-lite-podslice": 4,
    "tpu-v5-lite-device": 4,
    "tpu-v6e-slice": 4,
}
SINGLE_HOST_TOPOLOGIES = {
    "tpu-v5-lite-podslice": {"1x1", "2x2", "2x4"},
    "tpu-v5-lite-device": {"1x1", "2x2", "2x4"},
    "tpu-v6e-slice": {"1x1", "2x2", "2x4"},
}


class SliceError(ValueError):
    """A pool or a job that does not fit GKE's slice model; the message says why and what fits."""


@dataclass(frozen=True)
class TpuSlice:
    accelerator: str
    topology: str
    chips: int
    hosts: int
    chips_per_host: int

    @property
    def shape(self) -> str:
        hosts = f"{self.hosts} host(s) of {self.chips_per_host}"
        return f"{self.accelerator} {self.topology}: {self.chips} chips on {hosts}"


def slice_of(node_selectors: dict[str, Any]) -> TpuSlice:
    """The slice a TPU pool's node selectors describe, or SliceError saying what is missing."""
    accelerator = str(node_selectors.get(ACCELERATOR_SELECTOR, "")).strip()
    topology = str(node_selectors.get(TOPOLOGY_SELECTOR, "")).strip()
    if not accelerator or not topology:
        raise SliceError(
            f"This TPU pool does not say which slice it has: a maintainer must set the node selectors "
            f"{ACCELERATOR_SELECTOR} (e.g. tpu-v4-podslice) and {TOPOLOGY_SELECTOR} (e.g. 2x2x2)."
        )
    if accelerator not in CHIPS_PER_HOST:
        known = ", ".join(sorted(CHIPS_PER_HOST))
        raise SliceError(f"Unknown TPU accelerator type {accelerator!r}; GKE's are {known}.")
    try:
        sides = [int(side) for side in topology.lower().split("x")]
    except ValueError:
        sides = []
    if len(sides) not in (2, 3) or any(side < 1 for side in sides):
        raise SliceError(f"TPU topology {topology!r} is not of the form AxB or AxBxC (e.g. 2x2x2).")
    chips = math.prod(sides)
    if topology in SINGLE_HOST_TOPOLOGIES.get(accelerator, set()):
        return TpuSlice(accelerator, topology, chips, 1, chips)
    per_host = CHIPS_PER_HOST[accelerator]
    if chips % per_host:
        raise SliceError(
            f"TPU topology {topology} has {chips} chips, not a whole number of {accelerator} hosts of {per_host} chips."
        )
    return TpuSlice(accelerator, topology, chips, chips // per_host, per_host)


def check_job_on_slice(node_selectors: dict[str, Any], capacity: int, workers: int, per_worker: int) -> TpuSlice:
    """The pool's slice if a job of `workers` x `per_worker` chips occupies exactly one of its
    slices, one worker per host; else SliceError with the reason and the shape that fits."""
    tpu = slice_of(node_selectors)
    if capacity % tpu.chips:
        raise SliceError(
            f"This pool's capacity ({capacity} chips) is not a whole number of {tpu.shape} slices; "
            "a maintainer must correct the pool."
        )
    if workers != tpu.hosts or per_worker != tpu.chips_per_host:
        raise SliceError(
            f"A job on this pool runs on one TPU slice ({tpu.shape}): ask for {tpu.hosts} worker(s) "
            f"with {tpu.chips_per_host} accelerators each, one per host; {workers} x {per_worker} cannot be "
            "placed by GKE."
        )
    return tpu
