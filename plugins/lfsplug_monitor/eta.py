"""SBU, expected durations from imported history, and the ETA.

**History.** Imported history (jhalfs SBU reports, through the state service) names packages
without their version, in the order each source built them: ``binutils-pass1``, ``gcc-pass1``,
``m4`` (chapter 6), ..., ``m4`` again (chapter 8). :class:`History` finds a script's entry in
each source by name, case aside. A name the source built twice is told apart as discovery tells
the scripts apart: a build named ``NAME@WHERE`` (``m4@chapter06``) takes the first entry when
its phase comes before the final system (``cross``, ``temp``, ``chroot-temp``...) and the last
one otherwise; a script named with its phase appended (``m4-temp``) is the earlier build too,
and the bare name takes the last.

**Estimates** (:meth:`History.estimate`) weigh those entries by how close each is to this build,
and fall back in this order when no entry is close: the same package **version** (else the
nearest: the newest version below it, else the oldest above), the same make **jobs** (``-jN``),
the same **phase** (a source that built the package once may have built it in another phase
than this script's), then **newer first**: of the close entries, the newest
:data:`KEEP_SOURCES` count, each source's weight halving with every :data:`HALF_LIFE` newer
ones, and the estimate is their weighted median (one source's figure, never a blend). Which
source is newer is read from the sources themselves: one that built newer versions of the
packages they share is newer; with nothing to tell them apart, the later import is.

Each entry is **rescaled by this machine's SBU** (``sbu_seconds``: this build's, else one on
record or ``--sbu``; without one, each source's own seconds stand). How much: the history says.
Across sources of one machine whose SBU moved while most packages did not (a host compiler that
changed binutils' time), package times follow the SBU only in part; across machines, in full.
:meth:`History.sensitivity` is the slope of log seconds over log SBU that the packages share
across the sources (each package at one version, phase and ``-j`` compared with itself), leaning
on 1, the book's rule, as far as the sources' SBUs vary too little to tell; it applies within
the range of SBUs the sources measured, and beyond that range (another machine) in full, as it
does for an entry made with another ``-j``.

**ETA**, guarded as ninja guards its estimate: none until 15 s and 5 % of the expected work
have passed; then the work still to do (each script's expected duration, less what a running
one has done) scaled by the rate observed so far (actual over expected durations of the scripts
that finished), ignoring scripts whose history was off by more than 10 times that rate, and
divided by the parallelism observed. The remaining critical path, scaled alike, is a floor.
"""

from __future__ import annotations

import math
import os
import re
import statistics
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from lfsplug import Estimate, EstimateSource, Plan, Script, version_key
from lfsplug_monitor.stats import pooled_slope, weighted_median

__all__ = ["ETA_MIN_ELAPSED", "ETA_MIN_SHARE", "HALF_LIFE", "KEEP_SOURCES", "OUTLIER",
           "Candidate", "Estimator", "History", "closest", "from_metadata", "make_jobs",
           "median_relative_error"]

#: No ETA before this many seconds, and this share of the expected work, have passed.
ETA_MIN_ELAPSED = 15.0
ETA_MIN_SHARE = 0.05
#: A finished script whose actual/expected ratio is this far from the run's is left out of
#: the rate: its history was wrong (a package that changed, a test suite that was skipped).
OUTLIER = 10.0
#: Phases as the book builds them, for telling the builds of one package apart.
PHASE_SUFFIXES = ("cross", "temp", "chroot-temp", "host", "config")
#: An estimate weighs at most this many close sources, the newest; a source's weight halves
#: with every HALF_LIFE newer ones (older sources say less of a machine that drifts).
KEEP_SOURCES = 5
HALF_LIFE = 2.0
#: How firmly the SBU sensitivity holds to the book's rule (1) until the sources' SBUs vary:
#: a pooled spread of log SBU units (Sxx) of this size counts as much as the rule.
SENSITIVITY_PRIOR = 0.01
#: Entries shorter than this (s) are left out when learning the sensitivity: whole seconds
#: and start-up costs drown what the SBU changes.
LEARN_FLOOR = 10.0
_MAKE_JOBS = re.compile(r"(?:^|\s)(?:-j\s*|--jobs[= ])(\d+)")


class Entry(Protocol):
    """What :class:`History` reads of an imported entry (:class:`lfsplug.HistoryEntry`)."""

    @property
    def name(self) -> str: ...
    @property
    def seconds(self) -> float: ...
    @property
    def version(self) -> str | None: ...
    @property
    def sbu(self) -> float | None: ...
    @property
    def sbu_seconds(self) -> float | None: ...
    @property
    def jobs(self) -> int | None: ...
    @property
    def source(self) -> str: ...
    @property
    def position(self) -> int: ...


def _sbu_of(entry: Entry) -> float | None:
    if entry.sbu_seconds and entry.sbu_seconds > 0:
        return entry.seconds / entry.sbu_seconds
    return entry.sbu


def _occurrences(entries: list[Entry]) -> Iterator[tuple[str, Entry]]:
    """A source's builds of one name: ``only``, or its ``first`` and ``last``."""
    if len(entries) == 1:
        yield "only", entries[0]
    else:
        yield "first", entries[0]
        yield "last", entries[-1]


def make_jobs(env: Mapping[str, str]) -> int | None:
    """The make jobs this build's scripts run with: ``-jN`` of ``MAKEFLAGS`` in ``[env]``,
    else the book's ``-j$(nproc)`` that the executor sets; None for a ``MAKEFLAGS`` that names
    no number (``-j`` alone: unlimited)."""
    flags = env.get("MAKEFLAGS")
    if flags is None:
        return os.cpu_count()
    found = _MAKE_JOBS.search(flags)
    return int(found.group(1)) if found else None


@dataclass(frozen=True)
class Candidate:
    """One source's entry for a script, and what makes it more or less close."""

    entry: Entry
    #: the source's age rank among all sources: 0 is the oldest
    age: int
    #: False when the source built the package once while this script is one of several
    #: builds of it (``m4@chapter06``): that one build may be of the other phase
    same_phase: bool = True


def _nearest_version(found: list[Candidate], version: str) -> list[Candidate]:
    same = [c for c in found if c.entry.version == version]
    if same:
        return same
    known = [c for c in found if c.entry.version]
    if not known:
        return found
    target = version_key(version)
    below = [c for c in known if version_key(c.entry.version or "") < target]
    if below:
        nearest = max(below, key=lambda c: version_key(c.entry.version or "")).entry.version
    else:
        nearest = min(known, key=lambda c: version_key(c.entry.version or "")).entry.version
    return [c for c in known if c.entry.version == nearest]


def closest(found: Iterable[Candidate], version: str | None, jobs: int | None) -> list[Candidate]:
    """The candidates closest to this build, by version, then make jobs, then phase: each
    step keeps those that match (the nearest version, for versions) and keeps them all when
    none does."""
    kept = list(found)
    if version:
        kept = _nearest_version(kept, version)
    if jobs is not None:
        kept = [c for c in kept if c.entry.jobs == jobs] or kept
    return [c for c in kept if c.same_phase] or kept


def from_metadata(script: Script, sbu_seconds: float | None) -> Estimate | None:
    """The estimate a script's ``sbu=`` metadata gives with an SBU (s) to scale it by."""
    if script.sbu is None or script.sbu < 0 or not sbu_seconds:
        return None
    seconds = script.sbu * sbu_seconds
    return Estimate(seconds, script.sbu,
                    (EstimateSource("sbu= metadata", seconds, script.version),))


class History:
    """Imported per-package durations, looked up and weighed by script."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        grouped: dict[str, list[Entry]] = {}
        for entry in entries:  # sources in the order given: oldest import first
            grouped.setdefault(entry.source, []).append(entry)
        #: source -> name -> its entries in build order
        self.sources: dict[str, dict[str, list[Entry]]] = {}
        for source, items in grouped.items():
            by_name: dict[str, list[Entry]] = {}
            for entry in sorted(items, key=lambda e: e.position):
                by_name.setdefault(entry.name.lower(), []).append(entry)
            self.sources[source] = by_name
        self._ages: dict[str, int] | None = None
        self._sensitivity: float | None = None
        self._ranges: dict[int | None, tuple[float, float]] = {}

    def __bool__(self) -> bool:
        return bool(self.sources)

    def _unit(self, source: str) -> tuple[float | None, int | None]:
        """A source's SBU unit (s) and make jobs, from its first entry."""
        first = next(iter(self.sources[source].values()))[0]
        return (first.sbu_seconds if first.sbu_seconds and first.sbu_seconds > 0 else None,
                first.jobs)

    @property
    def sbu_seconds(self) -> float | None:
        """The median SBU unit (s) of the sources that give one."""
        units = [u for u, _ in map(self._unit, self.sources) if u]
        return statistics.median(units) if units else None

    # -- finding a script's entries ------------------------------------------------------------

    @staticmethod
    def _pick(by_name: Mapping[str, list[Entry]], script: Script) -> tuple[Entry, bool] | None:
        """The source's entry for ``script``, and whether it is of the script's phase as far
        as the source can tell (False: one build, of a package this script builds again)."""
        name = script.name.lower()
        base, earlier = name, False
        if "@" in name:  # m4@chapter06: discovery's name for one of a package's builds
            base = name.partition("@")[0]
            earlier = (script.phase or "system").lower() in PHASE_SUFFIXES and (
                script.phase or "").lower() not in ("config",)
            entries = by_name.get(base)
            if not entries:
                return None
            return (entries[0] if earlier else entries[-1]), len(entries) > 1
        for suffix in ((script.phase or "").lower(), *PHASE_SUFFIXES):
            if suffix and name.endswith(f"-{suffix}") and name[: -len(suffix) - 1] in by_name:
                base, earlier = name[: -len(suffix) - 1], True
                break
        entries = by_name.get(name) if name in by_name else by_name.get(base)
        if not entries:
            return None
        if earlier and base != name:
            return entries[0], len(entries) > 1
        return entries[-1], True

    def entries(self, script: Script) -> list[Entry]:
        """The script's entry in each source that has it."""
        found = (self._pick(by_name, script) for by_name in self.sources.values())
        return [pick[0] for pick in found if pick is not None]

    def candidates(self, script: Script) -> list[Candidate]:
        """The script's entry in each source that has it, with its source's age."""
        ages = self.ages()
        found = []
        for source, by_name in self.sources.items():
            pick = self._pick(by_name, script)
            if pick is not None:
                found.append(Candidate(pick[0], ages[source], pick[1]))
        return found

    # -- the plain medians (the predictor before closeness; benchmarks compare with it) --------

    def sbu(self, script: Script) -> float | None:
        """The script's duration in SBU, the median over every source, or None."""
        values = [v for v in (_sbu_of(e) for e in self.entries(script)) if v is not None]
        return statistics.median(values) if values else None

    def seconds(self, script: Script) -> float | None:
        """The script's duration in the sources' seconds (median), or None."""
        values = [e.seconds for e in self.entries(script)]
        return statistics.median(values) if values else None

    # -- what the sources say of themselves ----------------------------------------------------

    def ages(self) -> dict[str, int]:
        """Each source's age rank, 0 the oldest: a source whose versions of the packages it
        shares with others rank higher (the mean of each version's place among the versions
        the sources built of that package) is newer; equal ones keep their import order."""
        if self._ages is None:
            seen: dict[tuple[str, str], set[str]] = {}
            for by_name in self.sources.values():
                for name, entries in by_name.items():
                    for occurrence, entry in _occurrences(entries):
                        if entry.version:
                            seen.setdefault((name, occurrence), set()).add(entry.version)
            places = {key: {v: i / (len(vs) - 1) for i, v in
                            enumerate(sorted(vs, key=version_key))}
                      for key, vs in seen.items() if len(vs) > 1}
            scores: dict[str, tuple[float, int]] = {}
            for index, (source, by_name) in enumerate(self.sources.items()):
                marks = [places[(name, occurrence)][entry.version]
                         for name, entries in by_name.items()
                         for occurrence, entry in _occurrences(entries)
                         if entry.version and (name, occurrence) in places]
                scores[source] = (sum(marks) / len(marks) if marks else 0.5, index)
            order = sorted(self.sources, key=scores.__getitem__)
            self._ages = {source: rank for rank, source in enumerate(order)}
        return self._ages

    def sensitivity(self) -> float:
        """How far package times follow the SBU, from 0 (not at all) to 1 (in proportion):
        the slope of log seconds over log SBU unit that the packages share across the sources
        (each package at one version, phase and ``-j`` compared only with itself), pulled
        towards 1 while the sources' units vary little (:data:`SENSITIVITY_PRIOR`)."""
        if self._sensitivity is None:
            groups: dict[tuple[str, str, str | None, int | None], list[tuple[float, float]]] = {}
            for source, by_name in self.sources.items():
                unit, _ = self._unit(source)
                if unit is None:
                    continue
                for name, entries in by_name.items():
                    for occurrence, entry in _occurrences(entries):
                        if entry.seconds >= LEARN_FLOOR:
                            key = (name, occurrence, entry.version, entry.jobs)
                            groups.setdefault(key, []).append(
                                (math.log(unit), math.log(entry.seconds)))
            sxx, sxy = pooled_slope(groups.values())
            slope = (sxy + SENSITIVITY_PRIOR) / (sxx + SENSITIVITY_PRIOR)
            self._sensitivity = min(max(slope, 0.0), 1.0)
        return self._sensitivity

    def _range(self, jobs: int | None) -> tuple[float, float]:
        """The lowest and highest SBU unit of the sources made with ``jobs``."""
        if jobs not in self._ranges:
            units = [u for u, j in map(self._unit, self.sources) if u and j == jobs]
            self._ranges[jobs] = (min(units), max(units)) if units else (0.0, 0.0)
        return self._ranges[jobs]

    def scale(self, entry: Entry, sbu_seconds: float | None, jobs: int | None) -> float:
        """What an entry's seconds are multiplied by on a machine whose SBU is
        ``sbu_seconds``, building with ``jobs``: by the sensitivity within the range of
        units the sources measured (at the entry's ``-j``), in full beyond it and for an
        entry of another ``-j``; 1 without both units."""
        own = entry.sbu_seconds
        if not sbu_seconds or not own or own <= 0:
            return 1.0
        if jobs is not None and entry.jobs is not None and entry.jobs != jobs:
            return sbu_seconds / own  # the SBU at each -j is all that tells the two apart
        low, high = self._range(entry.jobs)
        inside = min(max(sbu_seconds, low), high) if high else own
        return math.pow(inside / own, self.sensitivity()) * (sbu_seconds / inside)

    # -- the estimate --------------------------------------------------------------------------

    def estimate(self, script: Script, *, sbu_seconds: float | None = None,
                 jobs: int | None = None) -> Estimate | None:
        """The script's expected duration on a machine whose SBU is ``sbu_seconds`` (None:
        each source's own seconds), building with ``make -j jobs`` (None: unknown): the
        weighted median of its closest sources, rescaled; None when no source has it."""
        close = closest(self.candidates(script), script.version, jobs)
        if not close:
            return None
        close = sorted(close, key=lambda c: -c.age)[:KEEP_SOURCES]
        raw = [0.5 ** (rank / HALF_LIFE) for rank in range(len(close))]
        weights = [w / sum(raw) for w in raw]
        values = [c.entry.seconds * self.scale(c.entry, sbu_seconds, jobs) for c in close]
        seconds = weighted_median(values, weights)
        if sbu_seconds:
            sbu: float | None = seconds / sbu_seconds
        else:
            known = [(v, w) for v, w in zip(map(_sbu_of, (c.entry for c in close)), weights,
                                            strict=True) if v is not None]
            sbu = weighted_median([v for v, _ in known], [w for _, w in known]) if known else None
        sources = tuple(EstimateSource(c.entry.source, c.entry.seconds, c.entry.version,
                                       c.entry.jobs, round(w, 3))
                        for c, w in zip(close, weights, strict=True))
        return Estimate(seconds, sbu, sources)


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

    def expected(self, name: str) -> float | None:
        """The expected duration of script ``name`` (None: not known, or no such script)."""
        item = self.scripts.get(name)
        return item.expected if item is not None else None

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
        informed = any(s.expected is not None and not s.finished
                       for s in self.scripts.values())  # of the scripts still to end
        bound = self._bound(left) if informed else 0.0
        figures["bound"] = round(bound, 1) if informed else None
        work = sum(expected[s.name] for s in self.scripts.values() if not s.finished or s.ran)
        share = sum(expected[s.name] for s in self.scripts.values() if s.ran) / work if work else 1
        if elapsed < ETA_MIN_ELAPSED or share < ETA_MIN_SHARE:
            return figures
        figures["eta"] = round(max(sum(left.values()) / self.parallelism(now), bound), 1)
        # the first informed ETA: one some script's own expectation went into (the mean of
        # the few scripts that finished says too little to be held against later)
        if self.first_eta is None and done < total and informed:
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

