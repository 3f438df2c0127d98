"""Benchmark of discovery plus validation: ``lfsplug check`` on a large tree, cold and warm.

A synthetic tree of build scripts is written to a temporary directory: numbered ``NNNNN-name.sh``
files, 500 to a folder, each 20 to 60 lines of what LFS scripts hold (comments, ``set -e``, an
unpacked tarball, ``configure`` over continuation lines, ``make``, a test suite piped into
``tee``, ``make install``, a heredoc, ``sed -i``), one in a hundred with a syntax error and one
in fifty with a lint finding. Then, each as a child process so that start-up counts:

* the peer: ``bash -n`` on every script in a plain bash loop (``for f in ...; do bash -n "$f";
  done``), what a careful user would otherwise do; divided by the number of cores it is the
  bound a perfectly parallel ``bash -n`` would reach;
* cold: ``lfsplug check TREE --shellcheck=off`` with an empty state directory (discovery,
  ``bash -n`` of every script, lint, permissions, writing the cache);
* warm: the same command again (the cache answers; nothing is parsed again);
* ``lfsplug list`` on the same tree, to tell validation's share of the warm figure from
  discovery's and ordering's, and on 2,000 scripts (the target);
* shellcheck's cold cost, on fewer scripts (it takes tens of ms per file).

Every check run is verified: it must report exactly the syntax errors that were planted, at the
lines where they were planted. Targets: cold within 1.2 x (plain loop / cores), warm under
1.5 s, list under 0.5 s. Run::

    python benchmarks/bench_discovery_validation.py [--scripts N] [--shellcheck-scripts N]
        [--repeat N] [--compare-strategies] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

TARGET_COLD_RATIO = 1.2  # x (plain loop / cores)
TARGET_WARM_S = 1.5
TARGET_LIST_S = 0.5
LIST_SCRIPTS = 2000
PER_FOLDER = 500


# -- the synthetic tree ---------------------------------------------------------------------------


@dataclass
class Tree:
    """A generated tree: its root, its scripts, and where syntax errors were planted."""

    root: Path
    scripts: list[Path]
    broken: dict[str, int]  # script path -> the line bash -n reports


CONFIGURE_OPTIONS = [
    "--prefix=/usr", "--disable-static", "--sysconfdir=/etc", "--localstatedir=/var",
    "--enable-shared", "--with-system-zlib", "--docdir=/usr/share/doc/$PKG", "--disable-nls",
    "--enable-64-bit-bfd", "--host=$LFS_TGT", "--build=$(build-aux/config.guess)",
]


def script_text(index: int, rnd: random.Random) -> tuple[str, int | None]:
    """One script's text, and the line of its planted syntax error (or None)."""
    package = f"pkg{index}"
    version = f"{rnd.randint(1, 9)}.{rnd.randint(0, 20)}.{rnd.randint(0, 9)}"
    lines = [
        "#!/bin/bash",
        f"# {package}-{version}: part of the synthetic benchmark tree",
        f"# Approximate build time: {rnd.randint(1, 30) / 10} SBU",
        "set -e",
        f"PKG={package}-{version}",
        "cd $LFS/sources",
        "tar -xf $PKG.tar.xz",
        "cd $PKG",
        "",
        "# Prepare for compilation",
    ]
    options = rnd.sample(CONFIGURE_OPTIONS, rnd.randint(2, 6))
    lines.append("./configure " + options[0] + " \\")
    lines.extend(f"            {o} \\" for o in options[1:-1])
    lines.append(f"            {options[-1]}")
    lines += ["", "# Compile the package", "make"]
    for _ in range(rnd.randint(2, 12)):
        lines += rnd.choice([
            ["sed -i 's/^#define HAVE_FOO 1/#undef HAVE_FOO/' config.h"],
            ["# Fix a problem found by the test suite",
             "sed -e '/broken_test/d' -i tests/Makefile"],
            ["if [ -d /usr/lib64 ]; then", "  echo 'lib64 exists'", "fi"],
            [f"mkdir -pv /usr/share/doc/{package}",
             f"cp -v README NEWS /usr/share/doc/{package}"],
            ["cat > config.cache << \"EOF\"", "ac_cv_func_fork=yes", "ac_cv_header_x=no", "EOF"],
            ["case $(uname -m) in", "  x86_64) echo 64 ;;", "  *) echo other ;;", "esac"],
            ["for f in a b c; do", "  install -m644 \"$f\".1 /usr/share/man/man1", "done"],
            ["make -k check 2>&1 | tee ../check.log || true"],
        ])
    lines += ["", "# Install the package", "make install", "cd ..", "rm -rf $PKG"]
    broken = None
    kind = index % 100
    if kind == 37:  # a syntax error: a stray fi
        lines.insert(len(lines) - 3, "fi")
        broken = len(lines) - 3
    elif kind in (11, 61):  # lint: unlimited jobs, a placeholder left in
        lines.insert(len(lines) - 3, "make -j" if kind == 11 else "PAGE=<paper_size> make")
    return "\n".join(lines) + "\n", broken


#: How old the scripts are made to look (their mtime): a tree being checked was written before,
#: not within the caches' racy window of two seconds, inside which a file is read again on
#: every run however often it is seen (an edit in the same clock tick would not show).
AGE_S = 3600


def make_tree(root: Path, count: int, seed: int = 1) -> Tree:
    """Write ``count`` scripts below ``root``, dated :data:`AGE_S` seconds back."""
    rnd = random.Random(seed)
    past = time.time_ns() - AGE_S * 1_000_000_000
    scripts, broken = [], {}
    for index in range(1, count + 1):
        folder = root / f"part{(index - 1) // PER_FOLDER + 1:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{index:05d}-pkg{index}.sh"
        text, line = script_text(index, rnd)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o755)
        os.utime(path, ns=(past, past))
        scripts.append(path)
        if line is not None:
            broken[str(path)] = line
    return Tree(root, scripts, broken)


# -- running things -------------------------------------------------------------------------------


Completed = subprocess.CompletedProcess[bytes]


def lfsplug(*args: str | Path, check: bool = True) -> tuple[float, Completed]:
    """Run the real command in a child process; (seconds, process)."""
    argv = [sys.executable, "-m", "lfsplug", *map(str, args)]
    env = {k: v for k, v in os.environ.items() if not k.startswith("LFSPLUG_")}
    started = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, check=False, env=env,
                          stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - started
    if check and proc.returncode not in (0, 6):
        sys.exit(f"lfsplug {' '.join(map(str, args))} exited {proc.returncode}:\n"
                 f"{proc.stderr.decode(errors='replace')[-2000:]}")
    return elapsed, proc


def plain_loop(scripts: Sequence[Path]) -> float:
    """``bash -n`` on every script in one bash loop; seconds."""
    loop = 'for f in "$@"; do bash -n "$f"; done 2>/dev/null; true'
    started = time.perf_counter()
    subprocess.run(["bash", "-c", loop, "loop", *map(str, scripts)], check=True,
                   stdin=subprocess.DEVNULL)
    return time.perf_counter() - started


def verify(tree: Tree, proc: Completed, label: str) -> int:
    """Check the planted syntax errors are reported exactly; the number of findings."""
    findings = json.loads(proc.stdout)["findings"]
    syntax = {f["path"]: f["line"] for f in findings if f["code"] == "SYN001"}
    if syntax != tree.broken:
        missing = set(tree.broken) - set(syntax)
        extra = set(syntax) - set(tree.broken)
        sys.exit(f"{label}: wrong syntax findings: {len(missing)} missing, {len(extra)} extra, "
                 f"{sum(syntax.get(p) != n for p, n in tree.broken.items())} on the wrong line")
    return len(findings)


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# -- the figures ----------------------------------------------------------------------------------


def bench_check(tree: Tree, work: Path, repeat: int) -> bool:
    n, ncores = len(tree.scripts), cores()
    print(f"tree: {n} scripts in {tree.root} ({len(tree.broken)} with a syntax error); "
          f"{ncores} core(s)")
    loop = plain_loop(tree.scripts)
    bound = loop / ncores
    print(f"plain bash -n loop:      {loop:8.2f} s  ({loop / n * 1000:.2f} ms/script); "
          f"/ {ncores} cores = {bound:.2f} s")
    colds, warms = [], []
    count = 0
    for attempt in range(repeat):
        state = work / f"state-{attempt}"
        cold, proc = lfsplug("check", tree.root, "--shellcheck=off", "--json",
                             "--state-dir", state)
        count = verify(tree, proc, "cold")
        colds.append(cold)
        for _ in range(3):
            warm, proc = lfsplug("check", tree.root, "--shellcheck=off", "--json",
                                 "--state-dir", state)
            verify(tree, proc, "warm")
            warms.append(warm)
    cold, warm = statistics.median(colds), statistics.median(warms)
    # the same tree through list: discovery, ordering and start-up, without validation
    listings = [lfsplug("list", tree.root)[0] for _ in range(3)]
    listing = statistics.median(listings)
    ratio = cold / bound
    cold_ok, warm_ok = ratio <= TARGET_COLD_RATIO, warm < TARGET_WARM_S
    print(f"lfsplug check, cold:     {cold:8.2f} s  ({cold / n * 1000:.2f} ms/script; "
          f"{count} findings, planted errors all found)")
    print(f"  ratio to loop / cores: {ratio:8.2f} x   target <= {TARGET_COLD_RATIO} x   "
          f"{verdict(cold_ok)}")
    print(f"  ratio to the loop:     {cold / loop:8.2f} x   ({loop / cold:.1f} x faster)")
    print(f"lfsplug check, warm:     {warm:8.2f} s  (best {min(warms):.2f} s)   "
          f"target < {TARGET_WARM_S} s   {verdict(warm_ok)}")
    share, best_share = max(warm - listing, 0), max(min(warms) - min(listings), 0)
    print(f"  of which discovery, ordering and start-up (lfsplug list, same tree): "
          f"{listing:.2f} s (best {min(listings):.2f} s); validation from its cache: "
          f"{share:.2f} s (best to best {best_share:.2f} s)")
    return cold_ok and warm_ok


def bench_list(work: Path, repeat: int) -> bool:
    tree = make_tree(work / "list-tree", LIST_SCRIPTS, seed=2)
    lfsplug("list", tree.root)  # the file system's cache is warm, as on a second look
    times = [lfsplug("list", tree.root)[0] for _ in range(max(3, repeat))]
    best, median = min(times), statistics.median(times)
    ok = median < TARGET_LIST_S
    print(f"lfsplug list, {LIST_SCRIPTS} scripts: {median:6.2f} s  (best {best:.2f} s)   "
          f"target < {TARGET_LIST_S} s   {verdict(ok)}")
    return ok


def bench_shellcheck(work: Path, count: int, total: int) -> None:
    if shutil.which("shellcheck") is None:
        print("shellcheck: not installed, not measured")
        return
    tree = make_tree(work / "shellcheck-tree", count, seed=3)
    off, _ = lfsplug("check", tree.root, "--shellcheck=off", "--state-dir", work / "sc-off")
    on, _ = lfsplug("check", tree.root, "--shellcheck=on", "--state-dir", work / "sc-on")
    warm, _ = lfsplug("check", tree.root, "--shellcheck=on", "--state-dir", work / "sc-on")
    cost = max(on - off, 0.0)
    print(f"shellcheck, cold, {count} scripts: {on:6.2f} s with, {off:.2f} s without: "
          f"{cost:.2f} s for shellcheck ({cost / count * 1000:.1f} ms/script, about "
          f"{cost / count * total:.0f} s for {total}); warm {warm:.2f} s")


def bench_strategies(tree: Tree, sample: int) -> None:
    """The ways to run bash -n from Python, on the same files (what syntax.py chose)."""
    from concurrent.futures import ThreadPoolExecutor

    from lfsplug_validation.syntax import check_syntax

    paths = [str(p) for p in tree.scripts[:sample]]
    ncores = cores()

    def run(path: str) -> int:
        return subprocess.run(["bash", "-n", path], capture_output=True, check=False,
                              stdin=subprocess.DEVNULL).returncode

    for workers in (ncores, ncores * 2):
        started = time.perf_counter()
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(run, paths))
        took = time.perf_counter() - started
        print(f"  thread pool of {workers} x subprocess.run(bash -n): {took:6.2f} s "
              f"({took / sample * 1000:.2f} ms/script)")
    bash = shutil.which("bash") or "bash"
    for label, version in (("a subshell (fork) per file, as for bash < 4.4", "4.3"),
                           ("no process per file (what lfsplug uses)", None)):
        started = time.perf_counter()
        check_syntax(bash, paths, set(), ncores, version=version)
        took = time.perf_counter() - started
        print(f"  {ncores} screening bash(es), {label}, + bash -n on flagged files: "
              f"{took:6.2f} s ({took / sample * 1000:.2f} ms/script)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scripts", type=int, default=10_000, help="scripts in the tree")
    parser.add_argument("--shellcheck-scripts", type=int, default=300,
                        help="scripts for shellcheck's cold cost")
    parser.add_argument("--repeat", type=int, default=1, help="cold runs (median)")
    parser.add_argument("--compare-strategies", action="store_true",
                        help="also time ways of running bash -n from Python on 1,000 scripts")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="lfsplug-bench-"))
    try:
        tree = make_tree(work / "tree", args.scripts)
        ok = bench_check(tree, work, args.repeat)
        ok = bench_list(work, args.repeat) and ok
        bench_shellcheck(work, args.shellcheck_scripts, args.scripts)
        if args.compare_strategies:
            print("ways of running bash -n (1,000 scripts):")
            bench_strategies(tree, min(1000, args.scripts))
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print("all targets met" if ok else "some targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
