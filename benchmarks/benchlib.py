"""What the benchmarks share: a scratch folder, and timing a command that must succeed."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["scratch", "timed"]


@contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A folder made in the temporary directory, removed afterwards unless ``keep`` (the
    benchmarks' ``--keep``, to look at what was built)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield root
    finally:
        if keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def timed(argv: list[str], cwd: Path, env: dict[str, str] | None = None) -> float:
    """Run ``argv`` (output discarded) and return its wall time; a failure ends the benchmark
    with the command and the end of what it said."""
    started = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        sys.exit(f"{shlex.join(argv[:6])} failed ({proc.returncode}): "
                 f"{proc.stderr.decode(errors='replace')[-2000:]}")
    return elapsed
