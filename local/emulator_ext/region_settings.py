"""The numeric settings of an emulator control endpoint: values for every Region, and values of
one Region over them (tests use a Region of their own), behind one lock. Served by
throttle.settings_middleware (GET state, POST configure, POST reset)."""

from __future__ import annotations

import threading
from typing import Any


class RegionSettings:
    """Numbers named by `defaults`, global or per Region. A subclass refuses values in `check`."""

    defaults: dict[str, float] = {}

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self, region: str | None = None) -> None:
        with self.lock:
            if region is None:
                self.values: dict[str, float] = dict(self.defaults)
                self.regions: dict[str, dict[str, float]] = {}
            else:
                self.regions.pop(region, None)

    def check(self, values: dict[str, float]) -> None:
        """Raises ValueError for values the control refuses; every value is accepted here."""

    def configure(self, update: dict[str, Any]) -> None:
        region = update.get("region")
        values = {k: float(update[k]) for k in self.defaults if k in update}
        self.check(values)
        with self.lock:
            if region is None:
                self.values.update(values)
            else:
                self.regions.setdefault(region, {}).update(values)

    def get(self, region: str, name: str) -> float:
        with self.lock:
            return self.regions.get(region, {}).get(name, self.values[name])

    def state(self) -> dict[str, Any]:
        with self.lock:
            return {**self.values, "regions": {r: dict(v) for r, v in self.regions.items()}}
