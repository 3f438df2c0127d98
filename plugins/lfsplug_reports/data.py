"""One run as plain records, loaded from the state database (or, without it, from a session).

Every report format renders from a :class:`RunData`: the run, its scripts in plan order with
their attempts and resources, the events, and the sampled series. :func:`load_run` reads it
from ``state.db`` through :class:`~lfsplug_state.store.StateStore` (``lfsplug report``, and
``run --report`` once the state plugin has flushed what it queued); :func:`from_session`
builds it from a session's memory when no database recorded the run (the state plugin
blocked, a dry run).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from lfsplug import UsageError

if TYPE_CHECKING:
    from lfsplug import Event, Session
    from lfsplug_state.store import StateStore

__all__ = [
    "AttemptRecord",
    "EventRecord",
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
SampleRow = tuple[float, str | None, dict[str, Any]]
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


@dataclass
class AttemptRecord:
    """One attempt of a script: when it started and (where known) ended, and its log."""

    attempt: int
    started: float
    finished: float | None
    log_path: str | None


@dataclass
class ScriptRecord:
    """One script of the run, in plan order, with everything the database knows of it."""

    position: int
    name: str
    path: str
    status: str
    cached: bool = False
    reused_run: int | None = None
    reason: str | None = None
    attempts: int = 0
    started: float | None = None
    finished: float | None = None
    exit_code: int | None = None
    signal: int | None = None
    failure_class: str | None = None
    message: str | None = None
    log_path: str | None = None
    resources: dict[str, Any] = field(default_factory=dict)
    #: the phase and version the scripts had (a session knows them; the database does not)
    phase: str | None = None
    version: str | None = None
    tries: list[AttemptRecord] = field(default_factory=list)

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
        """The phase, else the folder the script sits in (the database keeps no phases)."""
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
        """The jhalfs disk figures in KiB (before, after, required, installed), where known."""
        disk = self.resources.get("disk")
        if not isinstance(disk, dict):
            return {}
        return {k: float(v) for k, v in disk.items() if isinstance(v, int | float)}

    def status_json(self) -> dict[str, Any]:
        """DESIGN.md's ``status --json`` shape for this script."""
        duration = self.duration
        return {
            "name": self.name, "status": self.json_status, "exit_code": self.exit_code,
            "duration_s": round(duration, 3) if duration is not None else None,
            "attempts": self.attempts, "failure_class": self.failure_class,
            "log": self.log_path,
        }


@dataclass
class EventRecord:
    """One recorded event (output events keep only their line count)."""

    seq: int
    time: float
    kind: str
    priority: int
    script: str | None
    payload: dict[str, Any]


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
    events: list[EventRecord]
    #: every sample in time order: (time, script or None for the system, values)
    samples: list[SampleRow]
    #: ``database`` or ``session`` (no database recorded the run: events and samples are the
    #: bus's last ones only)
    source: str = "database"
    #: the make jobs (``MAKEFLAGS=-jN``) scripts ran with, where known
    jobs: int | None = None
    #: each sample's values as the database holds them (JSON text), beside ``samples``: the
    #: json report copies them instead of encoding a million numbers again
    sample_texts: list[str] | None = None

    @cached_property
    def system(self) -> dict[str, Series]:
        """The system samples (``script`` None) as one series per metric."""
        return _series(row for row in self.samples if row[1] is None)

    @property
    def alerts(self) -> list[EventRecord]:
        return [e for e in self.events if e.kind == "alert"]

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
            value = event.payload.get("sbu_seconds") if event.kind == "progress" else None
            if isinstance(value, int | float) and value > 0:
                return float(value)
        for script in sorted(self.scripts, key=lambda s: s.name != SBU_SCRIPT):
            sbu, duration = script.resources.get("sbu"), script.duration
            if script.ran and isinstance(sbu, int | float) and sbu > 0 and duration:
                return duration / float(sbu)
        for script in self.scripts:
            if script.name == SBU_SCRIPT and script.ran and script.status == "passed":
                return script.duration or None
        return None

    def script_sbu(self, script: ScriptRecord, unit: float | None) -> float | None:
        """A script's duration in SBU: the monitor's figure, else its duration over ``unit``."""
        sbu = script.resources.get("sbu")
        if isinstance(sbu, int | float):
            return float(sbu)
        duration = script.duration
        return duration / unit if unit and duration is not None and script.ran else None


# -- from the database -------------------------------------------------------------------------


def load_run(store: StateStore, run_id: int | None = None) -> RunData:
    """Run ``run_id`` (default: the last run that got as far as building) from ``store``.

    UsageError (exit 4) when there is no such run.
    """
    run = _run_row(store, run_id)
    by_id = _scripts(store, run.id)
    scripts = list(by_id.values())
    events = [EventRecord(seq, when, kind, priority, script, _json(payload))
              for seq, when, kind, priority, script, payload in store.query(
                  "SELECT seq, time, kind, priority, script, payload FROM events "
                  "WHERE run_id = ? ORDER BY time, seq", (run.id,))]
    _attempts(store, run, by_id, events)
    rows = store.query("SELECT time, script, metrics FROM samples WHERE run_id = ? "
                       "ORDER BY time, id", (run.id,))
    samples, texts = _decode(rows)
    return RunData(run, scripts, events, samples, sample_texts=texts)


_RUN_COLUMNS = ("id, started, finished, exit_code, state, command_line, version, host, total, "
                "events_kept, events_dropped, samples_kept, samples_dropped")


def _run_row(store: StateStore, run_id: int | None) -> RunRecord:
    if run_id is None:
        rows = store.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE total IS NOT NULL "
                           f"ORDER BY id DESC LIMIT 1")
        if not rows:
            raise UsageError(f"no build recorded in {store.path.parent} yet: no run got as "
                             f"far as running a script")
    else:
        rows = store.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        if not rows:
            known = store.query("SELECT MIN(id), MAX(id) FROM runs")[0]
            have = f"runs {known[0]} to {known[1]}" if known[0] is not None else "no runs"
            raise UsageError(f"--run {run_id}: no such run in {store.path.parent} ({have} "
                             f"recorded)")
    row = rows[0]
    counts = dict(zip(("events_kept", "events_dropped", "samples_kept", "samples_dropped"),
                      row[9:], strict=True))
    return RunRecord(id=row[0], started=row[1], finished=row[2], exit_code=row[3],
                     state=row[4], command_line=row[5], version=row[6], host=row[7],
                     total=row[8], counts=counts)


def _scripts(store: StateStore, run_id: int) -> dict[int, ScriptRecord]:
    """The run's scripts in plan order, by their row id (which attempts refer to)."""
    rows = store.query(
        "SELECT r.id, r.position, r.name, r.path, r.status, r.cached, o.run_id, r.reason, "
        "r.attempts, r.started, r.finished, r.exit_code, r.signal, r.failure_class, "
        "r.message, r.log_path, r.resources FROM results r "
        "LEFT JOIN results o ON o.id = r.reused_from WHERE r.run_id = ? ORDER BY r.position",
        (run_id,))
    return {row[0]: ScriptRecord(
        position=row[1], name=row[2], path=row[3], status=row[4], cached=bool(row[5]),
        reused_run=row[6], reason=row[7], attempts=row[8] or 0, started=row[9],
        finished=row[10], exit_code=row[11], signal=row[12], failure_class=row[13],
        message=row[14], log_path=row[15], resources=_json(row[16]),
    ) for row in rows}


def _attempts(store: StateStore, run: RunRecord, by_id: dict[int, ScriptRecord],
              events: list[EventRecord]) -> None:
    """Fill each script's attempts; an attempt ends at its retry event, at the next attempt's
    start, or (the last one) when the script finished."""
    # the results' ids come from the index of (run_id, name): their rows, read once above,
    # are not read again
    rows = store.query(
        "SELECT result_id, attempt, started, log_path FROM attempts WHERE result_id IN "
        "(SELECT id FROM results WHERE run_id = ?) ORDER BY result_id, attempt", (run.id,))
    for result_id, attempt, started, log_path in rows:
        script = by_id.get(result_id)
        if script is not None and not script.cached:
            script.tries.append(AttemptRecord(attempt, started, None, log_path))
    retries = {(e.script, e.payload.get("attempt")): e.time
               for e in events if e.kind == "script-retry"}
    for script in by_id.values():
        _close_attempts(script, retries, run.finished)


def _close_attempts(script: ScriptRecord, retries: dict[tuple[str | None, Any], float],
                    run_end: float | None) -> None:
    following_ones: list[AttemptRecord | None] = [*script.tries[1:], None]
    for this, following in zip(script.tries, following_ones[:len(script.tries)], strict=True):
        if following is not None:
            this.finished = retries.get((script.name, this.attempt), following.started)
        elif script.status in ("passed", "failed", "skipped"):
            this.finished = script.finished
        else:
            this.finished = run_end  # interrupted: it ran until the run ended


def _decode(rows: list[tuple[Any, ...]]) -> tuple[list[SampleRow], list[str] | None]:
    """Sample rows with their metrics decoded, all in one ``json.loads`` (a hundred thousand
    calls would cost more than the decoding itself), and the texts when each is one object."""
    if not rows:
        return [], []
    texts: list[str] | None = [row[2] for row in rows]
    try:
        decoded = json.loads("[" + ",".join(texts or ()) + "]")
        if len(decoded) != len(rows):
            raise ValueError("a row holds more than one value")
    except (TypeError, ValueError):  # a damaged row: decode one by one, dropping it
        decoded, texts = [_json(row[2]) for row in rows], None
    samples = [(row[0], row[1], values if isinstance(values, dict) else {})
               for row, values in zip(rows, decoded, strict=True)]
    if texts is not None and any(not row[2] for row in samples):
        texts = None
    return samples, texts


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


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


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
    )
    history = list(session.events.history)
    events = [_record(e) for e in history if e.kind != "sample"]
    events.sort(key=lambda e: (e.time, e.seq))
    scripts = _session_scripts(session, events)
    retries = {(e.script, e.payload.get("attempt")): e.time
               for e in events if e.kind == "script-retry"}
    for script in scripts:
        _close_attempts(script, retries, finished)
    samples: list[SampleRow] = sorted(
        ((e.time, e.script, dict(e.payload.get("values", {})))
         for e in history if e.kind == "sample"), key=lambda row: row[0])
    return RunData(run, scripts, events, samples, source="session",
                   jobs=make_jobs(config.env))


def _session_scripts(session: Session, events: list[EventRecord]) -> list[ScriptRecord]:
    order = [s.name for s in session.plan.scripts] if session.plan else list(session.results)
    starts: dict[str, list[AttemptRecord]] = {}
    for event in events:
        if event.kind == "script-start" and event.script is not None:
            attempt = int(event.payload.get("attempt", 1))
            log = session.script(event.script)
            path = str(session.log_path(log, attempt)) if log is not None else None
            starts.setdefault(event.script, []).append(
                AttemptRecord(attempt, event.time, None, path))
    records = []
    for position, name in enumerate(order, 1):
        result = session.results.get(name)
        script = session.script(name)
        if result is None:
            continue
        records.append(ScriptRecord(
            position=position, name=name, path=str(script.path) if script else name,
            status=str(result.status), cached=result.cached, attempts=result.attempts,
            started=result.started, finished=result.finished, exit_code=result.exit_code,
            signal=result.signal, failure_class=result.failure_class, message=result.message,
            log_path=str(result.log_path) if result.log_path else None,
            resources=dict(result.resources), phase=script.phase if script else None,
            version=script.version if script else None,
            tries=[] if result.cached else starts.get(name, []),
        ))
    return records


def _record(event: Event) -> EventRecord:
    payload = dict(event.payload)
    if event.kind == "script-output" and isinstance(payload.get("lines"), list):
        payload["lines"] = len(payload["lines"])  # as the database keeps them
    return EventRecord(event.seq, event.time, event.kind, int(event.priority), event.script,
                       payload)


def apply_session(data: RunData, session: Session) -> None:
    """Complete a database record with what only the session knows while the run is ending:
    its end and exit code (recorded at ``sessionfinish``, after reports) and the phases."""
    if session.finished is None:  # nothing was run: stopped by validation, say
        data.run.state = NO_BUILD
    elif data.run.finished is None:
        data.run.finished = session.finished
        data.run.exit_code = int(session.exit_code())
        data.run.state = "interrupted" if session.interrupted else "finished"
        for script in data.scripts:
            for attempt in script.tries:
                if attempt.finished is None:
                    attempt.finished = session.finished
    for script in data.scripts:
        found = session.script(script.name)
        if found is not None:
            script.phase, script.version = found.phase, found.version
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
