"""The reports plugin: json, junit, html, trace and the jhalfs SBU report, written at the end of
a run and later from the state database; jhalfs reports read back and imported as history."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import os
import sqlite3
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import lfsplug
from helpers import REPORTS, no_data
from lfsplug import Alert, Recovery, Sample, Script, ScriptResult, StoredEvent, UsageError
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_reports import charts, sbu
from lfsplug_reports.charts import Span, assign_slots, downsample
from lfsplug_reports.data import RunData, RunRecord, ScriptRecord
from lfsplug_state.service import StateDatabase
from lfsplug_state.store import StateStore

#: `run` without shellcheck and the host check, which these tests do not need (and are slow),
#: and without the real monitor: :class:`FakeMonitor` gives the same records, predictably.
RUN = ("run", "--shellcheck", "off", "--host-check", "off", "-p", "no:monitor",
       "-p", "no:chroot")  # phase=cross trees, no lfs user here
ALL_REPORTS = sorted(REPORTS.glob("*.report")) if REPORTS.is_dir() else []
needs_reports = pytest.mark.skipif(not ALL_REPORTS, reason=no_data(REPORTS))
GIB = 2.0**30

TREE = {
    "scripts/01-binutils.sh": "# lfsplug: name=binutils-pass1 version=2.44 phase=cross\n"
                              "echo configuring; sleep 0.2; echo done",
    "scripts/02-gcc.sh": "# lfsplug: name=gcc-pass1 version=14.2.0 phase=cross\n"
                         "echo compiling; sleep 0.1",
    "scripts/03-evil.sh": "# lfsplug: phase=temp\n"
                          "echo '<script>alert(1)</script> & \x1b[31mred\x1b[0m'\n"
                          "echo 'last words'; exit 7",
    "scripts/04-after.sh": "# lfsplug: phase=temp\necho never",
}


class FakeMonitor:
    """What the monitor plugin gives, by the contract, with known figures: a system sample at
    each start and finish, a per-script sample, resources (disk, sbu, cpu_efficiency) and one
    disk alert."""

    def __init__(self, sbu_seconds: float = 0.2) -> None:
        self.sbu_seconds = sbu_seconds
        self.ticks = 0

    def _system(self, session: lfsplug.Session) -> None:
        self.ticks += 1
        session.sample(Sample(time.time(), {
            "cpu_percent": 10.0 * self.ticks, "mem_percent": 20.0 + self.ticks,
            "swap_percent": 0.0, "load1": 1.5, "disk_free:lfs": (40 - self.ticks) * GIB,
            "disk_free:sources": 80 * GIB, "mem_available": 4 * GIB}))

    @lfsplug.hookimpl
    def lfsplug_script_start(self, session: lfsplug.Session, script: Script) -> None:
        self._system(session)
        session.sample(Sample(time.time(), {"rss": 5e6 * (script.index + 1),
                                            "cpu_percent": 90.0}, script.name))

    @lfsplug.hookimpl(tryfirst=True)
    def lfsplug_script_finish(self, session: lfsplug.Session, script: Script,
                              result: ScriptResult) -> None:
        if result.cached or result.duration is None:
            return
        base = 1_000_000 + 1000 * script.index
        result.resources["disk"] = {"before": base, "after": base + 5000,
                                    "required": 5000, "installed": 1200 + script.index}
        result.resources["sbu"] = round(result.duration / self.sbu_seconds, 3)
        result.resources["cpu_efficiency"] = 0.5
        self._system(session)
        if script.name == "gcc-pass1":
            session.alert(Alert("disk", "warn", "disk: lfs has 2 GiB free <&>", time.time(),
                                {"label": "lfs"}))


def run_with_reports(lfsplugger: Lfsplugger, *formats: str, tree: dict[str, str] = TREE,
                     plugins: list[object] | None = None, extra: tuple[str, ...] = ()
                     ) -> tuple[RunResult, dict[str, Path]]:
    lfsplugger.make_tree(tree)
    paths = {fmt: lfsplugger.path / "out" / f"report.{fmt}" for fmt in formats}
    args = [a for fmt, path in paths.items() for a in ("--report", f"{fmt}:{path}")]
    result = lfsplugger.run(*RUN, "scripts", *args, *extra,
                            plugins=[FakeMonitor()] if plugins is None else plugins)
    return result, paths


class Page(HTMLParser):
    """The parts of the HTML report the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.svgs: dict[str, dict[str, str]] = {}
        self.rects: list[dict[str, str]] = []
        self.polylines: dict[str, list[dict[str, str]]] = {}
        self.rows: list[str] = []
        self.tags: list[str] = []
        self.text: list[str] = []
        self.scripts = 0
        self._svg: str | None = None
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        for key in ("src", "href"):
            if key in attributes:
                self.external.append(attributes[key])
        if tag == "svg":
            self._svg = attributes.get("id", "")
            self.svgs[self._svg] = attributes
        elif tag == "rect" and self._svg == "gantt" and "data-script" in attributes:
            self.rects.append(attributes)
        elif tag == "polyline" and self._svg:
            self.polylines.setdefault(self._svg, []).append(attributes)
        elif tag == "tr" and "data-script" in attributes:
            self.rows.append(attributes["data-script"])
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._svg = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse_html(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


# -- run --report: every format ----------------------------------------------------------------


def test_run_writes_every_format_and_keeps_its_exit_code(lfsplugger: Lfsplugger) -> None:
    result, paths = run_with_reports(lfsplugger, "json", "junit", "html", "trace", "sbu")
    assert result.ret == 1  # evil failed; the reports do not change the build's exit code
    for fmt, path in paths.items():
        assert path.is_file() and path.stat().st_size > 0, fmt
        result.stderr.fnmatch_lines([f"lfsplug: wrote the {fmt} report to *report.{fmt}"])


def test_html_report_has_its_charts_table_failures_and_alerts(lfsplugger: Lfsplugger) -> None:
    _result, paths = run_with_reports(lfsplugger, "html")
    page = parse_html(paths["html"])
    # self-contained: no external asset, one inline script (table sorting)
    assert page.external == [] and page.scripts == 1
    assert {"gantt", "chart-cpu", "chart-memory", "chart-disk"} <= set(page.svgs)
    # one Gantt bar per attempt of each script that ran, none for the one never reached
    ran = {"binutils-pass1": "passed", "gcc-pass1": "passed", "evil": "failed"}
    assert {r["data-script"]: r["class"].split()[1] for r in page.rects} == ran
    for rect in page.rects:
        assert float(rect["width"]) >= 1.0 and float(rect["x"]) >= 0
    # CPU and memory lines from the system samples; disk free per watched directory
    assert [p["data-metric"] for p in page.polylines["chart-cpu"]] == ["cpu_percent"]
    assert [p["data-metric"] for p in page.polylines["chart-memory"]] == [
        "mem_percent", "swap_percent"]
    assert [p["data-metric"] for p in page.polylines["chart-disk"]] == ["lfs", "sources"]
    points = page.polylines["chart-cpu"][0]["points"].split()
    assert len(points) == 6  # a sample at each start and each finish of three scripts
    # the table lists every script in plan order
    assert page.rows == ["binutils-pass1", "gcc-pass1", "evil", "after"]
    text = "".join(page.text)
    # untrusted output is text, never markup: the log line shows escaped, not as a script tag
    assert "<script>alert(1)</script> & \x1b[31mred" in text
    assert "last words" in text and "exit status 7" in text
    assert "disk: lfs has 2 GiB free <&>" in text  # the alert, escaped
    assert "<script>alert(1)" not in paths["html"].read_text(encoding="utf-8")


def test_html_table_shows_sbu_memory_and_disk_figures(lfsplugger: Lfsplugger) -> None:
    _result, paths = run_with_reports(lfsplugger, "html")
    html = paths["html"].read_text(encoding="utf-8")
    row = html[html.index('<tr data-script="gcc-pass1">'):]
    row = row[:row.index("</tr>")]
    cells = [c.split(">", 1)[1].split("</td", 1)[0] for c in row.split("<td")[1:]]
    # #, script, phase, status, start, duration, SBU, tries, peak MiB, disk x4, CPU use, note
    assert cells[1:4] == ["gcc-pass1", "cross", "passed"]
    assert float(cells[6]) > 0
    assert cells[8] == f"{5e6 * 2 / 1048576:.1f}"  # the sampled peak RSS
    assert cells[9:13] == [f"{(1_000_000 + 1000) / 1024:.1f}", f"{1_006_000 / 1024:.1f}",
                           f"{5000 / 1024:.1f}", f"{1201 / 1024:.1f}"]
    assert cells[13] == "50%"


def test_html_without_samples_leaves_the_charts_out_and_says_so(
    lfsplugger: Lfsplugger,
) -> None:
    result, paths = run_with_reports(lfsplugger, "html", plugins=[])
    assert result.ret == 1
    page = parse_html(paths["html"])
    assert set(page.svgs) == {"gantt"}
    assert "No system samples were recorded" in "".join(page.text)
    assert len(page.rects) == 3


def test_real_monitor_samples_draw_the_charts(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"scripts/01-a.sh": "sleep 0.6", "scripts/02-b.sh": "sleep 0.4"})
    out = lfsplugger.path / "r.html"
    result = lfsplugger.run("run", "--shellcheck", "off", "--host-check", "off", "scripts",
                            "--sample-interval", "0.1", "--report", f"html:{out}")
    assert result.ret == 0, result.errlines
    page = parse_html(out)
    assert {"gantt", "chart-cpu", "chart-memory"} <= set(page.svgs)
    assert len(page.polylines["chart-cpu"][0]["points"].split()) >= 3


def test_a_retried_script_has_a_bar_and_a_span_per_attempt(lfsplugger: Lfsplugger) -> None:
    class RetryOnce:
        @lfsplug.hookimpl
        def lfsplug_recover(self, result: ScriptResult) -> Recovery | None:
            return Recovery("retry", "flaky") if result.attempts < 2 else None

    tree = {"scripts/01-flaky.sh": "if [ ! -e ../marker ]; then touch ../marker; exit 1; fi\n"
                                   "sleep 0.05"}
    result, paths = run_with_reports(lfsplugger, "html", "trace", "json", tree=tree,
                                     plugins=[RetryOnce()])
    assert result.ret == 0
    page = parse_html(paths["html"])
    assert [(r["data-attempt"], r["class"]) for r in page.rects] == [
        ("1", "bar retried"), ("2", "bar passed")]
    spans = [e for e in json.loads(paths["trace"].read_text())["traceEvents"] if e["ph"] == "X"]
    assert [s["args"]["attempt"] for s in spans] == [1, 2]
    assert spans[0]["ts"] + spans[0]["dur"] <= spans[1]["ts"]
    details = json.loads(paths["json"].read_text())["scripts"][0]["attempt_details"]
    assert [d["attempt"] for d in details] == [1, 2]
    assert details[0]["finished"] <= details[1]["started"]
    assert details[0]["log"].endswith("flaky.log") and details[1]["log"].endswith("flaky.2.log")


def test_a_retried_scripts_attempts_without_the_state_plugin(lfsplugger: Lfsplugger) -> None:
    class RetryOnce:
        @lfsplug.hookimpl
        def lfsplug_recover(self, result: ScriptResult) -> Recovery | None:
            return Recovery("retry", "flaky") if result.attempts < 2 else None

    tree = {"scripts/01-flaky.sh": "if [ ! -e ../marker ]; then touch ../marker; exit 1; fi\n"
                                   "sleep 0.05"}
    result, paths = run_with_reports(lfsplugger, "json", tree=tree, plugins=[RetryOnce()],
                                     extra=("-p", "no:state"))
    assert result.ret == 0
    report = json.loads(paths["json"].read_text())
    assert report["source"] == "session"
    # from the retry event (which says when the failed attempt started) and the result
    details = report["scripts"][0]["attempt_details"]
    assert [d["attempt"] for d in details] == [1, 2]
    assert details[0]["started"] < details[0]["finished"] <= details[1]["started"]
    assert details[0]["log"].endswith("flaky.log") and details[1]["log"].endswith("flaky.2.log")
    [retry] = [e for e in report["events"] if e["kind"] == "script-retry"]
    assert retry["payload"]["attempt"] == 1 and retry["payload"]["reason"] == "flaky"


# -- junit -------------------------------------------------------------------------------------


def test_junit_is_read_by_a_junit_reader(lfsplugger: Lfsplugger) -> None:
    junitparser = pytest.importorskip("junitparser", reason="the junitparser package reads "
                                      "JUnit files (pip install junitparser)")
    _result, paths = run_with_reports(lfsplugger, "junit")
    xml = junitparser.JUnitXml.fromfile(str(paths["junit"]))
    suites = list(xml)
    assert len(suites) == 1
    suite = suites[0]
    assert (suite.tests, suite.failures, suite.errors, suite.skipped) == (4, 1, 0, 1)
    cases = {case.name: case for case in suite}
    assert list(cases) == ["binutils-pass1", "gcc-pass1", "evil", "after"]
    assert cases["binutils-pass1"].classname == "cross"
    assert cases["evil"].classname == "temp"
    assert cases["binutils-pass1"].is_passed and cases["binutils-pass1"].time >= 0.2
    evil = cases["evil"]
    [failure] = evil.result
    assert isinstance(failure, junitparser.Failure)
    assert failure.message.split("; ")[0] == "exit status 7"  # then the class, if any
    # the log tail, with the terminal escape written out (XML 1.0 cannot hold it)
    assert "<script>alert(1)</script> & \\x1b[31mred" in failure.text
    assert "last words" in failure.text
    [skipped] = cases["after"].result
    assert isinstance(skipped, junitparser.Skipped)


def test_junit_failure_type_is_the_class_and_the_command_is_named(
        lfsplugger: Lfsplugger) -> None:
    class Classifier:
        @lfsplug.hookimpl
        def lfsplug_classify_failure(self, result: ScriptResult) -> lfsplug.FailureClass:
            result.failed_command, result.failed_line = "make check", 3
            return lfsplug.FailureClass("test-suite", "see the test log", False, ("FAIL: t1",))

    _result, paths = run_with_reports(lfsplugger, "junit", "json", "html",
                                      plugins=[FakeMonitor(), Classifier()])
    import xml.etree.ElementTree as ET

    [failure] = ET.parse(paths["junit"]).getroot().iter("failure")
    assert failure.get("type") == "test-suite"
    assert failure.get("message") == "exit status 7; test-suite"
    assert (failure.text or "").startswith("failed command (line 3): make check\nlog: ")
    [evil] = [s for s in json.loads(paths["json"].read_text())["scripts"] if s["name"] == "evil"]
    assert (evil["failure_class"], evil["failed_command"], evil["failed_line"],
            evil["evidence"]) == ("test-suite", "make check", 3, ["FAIL: t1"])
    assert "failed command (line 3): <code>make check</code>" in paths["html"].read_text()


def test_junit_log_lines_follow_the_reports_section(lfsplugger: Lfsplugger) -> None:
    junitparser = pytest.importorskip("junitparser", reason="the junitparser package reads "
                                      "JUnit files (pip install junitparser)")
    lfsplugger.make_config("[reports]\nlog_lines = 2\n")
    _result, paths = run_with_reports(lfsplugger, "junit")
    evil = next(c for c in next(iter(junitparser.JUnitXml.fromfile(str(paths["junit"]))))
                if c.name == "evil")
    lines = evil.result[0].text.strip().splitlines()
    assert lines[0].startswith("log: ") and len(lines) == 3  # the path, then two log lines


@pytest.mark.parametrize(("toml", "message"), [
    ("[reports]\nlog_lines = -1\n", "lfsplug.toml:2: [[]reports] log_lines: expected a whole "
                                    "number from 0 up, got -1"),
    ("[reports]\nlog_line = 3\n", "lfsplug.toml:2: [[]reports] unknown key 'log_line' (did you "
                                  "mean log_lines?; known: log_lines)"),
])
def test_a_bad_reports_section_is_a_usage_error(lfsplugger: Lfsplugger, toml: str,
                                                message: str) -> None:
    lfsplugger.make_config(toml)
    lfsplugger.make_tree({"scripts/01-a.sh": "echo a"})
    result = lfsplugger.run(*RUN, "scripts")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"lfsplug: *{message}"])
    assert result.getcalls("lfsplug_script_start") == []


# -- trace -------------------------------------------------------------------------------------


def test_trace_loads_with_a_span_for_every_script_and_counters(lfsplugger: Lfsplugger) -> None:
    _result, paths = run_with_reports(lfsplugger, "trace")
    trace = json.loads(paths["trace"].read_text())
    events = trace["traceEvents"]
    spans = [e for e in events if e["ph"] == "X"]
    assert sorted(s["name"] for s in spans) == ["binutils-pass1", "evil", "gcc-pass1"]
    assert all(s["dur"] >= 0 and s["ts"] >= 0 for s in spans)
    counters = {e["name"] for e in events if e["ph"] == "C"}
    assert {"CPU (%)", "memory (%)"} <= counters
    names = {(e["name"], e["tid"]) for e in events if e["ph"] == "M"}
    assert ("process_name", 0) in names and ("thread_name", 1) in names
    alerts = [e for e in events if e["ph"] == "i"]
    assert [a["name"] for a in alerts] == ["disk warn"]


def test_parallel_scripts_go_on_separate_tracks(lfsplugger: Lfsplugger) -> None:
    tree = {f"scripts/0{i}-p{i}.sh": "sleep 0.3" for i in range(1, 6)}
    result, paths = run_with_reports(lfsplugger, "trace", "html", tree=tree,
                                     extra=("-j", "3", "--order", "graph"))
    assert result.ret == 0, result.errlines
    spans = [e for e in json.loads(paths["trace"].read_text())["traceEvents"] if e["ph"] == "X"]
    assert len(spans) == 5
    by_track: dict[int, list[tuple[float, float]]] = {}
    for span in spans:
        by_track.setdefault(span["tid"], []).append((span["ts"], span["ts"] + span["dur"]))
    assert len(by_track) == 3  # as many tracks as scripts ran at once
    for intervals in by_track.values():
        intervals.sort()
        assert all(a[1] <= b[0] for a, b in itertools.pairwise(intervals))
    assert len(parse_html(paths["html"]).rects) == 5


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 100), st.floats(0.01, 20)), max_size=40))
def test_slots_never_overlap_and_are_as_few_as_possible(pairs: list[tuple[float, float]]
                                                        ) -> None:
    items = [Span(f"s{i}", 1, start, start + length, "passed")
             for i, (start, length) in enumerate(pairs)]
    tracks = assign_slots(items)
    for a in items:
        for b in items:
            if a is not b and a.slot == b.slot:
                assert a.end <= b.start or b.end <= a.start
    # greedy colouring of intervals is optimal: as many tracks as spans open at one time
    most = max((sum(1 for b in items if b.start <= a.start < b.end) for a in items), default=0)
    assert tracks == most
    assert {a.slot for a in items} == set(range(tracks))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=5000), st.integers(2, 400))
def test_downsampling_is_bounded_and_keeps_the_extremes(values: list[float], limit: int
                                                        ) -> None:
    times = [float(i) for i in range(len(values))]
    kept_t, kept_v = downsample(times, values, limit)
    assert len(kept_t) <= max(limit, 2) and kept_t == sorted(kept_t)
    assert max(kept_v) == max(values) and min(kept_v) == min(values)
    assert all(values[int(t)] == v for t, v in zip(kept_t, kept_v, strict=True))


# -- json --------------------------------------------------------------------------------------


def test_json_report_holds_everything_the_database_knows(lfsplugger: Lfsplugger) -> None:
    _result, paths = run_with_reports(lfsplugger, "json")
    report = json.loads(paths["json"].read_text())
    assert report["format"] == "lfsplug-report" and report["version"] == 1
    assert report["source"] == "database"
    run = report["run"]
    assert run["id"] == 1 and run["exit_code"] == 1 and run["state"] == "finished"
    assert run["finished_ts"] >= run["started_ts"]
    assert report["summary"]["passed"] == 2 and report["summary"]["failed"] == 1
    scripts = {s["name"]: s for s in report["scripts"]}
    status_keys = {"name", "status", "exit_code", "duration_s", "attempts", "failure_class",
                   "log"}
    assert all(status_keys <= set(s) for s in scripts.values())
    assert scripts["evil"]["status"] == "failed" and scripts["evil"]["exit_code"] == 7
    assert scripts["after"]["status"] == "not-run" and scripts["after"]["attempts"] == 0
    gcc = scripts["gcc-pass1"]
    assert gcc["resources"]["disk"]["installed"] == 1201
    assert gcc["resources"]["peak"]["rss"] == 1e7  # the state plugin's sampled peak
    assert "utime" in gcc["resources"]  # the executor's exact totals
    assert gcc["reason"] == "never built" and gcc["phase"] == "cross"
    kinds = {e["kind"] for e in report["events"]}
    assert {"run-start", "script-output", "alert", "run-finish"} <= kinds
    assert [a["alert"] for a in report["alerts"]] == ["disk"]
    system = [s for s in report["samples"] if s["script"] is None]
    assert len(system) == 6 and all("disk_free:lfs" in s["values"] for s in system)
    assert [s["time"] for s in report["samples"]] == sorted(s["time"] for s in
                                                            report["samples"])
    [gcc_sample] = [s for s in report["samples"] if s["script"] == "gcc-pass1"]
    assert gcc_sample["values"] == {"rss": 1e7, "cpu_percent": 90.0}


def test_without_the_state_plugin_reports_come_from_the_session(
    lfsplugger: Lfsplugger,
) -> None:
    result, paths = run_with_reports(lfsplugger, "json", "html", extra=("-p", "no:state"))
    assert result.ret == 1
    report = json.loads(paths["json"].read_text())
    assert report["source"] == "session"
    assert [s["status"] for s in report["scripts"]] == ["passed", "passed", "failed",
                                                        "not-run"]
    assert len([s for s in report["samples"] if s["script"] is None]) == 6
    assert len(parse_html(paths["html"]).rects) == 3


def test_every_format_is_written_without_the_state_plugin(lfsplugger: Lfsplugger) -> None:
    formats = ("json", "junit", "html", "trace", "sbu")
    result, paths = run_with_reports(lfsplugger, *formats, extra=("-p", "no:state"))
    assert result.ret == 1
    assert all(paths[fmt].stat().st_size > 0 for fmt in formats)
    assert not (lfsplugger.path / "scripts" / ".lfsplug" / "state.db").exists()
    # what the session knows: phases and versions; attempts of this run only
    report = json.loads(paths["json"].read_text())
    assert [(s["phase"], s["version"]) for s in report["scripts"]][:2] == [
        ("cross", "2.44"), ("cross", "14.2.0")]
    assert "No state database recorded this run" in paths["html"].read_text()


def test_report_command_says_it_needs_the_state_plugin(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"scripts/01-a.sh": "echo a"})
    assert lfsplugger.run(*RUN, "scripts").ret == 0
    for args in (("report", "json", "--state-dir", "scripts/.lfsplug"),
                 ("report", "--import", "scripts/01-a.sh", "--state-dir", "scripts/.lfsplug")):
        result = lfsplugger.run("-p", "no:state", *args)
        assert result.ret == 4
        assert len(result.errlines) == 1, result.errlines
        result.stderr.fnmatch_lines(["lfsplug: lfsplug report* needs the state plugin*"
                                     "-p no:state*run --report writes*"])
    assert not (lfsplugger.path / "scripts" / ".lfsplug" / "reports").exists()


# -- lfsplug report ----------------------------------------------------------------------------


def test_report_command_writes_from_the_database_alone(lfsplugger: Lfsplugger) -> None:
    _result, paths = run_with_reports(lfsplugger, "json")
    during = json.loads(paths["json"].read_text())
    later = lfsplugger.run("report", "json:later.json", "--state-dir", "scripts/.lfsplug")
    assert later.ret == 0, later.errlines
    later.stderr.fnmatch_lines(["lfsplug: wrote the json report of run 1 to */later.json"])
    after = json.loads((lfsplugger.path / "later.json").read_text())
    # the same run, from the database: phases and versions are what a session alone knows
    for key in ("name", "status", "exit_code", "attempts", "resources", "log"):
        assert [s[key] for s in after["scripts"]] == [s[key] for s in during["scripts"]]
    assert after["run"]["exit_code"] == 1 and after["run"]["state"] == "finished"
    assert after["samples"] == during["samples"]


def test_report_command_default_path_and_run_number(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"scripts/01-a.sh": "echo a"})
    assert lfsplugger.run(*RUN, "scripts").ret == 0
    assert lfsplugger.run(*RUN, "scripts", "--force-all").ret == 0
    state = lfsplugger.path / "scripts" / ".lfsplug"
    for fmt, suffix in (("html", "html"), ("junit", "xml"), ("trace", "trace.json"),
                        ("sbu", "report"), ("json", "json")):
        result = lfsplugger.run("report", fmt, "--run", "1", "--state-dir", state)
        assert result.ret == 0, result.errlines
        assert (state / "reports" / f"run-1.{suffix}").is_file()
    result = lfsplugger.run("report", "json", "--state-dir", state)
    assert json.loads((state / "reports" / "run-2.json").read_text())["run"]["id"] == 2


@pytest.mark.parametrize(("args", "message"), [
    (("report", "pdf:x.pdf", "--state-dir", "s"), "lfsplug report pdf:x.pdf: unknown format "
                                                  "'pdf' (known: html, json, junit, sbu, "
                                                  "trace*"),
    (("report", "json", "--state-dir", "nowhere"), "no build recorded in */nowhere (no "
                                                   "state.db)*"),
    (("report", "json", "--state-dir", "s", "--run", "9"), "--run 9: no such run in */s "
                                                           "(runs 1 to 1 recorded)"),
    (("report", "json", "--state-dir", "s", "--run", "0"), "*--run*"),
])
def test_report_command_errors(lfsplugger: Lfsplugger, args: tuple[str, ...],
                               message: str) -> None:
    lfsplugger.make_tree({"scripts/01-a.sh": "echo a"})
    assert lfsplugger.run(*RUN, "scripts", "--state-dir", "s").ret == 0
    result = lfsplugger.run(*args)
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"lfsplug: {message}"])


def test_a_report_that_cannot_be_written_is_said_and_the_run_goes_on(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({"scripts/01-a.sh": "echo a", "blocker": ""})
    result = lfsplugger.run(*RUN, "scripts", "--report", "html:blocker/r.html")
    assert result.ret == 0
    result.stderr.fnmatch_lines(["lfsplug: cannot write the html report to */blocker/r.html*"])


# -- the jhalfs SBU report ---------------------------------------------------------------------


@needs_reports
@pytest.mark.parametrize("path", ALL_REPORTS, ids=[p.name[:14] for p in ALL_REPORTS])
def test_every_real_jhalfs_report_parses(path: Path) -> None:
    report = sbu.read_report(path)
    assert len(report.packages) in (119, 120)
    assert report.jobs == 3 and report.sbu_seconds in range(62, 80)
    assert report.book_version and report.book_version.startswith("r12.")
    assert report.settings["N_PARALLEL"] == "3" and report.cpu["CPU(s)"] == "4"
    assert report.memory_kib and report.memory_kib > 16_000_000
    first = report.packages[0]
    assert first.name == "binutils-pass1" and first.sbu == 1.0
    assert first.seconds == report.sbu_seconds
    # jhalfs' total is the sum of the rounded SBU of each package
    assert report.total_sbu == pytest.approx(sum(p.sbu or 0 for p in report.packages), abs=0.05)
    for package in report.packages:
        assert set(package.disk) == {"before", "after", "required", "installed"}
        assert package.sbu == round(package.seconds / report.sbu_seconds, 1)


@needs_reports
def test_figures_of_one_real_report_checked_by_hand() -> None:
    report = sbu.read_report(REPORTS / "r12.1-112-systemd-wip-SBU_DU-2024-08-01.report")
    assert report.date == "Thu Aug  1 20:42:54 UTC 2024"
    assert report.book_version == "r12.1-112-systemd-wip"
    assert (report.sbu_seconds, report.jobs) == (79.0, 3)
    assert report.cpu["Model name"] == "AMD EPYC 7763 64-Core Processor"
    assert report.memory_kib == 16364592
    assert len(report.packages) == 120
    gcc = report.packages[1]
    assert (gcc.title, gcc.name, gcc.version) == ("gcc-pass1-14.1.0", "gcc-pass1", "14.1.0")
    assert (gcc.seconds, gcc.sbu) == (966.0, 12.2)
    assert gcc.disk == {"before": 638480, "after": 5895672, "required": 5257192,
                        "installed": 1380184}
    kernel = report.packages[-1]
    assert (kernel.name, kernel.version, kernel.seconds, kernel.sbu) == (
        "kernel", "6.10.2", 795.0, 10.1)
    cleanup = next(p for p in report.packages if p.name == "cleanup")
    assert cleanup.version is None and cleanup.disk["installed"] == -1538004
    assert sum(1 for p in report.packages if p.name == "m4") == 2  # chapters 6 and 8
    assert (report.total_sbu, report.total_installed) == (119.3, 3086512.0)


@pytest.mark.parametrize(("title", "name", "version"), [
    ("binutils-pass1-2.42", "binutils-pass1", "2.42"),
    ("gcc-libstdc++-14.1.0", "gcc-libstdc++", "14.1.0"),
    ("ncurses-6.4-20230520", "ncurses", "6.4-20230520"),
    ("iana-etc-20240801", "iana-etc", "20240801"),
    ("Python-3.12.4", "Python", "3.12.4"),
    ("kmod-33", "kmod", "33"),
    ("m4-1.4.19", "m4", "1.4.19"),
    ("etcshells", "etcshells", None),
])
def test_split_name(title: str, name: str, version: str | None) -> None:
    assert sbu.split_name(title) == (name, version)


@given(st.from_regex(r"[a-z][a-z0-9+]{0,8}(-[a-z][a-z0-9+]{0,6}){0,3}", fullmatch=True),
       st.from_regex(r"[0-9]{1,4}(\.[0-9]{1,3}){0,3}", fullmatch=True))
def test_split_name_takes_the_version_off_any_package_name(name: str, version: str) -> None:
    assert sbu.split_name(f"{name}-{version}") == (name, version)
    assert sbu.split_name(name) == (name, None)


def test_written_sbu_report_parses_back_to_the_same_figures(lfsplugger: Lfsplugger) -> None:
    _result, paths = run_with_reports(lfsplugger, "sbu", "json")
    report = sbu.read_report(paths["sbu"])
    data = json.loads(paths["json"].read_text())
    built = [s for s in data["scripts"] if s["status"] == "passed"]
    assert [p.title for p in report.packages] == ["binutils-pass1-2.44", "gcc-pass1-14.2.0"]
    assert report.sbu_seconds == pytest.approx(0.2)  # from the monitor's sbu figures
    assert report.jobs is not None
    for package, script in zip(report.packages, built, strict=True):
        assert package.seconds == round(script["duration_s"])
        assert package.sbu == round(script["resources"]["sbu"], 1)
        assert package.disk == {k: float(v) for k, v in script["resources"]["disk"].items()}
    assert report.total_installed == sum(p.disk["installed"] for p in report.packages)
    assert report.total_sbu == pytest.approx(sum(p.sbu or 0 for p in report.packages))


def test_sbu_report_without_monitor_leaves_unknown_figures_out(lfsplugger: Lfsplugger) -> None:
    tree = {"scripts/01-a.sh": "# lfsplug: name=zlib version=1.3\necho a"}
    result, paths = run_with_reports(lfsplugger, "sbu", tree=tree, plugins=[])
    assert result.ret == 0
    text = paths["sbu"].read_text()
    assert "SBU" not in text.split("====")[-1]  # no SBU without binutils-pass1 or a monitor
    assert "Disk usage" not in text and "Approximate SBU" not in text
    report = sbu.read_report(paths["sbu"])
    assert report.sbu_seconds is None and report.total_installed is None
    [package] = report.packages
    assert (package.name, package.version, package.sbu, package.disk) == ("zlib", "1.3", None,
                                                                          {})


def synthetic(report: sbu.SbuReport) -> RunData:
    """A run built from a parsed jhalfs report: its packages as passed scripts."""
    start, clock = 1_700_000_000.0, 1_700_000_000.0
    scripts = []
    for i, package in enumerate(report.packages, 1):
        resources: dict[str, Any] = {"disk": dict(package.disk)}
        if package.sbu is not None:
            resources["sbu"] = package.sbu
        scripts.append(ScriptRecord(0, i, package.name, f"/s/{i}", "passed", started=clock,
                                    finished=clock + package.seconds, resources=resources,
                                    version=package.version))
        clock += package.seconds
    run = RunRecord(1, start, clock, 0, "finished", "lfsplug run", "0", "elsewhere")
    return RunData(run, scripts, [], [], jobs=report.jobs)


@needs_reports
@pytest.mark.parametrize("path", ALL_REPORTS, ids=[p.name[:14] for p in ALL_REPORTS])
def test_a_real_report_written_again_reads_the_same(path: Path) -> None:
    original = sbu.read_report(path)
    again = sbu.parse_report(sbu.render(synthetic(original)))
    assert again.jobs == original.jobs
    assert again.sbu_seconds == original.sbu_seconds  # binutils-pass1: 1.0 SBU
    for a, b in zip(original.packages, again.packages, strict=True):
        assert (a.title, a.seconds, a.sbu, a.disk) == (b.title, b.seconds, b.sbu, b.disk)
    assert again.total_sbu == original.total_sbu


@pytest.mark.parametrize(("text", "message"), [
    ("hello\nworld\n", "r.report: not a jhalfs SBU report*"),
    ("date\n\t[zlib-1.3]\nBuild time in seconds is:\tsoon\n",
     "r.report:3: cannot read 'Build time in seconds is:': 'soon'"),
    ("date\n\t[zlib-1.3]\nApproximate SBU time is:\t0.1\n",
     "r.report:2: package block [[]zlib-1.3] has no build time"),
    ("date\n\t[zlib-1.3]\nBuild time in seconds is:\t3\nTotal time required: lots\n",
     "r.report:4: cannot read the total*"),
])
def test_a_malformed_report_is_named_with_its_line(lfsplugger: Lfsplugger, text: str,
                                                   message: str) -> None:
    (lfsplugger.path / "r.report").write_text(text)
    result = lfsplugger.run("report", "--import", "r.report")
    assert result.ret == 4
    result.stderr.fnmatch_lines([f"lfsplug: *{message}"])
    with pytest.raises(UsageError):
        sbu.read_report(lfsplugger.path / "r.report")


# -- import ------------------------------------------------------------------------------------


@needs_reports
def test_import_puts_a_report_into_history(lfsplugger: Lfsplugger) -> None:
    path = REPORTS / "r12.1-112-systemd-wip-SBU_DU-2024-08-01.report"
    result = lfsplugger.run("report", "--import", path)
    assert result.ret == 0, result.errlines
    result.stderr.fnmatch_lines([f"lfsplug: imported 120 package builds from {path} (SBU 79 s "
                                 f"at -j3)"])
    state = StateDatabase(lfsplugger.path / ".lfsplug")
    try:
        history = state.history()
    finally:
        state.close()
    assert len(history) == 120
    gcc = history[1]
    assert (gcc.name, gcc.version, gcc.seconds, gcc.sbu, gcc.sbu_seconds, gcc.jobs) == (
        "gcc-pass1", "14.1.0", 966.0, 12.2, 79.0, 3)
    assert gcc.disk == {"before": 638480, "after": 5895672, "required": 5257192,
                        "installed": 1380184}
    # the source is the file's real path (the data folder may be reached through a link)
    assert gcc.source == f"jhalfs:{path.resolve()}" and gcc.position == 2
    # importing again replaces, never doubles
    assert lfsplugger.run("report", "--import", path).ret == 0
    with sqlite3.connect(lfsplugger.path / ".lfsplug" / "state.db") as conn:
        assert conn.execute("SELECT COUNT(*) FROM history").fetchone() == (120,)
        # imported history is not a build here: no run, no results
        assert conn.execute("SELECT COUNT(*) FROM results").fetchone() == (0,)


@needs_reports
def test_import_a_directory_of_reports(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("report", "--import", REPORTS, "--state-dir", "st")
    assert result.ret == 0, result.errlines
    assert len([line for line in result.errlines if "imported" in line]) == len(ALL_REPORTS)
    with sqlite3.connect(lfsplugger.path / "st" / "state.db") as conn:
        sources, rows = conn.execute("SELECT COUNT(DISTINCT source), COUNT(*) FROM history"
                                     ).fetchone()
    assert sources == len(ALL_REPORTS)
    assert rows == sum(len(sbu.read_report(p).packages) for p in ALL_REPORTS)


def test_import_errors(lfsplugger: Lfsplugger) -> None:
    (lfsplugger.path / "empty").mkdir()
    for args, message in ((("nothing.report",), "--import nothing.report: no such file"),
                          (("empty",), "--import empty: no *.report file in this directory"),
                          (("empty", "--run", "2"), "--run: a run is reported, not imported*")):
        result = lfsplugger.run("report", "--import", *args)
        assert result.ret == 4
        result.stderr.fnmatch_lines([f"lfsplug: {message}"])
    assert not (lfsplugger.path / ".lfsplug").exists()


# -- the record of a run -----------------------------------------------------------------------


def test_sbu_seconds_comes_from_the_monitor_else_binutils_pass1() -> None:
    run = RunRecord(1, 0.0, 100.0, 0, "finished", "lfsplug run", "0", "h")
    binutils = ScriptRecord(0, 1, "binutils-pass1", "/s/1", "passed", started=0.0, finished=40.0)
    other = ScriptRecord(0, 2, "gcc", "/s/2", "passed", started=40.0, finished=100.0)
    data = RunData(run, [binutils, other], [], [])
    assert data.sbu_seconds() == 40.0
    assert data.script_sbu(other, 40.0) == 1.5
    other.resources["sbu"] = 2.0  # the monitor's figure: 60 s is 2 SBU, so the SBU is 30 s
    data.scripts[0] = dataclasses.replace(binutils, status="failed")
    assert data.sbu_seconds() == 30.0
    progress = lfsplug.Progress(done=1, total=2, elapsed=50.0, sbu_seconds=33.0)
    data.events.append(StoredEvent(1, 50.0, "progress", 20, None, progress))
    assert data.sbu_seconds() == 33.0


def test_charts_are_thinned_to_the_point_limit() -> None:
    run = RunRecord(1, 0.0, 100_000.0, 0, "finished", "lfsplug run", "0", "h")
    samples = [(float(t), None, {"cpu_percent": 50 + 50 * math.sin(t / 500)})
               for t in range(100_000)]
    data = RunData(run, [], [], samples)
    [chart] = charts.line_charts(data)
    points = chart.lines[0].points.split()
    assert len(points) <= charts.MAX_POINTS
    assert chart.lines[0].peak == pytest.approx(100, abs=0.01)


def test_a_run_killed_midway_is_reported_as_crashed(lfsplugger: Lfsplugger) -> None:
    state = lfsplugger.path / "state"
    store = StateStore.open(state, create=True)
    try:
        run_id = store.begin_run(time.time() - 5, "lfsplug run s", "0.1.0", "here")
        scripts = [Script(name, lfsplugger.path / f"{name}.sh", lfsplugger.path)
                   for name in ("a", "b")]
        store.plan_run(run_id, scripts)
        store.script_started(run_id, scripts[0], attempt=1, log_path=state / "a.log",
                             keys=("x", "y"), reason="never built")
    finally:
        store.close()
    for fmt in ("json", "html", "trace", "junit", "sbu"):
        result = lfsplugger.run("report", f"{fmt}:out.{fmt}", "--state-dir", state)
        assert result.ret == 0, result.errlines
    report = json.loads((lfsplugger.path / "out.json").read_text())
    assert report["run"]["state"] == "crashed" and report["run"]["finished"] is None
    assert [(s["state"], s["status"]) for s in report["scripts"]] == [
        ("running", "not-run"), ("not-run", "not-run")]
    # the attempt that never ended is drawn up to the last thing known of the run
    assert [r["data-script"] for r in parse_html(lfsplugger.path / "out.html").rects] == ["a"]
    [span] = [e for e in json.loads((lfsplugger.path / "out.trace").read_text())["traceEvents"]
              if e["ph"] == "X"]
    assert span["name"] == "a" and span["dur"] >= 0


def test_json_samples_copied_from_the_database_read_as_if_encoded_again(
    lfsplugger: Lfsplugger,
) -> None:
    from lfsplug_reports.data import load_run
    from lfsplug_reports.formats import write_json

    _result, _paths = run_with_reports(lfsplugger, "json")
    state = StateDatabase(lfsplugger.path / "scripts" / ".lfsplug")
    try:
        data = load_run(state, state.run())
    finally:
        state.close()
    assert data.sample_texts is not None and len(data.sample_texts) == len(data.samples) == 9
    write_json(data, lfsplugger.path / "copied.json")
    data.sample_texts = None
    write_json(data, lfsplugger.path / "encoded.json")
    copied = json.loads((lfsplugger.path / "copied.json").read_text())
    assert copied == json.loads((lfsplugger.path / "encoded.json").read_text())
    assert copied["samples"][0]["script"] is None and copied["samples"][1]["script"] == (
        "binutils-pass1")


def test_reused_scripts_pass_without_running(lfsplugger: Lfsplugger) -> None:
    junitparser = pytest.importorskip("junitparser", reason="the junitparser package reads "
                                      "JUnit files (pip install junitparser)")
    tree = {"scripts/01-a.sh": "echo a", "scripts/02-b.sh": "echo b"}
    run_with_reports(lfsplugger, "json", tree=tree)
    result, paths = run_with_reports(lfsplugger, "junit", "html", "trace", "sbu", tree=tree)
    assert result.ret == 0
    cases = list(next(iter(junitparser.JUnitXml.fromfile(str(paths["junit"])))))
    assert [(c.name, c.is_passed, c.time, c.system_out) for c in cases] == [
        ("a", True, 0.0, "reused from run 1"), ("b", True, 0.0, "reused from run 1")]
    page = parse_html(paths["html"])
    assert page.rects == [] and "gantt" not in page.svgs
    assert "No script ran in this run" in "".join(page.text)
    assert [e for e in json.loads(paths["trace"].read_text())["traceEvents"]
            if e["ph"] == "X"] == []
    assert sbu.read_report(paths["sbu"]).packages == []  # nothing was built in this run


_PACKAGE = st.tuples(
    st.from_regex(r"[a-z][a-z0-9+]{0,8}(-[a-z][a-z0-9]{0,5}){0,2}", fullmatch=True),
    st.one_of(st.none(), st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,2}", fullmatch=True)),
    st.integers(0, 200_000),  # seconds
    st.one_of(st.none(), st.floats(0, 500).map(lambda v: round(v, 3))),  # the monitor's SBU
    st.dictionaries(st.sampled_from(["before", "after", "required", "installed"]),
                    st.integers(-10**7, 10**8)),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_PACKAGE, max_size=12), st.one_of(st.none(), st.integers(1, 64)))
@example(packages=[("a", None, 8000, 0.008, {})], jobs=None)  # an SBU of 10^6 s, not 1e+06
def test_any_written_sbu_report_reads_back(packages: list[Any], jobs: int | None) -> None:
    start = clock = 1_600_000_000.0
    scripts = []
    for i, (name, version, seconds, sbu_figure, disk) in enumerate(packages, 1):
        resources: dict[str, Any] = {"disk": disk}
        if sbu_figure is not None:
            resources["sbu"] = sbu_figure
        scripts.append(ScriptRecord(0, i, name, f"/s/{i}.sh", "passed", started=clock,
                                    finished=clock + seconds, resources=resources,
                                    version=version))
        clock += seconds
    run = RunRecord(7, start, clock, 0, "finished", "lfsplug run s", "0.1.0", "elsewhere")
    data = RunData(run, scripts, [], [], jobs=jobs)
    report = sbu.parse_report(sbu.render(data))
    assert report.book_version == "lfsplug run 7"
    unit = data.sbu_seconds()
    assert report.sbu_seconds == (sbu.shown_unit(unit) if unit else None)
    assert report.jobs == (jobs if unit else None)
    assert len(report.packages) == len(packages)
    for package, (name, version, seconds, _sbu, disk) in zip(report.packages, packages,
                                                            strict=True):
        assert (package.name, package.version) == (name, version)
        assert package.seconds == seconds and package.disk == disk
    # the SBU figure: the monitor's, else the duration over the unit as the report shows it
    assert [p.sbu for p in report.packages] == [
        None if (s := data.script_sbu(script, sbu.shown_unit(unit) if unit else None)) is None
        else round(s, 1) for script in scripts]


class Packages:
    """Says that the binutils script builds two packages (as a multi-package file's banners
    would), so that the records carry a list."""

    @lfsplug.hookimpl
    def lfsplug_collection_modifyscripts(self, scripts: list[Script]) -> None:
        for script in scripts:
            if script.name == "binutils-pass1":
                script.packages = ["binutils-pass1", "binutils-libs"]


def test_a_report_from_the_database_is_the_report_written_as_the_run_ended(
    lfsplugger: Lfsplugger,
) -> None:
    formats = ("json", "junit", "html", "trace", "sbu")
    _result, paths = run_with_reports(lfsplugger, *formats,
                                      plugins=[FakeMonitor(), Packages()])
    during = json.loads(paths["json"].read_text())
    scripts = {s["name"]: s for s in during["scripts"]}
    assert (scripts["gcc-pass1"]["phase"], scripts["gcc-pass1"]["version"]) == ("cross",
                                                                                "14.2.0")
    assert scripts["binutils-pass1"]["packages"] == ["binutils-pass1", "binutils-libs"]
    for fmt in formats:
        later = lfsplugger.path / "later" / paths[fmt].name
        result = lfsplugger.run("report", f"{fmt}:{later}", "--state-dir", "scripts/.lfsplug")
        assert result.ret == 0, result.errlines
        assert _steady(later) == _steady(paths[fmt]), f"the {fmt} reports differ"


def _steady(path: Path) -> list[str]:
    """A report's lines, but for the machine's memory in use as the sbu report was written."""
    return [line for line in path.read_text().splitlines()
            if not line.startswith(("Mem:", "Swap:"))]


# -- issue 15: disk figures of $LFS, the SBU hint, one time axis, progress ---------------------


def _block(text: str, title: str) -> dict[str, str]:
    """The lines of one package block of an SBU report, by label."""
    block = text[text.index(f"[{title}]"):].split("====", maxsplit=1)[0]
    return {line.split(":")[0]: line.split(":", 1)[1].strip()
            for line in block.splitlines() if ":" in line}


def test_disk_figures_are_the_size_of_lfs_not_of_its_file_system(
    lfsplugger: Lfsplugger,
) -> None:
    """`lfsplug run scripts --lfs lfs --report sbu:...`, $LFS a folder on the root file
    system: the figures are `du -skx` of $LFS (as jhalfs measures it), not the used space of
    the whole file system; a failed script shows what it left, never "installed"."""
    lfs = lfsplugger.path / "lfs"
    (lfs / "sources").mkdir(parents=True)
    lfsplugger.make_config("[monitor]\ndisk = []\n")
    lfsplugger.make_tree({
        "scripts/01-binutils.sh": "# lfsplug: name=binutils-pass1 version=2.44\n"
                                  "mkdir -p $LFS/tools\n"
                                  "head -c 2097152 /dev/zero > $LFS/tools/ld",
        "scripts/02-broken.sh": "# lfsplug: version=1.0\n"
                                "head -c 524288 /dev/zero > $LFS/sources/half-built\nexit 3",
    })
    out = lfsplugger.path / "out"
    result = lfsplugger.run("run", "--shellcheck", "off", "--host-check", "off", "-p",
                            "no:chroot", "--lfs", str(lfs), "scripts", "--sample-interval",
                            "0.1", "--report", f"sbu:{out}/r.report", "--report",
                            f"json:{out}/r.json", "--report", f"html:{out}/r.html")
    assert result.ret == 1, result.errlines
    text = (out / "r.report").read_text()
    block = _block(text, "binutils-pass1-2.44")
    before = int(block["Disk usage before unpacking the package"].split()[0])
    installed = int(block["Installed files disk usage"].split()[0])
    st = os.statvfs(lfs)
    fs_used_kib = (st.f_blocks - st.f_bfree) * st.f_frsize // 1024
    assert before < 256 < fs_used_kib  # an empty $LFS, not the whole file system
    assert 2048 <= installed < 2048 + 64  # the 2 MiB it wrote (and the tools folder)
    assert "[broken" not in text  # a failed script is no package built
    scripts = {s["name"]: s for s in json.loads((out / "r.json").read_text())["scripts"]}
    disk = scripts["broken"]["resources"]["disk"]
    assert "installed" not in disk and 512 <= disk["left"] < 512 + 64
    html = (out / "r.html").read_text()
    row = html[html.index('<tr data-script="broken">'):]
    cells = [c.split(">", 1)[1].split("</td", 1)[0] for c in row[:row.index("</tr>")]
             .split("<td")[1:]]
    assert cells[12] == "-"  # installed: nothing
    assert "left 0.5 MB more in $LFS than before it ran" in cells[14]


def test_the_report_says_how_to_set_the_sbu_where_it_is_unknown(
    lfsplugger: Lfsplugger,
) -> None:
    """No script is called binutils-pass1: the SBU report and the HTML say which settings
    give the SBU; `[monitor] sbu_script` names another script, and the SBU is back."""
    tree = {"scripts/01-binutils.sh": "# lfsplug: name=binutils version=2.44\nsleep 0.2"}
    _result, paths = run_with_reports(lfsplugger, "sbu", "html", tree=tree, plugins=[])
    text = paths["sbu"].read_text()
    hint = ("The SBU unit value is unknown: no script named binutils-pass1 passed in this "
            "build. Name the script that builds binutils pass 1 with [monitor] sbu_script = "
            '"NAME" in lfsplug.toml, or give this machine\'s SBU in seconds with run --sbu '
            "SECONDS ([monitor] sbu = SECONDS).")
    assert hint in text.splitlines()
    assert sbu.read_report(paths["sbu"]).packages[0].name == "binutils"  # still parses
    html = paths["html"].read_text()
    assert '<td id="sbu">unknown: no script named binutils-pass1 passed' in html
    assert "[monitor] sbu_script = &#34;NAME&#34;" in html

    lfsplugger.make_config('[monitor]\nsbu_script = "binutils"\n')
    tree = {"scripts/01-binutils.sh": tree["scripts/01-binutils.sh"] + "\necho again"}
    _result, paths = run_with_reports(lfsplugger, "sbu", tree=tree, plugins=[])
    text = paths["sbu"].read_text()
    assert "unknown" not in text and "Approximate SBU time is:\t\t\t\t1.0" in text


def _svg_geometry(html: str) -> dict[str, tuple[str, str, list[str]]]:
    """Each chart's plot area (x, width) and its time ticks' x positions."""
    found = {}
    for part in html.split("<svg ")[1:]:
        svg_id = part.split('id="', 1)[1].split('"', 1)[0]
        body = part.split("</svg>", 1)[0]
        plot = body.split('<rect class="plot" ', 1)[1].split("/>", 1)[0]
        attrs = dict(a.split("=", 1) for a in plot.split())
        ticks = [t.split('"', 1)[0] for t in body.split('<text x="')[1:]
                 if 'text-anchor="middle"' in t.split(">", 1)[0]]
        found[svg_id] = (attrs["x"], attrs["width"], ticks)
    return found


def test_every_chart_shares_one_time_axis_with_human_legends_and_round_ticks(
    lfsplugger: Lfsplugger,
) -> None:
    tree = {**TREE, "scripts/01-binutils.sh": "# lfsplug: name=binutils-pass1-with-a-long-"
                                              "name version=2.44 phase=cross\nsleep 0.2"}
    _result, paths = run_with_reports(lfsplugger, "html", tree=tree)
    html = paths["html"].read_text()
    geometry = _svg_geometry(html)
    assert {"gantt", "chart-cpu", "chart-memory", "chart-disk"} <= set(geometry)
    # one left edge (room for the long script name), one width, the same time ticks
    assert len({(x, w, tuple(t)) for x, w, t in geometry.values()}) == 1, geometry
    assert float(geometry["gantt"][0].strip('"')) > charts.MIN_LEFT
    page = parse_html(paths["html"])
    text = "".join(page.text)
    for legend in ("CPU %: peak", "memory %: peak", "swap %: peak", "$LFS: peak",
                   "sources: peak"):
        assert legend in text
    assert "cpu_percent:" not in text and "mem_percent:" not in text
    # value ticks: round steps (CPU 0/20/.../100; disk free peaks at 80 GiB: 0/20/.../80)
    cpu = html.split('id="chart-cpu"', 1)[1].split("</svg>", 1)[0]
    disk = html.split('id="chart-disk"', 1)[1].split("</svg>", 1)[0]
    assert _yticks(cpu) == ["0", "20", "40", "60", "80", "100"]
    assert _yticks(disk) == ["0", "20", "40", "60", "80"]


def _yticks(svg: str) -> list[str]:
    return [t.split(">", 1)[1].split("<", 1)[0] for t in svg.split("<text ")[1:]
            if 'text-anchor="end"' in t.split(">", 1)[0]]


@given(st.floats(min_value=1e-3, max_value=1e7))
def test_value_axes_have_round_steps_and_hold_the_peak(peak: float) -> None:
    top, step = charts.value_axis(peak)
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 5)
    assert peak <= top + 1e-9 and top - step < peak and 3 <= round(top / step) <= 5


@pytest.mark.parametrize("duration, labels", [
    (50.0, ["0", "10 s", "20 s", "30 s", "40 s", "50 s"]),
    (1.3, ["0", "0.2 s", "0.4 s", "0.6 s", "0.8 s", "1 s", "1.2 s"]),
    (5400.0, ["0", "15 min", "30 min", "45 min", "1 h", "1 h 15 min", "1 h 30 min"]),
])
def test_time_ticks_are_round(duration: float, labels: list[str]) -> None:
    assert [t.label for t in charts.time_ticks(duration, 0.0)] == labels


def test_slow_report_generation_says_so_on_stderr(lfsplugger: Lfsplugger,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """`lfsplug report html` of a big run takes seconds: after one it says what it does (here
    the threshold is 0 s); a quick report says nothing more than that it wrote the file."""
    from lfsplug_reports import slow

    run_with_reports(lfsplugger, "json")
    result = lfsplugger.run("report", "html:r.html", "--state-dir", "scripts/.lfsplug")
    assert result.ret == 0
    assert not [line for line in result.errlines if " ..." in line or "done in" in line]
    monkeypatch.setattr(slow, "AFTER", 0.0)
    result = lfsplugger.run("report", "html:r.html", "--state-dir", "scripts/.lfsplug")
    assert result.ret == 0, result.errlines
    result.stderr.fnmatch_lines(["lfsplug: reading run 1 from the state database ...",
                                 "lfsplug: reading run 1 from the state database: done in *s",
                                 "lfsplug: writing the html report to *r.html ...",
                                 "lfsplug: writing the html report to *r.html: done in *s"])


def test_the_size_of_lfs_is_measured_as_jhalfs_runs_du(tmp_path: Path) -> None:
    """`du -skx --exclude=lost+found --exclude=var/lib` of $LFS, the state directory left out;
    the walk used without GNU du adds up the same blocks."""
    from lfsplug_monitor.sampler import _walk_kib, tree_kib

    lfs = tmp_path / "lfs"
    for folder in ("tools", "lost+found", "var/lib", "var/log", "state"):
        (lfs / folder).mkdir(parents=True)
    (lfs / "tools" / "ld").write_bytes(b"\1" * 300_000)
    os.link(lfs / "tools" / "ld", lfs / "tools" / "ld.bfd")  # one file, counted once
    for skipped in ("lost+found/x", "var/lib/x", "state/state.db"):
        (lfs / skipped).write_bytes(b"\1" * 1_000_000)
    size = tree_kib(lfs, [lfs / "state"])
    assert size is not None and 293 <= size < 293 + 64
    assert _walk_kib(lfs, {str(lfs / "state")}, float("inf")) == size


def test_a_slow_measure_of_lfs_is_the_last_one_and_says_so(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A `du` of $LFS over its time budget (10 s; here 0 s): a WARN alert says no more disk
    figures are measured in this build, and none are written (rather than a wrong one)."""
    from lfsplug_monitor import monitor

    monkeypatch.setattr(monitor, "DU_BUDGET", 0.0)
    lfs = lfsplugger.path / "lfs"
    lfs.mkdir()
    lfsplugger.make_config("[monitor]\ndisk = []\n")
    lfsplugger.make_tree({"scripts/01-a.sh": "true", "scripts/02-b.sh": "true"})
    out = lfsplugger.path / "r.json"
    result = lfsplugger.run("run", "--shellcheck", "off", "--host-check", "off", "-p",
                            "no:chroot", "--lfs", str(lfs), "scripts", "--report",
                            f"json:{out}")
    assert result.ret == 0, result.errlines
    report = json.loads(out.read_text())
    assert [(a["level"], a["message"]) for a in report["alerts"]] == [
        ("warn", f"disk: measuring the size of {lfs} took over 0 s: no more disk figures in "
                 f"this build")]
    assert all("disk" not in s["resources"] for s in report["scripts"])
