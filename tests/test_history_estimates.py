"""Estimates from imported history: closeness (version, ``-j``, phase, age), the fallback
order, rescaling by this machine's SBU, what ``list --json`` shows, ``--sbu`` and
``[monitor] sbu``; and, on the shared jhalfs reports, each later report predicted from the
earlier ones."""

from __future__ import annotations

import json
import statistics
from datetime import datetime
from pathlib import Path

import pytest

from helpers import REPORTS, no_data
from lfsplug import Estimate, HistoryEntry, Script
from lfsplug.testing import Lfsplugger
from lfsplug_monitor.eta import History, closest, from_metadata, make_jobs
from lfsplug_monitor.stats import pooled_slope, weighted_median
from lfsplug_reports.sbu import history_entries, read_report
from lfsplug_state.store import StateStore

LIST = ("list", "--json")


def entry(name: str, seconds: float, source: str, *, version: str | None = None,
          unit: float | None = 60.0, jobs: int | None = 3, position: int = 1) -> HistoryEntry:
    return HistoryEntry(name=name, seconds=seconds, version=version, sbu_seconds=unit,
                        jobs=jobs, source=source, position=position)


def script(name: str, version: str | None = None, phase: str | None = None,
           sbu: float | None = None) -> Script:
    return Script(name, Path(f"/s/{name}.sh"), Path("/s"), version=version, phase=phase, sbu=sbu)


def used(found: Estimate | None) -> list[str]:
    assert found is not None
    return [s.source for s in found.sources]


# -- closeness and the order of falling back ---------------------------------------------------


def test_the_same_version_wins_over_a_newer_source_of_another() -> None:
    history = History([entry("gcc", 900.0, "old", version="14.2.0"),
                       entry("gcc", 1200.0, "new", version="15.1.0")])
    found = history.estimate(script("gcc", "14.2.0"))
    assert found is not None and found.seconds == 900.0 and used(found) == ["old"]
    assert found.sources[0].version == "14.2.0" and found.sources[0].jobs == 3


def test_without_the_same_version_the_nearest_below_then_above() -> None:
    history = History([entry("gcc", 800.0, "a", version="13.2.0"),
                       entry("gcc", 900.0, "b", version="14.1.0"),
                       entry("gcc", 1000.0, "c", version="15.1.0")])
    assert used(history.estimate(script("gcc", "14.2.0"))) == ["b"]
    assert used(history.estimate(script("gcc", "12.1.0"))) == ["a"]
    # a script without a version weighs every source (the newest most)
    assert set(used(history.estimate(script("gcc")))) == {"a", "b", "c"}


def test_the_same_make_jobs_win_and_another_is_the_fallback() -> None:
    history = History([entry("gcc", 700.0, "j4", jobs=4),
                       entry("gcc", 1500.0, "j1", jobs=1)])
    assert used(history.estimate(script("gcc"), jobs=4)) == ["j4"]
    assert used(history.estimate(script("gcc"), jobs=1)) == ["j1"]
    # nothing built with -j8: both are used
    assert set(used(history.estimate(script("gcc"), jobs=8))) == {"j4", "j1"}


def test_version_comes_before_jobs_and_jobs_before_phase() -> None:
    found = [entry("m4", 30.0, "same-version-other-j", version="1.4.19", jobs=1),
             entry("m4", 20.0, "other-version-same-j", version="1.4.18", jobs=3)]
    history = History(found)
    assert used(history.estimate(script("m4", "1.4.19"), jobs=3)) == ["same-version-other-j"]
    # a source that built m4 twice tells the phases apart; one that built it once cannot
    twice = [entry("m4", 10.0, "twice", jobs=1, position=1),
             entry("m4", 40.0, "twice", jobs=1, position=2)]
    history = History([*twice, entry("m4", 35.0, "once", jobs=3)])
    temp = script("m4@chapter06", phase="temp")
    assert used(history.estimate(temp, jobs=1)) == ["twice"]          # -j, then phase
    assert used(history.estimate(temp, jobs=3)) == ["once"]           # -j before phase
    assert used(history.estimate(temp)) == ["twice"]                  # phase decides
    assert history.estimate(temp).seconds == 10.0                     # type: ignore[union-attr]


def test_closest_keeps_all_when_nothing_matches() -> None:
    history = History([entry("bash", 30.0, "a", version="5.2", jobs=3)])
    found = history.candidates(script("bash"))
    assert closest(found, "9.9", 16) == found


def test_newer_sources_weigh_more_and_age_is_read_from_versions() -> None:
    # imported newest first: their versions say which is newer, not the import order
    sources = [("r3", "1.3", "2.3", 130.0), ("r2", "1.2", "2.2", 120.0),
               ("r1", "1.1", "2.1", 110.0)]
    entries = []
    for source, pkg_version, other_version, seconds in sources:
        entries.append(entry("pkg", seconds, source, version=None, position=1))
        entries.append(entry("other", 5.0, source, version=other_version, position=2))
        entries.append(entry("more", 5.0, source, version=pkg_version, position=3))
    history = History(entries)
    assert [s for s, _ in sorted(history.ages().items(), key=lambda kv: kv[1])] == \
        ["r1", "r2", "r3"]
    found = history.estimate(script("pkg"))
    assert found is not None
    assert used(found) == ["r3", "r2", "r1"]
    assert [s.weight for s in found.sources] == sorted((s.weight for s in found.sources),
                                                       reverse=True)
    assert sum(s.weight for s in found.sources) == pytest.approx(1.0, abs=0.002)
    # the weighted median: r3 alone weighs less than half; with r2, more
    assert found.seconds == 120.0


def test_equal_sources_keep_their_import_order() -> None:
    history = History([entry("a", 10.0, "first"), entry("a", 20.0, "second")])
    assert history.ages() == {"first": 0, "second": 1}
    assert used(history.estimate(script("a")))[0] == "second"


def test_at_most_the_newest_five_close_sources() -> None:
    history = History([entry("a", 10.0 + i, f"s{i}") for i in range(9)])
    assert used(history.estimate(script("a"))) == ["s8", "s7", "s6", "s5", "s4"]


# -- rescaling by the SBU ----------------------------------------------------------------------


def test_one_source_is_rescaled_in_proportion_to_the_sbu() -> None:
    history = History([entry("gcc", 600.0, "slow", unit=60.0)])
    found = history.estimate(script("gcc"), sbu_seconds=120.0, jobs=3)
    assert found is not None
    assert found.seconds == pytest.approx(1200.0)
    assert found.sbu == pytest.approx(10.0)
    assert found.sources[0].seconds == 600.0  # the source's own figure, before rescaling


def test_without_this_machines_sbu_the_sources_own_seconds_stand() -> None:
    history = History([entry("gcc", 600.0, "a", unit=60.0)])
    found = history.estimate(script("gcc"))
    assert found is not None and found.seconds == 600.0 and found.sbu == pytest.approx(10.0)


def one_machine(units: list[float], follow: float) -> History:
    """Reports of one machine whose SBU moved while the packages followed it by ``follow``."""
    entries = []
    for n, unit in enumerate(units):
        for position, (name, base) in enumerate((("gcc", 800.0), ("glibc", 300.0),
                                                 ("perl", 120.0)), 1):
            seconds = base * (unit / units[0]) ** follow
            entries.append(entry(name, seconds, f"r{n}", unit=unit, position=position))
    return History(entries)


def test_the_sensitivity_to_the_sbu_is_learned_from_the_sources() -> None:
    assert one_machine([60.0, 75.0, 65.0, 80.0], follow=0.3).sensitivity() == \
        pytest.approx(0.3, abs=0.05)
    assert one_machine([60.0, 75.0, 65.0, 80.0], follow=1.0).sensitivity() == \
        pytest.approx(1.0, abs=0.01)
    # sources that all measured one SBU cannot tell: the book's rule (in proportion)
    assert one_machine([60.0, 60.0], follow=0.0).sensitivity() == 1.0


def test_within_the_sources_sbus_partly_beyond_them_in_full() -> None:
    history = one_machine([60.0, 80.0, 60.0, 80.0, 60.0, 80.0], follow=0.0)
    assert history.sensitivity() < 0.1
    inside = history.estimate(script("gcc"), sbu_seconds=70.0, jobs=3)
    assert inside is not None and inside.seconds == pytest.approx(800.0, rel=0.02)
    # a machine twice as slow as any source: in proportion beyond the range seen
    beyond = history.estimate(script("gcc"), sbu_seconds=160.0, jobs=3)
    assert beyond is not None and beyond.seconds == pytest.approx(800.0 * 2, rel=0.02)


def test_a_source_of_another_make_jobs_is_rescaled_in_full() -> None:
    # a -j1 build whose history is all -j3: the SBU each measured is all that relates them
    history = one_machine([60.0, 80.0, 60.0, 80.0], follow=0.0)
    found = history.estimate(script("perl"), sbu_seconds=150.0, jobs=1)
    assert found is not None
    newest = found.sources[0]
    assert newest.jobs == 3
    # the newest (SBU 80) and the third (80) outweigh the two at 60: 120 s x 150 / 80
    assert found.seconds == pytest.approx(120.0 * 150.0 / 80.0)


def test_sbu_metadata_gives_an_estimate_with_an_sbu() -> None:
    found = from_metadata(script("foo", sbu=2.5), 40.0)
    assert found is not None and found.seconds == 100.0 and found.sbu == 2.5
    assert found.sources[0].source == "sbu= metadata"
    assert from_metadata(script("foo", sbu=2.5), None) is None
    assert from_metadata(script("foo"), 40.0) is None


def test_make_jobs_reads_makeflags() -> None:
    assert make_jobs({"MAKEFLAGS": "-j4"}) == 4
    assert make_jobs({"MAKEFLAGS": "--jobs=8 -O"}) == 8
    assert make_jobs({"MAKEFLAGS": "-j"}) is None
    assert make_jobs({}) is not None  # the book's -j$(nproc)


def test_the_numeric_helpers() -> None:
    assert weighted_median([30.0, 10.0, 20.0], [1, 1, 1]) == 20.0
    assert weighted_median([10.0, 20.0], [0.6, 0.4]) == 10.0
    assert pooled_slope([[(0.0, 0.0), (1.0, 2.0)], [(5.0, 1.0), (6.0, 3.0)], [(1.0, 1.0)]]) == \
        (1.0, 2.0)
    with pytest.raises(ValueError):
        weighted_median([], [])


# -- the shared reports ------------------------------------------------------------------------


@pytest.mark.skipif(not REPORTS.is_dir(), reason=no_data(REPORTS))
def test_each_later_report_from_the_earlier_ones() -> None:
    """The benchmark's figures, held to its targets: median error per package at most 5 %,
    the median error of the total within 3 %, and not worse than the latest report alone."""
    loaded = []
    for path in sorted(REPORTS.glob("*.report")):
        report = read_report(path)
        loaded.append((report.date or "", path.name, report))
    # reports are built in date order: the folder's name order says nothing of it
    loaded.sort(key=lambda r: datetime.strptime(r[0].replace(" UTC", ""), "%a %b %d %H:%M:%S %Y"))
    errors: dict[str, list[float]] = {"new": [], "latest": []}
    totals: dict[str, list[float]] = {"new": [], "latest": []}
    for k in range(1, len(loaded)):
        earlier = sorted(loaded[:k], key=lambda r: r[1])  # imported in file-name order
        history = History([e for _, name, report in earlier
                           for e in history_entries(report, name)])
        latest = History(history_entries(loaded[k - 1][2], loaded[k - 1][1]))
        target = loaded[k][2]
        assert target.sbu_seconds is not None
        counts = {p.name: sum(1 for q in target.packages if q.name == p.name)
                  for p in target.packages}
        seen: dict[str, int] = {}
        sums = {"new": 0.0, "latest": 0.0}
        for build in target.packages:
            seen[build.name] = seen.get(build.name, 0) + 1
            twice = counts[build.name] > 1
            name = f"{build.name}@{seen[build.name]}" if twice else build.name
            phase = "temp" if twice and seen[build.name] == 1 else "system"
            found = history.estimate(script(name, build.version, phase),
                                     sbu_seconds=target.sbu_seconds, jobs=target.jobs)
            last_sbu = latest.sbu(script(name, build.version, phase))
            guesses = {"new": found.seconds if found else None,
                       "latest": last_sbu * target.sbu_seconds if last_sbu else None}
            for key, guess in guesses.items():
                sums[key] += guess or 0.0
                if guess is not None and build.seconds >= 10:
                    errors[key].append(abs(guess - build.seconds) / build.seconds)
        actual = sum(p.seconds for p in target.packages)
        for key, total in sums.items():
            totals[key].append(abs(total - actual) / actual)
    median = {key: statistics.median(v) for key, v in errors.items()}
    total = {key: statistics.median(v) for key, v in totals.items()}
    assert median["new"] <= 0.05 and total["new"] <= 0.03
    assert median["new"] <= median["latest"] and total["new"] <= total["latest"]


# -- list --json, --sbu and [monitor] sbu ------------------------------------------------------


def import_history(root: Path, entries: list[HistoryEntry], source: str) -> None:
    store = StateStore.open(root / ".lfsplug", create=True)
    try:
        store.add_history(source, entries)
    finally:
        store.close()


def listed(lfsplugger: Lfsplugger, *args: str) -> dict[str, dict[str, object]]:
    result = lfsplugger.run(*LIST, *args)
    assert result.ret == 0, result.errlines
    return {s["name"]: s for s in json.loads("\n".join(result.outlines))["scripts"]}


def test_list_json_gives_each_scripts_estimate_and_its_sources(lfsplugger: Lfsplugger) -> None:
    root = lfsplugger.make_tree({
        "s/01-binutils-pass1.sh": "# lfsplug: version=2.44\ntrue",
        "s/02-gcc-pass1.sh": "# lfsplug: version=14.2.0\ntrue",
        "s/03-unknown.sh": "true",
    }) / "s"
    import_history(root, [entry("binutils-pass1", 60.0, "r1", version="2.44", position=1),
                          entry("gcc-pass1", 600.0, "r1", version="14.2.0", position=2)], "r1")
    import_history(root, [entry("binutils-pass1", 70.0, "r2", version="2.44", position=1),
                          entry("gcc-pass1", 900.0, "r2", version="15.1.0", position=2)], "r2")
    scripts = listed(lfsplugger, "s")
    gcc = scripts["gcc-pass1"]
    assert gcc["expected_from"] == [{"source": "r1", "version": "14.2.0", "jobs": 3,
                                     "seconds": 600.0, "weight": 1.0}]
    assert gcc["expected_sbu"] == 10.0
    assert scripts["unknown"]["expected_s"] is None
    assert scripts["unknown"]["expected_from"] == []
    # this machine's SBU, given: the estimate in its seconds
    gcc = listed(lfsplugger, "s", "--sbu", "120")["gcc-pass1"]
    assert gcc["expected_s"] == pytest.approx(1200.0) and gcc["expected_sbu"] == 10.0


def test_monitor_sbu_in_the_config_and_sbu_metadata(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"s/01-foo.sh": "# lfsplug: sbu=2.5\ntrue"})
    assert listed(lfsplugger, "s")["foo"]["expected_s"] is None  # no SBU to scale it by
    lfsplugger.make_config("[monitor]\nsbu = 40\n")
    foo = listed(lfsplugger, "s")["foo"]
    assert foo["expected_s"] == 100.0 and foo["expected_sbu"] == 2.5
    assert foo["expected_from"][0]["source"] == "sbu= metadata"  # type: ignore[index]
    # the command line wins over the file
    assert listed(lfsplugger, "s", "--sbu", "10")["foo"]["expected_s"] == 25.0


def test_a_bad_sbu_is_a_usage_error_naming_where(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"s/01-foo.sh": "# lfsplug: sbu=2.5\ntrue"})
    result = lfsplugger.run(*LIST, "s", "--sbu", "soon")
    assert result.ret == 4 and any("--sbu" in line for line in result.errlines)
    lfsplugger.make_config("[monitor]\nsbu = -3\n")
    result = lfsplugger.run(*LIST, "s")
    assert result.ret == 4
    assert any("lfsplug.toml:2" in line and "sbu" in line for line in result.errlines), \
        result.errlines


def test_own_passes_come_first_with_their_sbu(lfsplugger: Lfsplugger) -> None:
    root = lfsplugger.make_tree({"s/01-binutils-pass1.sh": "sleep 0.2",
                                 "s/02-gcc-pass1.sh": "sleep 0.4"}) / "s"
    import_history(root, [entry("gcc-pass1", 600.0, "r1")], "r1")
    run = lfsplugger.run("run", "--shellcheck", "off", "--host-check", "off", "s")
    assert run.ret == 0, run.errlines
    gcc = listed(lfsplugger, "s")["gcc-pass1"]
    assert gcc["expected_from"][0]["source"] == "this machine"  # type: ignore[index]
    assert 0.3 < gcc["expected_s"] < 2  # type: ignore[operator]
    # in this machine's SBU: its own binutils-pass1 on record
    assert gcc["expected_sbu"] == pytest.approx(
        gcc["expected_s"] / run.results["binutils-pass1"].duration, rel=0.2)  # type: ignore


def test_run_takes_sbu_before_any_build_measured_it(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"s/01-foo.sh": "# lfsplug: sbu=0.01\nsleep 0.3"})
    result = lfsplugger.run("run", "--shellcheck", "off", "--host-check", "off",
                            "--sample-interval", "0.1", "--sbu", "50", "s")
    assert result.ret == 0, result.errlines
    expected = [c for c in result.getcalls("lfsplug_expected_duration")
                if c.script.name == "foo"]
    assert expected
    finished = result.results["foo"]
    assert finished.resources.get("sbu") == pytest.approx(
        (finished.duration or 0) / 50, rel=0.3)


def test_a_local_lfsplug_estimate_wins_and_a_seconds_only_answer_shows(
    lfsplugger: Lfsplugger,
) -> None:
    root = lfsplugger.make_tree({"s/01-gcc-pass1.sh": "true", "s/02-glibc.sh": "true"}) / "s"
    import_history(root, [entry("gcc-pass1", 600.0, "r1"), entry("glibc", 300.0, "r1")], "r1")
    lfsplugger.make_lfsconf(
        "from lfsplug import Estimate, EstimateSource, hookimpl\n\n"
        "@hookimpl\n"
        "def lfsplug_estimate(script, config):\n"
        "    if script.name == 'gcc-pass1':\n"
        "        return Estimate(1000.0, 12.0, (EstimateSource('site notes', 1000.0),))\n\n"
        "@hookimpl(tryfirst=True)\n"
        "def lfsplug_expected_duration(script, config):\n"
        "    return 5.0 if script.name == 'later' else None\n", subdir="s")
    lfsplugger.make_tree({"s/03-later.sh": "true"})
    scripts = listed(lfsplugger, "s")
    assert scripts["gcc-pass1"]["expected_s"] == 1000.0
    assert scripts["gcc-pass1"]["expected_from"] == [
        {"source": "site notes", "version": None, "jobs": None, "seconds": 1000.0,
         "weight": 1.0}]
    assert scripts["glibc"]["expected_from"][0]["source"] == "r1"  # type: ignore[index]
    # a plugin that gives only seconds: shown, with nothing to say where they come from
    assert scripts["later"]["expected_s"] == 5.0 and scripts["later"]["expected_from"] == []
