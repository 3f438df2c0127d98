"""What the distcc path costs per compile: a real package built with the plain compiler, then
through distcc to a daemon on a loopback address (the same machine: only distcc's own work
differs), in the same run.

    python benchmarks/bench_distcc.py                       # sed 4.9, make -j2, 3 rounds
    python benchmarks/bench_distcc.py --tarball examples/mini-lfs/sources/grep-3.8.tar.xz

Each round builds the configured tree from clean twice, interleaved: ``make CC=gcc`` and
``make CC="distcc gcc"`` with ``DISTCC_HOSTS=127.0.0.2:PORT/N`` (fallback off, so that every
compile goes through the daemon). The overhead per compile is the difference of the medians over
the number of compiles the client's log counts. Nothing leaves the loopback network.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TARBALL = ROOT / "examples" / "mini-lfs" / "sources" / "sed-4.9.tar.xz"
ADDRESS = "127.0.0.2"
#: the target: the wrapper path adds at most this much per compile on loopback
TARGET_MS = 50.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((ADDRESS, 0))
        return int(sock.getsockname()[1])


def build(tree: Path, env: dict[str, str], cc: str, jobs: int) -> tuple[float, float]:
    """Wall and CPU seconds (children) of ``make clean`` then ``make -jN CC=...``."""
    subprocess.run(["make", "clean"], cwd=tree, env=env, check=True, capture_output=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(["make", f"-j{jobs}", f"CC={cc}"], cwd=tree, env=env,
                          capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"bench_distcc: make CC={cc!r} failed:\n{done.stderr[-2000:]}")
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tarball", type=Path, default=DEFAULT_TARBALL)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for tool in ("distcc", "distccd", "gcc", "make"):
        if shutil.which(tool) is None:
            print(f"bench_distcc: {tool} is not installed (Debian: apt-get install distcc)")
            return 2
    if not args.tarball.is_file():
        print(f"bench_distcc: no {args.tarball} (examples/mini-lfs/fetch-from-debian.sh)")
        return 2
    sys.path.insert(0, str(ROOT / "plugins"))
    from lfsplug_distcc.distlog import read_log

    work = Path(tempfile.mkdtemp(prefix="bench-distcc."))
    work.chmod(0o1777)  # distccd, started as root, runs as nobody
    daemon = None
    try:
        with tarfile.open(args.tarball) as archive:
            archive.extractall(work, filter="data")
        tree = next(p for p in work.iterdir() if p.is_dir())
        env = {**os.environ, "LC_ALL": "C"}
        subprocess.run(["./configure", "--disable-nls", "-q"], cwd=tree, env=env, check=True,
                       capture_output=True)
        port = free_port()
        user = ["--user", "nobody"] if os.geteuid() == 0 else []
        daemon = subprocess.Popen(
            ["distccd", "--daemon", "--no-detach", "--listen", ADDRESS, "--port", str(port),
             "--allow", "127.0.0.0/8", "--jobs", str(args.jobs), *user,
             "--log-file", str(work / "distccd.log")], start_new_session=True)
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as sock:
                if sock.connect_ex((ADDRESS, port)) == 0:
                    break
            if time.monotonic() > deadline:
                print("bench_distcc: distccd did not start")
                return 2
            time.sleep(0.05)
        log = work / "client.log"
        (work / "dd").mkdir()
        distcc_env = {**env, "DISTCC_HOSTS": f"{ADDRESS}:{port}/{args.jobs}",
                      "DISTCC_FALLBACK": "0", "DISTCC_DIR": str(work / "dd"),
                      "DISTCC_LOG": str(log)}
        plain, distcc, compiles = [], [], 0
        for number in range(1, args.rounds + 1):
            plain.append(build(tree, env, "gcc", args.jobs))
            log.write_text("")
            distcc.append(build(tree, distcc_env, "distcc gcc", args.jobs))
            jobs = read_log(log)
            compiles = sum(jobs.remote.values())
            if jobs.local or jobs.refused or jobs.lost:
                print(f"bench_distcc: round {number}: not every compile went remote: "
                      f"{jobs.to_dict()}")
                return 1
            print(f"round {number}: plain {plain[-1][0]:.2f} s ({plain[-1][1]:.2f} s CPU), "
                  f"distcc {distcc[-1][0]:.2f} s ({distcc[-1][1]:.2f} s CPU), "
                  f"{compiles} compiles sent")
    finally:
        if daemon is not None:
            os.killpg(daemon.pid, signal.SIGTERM)
            daemon.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)
    wall_plain = statistics.median(w for w, _c in plain)
    wall_distcc = statistics.median(w for w, _c in distcc)
    cpu_plain = statistics.median(c for _w, c in plain)
    cpu_distcc = statistics.median(c for _w, c in distcc)
    per_compile = (wall_distcc - wall_plain) / compiles * 1000 * args.jobs if compiles else 0.0
    cpu_per_compile = (cpu_distcc - cpu_plain) / compiles * 1000 if compiles else 0.0
    print(f"{args.tarball.name}: {compiles} compiles, make -j{args.jobs}")
    print(f"  plain gcc:          {wall_plain:.2f} s wall, {cpu_plain:.2f} s CPU (children)")
    print(f"  distcc to loopback: {wall_distcc:.2f} s wall, {cpu_distcc:.2f} s CPU (client "
          f"side; the daemon's compiles are not counted)")
    print(f"  ratio: {wall_distcc / wall_plain:.3f} x wall")
    print(f"  overhead per compile: {per_compile:.1f} ms of a slot (wall), "
          f"{cpu_per_compile:+.1f} ms of client CPU")
    verdict = "PASS" if per_compile <= TARGET_MS else "FAIL"
    print(f"{verdict}: per-compile overhead {per_compile:.1f} ms (target <= {TARGET_MS:.0f} ms)")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
