"""The figures documents are built from, asked over RPC of the services that own them (never their tables).

:class:`Sources` wraps the scoring and dossiers RPC proxies (a nameko ``RpcProxy`` in the service, a
``ClusterRpcProxy``'s attributes in tools) and turns their remote errors into this service's: an unknown set,
unit or period is :class:`NotFound`, a malformed period :class:`BadRequest`. Anything else propagates.
"""

from __future__ import annotations

from typing import Any

from nameko.exceptions import RemoteError

from services.reports.errors import BadRequest, NotFound

_NOT_FOUND = {"NotFound"}
_BAD_REQUEST = {"PeriodError", "ValueError", "BadRequest"}


def _translate(exc: RemoteError) -> Exception:
    message = str(exc.value) if exc.value is not None else str(exc)
    if exc.exc_type in _NOT_FOUND:
        return NotFound(message)
    if exc.exc_type in _BAD_REQUEST:
        return BadRequest(message)
    return exc


class Sources:
    def __init__(self, scoring: Any, dossiers: Any) -> None:
        self.scoring = scoring
        self.dossiers = dossiers

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except RemoteError as exc:
            translated = _translate(exc)
            if translated is exc:
                raise
            raise translated from None

    def ranking(self, set_id: str) -> dict[str, Any]:
        return self._call(self.scoring.ranking, set_id)

    def unit_index(self, set_id: str, unit_code: str) -> str | None:
        """The unit's index in a set, or None when it has no result there (not an error for a commitment)."""
        try:
            return self._call(self.scoring.unit_result, set_id, unit_code)["index"]
        except NotFound:
            return None

    def plan(self, unit_code: str, year: int) -> dict[str, Any]:
        return self._call(self.scoring.plan, unit_code, year)

    def units(self) -> list[dict[str, Any]]:
        return self._call(self.dossiers.units)

    def period_stats(self, unit_code: str, period: str, include_children: bool = False) -> Any:
        return self._call(self.dossiers.period_stats, unit_code, period, include_children)
