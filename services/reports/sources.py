"""The figures documents are built from, asked over RPC of the services that own them (never their tables).

:class:`Sources` wraps the scoring and dossiers RPC proxies (a nameko ``RpcProxy`` in the service, a
``ClusterRpcProxy``'s attributes in tools). Their domain errors arrive as the classes registered for their remote
paths in errors.py (nameko's remote-error registry): an unknown set, unit or period is answered as this service's
own :class:`NotFound`, a malformed period as :class:`BadRequest`, with the remote message. Anything else
propagates as nameko raised it.
"""

from __future__ import annotations

from typing import Any

from services.reports.errors import BadRequest, NotFound, RemoteBadRequest, RemoteNotFound


class Sources:
    def __init__(self, scoring: Any, dossiers: Any) -> None:
        self.scoring = scoring
        self.dossiers = dossiers

    def _call(self, method: Any, *args: Any) -> Any:
        try:
            return method(*args)
        except RemoteNotFound as exc:  # answered as ours: callers of reports see "NotFound", not a remote type
            raise NotFound(str(exc)) from None
        except RemoteBadRequest as exc:
            raise BadRequest(str(exc)) from None

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
