"""A nameko timer whose interval comes from configuration, so operators tune it without a release."""

from __future__ import annotations

from typing import Any

from nameko.timer import Timer

from shared.config import section


class ConfiguredTimer(Timer):
    """``@configured_timer("timeliness", "scan_interval_seconds")``: interval read from that config key."""

    def __init__(self, section_name: str, key: str, **kwargs: Any) -> None:
        self.section_name = section_name
        self.key = key
        super().__init__(interval=1.0, **kwargs)

    def setup(self) -> None:
        self.interval = float(section(self.container.config, self.section_name)[self.key])
        super().setup()


configured_timer = ConfiguredTimer.decorator
