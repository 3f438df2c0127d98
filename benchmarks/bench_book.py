"""Benchmark: a dry run of the whole LFS book, straight from its XML (lfsplug-book).

``lfsplug run BOOK --dry-run`` reads the book (entities, XIncludes, profiling), writes a script per
page, discovers, validates (bash -n, lint, shellcheck, the book's dependencies) and prints every
script's command line, for the whole book. Timed twice: cold (a fresh state directory: every
script written and validated) and warm (the scripts unchanged, validation from its cache).

The peer is the bound that no tool reading the book can beat: lxml parsing ``index.xml`` with its
entities and XIncludes, alone, in this process. Target: the cold dry run under 5 s.

    python benchmarks/bench_book.py [--book PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from benchlib import scratch, timed

TARGET = 5.0
BOOK = Path(__file__).resolve().parents[2] / "shared" / "data" / "lfs-book"
CONFIG = """host_check = "off"
[book]
kernel_config = "{root}/kernel-config"
[book.values]
timezone = "UTC"
paper_size = "A4"
locale = "C.UTF-8"
hostname = "lfs"
domain = "example.org"
ip = "10.0.2.9"
gateway = "10.0.2.2"
nameserver1 = "10.0.2.3"
nameserver2 = "10.0.2.4"
root_device = "sda2"
swap_device = "sda3"
root_fstype = "ext4"
"""


def parse_only(book: Path) -> float:
    from lfsplug_book.source import Profile, load

    started = time.perf_counter()
    load(book, Profile("sysv", "x86_64"))
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--book", type=Path, default=BOOK)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (median)")
    args = parser.parse_args(argv)
    if not (args.book / "index.xml").is_file():
        sys.exit(f"no LFS book at {args.book} (give --book PATH)")
    try:
        import lfsplug_book  # noqa: F401
    except ImportError:
        sys.exit("needs the plugin: pip install -e contrib/lfsplug-book")
    cold: list[float] = []
    warm: list[float] = []
    bound: list[float] = []
    with scratch("lfsplug-bench-book-") as root:
        (root / "kernel-config").write_text("")
        (root / "lfsplug.toml").write_text(CONFIG.format(root=root))
        for i in range(args.repeat):
            state = root / f"state{i}"
            argv_run = [sys.executable, "-m", "lfsplug", "-c", str(root / "lfsplug.toml"), "run",
                        str(args.book), "--dry-run", "--plain", "--lfs", str(root / "lfs"),
                        "--state-dir", str(state)]
            cold.append(timed(argv_run, root))
            warm.append(timed(argv_run, root))
            bound.append(parse_only(args.book))
    med = {name: statistics.median(v) for name, v in
           (("cold", cold), ("warm", warm), ("bound", bound))}
    print(f"the LFS book at {args.book}, median of {args.repeat}")
    print(f"  reading the XML alone (lxml, the bound)   {med['bound']:6.2f} s")
    print(f"  lfsplug run BOOK --dry-run, cold          {med['cold']:6.2f} s  "
          f"{med['cold'] / med['bound']:5.1f} x the bound")
    print(f"  lfsplug run BOOK --dry-run, warm          {med['warm']:6.2f} s  "
          f"{med['warm'] / med['bound']:5.1f} x the bound")
    ok = med["cold"] < TARGET
    print(f"target: the cold dry run under {TARGET:.0f} s: {med['cold']:.2f} s  "
          f"{'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
