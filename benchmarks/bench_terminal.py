"""Benchmark of the terminal plugin: what the live dashboard costs, against plain mode.

The dashboard (``lfsplug_terminal.live.Dashboard``, the real class, with its refresh thread at
its real interval of 0.1 s) draws a board of ``--scripts`` running scripts (4 by default) on a
rich Console that believes it is a ``--width`` x ``--height`` true-colour terminal and writes to
/dev/null, so that every redraw renders and encodes the whole picture. A feeder thread stands
for the event bus: it hands the reporter's handler (``lfsplug_terminal.reporter.take_events``,
what ``lfsplug_events`` runs) batches of 64 ``script-output`` events, one output line each,
spread over the running scripts, at ``--rate`` events a second, with a system sample, a
per-script sample and a progress event every second and an alert every 5 s, as the monitor
sends them. Three phases, each ``--seconds`` long:

* ``dashboard, flood``: the figures that matter: the refresh thread's CPU time per wall second
  (``time.thread_time`` inside the thread, so other threads do not count), per redraw, and
  redraws per second (the cap is 10), and the handler's CPU time per event;
* ``dashboard, idle``: no event at all: the board changes only with the clock, once a second;
* ``plain, flood``: the peer: plain mode (``PlainOutput``, heartbeat thread running) given the
  same events; its handler skips output lines, and it draws nothing.

A second peer is rich's own refresh (``Live(auto_refresh=True, refresh_per_second=10)``), with
the same picture rebuilt at every refresh, in the idle phase: what redrawing without a dirty
flag costs when nothing happens. Every run checks that the board took every event and that
each row shows the last line sent to its script.

Targets: the refresh thread under 5 % of a core in the flood, redraws at most 10 a second,
about one a second when idle. Run::

    python benchmarks/bench_terminal.py [--seconds S] [--rate N] [--scripts N]
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console, ConsoleRenderable
from rich.live import Live

from lfsplug import (
    Alert,
    AlertLevel,
    AlertRaised,
    Event,
    Plan,
    Progress,
    Record,
    Sample,
    SampleTaken,
    Script,
    ScriptOutput,
)
from lfsplug_terminal import logs
from lfsplug_terminal.board import Board
from lfsplug_terminal.live import Dashboard
from lfsplug_terminal.plain import PlainOutput
from lfsplug_terminal.render import render
from lfsplug_terminal.reporter import take_events

BATCH = 64
TARGET_SHARE = 0.05  # of one core, the refresh thread in the flood
MAX_REDRAWS = 10.5  # a second (10, and some slack for the first frame)
IDLE_REDRAWS = 1.5  # a second, when only the clock moves
SYSTEM = {"cpu_percent": 87.0, "mem_percent": 41.0, "mem_available": 3 << 30, "load1": 3.9,
          "swap_percent": 2.0, "disk_percent:lfs": 62.0, "disk_free:lfs": 20 << 30,
          "disk_percent:sources": 45.0, "disk_free:sources": 40 << 30,
          "disk_percent:state": 30.0, "disk_free:state": 60 << 30}
LINE = "x86_64-lfs-linux-gnu-gcc -O2 -c ../libgcc/libgcc2.c -o _muldi3.o  # {n}"


@dataclass
class Phase:
    name: str
    wall: float
    events: int
    handler_cpu: float  # s, the feeder thread inside take_events
    process_cpu: float  # s, the whole process
    refresh_cpu: float = 0.0  # s, the dashboard's refresh thread (or rich's)
    redraws: int = 0
    render_cpu: float = 0.0  # s, inside redraws


def _event(record: Record, wall: float, script: str | None) -> Event:
    """The event the bus would deliver for ``record``."""
    return Event(record.kind, wall, record.priority, script, record)


def make_board(scripts: int) -> tuple[Board, list[str]]:
    phases = ["cross", "temp", "chroot-temp", "system"]
    plan = Plan([Script(f"pkg{i}", Path(f"/s/{i:03d}-pkg{i}.sh"), Path("/s"),
                        phase=phases[i % 4]) for i in range(100)])
    board = Board(started=time.time() - 3600)
    board.begin(plan)
    names = [f"pkg{i}" for i in range(scripts)]
    for i, name in enumerate(names):
        board.script_started(name, 1, time.time() - 60 * (i + 1), 300.0 if i % 2 else None)
    return board, names


def feed(board: Board, names: list[str], dashboard: bool, seconds: float,
         rate: float) -> tuple[int, float, dict[str, str]]:
    """Hand batches to the handler at ``rate`` events/s for ``seconds``; return the events
    handed over, the CPU time spent in the handler, and the last line sent to each script."""
    interval = BATCH / rate if rate > 0 else seconds
    began = time.perf_counter()
    last: dict[str, str] = {}
    sent = handler_cpu = 0.0
    count = 0
    next_monitor = began
    next_alert = began + 5
    while True:
        now = time.perf_counter()
        if now - began >= seconds:
            break
        if rate <= 0:
            time.sleep(min(0.05, seconds - (now - began)))
            continue
        batch = []
        wall = time.time()
        for _ in range(BATCH):
            name = names[count % len(names)]
            text = LINE.format(n=count)
            batch.append(_event(ScriptOutput((text,)), wall, name))
            last[name] = text
            count += 1
        if now >= next_monitor:
            next_monitor += 1.0
            batch.append(_event(SampleTaken(Sample(wall, SYSTEM)), wall, None))
            batch.extend(_event(SampleTaken(Sample(wall, {"cpu_percent": 180.0, "rss": 900e6},
                                                   n)), wall, n) for n in names)
            batch.append(_event(Progress(count, len(names), wall - began, eta=5000.0,
                                         bound=3000.0, sbu_seconds=120.0), wall, None))
        if now >= next_alert:
            next_alert += 5.0
            batch.append(_event(AlertRaised(Alert("disk", AlertLevel.WARN,
                                                  "lfs has 20.0G free", wall)), wall, None))
        t0 = time.thread_time()
        take_events(board, batch, dashboard=dashboard)
        handler_cpu += time.thread_time() - t0
        sent += len(batch)
        pause = began + (sent / (BATCH + 0.5)) * interval - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    return int(sent), handler_cpu, last


def check(board: Board, last: dict[str, str], dashboard: bool) -> None:
    view = board.view()
    if dashboard:
        shown = {row.name: row.last_line for row in view.rows}
        for name, text in last.items():
            if shown.get(name) != text:
                raise SystemExit(f"check failed: row {name} shows {shown.get(name)!r}, "
                                 f"expected {text!r}")


def console(width: int, height: int) -> Console:
    sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the run
    return Console(file=sink, force_terminal=True, color_system="truecolor", width=width,
                   height=height, highlight=False, markup=False, emoji=False)


def run_dashboard(args: argparse.Namespace, rate: float, name: str) -> Phase:
    board, names = make_board(args.scripts)
    dashboard = Dashboard(sys.stdout, board, console=console(args.width, args.height))
    # the dashboard would send sys.stdout above the board, here into /dev/null: keep it
    saved = sys.stdout, sys.stderr
    dashboard.start()
    sys.stdout, sys.stderr = saved
    cpu0, wall0 = time.process_time(), time.perf_counter()
    events, handler_cpu, last = feed(board, names, True, args.seconds, rate)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    dashboard.stop()
    check(board, last, True)
    stats = dashboard.stats()
    return Phase(name, wall, events, handler_cpu, cpu, stats["thread_cpu"],
                 int(stats["redraws"]), stats["render_cpu"])


def run_plain(args: argparse.Namespace, rate: float) -> Phase:
    board, names = make_board(args.scripts)
    sink = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed below
    plain = PlainOutput(sink, sink, board, heartbeat=60.0)
    plain.start()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    events, handler_cpu, last = feed(board, names, False, args.seconds, rate)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    plain.stop()
    sink.close()
    check(board, last, False)
    return Phase("plain, flood", wall, events, handler_cpu, cpu)


class _Counted:
    """The board's picture, rebuilt whenever rich asks for it, counting the CPU time."""

    def __init__(self, board: Board, height: int) -> None:
        self.board, self.height = board, height
        self.calls = 0
        self.cpu = 0.0

    def __call__(self) -> ConsoleRenderable:
        t0 = time.thread_time()
        picture = render(self.board.view(), self.height)
        self.cpu += time.thread_time() - t0
        self.calls += 1
        return picture


def run_rich_auto(args: argparse.Namespace) -> Phase:
    board, _names = make_board(args.scripts)
    picture = _Counted(board, args.height)
    out = console(args.width, args.height)
    refresh_cpu: list[float] = []
    original: Callable[[Live], None] = Live.refresh

    def timed_refresh(live: Live) -> None:
        t0 = time.thread_time()
        original(live)
        refresh_cpu.append(time.thread_time() - t0)

    cpu0, wall0 = time.process_time(), time.perf_counter()
    live = Live(get_renderable=picture, console=out, auto_refresh=True, refresh_per_second=10,
                transient=True, redirect_stdout=False, redirect_stderr=False)
    live.refresh = timed_refresh.__get__(live)  # type: ignore[method-assign]
    with live:
        time.sleep(args.seconds)
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    return Phase("rich auto-refresh, idle", wall, 0, 0.0, cpu, sum(refresh_cpu),
                 len(refresh_cpu), sum(refresh_cpu))


def report(phases: list[Phase]) -> None:
    print(f"{'phase':<26} {'events/s':>9} {'redraws/s':>9} {'refresh CPU':>12} "
          f"{'per redraw':>11} {'handler':>11} {'process CPU':>12}")
    for p in phases:
        per_redraw = f"{1000 * p.render_cpu / p.redraws:.2f} ms" if p.redraws else "-"
        handler = f"{1e6 * p.handler_cpu / p.events:.2f} us/ev" if p.events else "-"
        print(f"{p.name:<26} {p.events / p.wall:9.0f} {p.redraws / p.wall:9.2f} "
              f"{100 * p.refresh_cpu / p.wall:10.2f} % {per_redraw:>11} {handler:>11} "
              f"{100 * p.process_cpu / p.wall:10.1f} %")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--rate", type=float, default=20_000, help="output events a second")
    parser.add_argument("--scripts", type=int, default=4, help="running scripts on the board")
    parser.add_argument("--width", type=int, default=120)
    parser.add_argument("--height", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=1, help="flood phases to take the "
                        "median of")
    args = parser.parse_args(argv)
    logged: list[str] = []  # the alerts the handler logs, kept as a run's log handler would
    installed = logs.install(logging.INFO, colour=False, sink=logged.append)
    try:
        return measure(args)
    finally:
        logs.uninstall(installed)


def measure(args: argparse.Namespace) -> int:
    print(f"terminal benchmark: {args.scripts} running scripts, {args.rate:.0f} output "
          f"events/s, {args.width}x{args.height}, {args.seconds:g} s a phase, python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    floods = [run_dashboard(args, args.rate, "dashboard, flood") for _ in range(args.repeat)]
    flood = sorted(floods, key=lambda p: p.refresh_cpu / p.wall)[len(floods) // 2]
    idle = run_dashboard(args, 0, "dashboard, idle")
    plains = [run_plain(args, args.rate) for _ in range(args.repeat)]
    plain = sorted(plains, key=lambda p: p.process_cpu / p.wall)[len(plains) // 2]
    auto = run_rich_auto(args)
    report([flood, idle, plain, auto])

    share = flood.refresh_cpu / flood.wall
    extra = (flood.process_cpu - plain.process_cpu) / flood.wall
    handler_extra = (flood.handler_cpu / flood.events - plain.handler_cpu / plain.events) * 1e6
    print(f"dashboard over plain mode, same events: {100 * extra:+.1f} % of a core for the "
          f"process, {handler_extra:+.2f} us per event in the handler")
    if args.repeat > 1:
        shares = [100 * p.refresh_cpu / p.wall for p in floods]
        print(f"refresh thread in the flood over {args.repeat} runs: median "
              f"{statistics.median(shares):.2f} %, range {min(shares):.2f}-{max(shares):.2f} %")
    print(f"idle: our dashboard {idle.redraws / idle.wall:.2f} redraws/s, "
          f"{100 * idle.refresh_cpu / idle.wall:.2f} % of a core; rich's auto-refresh "
          f"{auto.redraws / auto.wall:.2f} redraws/s, {100 * auto.refresh_cpu / auto.wall:.2f} %")
    verdicts = [
        (f"refresh thread in the flood < {100 * TARGET_SHARE:.0f} % of a core",
         share < TARGET_SHARE),
        (f"redraws in the flood <= {MAX_REDRAWS:g} a second",
         flood.redraws / flood.wall <= MAX_REDRAWS),
        (f"redraws when idle <= {IDLE_REDRAWS:g} a second",
         idle.redraws / idle.wall <= IDLE_REDRAWS),
    ]
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")
    ok = all(v for _, v in verdicts)
    print("overall:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
