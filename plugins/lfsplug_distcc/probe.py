"""Probe distcc hosts before a build: reachable, daemon answering, compilers there, versions.

Each probe compiles a tiny C file through distcc on that one host, with no fallback, and
reads the compiler's identity from the object's ``.comment`` section, which the REMOTE cc1
writes (``GCC: (Debian 12.2.0-14+deb12u1) 12.2.0``); ``__VERSION__`` would not do, since plain
distcc preprocesses here. Everything is returned as facts: nothing raises for a bad host.

Each compile gets a fresh DISTCC_DIR of its own under ``workdir``, so no backoff left by an
earlier failure (here or in the user's ~/.distcc) hides a host. DISTCC_BACKOFF_PERIOD=0 is NOT
used: with it distcc 3.4 retries a host that refuses connections without end (a thousand
reconnects, then it aborts on FD_SETSIZE).
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from lfsplug_distcc.hosts import Host

__all__ = ["Probe", "local_version", "object_version", "probe_host", "probe_hosts",
           "version_conflicts"]

PROBE_SOURCE = "int lfsplug_distcc_probe(void) { return 42; }\n"
_TIMED_OUT = "IO timeout"
_NO_ANSWER = ("server provided no answer", "unexpected eof")
_CONNECT = "nonblocking connect to "


@dataclass(frozen=True)
class Probe:
    """What one host answered. ``reachable`` is None when it was not tried (ssh hosts)."""

    host: Host
    reachable: bool | None
    answered: bool = False  # a compile on it succeeded
    versions: dict[str, str | None] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)  # compilers it would not run
    reasons: dict[str, str] = field(default_factory=dict)  # why each one is missing
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.answered and not self.missing and self.error is None


@dataclass
class _Outcome:
    """One compile through distcc: its object's version, or the reason it failed."""

    version: str | None = None
    missing: str | None = None
    error: str | None = None
    unreachable: bool = False
    hung: bool = False


def probe_host(host: Host, compilers: Sequence[str], *, timeout: float = 5.0,
               workdir: Path, env: Mapping[str, str] | None = None) -> Probe:
    """Probe one host with each compiler, in ``workdir`` (created; left for inspection).

    ``timeout`` bounds the TCP connect and each read from the daemon (DISTCC_IO_TIMEOUT);
    ``env`` is added to this process's environment for the distcc client (PATH, say).
    """
    started = time.monotonic()
    if host.kind == "ssh":
        return Probe(host, None, versions=dict.fromkeys(compilers), error="not probed: ssh")
    if host.kind == "tcp":
        refused = _connect(host, timeout)
        if refused:
            return Probe(host, False, versions=dict.fromkeys(compilers), error=refused,
                         seconds=time.monotonic() - started)
    versions: dict[str, str | None] = dict.fromkeys(compilers)
    reasons: dict[str, str] = {}
    error = None
    for compiler in compilers:
        outcome = _compile(host, compiler, timeout, workdir / _slug(compiler), env)
        versions[compiler] = outcome.version
        if outcome.missing:
            reasons[compiler] = outcome.missing
        if outcome.unreachable:
            return Probe(host, False, versions=versions, error=outcome.error,
                         seconds=time.monotonic() - started)
        error = error or outcome.error
        if outcome.hung:
            break  # each further compiler would wait the timeout out again
    answered = any(version is not None for version in versions.values())
    if not answered and reasons and len(reasons) == len(compilers):
        error = error or (f"{host.name} compiled nothing: it does not allow this address, or "
                          "none of the compilers is there (see its distccd log)")
    return Probe(host, True, answered=answered, versions=versions, missing=list(reasons),
                 reasons=reasons, error=error, seconds=time.monotonic() - started)


def probe_hosts(hosts: Sequence[Host], compilers: Sequence[str], *, timeout: float = 5.0,
                workdir: Path, env: Mapping[str, str] | None = None) -> list[Probe]:
    """Probe all hosts at once, one thread each; the probes come back in the hosts' order."""
    if not hosts:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(hosts))) as pool:
        futures = [pool.submit(probe_host, host, compilers, timeout=timeout,
                               workdir=workdir / f"{index}-{_slug(host.name)}", env=env)
                   for index, host in enumerate(hosts, start=1)]
        return [future.result() for future in futures]


def version_conflicts(probes: Sequence[Probe]) -> dict[str, dict[str, str | None]]:
    """Compilers whose version is not the same on every answering host: {compiler: {host:
    version}}. Add a Probe for localhost (or compare with local_version) to include this
    machine."""
    seen: dict[str, dict[str, str | None]] = {}
    for probe in probes:
        if probe.answered:
            for compiler, version in probe.versions.items():
                if compiler not in probe.missing:
                    seen.setdefault(compiler, {})[probe.host.name] = version
    return {compiler: versions for compiler, versions in seen.items()
            if len(set(versions.values())) > 1}


def local_version(compiler: str, *, env: Mapping[str, str] | None = None) -> str | None:
    """The identity this machine's compiler writes into ``.comment``; None if it does not
    compile."""
    with tempfile.TemporaryDirectory(prefix="lfsplug-distcc-") as tmp:
        source = Path(tmp, "probe.c")
        source.write_text(PROBE_SOURCE)
        try:
            done = subprocess.run([compiler, "-c", "probe.c", "-o", "probe.o"], cwd=tmp,
                                  env=_environ(env), capture_output=True, timeout=60,
                                  check=False)
        except (OSError, subprocess.SubprocessError):
            return None
        return object_version(Path(tmp, "probe.o")) if done.returncode == 0 else None


def object_version(path: Path) -> str | None:
    """The compiler identities in an ELF object's ``.comment``, joined by ``; ``."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    try:
        with path.open("rb") as stream:
            section = ELFFile(stream).get_section_by_name(".comment")
            data = section.data() if section is not None else b""
    except (OSError, ELFError):
        return None
    names = [part.decode("utf-8", "replace") for part in data.split(b"\0") if part.strip()]
    return "; ".join(dict.fromkeys(names)) or None


def _connect(host: Host, timeout: float) -> str | None:
    """None when the daemon's port accepts a connection, else why not."""
    try:
        with socket.create_connection((host.address, host.port or 0), timeout=timeout):
            return None
    except TimeoutError:
        return f"not reachable: {host.name}: no connection within {timeout:g} s"
    except OSError as exc:
        return f"not reachable: {host.name}: {exc.strerror or exc}"


def _compile(host: Host, compiler: str, timeout: float, where: Path,
             env: Mapping[str, str] | None) -> _Outcome:
    environ = _environ(env)
    if shutil.which(compiler, path=environ.get("PATH")) is None:
        return _Outcome(missing=f"{compiler}: not found on this machine (distcc runs the "
                                "preprocessor here, so the client needs it too)")
    shutil.rmtree(where, ignore_errors=True)
    (where / ".distcc").mkdir(parents=True)
    (where / "probe.c").write_text(PROBE_SOURCE)
    log = where / "distcc.log"
    environ.update(DISTCC_HOSTS=host.spec, DISTCC_FALLBACK="0", DISTCC_SKIP_LOCAL_RETRY="1",
                   DISTCC_IO_TIMEOUT=str(max(1, math.ceil(timeout))),
                   DISTCC_DIR=str(where / ".distcc"), DISTCC_LOG=str(log))
    environ.pop("DISTCC_VERBOSE", None)
    try:
        done = subprocess.run(["distcc", compiler, "-c", "probe.c", "-o", "probe.o"],
                              cwd=where, env=environ, capture_output=True, check=False,
                              timeout=3 * timeout + 10)
    except FileNotFoundError:
        return _Outcome(error="distcc is not installed here")
    except subprocess.TimeoutExpired:
        return _Outcome(error=f"distcc on {host.name} did not finish in {3 * timeout + 10:g} s",
                        hung=True)
    text = log.read_text(errors="replace") if log.exists() else done.stderr.decode(
        errors="replace")
    if done.returncode == 0 and " completed ok" in text:  # no fallback: it ran there
        return _Outcome(version=object_version(where / "probe.o"))
    return _failure(host, compiler, timeout, text, done.returncode)


def _failure(host: Host, compiler: str, timeout: float, text: str, returncode: int) -> _Outcome:
    errors = _errors(text)
    said = "; ".join(errors[:3]) or f"distcc exited {returncode}"
    if any(_TIMED_OUT in message for message in errors):
        return _Outcome(error=f"no answer from {host.name} within {timeout:g} s "
                              f"(distcc: {_TIMED_OUT})", hung=True)
    if any(message.startswith(_CONNECT) for message in errors):
        return _Outcome(error=f"not reachable: {host.name} (distcc: {said})", unreachable=True)
    if any(message.startswith(_NO_ANSWER) for message in errors):
        return _Outcome(missing=f"{compiler}: the daemon on {host.name} closed the connection "
                                "without compiling: it runs only the compilers it knows "
                                "(distcc: server provided no answer ... Does the server have "
                                "the compiler installed?)")
    return _Outcome(error=f"{compiler} on {host.name} failed: {said}")


def _errors(text: str) -> list[str]:
    """The ERROR messages of a distcc log, without their ``distcc[PID] (function)`` prefix."""
    found = []
    for line in text.splitlines():
        _, sep, message = line.partition("ERROR: ")
        if sep:
            found.append(message.strip())
    return found


def _environ(env: Mapping[str, str] | None) -> dict[str, str]:
    environ = dict(os.environ)
    environ.update(env or {})
    return environ


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in text)
