"""The web process's start-up heap, kept out of the garbage collector's full passes."""

from __future__ import annotations

import gc

from django.urls import get_resolver


def freeze_startup_heap() -> None:
    """Move what is alive now (modules, settings, models, the URLconf) to the collector's permanent
    generation, where its full passes no longer walk it.

    Those passes otherwise visit the ~120,000 objects the portal holds from start-up: on a 2-core
    machine they stalled about one request in 130 by 90-110 ms; with the heap frozen they took
    8-17 ms (benchmarks/pages.py). What is frozen lives as long as the process anyway.
    """
    get_resolver().url_patterns  # the URLconf loads on first use: load it now, with the rest  # noqa: B018
    gc.collect()
    gc.freeze()
