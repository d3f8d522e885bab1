"""The other services as one page sees them: RPC calls with a deadline, errors mapped to what a page shows.

nameko's RpcProxy waits for a reply forever; a page must not. Every call here waits at most
``web.rpc_timeout_seconds``; a service that does not answer (stopped, its queue unread, the broker gone) becomes
:class:`Unavailable` (a 503 page). Remote domain errors arrive as nameko ``RemoteError`` with the exception's
class name: "not found" ones become :class:`NotFound` (404), refusals :class:`Refused` (the form again, with
the field the service named). The time spent waiting on RPC is added up per request, so a page's own
overhead can be told apart from its backends' (the ``Server-Timing`` header and bench/web_pages.py).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import eventlet
from kombu.exceptions import OperationalError
from nameko.exceptions import RemoteError, UnknownService

NOT_FOUND_TYPES = frozenset({"NotFound", "PeriodError", "AccountNotFound", "SeasonNotFound"})
REFUSED_TYPES = frozenset({"ValueError", "ScoreError", "BadRequest", "NotReplayable", "SetConflict", "SeasonError",
                           "SeasonConflict"})


class Unavailable(Exception):
    """A backend service did not answer in time (503)."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = service


class NotFound(LookupError):
    """The service says what the URL names does not exist (404)."""


class Refused(ValueError):
    """The service refused the request; ``field`` is what it named before the colon (``scores[1].points``)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.field = field
        self.reason = reason


def _split(message: str) -> tuple[str, str]:
    head, sep, tail = message.partition(": ")
    if sep and " " not in head.strip() and len(head) < 80:
        return head.strip(), tail.strip()
    return "", message


@dataclass
class RpcClock:
    """Seconds this request spent waiting on other services, and how many calls it made."""

    seconds: float = 0.0
    calls: int = 0


@dataclass
class Pending:
    """A call already sent; ``result()`` waits for it (calls started together run in parallel)."""

    backends: Backends
    service: str
    method: str
    reply: Any
    started: float

    def result(self) -> Any:
        return self.backends._wait(self)


@dataclass
class Backends:
    proxies: Mapping[str, Any]
    timeout: float
    clock: RpcClock = field(default_factory=RpcClock)

    def start(self, service: str, method: str, *args: Any, **kwargs: Any) -> Pending:
        started = time.perf_counter()
        try:
            reply = getattr(self.proxies[service], method).call_async(*args, **kwargs)
        except UnknownService:
            raise Unavailable(service) from None
        except (TimeoutError, OperationalError, OSError):
            raise Unavailable(service) from None
        finally:
            self.clock.seconds += time.perf_counter() - started  # publishing the request
        return Pending(self, service, method, reply, started)

    def call(self, service: str, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.start(service, method, *args, **kwargs).result()

    def _wait(self, pending: Pending) -> Any:
        waited_from = time.perf_counter()
        try:
            with eventlet.Timeout(max(0.1, self.timeout - (waited_from - pending.started))):
                return pending.reply.result()
        except eventlet.Timeout:
            raise Unavailable(pending.service) from None
        except RemoteError as exc:
            field_name, reason = _split(str(exc.value))
            if exc.exc_type in NOT_FOUND_TYPES:
                raise NotFound(str(exc.value)) from None
            if exc.exc_type in REFUSED_TYPES:
                raise Refused(field_name, reason) from None
            raise
        except (OperationalError, OSError):
            raise Unavailable(pending.service) from None
        finally:
            # time blocked here: calls started together overlap, and only the wait for the slowest is counted
            self.clock.seconds += time.perf_counter() - waited_from
            self.clock.calls += 1
