"""Edge-triggered alerts with hysteresis.

A :class:`LevelGuard` watches a few figures (free bytes, free inodes, available memory) against
floors per level. It answers only at an edge: once when a figure falls below a worse level's
floor, once (``clear``) when every figure is back above the floors of the level it was at, plus
a margin (the hysteresis, 5 % by default). Between the two it says nothing, however many
samples come, so a figure wavering around a floor raises one alert, not one per sample.
Getting better without clearing (from ``stop`` back to within ``warn``) is silent too: the
alert of the worse level stands until the figure clears altogether or crosses again.

:class:`OnceGuard` is the simpler edge of a script that overruns or falls silent: one alert per
episode, keyed by script.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from lfsplug import AlertLevel

__all__ = ["Crossing", "LevelGuard", "OnceGuard"]

#: a figure below its floor: (metric, value, floor)
_Found = tuple[str, float, float]


@dataclass(frozen=True)
class Crossing:
    """What an update found: a new ``level`` (or ``clear``), the figure that crossed and its
    floor (None for a clear). A ``level`` given as text becomes an :class:`AlertLevel`."""

    level: AlertLevel
    metric: str | None = None
    value: float | None = None
    floor: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "level", AlertLevel(self.level))


class LevelGuard:
    """Floors per level, mildest first: ``{AlertLevel.WARN: {"free": 10e9}, AlertLevel.STOP:
    {...}}`` (levels given as text are converted)."""

    def __init__(self, floors: Mapping[AlertLevel, Mapping[str, float]],
                 hysteresis: float = 0.05):
        self.levels = [AlertLevel(level) for level in floors if floors[level]]
        self.floors = {level: dict(floors[level]) for level in self.levels}
        self.hysteresis = hysteresis
        #: the level in force (None: all clear)
        self.level: AlertLevel | None = None

    def _below(self, level: AlertLevel, values: Mapping[str, float],
               margin: float) -> _Found | None:
        """The first figure below ``level``'s floor (times ``1 + margin``), if any."""
        for metric, floor in self.floors[level].items():
            value = values.get(metric)
            if value is not None and value < floor * (1 + margin):
                return metric, value, floor
        return None

    def _rank(self, level: AlertLevel | None) -> int:
        return -1 if level is None else self.levels.index(level)

    def update(self, values: Mapping[str, float]) -> Crossing | None:
        """Take one sample's figures; return the edge they make, or None."""
        worst = None
        for level in reversed(self.levels):
            found = self._below(level, values, 0.0)
            if found is not None:
                worst = (level, *found)
                break
        if worst is not None and self._rank(worst[0]) > self._rank(self.level):
            self.level = worst[0]
            return Crossing(*worst)
        if self.level is None:
            return None
        # better only once clear of a level's floor by the margin
        still = next((lv for lv in reversed(self.levels[: self._rank(self.level) + 1])
                      if self._below(lv, values, self.hysteresis) is not None), None)
        if still is None:
            self.level = None
            return Crossing(AlertLevel.CLEAR)
        self.level = still
        return None


class OnceGuard:
    """One alert per episode and key: :meth:`fire` is True the first time for a key until
    :meth:`reset` (the script spoke again, a new attempt started)."""

    def __init__(self) -> None:
        self._fired: set[str] = set()

    def fire(self, key: str) -> bool:
        if key in self._fired:
            return False
        self._fired.add(key)
        return True

    def reset(self, key: str) -> bool:
        """End the episode; True when an alert had fired for it (so a clear is due)."""
        if key in self._fired:
            self._fired.discard(key)
            return True
        return False

    def __contains__(self, key: str) -> bool:
        return key in self._fired
