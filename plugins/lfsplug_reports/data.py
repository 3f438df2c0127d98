"""One run as plain records, loaded through the state service (or, without it, from a session).

Every report format renders from a :class:`RunData`: the run, its scripts in plan order with
their attempts and resources, the events, and the sampled series. :func:`load_run` reads it
through the state service, :class:`lfsplug.StateService` (``lfsplug report``, and ``run
--report`` once the service has flushed what it queued); :func:`from_session` builds it from a
session's memory when nothing recorded the run (the state plugin blocked, a dry run).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import (
    AlertRaised,
    Progress,
    SampleTaken,
    ScriptOutput,
    ScriptRetry,
    StoredAttempt,
    StoredEvent,
    StoredResult,
    StoredSample,
    redact_text,
)

if TYPE_CHECKING:
    from lfsplug import (
        Alert,
        Event,
        ScriptResult,
        Session,
        StateService,
        StoredRun,
    )

__all__ = [
    "AttemptRecord",
    "RunData",
    "RunRecord",
    "SampleRow",
    "ScriptRecord",
    "Series",
    "from_session",
    "load_run",
    "make_jobs",
]

#: The script whose duration is the SBU when no monitor said what the SBU is.
SBU_SCRIPT = "binutils-pass1"
#: Database statuses that mean the script really started in this run.
RAN = ("passed", "failed", "running", "interrupted")
#: The statuses of ``status --json`` (DESIGN.md); running and interrupted have no result yet.
JSON_STATUS = {"passed": "passed", "failed": "failed", "skipped": "skipped",
               "not-run": "not-run", "running": "not-run", "interrupted": "not-run"}
#: The state of a run that stopped before running anything (validation errors, say).
NO_BUILD = "stopped before building"
#: One sample: when, of which script (None: the system), its values.
SampleRow = StoredSample
_JOBS = re.compile(r"(?:^|\s)(?:-j\s*|--jobs[= ])(\d+)")


@dataclass
class RunRecord:
    """The run row: when, how it ended, what command, on which host."""

    id: int
    started: float
    finished: float | None
    exit_code: int | None
    state: str
    command_line: str
    version: str
    host: str
    total: int | None = None
    #: events and samples kept and dropped (the state plugin's caps)
    counts: dict[str, int] = field(default_factory=dict)
    #: what the build was for (``config.labels``: ``{"target": ...}``); empty when none
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def target(self) -> str | None:
        """The ``target`` label, or None."""
        return self.labels.get("target")

    def labels_text(self, between: str = ": ") -> str:
        """Every label as ``key: value``, comma-separated (empty when there are none)."""
        return ", ".join(f"{key}{between}{value}" for key, value in self.labels.items())


@dataclass
class AttemptRecord:
    """One attempt of a script: when it started and (where known) ended, and its log."""

    attempt: int
    started: float
    finished: float | None
    log_path: str | None


@dataclass(frozen=True)
class ScriptRecord(StoredResult):
    """One script of the run, in plan order: the state service's record of it (the same
    whether the run is read from the database or taken from the live session), with what
    the reports work out from it."""

    #: when each attempt ended, by its number (worked out from the retry events and the run's
    #: end: the database keeps when each started)
    ends: dict[int, float | None] = field(default_factory=dict)

    @classmethod
    def of(cls, result: StoredResult) -> ScriptRecord:
        return cls(**{f.name: getattr(result, f.name) for f in fields(StoredResult)})

    def attempt_records(self) -> list[AttemptRecord]:
        """Each attempt with when it started and ended and its log."""
        return [AttemptRecord(a.attempt, a.started, self.ends.get(a.attempt), a.log_path)
                for a in self.tries]

    @property
    def duration(self) -> float | None:
        if self.started is None or self.finished is None:
            return None
        return max(0.0, self.finished - self.started)

    @property
    def ran(self) -> bool:
        """Whether it really ran in this run (not reused, skipped or never reached)."""
        return not self.cached and self.status in RAN

    @property
    def json_status(self) -> str:
        return JSON_STATUS.get(self.status, "not-run")

    @property
    def group(self) -> str:
        """The phase, else the folder the script sits in (a run recorded before phases were
        kept, a script without one)."""
        if self.phase:
            return self.phase
        parent = os.path.basename(os.path.dirname(self.path))
        return parent or "scripts"

    @property
    def peak_rss(self) -> float | None:
        """Peak memory in bytes: the sampled peak, else the kernel's max RSS."""
        peak = self.resources.get("peak")
        if isinstance(peak, dict) and isinstance(peak.get("rss"), int | float):
            return float(peak["rss"])
        maxrss = self.resources.get("maxrss")
        return float(maxrss) * 1024 if isinstance(maxrss, int | float) else None

    @property
    def disk(self) -> dict[str, float]:
        """The jhalfs disk figures in KiB (before, after, required, installed), where known; a
        script that did not pass has ``left`` (after minus before) instead of ``installed``
        (as the monitor records it; older records are read the same way)."""
        disk = self.resources.get("disk")
        if not isinstance(disk, dict):
            return {}
        figures = {k: float(v) for k, v in disk.items() if isinstance(v, int | float)}
        if self.status != "passed" and "installed" in figures:
            figures["left"] = figures.pop("installed")
        return figures

    def status_json(self) -> dict[str, Any]:
        """DESIGN.md's ``status --json`` shape for this script."""
        duration = self.duration
        return {
            "name": self.name, "status": self.json_status, "exit_code": self.exit_code,
            "duration_s": round(duration, 3) if duration is not None else None,
            "attempts": self.attempts, "failure_class": self.failure_class,
            "failed_command": self.failed_command, "failed_line": self.failed_line,
            "log": self.log_path, "tests": self.tests,
        }

    @property
    def tests(self) -> dict[str, Any] | None:
        """What its test suites did (the tests plugin's ``tests``), or None."""
        found = (self.resources or {}).get("tests")
        return found if isinstance(found, dict) else None

    def test_cases(self) -> list[tuple[str | None, str, str, str | None]]:
        """Every test its suites named, ``(suite, name, outcome, detail)``: from the file the
        tests plugin wrote beside its log, else the failures the result names."""
        tests = self.tests
        if tests is None:
            return []
        if self.log_path:
            try:
                cases = json.loads(Path(self.log_path.removesuffix(".log") + ".tests.json")
                                   .read_text(encoding="utf-8"))["cases"]
                return [(c[0], str(c[1]), str(c[2]), c[3]) for c in cases]
            except (OSError, ValueError, KeyError, IndexError, TypeError):
                pass
        return ([(None, name, "fail", None) for name in tests.get("failed", [])]
                + [(None, name, "xfail", tests.get("because", {}).get(name))
                   for name in tests.get("expected_failed", [])])


@dataclass
class Series:
    """One metric over time."""

    metric: str
    times: list[float] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, when: float, value: float) -> None:
        self.times.append(when)
        self.values.append(value)


@dataclass
class RunData:
    """Everything known of one run, as the formats read it."""

    run: RunRecord
    scripts: list[ScriptRecord]
    #: the events in time order (output events keep only their line count)
    events: list[StoredEvent]
    #: every sample in time order: (time, script or None for the system, values)
    samples: Sequence[SampleRow]
    #: ``database`` or ``session`` (no database recorded the run: events and samples are the
    #: bus's last ones only)
    source: str = "database"
    #: the make jobs (``MAKEFLAGS=-jN``) scripts ran with, where known
    jobs: int | None = None
    #: each sample's values as the database holds them (JSON text), beside ``samples``: the
    #: json report copies them instead of encoding a million numbers again
    sample_texts: Sequence[str] | None = None
    #: values to hide wherever they occur (``lfsplug.secret_values`` of ``[env]``)
    secrets: tuple[str, ...] = ()
    #: the script whose duration is one SBU (``[monitor] sbu_script``)
    sbu_script: str = SBU_SCRIPT

    @cached_property
    def system(self) -> dict[str, Series]:
        """The system samples (``script`` None) as one series per metric."""
        return _series(row for row in self.samples if row[1] is None)

    @property
    def alerts(self) -> list[tuple[StoredEvent, Alert]]:
        """Each alert event with its alert."""
        return [(event, event.record.alert) for event in self.events
                if isinstance(event.record, AlertRaised)]

    @property
    def end(self) -> float:
        """When the run ended, or the last thing known of it (a run still going)."""
        if self.run.finished is not None:
            return self.run.finished
        times = [self.run.started]
        times += [s.finished or s.started or 0.0 for s in self.scripts]
        times += [e.time for e in self.events[-1:]]
        times += [self.samples[-1][0]] if self.samples else []
        return max(times)

    def redact(self, text: str) -> str:
        """``text`` as a report may show it: secrets redacted (``lfsplug.redact_text``)."""
        return redact_text(text, self.secrets)

    def redact_all(self) -> None:
        """Redact, in place, the text of the run that may hold secrets: its command line and
        each script's message, reason, failing command and evidence."""
        self.run.command_line = self.redact(self.run.command_line)
        text = self.redact
        self.scripts = [replace(
            script, message=script.message and text(script.message),
            reason=script.reason and text(script.reason),
            failed_command=script.failed_command and text(script.failed_command),
            evidence=tuple(text(line) for line in script.evidence))
            for script in self.scripts]

    def tail(self, script: ScriptRecord, count: int) -> list[str] | None:
        """The last ``count`` lines of ``script``'s log, redacted (None: no log to read)."""
        lines = read_tail(script.log_path, count)
        return None if lines is None else [self.redact(line) for line in lines]

    def counts(self) -> dict[str, int]:
        """How many scripts ended in each ``status --json`` status."""
        counts = {"passed": 0, "failed": 0, "skipped": 0, "not-run": 0}
        for script in self.scripts:
            counts[script.json_status] += 1
        return counts

    def sbu_seconds(self) -> float | None:
        """The SBU in seconds: as the monitor last said it (progress events), else from a
        script's duration and its SBU figure, else the duration of binutils pass 1."""
        for event in reversed(self.events):
            record = event.record
            if isinstance(record, Progress) and record.sbu_seconds and record.sbu_seconds > 0:
                return record.sbu_seconds
        for script in sorted(self.scripts, key=lambda s: s.name != self.sbu_script):
            sbu, duration = script.resources.get("sbu"), script.duration
            if script.ran and isinstance(sbu, int | float) and sbu > 0 and duration:
                return duration / float(sbu)
        for script in self.scripts:
            if script.name == self.sbu_script and script.ran and script.status == "passed":
                return script.duration or None
        return None

    def sbu_hint(self) -> str:
        """Why the SBU is unknown, and the two settings that give it, for a report to say."""
        return (f"no script named {self.sbu_script} passed in this build. Name the script that "
                f"builds binutils pass 1 with [monitor] sbu_script = \"NAME\" in lfsplug.toml, "
                f"or give this machine's SBU in seconds with run --sbu SECONDS "
                f"([monitor] sbu = SECONDS)")

    def script_sbu(self, script: ScriptRecord, unit: float | None) -> float | None:
        """A script's duration in SBU: the monitor's figure, else its duration over ``unit``."""
        sbu = script.resources.get("sbu")
        if isinstance(sbu, int | float):
            return float(sbu)
        duration = script.duration
        return duration / unit if unit and duration is not None and script.ran else None


# -- from the state service -------------------------------------------------------------------


def load_run(state: StateService, run: StoredRun) -> RunData:
    """``run`` with its scripts, attempts, events and samples, read through ``state``."""
    from lfsplug_reports.slow import SlowWork

    with SlowWork(f"reading run {run.id} from the state database"):
        return _load_run(state, run)


def _load_run(state: StateService, run: StoredRun) -> RunData:
    events = list(state.events(run.id))
    scripts = [ScriptRecord.of(result) for result in state.results(run.id)]
    retries = _retries(events)
    for script in scripts:
        _close_attempts(script, retries, run.finished)
    samples = state.samples(run.id)
    record = RunRecord(id=run.id, started=run.started, finished=run.finished,
                       exit_code=run.exit_code, state=run.state,
                       command_line=run.command_line, version=run.version, host=run.host,
                       total=run.total, counts=dict(run.counts), labels=dict(run.labels))
    return RunData(record, scripts, events, samples.rows, sample_texts=samples.texts)


def _retries(events: Iterable[StoredEvent]) -> dict[tuple[str | None, int], float]:
    """When each retried attempt ended: at its ``script-retry`` event."""
    ended = {}
    for event in events:
        if isinstance(event.record, ScriptRetry):
            ended[(event.script, event.record.attempt)] = event.time
    return ended


def _close_attempts(script: ScriptRecord, retries: dict[tuple[str | None, int], float],
                    run_end: float | None) -> None:
    following_ones: list[StoredAttempt | None] = [*script.tries[1:], None]
    for this, following in zip(script.tries, following_ones[:len(script.tries)], strict=True):
        end: float | None
        if following is not None:
            end = retries.get((script.name, this.attempt), following.started)
        elif script.status in ("passed", "failed", "skipped"):
            end = script.finished
        else:
            end = run_end  # interrupted: it ran until the run ended
        script.ends[this.attempt] = end


def _series(rows: Iterable[SampleRow]) -> dict[str, Series]:
    """One series per metric from sample rows (numbers only)."""
    columns: dict[str, tuple[list[float], list[float]]] = {}
    number = (int, float)
    for when, _script, values in rows:
        for metric, value in values.items():
            if type(value) in number:
                column = columns.get(metric)
                if column is None:
                    column = columns[metric] = ([], [])
                column[0].append(when)
                column[1].append(value)
    return {metric: Series(metric, times, values)
            for metric, (times, values) in columns.items()}


# -- from a session ----------------------------------------------------------------------------


def from_session(session: Session) -> RunData:
    """The run as the session holds it, for when no database recorded it: results in plan
    order, and the events and samples still in the bus's history (its last ones)."""
    config = session.config
    finished = session.finished
    run = RunRecord(
        id=0, started=session.started, finished=finished,
        exit_code=int(session.exit_code()) if finished is not None else None,
        state=("interrupted" if session.interrupted else "finished") if finished else NO_BUILD,
        command_line=" ".join(["lfsplug", config.command, *(str(p) for p in config.paths)]),
        version=_version(), host=_hostname(),
        total=len(session.plan.scripts) if session.plan else None,
        labels=dict(config.labels),
    )
    history = list(session.events.history)
    events = [_record(e) for e in history if not isinstance(e.record, SampleTaken)]
    events.sort(key=lambda e: (e.time, e.seq))
    scripts = _session_scripts(session, history)
    retries = _retries(events)
    for script in scripts:
        _close_attempts(script, retries, finished)
    samples = sorted((StoredSample(e.record.sample.time, e.script, dict(e.record.sample.values))
                      for e in history if isinstance(e.record, SampleTaken)),
                     key=lambda row: row[0])
    return RunData(run, scripts, events, samples, source="session",
                   jobs=make_jobs(config.env))


def _session_scripts(session: Session, history: list[Event]) -> list[ScriptRecord]:
    order = [s.name for s in session.plan.scripts] if session.plan else list(session.results)
    failed: dict[str, list[StoredAttempt]] = {}  # the attempts that were retried
    for event in history:
        record = event.record
        if isinstance(record, ScriptRetry) and event.script is not None and record.started:
            failed.setdefault(event.script, []).append(StoredAttempt(
                record.attempt, record.started, _log(session, event.script, record.attempt)))
    records = []
    for position, name in enumerate(order, 1):
        result = session.results.get(name)
        script = session.script(name)
        if result is None:
            continue
        records.append(ScriptRecord(
            run_id=0, position=position, name=name, path=str(script.path) if script else name,
            status=str(result.status), cached=result.cached, attempts=result.attempts,
            started=result.started, finished=result.finished, exit_code=result.exit_code,
            signal=result.signal, failure_class=result.failure_class, message=result.message,
            log_path=str(result.log_path) if result.log_path else None,
            resources=dict(result.resources), phase=script.phase if script else None,
            failed_command=result.failed_command, failed_line=result.failed_line,
            failed_step=result.failed_step, evidence=tuple(result.evidence),
            version=script.version if script else None,
            packages=tuple(script.packages) if script else (),
            tries=() if result.cached else _tries(result, failed.get(name, []),
                                                  str(result.log_path or "") or None),
        ))
    return records


def _tries(result: ScriptResult, failed: list[StoredAttempt],
           log: str | None) -> tuple[StoredAttempt, ...]:
    """The attempts of a script in this session: those retried, then the last one."""
    tries = sorted(failed, key=lambda a: a.attempt)
    if result.started is not None and result.attempts:
        tries.append(StoredAttempt(result.attempts, result.started, log))
    return tuple(tries)


def _log(session: Session, name: str, attempt: int) -> str | None:
    script = session.script(name)
    return str(session.log_path(script, attempt)) if script is not None else None


def _record(event: Event) -> StoredEvent:
    record = event.record
    if isinstance(record, ScriptOutput):
        record = record.slim()  # as the database keeps it
    return StoredEvent(event.seq, event.time, event.kind, int(event.priority), event.script,
                       record)


def apply_session(data: RunData, session: Session) -> None:
    """Complete the record of the run being recorded with what only the session knows while
    it ends: its end and exit code (recorded at ``sessionfinish``, after reports), which the
    state plugin then records as they are here."""
    if session.finished is None:  # nothing was run: stopped by validation, say
        data.run.state = NO_BUILD
    elif data.run.finished is None:
        data.run.finished = session.finished
        data.run.exit_code = int(session.exit_code())
        data.run.state = "interrupted" if session.interrupted else "finished"
        for script in data.scripts:
            for attempt in script.tries:
                if script.ends.get(attempt.attempt) is None:
                    script.ends[attempt.attempt] = session.finished
    data.jobs = make_jobs(session.config.env)


def make_jobs(env: dict[str, str]) -> int | None:
    """The ``-jN`` of ``MAKEFLAGS`` in ``[env]``, else the executor's default: this machine's
    processor count."""
    flags = env.get("MAKEFLAGS")
    if flags is None:
        return os.cpu_count()
    found = _JOBS.search(flags)
    return int(found.group(1)) if found else None


def _version() -> str:
    import lfsplug

    return lfsplug.__version__


def _hostname() -> str:
    import socket

    return socket.gethostname()


def read_tail(path: str | None, count: int, limit: int = 1 << 18) -> list[str] | None:
    """The last ``count`` lines of the file at ``path`` (reading at most ``limit`` bytes from
    its end), or None when there is no such file."""
    if not path or count <= 0:
        return None
    try:
        with open(path, "rb") as file:
            file.seek(0, os.SEEK_END)
            size = file.tell()
            block = min(size, limit)
            file.seek(size - block)
            data = file.read(block)
    except OSError:
        return None
    lines = data.decode("utf-8", errors="replace").splitlines()
    if block < size and lines:
        lines = lines[1:]  # the first line read may be cut
    return lines[-count:]
