"""Benchmark of the event bus: sustained throughput and emit-to-delivery latency.

Three subscribers, real pluggy plugins registered in a real :class:`lfsplug._manager.PluginManager`
and each implementing ``lfsplug_events`` with ``@lfsplug.hookimpl``, do trivial work per event
(count, tally by kind, record the latency). Producers emit typed records as a build does
(``ScriptOutput``, ``RunStarted``, ``AlertRaised``; each made afresh). The bus is measured two
ways:

* saturated: 1, 2 and 4 threads emit as fast as they can; events/s is the number of events
  divided by the time from the first emit until the last one was delivered (``flush``). One
  event in 1,000 is an ALERT, whose latency shows it overtaking the flood of PROGRESS events;
* paced: the same threads emit at a moderate total rate (10,000 events/s by default); latency is
  ``perf_counter()`` in the subscriber minus ``Event.emitted``, reported as p50 and p99.

Peers run in the same process, interleaved with the bus's runs, so the ratios hold on a busy
machine:

* ``direct``: the bound: the same three subscribers called directly in a tight loop (plain Python
  calls, same event construction, same batch size, no queue, no thread, no pluggy);
* ``naive``: a ``queue.Queue`` and one pluggy hook call per event, from one consumer thread.

Targets: at least 200,000 events/s saturated, p99 under 1 ms paced. Run::

    python benchmarks/bench_events.py [--events N] [--rate R] [--threads 1,2,4]
"""

from __future__ import annotations

import argparse
import gc
import inspect
import itertools
import os
import queue
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import lfsplug
from lfsplug._events import EventBus
from lfsplug._manager import PluginManager
from lfsplug._model import Alert, AlertLevel, Event, Priority
from lfsplug._events import AlertRaised, Record, RunStarted, ScriptOutput

TARGET_RATE = 200_000  # events/s, saturated
TARGET_P99_US = 1_000.0  # microseconds, paced
STATUS_EVERY = 50  # one STATUS event among this many PROGRESS ones, as a build would mix them
ALERT_EVERY = 1_000  # and one ALERT among this many


# -- the three subscribers -------------------------------------------------------------------


class Counter:
    """Counts the events it sees."""

    def __init__(self) -> None:
        self.count = 0

    @lfsplug.hookimpl
    def lfsplug_events(self, session: object, events: list[Event]) -> None:
        count = self.count
        for _event in events:
            count += 1
        self.count = count


class KindTally:
    """Counts the events of each kind."""

    def __init__(self) -> None:
        self.by_kind: dict[str, int] = {}

    @lfsplug.hookimpl
    def lfsplug_events(self, session: object, events: list[Event]) -> None:
        tally = self.by_kind
        for event in events:
            tally[event.kind] = tally.get(event.kind, 0) + 1


class LatencyProbe:
    """Records, for every event, the seconds from its emit to this subscriber seeing it."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.alerts: list[float] = []

    @lfsplug.hookimpl
    def lfsplug_events(self, session: object, events: list[Event]) -> None:
        now = time.perf_counter()
        record = self.latencies.append
        for event in events:
            latency = now - event.emitted
            record(latency)
            if event.priority == Priority.ALERT:
                self.alerts.append(latency)


@dataclass
class Subscribers:
    counter: Counter
    tally: KindTally
    probe: LatencyProbe

    @classmethod
    def fresh(cls) -> Subscribers:
        return cls(Counter(), KindTally(), LatencyProbe())

    def all(self) -> tuple[Counter, KindTally, LatencyProbe]:
        return self.counter, self.tally, self.probe

    def check(self, expected: int, label: str) -> None:
        """Every subscriber saw every event exactly once."""
        seen = (self.counter.count, sum(self.tally.by_kind.values()), len(self.probe.latencies))
        if seen != (expected,) * 3:
            raise SystemExit(f"{label}: subscribers saw {seen} events, expected {expected}")


class _Session:
    """Stands in for the session argument of the hook (the subscribers ignore it)."""


def make_hook(subs: Subscribers) -> Callable[[list[Event]], None]:
    """A plugin manager with the three subscribers; returns what Session._deliver_events does."""
    pm = PluginManager()
    for i, plugin in enumerate(subs.all()):
        pm.register(plugin, f"subscriber-{i}")
    pm.check_pending()
    hook, session = pm.hook.lfsplug_events, _Session()

    def deliver(events: list[Event]) -> None:
        hook(session=session, events=events)

    return deliver


# -- producers -------------------------------------------------------------------------------

LINES = ("make[2]: Entering directory '/sources/gcc-14.2.0/build/libgcc'",)
ALERT = Alert("disk", AlertLevel.WARN, "lfs has 4.2G free", 0.0)


def _record(i: int) -> Record:
    """Event ``i`` of a producer: mostly output, some status, a few alerts (each record made
    afresh, as a build makes them)."""
    if i % ALERT_EVERY == ALERT_EVERY - 1:
        return AlertRaised(ALERT)
    if i % STATUS_EVERY == 0:
        return RunStarted(i)
    return ScriptOutput(LINES)


Emit = Callable[[Record, str], Any]


def emit_flat_out(emit: Emit, count: int, script: str) -> None:
    for i in range(count):
        emit(_record(i), script)


def emit_paced(emit: Emit, count: int, rate: float, start: float, script: str) -> None:
    """Emit ``count`` events at ``rate`` per second from ``start`` (sleeping, not spinning)."""
    clock, sleep = time.perf_counter, time.sleep
    for i in range(count):
        due = start + i / rate
        ahead = due - clock()
        if ahead > 0:
            sleep(ahead)
        emit(_record(i), script)


def run_threads(nthreads: int, work: Callable[[int, float], None]) -> float:
    """Run ``work(index, start)`` in ``nthreads`` threads that all begin at ``start``, a moment
    after every thread is up; returns ``start`` (on the perf_counter clock)."""
    barrier = threading.Barrier(nthreads + 1)
    box: list[float] = []

    def body(index: int) -> None:
        barrier.wait()
        delay = box[0] - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        work(index, box[0])

    threads = [threading.Thread(target=body, args=(i,)) for i in range(nthreads)]
    for thread in threads:
        thread.start()
    box.append(time.perf_counter() + 0.01)
    barrier.wait()
    for thread in threads:
        thread.join()
    return box[0]


# -- the designs under test ------------------------------------------------------------------


@dataclass
class Result:
    """One run: how many events, how long (wall and CPU of the whole process), the latencies."""

    label: str
    threads: int
    events: int
    seconds: float
    cpu_seconds: float
    latencies: list[float]
    alerts: list[float]

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    @property
    def cpu_us(self) -> float:
        """CPU microseconds per event, all threads together."""
        return self.cpu_seconds / self.events * 1e6

    def percentile_us(self, q: float, alerts: bool = False) -> float:
        ordered = sorted(self.alerts if alerts else self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


def _measured(label: str, nthreads: int, events: int, subs: Subscribers,
              run: Callable[[], float]) -> Result:
    """Run ``run`` (which returns its start on the perf_counter clock) and time it."""
    gc.collect()
    cpu = time.process_time()
    start = run()
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    subs.check(events, label)
    return Result(label, nthreads, events, seconds, cpu_seconds, subs.probe.latencies,
                  subs.probe.alerts)


def _producer(emit: Emit, rate: float | None, nthreads: int, per_thread: int
              ) -> Callable[[int, float], None]:
    def work(index: int, start: float) -> None:
        if rate is None:
            emit_flat_out(emit, per_thread, f"s{index}")
        else:
            emit_paced(emit, per_thread, rate / nthreads, start, f"s{index}")

    return work


def bench_bus(nthreads: int, events: int, rate: float | None, batch: int) -> Result:
    """The EventBus delivering to the three plugins; paced at ``rate`` if given."""
    subs = Subscribers.fresh()
    bus = EventBus(make_hook(subs), history=10_000, batch=batch)
    per_thread = events // nthreads

    def run() -> float:
        bus.start()
        start = run_threads(nthreads, _producer(bus.emit, rate, nthreads, per_thread))
        if not bus.flush(timeout=60):
            raise SystemExit("the bus did not drain within 60 s")
        return start

    result = _measured("bus", nthreads, per_thread * nthreads, subs, run)
    bus.close()
    if bus.error is not None:
        raise SystemExit(f"a subscriber failed: {bus.error!r}")
    return result


def bench_naive(nthreads: int, events: int, rate: float | None) -> Result:
    """The peer design: a queue.Queue and one pluggy hook call per event."""
    subs = Subscribers.fresh()
    deliver = make_hook(subs)
    inbox: queue.Queue[Event | None] = queue.Queue()
    seq = itertools.count()
    per_thread = events // nthreads

    def emit(record: Record, script: str | None) -> Event:
        cls = type(record)
        event = Event(cls.kind, time.time(), cls.priority, script, record, next(seq),
                      time.perf_counter())
        inbox.put(event)
        return event

    def consume() -> None:
        while (event := inbox.get()) is not None:
            deliver([event])

    def run() -> float:
        consumer = threading.Thread(target=consume)
        consumer.start()
        start = run_threads(nthreads, _producer(emit, rate, nthreads, per_thread))
        inbox.put(None)
        consumer.join()
        return start

    return _measured("naive", nthreads, per_thread * nthreads, subs, run)


def bench_direct(events: int, batch: int) -> Result:
    """The bound: the three subscribers called directly, no queue, thread or pluggy."""
    subs = Subscribers.fresh()
    calls = [plugin.lfsplug_events for plugin in subs.all()]
    session, seq = _Session(), itertools.count()

    def run() -> float:
        start, pending = time.perf_counter(), []
        for i in range(events):
            record = _record(i)
            cls = type(record)
            pending.append(Event(cls.kind, time.time(), cls.priority, "s0", record, next(seq),
                                 time.perf_counter()))
            if len(pending) == batch:
                for call in calls:
                    call(session, pending)
                pending = []
        for call in calls:
            call(session, pending)
        return start

    return _measured("direct", 1, events, subs, run)


# -- report ----------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def saturated(args: argparse.Namespace, nthreads: int, batch: int) -> bool:
    """Bus and direct calls interleaved ``repeat`` times (medians), then the naive peer once."""
    buses, ratios = [], []
    for _ in range(args.repeat):
        direct = bench_direct(args.events, batch)
        bus = bench_bus(nthreads, args.events, None, batch)
        buses.append(bus)
        ratios.append(bus.rate / direct.rate)
    buses.sort(key=lambda r: r.rate)
    bus, ratio = buses[len(buses) // 2], statistics.median(ratios)
    ok = bus.rate >= TARGET_RATE
    print(f"  {nthreads} emitting thread(s): {bus.rate:>9,.0f} events/s"
          f"  ({bus.cpu_us:.2f} CPU us/event)   ratio vs direct calls {ratio:.2f}"
          f"   {verdict(ok)} (>= {TARGET_RATE:,} events/s)")
    print(f"      alerts under the flood: p50 {bus.percentile_us(0.5, True):,.0f} us,"
          f" p99 {bus.percentile_us(0.99, True):,.0f} us; every event: p50"
          f" {bus.percentile_us(0.5):,.0f} us, p99 {bus.percentile_us(0.99):,.0f} us")
    if args.naive_events:
        naive = bench_naive(nthreads, args.naive_events, None)
        print(f"      naive queue.Queue + one hook call per event: {naive.rate:,.0f} events/s"
              f" ({naive.cpu_us:.2f} CPU us/event); bus/naive {bus.rate / naive.rate:.2f}")
    return ok


def paced(args: argparse.Namespace, nthreads: int, batch: int, naive: bool) -> bool:
    bus = bench_bus(nthreads, args.latency_events, args.rate, batch)
    p50, p99 = bus.percentile_us(0.50), bus.percentile_us(0.99)
    ok = p99 < TARGET_P99_US
    print(f"  {nthreads} emitting thread(s): latency p50 {p50:6.1f} us  p99 {p99:7.1f} us"
          f"  max {bus.percentile_us(1):8.1f} us   {verdict(ok)} (p99 < {TARGET_P99_US:,.0f} us)")
    if naive:
        peer = bench_naive(nthreads, args.latency_events, args.rate)
        print(f"      naive queue.Queue + one hook call per event: p50"
              f" {peer.percentile_us(0.5):.1f} us  p99 {peer.percentile_us(0.99):.1f} us")
    return ok


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--events", type=int, default=200_000,
                        help="events per saturated run of the bus and of direct calls "
                             "(default 200000)")
    parser.add_argument("--naive-events", type=int, default=50_000,
                        help="events per saturated run of the naive peer; 0 skips the peer "
                             "(default 50000)")
    parser.add_argument("--latency-events", type=int, default=20_000,
                        help="events per paced run (default 20000)")
    parser.add_argument("--rate", type=float, default=10_000,
                        help="total events/s of the paced runs (default 10000)")
    parser.add_argument("--threads", default="1,2,4",
                        help="emitting thread counts, comma separated (default 1,2,4)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="saturated runs per thread count, medians reported (default 3)")
    parser.add_argument("--batch", type=int, default=None,
                        help="the bus's batch size (default: EventBus's own)")
    return parser.parse_args(argv)


def default_batch() -> int:
    """EventBus's default batch size, so the benchmark follows the bus."""
    return int(inspect.signature(EventBus).parameters["batch"].default)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    threads = [int(n) for n in args.threads.split(",")]
    batch = args.batch or default_batch()
    print(f"event bus benchmark: 3 subscribing plugins, batch {batch}, python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, GIL switch interval "
          f"{sys.getswitchinterval() * 1e3:g} ms")
    oks = []
    print(f"saturated: {args.events:,} events per run, median of {args.repeat}")
    for n in threads:
        oks.append(saturated(args, n, batch))
    print(f"paced: {args.latency_events:,} events at {args.rate:,.0f} events/s in total")
    for n in threads:
        oks.append(paced(args, n, batch, naive=bool(args.naive_events) and n == threads[0]))
    print(f"overall: {verdict(all(oks))}")
    return 0 if all(oks) else 1


if __name__ == "__main__":
    raise SystemExit(main())
