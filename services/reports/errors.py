"""The reports service's domain errors, mapped to RPC errors (``expected_exceptions``) and HTTP statuses, and the
errors of the services it asks for figures, registered with nameko by their remote path.

nameko turns an error raised in another service into a generic ``RemoteError`` unless the exception's dotted
path (``exc_path``) is in its registry (``nameko.exceptions.registry``, as nameko-examples' gateway uses it): the
registered class is raised instead. The classes registered here are both ``RemoteError`` (so any other caller
in the same process, the demo's, still catches what it caught) and this service's NotFound / BadRequest (so the
builder stops on them with the remote message). Matching by exception *name* would confuse any two services'
``NotFound``; a path names exactly one class (tests/unit/test_reports_store.py checks each still exists).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nameko.exceptions import RemoteError, registry


class NotFound(LookupError):
    """An unknown unit, criteria set, period with no figures, or document: nothing is built (404)."""


class BadRequest(ValueError):
    """A malformed request (period label, format, figure): nothing is built (400)."""


def remote_error(*exc_paths: str) -> Callable[[type], type]:
    """Register the decorated class to be raised when a remote service raises the exception at ``exc_paths``."""

    def register(exc_type: type) -> type:
        for path in exc_paths:
            registry[path] = exc_type
        return exc_type

    return register


class _Remote(RemoteError):
    remote_type = ""

    def __init__(self, *args: Any) -> None:
        value = args[0] if len(args) == 1 else ", ".join(map(str, args))
        RemoteError.__init__(self, self.remote_type, value)

    def __str__(self) -> str:
        return str(self.value)


REMOTE_NOT_FOUND = ("services.dossiers.reads.NotFound", "services.scoring.recalc.NotFound")
REMOTE_BAD_REQUEST = ("services.dossiers.periods.PeriodError",)


@remote_error(*REMOTE_NOT_FOUND)
class RemoteNotFound(_Remote, NotFound):
    """An unknown unit (dossiers) or criteria set / unit result (scoring)."""

    remote_type = "NotFound"


@remote_error(*REMOTE_BAD_REQUEST)
class RemoteBadRequest(_Remote, BadRequest):
    """A period label dossiers cannot read."""

    remote_type = "PeriodError"
