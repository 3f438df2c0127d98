"""The event bus: every event of a build, delivered to plugins in priority order.

``emit`` takes a :class:`~lfsplug._events.Record` (whose class gives the event's kind and
priority), is safe from any thread and cheap: it appends the event to the FIFO of its priority
(a :class:`collections.deque`, whose ``append`` is atomic) and takes no lock, unless it must wake
the idle delivery thread. That thread takes events highest priority first (lowest
:class:`~lfsplug._model.Priority` value) in small batches and hands each batch to one callback
(the session routes it to the ``lfsplug_events`` hook), so an alert overtakes every progress
event not yet taken into a batch. Batching is what makes the bus fast: one hook call costs
microseconds, one per event would cap the bus far below a busy parallel build's rate. Before
:meth:`EventBus.start` and after :meth:`EventBus.close`, ``emit`` delivers in the calling thread.
Backpressure: when a priority's queue passes ``high_water`` events, an emitting thread that
finds no batch being handed over hands one over itself, so emitters that outrun the delivery
thread (which, on a busy machine, waits for the GIL behind them) pay for what they queue and the
queue stays bounded.
The last ``history`` events are kept for late subscribers and reports.

Event records: what each kind of event carries, as a frozen dataclass.

Every :class:`~lfsplug._model.Event` on the bus carries one :class:`Record`. The record's class
names the event's ``kind`` and its ``priority``, so a fact is emitted in one call with nothing
to spell twice::

    session.emit(RunStarted(total=12))
    session.emit(ScriptOutput(("checking for gcc... yes",)), script="gcc")

and a subscriber matches on the class, which type checkers follow::

    for event in events:
        if isinstance(event.record, AlertRaised):
            show(event.record.alert)

A plugin adds kinds of its own the same way, with a subclass that sets ``kind`` (unique: a
second class claiming a kind is an error naming both) and, if it is not ``STATUS``,
``priority``::

    @dataclass(frozen=True, slots=True)
    class Mounted(lfsplug.Record):
        kind: ClassVar[str] = "chroot-mount"
        lfs: str
        mounted: tuple[str, ...]

Records round-trip through JSON (:func:`record_to_json`, :func:`record_from_json`, keyed by
kind), as the state plugin keeps events: a field may be a JSON scalar, an enumeration, a tuple,
a list, a dict with string keys, a dataclass made of those, or ``X | None``; a class whose
stored form differs (:class:`ScriptOutput`, :class:`AlertRaised`) overrides
:meth:`Record.to_data` and :meth:`Record.from_data`. Stored data of a kind no loaded plugin
defines, or that no longer fits its class, comes back as a :class:`RawRecord` holding it as it
was.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import json
import re
import threading
import time
import types
import typing
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat, starmap
from typing import Any, ClassVar, Literal, Self, TypeAlias, Union

from lfsplug._model import Alert, AlertLevel, Event, Priority, Sample

__all__ = [
    "JSON",
    "AlertRaised",
    "EventBus",
    "Progress",
    "RawRecord",
    "Record",
    "RunFinished",
    "RunStarted",
    "SampleTaken",
    "ScriptOutput",
    "ScriptRetry",
    "StopRequested",
    "record_class",
    "record_from_data",
    "record_from_json",
    "record_to_data",
    "record_to_json",
]


Deliver = Callable[[list[Event]], None]


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

    ``error`` is the first exception a subscriber raised (later batches still count as
    ``delivered`` and enter ``history``, but the callback is no longer called); ``delivered``
    counts the events handed over so far.
    """

    def __init__(
        self, deliver: Deliver, history: int = 10_000, batch: int = 64, high_water: int = 2048
    ) -> None:
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
        """Queue an event carrying ``record`` (its class gives the kind and the priority),
        about ``script`` (None: the build as a whole); returns it. Safe from any thread.

        While the bus is not started (or closed), the event is delivered before ``emit``
        returns, or, emitted by a subscriber, right after the batch that subscriber is in.
        """
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
            if self._deliver_one_batch():
                continue
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
        """Wait until every event emitted so far has been delivered; False on timeout.

        Events emitted meanwhile are not waited for. Called from a subscriber (which cannot
        wait for its own batch), returns False at once.
        """
        if self._deliverer == _get_ident():
            return False
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._progress:
            self._flushers += 1
            try:
                targets = self._snapshot(deadline)
                while targets is not None and not self._reached(targets, deadline):
                    wait = _lock_timeout(deadline)
                    if wait == 0:
                        return False
                    self._progress.wait(None if wait < 0 else wait)
                return targets is not None
            finally:
                self._flushers -= 1

    def _snapshot(self, deadline: float | None) -> dict[int, int] | None:
        """Per priority, how many events must have been delivered; None on timeout."""
        if not self._delivering.acquire(timeout=_lock_timeout(deadline)):
            return None
        try:  # no batch is in flight while we hold the lock: done + queued is all there is
            return {p: self._done[p] + len(lane) for p, lane in self._order}
        finally:
            self._delivering.release()

    def _reached(self, targets: dict[int, int], deadline: float | None) -> bool:
        if not self._delivering.acquire(timeout=_lock_timeout(deadline)):
            return False
        try:
            return all(self._done[p] >= target for p, target in targets.items())
        finally:
            self._delivering.release()

    def close(self, timeout: float | None = 10.0) -> None:
        """Deliver what is queued, then stop the delivery thread.

        From now on ``emit`` delivers in the calling thread, so threads still emitting help
        drain the queue instead of outrunning it. Waits at most ``timeout`` seconds for the
        thread; one still busy then (a slow subscriber) stops once the queue is empty.
        """
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
        if kind is not None:  # else it only shares fields or behaviour with its subclasses
            _register(cls, kind)

    def to_data(self) -> dict[str, JSON]:
        """The record as JSON data: each field by its name."""
        fields = dataclasses.fields(typing.cast(Any, self))
        return {f.name: _plain(getattr(self, f.name)) for f in fields}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        """The record from what :meth:`to_data` gave; ValueError (or TypeError) if it does
        not fit the fields."""
        return typing.cast(Self, _dataclass_decoder(cls)(data))


def _register(cls: type[Record], kind: object) -> None:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise TypeError(f"{cls.__module__}.{cls.__qualname__}: an event kind is a word of "
                        f"lower-case letters, digits, '-' and '.', not {kind!r}")
    if not isinstance(cls.__dict__.get("priority", Priority.STATUS), int):
        raise TypeError(f"{cls.__module__}.{cls.__qualname__}: priority must be an int")
    other = _KINDS.get(kind)
    if other is not None and _name(other) != _name(cls):
        raise TypeError(f"event kind {kind!r} is claimed by {_name(other)} and by {_name(cls)}: "
                        f"give one of them another kind (a plugin's own kinds start with its "
                        f"name)")
    _KINDS[kind] = cls  # the same class again: a dataclass(slots=True) remakes its class


def _name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def record_class(kind: str) -> type[Record] | None:
    """The record class of events of ``kind``, if a loaded module defines one."""
    return _KINDS.get(kind)


# -- the kernel's records ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RunStarted(Record):
    """The build starts: the plan holds ``total`` scripts."""

    kind: ClassVar[str] = "run-start"
    total: int


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
    """New complete ``lines`` of a running script's output (without their newlines).

    A stored output event keeps only how many lines it carried (the log has them): its
    ``lines`` are then empty and ``counted`` holds the number; :attr:`count` is right either
    way. Stored as ``{"lines": N}``, or ``{"lines": [...]}`` while it has them.
    """

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
        if self.counted is not None:
            return {"lines": self.counted}
        return {"lines": list(self.lines)}

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        lines = data["lines"]
        if isinstance(lines, int) and not isinstance(lines, bool) and lines >= 0:
            return cls((), lines)
        if isinstance(lines, list) and all(isinstance(line, str) for line in lines):
            return cls(tuple(lines))
        raise ValueError(f"lines: expected a count or a list of lines, not {lines!r}")


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
        when, figures = data.get("time", 0.0), data.get("data", {})
        if type(when) not in (int, float) or not isinstance(figures, dict):
            raise ValueError("time: a number, data: an object")
        return cls(Alert(_text(data["alert"]), AlertLevel(data["level"]),
                         _text(data["message"]), float(when), dict(figures)))


@dataclass(frozen=True, slots=True)
class Progress(Record):
    """How far the build is, from a monitor: scripts ``done`` of ``total``, seconds
    ``elapsed``, the ETA and the critical-path ``bound`` in seconds (None: not known yet),
    ``phases`` (each phase's done and total), the ``running`` scripts with their expected
    durations, and the SBU in seconds (None: not known)."""

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


def record_to_json(record: Record) -> str:
    """``record`` as JSON text, as the state plugin stores an event."""
    return json.dumps(record.to_data(), separators=(",", ":"))


def record_from_data(kind: str, data: Mapping[str, Any] | None) -> Record:
    """The record of an event of ``kind`` from its JSON data: an instance of the kind's class,
    else (an unknown kind, data that does not fit) a :class:`RawRecord` of ``data``."""
    data = data if data is not None else {}
    cls = _KINDS.get(kind)
    if cls is not None:
        try:
            return cls.from_data(data)
        except (KeyError, TypeError, ValueError):
            pass
    return RawRecord(dict(data))


def record_from_json(kind: str, text: str | None) -> Record:
    """The record of an event of ``kind`` from the JSON text :func:`record_to_json` wrote
    (None or empty: no data; text that is not a JSON object: a :class:`RawRecord`)."""
    if not text:
        return record_from_data(kind, None)
    try:
        data = json.loads(text)
    except ValueError:
        return RawRecord({"text": text})
    return record_from_data(kind, data) if isinstance(data, dict) else RawRecord({"data": data})


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


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected text, not {value!r}")
    return value


# -- decoding by the fields' types ---------------------------------------------------------------
Decode = Callable[[Any], Any]


_DECODERS: dict[object, Decode] = {}


def _dataclass_decoder(cls: type) -> Decode:
    """A function that makes a ``cls`` (a dataclass) from a JSON object, checking and
    converting each field by its annotation; built once per class."""
    decoder = _DECODERS.get(cls)
    if decoder is None:
        hints = typing.get_type_hints(cls)
        fields = [(f.name, _decoder(hints[f.name]),
                   f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
                  for f in dataclasses.fields(cls) if f.init]

        def decoder(data: Any) -> Any:
            if not isinstance(data, Mapping):
                raise TypeError(f"expected an object, not {data!r}")
            values = {}
            for name, decode, required in fields:
                if name in data:
                    values[name] = decode(data[name])
                elif required:
                    raise KeyError(name)
            return cls(**values)

        _DECODERS[cls] = decoder
    return decoder


def _decoder(hint: Any) -> Decode:
    """A function that checks and converts a JSON value to the type ``hint``."""
    if hint is Any or hint is object:
        return _same
    origin = typing.get_origin(hint)
    make = _GENERICS.get(origin) if origin is not None else None
    if make is not None:
        return make(origin, typing.get_args(hint))
    if origin is None and isinstance(hint, type):
        decode = _SCALARS.get(hint)
        if decode is not None:
            return decode
        if issubclass(hint, enum.Enum):
            return hint
        if dataclasses.is_dataclass(hint):
            return _dataclass_decoder(hint)
    raise NotImplementedError(f"a record field cannot be of type {hint!r}")


def _generic_sequence(origin: object, args: tuple[Any, ...]) -> Decode:
    if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        return _fixed_tuple([_decoder(arg) for arg in args])
    return _sequence(_decoder(args[0]) if args else _same, tuple if origin is tuple else list)


def _same(value: Any) -> Any:
    return value


def _exactly(kind: type) -> Decode:
    def decode(value: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, not {value!r}")
        return value
    return decode


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise TypeError(f"expected a number, not {value!r}")
    return float(value)


def _union(options: list[Decode]) -> Decode:
    def decode(value: Any) -> Any:
        for option in options:
            try:
                return option(value)
            except (KeyError, TypeError, ValueError):
                continue
        raise ValueError(f"{value!r} fits none of the field's types")
    return decode


def _one_of(allowed: tuple[Any, ...]) -> Decode:
    def decode(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {allowed!r}")
        return value
    return decode


def _sequence(item: Decode, make: type) -> Decode:
    def decode(value: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, not {value!r}")
        return make(item(element) for element in value)
    return decode


def _fixed_tuple(items: list[Decode]) -> Decode:
    def decode(value: Any) -> Any:
        if not isinstance(value, list) or len(value) != len(items):
            raise TypeError(f"expected an array of {len(items)}, not {value!r}")
        return tuple(item(element) for item, element in zip(items, value, strict=True))
    return decode


def _mapping(item: Decode) -> Decode:
    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, not {value!r}")
        return {key: item(element) for key, element in value.items()}
    return decode


_SCALARS: dict[type, Decode] = {type(None): _exactly(type(None)), bool: _exactly(bool),
                                int: _exactly(int), float: _number, str: _exactly(str)}


_GENERICS: dict[object, Callable[[object, tuple[Any, ...]], Decode]] = {
    Union: lambda _o, args: _union([_decoder(arg) for arg in args]),
    types.UnionType: lambda _o, args: _union([_decoder(arg) for arg in args]),
    Literal: lambda _o, args: _one_of(args),
    tuple: _generic_sequence, list: _generic_sequence, Sequence: _generic_sequence,
    dict: lambda _o, args: _mapping(_decoder(args[1]) if args else _same),
    Mapping: lambda _o, args: _mapping(_decoder(args[1]) if args else _same),
}
