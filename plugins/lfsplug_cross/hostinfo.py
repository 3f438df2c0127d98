"""The machine lfsplug runs on: its architecture, triplet, C library and distribution."""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import subprocess
from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

__all__ = ["HostPlatform", "detect_host", "run_text"]


@dataclass(frozen=True)
class HostPlatform:
    machine: str
    #: what the host's compiler builds for (``gcc -dumpmachine``), else ``MACHINE-pc-linux-gnu``
    triplet: str
    #: where the triplet came from: ``gcc -dumpmachine`` or ``uname -m``
    triplet_from: str
    libc: str
    libc_version: str | None
    distribution: str | None
    kernel: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        libc = f"{self.libc} {self.libc_version}" if self.libc_version else self.libc
        distro = f", {self.distribution}" if self.distribution else ""
        return f"{self.triplet} ({libc}, Linux {self.kernel}{distro})"


def run_text(argv: list[str], timeout: float = 30.0) -> tuple[int, str]:
    """Run ``argv``; its exit code and its output (stdout then stderr). A program that cannot
    be started gives 127 and the reason, as a shell would."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              errors="replace", env={**os.environ, "LC_ALL": "C"}, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return 127, str(exc)
    return done.returncode, done.stdout + done.stderr


@cache
def detect_host() -> HostPlatform:
    """The host, as lfsplug sees it (found once per process)."""
    machine = platform.machine()
    triplet, source = f"{machine}-pc-linux-gnu", "uname -m"
    gcc = shutil.which("gcc")
    if gcc:
        code, out = run_text([gcc, "-dumpmachine"])
        if code == 0 and out.strip():
            triplet, source = out.strip().splitlines()[0], "gcc -dumpmachine"
    libc, version = _libc()
    return HostPlatform(machine, triplet, source, libc, version, _distribution(),
                        platform.release())


def _libc() -> tuple[str, str | None]:
    try:
        found = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        found = None
    if found:
        name, _sep, version = found.partition(" ")
        return ("glibc" if name == "glibc" else name), version or None
    for loader in sorted(glob.glob("/lib/ld-musl-*.so.1")):
        _code, out = run_text([loader])  # musl's loader says its version on stderr, exit 1
        match = re.search(r"Version\s+(\S+)", out)
        return "musl", match.group(1) if match else None
    return "unknown", None


def _distribution() -> str | None:
    for path in ("/etc/os-release", "/usr/lib/os-release"):
        try:
            with open(path, encoding="utf-8") as handle:
                fields = dict(line.rstrip("\n").split("=", 1) for line in handle if "=" in line)
        except OSError:
            continue
        name = fields.get("PRETTY_NAME") or fields.get("NAME")
        return name.strip().strip('"') if name else None
    return None
