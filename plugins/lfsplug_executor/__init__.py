"""The local executor: the book's clean environment, one process group and one log per script.

Each script runs as ``bash +h -e FILE`` (hashing off and exit on error, as the book's build
environment has it) from an argv list, in a session of its own, with stdin closed and umask 022.
Its output goes to ``logs/NAME.log`` under the state directory (``NAME.N.log`` for retry N,
``logs/latest`` pointing to the newest), and its last lines are kept for the failure report.
``--timeout`` ends the whole process group: TERM, then KILL after a grace period.
"""

from __future__ import annotations

import collections
import os
import platform
import resource
import select
import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from lfsplug import Plan, RunningScript, RunRequest, Script, ScriptResult, Status, hookimpl
from lfsplug.config import positive_float

if TYPE_CHECKING:
    from lfsplug.config import Config, OptionParser
    from lfsplug.session import Session

TAIL_LINES = 50
KILL_GRACE = 5.0
READ_SIZE = 65536
#: The longest single select() wait (very long timeouts overflow it on some platforms).
MAX_WAIT = 3600.0
#: How often to look for the script's exit where the kernel has no pidfd (before Linux 5.3).
POLL = 0.1
#: The most output read after the script exited, from children it left behind.
DRAIN_LIMIT = 1 << 20


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.addoption("--lfs", commands=("run", "check", "list"), default="/mnt/lfs",
                     metavar="DIR", help="the LFS partition's mount point ($LFS)")
    parser.addoption("--timeout", commands=("run",), type=positive_float, metavar="S",
                     help="end a script (its whole process group) after S seconds")
    parser.addoption("--keep-going", commands=("run",), action="store_true",
                     help="after a failure, go on with every script that does not depend on it")


def clean_env(config: Config) -> dict[str, str]:
    """The book's build environment (chapter 4, "Setting Up the Environment")."""
    lfs = str(config.getoption("lfs", "/mnt/lfs"))
    path = "/usr/bin" if os.path.islink("/bin") else "/bin:/usr/bin"
    return {
        "HOME": os.environ.get("HOME", "/root"),
        "TERM": os.environ.get("TERM", "dumb"),
        "LFS": lfs,
        "LC_ALL": "POSIX",
        "LFS_TGT": f"{platform.machine()}-lfs-linux-gnu",
        "PATH": f"{lfs}/tools/bin:{path}",
        "CONFIG_SITE": f"{lfs}/usr/share/config.site",
        "MAKEFLAGS": f"-j{os.cpu_count() or 1}",
    }


@hookimpl(tryfirst=True)
def lfsplug_script_env(script: Script, env: dict[str, str], config: Config) -> None:
    env.update(clean_env(config))
    env.update(config.env)


@hookimpl(trylast=True)
def lfsplug_script_command(script: Script, env: dict[str, str], config: Config) -> list[str]:
    return ["bash", "+h", "-e", str(script.path)]


def _link_latest(log_path: Path) -> None:
    latest = log_path.parent / "latest"
    tmp = log_path.parent / f".latest.{os.getpid()}"
    try:
        if tmp.is_symlink():
            tmp.unlink()
        tmp.symlink_to(log_path.name)
        tmp.replace(latest)
    except OSError:
        pass  # a file system without symlinks: the logs are still there


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
        self.usage: os.struct_rusage | None = None  # type: ignore[name-defined]

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
    """Runs one attempt: pumps output into the log and the tail, enforces the timeout."""

    def __init__(self, session: Session, request: RunRequest) -> None:
        self.session = session
        self.request = request
        self.tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
        self.partial = b""
        self.timed_out: str | None = None
        self.leftovers = False

    def run(self) -> ScriptResult:
        req = self.request
        req.log_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.time()
        with req.log_path.open("wb") as log:
            _link_latest(req.log_path)
            proc = subprocess.Popen(
                req.argv, cwd=req.cwd, env=req.env, stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                umask=0o022,
            )
            child = self.child = Child(proc)
            self.running = RunningScript(req.script.name, proc.pid, started, req.attempt,
                                         req.log_path)
            self.session.running[req.script.name] = self.running
            try:
                try:
                    self._pump(proc, log)
                except BaseException:
                    kill_group(child, grace=1.0)
                    raise
                if self.timed_out:
                    code = kill_group(child)
                else:
                    code = child.wait()
                    # children the script left running (holding its output, or not) end too
                    self.leftovers = child.group_alive()
                    if self.leftovers:
                        kill_group(child)
            finally:
                self.session.running.pop(req.script.name, None)
            if self.partial:
                self._lines(b"\n")
        return self._result(code, started)

    def _pump(self, proc: subprocess.Popen[bytes], log: BinaryIO) -> None:
        """Copy output to the log until the script exits (not until the pipe closes: a
        background child may hold it open) or the timeout passes."""
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        pidfd = _pidfd(proc.pid)
        watched = [fd] if pidfd is None else [fd, pidfd]
        deadline = time.monotonic() + self.request.timeout if self.request.timeout else None
        try:
            while True:
                wait = MAX_WAIT if pidfd is not None else POLL
                if deadline is not None:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        self.timed_out = f"timed out after {self.request.timeout:g} s"
                        return
                    wait = min(wait, remaining)
                ready, _, _ = select.select(watched, [], [], wait)
                if fd in ready and not self._copy(fd, log):
                    return  # end of output: every writer has exited
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
            self.running.last_line = lines[-1]
            self.session.script_output(self.request.script, lines)

    def _result(self, code: int, started: float) -> ScriptResult:
        req = self.request
        ok = code == 0 and not self.timed_out
        notes = [n for n in (self.timed_out, self.leftovers and "ended the processes it left "
                             "running") if n]
        with req.log_path.open("a", encoding="utf-8") as log:
            log.write(f"\n# lfsplug: exit status {code}"
                      + (f" ({'; '.join(str(n) for n in notes)})" if notes else "") + "\n")
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
            message=self.timed_out,
            resources=self.child.resources(),
        )


@hookimpl(trylast=True)
def lfsplug_run_script(session: Session, request: RunRequest) -> ScriptResult:
    return Runner(session, request).run()


@hookimpl(trylast=True)
def lfsplug_run_plan(session: Session, plan: Plan) -> bool:
    """Run the plan one script at a time, in plan order."""
    keep_going = bool(session.config.getoption("keep_going", False))
    preds = plan.predecessors()
    blocked: dict[str, str] = {}  # script -> the failed script it waits for
    for script in plan.scripts:
        session.raise_event_error()  # a subscriber failed: stop now, not hours later
        if session.shouldstop:
            break
        cause = next((blocked.get(p, p) for p in sorted(preds[script.name])
                      if p in blocked or not session.results[p].ok), None)
        if cause is not None:
            blocked[script.name] = cause
            session.skip_script(script, f"dependency failed: {cause}")
            continue
        result = session.run_protocol(script)
        if result.status is Status.FAILED and not keep_going:
            session.shouldstop = f"{script.name} failed"
    return True
