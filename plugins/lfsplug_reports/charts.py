"""Chart geometry for the HTML report: a Gantt timeline and line charts, as plain records.

The template draws these as inline SVG (no library, no script). Every chart shares one time
axis: the same left edge (:func:`plot_left`, room for the widest row or value label), the same
plot width and the same round ticks, so a moment is at one x in the timeline and in each
resource chart; values have round ticks too (:func:`value_axis`). Spans are laid out on tracks
greedily (:func:`assign_slots`, also used by the trace), and a series is thinned to at most
:data:`MAX_POINTS` points by keeping each time bucket's lowest and highest value
(:func:`downsample`), so a day of one-second samples still draws fast and keeps its peaks.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, NamedTuple

from lfsplug import format_duration

if TYPE_CHECKING:
    from lfsplug_reports.data import RunData, Series

__all__ = ["LABELS", "MAX_POINTS", "Bar", "Gantt", "LineChart", "Span", "assign_slots",
           "downsample", "gantt", "label_of", "line_charts", "plot_left", "spans", "time_ticks",
           "value_axis"]

#: The most points a line of a chart has.
MAX_POINTS = 1000
#: Above this many spans the Gantt has one row per parallel slot, not one per script.
ROW_PER_SCRIPT = 150
WIDTH = 960  # the plot area, px
ROW = 16
TOP = 8  # room above a line chart for its top label
#: The left edge of the plot areas when no row label needs more room (value labels fit).
MIN_LEFT = 56.0
#: What a legend calls each sampled metric (a watched directory's label for ``disk_free:*``).
LABELS = {"cpu_percent": "CPU %", "mem_percent": "memory %", "swap_percent": "swap %",
          "psi_cpu": "CPU pressure", "psi_memory": "memory pressure", "psi_io": "I/O pressure",
          "lfs": "$LFS", "sources": "sources", "state": "state directory"}
COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]


@dataclass
class Span:
    """One attempt of one script on the run's clock; ``slot`` is its track."""

    name: str
    attempt: int
    start: float
    end: float
    status: str
    slot: int = 0


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    name: str
    attempt: int
    status: str
    title: str


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class Gantt:
    width: float
    height: float
    left: float
    bars: list[Bar]
    rows: list[tuple[float, str]]
    ticks: list[Tick]
    by: str  # "script" or "slot"
    plot_width: float = WIDTH
    plot_height: float = 0.0


@dataclass
class Line:
    label: str
    color: str
    points: str  # "x,y x,y ..." for a polyline
    last: float
    peak: float
    name: str = ""  # what the legend calls it (``CPU %``); ``label`` is the metric's key


@dataclass
class LineChart:
    key: str
    title: str
    unit: str
    width: float
    height: float
    left: float
    lines: list[Line]
    yticks: list[tuple[float, str]]
    ticks: list[Tick]
    notes: list[str] = field(default_factory=list)
    plot_width: float = WIDTH
    plot_top: float = TOP
    plot_height: float = 160.0


def spans(data: RunData) -> list[Span]:
    """Every attempt that ran in this run, on tracks so that no two on a track overlap."""
    end = data.end
    found = []
    for script in data.scripts:
        if not script.ran:
            continue
        last = len(script.tries)
        for attempt in script.attempt_records():
            stop = attempt.finished if attempt.finished is not None else end
            status = script.status if attempt.attempt == last else "retried"
            found.append(Span(script.name, attempt.attempt, attempt.started,
                              max(stop, attempt.started), status))
    assign_slots(found)
    return found


def assign_slots(items: list[Span]) -> int:
    """Give each span the lowest track free when it starts (greedy interval colouring, which
    needs as many tracks as the most spans running at once); return how many tracks."""
    items.sort(key=lambda s: (s.start, s.end))
    busy: list[tuple[float, int]] = []  # (end, slot) of spans still on a track
    free: list[int] = []
    tracks = 0
    for item in items:
        while busy and busy[0][0] <= item.start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            item.slot = heapq.heappop(free)
        else:
            item.slot, tracks = tracks, tracks + 1
        heapq.heappush(busy, (item.end, item.slot))
    return tracks


def time_ticks(duration: float, left: float, count: int = 8) -> list[Tick]:
    """Round ticks (1, 2, 5 x 10^n seconds, whole minutes or hours) along a plot of
    ``duration`` seconds that starts at x ``left``; every chart of a report gets the same."""
    step = _nice_step(duration / count if duration > 0 else 1.0)
    ticks = []
    for i in range(int(duration / step + 1e-9) + 1):
        t = i * step
        x = left + (t / duration * WIDTH if duration > 0 else 0.0)
        ticks.append(Tick(round(x, 1), _tick_label(t)))
    return ticks


def _tick_label(t: float) -> str:
    """``0``, ``0.2 s``, ``45 s``, ``2 min``, ``1 h 30 min``."""
    if t == 0:
        return "0"
    if t < 60:
        return f"{round(t, 3):g} s"
    hours, rest = divmod(round(t), 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "",
             f"{secs} s" if secs else ""]
    return " ".join(p for p in parts if p)


def value_axis(peak: float, top: float | None = None, count: int = 5) -> tuple[float, float]:
    """The top of a value axis and its round step (1, 2, 5 x 10^n): ``top`` when given (100
    for a percentage: steps of 20), else the first step at or above ``peak``."""
    if top is not None:
        return top, _round_up(top / count)
    if peak <= 0:
        return 1.0, 0.2
    step = _round_up(peak / count)
    return step * math.ceil(peak / step - 1e-9), step


def plot_left(labels: Sequence[str]) -> float:
    """Where the plot areas start: room for the longest row label (at most 30 characters),
    and at least :data:`MIN_LEFT`; the same for every chart of a report."""
    widest = min(max((len(label) for label in labels), default=4), 30)
    return max(12.0 + 7 * widest, MIN_LEFT)


def row_labels(items: list[Span]) -> list[str]:
    """The timeline's row labels: the scripts in start order, else (many) the slots."""
    if len(items) <= ROW_PER_SCRIPT:
        return list(dict.fromkeys(s.name for s in sorted(items, key=lambda s: s.start)))
    count = max((s.slot for s in items), default=-1) + 1
    return [f"slot {i + 1}" for i in range(count)]


def _nice_step(raw: float) -> float:
    """A round step (1, 2, 5 x 10^n seconds, or whole minutes and hours) near ``raw``."""
    for step in (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400):
        if raw <= step and raw > 30:
            return float(step)
    return _round_up(raw)


def _round_up(raw: float) -> float:
    """The smallest of 1, 2, 5 x 10^n not below ``raw``."""
    exponent = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    return next(m * exponent for m in (1, 2, 5, 10) if m * exponent >= raw * (1 - 1e-9))


def gantt(data: RunData, items: list[Span], left: float | None = None) -> Gantt:
    """The timeline: a row per script (or per slot when there are many), a bar per attempt;
    its plot area starts at ``left`` (default: :func:`plot_left` of its labels)."""
    start, duration = data.run.started, max(data.end - data.run.started, 1e-6)
    by_script = len(items) <= ROW_PER_SCRIPT
    labels = row_labels(items)
    index = {name: i for i, name in enumerate(labels)}
    if left is None:
        left = plot_left(labels)
    bars = []
    for item in items:
        row = index[item.name] if by_script else item.slot
        x = left + (item.start - start) / duration * WIDTH
        width = max((item.end - item.start) / duration * WIDTH, 1.0)
        title = (f"{item.name} (attempt {item.attempt}): {item.status}, "
                 f"{format_duration(item.end - item.start)}, from "
                 f"+{format_duration(item.start - start)}")
        bars.append(Bar(round(x, 2), row * ROW + 2, round(width, 2), ROW - 4, item.name,
                        item.attempt, item.status, title))
    rows = [(float(i * ROW + ROW - 4), label) for i, label in enumerate(labels)]
    height = len(labels) * ROW + 24
    return Gantt(left + WIDTH + 10, height, left, bars, rows, time_ticks(duration, left),
                 "script" if by_script else "slot", WIDTH, float(len(labels) * ROW))


def downsample(times: Sequence[float], values: Sequence[float],
               limit: int = MAX_POINTS) -> tuple[list[float], list[float]]:
    """At most ``limit`` points: each of ``limit // 2`` equal time buckets keeps its lowest
    and its highest value, in time order (peaks survive, unlike with averaging)."""
    if len(times) <= limit:
        return list(times), list(values)
    buckets = max(limit // 2, 1)
    first, span = times[0], (times[-1] - times[0]) or 1.0
    keep: list[int] = []
    low = high = 0
    current = -1
    for i, when in enumerate(times):
        bucket = min(int((when - first) / span * buckets), buckets - 1)
        if bucket != current:
            if current >= 0:
                keep += sorted({low, high})
            low = high = i
            current = bucket
        elif values[i] < values[low]:
            low = i
        elif values[i] > values[high]:
            high = i
    keep += sorted({low, high})
    return [times[i] for i in keep], [values[i] for i in keep]


class ChartSpec(NamedTuple):
    """A chart of system samples: its metrics (``disk_free:*`` matches every watched
    directory), the top of its y axis (None: from the data) and a scale for the values."""

    key: str
    title: str
    unit: str
    metrics: list[str]
    top: float | None
    scale: float


CHARTS = [
    ChartSpec("cpu", "CPU", "%", ["cpu_percent"], 100.0, 1.0),
    ChartSpec("memory", "Memory", "%", ["mem_percent", "swap_percent"], 100.0, 1.0),
    ChartSpec("disk", "Disk free", "GiB", ["disk_free:*"], None, 1 / 2**30),
    ChartSpec("pressure", "Pressure stall (share of time stalled, avg10)", "%",
              ["psi_cpu", "psi_memory", "psi_io"], None, 1.0),
]


def line_charts(data: RunData, left: float = MIN_LEFT) -> list[LineChart]:
    """The CPU, memory, disk and pressure charts, each with the series that were sampled,
    their plot areas starting at ``left`` (the timeline's)."""
    charts = []
    for spec in CHARTS:
        series = _matching(data.system, spec.metrics)
        if series:
            charts.append(_line_chart(data, spec, series, left))
    return charts


def _matching(system: dict[str, Series], patterns: list[str]) -> list[Series]:
    found = []
    for pattern in patterns:
        if pattern.endswith(":*"):
            prefix = pattern[:-1]
            found += [system[m] for m in sorted(system) if m.startswith(prefix)]
        elif pattern in system:
            found.append(system[pattern])
    return [s for s in found if s.times]


def _line_chart(data: RunData, spec: ChartSpec, series: list[Series],
                left: float) -> LineChart:
    height, scale = 160.0, spec.scale
    bottom = TOP + height  # the y of the value 0
    start, duration = data.run.started, max(data.end - data.run.started, 1e-6)
    peak = max(max(s.values) for s in series) * scale
    ymax, step = value_axis(peak, spec.top)
    lines = []
    for i, one in enumerate(series):
        times, values = downsample(one.times, one.values)
        points = " ".join(
            f"{left + min(max((t - start) / duration, 0.0), 1.0) * WIDTH:.1f},"
            f"{bottom - min(v * scale / ymax, 1.0) * height:.1f}"
            for t, v in zip(times, values, strict=True))
        label = one.metric.split(":", 1)[1] if ":" in one.metric else one.metric
        lines.append(Line(label, COLORS[i % len(COLORS)], points, one.values[-1] * scale,
                          max(one.values) * scale, label_of(label)))
    steps = round(ymax / step)
    yticks = [(round(bottom - i / steps * height, 1), _number(i * step))
              for i in range(steps + 1)]
    return LineChart(spec.key, spec.title, spec.unit, left + WIDTH + 10, bottom + 24, left,
                     lines, yticks, time_ticks(duration, left), plot_height=height)


def label_of(metric: str) -> str:
    """A legend's name for a metric or watched directory (``psi_io``: ``I/O pressure``)."""
    return LABELS.get(metric, metric)


def _number(value: float) -> str:
    """A tick's value without float noise: ``0``, ``0.2``, ``25``, ``1.5``."""
    return f"{round(value, 9):g}"
