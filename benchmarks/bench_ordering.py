"""Benchmark of ordering: a plan for 10,000 scripts and 50,000 edges.

What is timed is ``Session.build_plan()`` inside a real ``lfsplug list`` run: every plugin's
``lfsplug_script_edges`` (the ordering plugin resolves 50,000 ``depends`` requirements through
names and ``provides``, checks versions and phases, makes the sequence edges), then
``lfsplug_build_plan`` (self-loops, the phase order, cycles, phase barriers, Kahn's order,
levels, expected durations through ``lfsplug_expected_duration`` and the critical path). The
scripts are synthetic :class:`~lfsplug.Script` records handed to the session by a small plugin
(``lfsplug_collect_path``), with discovery, validation and hostreqs blocked, so the figure is
ordering's alone. A timing plugin calls ``session.build_plan()`` again ``--repeat`` times from
``lfsplug_collection_finish`` and keeps the best and the median.

The peers run on the same graph (the same 50,000 pairs, by name) in the same process:

* ``graphlib``: ``graphlib.TopologicalSorter(graph).static_order()`` from the standard library,
  a C-speed-ish floor for ordering alone (no resolution, no findings, no levels);
* ``toposort``: ``toposort.toposort_flatten(graph)``, the package on the design card.

Target: under 1 s for the plan in graph order and in sequence order. Run::

    python benchmarks/bench_ordering.py [--scripts 10000] [--edges 50000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import contextlib
import graphlib
import io
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lfsplug
from lfsplug import Requirement, Script

TARGET_S = 1.0
#: Share of the scripts in each phase, in layout order (a small LFS, a large BLFS).
PHASES = (("cross", 0.02), ("temp", 0.03), ("chroot-temp", 0.02), ("system", 0.13),
          ("config", 0.05), ("blfs", 0.75))


def make_scripts(count: int, edges: int, seed: int) -> list[Script]:
    """``count`` scripts, each depending on earlier ones (``edges`` in all), in phases; one in
    ten provides a virtual name others depend on, one in five requirements has a version."""
    rng = random.Random(seed)
    root = Path("/bench")
    bounds, start = [], 0
    for phase, share in PHASES:
        start += round(count * share)
        bounds.append((min(start, count), phase))
    scripts: list[Script] = []
    per_script, extra = divmod(edges, max(count - 1, 1))
    for i in range(count):
        phase = next(p for end, p in bounds if i < end) if i < bounds[-1][0] else "blfs"
        script = Script(f"pkg{i:05d}", root / f"{i:05d}-pkg{i:05d}.sh", root, index=i,
                        version=f"1.{i % 50}", phase=phase, sbu=rng.choice([None, 0.1, 1, 4]))
        if i % 10 == 0:
            script.provides = [f"virt{i // 10}"]
        wanted = min(i, per_script + (1 if i <= extra else 0))
        for j in rng.sample(range(i), wanted) if wanted else []:
            name = f"virt{j // 10}" if j % 10 == 0 and rng.random() < 0.5 else f"pkg{j:05d}"
            ver = rng.random() < 0.2 and name.startswith("pkg")
            script.depends.append(Requirement(name, ">=", "1.0") if ver else Requirement(name))
        script.origins["depends"] = "# lfsplug: header line 2"
        scripts.append(script)
    return scripts


class Inject:
    """Hands the synthetic scripts to the session, as discovery would."""

    def __init__(self, scripts: list[Script]) -> None:
        self.scripts = scripts

    @lfsplug.hookimpl
    def lfsplug_collect_path(self, path: Path) -> list[Script]:
        return self.scripts


class Timer:
    """Times ``session.build_plan()`` once discovery is done."""

    def __init__(self, repeat: int) -> None:
        self.repeat = repeat
        self.times: list[float] = []
        self.cpu: list[float] = []
        self.plan: Any = None
        self.errors: list[Any] = []

    @lfsplug.hookimpl
    def lfsplug_collection_finish(self, session: Any) -> None:
        for _ in range(self.repeat):
            session.findings.clear()
            started, cpu = time.perf_counter(), time.process_time()
            self.plan = session.build_plan()
            self.times.append(time.perf_counter() - started)
            self.cpu.append(time.process_time() - cpu)
        self.errors = list(session.errors)


class History:
    """Answers ``lfsplug_expected_duration`` for half the scripts, as the state plugin will."""

    @lfsplug.hookimpl
    def lfsplug_expected_duration(self, script: Script) -> float | None:
        return 60.0 + script.index % 7 if script.index % 2 else None


def time_plan(scripts: list[Script], order: str, repeat: int) -> Timer:
    timer = Timer(repeat)
    err = io.StringIO()
    with tempfile.TemporaryDirectory() as empty:  # PATH must exist; the scripts are injected
        argv = ["list", "--order", order, "-p", "no:discovery", "-p", "no:validation",
                "-p", "no:hostreqs", empty]
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
            ret = lfsplug.main(argv, plugins=[Inject(scripts), timer, History()])
    if ret != 0 or timer.errors or timer.plan is None:
        sys.exit(f"lfsplug list failed (exit {ret}): {err.getvalue()[:500]} {timer.errors[:3]}")
    return timer


def graph_of(scripts: list[Script]) -> dict[str, set[str]]:
    """The same dependencies by name (virtual names resolved), for the peers."""
    providers: dict[str, str] = {}
    for script in scripts:
        for name in [script.name, *script.provides]:
            providers.setdefault(name, script.name)
    return {s.name: {providers[r.name] for r in s.depends} for s in scripts}


def best_of(repeat: int, run: Callable[[], object]) -> list[float]:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return times


def report(label: str, timer: Timer, floor: float) -> bool:
    best, median = min(timer.times), statistics.median(timer.times)
    cpu = statistics.median(timer.cpu)
    ok = median < TARGET_S
    print(f"{label:<22} median {median:6.3f} s (best {best:.3f}, CPU {cpu:.3f})  target < "
          f"{TARGET_S:.1f} s  {'PASS' if ok else 'FAIL'}  {median / floor:4.1f} x graphlib")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripts", type=int, default=10_000)
    parser.add_argument("--edges", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    scripts = make_scripts(args.scripts, args.edges, args.seed)
    graph = graph_of(scripts)
    pairs = sum(len(v) for v in graph.values())
    print(f"{args.scripts:,} scripts, {sum(len(s.depends) for s in scripts):,} depends "
          f"({pairs:,} distinct pairs), {len(PHASES)} phases; Python {sys.version.split()[0]}")

    import toposort

    floor = statistics.median(best_of(args.repeat, lambda: list(
        graphlib.TopologicalSorter(graph).static_order())))
    topo = statistics.median(best_of(max(1, args.repeat // 2),
                                     lambda: toposort.toposort_flatten(graph)))
    print(f"{'peer: graphlib':<22} median {floor:6.3f} s  (the order alone: the floor)")
    print(f"{'peer: toposort':<22} median {topo:6.3f} s  (levels, then the order)")

    ok = True
    for order in ("graph", "sequence"):
        timer = time_plan(scripts, order, args.repeat)
        plan = timer.plan
        ok &= report(f"plan, {order} order", timer, floor)
        print(f"{'':<22} {len(plan.edges):,} edges in the plan, {len(plan.levels):,} levels, "
              f"critical path of {len(plan.critical_path):,} scripts")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
