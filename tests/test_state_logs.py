"""Logs kept per run and per attempt (issue 13): ``logs/RUN/NAME[.N].log``, the links to the
newest, ``lfsplug log NAME --run N --attempt K [--path]``, the logs of pruned runs going with
them, and schema version 5 (where a script failed, per result and per attempt)."""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

import lfsplug
from lfsplug import FailureClass, Recovery, ScriptResult
from lfsplug.testing import Lfsplugger
from lfsplug_state.schema import MIGRATIONS, SCHEMA_VERSION
from lfsplug_state.service import StateDatabase
from lfsplug_state.store import StateStore

#: `run` without what these tests do not need; the tests classify and retry themselves
RUN = ("run", "--shellcheck", "off", "-p", "no:monitor", "-p", "no:recovery")


def state(lfsplugger: Lfsplugger) -> Path:
    return lfsplugger.path / ".lfsplug"


def rows(lfsplugger: Lfsplugger, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{state(lfsplugger) / 'state.db'}?mode=ro", uri=True)
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


class WhereItFailed:
    """Classifies every failure as a compile error at line 2, and retries it once."""

    @lfsplug.hookimpl
    def lfsplug_classify_failure(self, result: ScriptResult) -> FailureClass:
        result.failed_command = f"make -j{result.attempts}"
        result.failed_line, result.failed_step = 2, "make"
        return FailureClass("compile-error", "cc1 failed",
                            evidence=(f"error: attempt {result.attempts}",))

    @lfsplug.hookimpl
    def lfsplug_recover(self, result: ScriptResult) -> Recovery | None:
        return Recovery("retry", "once more") if result.attempts < 2 else None


def test_a_fix_and_a_rerun_keep_the_log_of_the_failure(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo the first failure; exit 3"})
    assert lfsplugger.run(*RUN).ret == 1
    lfsplugger.make_tree({"02-b.sh": "echo fixed"})
    second = lfsplugger.run(*RUN)
    assert second.ret == 0
    logs = state(lfsplugger) / "logs"
    assert "the first failure" in (logs / "1" / "b.log").read_text()
    assert (logs / "2" / "b.log").read_text().startswith("fixed\n")
    assert second.results["b"].log_path == logs / "2" / "b.log"
    # the stable names reach the newest: a script's newest log, and the newest log of all
    assert os.readlink(logs / "b.log") == "2/b.log"
    assert os.readlink(logs / "a.log") == "1/a.log"  # reused in run 2: run 1's is its newest
    assert (logs / "latest").resolve() == (logs / "2" / "b.log").resolve()
    # lfsplug log: the newest by default, any run on request, or only the path
    assert lfsplugger.run("log", "b").outlines[0] == "fixed"
    first = lfsplugger.run("log", "b", "--run", "1")
    assert (first.ret, first.outlines[0]) == (0, "the first failure")
    path = lfsplugger.run("log", "b", "--run", "1", "--path")
    assert (path.ret, path.outlines) == (0, [str(logs / "1" / "b.log")])


def test_each_attempt_keeps_its_log_and_log_picks_one(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-b.sh": "echo try $((++n)) of b; exit 1"})
    assert lfsplugger.run(*RUN, plugins=[WhereItFailed()]).ret == 1
    top = state(lfsplugger) / "logs"
    logs = top / "1"
    assert sorted(p.name for p in logs.iterdir()) == ["b.2.log", "b.log", "latest"]
    # logs/NAME[.N].log: the logs of the last run that ran NAME, as before there were runs
    assert (os.readlink(top / "b.log"), os.readlink(top / "b.2.log")) == ("1/b.log", "1/b.2.log")
    assert lfsplugger.run("log", "b", "--path").outlines == [str(logs / "b.2.log")]
    assert lfsplugger.run("log", "b", "--attempt", "1", "--run", "1",
                          "--path").outlines == [str(logs / "b.log")]
    # a run that needs one attempt drops the link to an earlier run's second
    lfsplugger.make_tree({"01-b.sh": "echo fixed"})
    assert lfsplugger.run(*RUN).ret == 0
    assert os.readlink(top / "b.log") == "2/b.log" and not os.path.lexists(top / "b.2.log")
    assert (logs / "b.2.log").is_file()


def test_log_says_in_one_line_what_is_not_there(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    assert lfsplugger.run(*RUN).ret == 0
    assert lfsplugger.run(*RUN, "--force", "b").ret == 0  # run 2 reuses a
    where = state(lfsplugger)
    for args, said in [
        (("--run", "7"), f"--run 7: no such run in {where} (runs 1 to 2 recorded)"),
        (("--run", "2"), "a was reused in run 2, not run: it has no log there; "
                         "lfsplug log a --run 1"),
        (("--attempt", "2"), "a ran 1 attempt(s) in run 1: there is no attempt 2"),
        (("--run", "0"), "'--run': expected a whole number from 1 up, got '0'"),
    ]:
        result = lfsplugger.run("log", "a", *args)
        assert result.ret == 4, args
        assert len(result.errlines) == 1, result.errlines
        assert said in result.errlines[0], (said, result.errlines)
    unknown = lfsplugger.run("log", "bb", "--run", "2")
    assert (unknown.ret, unknown.errlines) == (4, [
        f"lfsplug: no script named 'bb' in run 2 recorded in {where}; did you mean 'b'?"])


def test_log_run_works_without_the_reports_plugin(lfsplugger: Lfsplugger) -> None:
    # the reports plugin declares --run for report; without it, the state plugin declares it
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    assert lfsplugger.run(*RUN).ret == 0
    result = lfsplugger.run("log", "a", "--run", "1", "-p", "no:reports")
    assert (result.ret, result.outlines[0]) == (0, "a")


def test_without_the_state_plugin_no_run_overwrites_another(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo $RANDOM$RANDOM"})
    assert lfsplugger.run(*RUN, "-p", "no:state").ret == 0
    assert lfsplugger.run(*RUN, "-p", "no:state").ret == 0
    logs = state(lfsplugger) / "logs"
    folders = sorted(p for p in logs.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(folders) == 2  # each run's start, to the microsecond
    texts = [(f / "a.log").read_text() for f in folders]
    assert texts[0] != texts[1]
    assert (logs / "a.log").read_text() == texts[1] == (logs / "latest").read_text()
    # a dry run writes no log and moves no link
    assert lfsplugger.run(*RUN, "--dry-run", "-p", "no:state").ret == 0
    assert len([p for p in logs.iterdir() if p.is_dir() and not p.is_symlink()]) == 2


def test_a_log_of_the_old_layout_is_left_alone(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo new"})
    logs = state(lfsplugger) / "logs"
    logs.mkdir(parents=True)
    (logs / "a.log").write_text("a log of an older lfsplug\n")
    assert lfsplugger.run(*RUN).ret == 0
    assert (logs / "a.log").read_text() == "a log of an older lfsplug\n"
    assert (logs / "1" / "a.log").read_text().startswith("new\n")


def test_a_state_db_moved_away_does_not_reuse_the_folder_of_its_runs(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo $RANDOM$RANDOM"})
    assert lfsplugger.run(*RUN).ret == 0
    first = (state(lfsplugger) / "logs" / "1" / "a.log").read_text()
    (state(lfsplugger) / "state.db").rename(lfsplugger.path / "old.db")
    again = lfsplugger.run(*RUN)  # run 1 again, for a new database
    assert again.ret == 0
    assert (state(lfsplugger) / "logs" / "1" / "a.log").read_text() == first
    assert again.results["a"].log_path == state(lfsplugger) / "logs" / "1.2" / "a.log"


def test_pruned_runs_take_their_logs_with_them(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    lfsplugger.make_config("[state]\nkeep_runs = 2\n")
    for _ in range(4):
        assert lfsplugger.run(*RUN, "--force-all").ret == 0
    logs = state(lfsplugger) / "logs"
    assert sorted(p.name for p in logs.iterdir()) == ["3", "4", "a.log", "b.log", "latest"]
    assert sorted(p.name for p in (logs / "4").iterdir()) == ["a.log", "b.log", "latest"]
    assert (logs / "a.log").resolve() == (logs / "4" / "a.log").resolve()


def test_a_log_another_run_still_points_to_is_kept(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    for _ in range(3):
        assert lfsplugger.run(*RUN, "--force-all").ret == 0
    logs = state(lfsplugger) / "logs"
    shared = logs / "old-layout-a.log"  # an older lfsplug wrote every run's log to one path
    shared.write_text("a\n")
    db = sqlite3.connect(state(lfsplugger) / "state.db")
    db.execute("UPDATE results SET log_path = ?", (str(shared),))
    db.execute("UPDATE attempts SET log_path = ?", (str(shared),))
    db.commit()
    db.close()
    store = StateStore.open(state(lfsplugger), create=False)
    try:
        from lfsplug_state.retention import Policy

        pruned = store.prune(Policy(keep_runs=2))
    finally:
        store.close()
    assert pruned.deleted == [1]
    assert pruned.logs_removed == 0 and shared.is_file()
    # a path outside the state directory's logs is never removed
    outside = lfsplugger.path / "not-a-log.txt"
    outside.write_text("keep me\n")
    db = sqlite3.connect(state(lfsplugger) / "state.db")
    db.execute("UPDATE results SET log_path = ? WHERE run_id = 2", (str(outside),))
    db.execute("UPDATE attempts SET log_path = ? WHERE result_id IN "
               "(SELECT id FROM results WHERE run_id = 2)", (str(outside),))
    db.commit()
    db.close()
    store = StateStore.open(state(lfsplugger), create=False)
    try:
        assert store.prune(Policy(keep_runs=1)).deleted == [2]
    finally:
        store.close()
    assert outside.read_text() == "keep me\n"


def test_where_it_failed_is_recorded_per_result_and_per_attempt(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo failing; exit 2"})
    assert lfsplugger.run(*RUN, plugins=[WhereItFailed()]).ret == 1
    data = json.loads("\n".join(lfsplugger.run("status", "--json").outlines))
    a, b = data["scripts"]
    assert (a["failure_class"], a["failed_command"], a["failed_line"], a["evidence"]) == (
        None, None, None, [])
    assert (b["status"], b["attempts"], b["failure_class"], b["failed_command"],
            b["failed_line"], b["failed_step"], b["evidence"]) == (
        "failed", 2, "compile-error", "make -j2", 2, "make", ["error: attempt 2"])
    logs = state(lfsplugger) / "logs" / "1"
    assert b["tries"] == [
        {"attempt": 1, "log": str(logs / "b.log"), "exit_code": 2, "signal": None,
         "failure_class": "compile-error", "failed_command": "make -j1", "failed_line": 2,
         "failed_step": "make"},
        {"attempt": 2, "log": str(logs / "b.2.log"), "exit_code": 2, "signal": None,
         "failure_class": "compile-error", "failed_command": "make -j2", "failed_line": 2,
         "failed_step": "make"}]
    assert rows(lfsplugger, "SELECT attempt, a.evidence FROM attempts a JOIN results r ON "
                            "r.id = a.result_id WHERE r.name = 'b' ORDER BY attempt") == [
        (1, '["error: attempt 1"]'), (2, '["error: attempt 2"]')]
    text = lfsplugger.run("status").outlines
    assert any("compile-error; line 2: make -j2; log: " in line for line in text), text
    # the service gives them to other plugins
    service = StateDatabase(state(lfsplugger))
    try:
        stored = service.results(1)[1]
    finally:
        service.close()
    assert (stored.failed_command, stored.failed_line, stored.failed_step, stored.evidence) == (
        "make -j2", 2, "make", ("error: attempt 2",))


def test_a_version_4_database_gains_where_it_failed(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (4)")
    for version in (1, 2, 3, 4):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("INSERT INTO runs (started, finished, exit_code, state, command_line, version, "
                 "host, pid, total) VALUES (1.0, 2.0, 1, 'finished', 'lfsplug run', '0', 'h', 1,"
                 " 1)")
    conn.execute("INSERT INTO results (run_id, position, name, path, status, attempts, started,"
                 " finished, exit_code, log_path) VALUES (1, 1, 'a', '/s/a.sh', 'failed', 1, "
                 "1.0, 1.5, 2, '/s/.lfsplug/logs/a.log')")
    conn.execute("INSERT INTO attempts (result_id, attempt, started, log_path) "
                 "VALUES (1, 1, 1.0, '/s/.lfsplug/logs/a.log')")
    conn.commit()
    conn.close()
    assert SCHEMA_VERSION >= 5
    service = StateDatabase(tmp_path)
    try:
        [result] = service.results(service.run().id)
    finally:
        service.close()
    assert (result.failed_command, result.failed_line, result.failed_step, result.evidence,
            result.log_path) == (None, None, None, (), "/s/.lfsplug/logs/a.log")
    store = StateStore.open(tmp_path, create=False)
    try:
        assert store.query("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        assert store.query("SELECT finished, exit_code, failed_line, evidence FROM attempts") == [
            (None, None, None, None)]
    finally:
        store.close()
