"""The keeper: the small process between lfsplug and its scripts, that nothing of a script
escapes.

lfsplug starts ``python -I -S keeper.py SOCKET GRACE CGROUP`` (standard library only, no
lfsplug import) once per slot of the run, and the keeper runs that slot's scripts one after
another (a Python interpreter per script would cost tens of milliseconds). It
makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``, Linux 3.4+), so every
process a script orphans (a daemon started with ``setsid``, ``setsid -f``, ``nohup``, a double
fork, a job of ``set -m``) is re-parented to the keeper instead of init: while a script runs, the
keeper's descendants in ``/proc`` are exactly that script's processes, whatever their session or
group, and the keeper reaps them all, so no zombie lingers (lfsplug may be PID 1 of a
container). Where lfsplug could make one, the keeper moves itself once into the cgroup
``CGROUP`` (``-``: none), and its scripts are born in it.

The conversation is JSON lines on the unix socket ``SOCKET``:

- lfsplug notes the script in ``running/`` (naming this keeper and its cgroup), then sends
  ``{"op": "start", "argv", "env", "cwd"}`` with the write end of the script's output pipe
  attached (``SCM_RIGHTS``). The keeper starts the script's leader with ``posix_spawn`` in a
  session of its own, its output on that pipe, and answers ``{"pid", "cgroup"}``; lfsplug adds
  the leader's pid to the note.
- When the leader exits, the keeper ends what it left running (TERM, then KILL after ``GRACE``
  seconds); ``{"op": "end", "grace": G}`` ends everything, the leader too, the same way. Then
  it answers ``{"exit", "ended", "more", "killed", "resources"}``: the leader's exit status, what
  it ended (pid and command) and the resources of that script's tree alone. A command that
  cannot be started gets that answer at once (exit status 127, the reason in its output).
- End of file from lfsplug (lfsplug exited, or was killed): an idle keeper exits; a script
  running is ended first, everything it started with it, as bubblewrap's ``--die-with-parent``.

SIGTERM ends the running script the same way and then the keeper (a later lfsplug ends an
orphaned keeper so); SIGUSR1 kills the running script's every process at once (a third Ctrl-C).
"""

from __future__ import annotations

import array
import collections
import contextlib
import ctypes
import errno
import json
import os
import resource
import select
import signal
import socket
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
#: The most processes named in the report (the rest are counted).
NAMED = 50
#: The signals the keeper acts on (read from its wake-up pipe).
WAKE = (signal.SIGCHLD, signal.SIGTERM, signal.SIGUSR1)
#: Whether the kernel made the keeper a child subreaper.
SUBREAPER = [False]


def subreaper() -> bool:
    """Make this process a child subreaper; False where the kernel (or libc) cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def descendants(root: int) -> dict[int, str]:
    """The live (not zombie) descendants of ``root``: pid -> command line."""
    parent: dict[int, int] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                data = stat.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        if len(fields) > 1 and fields[0] != b"Z":
            parent[int(name)] = int(fields[1])
    found: dict[int, str] = {}
    todo = [root]
    children: dict[int, list[int]] = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    while todo:
        for pid in children.get(todo.pop(), ()):
            found[pid] = ""
            todo.append(pid)
    for pid in found:
        found[pid] = command(pid)
    return found


def command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            raw = handle.read(4096)
    except OSError:
        return "?"
    return raw.rstrip(b"\0").replace(b"\0", b" ").decode("utf-8", "replace")[:200] or "?"


def find_program(name: bytes, path: bytes | None) -> bytes:
    """The file that ``execvp`` would run for ``name`` with the script's ``PATH`` (OSError if
    none). Looked up afresh for each script: a program a script installed is found by the
    next."""
    if b"/" in name:
        return name
    error = errno.ENOENT
    for folder in (path if path is not None else os.defpath.encode()).split(b":"):
        candidate = os.path.join(folder or b".", name)
        if os.path.isfile(candidate):
            if os.access(candidate, os.X_OK):
                return candidate
            error = errno.EACCES
    raise OSError(error, os.strerror(error))


def members(cgroup: str | None) -> list[int]:
    """The processes in ``cgroup`` (none without one)."""
    if cgroup is None:
        return []
    try:
        with open(os.path.join(cgroup, "cgroup.procs")) as procs:
            pids = [int(line) for line in procs if line.strip()]
    except (OSError, ValueError):
        return []
    return [pid for pid in pids if state(pid) not in ("Z", "")]


def state(pid: int) -> str:
    """The process's state letter (``Z``: a zombie), or "" when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return ""
    return data[data.rfind(b")") + 2:][:1].decode()


def join_cgroup(cgroup: str | None) -> bool:
    """Move this process into ``cgroup``; False where it cannot."""
    if cgroup is None:
        return False
    try:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as procs:
            procs.write("0")
    except OSError:
        return False
    return True


class Keeper:
    def __init__(self, sock: socket.socket, grace: float, cgroup: str | None) -> None:
        self.sock, self.grace = sock, grace
        self.me = os.getpid()
        self.joined = join_cgroup(cgroup)
        self.cgroup = cgroup if self.joined else None
        self.wake_r, self.wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(self.wake_w, warn_on_full_buffer=False)
        for sig in WAKE:
            signal.signal(sig, lambda signum, frame: None)
        self.buffer = b""
        self.fds: list[int] = []  # received with the orders, oldest first
        self.inbox: collections.deque[dict[str, object]] = collections.deque()
        self.closed = False  # lfsplug is gone
        self.exiting = False  # SIGTERM: end the script, then the keeper
        self.peak = -1  # memory.peak, opened to be reset per script (-2: it cannot be)
        self.reset()

    def reset(self) -> None:
        """Forget the last script."""
        self.leader = 0
        self.status: int | None = None
        self.ended: dict[int, str] = {}
        self.killed = False
        self.stop: float | None = None  # end everything, with this grace
        self.usage = {"utime": 0.0, "stime": 0.0, "inblock": 0.0, "oublock": 0.0,
                      "maxrss": 0.0}
        self.before: dict[str, float] = {}

    # -- the conversation ------------------------------------------------------------------

    def send(self, record: dict[str, object]) -> None:
        if self.closed:
            return
        try:
            self.sock.sendall((json.dumps(record) + "\n").encode())
        except OSError:
            self.closed = True

    def receive(self) -> None:
        """Read what lfsplug sent: orders (and the descriptors attached), or its end."""
        try:
            data, ancillary, _, _ = self.sock.recvmsg(
                1 << 16, socket.CMSG_SPACE(4 * array.array("i").itemsize))
        except InterruptedError:
            return
        except OSError:
            data, ancillary = b"", []
        for level, kind, raw in ancillary:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(raw[:len(raw) - len(raw) % fds.itemsize])
                self.fds.extend(fds)
        if not data:
            self.closed = True
            return
        self.buffer += data
        *lines, self.buffer = self.buffer.split(b"\n")
        self.inbox.extend(json.loads(line) for line in lines if line.strip())

    def pause(self, timeout: float | None) -> None:
        """Wait up to ``timeout`` s (None: until something happens) for an order or a signal,
        and take them in."""
        watched = [self.wake_r] if self.closed else [self.wake_r, self.sock.fileno()]
        try:
            ready, _, _ = select.select(watched, [], [], timeout)
        except InterruptedError:
            ready = []
        if self.wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                for signum in os.read(self.wake_r, 512):
                    if signum == signal.SIGTERM:
                        self.exiting = True
                        self.stop = self.grace if self.stop is None else self.stop
                    elif signum == signal.SIGUSR1 and self.leader:
                        self.stop = 0.0
            self.reap()
        if self.sock.fileno() in ready:
            self.receive()
        if self.closed and self.leader and self.stop is None:
            self.stop = self.grace  # lfsplug died: its script does not run on
        while self.inbox:
            self.order(self.inbox.popleft())

    def order(self, order: dict[str, object]) -> None:
        op = order.get("op")
        if op == "start" and not self.leader:
            self.start(order)
        elif op == "end" and self.leader:
            grace = order.get("grace")
            grace = float(grace) if isinstance(grace, (int, float)) else self.grace
            self.stop = grace if self.stop is None else min(self.stop, grace)
            self.killed = True

    # -- one script ------------------------------------------------------------------------

    def start(self, order: dict[str, object]) -> None:
        """Start the script's leader (``posix_spawn``: no copy of the keeper is made) in a
        session of its own, its output on the pipe that came with the order."""
        out = self.fds.pop(0) if self.fds else -1
        given, env, cwd = order.get("argv"), order.get("env"), order.get("cwd")
        argv = [os.fsencode(str(arg)) for arg in given] if isinstance(given, list) else []
        if out < 0 or not argv:
            self.fds, stray = [], self.fds
            for fd in (out, *stray):
                if fd >= 0:
                    os.close(fd)
            self.send({"error": "the order came without its command line or output pipe"})
            return
        environ = ({os.fsencode(str(k)): os.fsencode(str(v)) for k, v in env.items()}
                   if isinstance(env, dict) else os.environb)
        self.before = self.counters()
        try:
            program = find_program(argv[0], environ.get(b"PATH"))
            if cwd is not None:
                os.chdir(str(cwd))  # the keeper is single-threaded: back to / just below
            self.leader = os.posix_spawn(
                program, argv, environ, setsid=True,
                setsigdef=(signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT),
                file_actions=[(os.POSIX_SPAWN_DUP2, out, 1), (os.POSIX_SPAWN_DUP2, out, 2),
                              (os.POSIX_SPAWN_CLOSE, out)])
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.write(out, b"lfsplug: cannot run " + argv[0] + b": "
                         + os.fsencode(exc.strerror or str(exc)) + b"\n")
            self.status = 127
        finally:
            os.close(out)
            with contextlib.suppress(OSError):
                os.chdir("/")
        if self.leader:
            self.send({"pid": self.leader, "cgroup": self.joined})
        else:  # nothing started: the report at once
            self.finish()

    def reap(self) -> None:
        """Reap every child that exited; each one's resources count for the script."""
        while True:
            try:
                pid, status, usage = os.wait4(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            figures = self.usage
            figures["utime"] += usage.ru_utime
            figures["stime"] += usage.ru_stime
            figures["inblock"] += usage.ru_inblock
            figures["oublock"] += usage.ru_oublock
            figures["maxrss"] = max(figures["maxrss"], float(usage.ru_maxrss))
            if pid == self.leader:
                self.status = os.waitstatus_to_exitcode(status)

    def run(self) -> None:
        while True:
            if not self.leader:
                if self.closed or self.exiting:
                    return
                self.pause(None)
            elif self.stop is not None or self.status is not None:
                self.end(self.grace if self.stop is None else self.stop)
                self.finish()
            else:
                self.pause(3600.0)

    def end(self, grace: float) -> None:
        """End every descendant: TERM (and CONT), then KILL what is left after ``grace``."""
        left = self.alive()
        if left and grace > 0:
            for sig in (signal.SIGTERM, signal.SIGCONT):
                for pid in left:
                    with contextlib.suppress(OSError):
                        os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while self.alive() and time.monotonic() < deadline:
                self.pause(0.02)
                if self.stop == 0.0:
                    break
        for _ in range(10000):
            left = self.alive()
            if not left:
                break
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            self.pause(0.01)
        self.reap()

    def alive(self) -> dict[int, str]:
        """The script's live processes: the keeper's descendants and, where it has one, the
        rest of its cgroup (the net where the kernel refused the subreaper)."""
        self.reap()
        # a subreaper without children has no descendants at all (an orphan of its tree would
        # have been re-parented to it): no need to read the whole of /proc
        found = descendants(self.me) if self.children() else {}
        for pid in members(self.cgroup):
            if pid != self.me and pid not in found:
                found[pid] = command(pid)
        for pid, cmd in found.items():
            if pid != self.leader and (cmd != "?" or pid not in self.ended):
                self.ended[pid] = cmd  # the latest: a fork that has since run exec
        return found

    def children(self) -> bool:
        """Whether the keeper may have a descendant (always, where it is no subreaper)."""
        if not SUBREAPER[0]:
            return True
        try:
            os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
        except ChildProcessError:
            return False
        return True

    def counters(self) -> dict[str, float]:
        """The keeper's own CPU time and the cgroup's counters, as the script starts; the
        cgroup's memory peak is reset where the kernel can (Linux 6.12+)."""
        figures = own_figures()
        figures.update(cgroup_figures(self.cgroup))
        if self.cgroup is not None and self.peak < 0:
            with contextlib.suppress(OSError):
                self.peak = os.open(os.path.join(self.cgroup, "memory.peak"), os.O_RDWR)
        if self.peak >= 0:
            try:
                os.write(self.peak, b"reset\n")
            except OSError:
                os.close(self.peak)
                self.peak = -2  # no reset here: no per-script peak either
        return figures

    def finish(self) -> None:
        before = self.before
        figures = {key: round(value, 6) for key, value in self.usage.items()
                   if key != "maxrss"}
        if self.usage["maxrss"] > before.get("own_maxrss", 0.0):
            figures["maxrss"] = self.usage["maxrss"]  # else: the size of the keeper's fork
        own = own_figures()  # the keeper's own time is in its cgroup too: taken off
        spent_own = {f"cgroup_{k}_usec": own[k] - before.get(k, 0.0)
                     for k in ("usage", "user", "system")}
        for key, value in cgroup_figures(self.cgroup).items():
            if key != "cgroup_memory_peak":
                spent = value - before.get(key, 0.0) - spent_own.get(key, 0.0)
                figures[key] = max(0.0, round(spent))
        if self.peak >= 0:
            with contextlib.suppress(OSError, ValueError):
                figures["cgroup_memory_peak"] = float(os.pread(self.peak, 64, 0).strip())
        named = sorted(self.ended.items())
        self.send({"exit": self.status if self.status is not None else -signal.SIGKILL,
                   "ended": [[pid, cmd] for pid, cmd in named[:NAMED]],
                   "more": max(0, len(named) - NAMED), "killed": self.killed,
                   "resources": figures})
        self.reset()


def own_figures() -> dict[str, float]:
    """The keeper's own CPU time (microseconds) and peak memory (KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    return {"usage": (own.ru_utime + own.ru_stime) * 1e6, "user": own.ru_utime * 1e6,
            "system": own.ru_stime * 1e6, "own_maxrss": float(own.ru_maxrss)}


def cgroup_figures(cgroup: str | None) -> dict[str, float]:
    """The cgroup's totals, where its files exist: CPU (``cpu.stat``), peak memory
    (``memory.peak``, with the memory controller), bytes read and written (``io.stat``)."""
    figures: dict[str, float] = {}
    if cgroup is None:
        return figures
    with contextlib.suppress(OSError, ValueError), open(os.path.join(cgroup, "cpu.stat")) as f:
        stat = dict(line.split() for line in f if line.strip())
        for key in ("usage_usec", "user_usec", "system_usec"):
            if key in stat:
                figures[f"cgroup_{key}"] = float(stat[key])
    with contextlib.suppress(OSError, ValueError), open(os.path.join(cgroup, "memory.peak")) as f:
        figures["cgroup_memory_peak"] = float(f.read().strip())
    with contextlib.suppress(OSError, ValueError), open(os.path.join(cgroup, "io.stat")) as f:
        rbytes = wbytes = 0
        for line in f:
            for pair in line.split()[1:]:
                key, _, value = pair.partition("=")
                rbytes += int(value) if key == "rbytes" else 0
                wbytes += int(value) if key == "wbytes" else 0
        figures["cgroup_io_rbytes"], figures["cgroup_io_wbytes"] = float(rbytes), float(wbytes)
    return figures


def main(args: list[str]) -> int:
    sock = socket.socket(fileno=int(args[0]))
    sock.set_inheritable(False)
    grace, cgroup = float(args[1]), args[2]
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is lfsplug's
    SUBREAPER[0] = subreaper()
    Keeper(sock, grace, None if cgroup == "-" else cgroup).run()
    return 0


if __name__ == "__main__":
    # everything is reported (unbuffered writes): skip the interpreter's teardown, which
    # would add its milliseconds to every keeper
    os._exit(main(sys.argv[1:]))
