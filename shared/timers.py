"""A nameko timer whose interval comes from configuration, so operators tune it without a release."""

from __future__ import annotations

from typing import Any

from nameko.timer import Timer

from shared.config import section


class ConfiguredTimer(Timer):
    """``@configured_timer("timeliness", "scan_interval_seconds")``: interval read from that config key (the
    packaged shared/config.yaml supplies the default), checked when the container starts: a value that is not a
    positive number of seconds stops the start with the key named, instead of a timer that spins or never runs."""

    def __init__(self, section_name: str, key: str, **kwargs: Any) -> None:
        self.section_name = section_name
        self.key = key
        super().__init__(interval=1.0, **kwargs)

    def setup(self) -> None:
        self.interval = interval_from(section(self.container.config, self.section_name), self.section_name,
                                      self.key)
        super().setup()


def interval_from(values: dict[str, Any], section_name: str, key: str) -> float:
    """``values[key]`` as a positive number of seconds; ValueError naming ``section.key`` otherwise."""
    value = values.get(key)
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{section_name}.{key}: {value!r} is not a number of seconds") from None
    if not seconds > 0:
        raise ValueError(f"{section_name}.{key}: must be more than 0 seconds, not {value!r}")
    return seconds


configured_timer = ConfiguredTimer.decorator
