"""The failure classes and their signatures: an ordered table, first match wins.

Each :class:`Signature` names a class, whether it is transient (it may pass when run again
unchanged), its default policy (``[recovery.policy]``), the usual fix, and what shows it: the
executor's message (timeouts, silence, a stop), the exit code or signal, regular expressions
over the last lines of the attempt's log (each rule looks at its own ``window`` of last lines),
or a check of its own (the kernel's OOM record, a generated file that exists now). A first
pass looks for that evidence, rule by rule in table order; a second pass falls back on the
build step the script failed in (``configure`` gives ``configure-error``, ``test`` gives
``test-suite``); ``unknown`` is last. docs/recovery.md documents every class (a test checks).
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lfsplug import FailureClass, Script, ScriptResult

__all__ = ["SIGNATURES", "Context", "Signature", "by_name", "classify", "jobs_of", "kernel_oom",
           "log_lines", "oom_records"]

#: Lines of the attempt's log read back (its end).
LOG_LINES = 2000
#: Evidence lines kept per class, each cut to this many characters.
MAX_EVIDENCE, MAX_WIDTH = 5, 300


@dataclass
class Context:
    """What a failed attempt left to classify it by."""

    script: Script
    result: ScriptResult
    lines: list[str]
    #: make's job count in the attempt's ``MAKEFLAGS`` (2 for a jobserver: parallel)
    jobs: int = 1
    #: directories the script's make worked in (its own, and each ``Entering directory``)
    dirs: list[Path] = field(default_factory=list)

    @property
    def killed(self) -> bool:
        """SIGKILL (of the script's shell, or of a command it ran: status 137)."""
        result = self.result
        return result.signal == signal.SIGKILL or result.exit_code == 128 + signal.SIGKILL or any(
            _KILLED_LINE.search(line) for line in self.lines[-50:])


Check = Callable[[Context], list[str] | None]


@dataclass(frozen=True)
class Signature:
    """One failure class and how it shows."""

    name: str
    transient: bool
    #: what the class means, and its signature in words (docs/recovery.md shows it)
    summary: str
    #: the usual fix
    fix: str
    #: the default policy: retry, serial, stop, skip or halt
    policy: str = "stop"
    message: str | None = None
    patterns: Sequence[str] = ()
    exit_codes: frozenset[int] = frozenset()
    signals: frozenset[int] = frozenset()
    check: Check | None = None
    #: the last lines of the log its patterns look at
    window: int = LOG_LINES
    #: build steps that give the class when nothing else matched
    steps: frozenset[str] = frozenset()

    def compiled(self) -> list[re.Pattern[str]]:
        return _compiled(self.patterns)

    def evidence(self, ctx: Context) -> list[str] | None:
        """The lines that show this class in ``ctx``, or None."""
        result = ctx.result
        if self.message and result.message and re.search(self.message, result.message):
            return [result.message]
        if self.check is not None:
            found = self.check(ctx)
            if found:
                return found
        if self.patterns:
            found = _matching(ctx.lines[-self.window:], self.compiled())
            if found:
                return found
        if result.exit_code is not None and result.exit_code in self.exit_codes:
            return [f"exit status {result.exit_code}", *_last(ctx.lines, 2)]
        if result.signal is not None and result.signal in self.signals:
            return [f"killed by signal {_signal_name(result.signal)}", *_last(ctx.lines, 2)]
        return None

    def label(self, evidence: Sequence[str]) -> FailureClass:
        """This class, with ``evidence``."""
        reason = self.name.replace("-", " ") + (f": {evidence[0]}" if evidence else "")
        return FailureClass(self.name, reason, self.transient, tuple(evidence), self.fix)


_CACHE: dict[tuple[str, ...], list[re.Pattern[str]]] = {}
_KILLED_LINE = re.compile(r"\bline \d+: +\d+ Killed\b|^Killed$")


def _compiled(patterns: Sequence[str]) -> list[re.Pattern[str]]:
    key = tuple(patterns)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = [re.compile(p) for p in patterns]
    return found


def _cut(line: str) -> str:
    line = line.rstrip()
    return line if len(line) <= MAX_WIDTH else line[:MAX_WIDTH - 1] + "…"


def _matching(lines: list[str], patterns: list[re.Pattern[str]]) -> list[str]:
    found = [line for line in lines if any(p.search(line) for p in patterns)]
    unique = list(dict.fromkeys(_cut(line) for line in found))
    return unique[:MAX_EVIDENCE - 1] + unique[-1:] if len(unique) > MAX_EVIDENCE else unique


def _last(lines: list[str], count: int) -> list[str]:
    kept = [_cut(line) for line in lines if line.strip() and not line.startswith("# lfsplug:")]
    return kept[-count:]


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return str(number)


# -- checks of their own ------------------------------------------------------------------------
_OOM_KERNEL = re.compile(r"Out of memory: Kill|oom-kill:|Memory cgroup out of memory|"
                         r"oom_reaper: reaped|Killed process \d+")


def kernel_oom(started: float | None, finished: float | None) -> list[str]:
    """The kernel's OOM-killer records logged between ``started`` and ``finished`` (wall
    clock), read from ``/dev/kmsg``; empty when it cannot be read (containers, no root)."""
    if started is None:
        return []
    try:
        fd = os.open("/dev/kmsg", os.O_RDONLY | os.O_NONBLOCK)
    except OSError:
        return []
    records: list[bytes] = []
    try:
        while True:
            try:
                raw = os.read(fd, 8192)
            except BlockingIOError:
                break
            except BrokenPipeError:  # records overwritten while reading: go on
                continue
            except OSError:
                break
            if not raw:
                break
            records.append(raw)
    finally:
        os.close(fd)
    boot = time.time() - time.monotonic()  # the records count microseconds since boot
    return oom_records(records, started, (finished or time.time()), boot)


def oom_records(records: Iterable[bytes], started: float, finished: float,
                boot: float) -> list[str]:
    """The OOM-killer lines among ``/dev/kmsg`` records (``PRI,SEQ,USEC,FLAGS;TEXT``) logged
    from ``started`` to ``finished`` (with two seconds' slack), the machine booting at
    ``boot``."""
    found: list[str] = []
    for raw in records:
        head, _, text = raw.decode("utf-8", "replace").partition(";")
        parts = head.split(",")
        if len(parts) < 3 or not parts[2].isdigit():
            continue
        when = boot + int(parts[2]) / 1e6
        message = text.splitlines()[0] if text else ""
        if started - 2.0 <= when <= finished + 2.0 and _OOM_KERNEL.search(message):
            found.append(f"kernel: {message}")
    return found[-MAX_EVIDENCE:]


def _oom_in_kernel(ctx: Context) -> list[str] | None:
    if not ctx.killed:
        return None
    return kernel_oom(ctx.result.started, ctx.result.finished) or None


def _killed(ctx: Context) -> list[str] | None:
    if not ctx.killed:
        return None
    lines = _matching(ctx.lines[-50:], [_KILLED_LINE])
    how = (f"killed by signal {_signal_name(ctx.result.signal)}" if ctx.result.signal
           else f"exit status {ctx.result.exit_code}")
    return [how, *lines] if lines or ctx.result.signal or ctx.result.exit_code else None


_MISSING_FILE = [re.compile(p) for p in (
    r"fatal error: ([^\s:]+): No such file or directory",
    r"No rule to make target '([^']+)', needed by",
    r"No rule to make target `([^']+)', needed by",
    r"cannot open (?:source )?file ['\"]?([^'\"\s:]+)",
)]


def _race(ctx: Context) -> list[str] | None:
    """A file that was missing when a parallel make needed it, and exists now: its rule ran
    later than the rule that needed it (a missing dependency in the Makefile)."""
    if ctx.jobs <= 1:
        return None
    for line in reversed(ctx.lines[-LOG_LINES:]):
        for pattern in _MISSING_FILE:
            match = pattern.search(line)
            if match is None:
                continue
            name = match.group(1)
            for folder in ctx.dirs:
                if (folder / name).exists():
                    return [_cut(line), f"{name} exists now in {folder}: a rule that makes it "
                                        f"ran after the rule that needed it, at -j{ctx.jobs}"]
    return None


def jobs_of(makeflags: str | None) -> int:
    """The job count that ``MAKEFLAGS`` gives make (a jobserver counts as 2: parallel)."""
    if not makeflags:
        return 1
    if "--jobserver-auth" in makeflags or "--jobserver-fds" in makeflags:
        return 2
    match = re.search(r"(?:^|\s)-\w*j\s*(\d*)|--jobs(?:=|\s+)(\d+)", makeflags)
    if match is None:
        match = re.fullmatch(r"\w*j(\d*)\w*", makeflags.strip())  # make's own "j4" form
        if match is None:
            return 1
    digits = next((g for g in match.groups() if g), "")
    return int(digits) if digits else 2  # -j alone: no limit


def log_lines(path: Path | None, tail: list[str]) -> list[str]:
    """The last :data:`LOG_LINES` lines of the attempt's log (else its ``tail``), lfsplug's own
    notes (``# lfsplug: running in DIR``) included."""
    lines: list[str] = []
    if path is not None:
        try:
            with open(path, "rb") as handle:
                handle.seek(0, os.SEEK_END)
                size = handle.tell()
                handle.seek(max(0, size - (512 << 10)))
                lines = handle.read().decode("utf-8", "replace").splitlines()[-LOG_LINES:]
        except OSError:
            lines = []
    return lines or list(tail)


# -- the table ----------------------------------------------------------------------------------
_INTERRUPT = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT})

SIGNATURES: tuple[Signature, ...] = (
    Signature(
        "timeout", False,
        "the script ran longer than its timeout (`timeout=`, `--timeout`): the executor's "
        "message `timed out after N s`",
        "raise `timeout=` in the script's header or `--timeout` if the machine is slow; look "
        "for a test that hangs", message=r"timed out after "),
    Signature(
        "silence", False,
        "the script printed nothing for `--silence-timeout` seconds: the executor's message "
        "`no output for N s`",
        "look at the log's last lines for a prompt waiting for input (stdin is closed) or a "
        "hung test; raise `--silence-timeout` for a long quiet step",
        message=r"no output for "),
    Signature(
        "interrupted", False,
        "the build was stopped (an interrupt, a disk HALT, `session.stop`) and lfsplug ended "
        "the script, or it died of SIGINT, SIGTERM, SIGHUP or SIGQUIT: the executor's message "
        "starts `ended:`",
        "nothing is wrong with the script: run `lfsplug run` again to resume",
        message=r"(?:^|; )ended: ", signals=_INTERRUPT),
    Signature(
        "out-of-memory", True,
        "the compiler or the kernel ran out of memory: `Killed signal terminated program "
        "cc1plus`, `virtual memory exhausted`, `out of memory allocating`, `Cannot allocate "
        "memory`, `std::bad_alloc`, or a SIGKILL (status 137) with the kernel's OOM-killer "
        "record (`/dev/kmsg`, when readable) in the attempt's time",
        "build with fewer jobs (`MAKEFLAGS=-j1`, which the retry does), add swap, or close "
        "what else uses memory", policy="serial",
        patterns=(r"Killed signal terminated program", r"virtual memory exhausted",
                  r"out of memory allocating", r"[Cc]annot allocate memory",
                  r"std::bad_alloc", r"internal compiler error: Killed \(program",
                  r"fatal error: (?:out of memory|memory exhausted)", r"^MemoryError"),
        check=_oom_in_kernel, window=200),
    Signature(
        "disk-full", False,
        "a file system filled up: `No space left on device`, `Disk quota exceeded`",
        "free space where the build writes (`$LFS`, the sources, the state directory: `df -h`) "
        "and run again; the `[monitor] disk` floors stop a build before this",
        policy="halt",
        patterns=(r"No space left on device", r"Disk quota exceeded", r"\bENOSPC\b"),
        window=200),
    Signature(
        "killed", False,
        "SIGKILL (of the script, or status 137 of a command it ran) without any sign of memory "
        "running out: something else killed it (a person, a watchdog, a container limit)",
        "look at `dmesg` and whoever sends SIGKILL here; run again", check=_killed),
    Signature(
        "parallel-make-race", True,
        "a parallel make (`-j` above 1) needed a generated file before the rule that makes it "
        "ran: `fatal error: X.h: No such file or directory` or `No rule to make target 'X', "
        "needed by` for a file X that exists once make has finished",
        "build the package with `MAKEFLAGS=-j1` (the retry does) and report the missing "
        "dependency upstream", policy="serial", check=_race),
    Signature(
        "missing-command", False,
        "a command the script runs is not installed or not in `PATH`: exit status 127, "
        "`command not found`",
        "install the command (see the book's host requirements, `lfsplug host`), or fix "
        "`PATH` (the book's `/tools/bin` first)",
        patterns=(r"command not found", r"^\S+: \d+: \S+: not found$"),
        exit_codes=frozenset({127}), window=50),
    Signature(
        "patch-failure", False,
        "a patch does not apply: `Hunk #N FAILED`, `can't find file to patch`, `Reversed (or "
        "previously applied) patch detected`",
        "use the patch for this version of the package (the book's), check `-p1`/`-Np1`, and "
        "that the tree was not patched before (a retry starts from a clean tree)",
        patterns=(r"Hunk #\d+ FAILED", r"can't find file to patch",
                  r"Reversed \(or previously applied\) patch detected",
                  r"\d+ out of \d+ hunks? FAILED", r"patch: \*\*\*\* ", r"error: patch failed:"),
        window=500),
    Signature(
        "missing-source", False,
        "a source tarball or patch is not there: `tar: X: Cannot open: No such file`, "
        "`unpack=` finding no file, a download answered 404",
        "download it into the sources directory (the book's `wget-list`, checked against "
        "`md5sums`), or fix the name in `unpack=`",
        message=r"unpack=.*(?:no such file|no file matches)",
        patterns=(r"tar(?: \(child\))?: .*: Cannot open: No such file",
                  r"(?:gzip|xz|bzip2|zstd|unzip): .*\.(?:t?gz|xz|bz2|zst|zip|tar\S*)"
                  r": No such file",
                  r"\S+\.(?:tar(?:\.\w+)?|tgz|txz|tbz2|patch)\b.*No such file or directory",
                  r"ERROR 404: Not Found", r"returned error: 404"), window=200),
    Signature(
        "test-suite", False,
        "the package's test suite failed: `FAIL:` lines, `# FAIL:  N`, `make: *** [check]`, "
        "or any failure of a `make check`/`make test` line",
        "compare with the book's known test failures for the package; `make -k check` and "
        "its own log say which tests; skip the test step if the book says it is optional",
        patterns=(r"^FAIL: ", r"^# FAIL: +[1-9]", r"^ERROR: .*\btests?\b",
                  r"\*\*\* \[[^\]]*(?:check|test)[^\]]*\] Error \d+",
                  r"^\d+ (?:of \d+ )?tests? failed"),
        steps=frozenset({"test"}), window=300),
    Signature(
        "network", True,
        "a download or other network access failed: `Could not resolve host`, `Temporary "
        "failure in name resolution`, `Connection refused`, `Connection timed out`, `Failed "
        "to connect`, `curl: (N)`, `unable to resolve host address`",
        "check the network and the mirror (proxy, DNS); fetch the sources before the build",
        policy="retry",
        patterns=(r"Could not resolve host", r"Temporary failure in name resolution",
                  r"Name or service not known", r"Connection refused", r"Connection timed out",
                  r"Connection reset by peer", r"Network is unreachable", r"Failed to connect",
                  r"^curl: \(\d+\)", r"unable to resolve host address",
                  r"Unable to establish SSL connection", r"fatal: unable to access"),
        window=200),
    Signature(
        "permission-denied", False,
        "the script may not do what it tried: `Permission denied`, `Operation not permitted`, "
        "exit status 126 (not executable)",
        "run the script as the user the book says (`[chroot]` phases, `user=`), fix the "
        "ownership of `$LFS` and its sources (the book's `chown` steps)",
        patterns=(r"Permission denied", r"Operation not permitted"),
        exit_codes=frozenset({126}), window=30),
    Signature(
        "configure-error", False,
        "the configure step failed: `configure: error:`, `CMake Error`, a meson `ERROR:`, or "
        "any failure of a `configure`/`cmake`/`meson setup` line",
        "read `config.log` (or `CMakeFiles/CMakeError.log`, `meson-logs/`) for the failed "
        "check; usually a missing dependency or a wrong option",
        patterns=(r"configure: error:", r"^CMake Error", r"meson\.build:\d+:\d+: ERROR:",
                  r"^ERROR: (?:Dependency|Program|Problem encountered)"),
        steps=frozenset({"configure"}), window=200),
    Signature(
        "link-error", False,
        "the link failed: `undefined reference to`, `ld: cannot find -lX`, `collect2: error: "
        "ld returned 1 exit status`, `multiple definition of`",
        "a library is missing or was built wrongly (check the earlier package), or the order "
        "of libraries on the link line",
        patterns=(r"undefined reference to", r"\bld(?:\.\w+)?: cannot find -l",
                  r"collect2: error: ld returned", r"ld returned \d+ exit status",
                  r"multiple definition of", r"undefined symbol:"), window=300),
    Signature(
        "compile-error", False,
        "the compiler rejected the code: `file.c:LINE:COL: error:`, `fatal error:`",
        "a header or dependency is missing or of the wrong version, or the package needs a "
        "patch for this compiler (the book's)",
        patterns=(r"^\S+:\d+(?::\d+)?: (?:fatal )?error: ", r"^(?:cc1|cc1plus|gcc|g\+\+|clang"
                  r"|cc): (?:fatal )?error: "), window=300),
    Signature(
        "unknown", False,
        "none of the above matched: the last lines of the log are its evidence",
        "read the log (`lfsplug log NAME`) from the failing line upwards"),
)


def classify(ctx: Context, signatures: Sequence[Signature] = SIGNATURES) -> FailureClass:
    """The first class whose evidence shows in ``ctx``; then one whose step matches; else
    ``unknown``."""
    for sig in signatures:
        if sig.name == "unknown":
            continue
        found = sig.evidence(ctx)
        if found:
            return sig.label(found)
    step = ctx.result.failed_step
    for sig in signatures:
        if step is not None and step in sig.steps:
            command = ctx.result.failed_command
            evidence = [f"failed in the {step} step" + (f": {command}" if command else ""),
                        *_last(ctx.lines, 3)]
            return sig.label(evidence)
    return SIGNATURES[-1].label(_last(ctx.lines, 5))


def by_name(name: str) -> Signature | None:
    """The signature of class ``name``."""
    return next((s for s in SIGNATURES if s.name == name), None)
