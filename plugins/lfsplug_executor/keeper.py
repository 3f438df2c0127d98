"""The keeper: the small process between lfsplug and one script, that nothing of it escapes.

lfsplug starts ``python -I -S keeper.py GO REPORT GRACE CGROUP`` (standard library only, no
lfsplug import). The keeper makes itself a *child subreaper*
(``prctl(PR_SET_CHILD_SUBREAPER)``, Linux 3.4+), so every process the script orphans (a daemon
started with ``setsid``, ``setsid -f``, ``nohup``, a double fork, a job of ``set -m``) is
re-parented to the keeper instead of init: the keeper's descendants in ``/proc`` are exactly
the script's processes, whatever their session or group, and the keeper reaps them all, so no
zombie lingers (lfsplug may be PID 1 of a container). It forks the script's leader in a session
of its own, in the cgroup ``CGROUP`` when lfsplug could make one (``-``: none), reports the
leader's pid on ``REPORT`` (a pipe, JSON lines), and lets the leader exec the script's argv
(in its environment and folder) only when lfsplug writes them (JSON: ``argv``, ``env``,
``cwd``) on the pipe ``GO``, after it has noted the script in ``running/`` (end of file there
and nothing written: lfsplug died, or the keeper was started ahead and never used: the script
never runs). The argv is not on the keeper's command line, so only the script's own process
shows the script. lfsplug starts the next script's keeper while a script runs.

When the leader exits, the keeper ends what it left running (TERM, then KILL after ``GRACE``
seconds, and ``cgroup.kill``); on SIGTERM it ends everything (the leader too) the same way, on
SIGUSR1 at once with KILL. Then it reports the leader's exit status, what it ended (pid and
command) and the resources of the whole tree, and exits.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import resource
import signal
import sys
import time

PR_SET_CHILD_SUBREAPER = 36
#: The most processes named in the report (the rest are counted).
NAMED = 50
WAKE = {signal.SIGCHLD, signal.SIGTERM, signal.SIGUSR1}
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


class Keeper:
    def __init__(self, go: int, report: int, grace: float, cgroup: str | None) -> None:
        self.go, self.report, self.grace, self.cgroup = go, report, grace, cgroup
        self.me = os.getpid()
        self.leader = 0
        self.status: int | None = None
        self.ended: dict[int, str] = {}
        self.killed = False

    def send(self, record: dict[str, object]) -> None:
        with contextlib.suppress(OSError):
            os.write(self.report, (json.dumps(record) + "\n").encode())

    def start(self) -> None:
        sync_r, sync_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the script's leader
            try:
                self.child(sync_w)
            finally:
                os._exit(127)
        os.close(sync_w)
        joined = os.read(sync_r, 1) == b"1"
        os.close(sync_r)
        self.leader = pid
        self.send({"pid": pid, "cgroup": joined})

    def child(self, sync_w: int) -> None:
        os.setsid()
        joined = False
        if self.cgroup is not None:
            try:
                with open(os.path.join(self.cgroup, "cgroup.procs"), "w") as procs:
                    procs.write("0")
                joined = True
            except OSError:
                pass
        os.write(sync_w, b"1" if joined else b"0")
        os.close(sync_w)
        os.close(self.report)
        data = b""
        while chunk := os.read(self.go, 65536):
            data += chunk
        if not data:
            os._exit(0)  # lfsplug died before noting the script: it does not run
        os.close(self.go)
        order = json.loads(data)  # the command line, its environment and folder
        argv = [str(arg) for arg in order["argv"]]
        for sig in (signal.SIGPIPE, signal.SIGXFSZ, signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, set())
        try:
            if order.get("cwd") is not None:
                os.chdir(order["cwd"])
            if order.get("env") is not None:
                os.execvpe(argv[0], argv, order["env"])  # PATH is looked up in that env
            os.execvp(argv[0], argv)
        except OSError as exc:
            os.write(2, f"lfsplug: cannot run {argv[0]}: {exc.strerror}\n".encode())

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.leader:
                self.status = os.waitstatus_to_exitcode(status)

    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` s for a signal; the signal, or None."""
        info = signal.sigtimedwait(WAKE, max(timeout, 0.0))
        if info is not None and info.si_signo in (signal.SIGTERM, signal.SIGUSR1):
            self.killed = True
            return info.si_signo
        return None

    def run(self) -> None:
        self.start()
        stop: int | None = None
        while self.status is None and stop is None:
            self.reap()
            if self.status is None:
                stop = self.wait(3600.0)
        self.end(0.0 if stop == signal.SIGUSR1 else self.grace)
        self.finish()

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
                if self.wait(0.02) == signal.SIGUSR1:
                    break
                self.reap()
        for _ in range(10000):
            left = self.alive()
            if not left:
                break
            for pid in left:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            self.wait(0.01)
            self.reap()
        # as a subreaper the keeper has every process of the script in its tree, and that tree
        # is empty now: the cgroup is the net for a kernel that refused the subreaper
        if self.cgroup is not None and not SUBREAPER[0]:
            self.kill_cgroup()
        self.reap()

    def alive(self) -> dict[int, str]:
        self.reap()
        found = descendants(self.me)
        for pid, cmd in found.items():
            if pid != self.leader and (cmd != "?" or pid not in self.ended):
                self.ended[pid] = cmd  # the latest: a fork that has since run exec
        return found

    def kill_cgroup(self) -> None:
        assert self.cgroup is not None
        with contextlib.suppress(OSError), open(os.path.join(self.cgroup, "cgroup.kill"),
                                                 "w") as kill:
            kill.write("1")
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                with open(os.path.join(self.cgroup, "cgroup.events")) as events:
                    if "populated 0" in events.read():
                        return
            except OSError:
                return
            self.wait(0.01)
            self.reap()

    def finish(self) -> None:
        own = resource.getrusage(resource.RUSAGE_SELF)
        kids = resource.getrusage(resource.RUSAGE_CHILDREN)
        figures: dict[str, float] = {
            "utime": round(kids.ru_utime, 6), "stime": round(kids.ru_stime, 6),
            "inblock": float(kids.ru_inblock), "oublock": float(kids.ru_oublock)}
        if kids.ru_maxrss > own.ru_maxrss:
            figures["maxrss"] = float(kids.ru_maxrss)
        figures.update(cgroup_figures(self.cgroup))
        named = sorted(self.ended.items())
        self.send({"exit": self.status if self.status is not None else -signal.SIGKILL,
                   "ended": [[pid, cmd] for pid, cmd in named[:NAMED]],
                   "more": max(0, len(named) - NAMED), "killed": self.killed,
                   "resources": figures})
        if self.cgroup is not None:
            with contextlib.suppress(OSError):
                os.rmdir(self.cgroup)


def cgroup_figures(cgroup: str | None) -> dict[str, float]:
    """The cgroup's exact totals, where its files exist: CPU (``cpu.stat``), peak memory
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
    go, report, grace, cgroup = int(args[0]), int(args[1]), float(args[2]), args[3]
    for fd in (go, report):
        os.set_inheritable(fd, False)
    signal.pthread_sigmask(signal.SIG_BLOCK, WAKE)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the terminal's Ctrl-C is lfsplug's
    SUBREAPER[0] = subreaper()
    Keeper(go, report, grace, None if cgroup == "-" else cgroup).run()
    return 0


if __name__ == "__main__":
    # everything is reported (unbuffered writes): skip the interpreter's teardown, which
    # would add its milliseconds to every script
    os._exit(main(sys.argv[1:]))
