"""The event bus, which delivers every event of a build to plugins in priority order, and the
typed records the events carry.

``emit`` is safe from any thread and cheap: it appends the event to the FIFO of its priority
(a :class:`collections.deque`, whose ``append`` is atomic) and takes no lock, unless it must
wake the idle delivery thread. That thread takes events highest priority first (lowest
:class:`~lfsplug._model.Priority` value) in small batches and hands each batch to one callback
(the session routes it to the ``lfsplug_events`` hook), so an alert overtakes every progress
event not yet taken into a batch. Batching is what makes the bus fast: one hook call per event
would cap it far below a busy parallel build's rate.

Every :class:`~lfsplug._model.Event` carries one :class:`Record`, a frozen dataclass whose
class names the event's ``kind`` and ``priority``: a fact is emitted in one call
(``session.emit(ScriptOutput(("checking for gcc... yes",)), script="gcc")``) and a subscriber
matches on the class (``isinstance(event.record, AlertRaised)``), which type checkers follow.
A plugin adds kinds of its own with a subclass that sets ``kind`` as a ``ClassVar`` (unique:
a second class claiming a kind is an error naming both) and, if it is not ``STATUS``,
``priority`` (docs/writing-plugins.md shows one). The state plugin stores each record as JSON
(:meth:`Record.to_data`) and reads it back field by field, so a field may be a JSON scalar, an
enumeration, a tuple, a list, a dict with string keys, a dataclass made of those, or
``X | None`` (else the class overrides :meth:`Record.to_data` and :meth:`Record.from_data`).
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat, starmap
from typing import Any, ClassVar, Self, TypeAlias, cast

from lfsplug._model import Alert, AlertLevel, Event, Priority, Sample

__all__ = ["JSON", "AlertRaised", "EventBus", "Progress", "RawRecord", "Record", "RunFinished",
           "RunStarted", "SampleTaken", "ScriptNote", "ScriptOutput", "ScriptRetry",
           "StopRequested", "record_class", "record_to_data"]

_wall = time.time
_perf = time.perf_counter
_get_ident = threading.get_ident


class EventBus:
    """A thread-safe priority queue of events with one deliverer at a time.

    :param deliver: called with each batch, in priority order (FIFO within one priority),
        never concurrently with itself: from the delivery thread, or from ``emit`` itself while
        the bus is not started, closing or closed.
    :param history: how many delivered events to keep.
    :param batch: the most events handed over in one call; smaller batches let an alert
        overtake more of the queue, larger ones cost less per event.
    :param high_water: the length of one priority's queue past which an emitting thread that
        finds no batch being handed over hands one over itself (backpressure: emitters that
        outrun the delivery thread pay for what they queue, and the queue stays bounded).

    ``error`` is the first exception a subscriber raised (later batches still count as
    ``delivered`` and enter ``history``, but the callback is no longer called); ``delivered``
    counts the events handed over so far.
    """

    def __init__(self, deliver: Callable[[list[Event]], None], history: int = 10_000,
                 batch: int = 64, high_water: int = 2048) -> None:
        if batch < 1:
            raise ValueError(f"batch must be at least 1, not {batch}")
        self._deliver = deliver
        self._batch = batch
        self._high_water = high_water
        self._seq = itertools.count()
        # One FIFO per priority; emit looks its lane up, the deliverer walks them in order.
        self._lanes: dict[int, deque[Event]] = {}
        self._order: list[tuple[int, deque[Event]]] = []
        self._done: dict[int, int] = {}  # per priority: events handed over so far
        self._lanes_lock = threading.Lock()  # only to add the lane of a new priority
        for priority in Priority:
            self._add_lane(priority)
        self._delivering = threading.Lock()  # held by whoever hands a batch over
        self._deliverer: int | None = None  # the thread that holds it
        self._in_flight = 0  # the size of the batch being handed over
        self._wake = threading.Event()  # set by emit when the delivery thread sleeps
        self._idle = False
        self._running = False  # the delivery thread takes the events (else emit does)
        self._closing = False
        self._thread: threading.Thread | None = None
        self._progress = threading.Condition()  # notified after each batch, for flush()
        self._flushers = 0
        self.history: deque[Event] = deque(maxlen=history)
        self.error: BaseException | None = None
        self.delivered = 0

    def _add_lane(self, priority: int) -> deque[Event]:
        with self._lanes_lock:
            lane = self._lanes.get(priority)
            if lane is None:
                lane = self._lanes[priority] = deque()
                self._done[priority] = 0
                # a new list, swapped in whole: the deliverer may be walking the old one
                self._order = sorted([*self._order, (priority, lane)], key=lambda pl: pl[0])
            return lane

    # -- producing -----------------------------------------------------------------------------

    def emit(self, record: Record, script: str | None = None) -> Event:
        """Queue an event carrying ``record`` about ``script`` (None: the build as a whole);
        return it. Not started (or closed), the bus delivers it before ``emit`` returns, or,
        emitted by a subscriber, right after the batch that subscriber is in."""
        cls = type(record)
        priority = cls.priority
        event = Event(cls.kind, _wall(), priority, script, record, next(self._seq), _perf())
        lane = self._lanes.get(priority)
        if lane is None:
            lane = self._add_lane(priority)
        lane.append(event)
        if self._idle:  # the first to see it wakes the deliverer; the rest need not pay for it
            self._idle = False
            self._wake.set()
        elif not self._running:  # not started, or closed: deliver here and now
            self._deliver_all()
        elif len(lane) > self._high_water and self._deliverer != _get_ident():
            self._deliver_one_batch(blocking=False)  # backpressure: help, if nobody is at it
        return event

    # -- delivering ----------------------------------------------------------------------------

    def _take(self, taken: list[tuple[int, int]]) -> list[Event]:
        """Pop up to one batch, highest priority first; note how many from each lane."""
        batch: list[Event] = []
        need = self._batch
        for priority, lane in self._order:
            count = len(lane)  # only the deliverer pops, so at least this many are there
            if count:
                count = min(count, need)
                batch.extend(starmap(lane.popleft, repeat((), count)))  # a loop in C
                taken.append((priority, count))
                need -= count
                if not need:
                    break
        return batch

    def _deliver_one_batch(self, blocking: bool = True) -> bool:
        """Take one batch and hand it over (holding the delivery lock); False if none (or, not
        ``blocking``, if another thread is handing one over)."""
        taken: list[tuple[int, int]] = []
        if not self._delivering.acquire(blocking):
            return False
        try:
            self._deliverer = _get_ident()
            batch = self._take(taken)
            self._in_flight = len(batch)
            if batch:
                self._hand_over(batch)
        finally:
            for priority, count in taken:  # counted even if an interrupt cut it short
                self._done[priority] += count
            self._in_flight = 0
            self._deliverer = None
            self._delivering.release()
        if self._flushers:
            with self._progress:
                self._progress.notify_all()
        return bool(taken)

    def _hand_over(self, batch: list[Event]) -> None:
        self.history.extend(batch)
        self.delivered += len(batch)
        if self.error is not None:
            return  # a subscriber failed: the session reports it; stop calling plugins
        try:
            self._deliver(batch)
        except Exception as exc:  # kept, and raised by the session after the build
            self.error = exc
        except BaseException as exc:
            if threading.current_thread() is not self._thread:
                raise  # an interrupt in an emitting thread is that thread's to handle
            self.error = exc

    def _deliver_all(self) -> None:
        """Deliver everything queued from the calling thread (the bus is not running)."""
        if self._deliverer == _get_ident():
            return  # emitted by a subscriber: the batch loop below us on the stack takes it
        while self._deliver_one_batch():
            pass

    # -- the delivery thread -------------------------------------------------------------------

    def start(self) -> None:
        """Deliver from a thread of its own from now on (until :meth:`close`)."""
        thread = self._thread
        if thread is not None:
            if not self._closing:
                return
            thread.join()  # a close() that timed out: let that thread finish first
        self._closing = False
        self._running = True
        self._thread = threading.Thread(target=self._run, name="lfsplug-events", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            if not self._deliver_one_batch():
                if self._closing:
                    break
                self._sleep()
        self._deliver_all()  # what an emitter appended just before it saw _running go False

    def _sleep(self) -> None:
        # emit appends, then reads _idle: either we see its event or it sees _idle and wakes us
        self._wake.clear()
        self._idle = True
        if not self._closing and not any(lane for _, lane in self._order):
            self._wake.wait()
        self._idle = False

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event emitted so far (not those emitted meanwhile) has been
        delivered; False on timeout, and at once from a subscriber (which cannot wait for its
        own batch)."""
        if self._deliverer == _get_ident():
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            self._flushers += 1
            try:
                targets = self._counts(deadline, queued=True)
                while targets is not None:
                    done = self._counts(deadline)
                    if done is not None and all(done[p] >= n for p, n in targets.items()):
                        return True
                    wait = _lock_timeout(deadline)
                    if wait == 0:
                        return False
                    self._progress.wait(None if wait < 0 else wait)
                return False
            finally:
                self._flushers -= 1

    def _counts(self, deadline: float | None, queued: bool = False) -> dict[int, int] | None:
        """Per priority, the events handed over so far (plus, ``queued``, those queued: all
        there is, as no batch is in flight while we hold the lock); None on timeout."""
        if not self._delivering.acquire(timeout=_lock_timeout(deadline)):
            return None
        try:
            return {p: self._done[p] + (len(lane) if queued else 0) for p, lane in self._order}
        finally:
            self._delivering.release()

    def close(self, timeout: float | None = 10.0) -> None:
        """Deliver what is queued, then stop the delivery thread, waiting at most ``timeout``
        seconds for it (one still busy then, with a slow subscriber, stops once the queue is
        empty). From now on ``emit`` delivers in the calling thread, so threads still emitting
        help drain the queue instead of outrunning it."""
        thread = self._thread
        if thread is None:
            return
        self._running = False  # before _closing: see _run's last line
        self._closing = True
        self._wake.set()
        thread.join(timeout)
        if not thread.is_alive():
            self._thread = None

    @property
    def queued(self) -> int:
        """Events emitted but not yet delivered (including a batch being handed over)."""
        return sum(len(lane) for _, lane in self._order) + self._in_flight


def _lock_timeout(deadline: float | None) -> float:
    """The ``timeout`` argument of ``Lock.acquire`` until ``deadline`` (-1: no deadline)."""
    return -1 if deadline is None else max(0.0, deadline - time.monotonic())


#: A JSON value, as :func:`json.loads` gives it.
JSON: TypeAlias = "bool | int | float | str | list[JSON] | dict[str, JSON] | None"

_KIND = re.compile(r"^[a-z0-9][a-z0-9.-]*$")

#: Every record class by its kind (filled as the classes are defined).
_KINDS: dict[str, type[Record]] = {}


class Record:
    """The base of every event's record: a frozen dataclass with the ``kind`` of its events
    and their ``priority`` as class variables (see the module's docstring)."""

    __slots__ = ()

    kind: ClassVar[str] = ""
    priority: ClassVar[int] = Priority.STATUS

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        kind = cls.__dict__.get("kind")
        if kind is None:
            return  # it only shares fields or behaviour with its subclasses
        if not isinstance(kind, str) or not _KIND.match(kind):
            raise TypeError(f"{_name(cls)}: an event kind is a word of lower-case letters, "
                            f"digits, '-' and '.', not {kind!r}")
        if not isinstance(cls.__dict__.get("priority", Priority.STATUS), int):
            raise TypeError(f"{_name(cls)}: priority must be an int")
        other = _KINDS.get(kind)
        if other is not None and _name(other) != _name(cls):
            raise TypeError(f"event kind {kind!r} is claimed by {_name(other)} and by "
                            f"{_name(cls)}: give one of them another kind (a plugin's own kinds "
                            f"start with its name)")
        _KINDS[kind] = cls  # the same class again: a dataclass(slots=True) remakes its class

    def to_data(self) -> dict[str, JSON]:
        """The record as JSON data: each field by its name."""
        fields = dataclasses.fields(cast(Any, self))
        return {f.name: _plain(getattr(self, f.name)) for f in fields}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self | None:
        """The record from what :meth:`to_data` gave, for a class whose stored form differs
        from its fields; ValueError (or TypeError) if it does not fit. None, by default: the
        reader (the state plugin) decodes each field by its annotation."""
        return None


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def record_class(kind: str) -> type[Record] | None:
    """The record class of events of ``kind``, if a loaded module defines one."""
    return _KINDS.get(kind)


# -- the kernel's records ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RunStarted(Record):
    """The build starts: the plan holds ``total`` scripts; ``labels`` say what the build is
    for (``config.labels``: ``{"target": "aarch64-lfs-linux-gnu"}``; empty when none)."""

    kind: ClassVar[str] = "run-start"
    total: int
    labels: dict[str, str] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RunFinished(Record):
    """The build is over, with ``exit_code`` (the command's own may still change: reports)."""

    kind: ClassVar[str] = "run-finish"
    exit_code: int


@dataclass(frozen=True, slots=True)
class StopRequested(Record):
    """``session.stop``: no new script starts, for ``reason``; with ``hard``, the running ones
    are ended too (an interrupt, a plugin, a disk HALT)."""

    kind: ClassVar[str] = "stop"
    priority: ClassVar[int] = Priority.ALERT
    reason: str
    hard: bool = False


@dataclass(frozen=True, slots=True)
class ScriptOutput(Record):
    """New complete ``lines`` of a running script's output (without their newlines). Stored,
    it keeps only their number (``{"lines": N}``; the log has them): its ``lines`` are then
    empty and ``counted`` holds it; :attr:`count` is right either way."""

    kind: ClassVar[str] = "script-output"
    priority: ClassVar[int] = Priority.PROGRESS
    lines: tuple[str, ...] = ()
    counted: int | None = None

    @property
    def count(self) -> int:
        """How many lines the event carried."""
        return len(self.lines) if self.counted is None else self.counted

    def slim(self) -> ScriptOutput:
        """The same event without its lines, as stored."""
        return self if self.counted is not None else ScriptOutput((), len(self.lines))

    def to_data(self) -> dict[str, JSON]:
        return {"lines": list(self.lines) if self.counted is None else self.counted}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        lines = data["lines"]
        if isinstance(lines, int) and not isinstance(lines, bool) and lines >= 0:
            return cls((), lines)
        if isinstance(lines, list) and all(isinstance(line, str) for line in lines):
            return cls(tuple(lines))
        raise ValueError(f"lines: expected a count or a list of lines, not {lines!r}")


@dataclass(frozen=True, slots=True)
class ScriptNote(Record):
    """What a running script is doing, as a plugin reads it from its output (``tests: 120
    passed, 2 failed``): shown beside the script on the dashboard until its next note."""

    kind: ClassVar[str] = "script-note"
    priority: ClassVar[int] = Priority.PROGRESS
    text: str = ""


@dataclass(frozen=True, slots=True)
class ScriptRetry(Record):
    """Attempt ``attempt`` (which started at ``started``) failed and the script runs again
    after ``delay`` seconds, with ``env`` added to its environment, for ``reason``."""

    kind: ClassVar[str] = "script-retry"
    attempt: int
    reason: str = ""
    delay: float = 0.0
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    started: float | None = None


@dataclass(frozen=True, slots=True)
class SampleTaken(Record):
    """A resource sample of the system (the event names no script) or of one running
    script's processes (the event names it)."""

    kind: ClassVar[str] = "sample"
    priority: ClassVar[int] = Priority.SAMPLE
    sample: Sample


@dataclass(frozen=True, slots=True)
class AlertRaised(Record):
    """A threshold was crossed or cleared. Stored flat, as ``{"alert": KIND, "level",
    "message", "time", "data"}``."""

    kind: ClassVar[str] = "alert"
    priority: ClassVar[int] = Priority.ALERT
    alert: Alert

    def to_data(self) -> dict[str, JSON]:
        alert = self.alert
        return {"alert": alert.kind, "level": str(alert.level), "message": alert.message,
                "time": alert.time, "data": _plain(alert.data)}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        # events recorded before the alert's own time and figures were kept lack them: 0.0
        # (the event's time says when) and none
        kind, message = data["alert"], data["message"]
        when, figures = data.get("time", 0.0), data.get("data", {})
        if not isinstance(kind, str) or not isinstance(message, str):
            raise TypeError("alert, message: text")
        if type(when) not in (int, float) or not isinstance(figures, dict):
            raise ValueError("time: a number, data: an object")
        return cls(Alert(kind, AlertLevel(data["level"]), message, float(when), dict(figures)))


@dataclass(frozen=True, slots=True)
class Progress(Record):
    """How far the build is, from a monitor: scripts ``done`` of ``total``, seconds ``elapsed``,
    the ETA, the critical-path ``bound`` and the SBU in seconds (None: not known yet),
    ``phases`` (each one's done and total) and the ``running`` scripts' expected durations."""

    kind: ClassVar[str] = "progress"
    priority: ClassVar[int] = Priority.PROGRESS
    done: int
    total: int
    elapsed: float
    eta: float | None = None
    bound: float | None = None
    phases: Mapping[str, Sequence[int]] = dataclasses.field(default_factory=dict)
    running: Mapping[str, float | None] = dataclasses.field(default_factory=dict)
    sbu_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class RawRecord(Record):
    """The record of a stored event whose kind no loaded plugin defines (a plugin not loaded
    now), or whose data no longer fits its class: the data as it was stored."""

    data: Mapping[str, Any]

    def to_data(self) -> dict[str, JSON]:
        return {str(key): _plain(value) for key, value in self.data.items()}


# -- JSON --------------------------------------------------------------------------------------
def record_to_data(record: Record) -> dict[str, JSON]:
    """``record`` as JSON data (:meth:`Record.to_data`)."""
    return record.to_data()


def _plain(value: object) -> JSON:
    """``value`` as JSON data: enumerations by their value, dataclasses and mappings as
    objects, sequences as arrays, paths as text, anything else as its text."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Record):
        return value.to_data()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return str(value)  # a path, say
