"""The event bus: every event of a build, delivered to plugins in priority order.

``emit`` is safe from any thread and cheap (a heap push under a lock). A delivery thread pops
events highest priority first (lowest :class:`~lfsplug.model.Priority` value) in small batches
and hands each batch to one callback (the session routes it to the ``lfsplug_events`` hook), so
an alert overtakes progress events still queued. Batching is what makes the bus fast: one hook
call costs microseconds, one per event would cap the bus far below a busy parallel build's rate.
The last ``history`` events are kept for late subscribers and reports.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from lfsplug.model import Event, Priority

__all__ = ["EventBus"]

Deliver = Callable[[list[Event]], None]


class EventBus:
    """A thread-safe priority queue of events with one delivery thread.

    :param deliver: called with each batch, in priority order, from the delivery thread (or
        from ``emit`` itself while the bus is not started).
    :param history: how many delivered events to keep.
    :param batch: the most events handed over in one call; smaller batches let an alert
        overtake more of the queue, larger ones cost less per event.
    """

    def __init__(self, deliver: Deliver, history: int = 10_000, batch: int = 64) -> None:
        self._deliver = deliver
        self._batch = batch
        self._heap: list[tuple[int, int, Event]] = []
        lock = threading.Lock()
        self._nonempty = threading.Condition(lock)  # the delivery thread waits on this
        self._drained = threading.Condition(lock)  # flush() waits on this
        self._seq = itertools.count()
        self._waiting = False
        self._closing = False
        self._pending = 0
        self._thread: threading.Thread | None = None
        self.history: deque[Event] = deque(maxlen=history)
        self.error: BaseException | None = None
        self.delivered = 0

    # -- producing -----------------------------------------------------------------------------

    def emit(
        self,
        kind: str,
        script: str | None = None,
        priority: int = Priority.STATUS,
        **payload: Any,
    ) -> Event:
        """Queue an event; returns it. Safe from any thread."""
        seq = next(self._seq)
        event = Event(kind, time.time(), priority, script, payload, seq, time.perf_counter())
        if self._thread is None:
            self._hand_over([event])
            return event
        with self._nonempty:
            heapq.heappush(self._heap, (priority, seq, event))
            self._pending += 1
            if self._waiting:
                self._nonempty.notify()
        return event

    # -- the delivery thread -------------------------------------------------------------------

    def start(self) -> None:
        """Start delivering from a thread of its own (until :meth:`close`)."""
        if self._thread is not None:
            return
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="lfsplug-events", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        heap, nonempty, pop = self._heap, self._nonempty, heapq.heappop
        while True:
            with nonempty:
                while not heap and not self._closing:
                    self._waiting = True
                    nonempty.wait()
                    self._waiting = False
                if not heap:
                    return
                batch = [pop(heap)[2] for _ in range(min(len(heap), self._batch))]
            self._hand_over(batch)
            with nonempty:
                self._pending -= len(batch)
                if self._pending == 0:
                    self._drained.notify_all()

    def _hand_over(self, batch: list[Event]) -> None:
        self.history.extend(batch)
        self.delivered += len(batch)
        if self.error is not None:
            return  # a subscriber failed: the session reports it; stop calling plugins
        try:
            self._deliver(batch)
        except BaseException as exc:  # kept, and raised by the session after the build
            self.error = exc

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every event emitted so far has been delivered; False on timeout."""
        if self._thread is None:
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._drained:
            while self._pending:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._drained.wait(remaining)
        return True

    def close(self, timeout: float | None = 10.0) -> None:
        """Deliver what is queued, then stop the delivery thread."""
        thread = self._thread
        if thread is None:
            return
        with self._nonempty:
            self._closing = True
            self._nonempty.notify_all()
        thread.join(timeout)
        self._thread = None

    @property
    def queued(self) -> int:
        """Events emitted but not yet delivered."""
        return self._pending
