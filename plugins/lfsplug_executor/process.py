"""One attempt of one script: its keeper, its log, its timeouts.

The script runs from an argv list under a *keeper* (:mod:`lfsplug_executor.keeper`), a small
process that is a child subreaper, so that every process the script starts stays its
descendant whatever its session or group (``setsid``, ``set -m``, double forks), and is reaped
by it. The script's leader runs in a session of its own, with stdin closed and umask 022, in a
cgroup v2 of its own where lfsplug's cgroup is writable (:func:`make_cgroup`); it is noted in
``running/`` before it may run. Its output goes to one log file per attempt, its last lines are
kept for the failure report, and each complete line goes to the session (progress, the
dashboard). The attempt ends when the keeper exits: after the script exits and the keeper has
ended what it left running, or after lfsplug asked it to end everything (``--timeout``,
``--silence-timeout``, the build stopped hard): TERM, then KILL after a grace period. The log
names each process ended other than the leader (pid and command). A script with ``unpack=`` or
``workdir=`` has its tarball unpacked and its directory found first, in the same log
(:mod:`lfsplug_executor.workspace`); when that fails the script does not run.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lfsplug import RunningScript, RunRequest, ScriptResult, Status

if TYPE_CHECKING:
    from lfsplug import Session
    from lfsplug_executor.orphans import ProcessBook
    from lfsplug_executor.workspace import Workspace

__all__ = ["KILL_GRACE", "TAIL_LINES", "Child", "Runner", "discard_keepers", "make_cgroup"]

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


#: The keeper that runs each script (:mod:`lfsplug_executor.keeper`, standard library only).
KEEPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keeper.py")


def _cgroup_base() -> str | None:
    """Where lfsplug may make a cgroup v2 per script: its own cgroup's folder, when it is
    writable; else None (the keeper alone then contains the script)."""
    try:
        with open("/proc/self/cgroup") as own:
            path = next((ln[3:].strip() for ln in own if ln.startswith("0::")), None)
        with open("/proc/self/mountinfo") as mounts:
            found = [(f[3], f[4]) for f in (ln.split() for ln in mounts)
                     if "-" in f and f[f.index("-") + 1] == "cgroup2"]
    except OSError:
        return None
    if path is None or not found:
        return None
    root, mount = found[0]
    if not path.startswith(root):
        return None
    base = os.path.join(mount, path[len(root):].lstrip("/"))
    return base if os.access(os.path.join(base, "cgroup.procs"), os.W_OK) else None


_CGROUPS: dict[str, object] = {}


def make_cgroup() -> str | None:
    """A new empty cgroup for one script (``lfsplug-PID-N`` in lfsplug's own), or None."""
    if "base" not in _CGROUPS:
        _CGROUPS["base"] = _cgroup_base()
    base = _CGROUPS["base"]
    if not isinstance(base, str):
        return None
    with _LOCK:
        _SEQ[0] += 1
        path = os.path.join(base, f"lfsplug-{os.getpid()}-{_SEQ[0]}")
    try:
        os.mkdir(path)
    except OSError:
        return None
    return path


_LOCK = threading.Lock()
_SEQ = [0]


class Child:
    """The keeper of one script and what it reports: the script leader's pid, then its exit
    status, what was ended and the resources of the whole tree."""

    def __init__(self, proc: subprocess.Popen[bytes], report: int) -> None:
        self.proc = proc
        self.keeper = proc.pid
        self.report = report
        self.pid = 0
        self.cgroup = False
        self.cgroup_path: str | None = None
        self.final: dict[str, Any] = {}
        self._buffer = b""

    def _record(self) -> dict[str, Any] | None:
        while b"\n" not in self._buffer:
            chunk = os.read(self.report, 65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        found: dict[str, Any] = json.loads(line)
        return found

    def started(self) -> bool:
        """Read the leader's pid; False when the keeper could not start it."""
        first = self._record()
        if first is None:
            return False
        self.pid, self.cgroup = int(first["pid"]), bool(first.get("cgroup"))
        return True

    def signal(self, sig: int) -> None:
        with contextlib.suppress(OSError):
            os.kill(self.keeper, sig)

    def wait(self) -> int:
        """Wait for the keeper (it exits when every process of the script has ended); the
        leader's exit status."""
        self.proc.wait()
        if self.report >= 0:
            with contextlib.suppress(OSError, ValueError):
                self.final = self._record() or {}
            os.close(self.report)
            self.report = -1
            if not self.final:  # the keeper was killed: what of the script can still be found
                self._end_without_keeper()
        code = self.final.get("exit")
        return int(code) if isinstance(code, int) else -signal.SIGKILL

    def _end_without_keeper(self) -> None:
        if self.pid > 0:
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        if self.cgroup_path is not None:
            kill = os.path.join(self.cgroup_path, "cgroup.kill")
            with contextlib.suppress(OSError), open(kill, "w") as handle:
                handle.write("1")
            for _ in range(100):
                with contextlib.suppress(OSError):
                    os.rmdir(self.cgroup_path)
                if not os.path.isdir(self.cgroup_path):
                    break
                time.sleep(0.05)

    def ended(self) -> list[tuple[int, str]]:
        """The processes other than the leader that the keeper ended: (pid, command)."""
        return [(int(pid), str(cmd)) for pid, cmd in self.final.get("ended", [])]

    def resources(self) -> dict[str, float]:
        figures = self.final.get("resources") or {}
        return {str(k): float(v) for k, v in figures.items()}


def _pidfd(pid: int) -> int | None:
    """A descriptor that select() reports readable when ``pid`` exits (Linux 5.3+)."""
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None


Keeper = tuple["subprocess.Popen[bytes]", int, int, "str | None"]
#: Keepers started ahead, by the descriptors they pass on: starting a Python interpreter takes
#: tens of milliseconds, so the next script's keeper starts while a script runs.
_SPARES: dict[tuple[int, ...], list[Keeper]] = {}
_SPARES_LOCK = threading.Lock()


def _spawn_keeper(pass_fds: tuple[int, ...]) -> Keeper:
    """A keeper waiting for its script's command line, environment and folder (on its GO pipe),
    in a cgroup of its own where lfsplug may make one."""
    cgroup = make_cgroup()
    go_read, go_write = os.pipe()
    report_read, report_write = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", KEEPER, str(go_read), str(report_write),
             f"{KILL_GRACE:g}", cgroup or "-"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, umask=0o022, pass_fds=(*pass_fds, go_read, report_write))
    except BaseException:
        for fd in (go_write, report_read):
            os.close(fd)
        if cgroup is not None:
            os.rmdir(cgroup)
        raise
    finally:
        for fd in (go_read, report_write):
            os.close(fd)
    return proc, go_write, report_read, cgroup


def _take_keeper(pass_fds: tuple[int, ...]) -> Keeper:
    """A keeper started ahead for these descriptors, or a new one."""
    with _SPARES_LOCK:
        spares = _SPARES.get(pass_fds)
        spare = spares.pop() if spares else None
    if spare is not None and spare[0].poll() is None:
        return spare
    if spare is not None:
        _discard(spare)
    return _spawn_keeper(pass_fds)


def _ready_keeper(pass_fds: tuple[int, ...]) -> None:
    """Start a keeper for the next script, unless one is waiting already."""
    with _SPARES_LOCK:
        if _SPARES.get(pass_fds):
            return
    try:
        spare = _spawn_keeper(pass_fds)
    except OSError:
        return  # the next script starts its own, and says what fails
    with _SPARES_LOCK:
        _SPARES.setdefault(pass_fds, []).append(spare)


def _discard(spare: Keeper) -> None:
    """End a keeper that got no script: without a command line its leader exits, and so does
    the keeper (removing its cgroup)."""
    proc, go_write, report_read, _ = spare
    for fd in (go_write, report_read):
        with contextlib.suppress(OSError):
            os.close(fd)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def discard_keepers() -> None:
    """End the keepers started ahead, and remove the scripts' cgroups that a keeper could not
    (the kernel frees a cgroup a moment after its last process is reaped): at the end of a
    run."""
    with _SPARES_LOCK:
        spares = [spare for group in _SPARES.values() for spare in group]
        _SPARES.clear()
    for spare in spares:
        _discard(spare)
    base = _CGROUPS.get("base")
    if not isinstance(base, str):
        return
    with contextlib.suppress(OSError):
        left = [entry.path for entry in os.scandir(base)
                if entry.name.startswith(f"lfsplug-{os.getpid()}-") and entry.is_dir()]
        for path in left:
            for attempt in range(40):
                try:
                    os.rmdir(path)
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if attempt == 0:  # still populated: what is in it is a script's
                        with contextlib.suppress(OSError), open(
                                os.path.join(path, "cgroup.kill"), "w") as kill:
                            kill.write("1")
                    time.sleep(0.05)


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
            child = self._start(log)
            if child is None:
                return self._not_run(log, f"the keeper ({KEEPER}) did not start", started)
            req = self.request
            self.running = RunningScript(req.script.name, child.pid, started, req.attempt,
                                         req.log_path)
            self.session.running[req.script.name] = self.running
            try:
                try:
                    self._pump(child.proc, log)
                except BaseException:
                    child.signal(signal.SIGUSR1)  # end everything now
                    child.wait()
                    raise
                if self.ended:
                    child.signal(signal.SIGTERM)
                    self._follow(child, log)
                code = child.wait()
            finally:
                self.session.running.pop(req.script.name, None)
                if self.book is not None:
                    self.book.remove(child.pid)
            self._end_log(log, code)
        return self._result(code, started)

    def _start(self, log: BinaryIO) -> Child | None:
        """Start the script under its keeper; note it in ``running/`` before it may run."""
        req = self.request
        proc, go_write, report_read, cgroup = _take_keeper(self.pass_fds)
        child = self.child = Child(proc, report_read)
        child.cgroup_path = cgroup
        go = open(go_write, "wb")  # noqa: SIM115 (closed on every path: the leader runs or exits)
        try:
            if not child.started():
                go.close()
                child.wait()
                self._copy_rest(proc, log)
                return None
            if self.book is not None:
                self.book.add(child.pid, req.script.name, keeper=proc.pid,
                              cgroup=cgroup if child.cgroup else None)
            order = {"argv": list(req.argv), "env": None if req.env is None else dict(req.env),
                     "cwd": None if req.cwd is None else str(req.cwd)}
            with contextlib.suppress(BrokenPipeError):  # noted: now the script may run
                go.write(json.dumps(order).encode("utf-8", "surrogateescape"))
                go.flush()
        finally:
            with contextlib.suppress(OSError):
                go.close()
        _ready_keeper(self.pass_fds)  # the next script's, starting while this one runs
        return child

    def _copy_rest(self, proc: subprocess.Popen[bytes], log: BinaryIO) -> None:
        assert proc.stdout is not None
        with contextlib.suppress(OSError):
            while self._copy(proc.stdout.fileno(), log):
                pass

    def _follow(self, child: Child, log: BinaryIO) -> None:
        """Log the output of the script's processes while the keeper ends them."""
        assert child.proc.stdout is not None
        fd = child.proc.stdout.fileno()
        while child.proc.poll() is None:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if fd in ready and not self._copy(fd, log):
                break
        self._drain(fd, log)

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
        """The processes the keeper ended, one line each (pid and command), then the log's last
        line: the exit status, and why lfsplug ended the script if it did."""
        ended = self.child.ended() if self.child is not None else []
        more = int(self.child.final.get("more", 0)) if self.child is not None else 0
        how = "still running" if self.ended else "left running by the script"
        lines = [f"# lfsplug: ended pid {pid} ({cmd}), {how}\n" for pid, cmd in ended]
        lines += [f"# lfsplug: ended {more} more processes\n"] if more else []
        self.leftovers = bool(ended) and not self.ended
        if self.leftovers:  # said in the result too: status, reports and the summary show it
            self.notes.append(f"ended {len(ended) + more} process(es) it left running")
        notes = [n for n in (self.ended, self.leftovers and "ended the processes it left "
                             "running") if n]
        log.write(("".join(["\n", *lines])
                   + f"# lfsplug: exit status {code}"
                   + (f" ({'; '.join(str(n) for n in notes)})" if notes else "")
                   + "\n").encode("utf-8", "surrogateescape"))

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
