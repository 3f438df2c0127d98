"""The event bus: every event of a build, delivered to plugins in priority order.

``emit`` takes a :class:`~lfsplug.records.Record` (whose class gives the event's kind and
priority), is safe from any thread and cheap: it appends the event to the FIFO of its priority
(a :class:`collections.deque`, whose ``append`` is atomic) and takes no lock, unless it must wake
the idle delivery thread. That thread takes events highest priority first (lowest
:class:`~lfsplug.model.Priority` value) in small batches and hands each batch to one callback
(the session routes it to the ``lfsplug_events`` hook), so an alert overtakes every progress
event not yet taken into a batch. Batching is what makes the bus fast: one hook call costs
microseconds, one per event would cap the bus far below a busy parallel build's rate. Before
:meth:`EventBus.start` and after :meth:`EventBus.close`, ``emit`` delivers in the calling thread.
Backpressure: when a priority's queue passes ``high_water`` events, an emitting thread that
finds no batch being handed over hands one over itself, so emitters that outrun the delivery
thread (which, on a busy machine, waits for the GIL behind them) pay for what they queue and the
queue stays bounded.
The last ``history`` events are kept for late subscribers and reports.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from itertools import repeat, starmap
from typing import TYPE_CHECKING

from lfsplug.model import Event, Priority

if TYPE_CHECKING:
    from lfsplug.records import Record

__all__ = ["EventBus"]

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
