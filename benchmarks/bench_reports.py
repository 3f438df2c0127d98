"""Benchmark of the reports: every format of a 1,000-script run with 100,000 samples.

A synthetic ``state.db`` is written first (schema by :class:`~lfsplug_state.store.StateStore`,
rows inserted in bulk): one run of ``--scripts`` scripts on four parallel slots, each with a
start and a finish event and its ``resources`` (executor totals, the monitor's disk figures,
SBU, CPU efficiency, stats, sampled peaks) as the state plugin records them, one in fifty
retried once, one failure, a few alerts, and ``--samples`` samples: one system sample a second
(CPU, memory, swap, load, three watched directories, pressure) and, in the same ticks, one per
running script (CPU, RSS, processes, I/O).

What is timed, each the median (and best) of ``--repeat`` runs in this process:

* ``load``: :func:`lfsplug_reports.data.load_run`, the one data layer every format reads;
* each format: loading plus writing the file (``json``, ``junit``, ``html``, ``trace``,
  ``sbu``), as ``lfsplug report FORMAT`` does.

The peer, in the same run: ``rows``, reading every row the report needs from the same database
with plain ``SELECT``s and ``json.loads`` of the JSON columns, and nothing else: the floor of
any report made from the database. The HTML's charts are checked to hold at most 1,000 points
per line. Target: every format under 3 s (a few seconds, as issue 6 asks). Run::

    python benchmarks/bench_reports.py [--scripts 1000] [--samples 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lfsplug_reports import charts
from lfsplug_reports.command import write
from lfsplug_reports.data import load_run
from lfsplug_state.service import StateDatabase
from lfsplug_state.store import StateStore

TARGET_S = 3.0
FORMATS = ("json", "junit", "html", "trace", "sbu")
SLOTS = 4
START = 1_700_000_000.0


def build_database(state_dir: Path, scripts: int, samples: int, seed: int) -> dict[str, int]:
    """Write the synthetic run; return how many rows of each kind."""
    rng = random.Random(seed)
    store = StateStore.open(state_dir, create=True)
    store.close()
    conn = sqlite3.connect(state_dir / "state.db")
    # a system sample each second, and one per running script: about four rows a second
    ticks = max(samples // SLOTS, 1)
    duration = float(ticks)
    conn.execute("INSERT INTO runs (id, started, finished, exit_code, state, command_line, "
                 "version, host, pid, total, events_kept, samples_kept) VALUES "
                 "(1, ?, ?, 1, 'finished', 'lfsplug run scripts -j 4', '0.1.0', 'bench', 1, ?,"
                 " 0, ?)", (START, START + duration, scripts, samples))
    per_slot = scripts // SLOTS + 1
    length = duration / per_slot
    results, attempts, events = [], [], []
    running: list[list[str]] = [[] for _ in range(ticks)]
    for i in range(scripts):
        slot, turn = i % SLOTS, i // SLOTS
        name = f"pkg{i:04d}"
        begin = START + turn * length + rng.uniform(0, 0.05 * length)
        end = begin + length * rng.uniform(0.6, 0.95)
        status = "failed" if i == scripts // 2 else "passed"
        tries = 2 if i % 50 == 7 else 1
        resources = {
            "utime": round(rng.uniform(1, 500), 3), "stime": round(rng.uniform(0, 50), 3),
            "inblock": 0, "oublock": rng.randrange(10**6), "maxrss": rng.randrange(10**6),
            "disk": {"before": 10**6 + i, "after": 10**6 + i + 5000, "required": 5000,
                     "installed": 1000 + i},
            "sbu": round((end - begin) / 79, 3), "cpu_efficiency": round(rng.random(), 4),
            "stats": {"cpu_percent": {"min": 1, "mean": 50, "max": 99, "p95": 95}},
            "peak": {"rss": float(rng.randrange(10**9)), "cpu_percent": 99.0},
        }
        results.append((i + 1, 1, i + 1, name, f"/s/chapter08/{i:04d}-{name}.sh", status,
                        tries, begin, end, 0 if status == "passed" else 2,
                        f"/s/.lfsplug/logs/{name}.log", json.dumps(resources)))
        middle = (begin + end) / 2
        attempts.append((i + 1, 1, begin, f"/s/.lfsplug/logs/{name}.log"))
        events.append((len(events), begin, "script-start", 10, name, '{"attempt": 1}'))
        if tries == 2:
            attempts.append((i + 1, 2, middle, f"/s/.lfsplug/logs/{name}.2.log"))
            events.append((len(events), middle - 0.5, "script-retry", 10, name,
                           '{"attempt": 1, "reason": "flaky", "delay": 0.5}'))
        events.append((len(events), end, "script-finish", 10, name,
                       json.dumps({"status": status, "duration": end - begin})))
        for tick in range(int(begin - START), min(int(end - START) + 1, ticks)):
            running[tick].append(name)
        del slot
    for n in range(40):
        events.append((len(events), START + n * duration / 40, "alert", 0, None, json.dumps(
            {"alert": "memory", "level": "warn", "message": f"memory low ({n})"})))
    rows = []
    for tick in range(ticks):
        when = START + tick
        rows.append((1, when, None, json.dumps({
            "cpu_percent": rng.uniform(0, 100), "mem_percent": rng.uniform(20, 90),
            "swap_percent": 0.0, "load1": rng.uniform(0, 8),
            "mem_available": rng.uniform(1, 8) * 2**30,
            **{f"disk_free:{label}": rng.uniform(10, 50) * 2**30
               for label in ("lfs", "sources", "state")},
            **{f"disk_percent:{label}": rng.uniform(10, 90) for label in ("lfs", "sources",
                                                                            "state")},
            "psi_cpu": rng.uniform(0, 20), "psi_memory": 0.0, "psi_io": rng.uniform(0, 5)})))
        for name in running[tick][:SLOTS]:
            rows.append((1, when, name, json.dumps({
                "cpu_percent": rng.uniform(0, 400), "rss": rng.uniform(1e6, 1e9),
                "procs": rng.randrange(1, 40), "read_bytes": rng.randrange(10**9),
                "write_bytes": rng.randrange(10**9)})))
    rows = rows[:samples]
    with conn:
        conn.executemany("INSERT INTO results (id, run_id, position, name, path, status, "
                         "attempts, started, finished, exit_code, log_path, resources) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", results)
        conn.executemany("INSERT INTO attempts (result_id, attempt, started, log_path) "
                         "VALUES (?, ?, ?, ?)", attempts)
        conn.executemany("INSERT INTO events (run_id, seq, time, kind, priority, script, "
                         "payload) VALUES (1, ?, ?, ?, ?, ?, ?)", events)
        conn.executemany("INSERT INTO samples (run_id, time, script, metrics) "
                         "VALUES (?, ?, ?, ?)", rows)
    conn.close()
    return {"scripts": scripts, "attempts": len(attempts), "events": len(events),
            "samples": len(rows)}


def read_rows(state_dir: Path) -> int:
    """The peer: every row a report reads, with its JSON decoded, and nothing more."""
    conn = sqlite3.connect(f"file:{state_dir / 'state.db'}?mode=ro", uri=True)
    count = 0
    loads = json.loads
    for table, column in (("results", "resources"), ("events", "payload"),
                          ("samples", "metrics"), ("attempts", "log_path")):
        for (value,) in conn.execute(f"SELECT {column} FROM {table}"):
            count += 1
            if value and table != "attempts":
                loads(value)
    conn.close()
    return count


def timed(function: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """The median and best wall-clock time, and the median CPU time, of ``repeat`` calls."""
    times, cpu = [], []
    for _ in range(repeat):
        began, began_cpu = time.perf_counter(), time.process_time()
        function()
        times.append(time.perf_counter() - began)
        cpu.append(time.process_time() - began_cpu)
    return statistics.median(times), min(times), statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scripts", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="lfsplug-bench-reports-") as tmp:
        state_dir = Path(tmp) / "state"
        counts = build_database(state_dir, args.scripts, args.samples, args.seed)
        print(f"run: {counts['scripts']} scripts, {counts['attempts']} attempts, "
              f"{counts['events']} events, {counts['samples']} samples on {SLOTS} slots")
        state = StateDatabase(state_dir)
        try:
            return _measure(state, state_dir, Path(tmp), args.repeat)
        finally:
            state.close()


def _measure(state: StateDatabase, state_dir: Path, out: Path, repeat: int) -> int:
    peer, peer_best, peer_cpu = timed(lambda: read_rows(state_dir), repeat)
    load, load_best, load_cpu = timed(lambda: load_run(state, state.run()), repeat)
    print(f"{'':<28}{'median':>8}   {'best':>7}  {'CPU':>7}")
    print(f"{'peer: read the rows':<28}{peer:8.3f} s {peer_best:7.3f}  {peer_cpu:7.3f}")
    print(f"{'load_run':<28}{load:8.3f} s {load_best:7.3f}  {load_cpu:7.3f}   "
          f"{load_cpu / peer_cpu:.2f} x the peer's CPU")
    ok = True
    for fmt in FORMATS:
        path = out / f"report.{fmt}"
        median, best, cpu = timed(
            lambda fmt=fmt, path=path: write(load_run(state, state.run()), fmt, path, 30), repeat)
        passed = median < TARGET_S
        ok = ok and passed
        size = path.stat().st_size / 1e6
        print(f"{'load + ' + fmt:<28}{median:8.3f} s {best:7.3f}  {cpu:7.3f}   "
              f"{size:6.2f} MB  {'PASS' if passed else 'FAIL'} (< {TARGET_S:g} s)")
    most = max(len(line.points.split()) for chart in charts.line_charts(load_run(state, state.run()))
               for line in chart.lines)
    points_ok = most <= charts.MAX_POINTS
    print(f"{'most points on a chart line':<28}{most:8d}   "
          f"{'PASS' if points_ok else 'FAIL'} (<= {charts.MAX_POINTS})")
    print(f"overall: {'PASS' if ok and points_ok else 'FAIL'}")
    return 0 if ok and points_ok else 1


if __name__ == "__main__":
    sys.exit(main())
