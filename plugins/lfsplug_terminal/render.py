"""The dashboard's picture: a rich renderable made from a :class:`~lfsplug_terminal.board.View`.

Pure: the same view gives the same picture, so tests render to a recording ``Console`` and read
the text. From top to bottom: overall progress (``[done/total]``, a bar, elapsed, ETA and the
critical-path bound), progress per phase, one row per running script (elapsed against expected
time, what its processes use, its last line of output), the gauges (CPU, memory, disk per
watched directory) and the latest alerts, newest first. Parts without data are left out.

The picture is one :class:`rich.text.Text`, a line per row, each line cut at the terminal's
width with an ellipsis. Columns are padded here rather than laid out by ``rich.table``, and the
text is assembled from a string and its spans rather than appended piece by piece: each cut
the cost of a redraw (see benchmarks/README.md).
"""

from __future__ import annotations

import time
from typing import NamedTuple

from rich.console import Group
from rich.text import Span, Text

from lfsplug import Alert, format_duration
from lfsplug_terminal.board import Row, View
from lfsplug_terminal.lines import counter, printable

ALERTS_SHOWN = 3
BAR_WIDTH = 24
ROW_BAR_WIDTH = 10
NAME_WIDTH = 28
GAUGE_WIDTH = 6
LEVEL_STYLES = {"clear": "green", "warn": "yellow", "stop": "bold red", "halt": "bold red"}


class Builder:
    """Collects styled pieces of text; :meth:`text` makes one :class:`Text` of them."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.spans: list[Span] = []
        self.length = 0

    def append(self, piece: str, style: str = "") -> None:
        end = self.length + len(piece)
        if style and piece:
            self.spans.append(Span(self.length, end, style))
        self.parts.append(piece)
        self.length = end

    def text(self) -> Text:
        plain = "".join(self.parts).rstrip("\n")
        size = len(plain)  # a span may cover the newline just cut off
        spans = [s if s.end <= size else Span(s.start, size, s.style)
                 for s in self.spans if s.start < size]
        return Text(plain, spans=spans, no_wrap=True, overflow="ellipsis", end="")


def render(view: View, height: int = 40) -> Group:
    """The whole board, at most about ``height`` lines tall (running rows are cut first).

    The text is wrapped in a group: ``Console.print`` merges bare texts into one of its own,
    which would lose the cut at the terminal's width."""
    text = Builder()
    overall(text, view)
    if view.phases:
        phases(text, view)
    fixed = 2 + (1 if view.system else 0) + min(len(view.alerts), ALERTS_SHOWN)
    if view.rows:
        running(text, view, max(1, height - fixed))
    if view.system:
        gauges(text, view.system)
    if view.alerts:
        alerts(text, view.alerts[:ALERTS_SHOWN])
    return Group(text.text())


def bar(text: Builder, done: float, total: float, width: int, style: str = "cyan") -> None:
    """A bar of ``width`` cells, ``done`` of ``total`` of it in ``style``."""
    share = max(0.0, min(done / total, 1.0)) if total > 0 else 0.0
    filled = round(share * width)
    text.append("\u2501" * filled, style)
    text.append("\u2501" * (width - filled), "grey23")


def overall(text: Builder, view: View) -> None:
    """``[12/84] ━━━━━━━━━━━━ 14%  elapsed 12m30s  ETA 1h02m  bound 48m10s``."""
    text.append(counter(view.done, view.total) + " ", "bold")
    bar(text, view.done, view.total, BAR_WIDTH, "green")
    share = view.done / view.total if view.total else 0.0
    text.append(f" {share:4.0%}  elapsed {format_duration(view.elapsed)}")
    if view.eta is not None:
        text.append(f"  ETA {format_duration(view.eta)}", "bold")
    if view.bound is not None:
        text.append(f"  bound {format_duration(view.bound)}")
    if view.sbu_seconds:
        text.append(f"  1 SBU = {format_duration(view.sbu_seconds)}", "dim")
    failed = view.counts.get("failed", 0)
    if failed:
        text.append(f"  {failed} failed", "bold red")
    if view.stopping:
        text.append(f"  stopping: {view.stopping}", "yellow")
    text.append("\n")


def phases(text: Builder, view: View) -> None:
    """``phases  cross 5/5  temp 7/17  system 0/50``; finished phases in green."""
    text.append("phases", "dim")
    for name, done, total in view.phases:
        style = "green" if done == total else ("bold" if done else "")
        text.append(f"  {name} {done}/{total}", style)
    text.append("\n")


def running(text: Builder, view: View, room: int) -> None:
    """One line per running script, oldest first, as many as ``room`` lets (the rest
    counted): name, elapsed / expected time and a bar, what its processes use, last line."""
    rows = sorted(view.rows, key=lambda r: r.started)
    shown = rows if len(rows) <= room else rows[: room - 1]
    cells = [_cells(row, view.now) for row in shown]
    name_width = min(NAME_WIDTH, max(len(c.name) for c in cells))
    clock_width = max(len(c.clock) for c in cells)
    use_width = max(len(c.use) for c in cells)
    for row, cell in zip(shown, cells, strict=True):
        name = cell.name if len(cell.name) <= name_width else cell.name[: name_width - 1] + "\u2026"
        text.append(name.ljust(name_width), "bold cyan")
        late = row.expected is not None and cell.elapsed > row.expected
        text.append(" " + cell.clock.rjust(clock_width), "red" if late else "")
        text.append(" ")
        if row.expected:
            bar(text, min(cell.elapsed, row.expected), row.expected, ROW_BAR_WIDTH,
                "red" if late else "cyan")
        else:
            text.append(" " * ROW_BAR_WIDTH)
        if use_width:
            text.append(" " + cell.use.ljust(use_width), "dim")
        note = row.note or row.last_line
        text.append(" " + note + "\n", "yellow" if row.note else "")
    if len(shown) < len(rows):
        text.append(f"... and {len(rows) - len(shown)} more running\n", "dim")


class _Cells(NamedTuple):
    """The texts of one running row, measured before the columns are padded."""

    name: str
    clock: str
    use: str
    elapsed: float


def _cells(row: Row, now: float) -> _Cells:
    elapsed = max(0.0, now - row.started)
    name = "\u25b6 " + row.name + (f" #{row.attempt}" if row.attempt > 1 else "")
    clock = format_duration(elapsed)
    if row.expected:
        clock += f" / {format_duration(row.expected)}"
    use = []
    if row.cpu_percent is not None:
        use.append(f"cpu {row.cpu_percent:3.0f}%")
    if row.rss is not None:
        use.append(f"rss {size(row.rss)}")
    return _Cells(name, clock, " ".join(use), elapsed)


def gauges(text: Builder, system: dict[str, float]) -> None:
    """``cpu ━━━━ 73%  load 3.1  mem ━━━ 41% 3.2G free  disk lfs ━━ 62% 20.1G free``."""
    _gauge(text, "cpu", system.get("cpu_percent"))
    load = system.get("load1")
    if load is not None:
        text.append(f"load {load:.1f}  ")
    _gauge(text, "mem", system.get("mem_percent"), system.get("mem_available"))
    swap = system.get("swap_percent")
    if swap:
        _gauge(text, "swap", swap)
    labels = sorted({key.split(":", 1)[1] for key in system if key.startswith("disk_percent:")})
    for label in labels:
        _gauge(text, f"disk {label}", system.get(f"disk_percent:{label}"),
               system.get(f"disk_free:{label}"))
    text.append("\n")


def _gauge(text: Builder, label: str, percent: float | None, free: float | None = None) -> None:
    if percent is None:
        return
    style = "red" if percent >= 90 else ("yellow" if percent >= 75 else "green")
    text.append(f"{label} ", "bold")
    bar(text, percent, 100.0, GAUGE_WIDTH, style)
    text.append(f" {percent:3.0f}%")
    if free is not None:
        text.append(f" {size(free)} free", "dim")
    text.append("  ")


def alerts(text: Builder, entries: list[Alert]) -> None:
    """The latest alerts, newest first: ``12:03:04 warn  disk: lfs has 4.2G free``."""
    for entry in entries:
        clock = time.strftime("%H:%M:%S", time.localtime(entry.time))
        style = LEVEL_STYLES.get(entry.level, "yellow")
        text.append(clock + " ", "dim")
        text.append(f"{entry.level:<5} {entry.kind}: {printable(entry.message)}\n", style)


def size(count: float) -> str:
    """Bytes for people: ``512B``, ``3.2K``, ``1.5G``."""
    value = float(count)
    for unit in ("B", "K", "M", "G", "T"):
        if abs(value) < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"  # not reached: the loop returns at T
