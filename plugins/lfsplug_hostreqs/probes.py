"""Running host programs safely: argv lists, never a shell; a timeout; output as text.

A probe never raises for what a host program does: a program that cannot be started, fails,
hangs or prints nonsense becomes a :class:`Probe` record that says so, and the checks turn that
into a finding. Probes run in threads (:func:`run_all`), since each one mostly waits.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TypeVar

__all__ = ["Probe", "probe", "run_all", "tool_env"]

T = TypeVar("T")

#: At most this much of a program's output is kept (a broken tool may print without end).
OUTPUT_LIMIT = 64 * 1024


@dataclass(frozen=True)
class Probe:
    """What running ``argv`` did: its exit status and output, or why it did not run."""

    argv: tuple[str, ...]
    returncode: int | None = None
    output: str = ""
    #: why there is no exit status: "timeout" or the OS error that stopped it from starting
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.returncode == 0

    def failure(self) -> str:
        """One line on how the program failed (for a message)."""
        if self.error is not None:
            return self.error
        return f"exited with status {self.returncode}"


def tool_env() -> dict[str, str]:
    """The environment tools run in: this one, in the C locale (as the book's script sets
    ``LC_ALL=C``), so that output is in English and versions are where we look for them."""
    env = dict(os.environ)
    env.update(LC_ALL="C", LANG="C", LANGUAGE="C")
    return env


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(OSError):  # the group may be gone already
        os.killpg(proc.pid, signal.SIGKILL)


def probe(argv: Sequence[str], timeout: float, stdin: bytes | None = None,
          cwd: str | None = None) -> Probe:
    """Run ``argv`` (stderr into stdout, as the book's ``2>&1``) and record what happened.

    The program gets a session of its own, so that a timeout ends it and anything it started;
    ``stdin`` must be small (it is written before the output is read).
    """
    args = tuple(argv)
    try:
        proc = subprocess.Popen(
            args, stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=tool_env(), cwd=cwd,
            start_new_session=True,
        )
    except OSError as exc:
        return Probe(args, error=f"cannot be run: {exc.strerror or exc}")
    try:
        return _finish(proc, args, timeout, stdin)
    finally:
        if proc.returncode is None:
            _kill_group(proc)
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _finish(proc: subprocess.Popen[bytes], args: tuple[str, ...], timeout: float,
            stdin: bytes | None) -> Probe:
    deadline = time.monotonic() + timeout
    if proc.stdin is not None:
        try:
            proc.stdin.write(stdin or b"")
        except OSError:
            pass  # it exited without reading: its status says why
        finally:
            proc.stdin.close()
    data, problem = _read_bounded(proc, deadline, timeout)
    text = data.decode("utf-8", "replace")
    if problem is None:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            problem = f"did not finish within {timeout:g} s"
    if problem is not None:
        _kill_group(proc)
        proc.wait()
        return Probe(args, output=text, error=problem)
    return Probe(args, proc.returncode, text)


def _read_bounded(
    proc: subprocess.Popen[bytes], deadline: float, timeout: float
) -> tuple[bytes, str | None]:
    """Read the output until end of file, the deadline or :data:`OUTPUT_LIMIT` bytes; return it
    and what went wrong (None when the program closed its output in time)."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = bytearray()
    while True:
        remaining = deadline - time.monotonic()
        ready = select.select([fd], [], [], remaining)[0] if remaining > 0 else []
        if not ready:
            return bytes(data), f"did not finish within {timeout:g} s"
        chunk = os.read(fd, 65536)
        if not chunk:
            return bytes(data), None
        data += chunk
        if len(data) > OUTPUT_LIMIT:
            return bytes(data[:OUTPUT_LIMIT]), f"printed more than {OUTPUT_LIMIT // 1024} KiB"


def run_all(tasks: Sequence[Callable[[], T]], workers: int = 16) -> list[T]:
    """Call every task in a pool of threads; the results in the order of ``tasks``."""
    if not tasks:
        return []
    with ThreadPoolExecutor(max_workers=min(workers, len(tasks)),
                            thread_name_prefix="lfsplug-hostreqs") as pool:
        futures = [pool.submit(task) for task in tasks]
        return [future.result() for future in futures]
