"""The web application's copy of the unit registry (services/web/directory.py): asked once, kept, and asked again
when an answer names a unit the copy does not have."""

from __future__ import annotations

from services.web.directory import Directory


class CountingBackends:
    def __init__(self, units: list[dict]) -> None:
        self.units, self.calls = units, 0

    def call(self, service: str, method: str) -> list[dict]:
        assert (service, method) == ("dossiers", "units")
        self.calls += 1
        return list(self.units)


def unit(code: str, parent: str | None) -> dict:
    return {"code": code, "name": code, "kind": "commune", "parent_code": parent, "valid_from": None,
            "valid_to": None}


def test_the_registry_is_asked_once_and_again_only_when_an_answer_names_an_unknown_unit() -> None:
    backends = CountingBackends([unit("P25", None), unit("07900", "P25")])
    directory = Directory()
    assert directory.parents(backends) == {"P25": None, "07900": "P25"}
    assert directory.parents(backends) is directory.parents(backends)  # built once, not per scope check
    assert directory.root(backends)["code"] == "P25" and directory.get(backends, "07900")["parent_code"] == "P25"
    assert directory.knows_all(["P25", "07900"]) and backends.calls == 1
    backends.units.append(unit("99999", "P25"))  # the dossiers service now counts a unit this copy lacks
    assert not directory.knows_all(["P25", "99999"])
    assert directory.get(backends, "99999") is not None and backends.calls == 2
    assert directory.knows_all(["99999"]) and backends.calls == 2
