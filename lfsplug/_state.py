"""The state service: what a plugin that keeps the builds' records offers the others.

The kernel defines the contract; the built-in ``state`` plugin implements it over its SQLite
database. A plugin reaches the service through the firstresult hook
:func:`~lfsplug._hookspec.lfsplug_state_service` (``config.hook.lfsplug_state_service(
config=config)``), as pytest's plugins reach ``config.cache``; the answer is None when no
plugin keeps state (``-p no:state``), and the caller then works with what the session knows.

Everything the service returns is a frozen record of this module: the caller never sees a
table, a row or a connection, so the database's layout can change without breaking it.

The logs are the one part of the state directory the kernel writes: a folder per run, so that
no run overwrites another's logs. ``logs/RUN/NAME.log`` holds attempt 1 of script NAME in run
RUN (``NAME.N.log`` attempt N). RUN is the state plugin's run number (``session.run_label``),
or, without the state plugin, the time the run started to the microsecond. Links reach the
newest: ``logs/NAME.log`` (and ``NAME.N.log``) point to the logs of the last run that ran NAME,
``logs/latest`` to ``RUN/latest`` (which the executor points to the newest log of the run).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from lfsplug._events import Record

__all__ = [
    "HistoryEntry",
    "StateService",
    "StoredAttempt",
    "StoredEvent",
    "StoredResult",
    "StoredRun",
    "StoredSample",
    "StoredSamples",
    "link_newest",
    "log_name",
    "relink",
    "run_label",
]


#: The states of a stored result that mean the script really ran in its run (not reused,
#: skipped or never reached).
RAN = ("passed", "failed", "running", "interrupted")


@dataclass(frozen=True)
class StoredRun:
    """One recorded ``lfsplug run``."""

    id: int
    started: float
    #: None while the run goes on, and for a run that crashed
    finished: float | None
    exit_code: int | None
    #: ``running``, ``finished``, ``interrupted`` (Ctrl-C) or ``crashed`` (it died unfinished)
    state: str
    #: the command as it took effect (``lfsplug run /src --force gcc``)
    command_line: str
    #: the lfsplug version that ran it, and the host it ran on
    version: str
    host: str
    #: how many scripts its plan had; None when it stopped before building
    total: int | None = None
    #: events and samples kept and dropped: ``events_kept``, ``events_dropped``,
    #: ``samples_kept``, ``samples_dropped`` (the current run's as they stand now)
    counts: Mapping[str, int] = field(default_factory=dict)
    #: the run's own figures that plugins recorded (the monitor's summaries, SBU, ETA error)
    metrics: Mapping[str, Any] = field(default_factory=dict)
    #: what the build was for, as plugins set ``config.labels`` (``{"target": ...}``); empty
    #: for a run without labels, and for runs recorded before labels were kept
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str | None:
        """The ``target`` label, or None."""
        return self.labels.get("target")


@dataclass(frozen=True)
class StoredAttempt:
    """One attempt of a script: its number (from 1), when it started, its log."""

    attempt: int
    started: float
    log_path: str | None = None


@dataclass(frozen=True)
class StoredResult:
    """One script of one run, as recorded: where it stood in the plan, how it ended, each
    attempt, and what discovery knew of it (phase, version, packages)."""

    run_id: int
    #: its place in the run's plan, from 1
    position: int
    name: str
    path: str
    #: ``not-run``, ``running``, ``passed``, ``failed``, ``skipped`` or ``interrupted``
    status: str
    #: reused from an earlier run's pass, and that run (None: not reused, or that run is gone)
    cached: bool = False
    reused_run: int | None = None
    #: why it ran rather than being reused (``never built``, ``its content changed``...)
    reason: str | None = None
    #: how many attempts were made (for a reused result, those of the pass it reused)
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    #: the recovery plugin's label, and a note on how it ended (a timeout)
    failure_class: str | None = None
    message: str | None = None
    #: where it failed (the recovery plugin's findings, as in :class:`ScriptResult`)
    failed_command: str | None = None
    failed_line: int | None = None
    failed_step: str | None = None
    evidence: tuple[str, ...] = ()
    #: the log of the last attempt
    log_path: str | None = None
    #: the executor's totals, the monitor's figures and the sampled peaks (JSON-like)
    resources: Mapping[str, Any] = field(default_factory=dict)
    phase: str | None = None
    version: str | None = None
    #: the packages a multi-package script builds
    packages: tuple[str, ...] = ()
    #: the attempts made in this run (none for a reused result)
    tries: tuple[StoredAttempt, ...] = ()

    @property
    def duration(self) -> float | None:
        """From the start of its first attempt to the end of its last, where both are known."""
        if self.started is None or self.finished is None:
            return None
        return max(0.0, self.finished - self.started)

    @property
    def ran(self) -> bool:
        """Whether it really ran in its run (not reused, skipped or never reached)."""
        return not self.cached and self.status in RAN


@dataclass(frozen=True)
class StoredEvent:
    """One recorded event of a run, with its typed ``record``: an instance of its kind's class
    (:func:`~lfsplug.record_class`), or a :class:`~lfsplug.RawRecord` of the stored data when
    no loaded plugin defines the kind or the data no longer fits it. An output event keeps only
    how many lines it carried (a ``ScriptOutput`` with ``counted`` set: the log has the lines).
    """

    seq: int
    time: float
    kind: str
    priority: int
    script: str | None
    record: Record


class StoredSample(NamedTuple):
    """One resource sample: when, of which script (None: the whole system), its values."""

    time: float
    script: str | None
    values: dict[str, Any]


@dataclass(frozen=True)
class StoredSamples:
    """A run's samples in time order, with each one's values as the store keeps them in JSON
    (``texts``, one per row, or None when it does not keep them so): a writer of JSON may
    copy those instead of encoding a million numbers again."""

    rows: Sequence[StoredSample] = ()
    texts: Sequence[str] | None = None


@dataclass(frozen=True)
class HistoryEntry:
    """One package build imported from elsewhere (a jhalfs SBU report): its name without the
    version (``binutils-pass1``), how long it took, in seconds and in the source's SBU."""

    name: str
    seconds: float
    version: str | None = None
    sbu: float | None = None
    #: the source's SBU unit in seconds, and the make jobs it was measured with
    sbu_seconds: float | None = None
    jobs: int | None = None
    #: disk figures in KiB: ``before``, ``after``, ``required``, ``installed``
    disk: dict[str, float] = field(default_factory=dict)
    #: where it was imported from (``jhalfs:/path/to/file.report``), and its place there
    source: str = ""
    position: int = 0


class StateService(Protocol):
    """The records of the builds, and the run being recorded now.

    Reads of something that may simply not be there (no history, no pass) return empty
    values; :meth:`run` raises :class:`~lfsplug.UsageError` (exit 4) with a one-line message
    when there is no such run or no database at all. Every method may be called from any
    thread.
    """

    def current_run(self) -> StoredRun | None:
        """The run this command is recording, as recorded so far, with its counts as they
        stand; None when nothing is recorded (another command, a dry run)."""
        ...

    def flush(self) -> None:
        """Write what is still queued (samples), so that a read sees all of the current run."""
        ...

    def record_run_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Keep the current run's own figures (replacing earlier ones); nothing without a
        current run."""
        ...

    def run(self, run_id: int | None = None) -> StoredRun:
        """Run ``run_id``, or (None) the last run that got as far as building; a run found
        unfinished with no process recording it is ``crashed``. UsageError when there is none.
        """
        ...

    def results(self, run_id: int) -> Sequence[StoredResult]:
        """The run's scripts in plan order, each with its attempts."""
        ...

    def events(self, run_id: int) -> Sequence[StoredEvent]:
        """The run's recorded events in time order (then in the order they were emitted)."""
        ...

    def samples(self, run_id: int) -> StoredSamples:
        """The run's recorded samples in time order."""
        ...

    def last_pass(self, name: str, *, any_target: bool = False) -> StoredResult | None:
        """The last time script ``name`` really ran and passed (reuses do not count), in a run
        for this command's ``target`` label (``config.labels``; a run without one matches only
        runs without one): history is kept per target. With ``any_target``, in any run of this
        state directory (the SBU is the host's, whatever the build was for)."""
        ...

    def history(self) -> Sequence[HistoryEntry]:
        """Every imported entry, oldest import first, each in its source's order."""
        ...

    def add_history(self, source: str, entries: Sequence[HistoryEntry]) -> int:
        """Replace what was imported from ``source`` with ``entries``; return how many."""
        ...


# -- the logs ------------------------------------------------------------------------------------


def disk_full(path: Path) -> str:
    """The one line for a file of the state directory (its database, a log, a note) that
    cannot be written because its disk is full."""
    return (f"{path}: the disk is full (the file system of {path.parent} has no space left); "
            f"free some space, or use another --state-dir")


def run_label(started: float) -> str:
    """The folder of a run's logs when no plugin numbers the runs: its start, to the µs."""
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(started))
    return f"{stamp}.{round(started % 1 * 1_000_000) % 1_000_000:06d}"


def log_name(name: str, attempt: int) -> str:
    """The file name of the log of ``attempt`` of script ``name`` (``NAME.log``,
    ``NAME.N.log``), with no ``/`` and no leading dot."""
    suffix = "" if attempt == 1 else f".{attempt}"
    safe = name.replace("/", "_").lstrip(".") or "_"  # names are checked; be sure
    return f"{safe}{suffix}.log"


def link_newest(log: Path, name: str, attempt: int) -> None:
    """Point ``logs/NAME[.N].log`` to ``log`` (``logs/RUN/NAME[.N].log``, attempt N) and
    ``logs/latest`` to ``RUN/latest``, each atomically (a new link renamed over the old); for
    attempt 1, remove the links to the later attempts of an earlier run. A regular file in a
    link's place (a log of an lfsplug that kept one log per script) is left alone; a file
    system without symbolic links gets none."""
    folder, run = log.parent.parent, log.parent.name
    later = attempt
    while attempt == 1:  # attempts are numbered from 1 up, with no gap
        later += 1
        stale = os.path.join(folder, log_name(name, later))
        if not os.path.islink(stale):
            break
        with contextlib.suppress(OSError):
            os.unlink(stale)
    for link, target in ((log.name, f"{run}/{log.name}"), ("latest", f"{run}/latest")):
        relink(folder, link, target)


def relink(folder: Path | str, link: str, target: str) -> None:
    """Point the symbolic link ``folder/link`` to ``target`` atomically (a new link renamed
    over the old), unless it points there already; a regular file in its place is left alone,
    and a file system without symbolic links gets none."""
    path = os.path.join(folder, link)
    try:
        if os.readlink(path) == target:
            return
    except FileNotFoundError:
        pass
    except OSError:
        return  # not a link: a log of an lfsplug that kept one log per script
    tmp = os.path.join(folder, f".{link}.{os.getpid()}.{threading.get_ident()}")
    try:
        try:
            os.symlink(target, tmp)
        except FileExistsError:  # left by a process that died before its rename
            os.unlink(tmp)
            os.symlink(target, tmp)
        except FileNotFoundError:  # the first log of all
            os.makedirs(folder, exist_ok=True)
            os.symlink(target, tmp)
        os.replace(tmp, path)
    except OSError:
        pass  # the logs are still there
