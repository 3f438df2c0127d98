"""Count what distcc did from its client log (``DISTCC_LOG``): jobs per host, local, failures.

The lines read (distcc 3.4, ``DISTCC_LOG`` set, not verbose); every one starts ``distcc[PID] ``,
some then ``(function) ``:

- ``exec on 127.0.0.2:3700/2: x86_64-linux-gnu-gcc -c t.c -o t.o``: an attempt on a host
  (``exec on localhost: ...`` for a local one);
- ``compile t.c on 127.0.0.2:3700/2 completed ok``: a remote compile done;
  ``compile t.c on localhost completed ok``: a local one;
  ``compile (null) on localhost completed ok``: a link or another job distcc cannot distribute;
- ``ERROR: compile t.c on 127.0.0.2:3700/2 failed`` (or ``... failed with exit code N``);
- ``ERROR: nonblocking connect to 127.0.0.2:3799 failed: Connection refused``,
  ``ERROR: IO timeout``, ``ERROR: unexpected eof on fd6``, ``ERROR: server provided no
  answer. ...``: the host failed (any ERROR during a remote attempt is taken so);
- ``Warning: failed to distribute t.c to 127.0.0.2:3700/2, running locally instead``: a fallback;
- ``ERROR: failed to distribute and fallbacks are disabled``: refused (DISTCC_FALLBACK=0);
- ``cpp t.c on localhost completed ok`` is the local preprocessing of a remote job, not a job.

Cheap prefix checks only, and nothing here raises on any line.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from lfsplug_distcc.hosts import parse_host

__all__ = ["Jobs", "LiveJobs", "parse_log", "read_log"]

_CLIENT = "distcc["
_EXEC = "exec on "
_COMPILE = "compile "
_CPP = "cpp "
_OK = " completed ok"
_ERROR = "ERROR: "
_FAILED_COMPILE = "ERROR: compile "
_CONNECT = "ERROR: nonblocking connect to "
_FALLBACK = "Warning: failed to distribute "
_REFUSED = "ERROR: failed to distribute and fallbacks are disabled"
_DONE = "elapsed compilation time"
_LOCAL = "localhost"
_NO_INPUT = "(null)"


@dataclass
class Jobs:
    """What distcc did during one script: the counts a report shows."""

    remote: dict[str, int] = field(default_factory=dict)  # compiles done, per "address:port"
    local: int = 0  # compiles run on this machine (localhost slots, fallbacks, backoff)
    failed: dict[str, int] = field(default_factory=dict)  # failed attempts per host
    fallbacks: int = 0  # remote failures retried locally
    refused: int = 0  # failures not retried: DISTCC_FALLBACK=0
    lost: list[str] = field(default_factory=list)  # hosts that failed (not just the code)
    other: int = 0  # links and other jobs distcc runs locally without distributing them

    @property
    def compiles(self) -> int:
        """Compiles completed anywhere."""
        return sum(self.remote.values()) + self.local

    def to_dict(self) -> dict[str, object]:
        return {"remote": dict(self.remote), "local": self.local, "failed": dict(self.failed),
                "fallbacks": self.fallbacks, "refused": self.refused, "lost": list(self.lost),
                "other": self.other}


@dataclass
class _Attempt:
    """One distcc client process's current try."""

    host: str = _LOCAL
    failed: bool = False
    cpp_failed: bool = False


class LiveJobs:
    """Counts kept up to date line by line while a build writes the log."""

    def __init__(self) -> None:
        self.jobs = Jobs()
        self._attempts: dict[str, _Attempt] = {}
        self._names: dict[str, str] = {}

    def feed(self, line: str) -> bool:
        """Take one log line; True when it changed the counts."""
        if not isinstance(line, str) or not line.startswith(_CLIENT):
            return False
        pid, sep, message = line.rstrip("\r\n")[len(_CLIENT):].partition("] ")
        if not sep:
            return False
        if message.startswith("("):  # "(dcc_build_somewhere) ERROR: ..."
            message = message.partition(") ")[2]
        if message.startswith(_DONE):
            self._attempts.pop(pid, None)
            return False
        return self._message(pid, message)

    def _message(self, pid: str, message: str) -> bool:
        if message.startswith(_EXEC):
            host = message[len(_EXEC):].partition(": ")[0]
            self._attempts[pid] = _Attempt(host=self._name(host))
            return False
        if message.startswith(_COMPILE) and message.endswith(_OK):
            return self._completed(message[len(_COMPILE):-len(_OK)])
        if message.startswith(_CPP):
            if " failed" in message:  # the local preprocessor: not the host's fault
                self._attempt(pid).cpp_failed = True
            return False
        return self._trouble(pid, message)

    def _trouble(self, pid: str, message: str) -> bool:
        if message.startswith(_FALLBACK):
            self.jobs.fallbacks += 1
            return True
        if message.startswith(_REFUSED):
            self.jobs.refused += 1
            return True
        if message.startswith(_FAILED_COMPILE):
            return self._compile_failed(pid, message[len(_FAILED_COMPILE):])
        return message.startswith(_ERROR) and self._host_failed(pid, message)

    def _completed(self, what: str) -> bool:
        source, _, host = what.rpartition(" on ")
        if not source or not host:
            return False
        if host == _LOCAL:
            if source == _NO_INPUT:
                self.jobs.other += 1
            else:
                self.jobs.local += 1
        else:
            name = self._name(host)
            self.jobs.remote[name] = self.jobs.remote.get(name, 0) + 1
        return True

    def _compile_failed(self, pid: str, what: str) -> bool:
        host = what.rpartition(" failed")[0].rpartition(" on ")[2]
        attempt = self._attempt(pid)
        if attempt.failed:  # the host failure is already counted
            return False
        attempt.failed = True
        name = _LOCAL if attempt.cpp_failed else self._name(host)
        self.jobs.failed[name] = self.jobs.failed.get(name, 0) + 1
        return True

    def _host_failed(self, pid: str, message: str) -> bool:
        attempt = self._attempts.get(pid)
        if message.startswith(_CONNECT):
            name = self._name(message[len(_CONNECT):].partition(" failed")[0])
            if not name:
                return False
            attempt = self._attempt(pid)
            attempt.host = name
        if attempt is None or attempt.host == _LOCAL or attempt.failed:
            return False  # not during a remote attempt (locks, local exec), or counted
        attempt.failed = True
        self.jobs.failed[attempt.host] = self.jobs.failed.get(attempt.host, 0) + 1
        if attempt.host not in self.jobs.lost:
            self.jobs.lost.append(attempt.host)
        return True

    def _attempt(self, pid: str) -> _Attempt:
        return self._attempts.setdefault(pid, _Attempt())

    def _name(self, spec: str) -> str:
        """``127.0.0.2:3700/2,lzo`` -> ``127.0.0.2:3700``, as Host.name has it."""
        name = self._names.get(spec)
        if name is None:
            try:
                name = parse_host(spec).name
            except ValueError:
                name = spec
            self._names[spec] = name
        return name


def parse_log(lines: Iterable[str]) -> Jobs:
    """Count a whole DISTCC_LOG."""
    live = LiveJobs()
    for line in lines:
        live.feed(line)
    return live.jobs


def read_log(path: Path) -> Jobs:
    """Count the DISTCC_LOG at path; an absent or unreadable log counts nothing."""
    try:
        with path.open(encoding="utf-8", errors="replace") as log:
            return parse_log(log)
    except OSError:
        return Jobs()
