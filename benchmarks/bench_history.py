"""Benchmark of expected durations from imported history: each real jhalfs report predicted
from the reports before it.

The shared data (``../shared/data/jhalfs-sbu-reports/``) holds 24 jhalfs SBU reports of full LFS
builds, book revisions r12.1 and r12.2, each read as ``lfsplug report --import`` reads it
(``lfsplug_reports.sbu``). Ordered by their dates, report k is predicted from reports 1 to k-1:
every package build of report k becomes a script with the report's name, version and phase (a
name built twice is ``NAME@1`` in phase ``temp``, then ``NAME@2`` in ``system``, as discovery
names such builds), and each predictor says how long it takes on report k's machine, whose SBU
(its ``binutils-pass1``: what the monitor measures first) and ``-j`` are known. The earlier
reports are given in file-name order, as importing the folder stores them, so the estimator
must work out which is newer itself.

Predictors:

* **closeness** (``History.estimate``): the monitor's estimate; same version, same ``-j``, same
  phase, newer first, rescaled by the SBU as far as the history shows times follow it;
* **median of all**: the median SBU of the package over every earlier report, times this SBU
  (the monitor's estimate before this work);
* **most recent**: the latest earlier report alone, in SBU, times this SBU;
* **most recent, raw seconds** (shown, no target): the latest report's seconds as they are,
  with no SBU at all; it can only work when every report comes from one kind of machine, as
  these do.

Figures: the median relative error per package build (builds of ``--floor`` seconds or more),
per report and pooled over all, and the error of the total (every package build; one a
predictor cannot predict counts as 0). Targets: pooled median error at most 5 %, the median
total error within 3 %, and neither figure worse than the most recent report's. Run::

    python benchmarks/bench_history.py [--reports DIR] [--floor 10]
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lfsplug import Script
from lfsplug_monitor.eta import History
from lfsplug_reports.sbu import SbuReport, history_entries, read_report

HERE = Path(__file__).resolve().parent
REPORTS = HERE.parent.parent / "shared" / "data" / "jhalfs-sbu-reports"
TARGET_MEDIAN, TARGET_TOTAL = 0.05, 0.03

Predictor = Callable[["Round", Script], float | None]


@dataclass
class Report:
    """One report: its file, date, book version, SBU, -j, and its builds as scripts."""

    path: Path
    when: datetime.datetime
    data: SbuReport
    scripts: list[tuple[Script, float]]  # each package build as a script, and its seconds

    @property
    def unit(self) -> float:
        assert self.data.sbu_seconds is not None
        return self.data.sbu_seconds

    @property
    def label(self) -> str:
        return self.data.book_version or self.path.name


def load(folder: Path) -> list[Report]:
    """Every report of ``folder``, oldest first (by the date each report begins with)."""
    reports = []
    for path in sorted(folder.glob("*.report")):
        data = read_report(path)
        if data.sbu_seconds is None or not data.packages:
            continue
        when = datetime.datetime.strptime((data.date or "").replace(" UTC", ""),
                                          "%a %b %d %H:%M:%S %Y")
        reports.append(Report(path, when, data, scripts_of(data, path)))
    return sorted(reports, key=lambda r: r.when)


def scripts_of(data: SbuReport, path: Path) -> list[tuple[Script, float]]:
    """The report's package builds as discovery would name them, with their seconds."""
    counts: dict[str, int] = {}
    for build in data.packages:
        counts[build.name] = counts.get(build.name, 0) + 1
    seen: dict[str, int] = {}
    scripts = []
    for build in data.packages:
        seen[build.name] = seen.get(build.name, 0) + 1
        name, phase = build.name, "system"
        if counts[build.name] > 1:
            name = f"{build.name}@{seen[build.name]}"
            phase = "temp" if seen[build.name] < counts[build.name] else "system"
        script = Script(name, path, path.parent, version=build.version, phase=phase)
        scripts.append((script, build.seconds))
    return scripts


def history_of(reports: list[Report]) -> History:
    """The reports as ``lfsplug report --import DIR`` stores them: in file-name order."""
    entries = []
    for report in sorted(reports, key=lambda r: r.path.name):
        entries.extend(history_entries(report.data, f"jhalfs:{report.path.name}"))
    return History(entries)


@dataclass
class Round:
    """Predicting one report: the history of the reports before it, and of the latest alone."""

    target: Report
    history: History
    latest: History


def closeness(at: Round, script: Script) -> float | None:
    found = at.history.estimate(script, sbu_seconds=at.target.unit, jobs=at.target.data.jobs)
    return found.seconds if found is not None else None


def median_of_all(at: Round, script: Script) -> float | None:
    sbu = at.history.sbu(script)
    return sbu * at.target.unit if sbu is not None else None


def most_recent(at: Round, script: Script) -> float | None:
    sbu = at.latest.sbu(script)
    return sbu * at.target.unit if sbu is not None else None


def most_recent_raw(at: Round, script: Script) -> float | None:
    return at.latest.seconds(script)


PREDICTORS: dict[str, Predictor] = {
    "closeness": closeness, "median of all": median_of_all, "most recent": most_recent,
    "most recent, raw s": most_recent_raw,
}


@dataclass
class Figures:
    errors: list[float]   # per package build of at least the floor
    total: float          # (predicted - actual) / actual over every build

    @property
    def median(self) -> float:
        return statistics.median(self.errors) if self.errors else float("nan")


def measure(predict: Predictor, at: Round, floor: float) -> Figures:
    errors, predicted, actual = [], 0.0, 0.0
    for script, seconds in at.target.scripts:
        guess = predict(at, script)
        actual += seconds
        predicted += guess or 0.0
        if guess is not None and seconds >= floor:
            errors.append(abs(guess - seconds) / seconds)
    return Figures(errors, (predicted - actual) / actual)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reports", type=Path, default=REPORTS)
    parser.add_argument("--floor", type=float, default=10.0,
                        help="per-package errors count builds of at least this many seconds")
    args = parser.parse_args(argv)
    if not args.reports.is_dir():
        sys.exit(f"needs the shared data: {args.reports}")
    reports = load(args.reports)
    if len(reports) < 2:
        sys.exit(f"{args.reports}: fewer than two reports")
    print(f"{len(reports)} reports, {reports[0].label} ({reports[0].when:%Y-%m-%d}) to "
          f"{reports[-1].label} ({reports[-1].when:%Y-%m-%d}); report k from reports < k; "
          f"per-package errors over builds of {args.floor:g} s or more\n")
    names = list(PREDICTORS)
    print(f"{'k':>3} {'report':<24} {'SBU':>4} {'sens':>5}  "
          + "  ".join(f"{n:>22}" for n in names))
    print(f"{'':>3} {'':<24} {'':>4} {'':>5}  " + "  ".join(f"{'median':>10} {'total':>11}"
                                                            for _ in names))
    pooled: dict[str, list[float]] = {n: [] for n in names}
    totals: dict[str, list[float]] = {n: [] for n in names}
    worse = []
    for k in range(1, len(reports)):
        target = reports[k]
        at = Round(target, history_of(reports[:k]), history_of(reports[k - 1:k]))
        figures = {n: measure(PREDICTORS[n], at, args.floor) for n in names}
        for n, f in figures.items():
            pooled[n].extend(f.errors)
            totals[n].append(f.total)
        if (figures["closeness"].median > figures["most recent"].median
                or abs(figures["closeness"].total) > abs(figures["most recent"].total)):
            worse.append(target.label)
        sens = at.history.sensitivity()
        print(f"{k:>3} {target.label:<24} {target.unit:>4.0f} {sens:>5.2f}  "
              + "  ".join(f"{f.median:>10.1%} {f.total:>+11.1%}" for f in figures.values()))
    print()
    summary = {n: (statistics.median(pooled[n]), statistics.median(abs(t) for t in totals[n]),
                   max(abs(t) for t in totals[n]),
                   sum(abs(t) <= TARGET_TOTAL for t in totals[n])) for n in names}
    rounds = len(reports) - 1
    for n, (med, total, worst, within) in summary.items():
        print(f"{n:<20} median error {med:6.2%} over {len(pooled[n])} builds; total error: "
              f"median {total:5.2%}, worst {worst:6.2%}, within 3 % in {within} of {rounds}")
    ages = history_of(reports).ages()
    inferred = sorted(reports, key=lambda r: ages[f"jhalfs:{r.path.name}"])
    print(f"\nages read from the sources' versions match the reports' dates: "
          f"{'yes' if inferred == reports else 'NO'}")
    jobs = {r.data.jobs for r in reports}
    if len(jobs) > 1:
        print(f"make jobs in the data: {sorted(j or 0 for j in jobs)}")
    else:
        print(f"every report was built with -j{jobs.pop()}: a build with another -j after "
              f"this history cannot be measured on this data (tests/test_history_estimates.py "
              f"checks how such a build falls back)")
    print(f"closeness worse than the most recent report in median or total at: "
          f"{', '.join(worse) or 'none'}")
    new, last = summary["closeness"], summary["most recent"]
    checks = {
        f"median error <= {TARGET_MEDIAN:.0%}": new[0] <= TARGET_MEDIAN,
        f"median total error <= {TARGET_TOTAL:.0%}": new[1] <= TARGET_TOTAL,
        "not worse than the most recent report (median error, median total)":
            new[0] <= last[0] and new[1] <= last[1],
    }
    for what, ok in checks.items():
        print(f"{what}: {'PASS' if ok else 'FAIL'}")
    ok = all(checks.values())
    print(f"overall: {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
