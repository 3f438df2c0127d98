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

import array
import collections
import contextlib
import errno
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from lfsplug import (
    RunningScript,
    RunRequest,
    ScriptResult,
    Status,
    UsageError,
    disk_full,
    relink,
)

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
#: The most output read after the script exited, from children it left behind.
DRAIN_LIMIT = 1 << 20


def link_latest(log_path: Path) -> None:
    """Point ``logs/RUN/latest`` at ``log_path`` (atomically: a new link renamed over the
    old)."""
    relink(log_path.parent, "latest", log_path.name)


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


class Keeper:
    """One keeper process, the keeper of a slot: it runs its scripts one after another, each
    forked from it (:mod:`lfsplug_executor.keeper`), in its cgroup where lfsplug may make one.
    It talks JSON lines on a unix socket; each script's output pipe is passed along with its
    order."""

    def __init__(self, pass_fds: tuple[int, ...]) -> None:
        self.pass_fds = pass_fds
        self.cgroup = make_cgroup()
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-I", "-S", KEEPER, str(theirs.fileno()), f"{KILL_GRACE:g}",
                 self.cgroup or "-"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                start_new_session=True, umask=0o022, pass_fds=(*pass_fds, theirs.fileno()))
        except BaseException:
            mine.close()
            if self.cgroup is not None:
                os.rmdir(self.cgroup)
            raise
        finally:
            theirs.close()
        self.sock = mine
        self.pid = self.proc.pid
        self.broken = False  # it died, or stopped answering as it should
        self._buffer = b""

    def send(self, record: dict[str, Any], fd: int | None = None) -> bool:
        """Send one order (with ``fd`` attached); False when the keeper is gone."""
        data = (json.dumps(record) + "\n").encode()
        try:
            if fd is None:
                self.sock.sendall(data)
            else:
                rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
                self.sock.sendall(data[self.sock.sendmsg([data], rights):])
        except OSError:
            self.broken = True
        return not self.broken

    def receive(self) -> dict[str, Any] | None:
        """The keeper's next answer (blocking), or None when it is gone."""
        while b"\n" not in self._buffer:
            try:
                chunk = self.sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:
                self.broken = True
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            found = json.loads(line)
        except ValueError:
            found = None
        if not isinstance(found, dict):
            self.broken = True
            return None
        return found

    def answered(self) -> bool:
        """Whether an answer is waiting already (read with the one before it)."""
        return b"\n" in self._buffer

    def usable(self) -> bool:
        return not self.broken and self.proc.poll() is None

    def close(self) -> None:
        """End the keeper: without its socket an idle keeper exits (and a script it still ran
        is ended first)."""
        with contextlib.suppress(OSError):
            self.sock.close()
        try:
            self.proc.wait(timeout=2 * KILL_GRACE + 5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class Child:
    """One script under its keeper: the leader's pid, then its exit status, what the keeper
    ended and the resources of the script's tree."""

    def __init__(self, keeper: Keeper, out: int, pid: int, cgroup: bool) -> None:
        self.keeper = keeper
        self.out = out  # the read end of the script's output pipe
        self.pid = pid
        self.cgroup = cgroup
        self.final: dict[str, Any] = {}

    def end(self, grace: float) -> None:
        """Ask the keeper to end every process of the script (TERM, KILL after ``grace``)."""
        self.keeper.send({"op": "end", "grace": grace})

    def wait(self) -> int:
        """Wait for the keeper's report (it answers when every process of the script has
        ended); the leader's exit status."""
        final = self.keeper.receive()
        if final is None:  # the keeper was killed: what of the script can still be found
            self._end_without_keeper()
        self.final = final or {}
        _give_back(self.keeper)
        return self.exit_code()

    def exit_code(self) -> int:
        """The leader's exit status (negative: the signal that killed it)."""
        code = self.final.get("exit")
        return int(code) if isinstance(code, int) else -signal.SIGKILL

    def _end_without_keeper(self) -> None:
        if self.pid > 0:
            with contextlib.suppress(OSError):
                os.killpg(self.pid, signal.SIGKILL)
        path = self.keeper.cgroup
        if path is not None and self.cgroup:  # the keeper is gone: what is left is the script's
            with contextlib.suppress(OSError), open(os.path.join(path, "cgroup.kill"),
                                                     "w") as handle:
                handle.write("1")

    def ended(self) -> list[tuple[int, str]]:
        """The processes other than the leader that the keeper ended: (pid, command)."""
        return [(int(pid), str(cmd)) for pid, cmd in self.final.get("ended", [])]

    def resources(self) -> dict[str, float]:
        figures = self.final.get("resources") or {}
        return {str(k): float(v) for k, v in figures.items()}


#: Keepers waiting for a script, by the descriptors they pass on (the jobserver's): a keeper
#: serves one slot after another, and one is started ahead for the next slot.
_IDLE: dict[tuple[int, ...], list[Keeper]] = {}
_ALL: list[Keeper] = []
_POOL_LOCK = threading.Lock()


def _take_keeper(pass_fds: tuple[int, ...]) -> Keeper:
    """An idle keeper for these descriptors, or a new one."""
    while True:
        with _POOL_LOCK:
            idle = _IDLE.get(pass_fds)
            keeper = idle.pop() if idle else None
        if keeper is None:
            keeper = Keeper(pass_fds)
            with _POOL_LOCK:
                _ALL.append(keeper)
            return keeper
        if keeper.usable():
            return keeper
        _retire(keeper)


def _give_back(keeper: Keeper) -> None:
    """A keeper whose script has ended waits for the next one (a broken one is retired)."""
    if not keeper.usable():
        _retire(keeper)
        return
    with _POOL_LOCK:
        _IDLE.setdefault(keeper.pass_fds, []).append(keeper)


def _retire(keeper: Keeper) -> None:
    with _POOL_LOCK:
        if keeper in _ALL:
            _ALL.remove(keeper)
    keeper.close()


def _ready_keeper(pass_fds: tuple[int, ...]) -> None:
    """Start a keeper for the next slot, unless one is waiting already: starting a Python
    interpreter takes tens of milliseconds, done while a script runs."""
    with _POOL_LOCK:
        if _IDLE.get(pass_fds):
            return
    try:
        keeper = Keeper(pass_fds)
    except OSError:
        return  # the next script starts its own, and says what fails
    with _POOL_LOCK:
        _ALL.append(keeper)
        _IDLE.setdefault(pass_fds, []).append(keeper)


def discard_keepers() -> None:
    """End the keepers, and remove their cgroups (the kernel frees a cgroup a moment after its
    last process is reaped): at the end of a run."""
    with _POOL_LOCK:
        keepers = list(_ALL)
        _ALL.clear()
        _IDLE.clear()
    for keeper in keepers:
        with contextlib.suppress(OSError):
            keeper.sock.close()  # all at once: they exit side by side
    for keeper in keepers:
        keeper.close()
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
        """Run the script to its end; a log that cannot be written because its disk is full
        ends the script and the build (exit 4), as the state database does."""
        try:
            return self._run()
        except OSError as exc:
            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                raise
            raise UsageError(disk_full(self.request.log_path)) from None

    def _run(self) -> ScriptResult:
        started = time.time()
        with _open_log(self.request.log_path) as log:
            link_latest(self.request.log_path)
            refused = self._prepare(log, started)
            if refused is not None:
                return refused
            child = self._start()
            if isinstance(child, str):
                return self._not_run(log, child, started)
            req = self.request
            self.running = RunningScript(req.script.name, child.pid, started, req.attempt,
                                         req.log_path)
            if child.pid > 0:
                self.session.running[req.script.name] = self.running
            try:
                if child.final:  # never started
                    code = child.exit_code()
                else:
                    try:
                        self._pump(child, log)
                    except BaseException:
                        child.end(0.0)  # end everything now
                        child.wait()
                        raise
                    if self.ended:
                        child.end(KILL_GRACE)
                        self._follow(child, log)
                    code = child.wait()
                self._drain(child.out, log)
            finally:
                os.close(child.out)
                self.session.running.pop(req.script.name, None)
                if self.book is not None:
                    self.book.remove(child.keeper.pid)
            self._end_log(log, code)
        return self._result(code, started)

    def _start(self) -> Child | str:
        """Start the script under a keeper, noted in ``running/`` before it starts. What went
        wrong, when the script could not be started."""
        req = self.request
        keeper = _take_keeper(self.pass_fds)
        if self.book is not None:
            self.book.add(req.script.name, keeper=keeper.pid, cgroup=keeper.cgroup)
        out, out_w = os.pipe()
        order = {"op": "start", "argv": list(req.argv),
                 "env": None if req.env is None else dict(req.env),
                 "cwd": None if req.cwd is None else str(req.cwd)}
        try:
            first = keeper.receive() if keeper.send(order, out_w) else None
        finally:
            os.close(out_w)
        if first is None or ("pid" not in first and "exit" not in first):
            os.close(out)
            if self.book is not None:
                self.book.remove(keeper.pid)
            _give_back(keeper)
            problem = first.get("error") if first is not None else None
            return str(problem or f"its keeper ({KEEPER}) did not start")
        child = self.child = Child(keeper, out, int(first.get("pid") or 0),
                                   bool(first.get("cgroup")))
        if "exit" in first:  # the command could not be started: the keeper's report, at once
            child.final = first
            _give_back(keeper)
        elif self.book is not None and not child.cgroup:  # a cgroup holds the script whole
            self.book.started(keeper.pid, child.pid)
        _ready_keeper(self.pass_fds)  # the next slot's, starting while this script runs
        return child

    def _follow(self, child: Child, log: BinaryIO) -> None:
        """Log the output of the script's processes while the keeper ends them."""
        watched = [child.out, child.keeper.sock.fileno()]
        while not child.keeper.answered():
            ready, _, _ = select.select(watched, [], [], MAX_WAIT)
            if child.out in ready and not self._copy(child.out, log):
                watched.remove(child.out)
            if child.keeper.sock.fileno() in ready:
                return

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

    def _pump(self, child: Child, log: BinaryIO) -> None:
        """Copy output to the log until the script has ended (its keeper answers), a timeout
        passes or the build is stopped hard."""
        req = self.request
        fd, answer = child.out, child.keeper.sock.fileno()
        watched = [w for w in (fd, answer, self.stop_fd) if w is not None]
        now = time.monotonic()
        deadline = now + req.timeout if req.timeout else None
        self.last_output = now
        while True:
            wait = MAX_WAIT
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
            ready, _, _ = select.select(watched, [], [], 0 if child.keeper.answered() else wait)
            if child.keeper.answered():
                ready.append(answer)
            if fd in ready:
                if self._copy(fd, log):
                    self.last_output = time.monotonic()
                else:  # every writer closed it: the keeper's answer tells the end
                    watched.remove(fd)
            if answer in ready:
                self._drain(fd, log)
                return

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
