"""Real distccd daemons on loopback addresses (127.0.0.x) for tests, and a skip when absent.

Linux routes all of 127.0.0.0/8 to lo, so 127.0.0.2 and 127.0.0.3 are two "hosts" here::

    need_distcc()
    with Daemon("127.0.0.2", jobs=2) as daemon:
        ...  # DISTCC_HOSTS=daemon.host_spec; daemon.pause() hangs it, daemon.kill() ends it

Each daemon is a child process in its own process group, signalled by that group only.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import pytest

__all__ = ["Daemon", "can_bind", "need_distcc"]

START_SECONDS = 10.0


def need_distcc(*addresses: str) -> None:
    """Skip the calling test unless distcc, distccd and the loopback addresses are usable."""
    for tool in ("distcc", "distccd", "gcc"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (Debian: apt-get install distcc gcc)")
    for address in addresses:
        if not address.startswith("127."):
            raise ValueError(f"{address}: tests use loopback addresses only")
        if not can_bind(address):
            pytest.skip(f"cannot listen on {address} here (no 127.0.0.0/8 route to lo)")


def can_bind(address: str) -> bool:
    """Whether a TCP socket can listen on address."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
    except OSError:
        return False
    return True


def free_port(address: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((address, 0))
        port: int = sock.getsockname()[1]
        return port


def group_alive(pgid: int) -> bool:
    """Whether a process of the group is still running: its zombies, which init reaps in its
    own time, hold no socket and do not count."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rfind(")") + 2:].split()
            if len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in "ZX":
                return True
    return False


class Daemon:
    """One distccd listening on ``address``, allowing 127.0.0.0/8, running ``jobs`` jobs."""

    def __init__(self, address: str = "127.0.0.2", jobs: int = 2) -> None:
        if not address.startswith("127."):
            raise ValueError(f"{address}: a test daemon listens on loopback only")
        self.address = address
        self.jobs = jobs
        # Its own directory in the system's temporary one, not under pytest's tmp_path: as root
        # distccd runs as nobody, who cannot pass pytest's 0700 base directory.
        self.directory = Path(tempfile.mkdtemp(prefix="lfsplug-distccd-"))
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._log = ""

    @property
    def host_spec(self) -> str:
        """The DISTCC_HOSTS word for this daemon: ``127.0.0.2:PORT/2``."""
        return f"{self.address}:{self.port}/{self.jobs}"

    @property
    def name(self) -> str:
        """The host as logs and Host.name give it: ``127.0.0.2:PORT``."""
        return f"{self.address}:{self.port}"

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the daemon is not started")
        return self._process.pid

    @property
    def log_path(self) -> Path:
        return self.directory / "distccd.log"

    def log(self) -> str:
        """The daemon's log (kept once it is stopped and its directory removed)."""
        with contextlib.suppress(OSError):
            self._log = self.log_path.read_text(errors="replace")
        return self._log

    def start(self) -> Daemon:
        self.directory.chmod(0o1777)  # as root distccd runs as nobody, and writes here
        self.port = free_port(self.address)
        command = ["distccd", "--daemon", "--no-detach", "--listen", self.address,
                   "--port", str(self.port), "--allow", "127.0.0.0/8",
                   "--jobs", str(self.jobs), "--log-file", str(self.log_path),
                   "--pid-file", str(self.directory / "distccd.pid"), "--log-level", "info"]
        if os.geteuid() == 0:
            command[2:2] = ["--user", "nobody"]
        with (self.directory / "distccd.out").open("wb") as out:
            self._process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out,
                                             stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_until_listening()
        return self

    def _wait_until_listening(self) -> None:
        deadline = time.monotonic() + START_SECONDS
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"distccd on {self.name} exited "
                                   f"{self._process.returncode}:\n{self._output()}")
            try:
                with socket.create_connection((self.address, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"distccd on {self.name} did not accept connections within "
                           f"{START_SECONDS:g} s:\n{self._output()}")

    def _output(self) -> str:
        out = self.directory / "distccd.out"
        text = out.read_text(errors="replace") if out.exists() else ""
        return text + self.log()

    def pause(self) -> None:
        """SIGSTOP the daemon and its workers: a hung host (connections queue, nothing
        answers)."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the daemon and its workers: a dead host (connections refused)."""
        self._signal(signal.SIGKILL)
        self._reap(5.0)

    def stop(self) -> None:
        """SIGTERM the daemon's process group, SIGKILL it if it lingers; idempotent."""
        if self._process is not None:
            self._end()
        self.log()
        shutil.rmtree(self.directory, ignore_errors=True)

    def _end(self) -> None:
        self._signal(signal.SIGTERM)
        self._signal(signal.SIGCONT)  # a paused daemon handles SIGTERM only once continued
        if not self._reap(5.0):
            self._signal(signal.SIGKILL)
            self._reap(5.0)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def _signal(self, signum: signal.Signals) -> None:
        if self._process is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)  # its own group: start_new_session

    def _reap(self, seconds: float) -> bool:
        """Wait for the leader and then the whole group to be gone."""
        assert self._process is not None
        deadline = time.monotonic() + seconds
        try:
            self._process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return False
        while time.monotonic() < deadline:
            if not group_alive(self._process.pid):
                return True
            time.sleep(0.02)
        return False

    def __enter__(self) -> Daemon:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()
