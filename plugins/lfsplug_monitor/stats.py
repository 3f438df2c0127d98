"""Summaries of sampled figures: min, mean, max and the 95th percentile.

A :class:`Series` keeps every sample of one metric up to :data:`MAX_KEPT` values, then keeps
every second one (and so on), so that a script sampled ten times a second for a day still
costs a bounded list; min, max and mean stay exact, the percentile comes from what is kept.
:func:`weighted_median` and :func:`pooled_slope` serve the history's estimates (:mod:`.eta`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

__all__ = ["MAX_KEPT", "Series", "SeriesSet", "percentile", "pooled_slope", "weighted_median"]

MAX_KEPT = 8192


def percentile(values: list[float], share: float) -> float:
    """The ``share`` (0-1) percentile of sorted ``values``, by linear interpolation."""
    if not values:
        raise ValueError("no values")
    position = (len(values) - 1) * share
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def weighted_median(values: Sequence[float], weights: Sequence[float]) -> float:
    """The value at which the weights of the smaller values first reach half of all weights:
    one of ``values``, never a blend (an estimate then is some source's own figure)."""
    if not values or len(values) != len(weights):
        raise ValueError("weighted_median needs as many weights as values, and some values")
    pairs = sorted(zip(values, weights, strict=True))
    half = sum(weights) / 2
    reached = 0.0
    for value, weight in pairs:
        reached += weight
        if reached >= half:
            return value
    return pairs[-1][0]


def pooled_slope(groups: Iterable[Sequence[tuple[float, float]]]) -> tuple[float, float]:
    """The within-group sums ``(Sxx, Sxy)`` of points ``(x, y)``, pooled over the groups: each
    group is centred on its own means, so that ``Sxy / Sxx`` is the slope of y over x that the
    groups share, whatever their levels (groups of one point add nothing)."""
    sxx = sxy = 0.0
    for points in groups:
        if len(points) < 2:
            continue
        mean_x = sum(x for x, _ in points) / len(points)
        mean_y = sum(y for _, y in points) / len(points)
        sxx += sum((x - mean_x) ** 2 for x, _ in points)
        sxy += sum((x - mean_x) * (y - mean_y) for x, y in points)
    return sxx, sxy


class Series:
    """Running min, max and mean of one metric, and a bounded sample for the percentile."""

    __slots__ = ("_skip", "count", "high", "kept", "low", "stride", "total")

    def __init__(self) -> None:
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = -math.inf
        self.kept: list[float] = []
        self.stride = 1
        self._skip = 0

    def add(self, value: float) -> None:
        self.count += 1
        self.total += value
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self._skip += 1
        if self._skip >= self.stride:
            self._skip = 0
            self.kept.append(value)
            if len(self.kept) >= MAX_KEPT:
                self.kept = self.kept[::2]
                self.stride *= 2

    def summary(self) -> dict[str, float]:
        """``{min, mean, max, p95}``, rounded to what a report shows."""
        p95 = percentile(sorted(self.kept), 0.95) if self.kept else self.high
        return {"min": _round(self.low), "mean": _round(self.total / self.count),
                "max": _round(self.high), "p95": _round(p95)}


class SeriesSet:
    """One :class:`Series` per metric name."""

    def __init__(self) -> None:
        self.series: dict[str, Series] = {}

    def add(self, values: Mapping[str, float]) -> None:
        for metric, value in values.items():
            series = self.series.get(metric)
            if series is None:
                series = self.series[metric] = Series()
            series.add(value)

    def summary(self) -> dict[str, dict[str, float]]:
        """``{metric: {min, mean, max, p95}}`` for every metric sampled at least once."""
        return {metric: s.summary() for metric, s in sorted(self.series.items()) if s.count}


def _round(value: float) -> float:
    """Enough digits for a figure of any size: 4 significant ones, at least 2 decimals."""
    if value == 0 or not math.isfinite(value):
        return value
    digits = max(2, 3 - math.floor(math.log10(abs(value))))
    return round(value, digits)
