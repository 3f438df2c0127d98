"""A build's labels (``config.labels``, set by plugins as they are configured): recorded with the
run, carried by the ``run-start`` event, every report and the terminal, and the ``target``
label keeping the history of durations (and resume) apart per target."""

from __future__ import annotations

import io
import json
import sqlite3
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

import lfsplug
from lfsplug import Config, Plan, Script
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_state.schema import MIGRATIONS
from lfsplug_state.service import StateDatabase
from lfsplug_state.store import StateStore
from lfsplug_terminal.board import Board
from lfsplug_terminal.render import render

RUN = ("run", "--shellcheck", "off", "--host-check", "off", "-p", "no:chroot")
TARGET = "aarch64-lfs-linux-gnu"
LABELS = {"target": TARGET, "host": "x86_64-linux-gnu"}
#: a script whose duration the test sets (``delay``, beside the tree)
TREE = {"scripts/01-slow.sh": "sleep \"$(cat ../delay)\"", "delay.txt": "0"}


class Labeller:
    """What a plugin that knows what the build is for does."""

    def __init__(self, **labels: str) -> None:
        self.labels = labels

    @lfsplug.hookimpl
    def lfsplug_configure(self, config: Config) -> None:
        config.labels.update(self.labels)


def build(lfsplugger: Lfsplugger, *args: str, labels: dict[str, str] | None = None,
          delay: float = 0.0) -> RunResult:
    (lfsplugger.path / "delay").write_text(f"{delay}\n", encoding="utf-8")
    plugins = [Labeller(**labels)] if labels is not None else []
    result = lfsplugger.run(*RUN, "scripts", *args, plugins=plugins)
    assert result.ret == 0, result.errlines
    return result


def status_json(lfsplugger: Lfsplugger) -> dict[str, Any]:
    result = lfsplugger.run("status", "--json")
    assert result.ret == 0, result.errlines
    data: dict[str, Any] = json.loads("\n".join(result.outlines))
    return data


# -- state -------------------------------------------------------------------------------------


def test_status_shows_the_runs_labels(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    build(lfsplugger, labels=LABELS)
    run = status_json(lfsplugger)["run"]
    assert run["labels"] == LABELS
    assert {"id", "started", "finished", "exit_code", "state"} <= set(run)
    text = lfsplugger.run("status")
    assert text.ret == 0
    assert text.outlines[0].startswith("run 1, started ")
    assert f"target {TARGET}" in text.outlines[0] and "host x86_64-linux-gnu" in text.outlines[0]


def test_a_run_without_labels_has_none(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    result = build(lfsplugger)
    assert not any(line.startswith("target:") for line in result.outlines)  # the terminal
    assert status_json(lfsplugger)["run"]["labels"] == {}
    assert "target" not in lfsplugger.run("status").outlines[0]


# -- reports and the run-start event -----------------------------------------------------------


def reports(lfsplugger: Lfsplugger, *formats: str) -> dict[str, Path]:
    paths = {fmt: lfsplugger.path / "out" / f"report.{fmt}" for fmt in formats}
    args = [a for fmt, path in paths.items() for a in ("--report", f"{fmt}:{path}")]
    lfsplugger.make_tree(TREE)
    build(lfsplugger, *args, labels=LABELS)
    return paths


def check_json(path: Path) -> None:
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["labels"] == LABELS and report["target"] == TARGET
    [start] = [e for e in report["events"] if e["kind"] == "run-start"]
    assert start["payload"] == {"total": 1, "labels": LABELS}


def check_junit(path: Path) -> None:
    suite = ET.parse(path).getroot().find("testsuite")
    assert suite is not None
    properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert properties["target"] == TARGET and properties["host"] == "x86_64-linux-gnu"
    assert "command_line" in properties  # the run's own properties stay


def check_html(path: Path) -> None:
    page = path.read_text(encoding="utf-8")
    assert f"<h1>lfsplug run 1, target {TARGET}</h1>" in page
    assert f'id="labels">target: {TARGET}, host: x86_64-linux-gnu</td>' in page


def check_trace(path: Path) -> None:
    trace = json.loads(path.read_text(encoding="utf-8"))
    assert trace["otherData"]["labels"] == LABELS and trace["otherData"]["target"] == TARGET
    assert trace["otherData"]["host"] != "x86_64-linux-gnu"  # the machine, not the label
    [name] = [e for e in trace["traceEvents"] if e["name"] == "process_name"]
    assert TARGET in name["args"]["name"]


def check_sbu(path: Path) -> None:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert f"Book version is:\tlfsplug run 1, target {TARGET}" in lines
    assert f"LABELS \t<target={TARGET}, host=x86_64-linux-gnu>" in lines


CHECKS = {"json": check_json, "junit": check_junit, "html": check_html, "trace": check_trace,
          "sbu": check_sbu}


def test_every_report_carries_the_labels(lfsplugger: Lfsplugger) -> None:
    paths = reports(lfsplugger, *CHECKS)
    for fmt, path in paths.items():
        CHECKS[fmt](path)


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_a_report_written_later_reads_the_labels_of_the_stored_run(
        lfsplugger: Lfsplugger, fmt: str) -> None:
    reports(lfsplugger)
    path = lfsplugger.path / f"later.{fmt}"
    result = lfsplugger.run("report", f"{fmt}:{path}")  # no plugin sets labels now
    assert result.ret == 0, result.errlines
    CHECKS[fmt](path)


def test_a_report_of_a_run_without_labels_has_no_target(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    path = lfsplugger.path / "report.json"
    build(lfsplugger, "--report", f"json:{path}")
    report = json.loads(path.read_text(encoding="utf-8"))
    assert report["labels"] == {} and "target" not in report


# -- history per target ------------------------------------------------------------------------


def expected(lfsplugger: Lfsplugger, labels: dict[str, str] | None) -> float | None:
    plugins = [Labeller(**labels)] if labels is not None else []
    result = lfsplugger.run("list", "scripts", "--json", plugins=plugins)
    assert result.ret == 0, result.errlines
    [script] = json.loads("\n".join(result.outlines))["scripts"]
    value: float | None = script["expected_s"]
    return value


def test_durations_count_only_for_runs_of_the_same_target(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    a, b = {"target": "a-lfs-linux-gnu"}, {"target": "b-lfs-linux-gnu"}
    build(lfsplugger, labels=a, delay=0.6)
    build(lfsplugger, "--force-all", labels=a, delay=0.6)
    assert expected(lfsplugger, b) is None  # never built for b: a's times say nothing of it
    assert expected(lfsplugger, None) is None  # nor for a build without a target
    found = expected(lfsplugger, a)
    assert found is not None and found >= 0.5
    build(lfsplugger, labels=b, delay=0.0)
    found_b = expected(lfsplugger, b)
    assert found_b is not None and found_b < 0.4  # b's own pass, not a's
    found = expected(lfsplugger, a)
    assert found is not None and found >= 0.5  # a's again, b's faster pass left out


def test_runs_recorded_before_labels_count_as_no_target(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (5)")
    for version in (1, 2, 3, 4, 5):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("INSERT INTO runs (started, finished, exit_code, state, command_line, version, "
                 "host, pid, total) VALUES (1.0, 9.0, 0, 'finished', 'lfsplug run', '0', 'h', 1,"
                 " 1)")
    conn.execute("INSERT INTO results (run_id, position, name, path, status, attempts, started,"
                 " finished, exit_code) VALUES (1, 1, 'a', '/s/a.sh', 'passed', 1, 1.0, 8.0, 0)")
    conn.commit()
    conn.close()
    store = StateStore.open(tmp_path, create=False)  # migrated to the labels' version
    try:
        assert store.recent_durations(5) == {"a": [7.0]}
        assert store.recent_durations(5, TARGET) == {}
    finally:
        store.close()
    for labels, found in (({}, True), ({"target": TARGET}, False), ({"host": "x"}, True)):
        service = StateDatabase(tmp_path, labels=labels)
        try:
            assert service.run().labels == {}
            assert (service.last_pass("a") is not None) is found, labels
        finally:
            service.close()


def test_a_last_pass_is_of_the_same_target_but_the_sbu_is_the_hosts(
        lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    build(lfsplugger, labels={"target": "a"})
    state_dir = lfsplugger.path / "scripts" / ".lfsplug"
    for labels, found in (({"target": "a"}, True), ({"target": "b"}, False), ({}, False)):
        service = StateDatabase(state_dir, labels=labels)
        try:
            last = service.last_pass("slow")
            assert (last is not None) is found, labels
            # the SBU script's time is the machine's, whatever the build was for
            assert service.last_pass("slow", any_target=True) is not None
        finally:
            service.close()


def test_a_pass_for_one_target_is_not_reused_for_another(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    build(lfsplugger, labels={"target": "a"})
    again = build(lfsplugger, labels={"target": "a"})
    assert again.results["slow"].cached
    other = build(lfsplugger, labels={"target": "b"})
    assert not other.results["slow"].cached
    [script] = status_json(lfsplugger)["scripts"]
    assert not script["cached"]
    none = build(lfsplugger)  # and a build without a target reuses neither
    assert not none.results["slow"].cached


# -- the terminal ------------------------------------------------------------------------------


def test_the_header_and_the_summary_say_the_labels(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    result = build(lfsplugger, labels=LABELS)
    shown = f"target: {TARGET}, host: x86_64-linux-gnu"
    assert result.outlines.count(shown) == 2, result.outlines
    assert result.outlines.index(shown) < 3  # in the header, before the scripts
    assert result.outlines[-2] == shown and result.outlines[-1].startswith("====")


def test_the_dashboards_title_line_says_the_labels() -> None:
    board = Board(started=1000.0)
    board.begin(Plan([Script("a", Path("/s/a.sh"), Path("/s"))]))
    board.labels = f"target: {TARGET}"
    console = Console(record=True, width=120, height=20, file=io.StringIO())
    console.print(render(board.view(now=1005.0), height=20, width=120))
    first = console.export_text().splitlines()[0]
    assert first.rstrip().endswith(f"elapsed 5.0 s  target: {TARGET}"), first
