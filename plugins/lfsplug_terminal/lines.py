"""The text of every line the terminal prints, shared by the dashboard and plain mode.

Pure functions of records and numbers, so that both modes say the same thing in the same words
and tests can check a line without running a build. A line comes with a :data:`Style` (click's
``style`` keywords: ``fg``, ``bold``), which each output turns into its own colours.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from lfsplug import Alert, ScriptResult, Status, format_duration, redact_text


class Style(TypedDict, total=False):
    """click.style keywords (``{"fg": "red", "bold": True}``); empty for no style."""

    fg: str
    bold: bool
    dim: bool
    underline: bool


TAIL_SHOWN = 20
#: Names a summary line lists before it says how many more there are.
NAMES_SHOWN = 10
STATUS_COLOURS = {Status.PASSED: "green", Status.FAILED: "red", Status.SKIPPED: "yellow",
                  Status.NOT_RUN: "white"}

# ANSI escape sequences (CSI, OSC and two-character ones) and the other control characters a
# build's output carries (colours from gcc or ninja, \r progress meters, bells)
_ESCAPES = re.compile(r"\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass
class Line:
    """One line to print, and how."""

    text: str
    style: Style = field(default_factory=Style)


def printable(text: str) -> str:
    """A script's output line as a terminal should show it: what the last ``\\r`` left, with
    escape sequences and control characters removed and tabs as spaces."""
    if "\r" in text:
        text = next((part for part in reversed(text.split("\r")) if part), "")
    if "\x1b" in text:
        text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text.expandtabs(4)) if not text.isprintable() else text


def counter(count: int, total: int) -> str:
    """``[ 3/10]``: the count padded to the width of the total."""
    width = len(str(total))
    return f"[{count:>{width}}/{total}]"


def start_line(number: int, total: int, name: str, attempt: int) -> Line:
    """``[3/10] start   gcc``: ``number`` is the script's own (plain mode numbers scripts in
    the order they start, and its result line repeats the number)."""
    again = f" (attempt {attempt})" if attempt > 1 else ""
    return Line(f"{counter(number, total)} start   {name}{again}")


def finish_line(number: int, total: int, result: ScriptResult) -> Line:
    """``[2/2] failed  bad  0.1 s (exit status 4)``: ``number`` is the script's own in plain
    mode, the count of scripts done on the dashboard."""
    extra = " (unchanged, from an earlier run)" if result.cached else ""
    if result.status is Status.FAILED:
        extra = f" ({result.message or failure_cause(result)})"
    elif result.status is Status.SKIPPED and result.message:
        extra = f" ({result.message})"
    text = (f"{counter(number, total)} {result.status!s:<7} {result.name}  "
            f"{format_duration(result.duration)}{extra}")
    return Line(text, {"fg": STATUS_COLOURS[result.status]})


def failure_cause(result: ScriptResult) -> str:
    """``exit status 4`` or ``signal 9``."""
    if result.signal:
        return f"signal {result.signal}"
    return f"exit status {result.exit_code}"


def failure_block(result: ScriptResult, tail_shown: int = TAIL_SHOWN,
                  secrets: Sequence[str] = ()) -> list[Line]:
    """The last lines of a failed script's output (``secrets``, and whatever
    ``lfsplug.redact_text`` finds, redacted) and the path of its full log."""
    lines: list[Line] = []
    tail = result.tail[-tail_shown:] if tail_shown > 0 else []
    if tail:
        lines.append(Line(f"---- last {len(tail)} lines of {result.name} ----", {"fg": "red"}))
        lines.extend(Line("    " + redact_text(printable(line), secrets)) for line in tail)
    if result.log_path:
        lines.append(Line(f"---- full log: {result.log_path}", {"fg": "red"}))
    return lines


def show_path(path: Path | None, base: Path | None = None) -> str:
    """A path as a user would type it from ``base`` (the current directory): relative when
    it lies below, else absolute."""
    if path is None:
        return "-"
    base = base or Path.cwd()
    try:
        return os.fspath(path.relative_to(base))
    except ValueError:
        return os.fspath(path)


def summary_failure(result: ScriptResult, dash: str = "\u2014", base: Path | None = None) -> Line:
    """Portage-style: ``gcc: failed (out-of-memory, signal 9) — see
    .lfsplug/logs/gcc.log``: the class a plugin gave the failure (not when it is ``unknown``),
    and what ended it."""
    known = result.failure_class if result.failure_class != "unknown" else None
    cause = result.message or failure_cause(result)
    why = ", ".join(p for p in (known, cause) if p) or "unknown"
    text = f"{result.name}: failed ({why}) {dash} see {show_path(result.log_path, base)}"
    return Line(text, {"fg": "red"})


def failed_where(result: ScriptResult, secrets: Sequence[str] = ()) -> Line | None:
    """``    failed command (line 12, make): make -j4``, when a plugin found where it failed."""
    if not result.failed_command:
        return None
    where = ", ".join(p for p in (f"line {result.failed_line}" if result.failed_line else "",
                                  result.failed_step or "") if p)
    command = printable(redact_text(result.failed_command, secrets))
    return Line(f"    failed command{f' ({where})' if where else ''}: {command}", {"fg": "red"})


def names_line(label: str, names: Sequence[str], indent: str = "    ",
               shown: int = NAMES_SHOWN) -> Line:
    """``    not built because of it: glibc, binutils-pass2 (and 3 more)``."""
    more = f" (and {len(names) - shown} more)" if len(names) > shown else ""
    return Line(f"{indent}{label}: {', '.join(names[:shown])}{more}", {"fg": "yellow"})


def resume_line(command: str) -> Line:
    """``resume with: lfsplug run scripts -j 4``."""
    return Line(f"resume with: {command}", {"bold": True})


def totals_line(counts: dict[str, int], reused: int, elapsed: float, bad: bool) -> Line:
    """``==== 3 passed, 1 failed in 2m05s (2 reused from earlier runs) ====``."""
    parts = [f"{n} {status}" for status, n in counts.items() if n]
    again = f" ({reused} reused from earlier runs)" if reused else ""
    text = f"==== {', '.join(parts) or 'nothing run'} in {format_duration(elapsed)}{again} ===="
    return Line(text, {"fg": "red" if bad else "green", "bold": True})


def labels_text(labels: Mapping[str, str]) -> str:
    """``target: aarch64-lfs-linux-gnu, host: x86_64-linux-gnu``: what the build is for
    (``config.labels``); empty when it has no labels."""
    return ", ".join(f"{key}: {value}" for key, value in labels.items())


def alert_text(alert: Alert) -> str:
    """``disk warn: /mnt/lfs has 4.2 GiB free``."""
    return f"{alert.kind} {alert.level}: {alert.message}"


@dataclass(frozen=True)
class RunningInfo:
    """What the heartbeat says of one running script."""

    name: str
    elapsed: float
    expected: float | None = None


@dataclass(frozen=True)
class Idle:
    """Why ``slots`` slots of ``-j N`` run nothing: the scheduler holds the next script back
    (``reason``, from its ``throttle`` event), or none is ready. ``ready``: the scripts that
    could start, the next first; ``waits``: with none ready, the script next in line and the
    scripts it waits for."""

    slots: int
    reason: str | None = None
    ready: tuple[str, ...] = ()
    waits: tuple[str, tuple[str, ...]] | None = None


def idle_text(idle: Idle) -> str:
    """``1 slot idle: the makes of gcc hold every jobserver token; next: glibc``."""
    text = f"{idle.slots} slot{'s' if idle.slots > 1 else ''} idle"
    if idle.reason:
        text += f": {printable(idle.reason)}"
    if idle.ready:
        more = len(idle.ready) - 1
        text += f"; next: {idle.ready[0]}" + (f" ({more} more ready)" if more else "")
    elif idle.waits is not None:
        name, before = idle.waits
        text += f": nothing ready; {name} waits for {', '.join(before)}"
    elif not idle.reason:
        text += ": nothing left to start"
    return text


def heartbeat_line(done: int, total: int, elapsed: float, running: Sequence[RunningInfo],
                   eta: float | None, *, idle: Idle | None = None) -> Line:
    """``[3/10] still building after 12m30s: gcc 4m02s of ~5m00s, binutils 1m00s; ETA 25m00s``,
    and why slots are idle when they are (``; 1 slot idle: nothing ready; ...``)."""
    shown = ", ".join(_running_text(r) for r in running) or "nothing running"
    tail = f"; ETA {format_duration(eta)}" if eta is not None else ""
    tail += f"; {idle_text(idle)}" if idle is not None else ""
    return Line(f"{counter(done, total)} still building after {format_duration(elapsed)}: "
                f"{shown}{tail}", {"fg": "cyan"})


def _running_text(info: RunningInfo) -> str:
    expected = f" of ~{format_duration(info.expected)}" if info.expected else ""
    return f"{info.name} {format_duration(info.elapsed)}{expected}"


def encodable(text: str, encoding: str | None) -> bool:
    """Whether a stream in ``encoding`` can take ``text`` (the summary's dash); a stream
    without one (``io.StringIO``) takes any text."""
    try:
        text.encode(encoding or "utf-8")
    except (UnicodeEncodeError, LookupError):
        return False
    return True

