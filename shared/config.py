"""Configuration: the packaged defaults merged under the operator's YAML, env vars substituted.

nameko's own ``${VAR:default}`` YAML syntax is used so ``nameko run --config FILE`` and ``cchc`` read the
same file; keys an operator leaves out fall back to ``shared/config.yaml`` (where every key is documented).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from nameko.cli.main import setup_yaml_parser

DEFAULTS_PATH = Path(__file__).with_name("config.yaml")

setup_yaml_parser()


def read_yaml(path: Path | str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: the configuration must be a YAML mapping")
    return data


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def defaults() -> dict[str, Any]:
    """Fresh defaults, env vars resolved now (tests change the environment between loads)."""
    return read_yaml(DEFAULTS_PATH)


def load_config(path: Path | str | None = None, **overrides: Any) -> dict[str, Any]:
    config = defaults()
    if path:
        config = deep_merge(config, read_yaml(path))
    return deep_merge(config, overrides)


@lru_cache(maxsize=64)
def _frozen_defaults() -> dict[str, Any]:
    return defaults()


def section(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One section of a container's config with defaults filled in, for files that omit keys."""
    return deep_merge(_frozen_defaults().get(name, {}), config.get(name) or {})


def setting(config: Mapping[str, Any], key: str) -> Any:
    return config[key] if key in config else _frozen_defaults()[key]
