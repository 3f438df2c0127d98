"""Benchmark of the chroot plugin: what placing scripts costs a build, and what mounting costs.

Two figures, each against a peer measured in the same run, interleaved:

* **placement overhead**: ``lfsplug run --force-all`` of N no-op scripts of phase ``cross``
  (the build user's phase; the build user is the one running the benchmark, so nothing is
  switched and every script still goes through the plugin's checks and hooks), against the
  same run with ``-p no:chroot``: the medians of 5 interleaved runs of each (the bests are
  printed too). Target: the plugin adds at most 5 %.
* **mount cycle** (root only): the plugin's ``Mounter`` mounting the book's kernel file systems
  under a scratch $LFS and unmounting them, against a bash loop running the same ``mount`` and
  ``umount`` commands with nothing else (no mountinfo look-ups, no record). Target: within
  1.5 x the bare commands. Said as SKIP where mounting is not possible.

Run::

    python benchmarks/bench_chroot.py [--scripts 1000] [--repeat 5] [--cycles 20]
"""

from __future__ import annotations

import argparse
import os
import pwd
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchlib import scratch, timed

from lfsplug_chroot.mounts import KERNFS, SHM, Mounter

PLACEMENT_TARGET = 1.05
MOUNT_TARGET = 1.5

SCRIPT = """#!/bin/bash
# lfsplug: name=noop{i:04d} phase=cross
:
"""


def make_tree(root: Path, count: int) -> Path:
    tree = root / "tree"
    tree.mkdir()
    for i in range(1, count + 1):
        path = tree / f"{i:04d}-noop{i:04d}.sh"
        path.write_text(SCRIPT.format(i=i))
        path.chmod(0o755)
    user = pwd.getpwuid(os.geteuid()).pw_name
    (tree / "lfsplug.toml").write_text(f'[chroot]\nuser = "{user}"\n')
    return tree


def placement(root: Path, scripts: int, repeat: int) -> bool:
    tree = make_tree(root, scripts)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    base = [sys.executable, "-m", "lfsplug", "run", str(tree), "--shellcheck", "off",
            "--host-check", "off", "--lfs", str(root / "lfs"), "--plain", "-p", "no:monitor"]
    timed(base, root, env)  # the first run fills the validation cache and the database
    on: list[float] = []
    off: list[float] = []
    for i in range(repeat):  # alternating which goes first: the second of a pair runs warmer
        pair = [(on, []), (off, ["-p", "no:chroot"])]
        for runs, extra in pair if i % 2 == 0 else reversed(pair):
            runs.append(timed([*base, "--force-all", *extra], root, env))
    print(f"placement: {scripts} no-op scripts of phase cross, {repeat} interleaved runs each")
    for label, runs in (("with the chroot plugin", on), ("-p no:chroot", off)):
        best, med = min(runs), statistics.median(runs)
        print(f"  {label:24} best {best:6.2f} s ({best / scripts * 1000:5.2f} ms each)  "
              f"median {med:6.2f} s")
    # the medians: on a shared machine one lucky run makes the best of either side an outlier
    ratio = statistics.median(on) / statistics.median(off)
    added = (statistics.median(on) - statistics.median(off)) / scripts * 1000
    print(f"  added per script: {added:+.3f} ms (median); best of each: "
          f"{min(on) / min(off):.3f} x")
    ok = ratio <= PLACEMENT_TARGET
    print(f"target: plugin on <= {PLACEMENT_TARGET:.2f} x off (medians): {ratio:.3f}  "
          f"{'PASS' if ok else 'FAIL'}")
    return ok


def _cannot_mount(root: Path) -> str | None:
    if os.geteuid() != 0:
        return "not root"
    probe = root / "probe"
    probe.mkdir()
    proc = subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(probe)], capture_output=True,
                          text=True, check=False)
    if proc.returncode != 0:
        return proc.stderr.strip()
    subprocess.run(["umount", str(probe)], check=True)
    return None


def _bare_script(lfs: Path) -> str:
    """The same commands, from a shell, with nothing checked."""
    steps = [*KERNFS, SHM]
    mounts = [shlex.join(["mount", *s.args, str(lfs / s.target)]) for s in steps]
    umounts = [shlex.join(["umount", str(lfs / s.target)]) for s in reversed(steps)]
    return "set -e\n" + "\n".join(mounts + umounts) + "\n"


def mount_cycle(root: Path, cycles: int) -> bool | None:
    why = _cannot_mount(root)
    if why:
        print(f"mount cycle: SKIP ({why})")
        return None
    lfs = root / "lfs-mounts"
    for name in ("dev", "proc", "sys", "run"):
        (lfs / name).mkdir(parents=True)
    bare = _bare_script(lfs)
    plugin: list[float] = []
    shell: list[float] = []
    for _ in range(cycles):
        started = time.perf_counter()
        mounter = Mounter(str(lfs), record=root / "chroot-mounts.json")
        mounter.mount_all()
        mounter.unmount_all()
        plugin.append(time.perf_counter() - started)
        started = time.perf_counter()
        subprocess.run(["bash", "-c", bare], check=True)
        shell.append(time.perf_counter() - started)
    med_plugin, med_shell = statistics.median(plugin), statistics.median(shell)
    ratio = med_plugin / med_shell
    ok = ratio <= MOUNT_TARGET
    print(f"mount cycle: the book's {len(KERNFS) + 1} mounts and their unmounts, median of "
          f"{cycles}")
    print(f"  Mounter (checks, record)  {med_plugin * 1000:7.1f} ms")
    print(f"  bare commands from bash   {med_shell * 1000:7.1f} ms")
    print(f"target: Mounter <= {MOUNT_TARGET:.1f} x bare: {ratio:.2f}  {'PASS' if ok else 'FAIL'}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scripts", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each (median)")
    parser.add_argument("--cycles", type=int, default=20, help="mount cycles of each (median)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    with scratch("lfsplug-bench-chroot-", args.keep) as root:
        results = [placement(root, args.scripts, args.repeat), mount_cycle(root, args.cycles)]
    return 0 if all(r is not False for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
