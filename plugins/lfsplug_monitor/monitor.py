"""The monitor of one ``run``: the sampler thread, alerts, per-script figures, SBU and ETA.

:class:`Monitor` is registered by the plugin's ``lfsplug_configure`` for ``run``. When the
scheduler starts it ticks once (before the first script can start, so that a full disk
stops the build before it begins), then starts one daemon thread that ticks every
``--sample-interval`` seconds: a system sample, the disk and memory guards, one sample per
running script's process tree, the overrun and silence checks, and a ``progress`` event. The
thread is stopped and joined when the scheduler returns, before the event bus closes.
Scripts' own figures are added to ``result.resources`` in ``lfsplug_script_finish``
(``tryfirst``, before the state plugin records them).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from lfsplug import (
    Alert,
    AlertLevel,
    Estimate,
    Event,
    Plan,
    Progress,
    Sample,
    Script,
    ScriptOutput,
    ScriptResult,
    StashKey,
    Status,
    format_duration,
    format_size,
    hookimpl,
)
from lfsplug_monitor import sampler as sampler_module
from lfsplug_monitor.eta import Estimator, History, from_metadata, make_jobs
from lfsplug_monitor.guards import LevelGuard, OnceGuard
from lfsplug_monitor.sampler import Sampler, tree_kib
from lfsplug_monitor.settings import LEVELS, Settings
from lfsplug_monitor.stats import SeriesSet

if TYPE_CHECKING:
    from lfsplug import Config, RunningScript, Session, StateService

__all__ = ["RUN_METRICS", "Monitor"]

#: The run's own figures (system summaries, SBU, ETA error, the sampler's cost), for reports.
RUN_METRICS = StashKey[dict[str, Any]]()
#: The SBU's source when it is only the median unit of imported history: not this machine's.
BORROWED_UNIT = "imported history"
#: The source of an SBU worked out from this build's finished scripts and their sbu= figures.
CALIBRATED_UNIT = "this build's scripts and their sbu= figures"
#: How often (s) the ETA and the bound are worked out afresh; progress events in between count
#: them down, so that a build of thousands of short scripts pays for few full estimates.
FULL_ESTIMATE_EVERY = 1.0


#: The longest (s) one ``du`` of ``$LFS`` may take; past it, no more are run in this build.
DU_BUDGET = 10.0
#: A ``du`` of ``$LFS`` this recent (s) is not run again.
DU_REUSE = 0.05


@dataclass
class DiskTrack:
    """The size (KiB) of ``$LFS`` when a script started; the used space (KiB) of its file system
    then (None: not known) and its sampled peak since."""

    before: int
    fs_before: int | None
    fs_peak: int | None


class Monitor:
    """Samples, guards and estimates for one ``run``."""

    def __init__(self, config: Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings
        self.session: Session | None = None
        self.sampler: Sampler | None = None
        self.estimator: Estimator | None = None
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.RLock()
        self._last_full = float("-inf")
        self.error: BaseException | None = None
        # SBU and history
        self._history: History | None = None
        self.sbu_seconds: float | None = None
        self.sbu_source: str | None = None
        self._sbu_looked = False
        self.borrowed: dict[str, float] = {}  # script -> its duration in SBU, from history
        self._calibration: list[tuple[float, float]] = []  # (seconds, sbu=) of passed scripts
        self._calibrated: set[str] = set()  # scripts expected at their sbu= and that unit
        self._scripts: dict[str, Script] = {}
        # per script
        self.series: dict[str, SeriesSet] = {}
        self.disk: dict[str, DiskTrack] = {}
        self.du_off = False  # a du of $LFS took longer than DU_BUDGET: no more of them
        self._du_end: tuple[float, int] | None = None  # a script's end: when (monotonic), KiB
        self.last_output: dict[str, float] = {}
        self.first_start: dict[str, float] = {}
        # alerts
        self.disk_guards: dict[str, LevelGuard] = {}
        self.memory_guard: LevelGuard | None = None
        self.overrun = OnceGuard()
        self.silent = OnceGuard()
        self.alerts: list[Alert] = []
        # the run and the sampler's own cost
        self.system = SeriesSet()
        self.ticks = 0
        self.cpu_seconds = 0.0
        self.wall_seconds = 0.0
        self.finished: float | None = None

    # -- history and the SBU -------------------------------------------------------------------

    def _state(self) -> StateService | None:
        """The state service (None without a state plugin: then nothing is persisted)."""
        state: StateService | None = self.config.hook.lfsplug_state_service(config=self.config)
        return state

    def history(self) -> History:
        """Imported history, read once (a method, not a property: pluggy looks at every
        attribute of a plugin when it is registered)."""
        if self._history is None:
            state = self._state()
            self._history = History(state.history() if state is not None else [])
        return self._history

    def sbu(self) -> float | None:
        """The SBU in seconds: this build's ``sbu_script``, else its last pass on record, else
        ``--sbu`` (``[monitor] sbu``), else the median unit of imported history."""
        if self.sbu_seconds is None and not self._sbu_looked:
            self._sbu_looked = True
            state = self._state()
            last = (state.last_pass(self.settings.sbu_script, any_target=True)  # the host's
                    if state is not None else None)
            if last is not None and last.started is not None and last.finished is not None:
                self.sbu_seconds = max(last.finished - last.started, 1e-3)
                self.sbu_source = f"{self.settings.sbu_script}, run {last.run_id}"
            elif self.settings.sbu:
                self.sbu_seconds = self.settings.sbu
                self.sbu_source = "--sbu or [monitor] sbu"
            elif self.history().sbu_seconds:
                self.sbu_seconds = self.history().sbu_seconds
                self.sbu_source = BORROWED_UNIT
        return self.sbu_seconds

    def _measured_sbu(self, seconds: float) -> None:
        """This build's SBU script passed: from now on its time is the unit."""
        self.sbu_seconds = max(seconds, 1e-3)
        self.sbu_source = f"{self.settings.sbu_script}, this build"
        self._sbu_looked = True
        self._last_full = float("-inf")  # every estimate changes: the next progress says so
        if self.estimator is not None:
            for name in [n for n in self.borrowed if n in self._scripts]:
                found = self.history_estimate(self._scripts[name])
                if found is not None:
                    self.estimator.set_expected(name, found.seconds)
            for name in self._calibrated:  # expected at the build's own unit until now
                sbu = self._scripts[name].sbu
                if sbu is not None:
                    self.estimator.set_expected(name, sbu * self.sbu_seconds)

    def _calibrate(self, script: Script, seconds: float) -> None:
        """Without a unit (no SBU script in the build, none on record, none given), this
        build's passed scripts with ``sbu=`` give one: their seconds over their SBU; every script
        still to run with ``sbu=`` and no other expectation is then expected at its figure."""
        if script.sbu is None or script.sbu <= 0 or seconds <= 0:
            return
        if self.sbu() is not None and self.sbu_source != CALIBRATED_UNIT:
            return  # a real unit is known
        with self._lock:  # scripts of parallel slots finish at once
            self._calibration.append((seconds, script.sbu))
            unit = sum(s for s, _ in self._calibration) / sum(u for _, u in self._calibration)
            self.sbu_seconds, self.sbu_source = max(unit, 1e-3), CALIBRATED_UNIT
            self._last_full = float("-inf")  # every estimate changes: the next progress says so
            if self.estimator is None:
                return
            for name, other in self._scripts.items():
                if other.sbu is not None and other.sbu > 0 and (
                        name in self._calibrated or self.estimator.expected(name) is None):
                    self._calibrated.add(name)
                    self.estimator.set_expected(name, other.sbu * self.sbu_seconds)

    def history_estimate(self, script: Script) -> Estimate | None:
        """A script's estimate from imported history (weighed by closeness, rescaled by this
        machine's SBU), else from its ``sbu=`` metadata; None when neither helps."""
        unit = self.sbu()
        mine = unit if self.sbu_source != BORROWED_UNIT else None
        history = self.history()
        found = history.estimate(script, sbu_seconds=mine, jobs=make_jobs(self.config.env)) \
            if history else None
        if found is None:
            found = from_metadata(script, unit)
        if found is not None and found.sbu is not None:
            self.borrowed[script.name] = found.sbu
        return found

    def borrowed_estimate(self, script: Script) -> float | None:
        """The seconds of :meth:`history_estimate`."""
        found = self.history_estimate(script)
        return found.seconds if found is not None else None

    @hookimpl(wrapper=True)
    def lfsplug_estimate(
        self, script: Script, config: Config
    ) -> Generator[None, Estimate | None, Estimate | None]:
        """Own passes first (the state plugin answers; given in SBU here when one is known);
        without them, imported history."""
        answer = yield
        if answer is None:
            return self.history_estimate(script)
        unit = self.sbu()
        if answer.sbu is None and unit and self.sbu_source != BORROWED_UNIT:
            return replace(answer, sbu=answer.seconds / unit)
        return answer

    @hookimpl(wrapper=True)
    def lfsplug_expected_duration(
        self, script: Script, config: Config
    ) -> Generator[None, float | None, float | None]:
        """Own passes first (the state plugin answers); without them, imported history."""
        answer = yield
        if answer is not None:
            return answer
        return self.borrowed_estimate(script)

    # -- the run -------------------------------------------------------------------------------

    @hookimpl(wrapper=True)
    def lfsplug_run_plan(self, session: Session, plan: Plan) -> Generator[None, Any, Any]:
        """Start sampling when the scheduler starts; stop and join before the bus closes."""
        self.session = session
        self._prepare(session, plan)
        # the first sample, and the disk guard, before the first script can start: a disk at
        # STOP or HALT already stops the build before it begins
        self._timed_tick()
        if self.error is not None:
            raise self.error  # from this frame: the error names this plugin and hook
        self._thread = threading.Thread(target=self._loop, name="lfsplug-monitor", daemon=True)
        self._thread.start()
        try:
            handled = yield
        finally:
            self._stop.set()
            self._thread.join()
            self.finished = time.time()
            self._progress(self.finished, full=True)
        if self.error is not None:
            raise self.error  # from this frame: the error names this plugin and hook
        return handled

    def _prepare(self, session: Session, plan: Plan) -> None:
        hook = self.config.hook.lfsplug_expected_duration
        self._scripts = {s.name: s for s in plan.scripts}
        expected = {s.name: hook(script=s, config=self.config) for s in plan.scripts}
        self.estimator = Estimator.for_plan(plan, expected, self.borrowed, time.time())
        self.sampler = Sampler(self.settings.watch)
        for label in self.settings.watch:
            floors: dict[AlertLevel, dict[str, float]] = {AlertLevel(lv): {} for lv in LEVELS}
            for rule in self.settings.disk:
                if rule.dir == label:
                    level = AlertLevel(rule.level)
                    if rule.space is not None:
                        floors[level]["space"] = float(rule.space)
                    if rule.inodes is not None:
                        floors[level]["inodes"] = float(rule.inodes)
            if any(floors.values()):
                self.disk_guards[label] = LevelGuard(floors, self.settings.hysteresis)

    @hookimpl
    def lfsplug_report_header(self, config: Config) -> list[str]:
        """What is sampled, and (the one warning) which watched directories do not exist."""
        watch = self.settings.watch
        shown = ", ".join(f"{label} ({path})" for label, path in watch.items() if path.is_dir())
        lines = [f"monitor: sampling every {self.settings.interval:g} s; watching "
                 f"{shown or 'no directory'}"]
        absent = [f"{label} ({path})" for label, path in watch.items() if not path.is_dir()]
        if absent:
            lines.append(f"monitor: warning: not watched until they exist: {', '.join(absent)}")
        return lines

    def _loop(self) -> None:
        interval = self.settings.interval
        due = time.monotonic()
        while True:
            due += interval
            if self._stop.wait(max(0.0, due - time.monotonic())):
                return
            if not self._timed_tick():
                return
            if time.monotonic() > due + interval:
                due = time.monotonic()  # fell behind (a stopped VM): no burst of ticks

    def _timed_tick(self) -> bool:
        """One :meth:`tick`, its cost counted; False (the error kept) when it failed."""
        cpu, wall = time.thread_time(), time.perf_counter()
        try:
            self.tick(time.time())
        except (Exception, SystemExit) as exc:  # a plugin's sample/alert hook: said at the end
            self.error = exc
            return False
        finally:
            self.cpu_seconds += time.thread_time() - cpu
            self.wall_seconds += time.perf_counter() - wall
            self.ticks += 1
        return True

    def tick(self, now: float) -> None:
        """One round of sampling, guarding and estimating."""
        session, sampler = self.session, self.sampler
        assert session is not None and sampler is not None
        values = sampler.system()
        self.system.add(values)
        session.sample(Sample(now, values, None))
        self._guard_disk(session, values, now)
        self._guard_memory(session, values, now)
        used = values.get("disk_used:lfs")
        for running in list(session.running.values()):
            self._tick_script(session, running, now, used)
        self._progress(now)

    def _tick_script(self, session: Session, running: RunningScript, now: float,
                     used_bytes: float | None) -> None:
        assert self.sampler is not None
        name = running.name
        figures = self.sampler.tree(name, running.pid, running.started, now)
        with self._lock:
            if figures is not None:
                self.series.setdefault(name, SeriesSet()).add(figures)
            track = self.disk.get(name)
            if track is not None and track.fs_peak is not None and used_bytes is not None:
                track.fs_peak = max(track.fs_peak, int(used_bytes // 1024))
        if figures is not None:
            session.sample(Sample(now, figures, name))
        self._guard_script(session, running, now)

    # -- alerts --------------------------------------------------------------------------------

    def _alert(self, session: Session, kind: str, level: AlertLevel, message: str, now: float,
               **data: Any) -> None:
        alert = Alert(kind, level, message, now, data)
        with self._lock:
            self.alerts.append(alert)
        session.alert(alert)

    def _guard_disk(self, session: Session, values: dict[str, float], now: float) -> None:
        assert self.sampler is not None
        for label, guard in self.disk_guards.items():
            free = values.get(f"disk_free:{label}")
            inodes = values.get(f"inodes_free:{label}")
            figures = {k: v for k, v in (("space", free), ("inodes", inodes)) if v is not None}
            if not figures:
                continue
            crossing = guard.update(figures)
            if crossing is None:
                continue
            path = str(self.sampler.watch[label])
            data = {"label": label, "path": path, "free": free, "inodes_free": inodes}
            if crossing.level is AlertLevel.CLEAR:
                self._alert(session, "disk", AlertLevel.CLEAR, f"disk: {label} ({path}) is clear "
                            f"again: {format_size(free or 0)} free", now, **data)
                continue
            what = (f"{format_size(crossing.value or 0)} free" if crossing.metric == "space"
                    else f"{crossing.value:.0f} inodes free")
            floor = (format_size(crossing.floor or 0) if crossing.metric == "space"
                     else f"{crossing.floor:.0f}")
            message = (f"disk: {label} ({path}) has {what}, below the "
                       f"{crossing.level.upper()} floor of {floor}")
            if crossing.level in (AlertLevel.STOP, AlertLevel.HALT):
                hard = crossing.level is AlertLevel.HALT
                started = bool(session.running or self.first_start)
                reason = message + ("; ending the running scripts" if hard and started
                                    else "; no new script starts" if started
                                    else "; no script started")
                if hard and not session.hard_stop:
                    # the reason a running script is ended with names the HALT floor, not an
                    # earlier STOP's (the session keeps its first reason otherwise)
                    session.shouldstop = reason
                # a build stopped for want of disk ends as an interrupted one does (exit 2)
                session.interrupted = True
                session.stop(reason, hard=hard)
            self._alert(session, "disk", crossing.level, message, now, metric=crossing.metric,
                        floor=crossing.floor, **data)

    def _guard_memory(self, session: Session, values: dict[str, float], now: float) -> None:
        available = values.get("mem_available")
        if available is None:
            return
        if self.memory_guard is None:
            floor: float | None = self.settings.memory_floor
            if self.settings.memory_floor_percent is not None:
                floor = values.get("mem_total", 0.0) * self.settings.memory_floor_percent / 100
            if not floor:
                return
            self.memory_guard = LevelGuard({AlertLevel.WARN: {"available": floor}},
                                           self.settings.hysteresis)
        crossing = self.memory_guard.update({"available": available})
        if crossing is None:
            return
        floor_value = self.memory_guard.floors[AlertLevel.WARN]["available"]
        if crossing.level is AlertLevel.CLEAR:
            message = f"memory: {format_size(available)} available again"
        else:
            message = (f"memory: only {format_size(available)} available, below the floor of "
                       f"{format_size(floor_value)}")
        self._alert(session, "memory", crossing.level, message, now, available=available,
                    floor=floor_value)

    def _guard_script(self, session: Session, running: RunningScript, now: float) -> None:
        name = running.name
        settings = self.settings
        started = self.first_start.get(name, running.started)
        elapsed = now - started
        item = self.estimator.scripts.get(name) if self.estimator is not None else None
        expected = item.expected if item is not None else None
        if (expected and elapsed > settings.overrun_factor * expected
                and elapsed - expected >= settings.overrun_min and self.overrun.fire(name)):
            self._alert(session, "overrun", AlertLevel.WARN,
                        f"{name} has run {format_duration(elapsed)}, "
                        f"{elapsed / expected:.1f} times its expected "
                        f"{format_duration(expected)}", now,
                        script=name, elapsed=round(elapsed, 1), expected=round(expected, 1))
        if settings.silent_after > 0:
            quiet = now - self.last_output.get(name, running.started)
            if quiet >= settings.silent_after and self.silent.fire(name):
                self._alert(session, "silent", AlertLevel.WARN,
                            f"{name} has printed nothing for {format_duration(quiet)}", now,
                            script=name, silent_for=round(quiet, 1),
                            last_line=running.last_line)

    # -- scripts -------------------------------------------------------------------------------

    @hookimpl
    def lfsplug_script_start(self, session: Session, script: Script, attempt: int) -> None:
        now = time.time()
        assert self.sampler is not None
        first = attempt == 1 or script.name not in self.first_start
        size = self.lfs_kib(session, start=True) if first else None
        lfs = self.settings.watch.get("lfs")
        # the growth of $LFS's file system is $LFS's only when it has one of its own
        used = self.sampler.used_kib("lfs") if lfs and sampler_module.own_file_system(lfs) \
            else None
        with self._lock:
            self.last_output[script.name] = now
            if first:
                self.first_start[script.name] = now
                self.series[script.name] = SeriesSet()
                if size is not None:
                    self.disk[script.name] = DiskTrack(size, used, used)
            if self.estimator is not None:
                self.estimator.start(script.name, now)

    @hookimpl
    def lfsplug_events(self, session: Session, events: list[Event]) -> None:
        """A script that prints is not silent (its output events, as they come)."""
        for event in events:
            name = event.script
            if name is None or not isinstance(event.record, ScriptOutput):
                continue
            self.last_output[name] = max(event.time, self.last_output.get(name, 0.0))
            if self.silent.reset(name):
                self._alert(session, "silent", AlertLevel.CLEAR, f"{name} prints again",
                            time.time(), script=name)

    @hookimpl(tryfirst=True)
    def lfsplug_script_finish(self, session: Session, script: Script,
                              result: ScriptResult) -> None:
        """Add the disk figures, SBU, CPU efficiency and sample statistics to the result."""
        name = script.name
        ran = not result.cached and result.started is not None and name in self.first_start
        if ran:
            self._figures(name, result)
        if self.estimator is not None:
            with self._lock:
                self.estimator.finish(name, result.duration, ran)
        self.overrun.reset(name)
        self.silent.reset(name)
        if self.sampler is not None:
            self.sampler.end(name)
        # a new estimate is news (and the SBU just measured rescales every one); a countdown
        # is not: readers count down themselves, and the next tick says the counts
        self._progress(time.time(), only_full=True)

    def _figures(self, name: str, result: ScriptResult) -> None:
        assert self.sampler is not None
        resources = result.resources
        duration = (result.finished or time.time()) - self.first_start[name]
        with self._lock:
            track = self.disk.pop(name, None)
            series = self.series.pop(name, None)
        used = self.sampler.used_kib("lfs")
        after = self.lfs_kib(self.session) if track is not None else None
        if track is not None and after is not None:
            grown = after - track.before
            if track.fs_before is not None and track.fs_peak is not None and used is not None:
                grown = max(grown, max(track.fs_peak, used) - track.fs_before)
            # what a failed script leaves is no installation
            kept = "installed" if result.status is Status.PASSED else "left"
            resources["disk"] = {"before": track.before, "after": after, "required": grown,
                                 kept: after - track.before}
        if name == self.settings.sbu_script and result.status is Status.PASSED:
            self._measured_sbu(duration)
        elif result.status is Status.PASSED and name in self._scripts:
            self._calibrate(self._scripts[name], duration)
        unit = self.sbu()
        if unit:
            resources["sbu"] = round(duration / unit, 3)
        if duration > 0:
            # the kernel's exact total misses processes the script left to others to reap;
            # sampling misses those that live between two ticks: take the larger
            cpu = resources.get("utime", 0.0) + resources.get("stime", 0.0)
            sampled = series.series.get("cpu_percent") if series is not None else None
            if sampled is not None and sampled.count:
                cpu = max(cpu, sampled.total / sampled.count / 100 * duration)
            resources["cpu_efficiency"] = round(cpu / (duration * self.sampler.cores), 4)
        if series is not None and series.series:
            resources["stats"] = series.summary()

    def lfs_kib(self, session: Session | None, start: bool = False) -> int | None:
        """The size of ``$LFS`` (KiB) as jhalfs measures it (:func:`.sampler.tree_kib`),
        leaving out the state directory; None once one measure took over :data:`DU_BUDGET`.
        A script's ``start`` with nothing running reuses the measure of the last script's end
        when it is under :data:`DU_REUSE` seconds old (a build of one script at a time)."""
        lfs = self.settings.watch.get("lfs")
        if self.du_off or lfs is None or not lfs.is_dir():
            return None
        ended, self._du_end = self._du_end, None
        if (start and ended is not None and time.monotonic() - ended[0] < DU_REUSE
                and session is not None and not session.running):
            return ended[1]
        state = self.config.state_dir.absolute()
        inside = [state] if state.is_relative_to(lfs) and state != lfs else []
        began = time.monotonic()
        size = tree_kib(lfs, inside, DU_BUDGET)
        if size is None or time.monotonic() - began > DU_BUDGET:
            self.du_off = True
            if session is not None:
                self._alert(session, "disk", AlertLevel.WARN, f"disk: measuring the size of "
                            f"{lfs} took over {DU_BUDGET:g} s: no more disk figures in this "
                            f"build", time.time(), label="lfs", path=str(lfs))
            return None
        if not start:
            self._du_end = (time.monotonic(), size)
        return size

    # -- progress ------------------------------------------------------------------------------

    def _progress(self, now: float, full: bool = False, only_full: bool = False) -> None:
        """Emit a ``progress`` event; the full ETA (which looks at every script) is worked out
        at most once every :data:`FULL_ESTIMATE_EVERY` seconds, counted down in between.
        ``only_full``: emit nothing when a countdown is all there is to say."""
        session, estimator = self.session, self.estimator
        if session is None or estimator is None:
            return
        with self._lock:
            full = full or now - self._last_full >= FULL_ESTIMATE_EVERY
            if not full and only_full:
                return
            if full:
                self._last_full = now
            figures = estimator.estimate(now, full=full)
        figures["sbu_seconds"] = round(self.sbu_seconds, 3) if self.sbu_seconds else None
        session.emit(Progress(**figures))

    # -- the end -------------------------------------------------------------------------------

    def run_metrics(self) -> dict[str, Any]:
        """The run's own figures, as kept in the state database's ``runs.metrics``."""
        metrics: dict[str, Any] = {"system": self.system.summary()}
        if self.sbu_seconds:
            metrics["sbu_seconds"] = round(self.sbu_seconds, 3)
            metrics["sbu_source"] = self.sbu_source
        if self.estimator is not None and self.finished is not None:
            metrics["eta_error"] = self.estimator.eta_error(self.finished)
        if self.ticks:
            metrics["sampler"] = {
                "interval": self.settings.interval, "ticks": self.ticks,
                "cpu_s": round(self.cpu_seconds, 4),
                "cpu_share": round(self.cpu_seconds / (self.ticks * self.settings.interval), 5),
                "tick_ms": round(1000 * self.wall_seconds / self.ticks, 3),
            }
        counts: dict[str, int] = {}
        for alert in self.alerts:
            key = f"{alert.kind}:{alert.level}"
            counts[key] = counts.get(key, 0) + 1
        if counts:
            metrics["alerts"] = counts
        return metrics

    @hookimpl(tryfirst=True)
    def lfsplug_sessionfinish(self, session: Session, exitstatus: int) -> None:
        """Keep the run's figures: in the session's stash and, through the state plugin, in
        ``runs.metrics``."""
        if self.estimator is None:
            return  # nothing ran
        metrics = self.run_metrics()
        session.stash[RUN_METRICS] = metrics
        state = self._state()
        if state is not None:
            state.record_run_metrics(metrics)

    @hookimpl
    def lfsplug_terminal_summary(self, session: Session, exitstatus: int,
                                 write: Callable[[str], None]) -> None:
        metrics = session.stash.get(RUN_METRICS)
        if metrics is None and self.estimator is not None:
            metrics = self.run_metrics()
        if not metrics:
            return
        if metrics.get("sbu_seconds"):
            write(f"SBU: {metrics['sbu_seconds']:.1f} s ({metrics['sbu_source']})")
        error = metrics.get("eta_error")
        if error:
            write(f"ETA: the first estimate, {format_duration(error['at'])} in, said "
                  f"{format_duration(error['eta'])} left; it took "
                  f"{format_duration(error['actual'])} ({error['relative']:+.0%})")

    def close(self) -> None:
        """Stop the thread if a run ended without the scheduler's return (an error)."""
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
