"""The dashboard's picture: a rich renderable made from a :class:`~lfsplug_terminal.board.View`.

Pure: the same view gives the same picture, so tests render to a recording ``Console`` and read
the text. From top to bottom: overall progress (``[done/total]``, a bar, elapsed, ETA and the
critical-path bound), progress per phase, one row per running script (elapsed against expected
time, what its processes use, its last line of output), the gauges (CPU, memory, disk per
watched directory) and the latest alerts, newest first. Parts without data are left out.

The picture is one :class:`rich.text.Text`. It fits the terminal's width less one column: lines
of several parts (progress, phases, gauges) continue on the next line, indented, and what a
script printed last is cut with an ellipsis. Under the running rows, a line says why a slot
of ``-j N`` is idle and what starts next. Columns are padded here rather than laid out by
``rich.table``, and the text is assembled from a string and its spans rather than appended piece
by piece: each cut the cost of a redraw (see benchmarks/README.md).
"""

from __future__ import annotations

import time
from typing import NamedTuple

from rich.console import Group
from rich.text import Span, Text

from lfsplug import Alert, format_duration
from lfsplug_terminal.board import Row, View
from lfsplug_terminal.lines import Idle, counter, idle_text, printable

ALERTS_SHOWN = 3
BAR_WIDTH = 24
ROW_BAR_WIDTH = 10
NAME_WIDTH = 28
#: below this width, names take at most NARROW_NAME_WIDTH columns
WIDE = 100
NARROW_NAME_WIDTH = 16
GAP = "  "
INDENT = "  "
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

    def extend(self, other: Builder) -> None:
        """Append what ``other`` holds, with its styles."""
        self.spans.extend(Span(s.start + self.length, s.end + self.length, s.style)
                          for s in other.spans)
        self.parts.extend(other.parts)
        self.length += other.length

    def text(self) -> Text:
        plain = "".join(self.parts).rstrip("\n")
        size = len(plain)  # a span may cover the newline just cut off
        spans = [s if s.end <= size else Span(s.start, size, s.style)
                 for s in self.spans if s.start < size]
        return Text(plain, spans=spans, no_wrap=True, overflow="ellipsis", end="")


def render(view: View, height: int = 40, width: int = 120) -> Group:
    """The whole board, at most about ``height`` lines tall (running rows are cut first) and
    ``width`` columns wide: every line keeps its last column free (the cursor never waits at
    the edge to wrap), a line of several parts continues on the next line, indented, rather
    than being cut, and a script's last line of output is cut short.

    The text is wrapped in a group: ``Console.print`` merges bare texts into one of its own,
    which would lose the cut at the terminal's width."""
    room = max(20, width - 1)
    head, tail = Builder(), Builder()
    used = overall(head, view, room)
    if view.phases:
        used += phases(head, view, room)
    if view.idle is not None:
        used += idle(tail, view.idle, room)
    if view.system:
        used += gauges(tail, view.system, room)
    if view.alerts:
        used += alerts(tail, view.alerts[:ALERTS_SHOWN], room)
    if view.rows:
        running(head, view, max(1, height - used - 1), room)  # a line spare, for the cursor
    head.extend(tail)
    return Group(head.text())


#: One part of a line that flows (pieces of text and their styles): a line of parts continues
#: on the next line between two parts, never inside one.
Part = list[tuple[str, str]]


def flow(text: Builder, parts: list[Part], room: int) -> int:
    """Append ``parts``, two spaces apart, on as many lines of at most ``room`` columns as
    they need (further lines indented); returns how many lines that took."""
    lines, used = 1, 0
    for part in parts:
        length = sum(len(piece) for piece, _ in part)
        if used and used + len(GAP) + length > room:
            text.append("\n" + INDENT)
            lines, used = lines + 1, len(INDENT)
        elif used:
            text.append(GAP)
            used += len(GAP)
        for piece, style in part:
            text.append(piece, style)
        used += length
    text.append("\n")
    return lines


def cut(text: str, room: int) -> str:
    """``text`` in at most ``room`` columns, with an ellipsis where it was cut."""
    if len(text) <= room:
        return text
    return text[: max(0, room - 1)] + "\u2026" if room > 0 else ""


def bar_part(done: float, total: float, width: int, style: str = "cyan") -> Part:
    """A bar of ``width`` cells, ``done`` of ``total`` of it in ``style``."""
    share = max(0.0, min(done / total, 1.0)) if total > 0 else 0.0
    filled = round(share * width)
    return [("\u2501" * filled, style), ("\u2501" * (width - filled), "grey23")]


def bar(text: Builder, done: float, total: float, width: int, style: str = "cyan") -> None:
    for piece, piece_style in bar_part(done, total, width, style):
        text.append(piece, piece_style)


def overall(text: Builder, view: View, room: int = 119) -> int:
    """``[12/84] ━━━━━━━━━━━━ 14%  elapsed 12m30s  ETA 1h02m  bound 48m10s``, then the
    build's labels (``target: aarch64-lfs-linux-gnu``) when it has any."""
    share = view.done / view.total if view.total else 0.0
    parts: list[Part] = [[(counter(view.done, view.total) + " ", "bold"),
                          *bar_part(view.done, view.total, BAR_WIDTH, "green"),
                          (f" {share:4.0%}", "")],
                         [(f"elapsed {format_duration(view.elapsed)}", "")]]
    if view.eta is not None:
        parts.append([(f"ETA {format_duration(view.eta)}", "bold")])
    if view.bound is not None:
        parts.append([(f"bound {format_duration(view.bound)}", "")])
    if view.sbu_seconds:
        parts.append([(f"1 SBU = {format_duration(view.sbu_seconds)}", "dim")])
    if view.labels:
        parts.append([(cut(view.labels, room - len(INDENT)), "cyan")])
    failed = view.counts.get("failed", 0)
    if failed:
        parts.append([(f"{failed} failed", "bold red")])
    if view.stopping:
        parts.append([(cut(f"stopping: {printable(view.stopping)}", room - len(INDENT)),
                       "yellow")])
    return flow(text, parts, room)


def phases(text: Builder, view: View, room: int = 119) -> int:
    """``phases  cross 5/5  temp 7/17  system 0/50``; finished phases in green."""
    parts: list[Part] = [[("phases", "dim")]]
    for name, done, total in view.phases:
        style = "green" if done == total else ("bold" if done else "")
        parts.append([(cut(f"{name} {done}/{total}", room - len(INDENT)), style)])
    return flow(text, parts, room)


def running(text: Builder, view: View, room: int, width: int = 119) -> None:
    """One line per running script, oldest first, as many as ``room`` lets (the rest
    counted): name, elapsed / expected time and a bar, what its processes use, last line;
    each line at most ``width`` columns."""
    rows = sorted(view.rows, key=lambda r: r.started)
    shown = rows if len(rows) <= room else rows[: room - 1]
    cells = [_cells(row, view.now) for row in shown]
    widest = NAME_WIDTH if width >= WIDE else NARROW_NAME_WIDTH
    name_width = min(widest, max(len(c.name) for c in cells))
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
        used = name_width + 1 + clock_width + 1 + ROW_BAR_WIDTH
        if use_width:
            text.append(" " + cell.use.ljust(use_width), "dim")
            used += 1 + use_width
        note = row.note or row.last_line
        text.append(" " + cut(note, width - used - 1) + "\n", "yellow" if row.note else "")
    if len(shown) < len(rows):
        text.append(f"... and {len(rows) - len(shown)} more running\n", "dim")


def idle(text: Builder, slots: Idle, room: int = 119) -> int:
    """``◦ 1 slot idle: the makes of gcc hold every jobserver token; next: glibc``."""
    style = "yellow" if slots.reason else "dim"
    text.append(cut("\u25e6 " + idle_text(slots), room) + "\n", style)
    return 1


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


def gauges(text: Builder, system: dict[str, float], room: int = 119) -> int:
    """``cpu ━━━━ 73%  load 3.1  mem ━━━ 41% 3.2G free  disk lfs ━━ 62% 20.1G free``, on as
    many lines as the width needs; returns how many."""
    parts = [_gauge("cpu", system.get("cpu_percent"))]
    load = system.get("load1")
    if load is not None:
        parts.append([(f"load {load:.1f}", "")])
    parts.append(_gauge("mem", system.get("mem_percent"), system.get("mem_available")))
    swap = system.get("swap_percent")
    if swap:
        parts.append(_gauge("swap", swap))
    labels = sorted({key.split(":", 1)[1] for key in system if key.startswith("disk_percent:")})
    for label in labels:
        parts.append(_gauge(f"disk {label}", system.get(f"disk_percent:{label}"),
                            system.get(f"disk_free:{label}")))
    return flow(text, [part for part in parts if part], room)


def _gauge(label: str, percent: float | None, free: float | None = None) -> Part:
    if percent is None:
        return []
    style = "red" if percent >= 90 else ("yellow" if percent >= 75 else "green")
    part: Part = [(f"{label} ", "bold"), *bar_part(percent, 100.0, GAUGE_WIDTH, style),
                  (f" {percent:3.0f}%", "")]
    if free is not None:
        part.append((f" {size(free)} free", "dim"))
    return part


def alerts(text: Builder, entries: list[Alert], room: int = 119) -> int:
    """The latest alerts, newest first: ``12:03:04 warn  disk: lfs has 4.2G free``."""
    for entry in entries:
        clock = time.strftime("%H:%M:%S", time.localtime(entry.time))
        style = LEVEL_STYLES.get(entry.level, "yellow")
        text.append(clock + " ", "dim")
        message = f"{entry.level:<5} {entry.kind}: {printable(entry.message)}"
        text.append(cut(message, room - len(clock) - 1) + "\n", style)
    return len(entries)


def size(count: float) -> str:
    """Bytes for people: ``512B``, ``3.2K``, ``1.5G``."""
    value = float(count)
    for unit in ("B", "K", "M", "G", "T"):
        if abs(value) < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"  # not reached: the loop returns at T
