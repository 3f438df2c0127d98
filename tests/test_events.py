"""The event bus: priority order, FIFO, threads, history, flush, close, errors, and the hook.

No test here measures time: the bus's speed is benchmarks/bench_events.py's business. Where a
test needs the delivery thread to hold still, a subscriber blocks on a gate.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lfsplug
from lfsplug import Record, RunFinished, RunStarted, ScriptOutput
from lfsplug._events import EventBus
from lfsplug._model import Event, Priority
from lfsplug.testing import ISOLATED_ENV

WAIT = 30.0  # seconds; only ever reached when a test is about to fail


@dataclass(frozen=True, slots=True)
class Note(Record):
    """A test event: a number and a word. Each priority has a subclass of its own (a
    record's class gives the priority): :func:`note` makes them."""

    kind: ClassVar[str] = "test-note"
    i: int = 0
    text: str = ""


_NOTES: dict[int, type[Note]] = {Priority.STATUS: Note}


def note(priority: int = Priority.STATUS, i: int = 0, text: str = "") -> Note:
    """A :class:`Note` of ``priority``."""
    cls = _NOTES.get(priority)
    if cls is None:
        name = f"Note{priority}".replace("-", "m")
        cls = _NOTES[priority] = type(name, (Note,), {
            "__slots__": (), "__module__": __name__, "__qualname__": name,
            "kind": f"test-note-{priority}", "priority": priority})
    return cls(i, text)


def texts(events: list[Event]) -> list[str]:
    return [e.record.text for e in events if isinstance(e.record, Note)]


def numbers(events: list[Event]) -> list[int]:
    return [e.record.i for e in events if isinstance(e.record, Note)]


class Subscriber:
    """Records every batch; with ``gate``, blocks inside the first batch until it opens."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.batches: list[list[Event]] = []
        self.gate = gate
        self.entered = threading.Event()
        self.threads: set[int] = set()

    def __call__(self, batch: list[Event]) -> None:
        self.threads.add(threading.get_ident())
        self.batches.append(list(batch))
        self.entered.set()
        if self.gate is not None:
            assert self.gate.wait(WAIT), "the test never opened the gate"

    @property
    def events(self) -> list[Event]:
        return [event for batch in self.batches for event in batch]


Gated = tuple[EventBus, Subscriber, threading.Event]


def in_threads(count: int, target: Callable[[int], object]) -> None:
    """Call ``target(t)`` for each t below ``count``, each in a thread of its own; wait for all."""
    threads = [threading.Thread(target=target, args=(t,)) for t in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@pytest.fixture
def gated() -> Iterator[Gated]:
    """A started bus whose subscriber is stuck in its first batch (a "first" event)."""
    gate = threading.Event()
    subscriber = Subscriber(gate)
    bus = EventBus(subscriber, batch=8)
    bus.start()
    bus.emit(note(Priority.PROGRESS, text="first"))
    assert subscriber.entered.wait(WAIT)
    yield bus, subscriber, gate
    gate.set()
    bus.close(timeout=WAIT)


def by_priority(events: list[Event]) -> list[Event]:
    """What the bus promises for events all queued together: priority, then emit order."""
    return sorted(events, key=lambda e: (e.priority, e.seq))


# -- ordering ----------------------------------------------------------------------------------


def test_alert_overtakes_queued_progress(gated: Gated) -> None:
    bus, subscriber, gate = gated
    for i in range(200):
        bus.emit(ScriptOutput((f"line {i}",)), "gcc")
    alert = bus.emit(note(Priority.ALERT, text="disk almost full"))
    gate.set()
    assert bus.flush(WAIT)
    assert texts(subscriber.events[:2]) == ["first", "disk almost full"]  # the very next
    # batch starts with the alert
    assert subscriber.batches[1][0] is alert
    assert len(subscriber.events) == 202


def test_order_across_batches(gated: Gated) -> None:
    bus, subscriber, gate = gated
    priorities = [Priority.SAMPLE, Priority.PROGRESS, Priority.STATUS, Priority.ALERT] * 10
    emitted = [bus.emit(note(p, i)) for i, p in enumerate(priorities)]
    gate.set()
    assert bus.flush(WAIT)
    assert subscriber.events[1:] == by_priority(emitted)
    assert all(len(batch) <= 8 for batch in subscriber.batches)
    assert len(subscriber.batches) == 1 + 40 // 8


@settings(max_examples=30, deadline=None)
@given(st.lists(st.sampled_from([*Priority, 5, 15, 25, 99]), max_size=60),
       st.integers(min_value=1, max_value=10))
def test_priority_then_fifo(priorities: list[int], batch: int) -> None:
    gate = threading.Event()
    subscriber = Subscriber(gate)
    bus = EventBus(subscriber, batch=batch)
    bus.start()
    try:
        bus.emit(note(text="first"))
        assert subscriber.entered.wait(WAIT)
        emitted = [bus.emit(note(p, i)) for i, p in enumerate(priorities)]
    finally:
        gate.set()
        bus.close(timeout=WAIT)
    assert subscriber.events[1:] == by_priority(emitted)  # priorities of any int, as well


def test_fifo_within_one_priority_while_running() -> None:
    subscriber = Subscriber()
    bus = EventBus(subscriber, batch=4)
    bus.start()
    emitted = [bus.emit(note(Priority.PROGRESS if i % 3 else Priority.STATUS, i))
               for i in range(5_000)]
    assert bus.flush(WAIT)
    bus.close()
    for priority in (Priority.PROGRESS, Priority.STATUS):
        seen = numbers([e for e in subscriber.events if e.priority == priority])
        assert seen == numbers([e for e in emitted if e.priority == priority])


# -- threads -----------------------------------------------------------------------------------


def test_many_threads_lose_and_duplicate_nothing() -> None:
    subscriber = Subscriber()
    bus = EventBus(subscriber, history=100, batch=16)
    bus.start()
    nthreads, each = 8, 3_000
    barrier = threading.Barrier(nthreads)
    emitters: set[int] = set()

    def produce(t: int) -> None:
        emitters.add(threading.get_ident())
        barrier.wait()
        for i in range(each):
            bus.emit(note(Priority.ALERT if i % 100 == 0 else Priority.PROGRESS, i), f"s{t}")

    in_threads(nthreads, produce)
    assert bus.flush(WAIT)
    bus.close()
    seen = [(e.script, i) for e, i in zip(subscriber.events, numbers(subscriber.events),
                                          strict=True)]
    assert len(seen) == len(set(seen)) == nthreads * each
    assert bus.delivered == nthreads * each and bus.queued == 0
    assert len({e.seq for e in subscriber.events}) == nthreads * each
    for t in range(nthreads):  # each emitter's events of one priority stay in its order
        mine = [i for script, i in seen if script == f"s{t}" and i % 100]
        assert mine == sorted(mine)
    # from the delivery thread, or from an emitter helping under backpressure (a backlog
    # past high_water); never from a thread that emitted nothing, as this one
    assert threading.get_ident() not in subscriber.threads
    assert len(subscriber.threads - emitters) == 1


def test_deliver_is_never_concurrent_with_itself() -> None:
    active, overlaps = [0], []
    lock = threading.Lock()

    def deliver(batch: list[Event]) -> None:
        with lock:
            active[0] += 1
            overlaps.append(active[0])
        for _ in batch:
            pass
        with lock:
            active[0] -= 1

    bus = EventBus(deliver, batch=4)  # not started: emitters deliver in their own threads
    in_threads(4, lambda _t: [bus.emit(note()) for _ in range(2_000)])
    assert max(overlaps) == 1
    assert bus.delivered == 8_000


# -- history, counters, flush, close -----------------------------------------------------------


def test_history_is_bounded_to_the_latest() -> None:
    bus = EventBus(lambda batch: None, history=10)
    bus.start()
    for i in range(1_000):
        bus.emit(note(i=i))
    bus.close()
    assert numbers(list(bus.history)) == list(range(990, 1_000))
    assert bus.delivered == 1_000


def test_queued_counts_the_batch_in_flight(gated: Gated) -> None:
    bus, _subscriber, gate = gated
    for _ in range(10):
        bus.emit(note())
    assert bus.queued == 11 and bus.delivered == 1
    gate.set()
    assert bus.flush(WAIT)
    assert bus.queued == 0 and bus.delivered == 11


def test_flush_waits_for_delivery(gated: Gated) -> None:
    bus, subscriber, gate = gated
    for i in range(50):
        bus.emit(note(i=i))
    assert bus.flush(timeout=0.01) is False  # the subscriber is stuck: it cannot be done
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(bus.flush()))
    waiter.start()
    waiter.join(0.05)
    assert results == []  # still waiting, as the gate is closed
    gate.set()
    waiter.join(WAIT)
    assert results == [True]
    assert len(subscriber.events) == 51


def test_flush_without_start_and_from_a_subscriber() -> None:
    answers: list[bool] = []
    bus = EventBus(lambda batch: answers.append(bus.flush()))
    assert bus.flush() is True
    bus.emit(note())
    assert answers == [False]  # a subscriber cannot wait for its own batch
    bus.start()
    bus.emit(note())
    assert bus.flush(WAIT) is True
    bus.close()
    assert answers == [False, False]


def test_close_delivers_what_is_queued(gated: Gated) -> None:
    bus, subscriber, gate = gated
    for i in range(500):
        bus.emit(note(i=i))
    gate.set()
    bus.close(timeout=WAIT)
    assert len(subscriber.events) == 501 and bus.queued == 0
    after = bus.emit(note(text="late"))  # closed: delivered before emit returns
    assert subscriber.events[-1] is after


def test_emits_racing_close_and_start_lose_nothing() -> None:
    subscriber = Subscriber()
    bus = EventBus(subscriber, batch=4)
    bus.start()
    stop = threading.Event()
    counts = [0] * 4

    def produce(t: int) -> None:
        while not stop.is_set():
            bus.emit(note(i=counts[t]), f"s{t}")
            counts[t] += 1

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for _round in range(20):  # the bus switches between threaded and in-place delivery
        bus.close(timeout=WAIT)
        bus.start()
    stop.set()
    for thread in threads:
        thread.join()
    assert bus.flush(WAIT)
    bus.close(timeout=WAIT)
    assert bus.queued == 0 and bus.delivered == sum(counts)
    seen = sorted((e.script or "", e.record.i) for e in subscriber.events
                  if isinstance(e.record, Note))
    assert seen == sorted((f"s{t}", i) for t in range(4) for i in range(counts[t]))


# The lock-free handshakes have windows a few bytecodes wide that stress tests rarely hit; these
# two subclasses put an emit exactly there, through the private step that precedes the window.


class EmitBeforeSleep(EventBus):
    """Emits once just after the delivery thread found the queue empty, before it sleeps."""

    injected = False

    def _sleep(self) -> None:
        if not self.injected:
            self.injected = True
            self.emit(note(text="slipped-in"))  # no wake-up: the thread is not idle yet
        super()._sleep()


class EmitAsCloseBegins(EventBus):
    """Emits once after the thread's last look at the queue, then closes as ``close`` does."""

    injected = False

    def _deliver_one_batch(self, blocking: bool = True) -> bool:
        delivered = super()._deliver_one_batch(blocking)
        if not delivered and not self.injected and threading.current_thread() is self._thread:
            self.injected = True
            self.emit(note(text="straggler"))  # queued, as the bus is still running
            self._running, self._closing = False, True  # what close() writes, landing here
        return delivered


def test_an_event_queued_as_the_thread_goes_to_sleep_is_delivered() -> None:
    subscriber = Subscriber()
    bus = EmitBeforeSleep(subscriber)
    bus.start()
    assert bus.flush(WAIT)
    bus.close()
    assert texts(subscriber.events) == ["slipped-in"]


def test_an_event_queued_as_close_begins_is_delivered() -> None:
    subscriber = Subscriber()
    bus = EmitAsCloseBegins(subscriber)
    bus.start()
    bus.close(timeout=WAIT)
    assert texts(subscriber.events) == ["straggler"]
    assert bus.queued == 0


def test_close_then_start_again() -> None:
    subscriber = Subscriber()
    bus = EventBus(subscriber)
    bus.close()  # not started: nothing to do
    for _round in range(3):
        bus.start()
        bus.start()  # already running: no second thread
        bus.emit(note())
        bus.close()
    assert len(subscriber.events) == 3
    assert threading.get_ident() not in subscriber.threads


def test_synchronous_delivery_when_not_started() -> None:
    subscriber = Subscriber()
    bus = EventBus(subscriber)
    record = note(Priority.SAMPLE, 1, "one")
    first = bus.emit(record, "a")
    assert subscriber.batches == [[first]]  # delivered before emit returned
    second = bus.emit(note(Priority.ALERT, text="two"), "a")
    assert subscriber.batches == [[first], [second]]
    assert subscriber.threads == {threading.get_ident()}
    assert bus.delivered == 2 and bus.queued == 0 and list(bus.history) == [first, second]
    assert (first.kind, first.script, first.priority) == ("test-note-30", "a", 30)
    assert first.record is record  # the record itself, not a copy
    assert second.seq > first.seq and second.emitted >= first.emitted > 0


def test_a_subscriber_may_emit() -> None:
    kinds: list[str] = []

    def deliver(batch: list[Event]) -> None:
        kinds.extend(texts(batch))
        if "ping" in texts(batch):
            bus.emit(note(text="pong"))

    bus = EventBus(deliver)
    bus.emit(note(text="ping"))  # not started: the reply comes right after, from the same call
    assert kinds == ["ping", "pong"]
    bus.start()
    bus.emit(note(text="ping"))
    assert bus.flush(WAIT)
    bus.close()
    assert kinds == ["ping", "pong", "ping", "pong"]


# -- errors ------------------------------------------------------------------------------------


def test_subscriber_error_is_kept_and_emitters_go_on() -> None:
    calls: list[int] = []

    def deliver(batch: list[Event]) -> None:
        calls.append(len(batch))
        raise ValueError("subscriber bug")

    bus = EventBus(deliver, batch=8)
    bus.start()
    in_threads(3, lambda _t: [bus.emit(note()) for _ in range(1_000)])
    assert bus.flush(WAIT)
    bus.close()
    assert isinstance(bus.error, ValueError) and str(bus.error) == "subscriber bug"
    assert len(calls) == 1  # after a failure, plugins are not called again
    assert bus.delivered == 3_000 and len(bus.history) == 3_000


def test_subscriber_error_when_not_started() -> None:
    def deliver(batch: list[Event]) -> None:
        raise RuntimeError("boom")

    bus = EventBus(deliver)
    bus.emit(note())  # does not raise in the emitter
    bus.emit(note())
    assert isinstance(bus.error, RuntimeError)
    assert bus.delivered == 2


def test_batch_must_be_positive() -> None:
    with pytest.raises(ValueError, match="batch must be at least 1"):
        EventBus(lambda batch: None, batch=0)


# -- through a real session --------------------------------------------------------------------


class Recorder:
    """An inline plugin that records every event the session delivers."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self.batches = 0
        self.finished: list[tuple[str, str]] = []

    @lfsplug.hookimpl
    def lfsplug_events(self, session: object, events: list[Event]) -> None:
        self.batches += 1
        self.events.extend(events)

    @lfsplug.hookimpl
    def lfsplug_script_finish(self, result: lfsplug.ScriptResult) -> None:
        self.finished.append((result.name, str(result.status)))


class Exploding:
    """An inline plugin whose event subscriber fails."""

    def __init__(self) -> None:
        self.__name__ = "exploding-subscriber"  # the name it is registered under

    @lfsplug.hookimpl
    def lfsplug_events(self, session: object, events: list[Event]) -> None:
        raise RuntimeError("subscriber exploded")


@pytest.fixture
def tree(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name, body in (("01-a.sh", "echo hi"), ("02-b.sh", "echo there")):
        path = scripts / name
        path.write_text(f"#!/bin/bash\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
    return scripts


@pytest.mark.e2e
def test_session_delivers_events_to_plugins(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorder = Recorder()
    # the kernel's own events only: the monitor adds samples and progress events of its own
    code = lfsplug.main(["run", str(tree), "-p", "no:monitor"], plugins=[recorder])
    assert code == 0, capsys.readouterr()
    # delivery order is by priority (output is PROGRESS, the rest STATUS); seq is emit order;
    # a script's start and finish are hooks (lfsplug_script_start/finish), not events
    emitted = sorted(recorder.events, key=lambda e: e.seq)
    assert [(e.kind, e.script) for e in emitted] == [
        ("run-start", None), ("script-output", "a"), ("script-output", "b"),
        ("run-finish", None),
    ]
    assert [type(e.record) for e in emitted] == [RunStarted, ScriptOutput, ScriptOutput,
                                                 RunFinished]
    assert emitted[0].record == RunStarted(total=2)
    output = [line for e in recorder.events if isinstance(e.record, ScriptOutput)
              for line in e.record.lines]
    assert output == ["hi", "there"]
    assert emitted[-1].record == RunFinished(exit_code=0)
    assert recorder.finished == [("a", "passed"), ("b", "passed")]


@pytest.mark.e2e
def test_session_reports_a_failing_subscriber(
    tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = lfsplug.main(["run", str(tree)], plugins=[Exploding()])
    assert code == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "exploding-subscriber" in err[0] and "lfsplug_events" in err[0], err
    assert "subscriber exploded" in err[0]
