"""Benchmark on real builds: examples/mini-lfs built several ways in one run, and the bound.

The packages of ``examples/mini-lfs`` (GNU m4, libtasn1, hello, sed, grep, gawk, diffutils and a
program linked against libtasn1, test suites included) are built from their tarballs, each way
into a ``$LFS`` of its own, with the same environment (the book's clean one, ``MAKEFLAGS=-jN``):

* ``make chain``: what jhalfs generates, and the build by hand: ``md5sum -c`` of the sources,
  then one target per script, each after the one before, whose recipe unpacks the script's
  tarball in ``$LFS/sources``, runs the script there with ``bash +h -e`` into its log, removes
  the package's directory and leaves a stamp. Each package builds at ``make -jN``; one package
  at a time.
* ``lfsplug -j 1``: ``lfsplug run`` in the book's order, one script at a time, with everything a
  real build has on (checksums, logs, state, the monitor, the terminal's lines to a file).
  Against the make chain, this is lfsplug's overhead on a real build: the CPU time of all its
  processes (lfsplug, its keepers, the scripts) against the chain's. Target: within 2 %. The
  wall-time ratio is shown too; on a shared machine it moves by several percent from run to run
  either way (``--repeat`` interleaves rounds and shows the median), the CPU time much less.
* ``lfsplug -j N --order graph``: the same, the packages of a phase in parallel where their
  dependencies allow (``[ordering] phases`` of the example), sharing one make jobserver; N is
  the cores and the cores + 1 (``--jobs``). Target, for the better N: at most 0.8 x the make
  chain, and at most 1.15 x the bound.
* ``bound``: no schedule can beat it: the CPU time the make chain used (its processes' user
  and system time) divided by the cores, or the plan's critical path (each script's time in the
  make chain, where it had the machine to itself), whichever is longer. Printed beside it, the
  tighter bound that respects the phase barriers the book asks for: per phase, the longer of
  its CPU time over the cores and its critical path, summed.

Run::

    python benchmarks/bench_real.py [--jobs 2,3] [--repeat N] [--no-check] [--keep]

About 20 minutes a round on 2 cores with the test suites (``--no-check``: about 8). The tarballs
come from ``examples/mini-lfs/sources/`` (``examples/mini-lfs/fetch-from-debian.sh`` fills it
where there is no internet), else from ``--sources DIR``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchlib import scratch

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "mini-lfs"
OVERHEAD_TARGET = 1.02
SERIAL_TARGET = 0.8
BOUND_TARGET = 1.15
HEADER = re.compile(r"^#\s*lfsplug:(.*)$")


@dataclass
class Way:
    label: str
    wall: float = 0.0
    cpu: float = 0.0  # user + system time of every process of the build
    scripts: dict[str, float] = field(default_factory=dict)  # each script's wall time
    script_cpu: dict[str, float] = field(default_factory=dict)  # and its CPU time


@dataclass
class Step:
    name: str
    path: Path
    unpack: str | None


def header(path: Path) -> dict[str, str]:
    """The ``key=value`` pairs of a script's ``# lfsplug:`` lines."""
    pairs: dict[str, str] = {}
    for line in path.read_text().splitlines()[:20]:
        found = HEADER.match(line)
        if found:
            pairs.update(word.split("=", 1) for word in found.group(1).split() if "=" in word)
    return pairs


def steps(tree: Path) -> list[Step]:
    """The example's scripts in the book's order, with their names and tarballs."""
    found = []
    for path in sorted(tree.glob("chapter*/*.sh")):
        meta = header(path)
        name = meta.get("name") or re.sub(r"^\d+-", "", path.stem)
        found.append(Step(name, path, meta.get("unpack")))
    return found


def tarball_names() -> list[str]:
    lines = (EXAMPLE / "sources" / "md5sums").read_text().splitlines()
    return [line.split(None, 1)[1].strip() for line in lines if line.strip()]


def find_sources(given: Path | None) -> Path:
    for where in [p for p in (given, EXAMPLE / "sources") if p is not None]:
        if all((where / name).is_file() for name in tarball_names()):
            return where
    sys.exit("the mini-lfs tarballs are missing: run examples/mini-lfs/fetch-from-debian.sh "
             "(where there is no internet) or `lfsplug sources fetch` in examples/mini-lfs, "
             "or give --sources DIR")


def book_env(lfs: Path, jobs: int, check: bool) -> dict[str, str]:
    """The environment lfsplug gives a script (the book's, then the example's ``[env]``)."""
    path = "/usr/bin" if os.path.islink("/bin") else "/bin:/usr/bin"
    return {"HOME": os.environ.get("HOME", "/root"), "TERM": os.environ.get("TERM", "dumb"),
            "LFS": str(lfs), "LC_ALL": "POSIX", "LFS_TGT": f"{os.uname().machine}-lfs-linux-gnu",
            "PATH": f"{lfs}/tools/bin:{path}", "CONFIG_SITE": f"{lfs}/usr/share/config.site",
            "MAKEFLAGS": f"-j{jobs}", "MINI_LFS_CHECK": "yes" if check else "no",
            "MINI_LFS_CROSS": "aarch64-linux-gnu"}


def makefile(plan: list[Step], lfs: Path, logs: Path, stamps: Path, env: dict[str, str]) -> str:
    """The chain: the sources checked, then each script after the one before it."""
    clean = "env -i " + " ".join(shlex.quote(f"{k}={v}") for k, v in env.items())
    lines = [f"all: {stamps / plan[-1].name}", "",
             f"{stamps / 'sources'}:",
             f"\t@cd {lfs}/sources && md5sum -c --quiet md5sums",
             "\t@touch $@", ""]
    previous = stamps / "sources"
    for step in plan:
        target = stamps / step.name
        if step.unpack:  # jhalfs: unpack, into the package's top directory, remove it after
            body = (f"cd {lfs}/sources && top=$$(tar -tf {step.unpack} | head -n1 | "
                    f"cut -d/ -f1) && rm -rf $$top && tar -xf {step.unpack} && cd $$top && "
                    f"bash +h -e {step.path} && cd {lfs}/sources && rm -rf $$top")
        else:
            body = f"cd {lfs} && bash +h -e {step.path}"
        lines += [f"{target}: {previous}",
                  f"\t@echo 'Building {step.name}'",
                  f"\t@date +%s.%N >{target}.start",
                  f"\t@{clean} bash -c {shlex.quote(body + f' && times >{target}.cpu')} "
                  f">{logs / step.name}.log 2>&1",
                  f"\t@date +%s.%N >{target}", ""]
        previous = target
    return "\n".join(lines)


def fresh_lfs(root: Path, label: str, sources: Path) -> Path:
    """A new ``$LFS`` with the tarballs (and the checksums) in ``$LFS/sources``."""
    lfs = root / f"lfs-{label}"
    (lfs / "sources").mkdir(parents=True)
    for name in tarball_names():
        shutil.copy2(sources / name, lfs / "sources" / name)
    shutil.copy2(EXAMPLE / "sources" / "md5sums", lfs / "sources" / "md5sums")
    return lfs


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def run(argv: list[str], cwd: Path, env: dict[str, str] | None, way: Way,
        output: Path) -> None:
    """Run a build, its wall and CPU time into ``way``; a failure ends the benchmark."""
    cpu = children_cpu()
    started = time.perf_counter()
    with output.open("w") as out:
        done = subprocess.run(argv, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL, check=False)
    way.wall = time.perf_counter() - started
    way.cpu = children_cpu() - cpu
    if done.returncode != 0:
        tail = output.read_text(errors="replace")[-3000:]
        sys.exit(f"{way.label} failed ({done.returncode}); the end of {output}:\n{tail}")


def built(lfs: Path, way: Way) -> None:
    """The build's programs run: what was timed built something."""
    hello = subprocess.run([str(lfs / "usr" / "bin" / "hello")], capture_output=True,
                           text=True, check=False)
    if hello.stdout != "Hello, world!\n":
        sys.exit(f"{way.label}: {lfs}/usr/bin/hello does not say hello: {hello}")


def make_chain(root: Path, tree: Path, sources: Path, jobs: int, check: bool) -> Way:
    way = Way("make chain")
    root.mkdir()
    lfs = fresh_lfs(root, "make", sources)
    logs, stamps = root / "make-logs", root / "make-stamps"
    logs.mkdir()
    stamps.mkdir()
    plan = steps(tree)
    (root / "Makefile").write_text(makefile(plan, lfs, logs, stamps,
                                            book_env(lfs, jobs, check)))
    # the top-level make runs one recipe at a time (as jhalfs's); MAKEFLAGS is the scripts'
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAKE", "MFLAGS"))}
    run(["make", "-s", "-f", str(root / "Makefile")], root, env, way, root / "make.out")
    for step in plan:
        start = float((stamps / f"{step.name}.start").read_text())
        way.scripts[step.name] = float((stamps / step.name).read_text()) - start
        # bash's `times`: the shell's user and system time, then its children's
        times = re.findall(r"(\d+)m([\d.]+)s", (stamps / f"{step.name}.cpu").read_text())
        way.script_cpu[step.name] = sum(int(m) * 60 + float(s) for m, s in times)
    built(lfs, way)
    return way


def lfsplug(root: Path, tree: Path, sources: Path, label: str, key: str, *options: str) -> Way:
    way = Way(label)
    lfs = fresh_lfs(root, key, sources)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LFSPLUG_")}
    env["XDG_STATE_HOME"] = str(root / "state-home")
    state = root / f"state-{key}"
    run([sys.executable, "-m", "lfsplug", "run", str(tree), "--lfs", str(lfs), "--plain",
         "--state-dir", str(state), *options], root, env, way, root / f"{state.name}.out")
    built(lfs, way)
    return way


def critical_path(tree: Path, durations: dict[str, float], only: set[str] | None = None
                  ) -> float:
    """The longest chain of the plan lfsplug builds (``lfsplug graph --format json``), each
    script weighing its time in ``durations``; ``only``: within those scripts."""
    shown = subprocess.run([sys.executable, "-m", "lfsplug", "graph", str(tree), "--format",
                            "json"], capture_output=True, text=True, check=True)
    graph = json.loads(shown.stdout)
    names = [n["name"] for n in graph["nodes"] if only is None or n["name"] in only]
    before: dict[str, list[str]] = {name: [] for name in names}
    for edge in graph["edges"]:
        if edge["after"] in before and edge["before"] in before:
            before[edge["after"]].append(edge["before"])
    finish: dict[str, float] = {}

    def ends(name: str) -> float:
        if name not in finish:
            finish[name] = durations[name] + max((ends(b) for b in before[name]), default=0.0)
        return finish[name]

    return max((ends(name) for name in names), default=0.0)


def phases_of(tree: Path) -> dict[str, list[str]]:
    listed = subprocess.run([sys.executable, "-m", "lfsplug", "list", str(tree), "--json"],
                            capture_output=True, text=True, check=True)
    phases: dict[str, list[str]] = {}
    for script in json.loads(listed.stdout)["scripts"]:
        phases.setdefault(script["phase"] or "", []).append(script["name"])
    return phases


def median_way(ways: list[Way]) -> Way:
    """The run of median wall time (its CPU and per-script times with it)."""
    return sorted(ways, key=lambda w: w.wall)[len(ways) // 2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--no-check", action="store_true", help="skip the test suites")
    parser.add_argument("--jobs", default="",
                        help="lfsplug's -j for the parallel way, comma separated (default: the "
                             "cores, and the cores + 1)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of every way, interleaved (the median is shown)")
    parser.add_argument("--sources", type=Path, help="a folder with the example's tarballs")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    for tool in ("make", "cc", "tar", "md5sum"):
        if shutil.which(tool) is None:
            sys.exit(f"needs {tool}")
    sources = find_sources(args.sources)
    # make's -j in every way is the cores (lfsplug's MAKEFLAGS); lfsplug's -j for the parallel way
    check = not args.no_check
    cores = os.cpu_count() or 1
    parallel = [int(j) for j in args.jobs.split(",") if j.strip()] or [cores, cores + 1]
    with scratch("lfsplug-bench-real-", args.keep) as root:
        tree = root / "mini-lfs"
        shutil.copytree(EXAMPLE, tree, ignore=shutil.ignore_patterns(
            ".lfsplug", "__pycache__", "*.tar.*", "*.part"))
        if not check:
            toml = tree / "lfsplug.toml"
            toml.write_text(toml.read_text().replace('MINI_LFS_CHECK = "yes"',
                                                     'MINI_LFS_CHECK = "no"'))
        print(f"mini-lfs, {len(steps(tree))} scripts, test suites {'on' if check else 'off'}, "
              f"make -j{cores}, {cores} cores, {args.repeat} round(s)", flush=True)
        runs: dict[str, list[Way]] = {}
        for round_ in range(args.repeat):  # interleaved: a busy moment hits every way
            rest = f"{round_}" if args.repeat > 1 else ""
            ways = [make_chain(root / f"chain{rest}", tree, sources, cores, check),
                    lfsplug(root, tree, sources, "lfsplug -j 1", f"serial{rest}", "-j", "1",
                            "--order", "sequence"),
                    *(lfsplug(root, tree, sources, f"lfsplug -j {j}", f"graph{j}{rest}",
                              "-j", str(j)) for j in parallel)]
            for way in ways:
                runs.setdefault(way.label, []).append(way)
                print(f"  {way.label:18} {way.wall:7.1f} s wall  {way.cpu:7.1f} s CPU",
                      flush=True)
        med = {label: median_way(ways) for label, ways in runs.items()}
        chain, serial = med["make chain"], med["lfsplug -j 1"]

        crit = critical_path(tree, chain.scripts)
        bound = max(chain.cpu / cores, crit)
        # the phases stay in the book's order: per phase, its own bound
        phased = 0.0
        for names in phases_of(tree).values():
            cpu = sum(chain.script_cpu[n] for n in names)
            phased += max(cpu / cores, critical_path(tree, chain.scripts, set(names)))
        print(f"bound {bound:.1f} s: CPU {chain.cpu:.1f} s / {cores} cores = "
              f"{chain.cpu / cores:.1f} s; critical path {crit:.1f} s; within the phases "
              f"{phased:.1f} s")
        print("longest scripts in the make chain: " + ", ".join(
            f"{name} {secs:.0f} s" for name, secs in
            sorted(chain.scripts.items(), key=lambda item: -item[1])[:5]))

        cpu_overhead = serial.cpu / chain.cpu
        print(f"lfsplug -j 1 against the make chain: {serial.wall / chain.wall:.3f} x the wall "
              f"time (noise of a shared machine included), {cpu_overhead:.3f} x the CPU time")
        best = min((med[f"lfsplug -j {j}"] for j in parallel), key=lambda w: w.wall)
        for j in parallel:
            way = med[f"lfsplug -j {j}"]
            print(f"lfsplug -j {j}: {way.wall / chain.wall:.3f} x the make chain, "
                  f"{way.wall / bound:.3f} x the bound")
        results = [
            (f"lfsplug's overhead, CPU of lfsplug -j 1 <= {OVERHEAD_TARGET:.2f} x the make "
             f"chain's", cpu_overhead, cpu_overhead <= OVERHEAD_TARGET),
            (f"{best.label} <= {SERIAL_TARGET:.2f} x make chain", best.wall / chain.wall,
             best.wall / chain.wall <= SERIAL_TARGET),
            (f"{best.label} <= {BOUND_TARGET:.2f} x bound", best.wall / bound,
             best.wall / bound <= BOUND_TARGET),
        ]
        for label, ratio, ok in results:
            print(f"target: {label}: {ratio:.3f}  {'PASS' if ok else 'FAIL'}")
        return 0 if all(ok for _, _, ok in results) else 1


if __name__ == "__main__":
    sys.exit(main())
