"""The jhalfs SBU and disk-usage report: read one (to import it as history), write one of a run.

jhalfs (the LFS project's build automation) ends a build with a text report: the date, the book
version, its configuration (``KEY <value>`` lines), the machine (``lscpu``, ``free``), the SBU
("The SBU unit value is equal to 79 seconds at -j3."), then one block per package build in
build order, and the totals::

    ================================================================================
    \t\t\t\t[binutils-pass1-2.42]

    Build time is:\t\t\t\t\t\t1 minutes and 19 seconds
    Build time in seconds is:\t\t\t\t79
    Approximate SBU time is:\t\t\t\t1.0
    Disk usage before unpacking the package:\t\t531284 KB or 518.832 MB
    Disk usage before deleting the source and build dirs:\t1249716 KB or 1220.426 MB
    Required space to build the package:\t\t\t718432 KB or 701.594 MB
    Installed files disk usage:\t\t\t\t107196 KB or 104.684 MB

:func:`parse_report` reads that (a package may appear twice, as m4 does in chapters 6 and 8;
disk figures may be negative, as ``cleanup`` frees space); :func:`write_report` writes a run in
the same form, leaving out each figure lfsplug does not know (no SBU line without an SBU, but
a line saying how to give one; no disk line without the monitor's disk figures, which are
jhalfs's: a ``du`` of ``$LFS`` as each script starts and ends), so that what it writes parses
back the same.
"""

from __future__ import annotations

import datetime
import os
import platform
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import HistoryEntry, UsageError

if TYPE_CHECKING:
    from lfsplug_reports.data import RunData

__all__ = ["PackageBuild", "SbuReport", "history_entries", "parse_report", "read_report",
           "render", "split_name", "write_report"]

RULE = "=" * 80
#: The disk figures of a block, by label, in the order jhalfs writes them.
DISK_LABELS = {
    "before": "Disk usage before unpacking the package:",
    "after": "Disk usage before deleting the source and build dirs:",
    "required": "Required space to build the package:",
    "installed": "Installed files disk usage:",
}
_TABS = {"before": 2, "after": 1, "required": 3, "installed": 4}
_NUMBER = r"(-?\d+(?:\.\d+)?)"
_BLOCK = re.compile(r"^\s*\[(.+)\]\s*$")
_UNIT = re.compile(rf"^The SBU unit value is equal to {_NUMBER} seconds(?: at -j(\d+))?\.?\s*$")
_SETTING = re.compile(r"^([A-Z][A-Z0-9_]*)\s+<(.*)>\s*$")
_CPU = re.compile(r"^([^:]+):\s+(.*?)\s*$")
_MEM = re.compile(r"^Mem:\s+(\d+)")
_VERSION = re.compile(r"^(.+?)-(\d[^\s/]*)$")
#: The lines of a package block: label, then the pattern of what follows it.
_FIELDS = {
    "Build time is:": re.compile(r"^(\d+) minutes and (\d+) seconds$"),
    "Build time in seconds is:": re.compile(rf"^{_NUMBER}$"),
    "Approximate SBU time is:": re.compile(rf"^{_NUMBER}$"),
    **{label: re.compile(rf"^{_NUMBER} KB(?: or {_NUMBER} MB)?$")
       for label in DISK_LABELS.values()},
}
_TOTAL_SBU = re.compile(rf"^Total time required to build the system:\s+{_NUMBER}\s+SBU\s*$")
_TOTAL_DISK = re.compile(rf"^Total Installed files disk usage:\s+{_NUMBER} KB")


@dataclass
class PackageBuild:
    """One block of a report: a package build, in seconds and SBU, with disk figures (KiB)."""

    title: str
    seconds: float
    sbu: float | None = None
    disk: dict[str, float] = field(default_factory=dict)
    line: int = 0

    @property
    def name(self) -> str:
        return split_name(self.title)[0]

    @property
    def version(self) -> str | None:
        return split_name(self.title)[1]


@dataclass
class SbuReport:
    """A whole report: where and how it was built, the SBU, the packages and the totals."""

    packages: list[PackageBuild] = field(default_factory=list)
    sbu_seconds: float | None = None
    jobs: int | None = None
    date: str | None = None
    book_version: str | None = None
    settings: dict[str, str] = field(default_factory=dict)
    cpu: dict[str, str] = field(default_factory=dict)
    memory_kib: int | None = None
    total_sbu: float | None = None
    total_installed: float | None = None


def split_name(title: str) -> tuple[str, str | None]:
    """``binutils-pass1-2.42`` → (``binutils-pass1``, ``2.42``); the version starts at the
    first ``-`` followed by a digit (``ncurses-6.4-20230520``, ``iana-etc-20240801``)."""
    found = _VERSION.match(title)
    return (found.group(1), found.group(2)) if found else (title, None)


# -- reading -----------------------------------------------------------------------------------


def read_report(path: Path) -> SbuReport:
    """Parse the report at ``path``; UsageError (exit 4) naming the file (and line) if it
    cannot be read or is not a jhalfs SBU report."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_report(text, str(path))


def parse_report(text: str, where: str = "<report>") -> SbuReport:
    """Parse a report's text; ``where`` names it in errors (``FILE:LINE: ...``)."""
    report = SbuReport()
    section = "head"
    block: PackageBuild | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if section == "head" and report.date is None:
            report.date = line
            continue
        found = _BLOCK.match(raw)
        if found:
            _close(report, block, where)
            block = PackageBuild(found.group(1).strip(), -1.0, line=number)
            section = "block"
            continue
        section = _head_line(report, line, section) if block is None else section
        if block is not None and _block_line(block, line, f"{where}:{number}"):
            continue
        if line.startswith("Total"):
            _close(report, block, where)
            block = None
            _total_line(report, line, f"{where}:{number}")
    _close(report, block, where)
    if not report.packages and report.sbu_seconds is None and report.book_version is None:
        raise UsageError(f"{where}: not a jhalfs SBU report (no package block, no 'Book "
                         f"version is:' line and no 'The SBU unit value is equal to ...' line)")
    return report


def _head_line(report: SbuReport, line: str, section: str) -> str:
    """Read one line before the first package block; return the section it leaves us in."""
    if line.startswith("Book version is:"):
        report.book_version = line.partition(":")[2].strip() or None
    elif line.endswith("configuration settings:") or line.endswith("run settings:"):
        return "settings"
    elif line == "CPU type:":
        return "cpu"
    elif line == "Memory info:":
        return "memory"
    elif (unit := _UNIT.match(line)) is not None:
        report.sbu_seconds = float(unit.group(1))
        report.jobs = int(unit.group(2)) if unit.group(2) else None
    elif section == "settings" and (setting := _SETTING.match(line)):
        report.settings[setting.group(1)] = setting.group(2)
    elif section == "cpu" and (cpu := _CPU.match(line)):
        report.cpu[cpu.group(1).strip()] = cpu.group(2)
    elif section == "memory" and (mem := _MEM.match(line)):
        report.memory_kib = int(mem.group(1))
    return section


def _block_line(block: PackageBuild, line: str, where: str) -> bool:
    """Read one line of a package block; False when it is not one of the block's lines."""
    label = next((label for label in _FIELDS if line.startswith(label)), None)
    if label is None:
        return False
    value = line[len(label):].strip()
    found = _FIELDS[label].match(value)
    if found is None:
        raise UsageError(f"{where}: cannot read {label!r}: {value!r}")
    if label == "Build time in seconds is:":
        block.seconds = float(found.group(1))
    elif label == "Approximate SBU time is:":
        block.sbu = float(found.group(1))
    elif label == "Build time is:":
        if block.seconds < 0:  # the seconds line, when present, is exact
            block.seconds = int(found.group(1)) * 60.0 + int(found.group(2))
    else:
        key = next(k for k, text in DISK_LABELS.items() if text == label)
        block.disk[key] = float(found.group(1))
    return True


def _total_line(report: SbuReport, line: str, where: str) -> None:
    if (total := _TOTAL_SBU.match(line)) is not None:
        report.total_sbu = float(total.group(1))
    elif (disk := _TOTAL_DISK.match(line)) is not None:
        report.total_installed = float(disk.group(1))
    else:
        raise UsageError(f"{where}: cannot read the total: {line!r}")


def _close(report: SbuReport, block: PackageBuild | None, where: str) -> None:
    if block is None:
        return
    if block.seconds < 0:
        raise UsageError(f"{where}:{block.line}: package block [{block.title}] has no build "
                         f"time")
    report.packages.append(block)


def history_entries(report: SbuReport, source: str) -> list[HistoryEntry]:
    """The report's package builds as history entries for the state service."""
    return [HistoryEntry(name=p.name, version=p.version, seconds=p.seconds, sbu=p.sbu,
                         sbu_seconds=report.sbu_seconds, jobs=report.jobs, disk=dict(p.disk),
                         source=source, position=i)
            for i, p in enumerate(report.packages, 1)]


# -- writing -----------------------------------------------------------------------------------


def write_report(data: RunData, path: Path) -> None:
    """Write the SBU report of ``data`` to ``path``."""
    path.write_text(render(data), encoding="utf-8")


def render(data: RunData) -> str:
    """The SBU report of a run, as text: only the scripts built (and passed) in this run."""
    return "\n".join(_render(data)) + "\n"


def _render(data: RunData) -> Iterator[str]:
    run = data.run
    unit = data.sbu_seconds()
    started = datetime.datetime.fromtimestamp(run.started, datetime.UTC)
    yield ""
    yield started.strftime("%a %b %e %H:%M:%S UTC %Y")
    yield ""
    target = f", target {run.target}" if run.target is not None else ""
    yield f"Book version is:\tlfsplug run {run.id}{target}"
    yield from ("", "", "\tlfsplug run settings:", "")
    for key, value in (("COMMAND", run.command_line), ("LFSPLUG", run.version),
                       ("HOST", run.host), ("STATE", run.state),
                       ("EXIT_CODE", "" if run.exit_code is None else str(run.exit_code)),
                       *((("LABELS", run.labels_text("=")),) if run.labels else ())):
        yield f"{key} \t<{value}>"
    if data.source == "session" or run.host == socket.gethostname():
        yield from _machine()
    yield from ("", "", RULE, "")
    if unit is not None:
        unit = shown_unit(unit)
        jobs = f" at -j{data.jobs}" if data.jobs else ""
        # whole seconds are written out in full: 1e+06 is no number jhalfs (or its readers) write
        shown = f"{unit:.0f}" if unit >= 10 else f"{unit:g}"
        yield f"The SBU unit value is equal to {shown} seconds{jobs}."
        yield ""
    else:  # jhalfs's readers pass over a head line they do not know
        yield f"The SBU unit value is unknown: {data.sbu_hint()}."
        yield ""
    total_sbu, installed = 0.0, 0.0
    has_installed = False
    for script in data.scripts:
        if not script.ran or script.status != "passed" or script.duration is None:
            continue
        seconds = round(script.duration)
        sbu = data.script_sbu(script, unit)
        yield RULE
        yield f"\t\t\t\t[{script.name}-{script.version}]" if script.version else (
            f"\t\t\t\t[{script.name}]")
        yield ""
        yield f"Build time is:\t\t\t\t\t\t{seconds // 60} minutes and {seconds % 60} seconds"
        yield f"Build time in seconds is:\t\t\t\t{seconds}"
        if sbu is not None:
            total_sbu += round(sbu, 1)
            yield f"Approximate SBU time is:\t\t\t\t{sbu:.1f}"
        disk = script.disk
        for key, label in DISK_LABELS.items():
            if key in disk:
                kib = round(disk[key])
                yield f"{label}{chr(9) * _TABS[key]}{kib} KB or {kib / 1024:.3f} MB"
        if "installed" in disk:
            has_installed, installed = True, installed + round(disk["installed"])
        yield ""
    yield from ("", RULE, "")
    if unit is not None:
        yield f"Total time required to build the system:\t\t{total_sbu:.1f}  SBU"
    if has_installed:
        yield (f"Total Installed files disk usage:\t\t\t{installed:.3f} KB or "
               f"{installed / 1024:.3f} MB")


def shown_unit(seconds: float) -> float:
    """The SBU as the report gives it: whole seconds as jhalfs writes them, or milliseconds
    below 10 s (a test build's SBU would otherwise be 0)."""
    return float(round(seconds)) if seconds >= 10 else round(seconds, 3)


def _machine() -> Iterator[str]:
    """This machine, as ``lscpu`` and ``free`` show it in a jhalfs report (the report is
    written on the machine that built, or a report of a run on another host leaves it out)."""
    import psutil

    yield from ("", "", "", "", "\t\tCPU type:", "")
    yield f"{'Architecture:':<36}{platform.machine()}"
    yield f"{'CPU(s):':<36}{os.cpu_count() or '?'}"
    model = _cpu_model()
    if model:
        yield f"{'Model name:':<36}{model}"
    memory, swap = psutil.virtual_memory(), psutil.swap_memory()
    yield from ("", "\t\tMemory info:", "")
    yield f"{'':15}{'total':>5}{'used':>12}{'free':>12}{'shared':>12}{'buff/cache':>12}" \
          f"{'available':>12}"
    cache = getattr(memory, "buffers", 0) + getattr(memory, "cached", 0)
    yield (f"{'Mem:':<8}{memory.total // 1024:>12}{memory.used // 1024:>12}"
           f"{memory.free // 1024:>12}{getattr(memory, 'shared', 0) // 1024:>12}"
           f"{cache // 1024:>12}{memory.available // 1024:>12}")
    yield f"{'Swap:':<8}{swap.total // 1024:>12}{swap.used // 1024:>12}{swap.free // 1024:>12}"


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
            for line in file:
                key, sep, value = line.partition(":")
                if sep and key.strip() == "model name":
                    return value.strip()
    except OSError:
        return None
    return None
