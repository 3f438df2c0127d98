"""The checks of the book's ``version-check.sh``: tools, kernel, PTYs, aliases, the compiler.

Each requirement becomes one :class:`~lfsplug_hostreqs.outcome.Outcome`. Every check turns what
the host does into data (a missing tool, a failing one, one that prints nonsense); none raises
for it. :func:`check_host` runs them all in threads, then adds the measured resources.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from functools import partial

from lfsplug import Severity, satisfies
from lfsplug_hostreqs import book
from lfsplug_hostreqs.outcome import (
    BROKEN,
    MISSING,
    OK,
    TOO_OLD,
    UNKNOWN,
    WRONG,
    Outcome,
    finding,
)
from lfsplug_hostreqs.probes import probe, run_all
from lfsplug_hostreqs.resources import resource_checks
from lfsplug_hostreqs.settings import Settings
from lfsplug_hostreqs.versions import excerpt, extract_version, kernel_version

__all__ = ["check_alias", "check_cxx", "check_host", "check_kernel", "check_pty", "check_tool"]

#: The test program of the compiler check. It includes a standard header, since the book asks
#: for "C and C++ standard libraries (with headers)", which its own ``int main(){}`` misses.
CXX_PROGRAM = b"#include <cstdlib>\nint main() { return EXIT_SUCCESS; }\n"


def _install_hint(req: book.ToolRequirement) -> str:
    note = f"; the book: {req.note}" if req.note else ""
    return f"install {req.name} {req.minimum} or later (the distribution's package){note}"


def check_tool(req: book.ToolRequirement, settings: Settings) -> Outcome:
    """One ``ver_check``: the tool exists, answers ``--version`` and is recent enough."""
    label = f"{req.name} ({req.command})"
    required = f">= {req.minimum}"
    path = shutil.which(req.command, path=settings.path or None)
    if path is None:
        return Outcome(label, "-", required, MISSING, finding(
            "HOST001", Severity.ERROR,
            f"{req.name} not found: no {req.command} on the search path "
            f"({req.minimum} or later required)", _install_hint(req)))
    result = probe([path, "--version"], settings.version_timeout)
    if not result.ok:
        return Outcome(label, "?", required, BROKEN, finding(
            "HOST003", Severity.ERROR,
            f"{req.name}: `{path} --version` {result.failure()}; it printed "
            f"{excerpt(result.output)}", _install_hint(req)))
    version = extract_version(result.output)
    if version is None:
        return Outcome(label, "?", required, UNKNOWN, finding(
            "HOST004", Severity.WARNING,
            f"{req.name}: no version number in what `{path} --version` printed: "
            f"{excerpt(result.output)}",
            f"check by hand that it is {req.name} {req.minimum} or later"))
    if not satisfies(version, ">=", req.minimum):
        return Outcome(label, version, required, TOO_OLD, finding(
            "HOST002", Severity.ERROR,
            f"{req.name} {version} ({path}) is too old: {req.minimum} or later required",
            _install_hint(req)))
    return Outcome(label, version, required, OK)


def check_kernel() -> Outcome:
    """``ver_kernel``: the running kernel is at least the book's ``min-kernel``."""
    release = os.uname().release
    required = f">= {book.MIN_KERNEL}"
    version = kernel_version(release)
    if version is None:
        return Outcome("Linux Kernel", release, required, UNKNOWN, finding(
            "HOST004", Severity.WARNING,
            f"Linux Kernel: no version number in the release {release!r}",
            f"check by hand that the kernel is {book.MIN_KERNEL} or later"))
    if not satisfies(version, ">=", book.MIN_KERNEL):
        return Outcome("Linux Kernel", version, required, TOO_OLD, finding(
            "HOST005", Severity.ERROR,
            f"Linux Kernel {version} is too old: {book.MIN_KERNEL} or later required (glibc "
            f"is built for it)",
            "install a newer kernel from the distribution, or build one (the book's chapter "
            "10), and boot it"))
    return Outcome("Linux Kernel", version, required, OK)


def check_pty(mounts_file: str = "/proc/self/mounts") -> Outcome:
    """The kernel supports UNIX 98 pseudo terminals: devpts on /dev/pts and /dev/ptmx."""
    label = "UNIX 98 PTY"
    try:
        with open(mounts_file, encoding="utf-8", errors="replace") as mounts:
            devpts = any(line.split()[1:3] == ["/dev/pts", "devpts"]
                         for line in mounts if len(line.split()) >= 3)
    except OSError as exc:
        return Outcome(label, "?", "devpts on /dev/pts", UNKNOWN, finding(
            "HOST004", Severity.WARNING, f"cannot read {mounts_file}: {exc.strerror}",
            "check by hand that devpts is mounted on /dev/pts"))
    ptmx = os.path.exists("/dev/ptmx")
    if devpts and ptmx:
        return Outcome(label, "yes", "devpts on /dev/pts", OK)
    missing = "devpts is not mounted on /dev/pts" if not devpts else "/dev/ptmx does not exist"
    return Outcome(label, "no", "devpts on /dev/pts", MISSING, finding(
        "HOST006", Severity.ERROR, f"the kernel does not offer UNIX 98 PTYs: {missing}",
        "a kernel with CONFIG_UNIX98_PTYS=y and devpts mounted on /dev/pts (in a container, "
        "mount devpts)"))


def check_alias(alias: book.AliasRequirement, settings: Settings) -> Outcome:
    """One ``alias_check``: ``awk``/``yacc``/``sh`` are GNU awk, Bison and Bash."""
    given: str = getattr(settings, alias.command)
    label = f"{alias.command} is {alias.expected}"
    path = shutil.which(given, path=settings.path or None)
    if path is None:
        return Outcome(label, "-", alias.expected, MISSING, finding(
            "HOST007", Severity.ERROR, f"{alias.command} not found ({given})",
            f"the book: {alias.note}"))
    target = os.path.realpath(path)
    shown = path if target == path else f"{path} -> {target}"
    result = probe([path, "--version"], settings.version_timeout)
    if alias.expected.lower() in result.output.lower():
        return Outcome(label, shown, alias.expected, OK)
    # dash and mawk reject --version (a non-zero status): what they print is the evidence
    failed = f" {result.error} and" if result.error else ""
    return Outcome(label, shown, alias.expected, WRONG, finding(
        "HOST007", Severity.ERROR,
        f"{alias.command} ({shown}) is not {alias.expected}: `{path} --version`{failed} "
        f"printed {excerpt(result.output)}", f"the book: {alias.note}"))


def check_cxx(settings: Settings) -> Outcome:
    """The C++ compiler builds a hosted program (the book's "Compiler check")."""
    label = "C++ compiler works"
    path = shutil.which(settings.cxx, path=settings.path or None)
    if path is None:
        return Outcome(label, "-", "builds a program", MISSING, finding(
            "HOST008", Severity.ERROR, f"no C++ compiler: {settings.cxx} not found",
            f"the book: {_cxx_note()}"))
    with tempfile.TemporaryDirectory(prefix="lfsplug-cxx-") as tmp:
        result = probe([path, "-x", "c++", "-", "-o", os.path.join(tmp, "a.out")],
                       settings.compile_timeout, stdin=CXX_PROGRAM, cwd=tmp)
    if result.ok:
        return Outcome(label, path, "builds a program", OK)
    return Outcome(label, path, "builds a program", BROKEN, finding(
        "HOST008", Severity.ERROR,
        f"the C++ compiler ({path}) cannot build a program: it {result.failure()} and printed "
        f"{excerpt(result.output, 240)}", f"the book: {_cxx_note()}"))


def _cxx_note() -> str:
    return next(t.note for t in book.TOOLS if t.command == "g++")


def check_host(settings: Settings) -> list[Outcome]:
    """Every requirement, checked in parallel threads; outcomes in the book's order."""
    tasks: list[Callable[[], Outcome]] = [
        *(partial(check_tool, req, settings) for req in book.TOOLS),
        check_kernel,
        check_pty,
        *(partial(check_alias, alias, settings) for alias in book.ALIASES),
        partial(check_cxx, settings),
    ]
    outcomes = run_all(tasks, workers=len(tasks))
    outcomes.extend(resource_checks(settings))
    return outcomes
