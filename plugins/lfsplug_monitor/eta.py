"""SBU, expected durations from imported history, and the ETA.

**History.** Imported history (a jhalfs SBU report, through the state plugin's ``history``
table) names packages without their version, in the order they were built: ``binutils-pass1``,
``gcc-pass1``, ``m4`` (chapter 6), ..., ``m4`` again (chapter 8). :class:`History` finds a
script's entry by name, case aside. A name the source built twice is told apart as discovery
tells the scripts apart: a build named ``NAME@WHERE`` (``m4@chapter06``) takes the first entry
when its phase comes before the final system (``cross``, ``temp``, ``chroot-temp``...) and the
last one otherwise; a script named with its phase appended (``m4-temp``) is the earlier build
too, and the bare name takes the last. Each source gives the package's duration in its own SBU
(seconds over the source's SBU unit); with several sources, the median.

**ETA**, guarded as ninja guards its estimate: none until 15 s and 5 % of the expected work
have passed; then the work still to do (each script's expected duration, less what a running
one has done) scaled by the rate observed so far (actual over expected durations of the scripts
that finished), ignoring scripts whose history was off by more than 10 times that rate, and
divided by the parallelism observed. The remaining critical path, scaled alike, is a floor.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lfsplug import Plan, Script

__all__ = ["ETA_MIN_ELAPSED", "ETA_MIN_SHARE", "OUTLIER", "Estimator", "History",
           "median_relative_error"]

#: No ETA before this many seconds, and this share of the expected work, have passed.
ETA_MIN_ELAPSED = 15.0
ETA_MIN_SHARE = 0.05
#: A finished script whose actual/expected ratio is this far from the run's is left out of
#: the rate: its history was wrong (a package that changed, a test suite that was skipped).
OUTLIER = 10.0
#: Phases as the book builds them, for telling the builds of one package apart.
PHASE_SUFFIXES = ("cross", "temp", "chroot-temp", "host", "config")


class Entry(Protocol):
    """What :class:`History` reads of an imported entry (``lfsplug_state.store.HistoryEntry``)."""

    @property
    def name(self) -> str: ...
    @property
    def seconds(self) -> float: ...
    @property
    def sbu(self) -> float | None: ...
    @property
    def sbu_seconds(self) -> float | None: ...
    @property
    def source(self) -> str: ...
    @property
    def position(self) -> int: ...


def _sbu_of(entry: Entry) -> float | None:
    if entry.sbu_seconds and entry.sbu_seconds > 0:
        return entry.seconds / entry.sbu_seconds
    return entry.sbu


class History:
    """Imported per-package durations, looked up by script."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        #: source -> name -> its entries in build order
        self.sources: dict[str, dict[str, list[Entry]]] = {}
        for entry in sorted(entries, key=lambda e: (e.source, e.position)):
            self.sources.setdefault(entry.source, {}).setdefault(
                entry.name.lower(), []).append(entry)

    def __bool__(self) -> bool:
        return bool(self.sources)

    @property
    def sbu_seconds(self) -> float | None:
        """The median SBU unit (s) of the sources that give one."""
        units = [e.sbu_seconds for by_name in self.sources.values()
                 for entries in by_name.values() for e in entries[:1] if e.sbu_seconds]
        return statistics.median(units) if units else None

    @staticmethod
    def _pick(by_name: Mapping[str, list[Entry]], script: Script) -> Entry | None:
        name = script.name.lower()
        base, earlier = name, False
        if "@" in name:  # m4@chapter06: discovery's name for one of a package's builds
            base = name.partition("@")[0]
            earlier = (script.phase or "system").lower() in PHASE_SUFFIXES and (
                script.phase or "").lower() not in ("config",)
            entries = by_name.get(base)
            if not entries:
                return None
            return entries[0] if earlier else entries[-1]
        for suffix in ((script.phase or "").lower(), *PHASE_SUFFIXES):
            if suffix and name.endswith(f"-{suffix}") and name[: -len(suffix) - 1] in by_name:
                base, earlier = name[: -len(suffix) - 1], True
                break
        entries = by_name.get(name) if name in by_name else by_name.get(base)
        if not entries:
            return None
        return entries[0] if earlier and base != name else entries[-1]

    def entries(self, script: Script) -> list[Entry]:
        """The script's entry in each source that has it."""
        found = (self._pick(by_name, script) for by_name in self.sources.values())
        return [e for e in found if e is not None]

    def sbu(self, script: Script) -> float | None:
        """The script's duration in SBU (median over the sources), or None."""
        values = [v for v in (_sbu_of(e) for e in self.entries(script)) if v is not None]
        return statistics.median(values) if values else None

    def seconds(self, script: Script) -> float | None:
        """The script's duration in the sources' seconds (median), or None."""
        values = [e.seconds for e in self.entries(script)]
        return statistics.median(values) if values else None


@dataclass
class _Script:
    name: str
    phase: str
    expected: float | None
    #: True when ``expected`` is a guess from imported history or metadata, not own passes
    borrowed: bool = False
    started: float | None = None
    finished: bool = False
    ran: bool = False
    actual: float | None = None


@dataclass
class Estimator:
    """Counts progress and estimates the time left of one run."""

    started: float
    scripts: dict[str, _Script] = field(default_factory=dict)
    preds: dict[str, set[str]] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    #: the first informed ETA: (when, seconds left then)
    first_eta: tuple[float, float] | None = None
    max_running: int = 1
    # kept up to date as scripts start and finish, so that counting costs nothing per event
    _done: int = 0
    _phases: dict[str, list[int]] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)
    #: the last full estimate: (when, eta, bound), which cheap updates count down from
    _last: tuple[float, float | None, float | None] | None = None

    @classmethod
    def for_plan(cls, plan: Plan, expected: Mapping[str, float | None],
                 borrowed: Iterable[str], started: float) -> Estimator:
        lent = set(borrowed)
        est = cls(started)
        for script in plan.scripts:
            est.scripts[script.name] = _Script(script.name, script.phase or "other",
                                               expected.get(script.name),
                                               script.name in lent)
        est.order = [s.name for s in plan.scripts]
        est.preds = plan.predecessors()
        for item in est.scripts.values():
            est._phases.setdefault(item.phase, [0, 0])[1] += 1
        return est

    def set_expected(self, name: str, seconds: float | None) -> None:
        if name in self.scripts:
            self.scripts[name].expected = seconds

    def start(self, name: str, when: float) -> None:
        item = self.scripts.get(name)
        if item is None:
            return
        if item.started is None:
            item.started = when
        if not item.finished:
            self._active.add(name)
        self.max_running = max(self.max_running, len(self._active))

    def finish(self, name: str, duration: float | None, ran: bool) -> None:
        item = self.scripts.get(name)
        if item is None:
            return
        if not item.finished:
            self._done += 1
            self._phases[item.phase][0] += 1
        self._active.discard(name)
        item.finished, item.ran = True, ran and duration is not None
        item.actual = duration if item.ran else None

    # -- figures -------------------------------------------------------------------------------

    def done(self) -> tuple[int, int]:
        return self._done, len(self.scripts)

    def phases(self) -> dict[str, list[int]]:
        return {phase: list(pair) for phase, pair in self._phases.items()}

    def running(self) -> dict[str, float | None]:
        return {name: self.scripts[name].expected for name in self._active}

    def _fill(self) -> dict[str, float] | None:
        """Every script's expected duration, unknown ones given the mean of the known (or of
        what finished, when nothing is known); None when there is nothing to go by."""
        known = [s.expected for s in self.scripts.values() if s.expected is not None]
        if not known:
            known = [s.actual for s in self.scripts.values() if s.actual is not None]
        if not known:
            return None
        mean = sum(known) / len(known)
        return {s.name: s.expected if s.expected is not None else mean
                for s in self.scripts.values()}

    def rate(self) -> float:
        """Actual over expected time of the scripts that ran to the end with an expectation,
        leaving out those whose own ratio is more than :data:`OUTLIER` times off the median
        ratio (their history was wrong)."""
        pairs = [(s.actual, s.expected) for s in self.scripts.values()
                 if s.ran and s.actual is not None and s.expected]
        if not pairs:
            return 1.0
        overall = sum(a for a, _ in pairs) / sum(e for _, e in pairs)
        # the typical script's ratio, which one wild figure cannot drag along
        typical = statistics.median(a / e for a, e in pairs)
        if typical <= 0:
            return max(overall, 1e-6)
        kept = [(a, e) for a, e in pairs if typical / OUTLIER <= a / e <= typical * OUTLIER]
        if not kept or sum(e for _, e in kept) <= 0:
            return max(overall, 1e-6)
        return max(sum(a for a, _ in kept) / sum(e for _, e in kept), 1e-6)

    def _left(self, expected: Mapping[str, float], rate: float, now: float) -> dict[str, float]:
        left = {}
        for name, item in self.scripts.items():
            if item.finished:
                continue
            scaled = expected[name] * rate
            if item.started is not None:
                scaled = max(scaled - (now - item.started), 0.0)
            left[name] = scaled
        return left

    def _bound(self, left: Mapping[str, float]) -> float:
        """The longest chain of unfinished scripts (plan order is topological)."""
        longest: dict[str, float] = {}
        for name in self.order:
            if name not in left:
                continue
            before = max((longest[p] for p in self.preds.get(name, ()) if p in longest),
                         default=0.0)
            longest[name] = before + left[name]
        return max(longest.values(), default=0.0)

    def estimate(self, now: float, full: bool = True) -> dict[str, Any]:
        """``{done, total, elapsed, eta, bound, phases, running}`` as of ``now``.

        The counts are always current. The ETA and the bound look at every script, so with
        ``full=False`` they are those of the last full estimate counted down by the time since
        (a build of 10,000 scripts must not pay for 10,000 full estimates)."""
        done, total = self.done()
        elapsed = max(0.0, now - self.started)
        figures: dict[str, Any] = {"done": done, "total": total, "elapsed": round(elapsed, 1),
                                   "eta": None, "bound": None, "phases": self.phases(),
                                   "running": self.running()}
        if not full and self._last is not None:
            when, eta, bound = self._last
            since = max(0.0, now - when)
            figures["eta"] = None if eta is None else round(max(eta - since, 0.0), 1)
            figures["bound"] = None if bound is None else round(max(bound - since, 0.0), 1)
            return figures
        figures.update(self._full(now, elapsed, done, total))
        self._last = (now, figures["eta"], figures["bound"])
        return figures

    def _full(self, now: float, elapsed: float, done: int, total: int) -> dict[str, Any]:
        figures: dict[str, Any] = {"eta": None, "bound": None}
        expected = self._fill()
        if expected is None:
            return figures
        rate = self.rate()
        left = self._left(expected, rate, now)
        # the mean of what ended stands in for the ETA, but says nothing of the chains still
        # to run: without one script's own expectation the bound is unknown (null), not 0
        informed = any(s.expected is not None for s in self.scripts.values())
        bound = self._bound(left) if informed else 0.0
        figures["bound"] = round(bound, 1) if informed else None
        work = sum(expected[s.name] for s in self.scripts.values() if not s.finished or s.ran)
        share = sum(expected[s.name] for s in self.scripts.values() if s.ran) / work if work else 1
        if elapsed < ETA_MIN_ELAPSED or share < ETA_MIN_SHARE:
            return figures
        figures["eta"] = round(max(sum(left.values()) / self.parallelism(now), bound), 1)
        if self.first_eta is None and done < total:
            self.first_eta = (now, figures["eta"])
        return figures

    def parallelism(self, now: float) -> float:
        """How many scripts ran at once on average, between 1 and the most seen at once."""
        busy = sum(s.actual or 0.0 for s in self.scripts.values())
        busy += sum(now - s.started for s in self.scripts.values()
                    if s.started is not None and not s.finished)
        elapsed = now - self.started
        if elapsed <= 0:
            return 1.0
        return min(max(busy / elapsed, 1.0), float(self.max_running))

    def eta_error(self, finished: float) -> dict[str, float] | None:
        """How far the first informed ETA was off: ``{at, eta, actual, error, relative}``
        (``error`` > 0: it said longer than it took)."""
        if self.first_eta is None:
            return None
        when, eta = self.first_eta
        actual = max(finished - when, 0.0)
        return {"at": round(when - self.started, 1), "eta": eta, "actual": round(actual, 1),
                "error": round(eta - actual, 1),
                "relative": round((eta - actual) / actual, 3) if actual > 0 else 0.0}


def median_relative_error(
    predicted: Mapping[str, float], actual: Mapping[str, float], floor: float = 1.0
) -> tuple[float, int]:
    """The median of ``|predicted - actual| / actual`` over names in both with ``actual`` at
    least ``floor`` seconds, and how many there were."""
    errors = [abs(predicted[n] - actual[n]) / actual[n]
              for n in predicted if n in actual and actual[n] >= floor]
    return (statistics.median(errors) if errors else float("nan")), len(errors)

