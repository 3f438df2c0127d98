"""Benchmark of the monitor: the sampler's own CPU use, and how fast an alert reaches a plugin.

1. **Sampler CPU in a real build.** ``lfsplug run -j 4`` (in this process) on four scripts that
   run at once for a few seconds: two busy loops and two that sleep with background children.
   The sampler thread measures its own CPU time (``time.thread_time()``, which includes the
   bus's emit of each sample and alert: subscribers such as the state plugin take them from
   the bus's thread); its share of one core is read from the run's figures, at
   ``--sample-interval`` 1 and 0.1. Targets: under 1 % and under 3 % of one core.
2. **The peer**, measured in the same run on four live process trees the benchmark starts
   itself: one tick of the monitor's :class:`~lfsplug_monitor.sampler.Sampler` (system figures
   and the four trees) against a naive tick that walks the trees as psutil does by default
   (``Process(pid).children(recursive=True)``, which scans every process of the machine, and
   ``process_iter`` for the system's process list), per tick, in CPU milliseconds.
3. **Alert response time.** A real run at ``--sample-interval`` 0.1 and 1 with a fake
   ``statvfs`` whose free space a timer thread drops below the WARN floor and raises back
   above the clear margin, many times. Two latencies per alert: from the sample that saw the
   crossing (the fake ``statvfs`` call) to its ``alert`` event in a plugin (target: under
   100 ms), and from the moment the disk "filled" to the alert (bounded by the interval: the
   comparison the target is read against).

Run::

    python benchmarks/bench_monitor.py [--seconds 8] [--flips 12]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

import lfsplug
from lfsplug_monitor import sampler as sampler_module
from lfsplug_monitor.monitor import RUN_METRICS
from lfsplug_monitor.sampler import Sampler

TARGETS = {1.0: 0.01, 0.1: 0.03}  # interval -> the most of one core the sampler may use
TARGET_ALERT_MS = 100.0
GiB = 1024**3


def write_tree(root: Path, seconds: float) -> None:
    """Four scripts that run together: two busy loops, two sleeping with children."""
    busy = f"timeout {seconds:g} sh -c 'while :; do :; done' || true\n"
    sleepy = f"sleep {seconds:g} &\nsleep {seconds:g} &\nsleep {seconds:g} &\nwait\n"
    for number, body in enumerate((busy, sleepy, busy, sleepy), 1):
        path = root / f"0{number}-job{number}.sh"
        path.write_text(f"#!/bin/bash\n{body}", encoding="utf-8")
        path.chmod(0o755)


class Keep:
    """Keeps the monitor's figures of the run."""

    def __init__(self) -> None:
        self.metrics: dict[str, Any] = {}

    @lfsplug.hookimpl(trylast=True)
    def lfsplug_sessionfinish(self, session: Any) -> None:
        self.metrics = dict(session.stash.get(RUN_METRICS) or {})


def run_build(work: Path, interval: float, seconds: float,
              extra: tuple[str, ...] = (), plugins: tuple[object, ...] = ()) -> dict[str, Any]:
    tree = work / f"tree-{interval:g}-{len(extra)}"
    tree.mkdir()
    write_tree(tree, seconds)
    keep = Keep()
    args = ["run", str(tree), "-j", "4", "--order", "graph", "--shellcheck", "off",
            "--host-check", "off", "-p", "no:terminal", "--sample-interval", f"{interval:g}",
            "--lfs", str(work / "lfs"), "--min-free-memory", "0", "--min-free-disk", "0", *extra]
    code = lfsplug.main(args, plugins=[keep, *plugins])
    if code != 0:
        raise SystemExit(f"the build failed (exit {code})")
    return keep.metrics


# -- 1. the sampler in a real build ------------------------------------------------------------


def sampler_cpu(work: Path, seconds: float) -> bool:
    print("Sampler CPU during a real run -j 4 (two busy loops, two sleeping with children):")
    ok = True
    for interval, target in TARGETS.items():
        sampler = run_build(work, interval, seconds)["sampler"]
        share = sampler["cpu_share"]
        verdict = "PASS" if share < target else "FAIL"
        ok &= share < target
        print(f"  interval {interval:>4g} s: {sampler['ticks']:4d} ticks, "
              f"{1000 * sampler['cpu_s'] / sampler['ticks']:6.2f} ms CPU per tick, "
              f"{100 * share:5.2f} % of one core (target < {100 * target:g} %)  {verdict}")
    return ok


# -- 2. the peer -------------------------------------------------------------------------------


def naive_tick(roots: list[int]) -> None:
    """What a tick costs done the obvious psutil way."""
    psutil.cpu_percent(None)
    psutil.virtual_memory()
    psutil.swap_memory()
    for _ in psutil.process_iter(["ppid"]):
        pass
    for root in roots:
        try:
            procs = [psutil.Process(root), *psutil.Process(root).children(recursive=True)]
        except psutil.Error:
            continue
        for proc in procs:
            try:
                with proc.oneshot():
                    proc.cpu_percent(None)
                    proc.memory_info()
                    proc.io_counters()
            except psutil.Error:
                continue


def peer(work: Path, ticks: int) -> None:
    trees = [subprocess.Popen(["bash", "-c", "sleep 60 & sleep 60 & wait"],
                              start_new_session=True) for _ in range(4)]
    try:
        time.sleep(0.3)
        sampler = Sampler({"state": work})
        roots = [p.pid for p in trees]
        started = time.time()

        def ours() -> None:
            sampler.system()
            for i, root in enumerate(roots):
                sampler.tree(f"t{i}", root, started, time.time())

        figures = {}
        for name, tick in (("monitor's Sampler", ours),
                           ("naive psutil walk", lambda: naive_tick(roots))):
            tick()  # baselines
            begin = time.thread_time()
            for _ in range(ticks):
                tick()
            figures[name] = 1000 * (time.thread_time() - begin) / ticks
        print(f"Peer: one tick over 4 live trees of 3 processes, {len(psutil.pids())} processes "
              f"on the machine, CPU ms per tick ({ticks} ticks):")
        for name, ms in figures.items():
            print(f"  {name:<20} {ms:6.2f} ms")
        ratio = figures["naive psutil walk"] / figures["monitor's Sampler"]
        print(f"  naive / ours         {ratio:6.2f}")
    finally:
        for proc in trees:
            os.killpg(proc.pid, 9)
            proc.wait()


# -- 3. alert response time --------------------------------------------------------------------


class Flipper:
    """A fake statvfs for $LFS, and a timer that fills and empties it."""

    def __init__(self, lfs: Path, period: float, flips: int, jitter: float) -> None:
        self.lfs = str(lfs)
        self.period = period
        self.jitter = jitter  # so that the crossings fall anywhere between two ticks
        self.flips = flips
        self.free = 50 * GiB
        self.flipped_at = 0.0
        self.seen_at: float | None = None  # the first statvfs call that saw the new value
        self.lock = threading.Lock()
        self.latencies: list[tuple[float, float]] = []  # (from the sample, from the flip)
        self.done = threading.Event()

    def statvfs(self, path: str) -> os.statvfs_result:
        if not path.startswith(self.lfs):
            return os.statvfs(path)
        with self.lock:
            free = self.free
            if self.seen_at is None:
                self.seen_at = time.perf_counter()
        blocks = free // 4096
        return os.statvfs_result((4096, 4096, blocks * 2, blocks, blocks, 10**7, 10**6, 10**6,
                                  0, 255))

    def flip(self) -> None:
        time.sleep(self.period)
        for number in range(self.flips):
            with self.lock:
                self.free = 5 * GiB if number % 2 == 0 else 50 * GiB  # below WARN, then clear
                self.flipped_at = time.perf_counter()
                self.seen_at = None
            time.sleep(self.period + random.uniform(0, self.jitter))
        self.done.set()

    @lfsplug.hookimpl
    def lfsplug_events(self, events: list[lfsplug.Event]) -> None:
        now = time.perf_counter()
        for _alert in (e for e in events if isinstance(e.record, lfsplug.AlertRaised)):
            with self.lock:
                seen = self.seen_at if self.seen_at is not None else now
                self.latencies.append((now - seen, now - self.flipped_at))


def alert_latency(work: Path, flips: int) -> bool:
    print("Alert response time (fake statvfs crossing the WARN floor and back; ms):")
    ok = True
    for interval in (0.1, 1.0):
        lfs = work / f"lfs-{interval:g}"
        (lfs / "sources").mkdir(parents=True)
        period = max(3 * interval, 0.3)
        flipper = Flipper(lfs, period, flips, interval)
        original = sampler_module.statvfs
        sampler_module.statvfs = flipper.statvfs
        timer = threading.Thread(target=flipper.flip, daemon=True)
        try:
            timer.start()
            run_build(work, interval, (period + interval) * (flips + 1.5),
                      extra=("--lfs", str(lfs)), plugins=(flipper,))
        finally:
            sampler_module.statvfs = original
            timer.join()
        from_sample = [1000 * a for a, _ in flipper.latencies]
        from_flip = [1000 * b for _, b in flipper.latencies]
        worst = max(from_sample, default=float("inf"))
        verdict = "PASS" if len(from_sample) == flips and worst < TARGET_ALERT_MS else "FAIL"
        ok &= verdict == "PASS"
        print(f"  interval {interval:>4g} s: {len(from_sample)} alerts for {flips} crossings; "
              f"sample -> alert median {statistics.median(from_sample):6.2f}, max "
              f"{worst:6.2f} (target < {TARGET_ALERT_MS:g})  {verdict}; disk change -> alert "
              f"median {statistics.median(from_flip):7.1f}, max {max(from_flip):7.1f} "
              f"(interval {1000 * interval:g})")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="how long the four scripts run (default 8)")
    parser.add_argument("--flips", type=int, default=12,
                        help="crossings per alert run (default 12)")
    parser.add_argument("--ticks", type=int, default=200, help="ticks of the peer (200)")
    args = parser.parse_args(argv)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench-monitor-") as tmp:
        work = Path(tmp)
        (work / "lfs" / "sources").mkdir(parents=True)
        ok = sampler_cpu(work, args.seconds)
        peer(work, args.ticks)
        ok &= alert_latency(work, args.flips)
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
