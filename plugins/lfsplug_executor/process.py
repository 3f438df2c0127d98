"""One attempt of one script: its process group, its log, its timeouts.

The script runs from an argv list in a session of its own (so that its process group holds
everything it starts), with stdin closed and umask 022. Its output goes to one log file per
attempt, its last lines are kept for the failure report, and each complete line goes to the
session (progress, the dashboard). The attempt ends when the script exits (not when its output
pipe closes: a background child may hold it), when ``--timeout`` or ``--silence-timeout``
passes, or when the build is stopped hard; then the whole group ends: TERM, then KILL after a
grace period. Whatever the script left running ends with it. A script with ``unpack=`` or
``workdir=`` has its tarball unpacked and its directory found first, in the same log
(:mod:`lfsplug_executor.workspace`); when that fails the script does not run.
"""

from __future__ import annotations

import collections
import contextlib
import os
import resource
import select
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from lfsplug import RunningScript, RunRequest, ScriptResult, Status

if TYPE_CHECKING:
    from lfsplug import Session
    from lfsplug_executor.orphans import ProcessBook
    from lfsplug_executor.workspace import Workspace

__all__ = ["KILL_GRACE", "TAIL_LINES", "Child", "Runner", "kill_group"]

TAIL_LINES = 50
KILL_GRACE = 5.0
READ_SIZE = 65536
#: The longest single select() wait (very long timeouts overflow it on some platforms).
MAX_WAIT = 3600.0
#: How often to look for the script's exit where the kernel has no pidfd (before Linux 5.3).
POLL = 0.1
#: The most output read after the script exited, from children it left behind.
DRAIN_LIMIT = 1 << 20


def link_latest(log_path: Path) -> None:
    """Point ``logs/latest`` at ``log_path`` (atomically: a new link renamed over the old)."""
    folder = os.fspath(log_path.parent)
    tmp = os.path.join(folder, f".latest.{os.getpid()}.{threading.get_ident()}")
    try:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)  # left by a process that died between the two calls below
        os.symlink(log_path.name, tmp)
        os.replace(tmp, os.path.join(folder, "latest"))
    except OSError:
        pass  # a file system without symlinks: the logs are still there


def _open_log(path: Path) -> BinaryIO:
    """The log file, its folder made the first time it is missing."""
    try:
        return path.open("wb")
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return path.open("wb")


class Child:
    """The script's process: reaped with ``wait4``, so that the kernel's exact accounting of
    it and every descendant it waited for (CPU time, peak RSS, blocks read and written) is
    kept in :attr:`usage`."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.pid = proc.pid
        # The kernel counts in a child's peak RSS the memory of the process that started it
        # (the address space it ran in before exec), so a figure up to our own peak at the
        # start tells nothing of the script.
        self.spawner_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        self.usage: resource.struct_rusage | None = None

    def poll(self, block: bool = False) -> int | None:
        """The exit status once the leader has exited (reaping it), else None."""
        if self.proc.returncode is not None:
            return self.proc.returncode
        try:
            pid, status, usage = os.wait4(self.pid, 0 if block else os.WNOHANG)
        except ChildProcessError:  # reaped elsewhere: no accounting, but the status is known
            return self.proc.wait()
        if pid == 0:
            return None
        self.usage = usage
        self.proc.returncode = os.waitstatus_to_exitcode(status)
        return self.proc.returncode

    def wait(self) -> int:
        code = self.poll(block=True)
        assert code is not None
        return code

    def group_alive(self) -> bool:
        self.poll()  # reap the leader, or its zombie would keep the group alive
        try:
            os.killpg(self.pid, 0)
        except OSError:
            return False
        return True

    def resources(self) -> dict[str, float]:
        usage = self.usage
        if usage is None:
            return {}
        figures = {"utime": round(usage.ru_utime, 6), "stime": round(usage.ru_stime, 6),
                   "inblock": float(usage.ru_inblock), "oublock": float(usage.ru_oublock)}
        if usage.ru_maxrss > self.spawner_rss:
            figures["maxrss"] = float(usage.ru_maxrss)
        return figures


def kill_group(child: Child, grace: float = KILL_GRACE) -> int:
    """End every process of the child's group: TERM, then KILL what is left after ``grace`` s.

    The group outlives its leader while any child lives, so this waits for the group, not
    just for the leader; returns the leader's exit status.
    """
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(child.pid, sig)
        except OSError:
            break
        deadline = time.monotonic() + grace
        while child.group_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not child.group_alive():
            break
    return child.wait()


def _pidfd(pid: int) -> int | None:
    """A descriptor that select() reports readable when ``pid`` exits (Linux 5.3+)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


class Runner:
    """Runs one attempt: pumps output into the log and the tail, enforces the timeouts.

    ``stop_fd`` becomes readable when the build is stopped hard (a second interrupt, a disk
    HALT); ``pass_fds`` are inherited by the script (the make jobserver's pipe); ``book``
    records the process group while it runs, so that a later lfsplug can end it if this one
    dies; ``workspace`` unpacks the script's tarball and finds its directory before it runs,
    and cleans up after.
    """

    def __init__(self, session: Session, request: RunRequest, *, stop_fd: int | None = None,
                 pass_fds: tuple[int, ...] = (), book: ProcessBook | None = None,
                 workspace: Workspace | None = None) -> None:
        self.session = session
        self.request = request
        self.stop_fd = stop_fd
        self.pass_fds = pass_fds
        self.book = book
        self.workspace = workspace
        self.notes: list[str] = []  # what the result's message adds (the workspace kept)
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.partial = b""
        self.ended: str | None = None  # why lfsplug ended the script, if it did
        self.leftovers = False
        self.running: RunningScript | None = None
        self.child: Child | None = None

    def run(self) -> ScriptResult:
        started = time.time()
        with _open_log(self.request.log_path) as log:
            link_latest(self.request.log_path)
            refused = self._prepare(log, started)
            if refused is not None:
                return refused
            req = self.request
            proc = subprocess.Popen(
                req.argv, cwd=req.cwd, env=req.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                umask=0o022, pass_fds=self.pass_fds,
            )
            child = self.child = Child(proc)
            if self.book is not None:
                self.book.add(proc.pid, req.script.name)
            self.running = RunningScript(req.script.name, proc.pid, started, req.attempt,
                                         req.log_path)
            self.session.running[req.script.name] = self.running
            try:
                try:
                    self._pump(proc, log)
                except BaseException:
                    kill_group(child, grace=1.0)
                    raise
                if self.ended:
                    code = kill_group(child)
                else:
                    code = child.wait()
                    # children the script left running (holding its output, or not) end too
                    self.leftovers = child.group_alive()
                    if self.leftovers:
                        kill_group(child)
            finally:
                self.session.running.pop(req.script.name, None)
                if self.book is not None:
                    self.book.remove(proc.pid)
            self._end_log(log, code)
        return self._result(code, started)

    def _prepare(self, log: BinaryIO, started: float) -> ScriptResult | None:
        """Unpack and find the directory to run in (``unpack=``, ``workdir=``); a failed
        result when that fails (the script does not run), else None."""
        if self.workspace is None:
            return None
        from lfsplug_executor.workspace import WorkspaceError

        try:
            self.request = self.workspace.prepare(self.request, log)
        except WorkspaceError as exc:
            return self._not_run(log, str(exc), started)
        return None

    def _end_log(self, log: BinaryIO, code: int) -> None:
        """After the script: its last line passed on, the workspace cleaned up, the trailer."""
        unfinished = bool(self.partial)
        if unfinished:
            self._lines(b"\n")
        if self.workspace is not None:
            if unfinished:
                log.write(b"\n")  # the workspace's note starts a line of its own
            note = self.workspace.finish(code == 0 and not self.ended, log)
            self.notes.extend([note] if note else [])
        self._trailer(log, code)

    def _not_run(self, log: BinaryIO, problem: str, started: float) -> ScriptResult:
        """The failed result of a script that did not run, the reason in its log."""
        req = self.request
        message = f"not run: {problem}"
        log.write(f"lfsplug: {message}\n".encode("utf-8", "surrogateescape"))
        return ScriptResult(req.script.name, Status.FAILED, started=started,
                            finished=time.time(), attempts=req.attempt, log_path=req.log_path,
                            tail=[message], message=message)

    def _pump(self, proc: subprocess.Popen[bytes], log: BinaryIO) -> None:
        """Copy output to the log until the script exits, a timeout passes or the build is
        stopped hard."""
        assert proc.stdout is not None
        req = self.request
        fd = proc.stdout.fileno()
        pidfd = _pidfd(proc.pid)
        watched = [w for w in (fd, pidfd, self.stop_fd) if w is not None]
        now = time.monotonic()
        deadline = now + req.timeout if req.timeout else None
        self.last_output = now
        try:
            while True:
                wait = MAX_WAIT if pidfd is not None else POLL
                now = time.monotonic()
                if deadline is not None:
                    if now >= deadline:
                        self.ended = f"timed out after {req.timeout:g} s"
                        return
                    wait = min(wait, deadline - now)
                if req.silence_timeout:
                    quiet_until = self.last_output + req.silence_timeout
                    if now >= quiet_until:
                        self.ended = f"no output for {req.silence_timeout:g} s"
                        return
                    wait = min(wait, quiet_until - now)
                if self.session.hard_stop:
                    self.ended = f"ended: {self.session.shouldstop or 'the build was stopped'}"
                    return
                ready, _, _ = select.select(watched, [], [], wait)
                if fd in ready:
                    if not self._copy(fd, log):
                        return  # end of output: every writer has exited
                    self.last_output = time.monotonic()
                exited = pidfd in ready if pidfd is not None else proc.poll() is not None
                if exited:
                    self._drain(fd, log)
                    return
        finally:
            if pidfd is not None:
                os.close(pidfd)

    def _copy(self, fd: int, log: BinaryIO) -> bool:
        chunk = os.read(fd, READ_SIZE)
        if chunk:
            log.write(chunk)
            self._lines(chunk)
        return bool(chunk)

    def _drain(self, fd: int, log: BinaryIO) -> None:
        """Read what the script wrote before it exited, without waiting for its children."""
        os.set_blocking(fd, False)
        read = 0
        try:
            while read < DRAIN_LIMIT and self._copy(fd, log):
                read += READ_SIZE
        except BlockingIOError:
            pass

    def _lines(self, chunk: bytes) -> None:
        data = self.partial + chunk
        *complete, self.partial = data.split(b"\n")
        if complete:
            lines = [raw.decode("utf-8", errors="replace") for raw in complete]
            self.tail.extend(lines)
            if self.running is not None:
                self.running.last_line = lines[-1]
            self.session.script_output(self.request.script, lines)

    def _trailer(self, log: BinaryIO, code: int) -> None:
        """The log's last line: the exit status, and why lfsplug ended the script if it did."""
        notes = [n for n in (self.ended, self.leftovers and "ended the processes it left "
                             "running") if n]
        log.write((f"\n# lfsplug: exit status {code}"
                   + (f" ({'; '.join(str(n) for n in notes)})" if notes else "")
                   + "\n").encode("utf-8"))

    def _result(self, code: int, started: float) -> ScriptResult:
        req = self.request
        ok = code == 0 and not self.ended
        return ScriptResult(
            name=req.script.name,
            status=Status.PASSED if ok else Status.FAILED,
            exit_code=code if code >= 0 else None,
            signal=-code if code < 0 else None,
            started=started,
            finished=time.time(),
            attempts=req.attempt,
            log_path=req.log_path,
            tail=list(self.tail),
            message="; ".join(n for n in (self.ended, *self.notes) if n) or None,
            resources=self.child.resources() if self.child else {},
        )
