"""Benchmark of start-up: ``lfsplug --version`` and ``lfsplug list`` against ``python -c pass``.

Start-up is a feature (STYLE.md): a builder types ``lfsplug list`` dozens of times a day. Three
commands run interleaved, each as a fresh process of the same interpreter, so that a machine
busy with other work slows all of them alike:

* ``python -c pass``: the floor, an interpreter that starts and stops (``site`` included, and
  with it the editable install's finder when lfsplug is installed that way);
* ``lfsplug --version``: answered before any plugin is looked for;
* ``lfsplug list`` of a small tree (20 numbered scripts): every plugin found through
  ``importlib.metadata`` entry points, registered, configured; the discovery cache warm.

Target: ``lfsplug --version`` under 120 ms, shown beside the floor measured in the same run.
The ``list`` figures are shown for comparison over time. Run::

    python benchmarks/bench_startup.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

from benchlib import scratch, timed

TARGET_S = 0.120


def lfsplug_argv() -> list[str]:
    """The installed console script, run by this interpreter (no shell shim in between)."""
    script = shutil.which("lfsplug", path=os.path.dirname(sys.executable)) or shutil.which(
        "lfsplug")
    if script is None:
        sys.exit("the lfsplug command is not installed (pip install -e .)")
    return [sys.executable, script]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    lfsplug = lfsplug_argv()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LFSPLUG_")}
    with scratch("bench-startup-") as root:
        tree = root / "tree"
        tree.mkdir()
        for i in range(1, 21):
            (tree / f"{i:02d}-pkg{i:02d}.sh").write_text(f"#!/bin/bash\nset -e\necho {i}\n")
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "lfsplug --version": [*lfsplug, "--version"],
            "lfsplug list (20 scripts)": [*lfsplug, "list", str(tree)],
        }
        timed(commands["lfsplug list (20 scripts)"], Path(root), env)  # warm the cache
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, argv in commands.items():
                times[name].append(timed(argv, Path(root), env))
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':<28} {'median':>8} {'min':>8} {'above floor':>12}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<28} {median * 1000:>6.0f}ms {min(values) * 1000:>6.0f}ms "
              f"{(median - floor) * 1000:>10.0f}ms")
    version = statistics.median(times["lfsplug --version"])
    ok = version < TARGET_S
    print(f"lfsplug --version: {version * 1000:.0f} ms, {version / floor:.2f} x python -c pass "
          f"(target < {TARGET_S * 1000:.0f} ms): {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
