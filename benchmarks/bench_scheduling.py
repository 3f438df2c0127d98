"""Benchmark of parallel scheduling: a simulated LFS build, ``-j 4``, against the lower bound
and against ``make -j4`` on the same graph.

The build is a real jhalfs SBU report (``../shared/data/jhalfs-sbu-reports/``): each package
build becomes a script that sleeps for its real duration scaled down (``--seconds`` sets the
lower bound's length), laid out in the book's chapters. Chapters 5 to 7 and 9 to 10 run in book
order; chapter 8 (phase ``system``) in graph order with the book's own dependencies
(``appendices/dependencies.xml`` through ``--book-deps``), which is what lets it run in
parallel. The scripts carry their SBU (``sbu=``) from the report, as a book-derived tree would,
so the scheduler knows which chains are long.

Three figures, from one plan:

* the lower bound, max(total work / 4, the critical path), from the plan's edges (``lfsplug
  graph --format json``) and the scripts' real sleeps;
* ``lfsplug run -j 4``: the makespan from the first script's start to the last one's end, as the
  state database records them (and the command's wall time, start-up and discovery included);
* ``make -j4``: a Makefile with one target per script and the plan's edges as prerequisites
  (what a jhalfs Makefile would be, made parallel), timed from start to end.

Target: lfsplug within 1.05 x the bound. Run::

    python benchmarks/bench_scheduling.py [--seconds 60] [--report FILE] [--jobs 4]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import scratch

from lfsplug_reports.sbu import PackageBuild, read_report

TARGET = 1.05
HERE = Path(__file__).resolve().parent
DATA = HERE.parent.parent / "shared" / "data"
REPORTS = DATA / "jhalfs-sbu-reports"
BOOK = DATA / "lfs-book"
DEFAULT_REPORT = "r12.2-100-systemd-wip-SBU_DU-2025-02-15.report"

@dataclass
class Sim:
    """One simulated script: what it is called, where it goes, how long it sleeps (unscaled)."""

    name: str
    phase: str
    folder: str
    seconds: float
    sbu: float | None
    depends: list[str] = field(default_factory=list)


#: The first package of each stretch of the book, in a report's order.
CHAPTERS = (("m4", "temp", 6), ("changingowner", "chroot-temp", 7), ("man-pages", "system", 8))


def chapters(packages: list[PackageBuild]) -> list[tuple[PackageBuild, str, int]]:
    """Each package build with its phase and chapter: 5 until m4, 6 until the chroot pages, 7
    until man-pages, 8 until its ``cleanup``, then the configuration chapters."""
    out = []
    phase, chapter = "cross", 5
    marks = list(CHAPTERS)
    for build in packages:
        if marks and build.name == marks[0][0]:
            _, phase, chapter = marks.pop(0)
        out.append((build, phase, chapter))
        if phase == "system" and build.name == "cleanup":
            phase, chapter = "config", 9
    return out


def lfs_scripts(report: Path) -> tuple[list[Sim], str]:
    """The book's build: chapters 5 to 10, chapter 8 ordered by the book's dependencies."""
    builds = chapters(read_report(report).packages)
    system_names = {b.name.lower() for b, phase, _ in builds if phase == "system"}
    named: list[Sim] = []
    taken: set[str] = set()
    for build, phase, chapter in builds:
        name = build.name.lower()
        if phase != "system" and name in system_names:  # the temporary build of a package
            name += "-cross" if phase == "cross" else "-temp"
        while name in taken:
            name += "-again"
        taken.add(name)
        named.append(Sim(name, phase, f"chapter{chapter:02d}", max(build.seconds, 0.0),
                         build.sbu))
    return named, f'book_deps = "{BOOK}"\n\n[ordering]\nphases = {{ system = "graph" }}\n'


def dag_scripts(report: Path, copies: int, seed: int) -> tuple[list[Sim], str]:
    """A wide build, as BLFS is: the report's chapter 8 packages ``copies`` times over, each
    depending on up to three random earlier ones (more often on recent ones), in graph order.
    Here the order of starts matters: a long chain started late finishes late."""
    rng = random.Random(seed)
    system = [b for b, phase, _ in chapters(read_report(report).packages) if phase == "system"]
    sims: list[Sim] = []
    for copy in range(copies):
        for build in rng.sample(system, len(system)):
            name = f"{build.name.lower()}-{copy}"
            pool = [s.name for s in sims[-60:]]
            depends = sorted(rng.sample(pool, min(len(pool), rng.choice((0, 1, 1, 2, 3)))))
            sims.append(Sim(name, "blfs", "blfs", max(build.seconds, 0.0), build.sbu, depends))
    return sims, 'order = "graph"\n'


def make_tree(root: Path, sims: list[Sim], config: str, seconds: float,
              jobs: int) -> tuple[Path, dict[str, float]]:
    """The script tree, and each script's sleep; scaled so that the bound is ``seconds``."""
    tree = root / "tree"
    raw = {sim.name: sim.seconds for sim in sims}
    for i, sim in enumerate(sims, 1):
        folder = tree / sim.folder
        folder.mkdir(parents=True, exist_ok=True)
        header = f"# lfsplug: name={sim.name} phase={sim.phase}" + (
            f" sbu={sim.sbu:g}" if sim.sbu else "") + (
            f"\n# lfsplug: depends={','.join(sim.depends)}" if sim.depends else "")
        path = folder / f"{i:03d}-{sim.name}.sh"
        path.write_text(f"#!/bin/bash\n{header}\nsleep \"$SIM_{i:03d}\"\n")
        path.chmod(0o755)
    (tree / "lfsplug.toml").write_text(config)
    # the scale: from the plan's bound with the unscaled durations
    plan = graph(tree)
    scale = seconds / bound(plan, raw, jobs)
    sleeps = {name: secs * scale for name, secs in raw.items()}
    env = "".join(f"SIM_{i:03d} = \"{sleeps[s.name]:.4f}\"\n" for i, s in enumerate(sims, 1))
    (tree / "lfsplug.toml").write_text((tree / "lfsplug.toml").read_text() + "\n[env]\n" + env)
    return tree, sleeps


def graph(tree: Path) -> dict[str, object]:
    out = subprocess.run([sys.executable, "-m", "lfsplug", "graph", str(tree), "--format",
                          "json"], capture_output=True, check=True, text=True).stdout
    data: dict[str, object] = json.loads(out)
    return data


def _preds(plan: dict[str, object]) -> dict[str, set[str]]:
    nodes = [n["name"] for n in plan["nodes"]]  # type: ignore[attr-defined, index]
    preds: dict[str, set[str]] = {n: set() for n in nodes}
    for edge in plan["edges"]:  # type: ignore[attr-defined]
        preds[edge["after"]].add(edge["before"])
    return preds


def bound(plan: dict[str, object], durations: dict[str, float], jobs: int) -> float:
    """max(total work / jobs, the longest path), with ``durations`` on the plan's edges."""
    preds = _preds(plan)
    finish: dict[str, float] = {}
    for name in preds:  # nodes come in plan order, a topological order
        finish[name] = durations[name] + max((finish[p] for p in preds[name]), default=0.0)
    return max(sum(durations.values()) / jobs, *finish.values())


def makefile(tree: Path, plan: dict[str, object], logs: Path, stamps: Path) -> str:
    preds = _preds(plan)
    paths = {n["name"]: n["path"] for n in plan["nodes"]}  # type: ignore[attr-defined, index]
    lines = [f"all: {' '.join(str(stamps / n) for n in preds)}", ""]
    for name, before in preds.items():
        lines += [f"{stamps / name}: {' '.join(str(stamps / p) for p in sorted(before))}",
                  f"\t@bash +h -e {paths[name]} >{logs / name}.log 2>&1",
                  "\t@touch $@", ""]
    return "\n".join(lines)


def sim_env(tree: Path) -> dict[str, str]:
    """The SIM_ variables for make (lfsplug reads them from [env])."""
    env = dict(os.environ)
    for line in (tree / "lfsplug.toml").read_text().splitlines():
        if line.startswith("SIM_"):
            key, _, value = line.partition(" = ")
            env[key] = value.strip('"')
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60.0,
                        help="the lower bound's length after scaling (s)")
    parser.add_argument("--report", type=Path, default=REPORTS / DEFAULT_REPORT)
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--scenario", choices=("lfs", "dag"), default="lfs",
                        help="lfs: the book's build (the target); dag: a wide BLFS-like graph "
                             "of the report's packages, where the order of starts matters")
    parser.add_argument("--copies", type=int, default=3, help="dag: copies of chapter 8")
    parser.add_argument("--seed", type=int, default=1, help="dag: the random graph's seed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    if not BOOK.is_dir() or not args.report.is_file():
        sys.exit(f"needs the shared data: {BOOK} and {args.report}")
    if not shutil.which("make"):
        sys.exit("needs GNU make")
    with scratch("lfsplug-bench-sched-", args.keep) as root:
        sims, config = (lfs_scripts(args.report) if args.scenario == "lfs"
                        else dag_scripts(args.report, args.copies, args.seed))
        tree, sleeps = make_tree(root, sims, config, args.seconds, args.jobs)
        plan = graph(tree)
        lower = bound(plan, sleeps, args.jobs)
        work = sum(sleeps.values())
        preds = _preds(plan)
        print(f"{args.report.name}: {len(sleeps)} scripts, {len(plan['edges'])} edges "  # type: ignore[arg-type]
              f"({sum(1 for p in preds.values() if len(p) > 1)} with several predecessors)")
        print(f"  work {work:.1f} s, / {args.jobs} = {work / args.jobs:.1f} s; critical path "
              f"{bound(plan, sleeps, 10**9):.1f} s; bound {lower:.1f} s")

        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "lfsplug", "run", str(tree), "-j",
                        str(args.jobs), "--plain", "--shellcheck", "off", "--host-check", "off",
                        # sleeps stand for the packages: no lfs user, no chroot needed
                        "--privileges", "off", "--lfs", str(root / "lfs")], env=env, check=True,
                       stdout=subprocess.DEVNULL)
        wall = time.perf_counter() - started
        with sqlite3.connect(tree / ".lfsplug" / "state.db") as conn:
            first, last, ran = conn.execute(
                "SELECT MIN(started), MAX(finished), COUNT(*) FROM results "
                "WHERE status = 'passed'").fetchone()
        makespan = last - first

        logs, stamps = root / "make-logs", root / "stamps"
        logs.mkdir()
        stamps.mkdir()
        (root / "Makefile").write_text(makefile(tree, plan, logs, stamps))
        started = time.perf_counter()
        subprocess.run(["make", "-s", f"-j{args.jobs}", "-f", str(root / "Makefile")],
                       cwd=root, env=sim_env(tree), check=True)
        make_span = time.perf_counter() - started

        print(f"  lfsplug run -j {args.jobs}: makespan {makespan:.2f} s "
              f"({makespan / lower:.3f} x bound; {ran} scripts), wall {wall:.2f} s")
        print(f"  make -j{args.jobs}:          makespan {make_span:.2f} s "
              f"({make_span / lower:.3f} x bound)")
        ratio = makespan / lower
        ok = ratio <= TARGET
        print(f"target: lfsplug within {TARGET:.2f} x the bound: {ratio:.3f}  "
              f"{'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
