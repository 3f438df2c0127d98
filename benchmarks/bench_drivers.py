"""Benchmark of discovery with drivers: ``lfsplug list`` on a collection run by its drivers.

A synthetic collection of build scripts as hand-written collections lay them out: unnumbered
``pkgN.sh`` files in ``phase1/`` ... ``phase4/`` (what names them and orders them is the
driver, not the file names), each 20 to 60 lines of what LFS scripts hold, run by a top driver
``run-all.sh`` that sources a ``config.sh`` and calls one driver per phase; each phase driver
runs its scripts through a function, in a ``for`` loop over a word list, half of them under
``sudo -u lfs``. Beside it, the peer: the same scripts as numbered ``NNNNN-pkgN.sh`` files
with no driver, the layout discovery handled before it followed drivers. Each measurement is
a child process, so start-up counts:

* cold, drivers: ``lfsplug list`` with an empty state directory (every file indexed and
  classified, the drivers parsed and followed, every script's head read);
* cold, peer: the same on the numbered tree (today's cold discovery);
* warm, drivers: ``lfsplug list`` again (the cache answers for every file; only the drivers
  are parsed and followed again).

Every listing is verified: the collection's order is the drivers' (phase 1 to 4, each in its
word list's order, which is not the files' order). Targets: cold with drivers at most 2 x the
peer's cold run, warm under 0.5 s. Run::

    python benchmarks/bench_drivers.py [--scripts N] [--repeat N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench_discovery_validation import AGE_S, lfsplug, script_text, verdict  # noqa: E402
from benchlib import scratch  # noqa: E402

PHASES = 4
TARGET_COLD_RATIO = 2.0
TARGET_WARM_S = 0.5


def _write(path: Path, text: str, past: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(past, past))


def make_collection(root: Path, count: int, seed: int = 3) -> list[str]:
    """Write the driver-run collection; return its scripts' paths (relative) in driver order."""
    rnd = random.Random(seed)
    past = time.time_ns() - AGE_S * 1_000_000_000
    per_phase = -(-count // PHASES)
    order: list[str] = []
    for phase in range(1, PHASES + 1):
        names = [f"pkg{i}" for i in range((phase - 1) * per_phase + 1,
                                          min(phase * per_phase, count) + 1)]
        rnd.shuffle(names)  # the driver's order, not the files'
        for name in names:
            _write(root / f"phase{phase}" / f"{name}.sh",
                   script_text(int(name.removeprefix("pkg")), rnd)[0], past)
            order.append(f"phase{phase}/{name}.sh")
        words = " \\\n    ".join(" ".join(names[i:i + 8]) for i in range(0, len(names), 8))
        user = 'sudo -u lfs ' if phase % 2 else ""
        _write(root / f"phase{phase}" / "build.sh", (
            '#!/bin/bash\nset -e\nDIR="$(cd "$(dirname "$0")" && pwd)"\n'
            f'step() {{ echo "== $1"; {user}bash "$DIR/$1.sh" 2>&1 | tee "$LOGS/$1.log"; }}\n'
            f"for p in {words}; do\n  step \"$p\"\ndone\n"), past)
    _write(root / "config.sh", 'LOGS=/tmp/lfs-logs\nexport SOURCES="$LFS/sources"\n', past)
    calls = "".join(f"bash \"$HERE/phase{p}/build.sh\"\n" for p in range(1, PHASES + 1))
    _write(root / "run-all.sh", '#!/bin/bash\nset -e\nHERE=$(dirname "$0")\n'
           f'source "$HERE/config.sh"\nmkdir -p "$LOGS"\n{calls}', past)
    return order


def make_numbered(root: Path, collection: Path, order: Sequence[str]) -> None:
    """The peer: the same scripts, numbered in the same order, with no driver."""
    for index, relative in enumerate(order, 1):
        source = collection / relative
        target = root / relative.split("/")[0] / f"{index:05d}-{source.name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def listed(root: Path, state: Path) -> tuple[float, list[str]]:
    elapsed, proc = lfsplug("list", "--json", root, "--state-dir", state)
    scripts = json.loads(proc.stdout)["scripts"]
    return elapsed, [os.path.relpath(s["path"], root) for s in scripts]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scripts", type=int, default=2000, help="scripts in the collection")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each kind (median)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args(argv)
    with scratch("lfsplug-bench-drivers-", args.keep) as work:
        collection, numbered = work / "collection", work / "numbered"
        order = make_collection(collection, args.scripts)
        make_numbered(numbered, collection, order)
        colds, peers, warms = [], [], []
        for run in range(args.repeat):
            state, peer_state = work / f"state{run}", work / f"peer{run}"
            elapsed, found = listed(collection, state)
            if found != order:
                sys.exit(f"wrong order: {len(found)} scripts listed, {len(order)} expected; "
                         f"first difference at {next((i for i, (a, b) in enumerate(zip(found, order)) if a != b), None)}")  # noqa: E501
            colds.append(elapsed)
            peers.append(listed(numbered, peer_state)[0])
            warms.append(listed(collection, state)[0])
        cold, peer, warm = (statistics.median(x) for x in (colds, peers, warms))
        ratio = cold / peer
        cold_ok, warm_ok = ratio <= TARGET_COLD_RATIO, warm < TARGET_WARM_S
        print(f"{args.scripts} scripts, {PHASES} phase drivers under one top driver; "
              f"median of {args.repeat}")
        print(f"cold list, numbered tree, no driver (peer): {peer:6.2f} s")
        print(f"cold list, followed drivers:                {cold:6.2f} s   {ratio:.2f} x the "
              f"peer   target <= {TARGET_COLD_RATIO} x   {verdict(cold_ok)}")
        print(f"warm list, followed drivers:                {warm:6.2f} s   target < "
              f"{TARGET_WARM_S} s   {verdict(warm_ok)}")
        return 0 if cold_ok and warm_ok else 1


if __name__ == "__main__":
    sys.exit(main())
