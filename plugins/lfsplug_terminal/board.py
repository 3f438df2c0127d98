"""The board: what the terminal knows about the build, fed by hooks and events, read by the
dashboard's refresh thread and plain mode's heartbeat.

Hooks (``lfsplug_script_start``/``finish``, from scheduler threads) and event batches (from the
bus's thread) change it under one lock and bump :attr:`Board.version`; a reader takes a
:class:`View`, a copy made under the lock, and renders that without holding anything. Nothing
here depends on the monitor plugin: counts, phases and running scripts come from the build
itself; the ETA, the critical-path bound, the gauges and the alerts appear when events bring
them (:class:`~lfsplug.Progress`, :class:`~lfsplug.SampleTaken`, :class:`~lfsplug.AlertRaised`
records, from whichever plugin emits them).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, replace

from lfsplug import (
    Alert,
    AlertRaised,
    Event,
    Plan,
    Progress,
    SampleTaken,
    ScriptNote,
    ScriptOutput,
    ScriptResult,
    ScriptRetry,
    Status,
    StopRequested,
)
from lfsplug_terminal.lines import Idle, RunningInfo, printable

ALERTS_KEPT = 5


@dataclass
class Row:
    """One running script: its attempt, when it started, how long it should take, what it
    printed last and, with a monitor, what its processes use."""

    name: str
    started: float
    attempt: int = 1
    expected: float | None = None
    last_line: str = ""
    cpu_percent: float | None = None
    rss: float | None = None
    note: str = ""


@dataclass
class View:
    """A consistent copy of the board at one moment (``now``), for rendering."""

    now: float
    started: float
    total: int
    done: int
    counts: dict[str, int]
    reused: int
    phases: list[tuple[str, int, int]]
    rows: list[Row]
    system: dict[str, float]
    alerts: list[Alert]
    eta: float | None = None
    bound: float | None = None
    sbu_seconds: float | None = None
    stopping: str | None = None
    idle: Idle | None = None
    #: what the build is for (``target: aarch64-lfs-linux-gnu``), empty when not said
    labels: str = ""

    @property
    def elapsed(self) -> float:
        return max(0.0, self.now - self.started)

    def running(self) -> list[RunningInfo]:
        return [RunningInfo(r.name, max(0.0, self.now - r.started), r.expected)
                for r in self.rows]


@dataclass
class _Progress:
    """The monitor's latest ``progress`` figures, as deadlines so that they count down."""

    eta_at: float | None = None
    bound_at: float | None = None
    sbu_seconds: float | None = None


class Board:
    """The build as the terminal shows it; safe to change and read from any thread."""

    def __init__(self, started: float | None = None) -> None:
        self.lock = threading.Lock()
        #: bumped by every change: the dashboard redraws when it moved
        self.version = 0
        self.started = started if started is not None else time.time()
        self.total = 0
        self.done = 0
        self.counts: dict[str, int] = {str(s): 0 for s in Status}
        self.reused = 0
        self.phase_of: dict[str, str] = {}
        self.phases: dict[str, list[int]] = {}  # phase -> [done, total], in plan order
        self.rows: dict[str, Row] = {}
        self.system: dict[str, float] = {}
        self.alerts: deque[Alert] = deque(maxlen=ALERTS_KEPT)
        self.progress = _Progress()
        self.stopping: str | None = None
        self.jobs = 1
        self.order: list[str] = []
        self.preds: dict[str, set[str]] = {}
        self.finished: set[str] = set()
        #: the scheduler's latest ``throttle`` event: why, and the script it holds back
        self.throttle: tuple[str, str | None] | None = None
        #: the build's labels as the header shows them (``lines.labels_text``)
        self.labels = ""

    # -- from hooks ----------------------------------------------------------------------------

    def begin(self, plan: Plan, jobs: int = 1) -> None:
        """The plan is known: the total, the phases, the dependencies; ``jobs`` slots."""
        with self.lock:
            self.total = len(plan.scripts)
            self.jobs = jobs
            self.order = [s.name for s in plan.scripts]
            self.preds = plan.predecessors() if jobs > 1 else {}
            self.phase_of = {s.name: s.phase for s in plan.scripts if s.phase}
            self.phases = {}
            for phase in self.phase_of.values():
                self.phases.setdefault(phase, [0, 0])[1] += 1
            self.version += 1

    def script_started(self, name: str, attempt: int, started: float,
                       expected: float | None) -> None:
        with self.lock:
            row = self.rows.get(name)
            if row is None:
                self.rows[name] = Row(name, started, attempt, expected)
            else:  # a retry: same row, new clock
                row.started, row.attempt, row.note = started, attempt, ""
                row.expected = expected if expected is not None else row.expected
            self.version += 1

    def script_finished(self, result: ScriptResult) -> int:
        """Count a final result; returns how many scripts are done now."""
        with self.lock:
            self.rows.pop(result.name, None)
            self.finished.add(result.name)
            self.done += 1
            self.counts[str(result.status)] += 1
            if result.cached:
                self.reused += 1
            phase = self.phase_of.get(result.name)
            if phase is not None:
                self.phases[phase][0] += 1
            self.version += 1
            return self.done

    # -- from the bus --------------------------------------------------------------------------

    def apply(self, events: Iterable[Event], output: bool = True) -> list[Event]:
        """Take what the board shows from a batch of events (``output``: keep each running
        script's last line; plain mode does not show it, and skips the work). Returns the
        alerts and retries of the batch, which the reporter also logs."""
        changed = False
        notable: list[Event] = []
        with self.lock:
            for event in events:
                record = event.record
                if isinstance(record, ScriptOutput):
                    if output:
                        changed = self._output(event.script, record) or changed
                elif isinstance(record, SampleTaken):
                    changed = self._sample(event.script, record) or changed
                else:
                    changed = self._other(event) or changed
                    if isinstance(record, AlertRaised | ScriptRetry):
                        notable.append(event)
            if changed:
                self.version += 1
        return notable

    def _output(self, script: str | None, record: ScriptOutput) -> bool:
        row = self.rows.get(script or "")
        if row is None or not record.lines:
            return False
        row.last_line = record.lines[-1]
        return True

    def _sample(self, script: str | None, record: SampleTaken) -> bool:
        values = record.sample.values
        if script is None:
            self.system = dict(values)
            return True
        row = self.rows.get(script)
        if row is None:
            return False
        row.cpu_percent = values.get("cpu_percent")
        row.rss = values.get("rss")
        return True

    def _other(self, event: Event) -> bool:
        record = event.record
        if isinstance(record, Progress):
            now = event.time
            eta, bound = record.eta, record.bound
            self.progress = _Progress(None if eta is None else now + eta,
                                      None if bound is None else now + bound,
                                      record.sbu_seconds)
            return True
        if isinstance(record, AlertRaised):
            self.alerts.appendleft(record.alert)
            return True
        if isinstance(record, StopRequested):
            self.stopping = record.reason
            return True
        if event.kind == "throttle":  # the executor's ``Throttled``, read by its fields
            reason = getattr(record, "reason", None)
            self.throttle = (str(reason), getattr(record, "waiting", None)) if reason else None
            return True
        if isinstance(record, ScriptRetry | ScriptNote):
            return self._note(event.script, record)
        return False

    def _note(self, script: str | None, record: ScriptRetry | ScriptNote) -> bool:
        """What the row says instead of the script's last line: a retry, a plugin's note."""
        row = self.rows.get(script or "")
        text = (record.text if isinstance(record, ScriptNote)
                else f"retry after attempt {record.attempt}")
        if row is None or row.note == text:
            return False
        row.note = text
        return True

    # -- for readers ---------------------------------------------------------------------------

    def view(self, now: float | None = None) -> View:
        """A copy of everything shown, taken under the lock."""
        now = time.time() if now is None else now
        with self.lock:
            progress = self.progress
            return View(
                now=now,
                started=self.started,
                total=self.total,
                done=self.done,
                counts=dict(self.counts),
                reused=self.reused,
                phases=[(name, d, t) for name, (d, t) in self.phases.items()],
                rows=[replace(row, last_line=printable(row.last_line))
                      for row in self.rows.values()],
                system=dict(self.system),
                alerts=list(self.alerts),
                eta=_remaining(progress.eta_at, now),
                bound=_remaining(progress.bound_at, now),
                sbu_seconds=progress.sbu_seconds,
                stopping=self.stopping,
                idle=self._idle(),
                labels=self.labels,
            )

    def _idle(self) -> Idle | None:
        """Why slots of ``-j N`` run nothing while a script runs (None: all busy, or the build
        stops): the scheduler's throttle, or nothing ready and what the next script waits for."""
        free = self.jobs - len(self.rows)
        if free <= 0 or not self.rows or self.stopping:
            return None
        finished, running = self.finished, self.rows
        pending = [n for n in self.order if n not in finished and n not in running]
        ready = [n for n in pending if self.preds.get(n, set()) <= finished]
        if self.throttle is not None:
            reason, waiting = self.throttle
            if waiting is None or waiting in ready:  # else it is stale: that script is done
                first = [waiting] if waiting is not None else []
                return Idle(free, reason, tuple(first + [n for n in ready if n != waiting]))
        if ready or not pending:
            return Idle(free, ready=tuple(ready))
        # the first script in line whose unfinished predecessors all run now, else the first
        preds = self.preds
        after = next((n for n in pending if preds.get(n, set()) - finished <= running.keys()),
                     pending[0])
        before = tuple(n for n in self.order
                       if n in preds.get(after, set()) and n not in finished)
        return Idle(free, waits=(after, before))


def _remaining(deadline: float | None, now: float) -> float | None:
    return None if deadline is None else max(0.0, deadline - now)

