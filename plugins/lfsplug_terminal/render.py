"""The dashboard's picture: a rich renderable made from a :class:`~lfsplug_terminal.board.View`.

Pure: the same view gives the same picture, so tests render to a recording ``Console`` and read
the text. From top to bottom: overall progress (``[done/total]``, a bar, elapsed, ETA and the
critical-path bound), progress per phase, one row per running script (elapsed against expected
time, what its processes use, its last line of output), the gauges (CPU, memory, disk per
watched directory) and the latest alerts, newest first. Parts without data are left out.
"""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from lfsplug.text import format_duration
from lfsplug_terminal.board import AlertEntry, Row, View

ALERTS_SHOWN = 3
BAR_WIDTH = 24
ROW_BAR_WIDTH = 10
GAUGE_WIDTH = 6
LEVEL_STYLES = {"clear": "green", "warn": "yellow", "stop": "bold red", "halt": "bold red"}


def render(view: View, height: int = 40) -> RenderableType:
    """The whole board, at most about ``height`` lines tall (running rows are cut first)."""
    parts: list[RenderableType] = [overall(view)]
    if view.phases:
        parts.append(phases(view))
    fixed = len(parts) + 1 + min(len(view.alerts), ALERTS_SHOWN) + 1
    if view.rows:
        parts.append(running(view, max(1, height - fixed)))
    if view.system:
        parts.append(gauges(view.system))
    if view.alerts:
        parts.append(alerts(view.alerts[:ALERTS_SHOWN]))
    return Group(*parts)


def overall(view: View) -> Table:
    """``[12/84] ━━━━━╸━━━━ 14%  elapsed 12m30s  ETA 1h02m  bound 48m10s``."""
    width = len(str(view.total))
    grid = Table.grid(padding=(0, 1))
    counter = Text(f"[{view.done:>{width}}/{view.total}]", style="bold")
    share = view.done / view.total if view.total else 0.0
    facts = Text(f"{share:4.0%}  elapsed {format_duration(view.elapsed)}")
    if view.eta is not None:
        facts.append(f"  ETA {format_duration(view.eta)}", style="bold")
    if view.bound is not None:
        facts.append(f"  bound {format_duration(view.bound)}")
    if view.sbu_seconds:
        facts.append(f"  1 SBU = {format_duration(view.sbu_seconds)}", style="dim")
    failed = view.counts.get("failed", 0)
    if failed:
        facts.append(f"  {failed} failed", style="bold red")
    if view.stopping:
        facts.append(f"  stopping: {view.stopping}", style="yellow")
    grid.add_row(counter, ProgressBar(total=max(view.total, 1), completed=view.done,
                                      width=BAR_WIDTH), facts)
    return grid


def phases(view: View) -> Text:
    """``phases  cross 5/5  temp 7/17  system 0/50``; finished phases in green."""
    text = Text("phases", style="dim")
    for name, done, total in view.phases:
        style = "green" if done == total else ("bold" if done else "")
        text.append(f"  {name} {done}/{total}", style=style)
    return text


def running(view: View, room: int) -> Table:
    """One row per running script, as many as ``room`` lets (the rest counted)."""
    table = Table.grid(padding=(0, 1), expand=True)
    table.add_column(no_wrap=True, max_width=28)
    table.add_column(no_wrap=True, justify="right")
    table.add_column(no_wrap=True, width=ROW_BAR_WIDTH)
    table.add_column(no_wrap=True)
    table.add_column(no_wrap=True, overflow="ellipsis", ratio=1)
    rows = sorted(view.rows, key=lambda r: r.started)
    shown = rows if len(rows) <= room else rows[: room - 1]
    for row in shown:
        table.add_row(*_row_cells(row, view.now))
    if len(shown) < len(rows):
        table.add_row(Text(f"... and {len(rows) - len(shown)} more running", style="dim"))
    return table


def _row_cells(row: Row, now: float) -> list[RenderableType]:
    elapsed = max(0.0, now - row.started)
    name = Text("\u25b6 " + row.name, style="bold cyan")
    if row.attempt > 1:
        name.append(f" #{row.attempt}", style="yellow")
    clock = Text(format_duration(elapsed))
    bar: RenderableType = Text("")
    if row.expected:
        late = elapsed > row.expected
        clock.append(f" / {format_duration(row.expected)}", style="red" if late else "dim")
        bar = ProgressBar(total=row.expected, completed=min(elapsed, row.expected),
                          width=ROW_BAR_WIDTH, complete_style="red" if late else "cyan")
    use = Text(style="dim")
    if row.cpu_percent is not None:
        use.append(f"cpu {row.cpu_percent:3.0f}%")
    if row.rss is not None:
        use.append(f" rss {size(row.rss)}")
    last = Text(row.note or row.last_line, style="yellow" if row.note else "")
    return [name, clock, bar, use, last]


def gauges(system: dict[str, float]) -> Text:
    """``cpu ━━━━ 73%  load 3.1  mem ━━━ 41% 3.2G free  disk lfs ━━ 62% 20.1G free``; the line
    is cut at the terminal's width."""
    text = Text(no_wrap=True, overflow="ellipsis")
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
    return text


def _gauge(text: Text, label: str, percent: float | None, free: float | None = None) -> None:
    if percent is None:
        return
    filled = round(max(0.0, min(percent, 100.0)) / 100 * GAUGE_WIDTH)
    style = "red" if percent >= 90 else ("yellow" if percent >= 75 else "green")
    text.append(f"{label} ", style="bold")
    text.append("\u2501" * filled, style=style)
    text.append("\u2501" * (GAUGE_WIDTH - filled), style="grey23")
    text.append(f" {percent:3.0f}%")
    if free is not None:
        text.append(f" {size(free)} free", style="dim")
    text.append("  ")


def alerts(entries: list[AlertEntry]) -> Table:
    """The latest alerts, newest first: ``12:03:04 warn disk: lfs has 4.2G free``."""
    table = Table.grid(padding=(0, 1))
    for entry in entries:
        clock = time.strftime("%H:%M:%S", time.localtime(entry.time))
        style = LEVEL_STYLES.get(entry.level, "yellow")
        table.add_row(Text(clock, style="dim"), Text(f"{entry.level:<5}", style=style),
                      Text(f"{entry.kind}: {entry.message}", style=style))
    return table


def size(count: float) -> str:
    """Bytes for people: ``512B``, ``3.2K``, ``1.5G``."""
    value = float(count)
    for unit in ("B", "K", "M", "G", "T"):
        if abs(value) < 1024 or unit == "T":
            return f"{value:.0f}{unit}" if unit == "B" else f"{value:.1f}{unit}"
        value /= 1024
    return f"{value:.1f}T"  # not reached: the loop returns at T
