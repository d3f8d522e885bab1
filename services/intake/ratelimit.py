"""Per-vendor rate limit on events: a token bucket (``rate`` events a second, up to ``burst`` at once).

Counted in events, not requests: one request of 5,000 events weighs what 5,000 requests of one do. The bucket lives
in the process: with N replicas behind the Service a vendor gets up to N times the rate, which the operator
accounts for when setting it (docs/operations.md). A refusal says how long to wait (``Retry-After``).
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

__all__ = ["RateLimiter"]


class RateLimiter:
    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rate <= 0 or burst <= 0:
            raise ValueError("intake.rate_limit: events_per_second and burst_events must be positive")
        self.rate = float(rate)
        self.burst = float(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # vendor → (tokens, at)

    def _level(self, vendor: str, now: float) -> float:
        tokens, at = self._buckets.get(vendor, (self.burst, now))
        return min(self.burst, tokens + (now - at) * self.rate)

    def take(self, vendor: str, events: int) -> float:
        """Take ``events`` from the vendor's bucket: 0 when allowed, else the seconds to wait (nothing taken).

        More events than the burst could never pass at once: the wait is then for a full bucket, and the caller
        should split the request (the intake's ``max_events`` is kept at or below the burst)."""
        with self._lock:
            now = self._clock()
            level = self._level(vendor, now)
            if events <= level:
                self._buckets[vendor] = (level - events, now)
                return 0.0
            self._buckets[vendor] = (level, now)
            missing = min(events, self.burst) - level
            return max(missing / self.rate, 0.001)

    def blocked(self, vendor: str) -> float:
        """Seconds until the vendor's bucket holds an event again (0 now): checked before reading a request."""
        with self._lock:
            level = self._level(vendor, self._clock())
        return 0.0 if level >= 1 else (1 - level) / self.rate

    def retry_after(self, wait: float) -> str:
        """The Retry-After header value: whole seconds, at least 1."""
        return str(max(1, math.ceil(wait)))
