"""Benchmark of the executor's overhead: 1,000 no-op scripts, lfsplug against make and bash.

Each script is a real bash script that does nothing (a comment, ``set -e``, ``:``), so what is
timed is what it costs to run a script, not the script. Three ways run the same tree, in one
invocation, each into a log per script:

* ``lfsplug``: ``lfsplug run TREE`` as a child process, with everything a real build has on:
  logs, the state database, the monitor's sampler, the terminal's lines (to a file). Timed twice:
  ``--force-all`` on a tree already checked once (validation answers from its cache, every
  script runs again: the figure to compare), and the very first run (discovery, ``bash -n`` of
  every script, the cache written).
* ``make``: a jhalfs-style Makefile, as jhalfs generates: one target per script, each depending
  on the one before, whose recipe says what it builds, runs the script with ``bash +h -e`` into
  its log, and touches a stamp file; ``make -f Makefile`` builds the chain.
* ``bash loop``: ``for f in ...; do bash +h -e "$f" >"logs/$n.log" 2>&1 || break; done``, the
  floor: a fork and an exec of bash per script, nothing else.

Target: lfsplug (``--force-all``) within 1.0 x make. Run::

    python benchmarks/bench_overhead.py [--scripts 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
from pathlib import Path

from benchlib import scratch, timed

TARGET = 1.0

SCRIPT = """#!/bin/bash
# lfsplug: name=noop{i:04d}
# a build script that builds nothing: what is timed is running it
set -e
:
"""


def make_tree(root: Path, count: int) -> list[Path]:
    tree = root / "tree"
    tree.mkdir()
    paths = []
    for i in range(1, count + 1):
        path = tree / f"{i:04d}-noop{i:04d}.sh"
        path.write_text(SCRIPT.format(i=i))
        path.chmod(0o755)
        paths.append(path)
    return paths


def makefile(paths: list[Path], logs: Path, stamps: Path) -> str:
    """The chain jhalfs writes: each target needs the one before, logs, and leaves a stamp."""
    lines = [f"all: {stamps / paths[-1].stem}", ""]
    previous = ""
    for path in paths:
        target = stamps / path.stem
        lines += [
            f"{target}: {previous}",
            f"\t@echo 'Building {path.stem}'",
            f"\t@bash +h -e {path} >{logs / path.stem}.log 2>&1",
            "\t@touch $@",
            "",
        ]
        previous = str(target)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not shutil.which("make"):
        sys.exit("needs GNU make")
    with scratch("lfsplug-bench-overhead-", args.keep) as root:
        paths = make_tree(root, args.scripts)
        tree = paths[0].parent
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        lfsplug = [sys.executable, "-m", "lfsplug", "run", str(tree), "--shellcheck", "off",
                   "--host-check", "off", "--lfs", str(root / "lfs"), "--plain"]
        first = timed(lfsplug, root, env)

        loop_logs = root / "loop-logs"
        loop = ["bash", "-c", 'cd "$1"; shift; for f in "$@"; do n=${f##*/}; '
                'bash +h -e "$f" >"$OLDPWD/loop-logs/${n%.sh}.log" 2>&1 || exit 1; done',
                "loop", str(tree), *(str(p) for p in paths)]
        figures: dict[str, list[float]] = {"lfsplug": [], "make": [], "loop": []}
        for _ in range(args.repeat):  # interleaved, so that a busy moment hits all three
            figures["lfsplug"].append(timed([*lfsplug, "--force-all"], root, env))
            logs, stamps = root / "make-logs", root / "stamps"
            for folder in (logs, stamps, loop_logs):
                shutil.rmtree(folder, ignore_errors=True)
                folder.mkdir()
            (root / "Makefile").write_text(makefile(paths, logs, stamps))
            figures["make"].append(timed(["make", "-s", "-f", str(root / "Makefile")], root))
            figures["loop"].append(timed(loop, root))
        med = {name: statistics.median(values) for name, values in figures.items()}
        n = args.scripts
        print(f"{n} no-op scripts, median of {args.repeat} (ms per script in brackets)")
        for name, label in (("loop", "bash loop"), ("make", "jhalfs-style make chain"),
                            ("lfsplug", "lfsplug run --force-all")):
            print(f"  {label:28} {med[name]:7.2f} s  ({med[name] / n * 1000:5.2f} ms)  "
                  f"{med[name] / med['make']:5.2f} x make  {med[name] / med['loop']:5.2f} x loop")
        print(f"  {'lfsplug run, first (cold)':28} {first:7.2f} s  ({first / n * 1000:5.2f} ms)"
              f"  {first / med['make']:5.2f} x make")
        ratio = med["lfsplug"] / med["make"]
        ok = ratio <= TARGET
        print(f"target: lfsplug <= {TARGET:.1f} x make: {ratio:.2f}  {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
