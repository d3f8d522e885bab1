"""The unit registry as the web pages need it (names, kinds, parents), asked of ``dossiers.units()`` and kept
for a few minutes per process: every page needs it for scope checks and names, and it changes a few times a
year. Kept by a dependency provider (one per container), not a module global."""

from __future__ import annotations

import time
from typing import Any

from nameko.extensions import DependencyProvider

REFRESH_SECONDS = 300.0

UNIT_KIND_TITLES = {"province": "Tỉnh", "department": "Sở, ban, ngành", "commune": "Xã, phường",
                    "district": "Huyện (trước 1/7/2025)"}


class Directory:
    def __init__(self) -> None:
        self._units: list[dict[str, Any]] = []
        self._by_code: dict[str, dict[str, Any]] = {}
        self._parents: dict[str, str | None] = {}
        self._fetched = -REFRESH_SECONDS

    def _refresh(self, backends: Any) -> None:
        if time.monotonic() - self._fetched < REFRESH_SECONDS and self._units:
            return
        units = backends.call("dossiers", "units")
        self._units, self._by_code = units, {u["code"]: u for u in units}
        self._parents = {u["code"]: u["parent_code"] for u in units}  # every scope check reads it: built once
        self._fetched = time.monotonic()

    def invalidate(self) -> None:
        """Ask the registry again on the next use (a figures answer named a unit this copy does not have: the
        dossiers service was started with another unit file)."""
        self._fetched = -REFRESH_SECONDS

    def knows_all(self, codes: Any) -> bool:
        """Whether every code is in this copy; if not, the copy is dropped (see :meth:`invalidate`)."""
        if all(code in self._by_code for code in codes):
            return True
        self.invalidate()
        return False

    def units(self, backends: Any) -> list[dict[str, Any]]:
        self._refresh(backends)
        return self._units

    def get(self, backends: Any, code: str) -> dict[str, Any] | None:
        self._refresh(backends)
        return self._by_code.get(code)

    def parents(self, backends: Any) -> dict[str, str | None]:
        """Each unit's parent (read-only: shared by every request until the next refresh)."""
        self._refresh(backends)
        return self._parents

    def root(self, backends: Any) -> dict[str, Any]:
        return next(u for u in self.units(backends) if u["parent_code"] is None)

    def name(self, backends: Any, code: str) -> str:
        unit = self.get(backends, code)
        return unit["name"] if unit else code


class DirectoryProvider(DependencyProvider):
    def setup(self) -> None:
        self.directory = Directory()

    def get_dependency(self, worker_ctx: Any) -> Directory:
        return self.directory
