"""The state plugin's retention policy (keep the last N runs or D days), ``status --prune``,
and schema version 3 (``runs.metrics``)."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from lfsplug.testing import Lfsplugger
from lfsplug_state.retention import Policy
from lfsplug_state.schema import MIGRATIONS, SCHEMA_VERSION
from lfsplug_state.store import StateStore

#: `run` without what these tests do not need: shellcheck (slow) and the monitor's thread
RUN = ("run", "--shellcheck", "off", "-p", "no:monitor")
TABLES = ("results", "events", "samples")


def rows(lfsplugger: Lfsplugger, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{lfsplugger.path / '.lfsplug' / 'state.db'}?mode=ro",
                           uri=True)
    try:
        return list(conn.execute(sql, args))
    finally:
        conn.close()


def run_ids(lfsplugger: Lfsplugger) -> list[int]:
    return [r[0] for r in rows(lfsplugger, "SELECT id FROM runs ORDER BY id")]


def orphans(lfsplugger: Lfsplugger) -> dict[str, int]:
    """Rows left behind by deleted runs, per table (all must be 0)."""
    return {table: rows(lfsplugger, f"SELECT COUNT(*) FROM {table} WHERE run_id NOT IN "
                                    f"(SELECT id FROM runs)")[0][0] for table in TABLES}


def test_a_version_2_database_gains_the_metrics_column_and_keeps_its_runs(
    tmp_path: Path,
) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (2)")
    for version in (1, 2):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("INSERT INTO runs (started, command_line, version, host, pid) "
                 "VALUES (1.0, 'lfsplug run', '0', 'h', 1)")
    conn.commit()
    conn.close()
    assert SCHEMA_VERSION >= 3
    store = StateStore.open(tmp_path, create=False)
    try:
        assert store.query("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        assert store.query("SELECT command_line, metrics FROM runs") == [("lfsplug run", None)]
        store.set_run_metrics(1, {"eta_error": {"relative": 0.1}})
        (raw,), = store.query("SELECT metrics FROM runs WHERE id = 1")
        assert json.loads(raw) == {"eta_error": {"relative": 0.1}}
    finally:
        store.close()


def test_keep_runs_deletes_old_runs_with_everything_recorded_under_them(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    lfsplugger.make_config("[state]\nkeep_runs = 2\n")
    for _ in range(5):
        assert lfsplugger.run(*RUN, "--force-all").ret == 0
    # each run rebuilt everything, so nothing older is needed by resume
    assert run_ids(lfsplugger) == [4, 5]
    assert orphans(lfsplugger) == {table: 0 for table in TABLES}
    assert rows(lfsplugger, "SELECT COUNT(*) FROM events")[0][0] > 0


def test_pruning_never_deletes_the_last_pass_that_resume_needs(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b", "03-c.sh": "echo c"})
    lfsplugger.make_config("order = \"graph\"\n[state]\nkeep_runs = 1\n")
    assert lfsplugger.run(*RUN).ret == 0                       # run 1 builds a, b, c
    (tree / "03-c.sh").write_text("#!/bin/bash\necho c2\n", encoding="utf-8")
    second = lfsplugger.run(*RUN)                               # run 2: c again, a and b reused
    assert {n: r.cached for n, r in second.results.items()} == {"a": True, "b": True, "c": False}
    assert lfsplugger.run(*RUN, "--force", "c").ret == 0       # run 3: c once more
    # keep_runs = 1 lets runs 1 and 2 go; run 1 holds a's and b's last pass: it stays
    assert run_ids(lfsplugger) == [1, 3]
    fourth = lfsplugger.run(*RUN)
    assert fourth.ret == 0
    assert {n: r.cached for n, r in fourth.results.items()} == {"a": True, "b": True, "c": True}
    assert fourth.results["a"].message == "unchanged since run 1"
    assert orphans(lfsplugger) == {table: 0 for table in TABLES}


def test_the_last_failure_is_kept_so_that_an_older_pass_is_not_reused(
    lfsplugger: Lfsplugger,
) -> None:
    tree = lfsplugger.make_tree({"01-a.sh": "echo a"})
    lfsplugger.make_config("[state]\nkeep_runs = 1\n")
    assert lfsplugger.run(*RUN).ret == 0                                   # run 1: a passes
    (tree / "01-a.sh").write_text("#!/bin/bash\nexit 1\n", encoding="utf-8")
    assert lfsplugger.run(*RUN).ret == 1                                   # run 2: it fails
    (tree / "01-a.sh").write_text("#!/bin/bash\necho a\n", encoding="utf-8")
    (tree / "02-b.sh").write_text("#!/bin/bash\nexit 1\n", encoding="utf-8")
    (tree / "02-b.sh").chmod(0o755)
    third = lfsplugger.run(*RUN)             # run 3: a's content is run 1's again: not reused
    assert third.results["a"].cached is False
    assert third.results["b"].status == "failed"
    assert run_ids(lfsplugger) == [3]


def test_keep_days_and_status_prune(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "seq 1 2000"})
    for _ in range(4):
        assert lfsplugger.run(*RUN, "--force-all").ret == 0
    assert run_ids(lfsplugger) == [1, 2, 3, 4]  # within the default of 100 runs
    db = lfsplugger.path / ".lfsplug" / "state.db"
    conn = sqlite3.connect(db)
    conn.execute("UPDATE runs SET started = ? WHERE id < 4", (time.time() - 10 * 86400,))
    conn.commit()
    conn.close()
    lfsplugger.make_config("[state]\nkeep_days = 7\n")
    shown = lfsplugger.run("status", "--prune")
    assert shown.ret == 0, shown.errlines
    shown.stdout.fnmatch_lines(["pruned 3 run(s) and 3 log file(s); the database went from * "
                                "KiB to * KiB",
                                "run 4, started *"])
    assert run_ids(lfsplugger) == [4]
    assert orphans(lfsplugger) == {table: 0 for table in TABLES}
    # JSON stays JSON: the pruning line goes to stderr then
    quiet = lfsplugger.run("status", "--prune", "--json")
    assert json.loads("\n".join(quiet.outlines))["run"]["id"] == 4
    assert quiet.errlines[0].startswith("pruned 0 run(s)")


def test_the_newest_run_stays_however_old(tmp_path: Path) -> None:
    store = StateStore.open(tmp_path, create=True)
    try:
        for started in (1.0, 2.0):
            run_id = store.begin_run(started, "lfsplug run", "0", "h")
            store.finish_run(run_id, 0, False, {})
        pruned = store.prune(Policy(keep_runs=None, keep_days=1), now=10 * 86400)
        assert pruned.deleted == [1]
        assert store.query("SELECT id FROM runs") == [(2,)]
    finally:
        store.close()


def test_status_prune_waits_for_no_build(lfsplugger: Lfsplugger) -> None:
    from lfsplug_state.store import RunLock

    lfsplugger.make_tree({"01-a.sh": "echo a"})
    assert lfsplugger.run(*RUN).ret == 0
    lock = RunLock(lfsplugger.path / ".lfsplug")
    lock.acquire()
    try:
        shown = lfsplugger.run("status", "--prune")
    finally:
        lock.release()
    assert shown.ret == 4
    assert "another lfsplug run" in shown.errlines[0]


def test_a_bad_retention_setting_names_the_file_and_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    config = lfsplugger.make_config("[state]\nkeep_runs = 2.5\n")
    result = lfsplugger.run(*RUN)
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: {config}:2: [state] keep_runs: expected a whole "
                               f"number from 0 up (0: no limit), got 2.5"]
    lfsplugger.make_config("[state]\nkeep_days = \"a week\"\n")
    assert lfsplugger.run("status", "--prune").ret == 4
