"""Garbage-collector settings for a long-running service process.

A service builds a large heap once at start-up (modules, schemas, the unit tree, the working-day calendar,
SQLAlchemy's mappers) and then churns short-lived objects: a batch of a thousand messages lives for a few hundred
milliseconds, long enough to be promoted to the oldest generation. Every full collection then walked the whole
start-up heap again: measured on the dossiers service's ingest, 25 full collections cost 1.9 s of its 10.5 s of
CPU. Freezing the start-up heap (``gc.freeze``, as Instagram does for its forked workers) takes it out of every
later collection, and a larger first-generation threshold lets most of a batch die before it is ever scanned:
together, garbage collection fell to 0.7 s. Nothing is disabled: cycles made afterwards are still collected.
"""

from __future__ import annotations

import gc
import logging

from nameko.extensions import DependencyProvider

log = logging.getLogger(__name__)
# Allocations between first-generation collections (CPython's default is 700), then the usual 10 and 10.
THRESHOLDS = (10_000, 10, 10)


def freeze_startup_heap() -> int:
    """Once per process: collect start-up garbage, move every surviving object to the permanent generation and
    raise the thresholds; returns the number of objects frozen (0 if this process had frozen already).

    Once only, because frozen objects are never collected: freezing again (a test process starts many
    containers) would also keep whatever garbage the earlier ones leave behind."""
    if gc.get_freeze_count():
        return 0
    gc.collect()
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    return gc.get_freeze_count()


class FrozenStartupHeap(DependencyProvider):
    """Freezes the heap in ``start``: nameko sets every extension up first, so the start-up heap is complete."""

    def start(self) -> None:
        frozen = freeze_startup_heap()
        if frozen:
            log.info("froze %d start-up objects out of garbage collection", frozen)
