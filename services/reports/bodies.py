"""How units are named as bodies in documents: "Sở Công Thương", "Ủy ban nhân dân phường Việt Trì",
"Ủy ban nhân dân tỉnh Phú Thọ" (the registry holds "UBND tỉnh Phú Thọ" for the province)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["header_name", "province_body", "province_name", "province_short", "unit_body_name"]

_PROVINCE_PREFIXES = ("UBND tỉnh ", "Ủy ban nhân dân tỉnh ", "UBND thành phố ", "Ủy ban nhân dân thành phố ",
                      "Tỉnh ", "Thành phố ")


def province_name(configured: str, units: Sequence[Mapping[str, Any]]) -> str:
    """The configured name, else the registry's province unit name without "UBND tỉnh": "Phú Thọ"."""
    if configured.strip():
        return configured.strip()
    root = next((u for u in units if u["kind"] == "province"), None)
    if root is None:
        return ""
    name = str(root["name"])
    for prefix in _PROVINCE_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix):]
    return name


def province_body(province: str) -> str:
    return f"Ủy ban nhân dân tỉnh {province}"


def province_short(province: str) -> str:
    """The body above a department in its header block, abbreviated as headers do: "UBND tỉnh Phú Thọ"."""
    return f"UBND tỉnh {province}"


def header_name(body: str) -> str:
    """A people's committee's name in a header block breaks after "Ủy ban nhân dân" ("\n" = line break)."""
    prefix = "Ủy ban nhân dân "
    return f"{prefix.strip()}\n{body[len(prefix):]}" if body.startswith(prefix) else body


def unit_body_name(unit: Mapping[str, Any], province: str) -> str:
    """A commune or district is its people's committee; a department is itself; the province its committee."""
    name = str(unit["name"])
    if unit["kind"] == "province":
        return province_body(province)
    if unit["kind"] in ("commune", "district"):
        return f"Ủy ban nhân dân {name[:1].lower()}{name[1:]}"
    return name
