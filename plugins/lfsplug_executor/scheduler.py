"""The scheduler: runs the plan, one script or ``-j N`` at a time.

Any script whose predecessors are done may start. Among those ready, the one with the longest
remaining path to the end of the build (its own expected duration plus the longest chain of
scripts waiting for it: its *bottom level*) starts first, the classic list-scheduling rule that
keeps the critical path moving; ties go to plan order, so ``-j 1`` runs the plan's order
exactly. Before starting a script beyond the first, the scheduler also wants a free job slot
of the shared make jobserver (see :mod:`lfsplug_executor.jobserver`), enough available memory
and enough free space at ``$LFS``; one script always runs, so no floor can deadlock the build.

Each script runs on a thread of its own through the kernel's per-script protocol; the main
thread only schedules, so that it is free for signals: the first Ctrl-C (or SIGTERM) starts no
new script and lets the running ones finish, the second ends them, the third exits at once.

A retry that must run alone (``Recovery(exclusive=True)``: out of memory, a parallel-make race)
waits at the :class:`Gate` (``session.alone``): from then on no new script starts, and the
retry runs once every other running script has finished, or waits at the gate too (one at a
time, in the order they came); then scheduling resumes.
"""

from __future__ import annotations

import contextlib
import heapq
import os
import queue
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import TYPE_CHECKING, Any, ClassVar

import click

from lfsplug import (
    Plan,
    Record,
    Script,
    ScriptResult,
    StashKey,
    Status,
    UsageError,
    format_size,
)
from lfsplug_executor.jobserver import Jobserver
from lfsplug_executor.orphans import ProcessBook

if TYPE_CHECKING:
    from lfsplug import Session

__all__ = ["JOBSERVER", "RUN_CONTEXT", "Gate", "RunContext", "RunsAlone", "Scheduler",
           "Throttled", "bottom_levels"]

#: How often the scheduler looks at stop requests and floors while scripts run (s).
TICK = 0.1


@dataclass(frozen=True, slots=True)
class Throttled(Record):
    """The scheduler holds new scripts back for ``reason`` (memory or load), with ``running``
    scripts running; a ``reason`` of None says it no longer does (the ``throttle`` event).
    ``waiting``: the script held back, the next to start."""

    kind: ClassVar[str] = "throttle"
    reason: str | None
    running: int
    waiting: str | None = None


@dataclass(frozen=True, slots=True)
class RunsAlone(Record):
    """A retry of the event's script starts with no other script running, after ``waited``
    seconds for the others to finish (the ``runs-alone`` event)."""

    kind: ClassVar[str] = "runs-alone"
    waited: float


@dataclass
class RunContext:
    """What the scheduler shares with the executor's hooks during a run."""

    #: the pipe that wakes every runner when the build is stopped hard
    stop_read: int | None = None
    stop_write: int | None = None
    book: ProcessBook | None = None
    jobserver: Jobserver | None = None
    woken: bool = False


RUN_CONTEXT = StashKey[RunContext]()
#: The jobserver of the run, for ``lfsplug_script_env`` (which sees the config, not the session).
JOBSERVER = StashKey[Jobserver]()


def bottom_levels(plan: Plan, succs: dict[str, list[str]]) -> dict[str, float]:
    """Each script's expected duration plus the longest chain after it (unknown: 1)."""
    level: dict[str, float] = {}
    for script in reversed(plan.scripts):  # plan order is topological
        own = plan.durations.get(script.name, 1.0)
        level[script.name] = own + max((level[s] for s in succs[script.name] if s in level),
                                       default=0.0)
    return level


class Gate:
    """Where a retry that must run alone waits (``session.alone``, on its slot's thread): it
    goes in once every other running script has finished or waits here too, the first come
    first, one at a time; while one waits or runs, the scheduler starts nothing new."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.cond = threading.Condition()
        #: the scripts the scheduler has running (their slot taken), kept by it under ``cond``
        self.running: set[str] = set()
        #: the scripts waiting to run alone, in the order they came
        self.waiting: list[str] = []
        #: the script running alone now, if any
        self.inside: str | None = None

    def closed(self) -> str | None:
        """Why no new script may start now (a retry waits to run alone, or runs), or None."""
        with self.cond:
            name = self.inside or (self.waiting[0] if self.waiting else None)
        return None if name is None else f"a retry of {name} runs alone"

    def admit(self, name: str) -> bool:
        """Count ``name`` as running, unless the gate is closed (then False): at once, so that
        no retry goes in alone while a script it did not see starts."""
        with self.cond:
            if self.inside is not None or self.waiting:
                return False
            self.running.add(name)
            return True

    def finished(self, name: str) -> None:
        with self.cond:
            self.running.discard(name)
            self.cond.notify_all()

    @contextlib.contextmanager
    def alone(self, script: Script) -> Iterator[None]:
        """Wait until ``script``'s retry may run alone, and keep every other out while it does.
        A stop lets it through at once (the kernel then gives the retry up)."""
        name = script.name
        waited = time.monotonic()
        with self.cond:
            self.waiting.append(name)
            try:
                while not self._may_enter(name):
                    self.cond.wait(TICK)
            finally:
                self.waiting.remove(name)
            self.inside = name
        self.session.emit(RunsAlone(time.monotonic() - waited), name)
        try:
            yield
        finally:
            with self.cond:
                self.inside = None
                self.cond.notify_all()

    def _may_enter(self, name: str) -> bool:
        if self.session.shouldstop:
            return True
        return (self.inside is None and self.waiting[0] == name
                and all(other in self.waiting for other in self.running if other != name))


class Floors:
    """The free memory and free disk below which no further script starts."""

    def __init__(self, memory: int, disk: int, lfs: str) -> None:
        self.memory = memory
        self.disk = disk
        self.lfs = lfs

    def short(self) -> str | None:
        """Why a new script must wait now, or None."""
        if self.memory > 0:
            import psutil

            available = psutil.virtual_memory().available
            if available < self.memory:
                return (f"available memory {format_size(available)} is below "
                        f"{format_size(self.memory)}")
        if self.disk > 0:
            try:
                st = os.statvfs(self.lfs)
            except OSError:
                return None  # no $LFS yet: nothing to guard
            free = st.f_bavail * st.f_frsize
            if free < self.disk:
                return (f"free space at {self.lfs} ({format_size(free)}) is below "
                        f"{format_size(self.disk)}")
        return None


class Scheduler:
    """Runs ``plan`` with up to ``jobs`` scripts at once."""

    def __init__(self, session: Session, plan: Plan, *, jobs: int, keep_going: bool,
                 selected: dict[str, str], floors: Floors, context: RunContext) -> None:
        self.session = session
        self.plan = plan
        self.jobs = max(1, jobs)
        self.keep_going = keep_going
        self.unselected = selected  # name -> why it is left out of this run
        self.floors = floors
        self.context = context
        preds = plan.predecessors()
        self.preds = {name: sorted(p) for name, p in preds.items()}
        self.succs: dict[str, list[str]] = {name: [] for name in preds}
        for name, before in preds.items():
            for p in before:
                self.succs[p].append(name)
        self.position = {s.name: i for i, s in enumerate(plan.scripts)}
        self.by_name = {s.name: s for s in plan.scripts}
        levels = bottom_levels(plan, self.succs) if self.jobs > 1 else {}
        self.rank = {name: -levels.get(name, 0.0) for name in self.position}
        self.waiting = {name: len(p) for name, p in self.preds.items()}
        self.ready: list[tuple[float, int, str]] = []
        #: name -> holds a jobserver token (True) or the slot every make owns (False)
        self.running: dict[str, bool] = {}
        #: which running script stands on the jobserver's implicit slot (it needs no token)
        self.implicit: str | None = None
        self.done: queue.SimpleQueue[tuple[str, ScriptResult | None, BaseException | None]] = (
            queue.SimpleQueue())
        self.todo: queue.SimpleQueue[Script | None] = queue.SimpleQueue()
        self.workers: list[threading.Thread] = []
        self.error: BaseException | None = None
        self.signals = 0
        self._handled_signals = 0
        self._throttled: tuple[str | None, str | None] = (None, None)
        self.gate = Gate(session)

    # -- the loop ------------------------------------------------------------------------------

    def run(self) -> None:
        alone, self.session.alone = self.session.alone, self.gate.alone
        try:
            self._run()
        finally:
            self.session.alone = alone

    def _run(self) -> None:
        with self._signals():
            for name, count in self.waiting.items():
                if count == 0:
                    self._make_ready(name)
            try:
                self._loop()
            except KeyboardInterrupt:
                raise  # the third interrupt: the groups are killed; exit at once
            except BaseException:
                self._end_running()
                raise
            finally:
                for _ in self.workers:
                    self.todo.put(None)

    def _loop(self) -> None:
        session = self.session
        while True:
            self._stage_signals()
            session.raise_event_error()  # a subscriber failed: stop now, not hours later
            if session.hard_stop:
                self._wake_runners()
            if self.error is None and not session.shouldstop:
                self._start_what_can_start()
            if not self.running:
                return
            try:
                name, result, error = self.done.get(timeout=TICK)
            except queue.Empty:
                continue
            self._finished(name, result, error)
            while True:  # take every other completion that is already there
                try:
                    name, result, error = self.done.get_nowait()
                except queue.Empty:
                    break
                self._finished(name, result, error)
            if self.error is not None and not self.running:
                raise self.error

    def _make_ready(self, name: str) -> None:
        heapq.heappush(self.ready, (self.rank[name], self.position[name], name))

    def _start_what_can_start(self) -> None:
        while self.ready and len(self.running) < self.jobs:
            closed = self.gate.closed()
            if closed is not None:
                self._throttle(closed)
                return
            name = self.ready[0][2]
            script = self.by_name[name]
            why = self.unselected.get(name)
            cause = None if why else self._failed_cause(name)
            if why is not None or cause is not None:
                heapq.heappop(self.ready)
                self.session.skip_script(script, why or f"dependency failed: {cause}")
                self._release_successors(name)
                continue
            token = False
            if self.running:
                short = self.floors.short()
                if short is not None:
                    self._throttle(short)
                    return
                jobserver = self.context.jobserver
                if jobserver is not None and self.implicit is not None:
                    token = jobserver.take()
                    if not token:
                        self._throttle(f"the makes of {', '.join(self.running)} hold all "
                                       f"{jobserver.slots} job slots of the jobserver")
                        return
            if not self.gate.admit(name):  # a retry came to wait to run alone meanwhile
                if token and self.context.jobserver is not None:
                    self.context.jobserver.give()
                continue  # the gate is closed now: the check above throttles and returns
            self._throttle(None)
            heapq.heappop(self.ready)
            self.running[name] = token
            if not token and self.implicit is None:
                self.implicit = name
            if len(self.workers) < len(self.running):  # one thread per slot, started once
                worker = threading.Thread(target=self._worker, daemon=True,
                                          name=f"lfsplug-slot-{len(self.workers) + 1}")
                self.workers.append(worker)
                worker.start()
            self.todo.put(script)

    def _failed_cause(self, name: str) -> str | None:
        """The failed script that ``name`` transitively waits for, if any."""
        results = self.session.results
        for p in self.preds[name]:
            result = results[p]
            if result.failed_dependency:
                return (result.message or "").removeprefix("dependency failed: ") or p
            if not result.ok:
                return p
        return None

    def _worker(self) -> None:
        while (script := self.todo.get()) is not None:
            self._work(script)

    def _work(self, script: Script) -> None:
        try:
            result = self.session.run_protocol(script)
        except BaseException as exc:  # handed to the main thread, raised there
            self.done.put((script.name, None, exc))
        else:
            self.done.put((script.name, result, None))

    def _finished(self, name: str, result: ScriptResult | None,
                  error: BaseException | None) -> None:
        try:
            self._settle(name, result, error)
        finally:  # after the stop it may call for: a retry waiting to run alone then sees it
            self.gate.finished(name)

    def _settle(self, name: str, result: ScriptResult | None,
                error: BaseException | None) -> None:
        token = self.running.pop(name)
        if self.implicit == name:
            self.implicit = None  # the next script to start takes its slot, with no token
        if token and self.context.jobserver is not None:
            self.context.jobserver.give()
        if error is not None:
            if self.error is None:
                self.error = error
                # a plugin failed, or the build cannot go on (a full disk): end the other
                # scripts too, then report it (the last line says why)
                why = ("the build cannot go on" if isinstance(error, UsageError)
                       else "a plugin failed")
                self.session.shouldstop = self.session.shouldstop or why
                self.session.hard_stop = True
            return
        assert result is not None
        if result.status is Status.FAILED and not self.keep_going:
            self.session.shouldstop = self.session.shouldstop or f"{name} failed"
        self._release_successors(name)

    def _release_successors(self, name: str) -> None:
        for succ in self.succs[name]:
            self.waiting[succ] -= 1
            if self.waiting[succ] == 0:
                self._make_ready(succ)

    def _throttle(self, reason: str | None) -> None:
        waiting = self.ready[0][2] if reason is not None and self.ready else None
        if (reason, waiting) == self._throttled:
            return
        self._throttled = (reason, waiting)
        self.session.emit(Throttled(reason, len(self.running), waiting))

    # -- stopping ------------------------------------------------------------------------------

    def _wake_runners(self) -> None:
        context = self.context
        if context.stop_write is not None and not context.woken:
            context.woken = True  # once is enough: the pipe stays readable
            with contextlib.suppress(OSError):
                os.write(context.stop_write, b"!")

    def _end_running(self) -> None:
        """End the scripts still running after an error, and wait for them."""
        if self.running:
            self.session.shouldstop = self.session.shouldstop or "an error stopped the build"
            self.session.hard_stop = True
        while self.running:
            self._wake_runners()
            try:
                name, result, error = self.done.get(timeout=TICK)
            except queue.Empty:
                continue
            self._finished(name, result, error)

    # -- signals -------------------------------------------------------------------------------

    def _signals(self) -> _SignalGuard:
        return _SignalGuard(self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        """Count the signal; the loop acts on it (taking no lock here, which could deadlock).
        The third one acts at once: every running group is killed and the run is abandoned."""
        self.signals += 1
        if self.signals >= 3:
            self.session.interrupted = True
            book = self.context.book
            for keeper in list(book.keepers) if book is not None else []:
                with contextlib.suppress(OSError):
                    os.kill(keeper, signal.SIGUSR1)  # its keeper kills the script's every process
            for running in list(self.session.running.values()):
                with contextlib.suppress(OSError):
                    if running.pid > 0:
                        os.killpg(running.pid, signal.SIGKILL)
            raise KeyboardInterrupt

    def _stage_signals(self) -> None:
        session = self.session
        while self._handled_signals < self.signals:
            self._handled_signals += 1
            session.interrupted = True
            if self._handled_signals == 1:
                session.stop("interrupted")
                if self.running:
                    count = len(self.running)
                    _say(f"interrupted: no new script starts; waiting for {count} running "
                         f"script{'s' if count > 1 else ''} to finish (interrupt again to end "
                         f"{'them' if count > 1 else 'it'})")
            elif self._handled_signals == 2:
                session.stop("interrupted twice", hard=True)
                self._wake_runners()
                if self.running:
                    _say("interrupted again: ending the running scripts (interrupt once more "
                         "to exit at once)")


def _say(text: str) -> None:
    click.echo(f"lfsplug: {text}", err=True)


class _SignalGuard:
    """Installs a handler for SIGINT and SIGTERM for the run (main thread only), and puts the
    previous handlers back afterwards."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self, handler: Callable[[int, FrameType | None], None]) -> None:
        self.handler = handler
        self.previous: dict[int, Any] = {}

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        for sig in self.SIGNALS:
            self.previous[sig] = signal.signal(sig, self.handler)

    def __exit__(self, *exc: object) -> None:
        for sig, previous in self.previous.items():
            signal.signal(sig, previous)

