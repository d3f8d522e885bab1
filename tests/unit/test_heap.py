"""The start-up heap is frozen once, in a fresh interpreter (what ``nameko run`` is), and collection still works."""

from __future__ import annotations

import json
import subprocess
import sys

from nameko.testing.utils import get_extension

from services.dossiers.service import DossiersService
from services.notifications.service import NotificationsService
from services.reports.service import ReportsService
from services.scoring.service import ScoringService
from shared.heap import THRESHOLDS, FrozenStartupHeap

PROBE = """
import gc, json, weakref
from shared.heap import freeze_startup_heap
before = gc.get_threshold()
first = freeze_startup_heap()
second = freeze_startup_heap()
class Node: pass
a, b = Node(), Node()
a.other, b.other = b, a                     # a cycle made after the freeze
alive = weakref.ref(a)
del a, b
gc.collect()
print(json.dumps({"before": before, "first": first, "second": second, "after": gc.get_threshold(),
                  "frozen": gc.get_freeze_count(), "cycle_collected": alive() is None}))
"""


def test_the_startup_heap_is_frozen_once_and_later_cycles_are_still_collected():
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True, timeout=60)
    result = json.loads(out.stdout)
    assert result["before"] == [700, 10, 10]
    assert result["first"] > 1000 and result["first"] == result["frozen"]
    assert result["second"] == 0  # a second container in the same process freezes nothing more
    assert result["after"] == list(THRESHOLDS)
    assert result["cycle_collected"]


def test_every_service_freezes_its_startup_heap():
    from nameko.containers import ServiceContainer

    for service in (DossiersService, ScoringService, ReportsService, NotificationsService):
        container = ServiceContainer(service, {"AMQP_URI": "memory://"})
        assert get_extension(container, FrozenStartupHeap) is not None, service.__name__
