"""The state plugin: the database, resume, crash safety, status, log and durations."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

import lfsplug
from lfsplug import (
    HistoryEntry,
    Recovery,
    Sample,
    Script,
    ScriptResult,
    StateService,
    Status,
    StoredResult,
    StoredRun,
    StoredSamples,
    UsageError,
)
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_state import recorder as recorder_module
from lfsplug_state.codec import record_from_json
from lfsplug_state.recorder import StateHistory, command_line
from lfsplug_state.resume import ScriptKey, changed_variables, env_hash, keyed_env, why_run
from lfsplug_state.schema import MIGRATIONS, SCHEMA_VERSION, StateFileError, connect
from lfsplug_state.service import StateDatabase
from lfsplug_state.store import Build, RunLock, StateStore

#: `run` without shellcheck, which these tests do not need (and which is slow).
RUN = ("run", "--shellcheck", "off")
STATUS_KEYS = {"name", "status", "exit_code", "duration_s", "attempts", "failure_class", "log"}
#: Keys the state plugin adds to DESIGN.md's shape (documented in docs/state.md).
EXTRA_SCRIPT_KEYS = {"cached", "failed_command", "failed_line", "failed_step", "evidence",
                     "tries", "tests"}
EXTRA_RUN_KEYS = {"state", "labels"}


def db_path(lfsplugger: Lfsplugger) -> Path:
    return lfsplugger.path / ".lfsplug" / "state.db"


@contextlib.contextmanager
def database(lfsplugger: Lfsplugger) -> Iterator[sqlite3.Connection]:
    """The state database, opened read-only as a user's tool would."""
    conn = sqlite3.connect(f"file:{db_path(lfsplugger)}?mode=ro", uri=True)
    try:
        yield conn
    finally:
        conn.close()


def rows(lfsplugger: Lfsplugger, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with database(lfsplugger) as conn:
        return list(conn.execute(sql, args))


def reused(result: RunResult) -> dict[str, bool]:
    """Which scripts an in-process run reused from an earlier run."""
    return {name: r.cached for name, r in result.results.items()}


def status_json(lfsplugger: Lfsplugger) -> dict[str, Any]:
    shown = lfsplugger.run("status", "--json")
    assert shown.ret == 0, shown.errlines
    data: dict[str, Any] = json.loads("\n".join(shown.outlines))
    return data


THREE = {"01-a.sh": "echo a", "02-b.sh": "echo b", "03-c.sh": "echo c"}


# -- the database ------------------------------------------------------------------------------


def test_schema_wal_and_what_a_run_records(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.make_tree(THREE)
    result = lfsplugger.run(*RUN, "--force-all")
    assert result.ret == 0
    with database(lfsplugger) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"schema_version", "runs", "results", "attempts", "events", "samples"} <= tables
        run = conn.execute("SELECT id, started, finished, exit_code, state, command_line, "
                           "version, host, pid, total FROM runs").fetchall()
        results = conn.execute("SELECT position, name, status, attempts, exit_code, cached, "
                               "length(content_hash), instr(env_hash, ' ') - 1, log_path, reason "
                               "FROM results ORDER BY position").fetchall()
        kinds = [r[0] for r in conn.execute("SELECT kind FROM events ORDER BY seq")]
        output = conn.execute("SELECT payload FROM events WHERE kind = 'script-output'").fetchone()
    (run_id, started, finished, exit_code, state, line, version, host, pid, total), = run
    assert (run_id, exit_code, state, version, pid, total) == (
        1, 0, "finished", lfsplug.__version__, os.getpid(), 3)
    assert started <= finished and host
    assert line == f"lfsplug run {tree} --force-all --shellcheck off"
    logs = tree / ".lfsplug" / "logs" / "1"  # a folder per run
    assert results == [
        (1, "a", "passed", 1, 0, 0, 64, 64, str(logs / "a.log"), "forced"),
        (2, "b", "passed", 1, 0, 0, 64, 64, str(logs / "b.log"), "forced"),
        (3, "c", "passed", 1, 0, 0, 64, 64, str(logs / "c.log"), "forced"),
    ]
    assert kinds[0] == "run-start" and kinds[-1] == "run-finish"
    assert "script-output" in kinds  # a script's start and end are in results and attempts
    # output events keep how many lines there were; the lines themselves are in the log
    assert json.loads(output[0]) == {"lines": 1}
    assert record_from_json("script-output", output[0]) == lfsplug.ScriptOutput((), 1)


def test_an_empty_file_becomes_a_database_and_migrating_twice_is_harmless(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    path.write_bytes(b"")
    connect(path, create=False).close()
    conn = connect(path, create=False)
    assert conn.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
    conn.close()


def test_a_version_1_database_is_migrated_and_keeps_its_runs(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    for statement in MIGRATIONS[1]:
        conn.execute(statement)
    conn.execute("INSERT INTO runs (started, command_line, version, host, pid) "
                 "VALUES (1.0, 'lfsplug run', '0', 'h', 1)")
    conn.commit()
    conn.close()
    store = StateStore.open(tmp_path, create=False)
    try:
        assert store.query("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
        assert store.query("SELECT command_line FROM runs") == [("lfsplug run",)]
        assert store.history() == []
    finally:
        store.close()


def test_imported_history_is_replaced_per_source_and_never_reused(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree(THREE)
    state_dir = lfsplugger.path / ".lfsplug"
    state_dir.mkdir(exist_ok=True)
    store = StateStore.open(state_dir, create=True)
    try:
        first = [HistoryEntry("a", 10.0, version="1.0", sbu=0.5, sbu_seconds=20.0, jobs=4,
                              disk={"installed": 8.0})]
        assert store.add_history("r1.report", first) == 1
        assert store.add_history("r1.report", [*first, HistoryEntry("b", 4.0)]) == 2
        got = store.history()
        assert [(h.name, h.seconds, h.position, h.source) for h in got] == [
            ("a", 10.0, 1, "r1.report"), ("b", 4.0, 2, "r1.report")]
        assert got[0].disk == {"installed": 8.0} and got[0].sbu_seconds == 20.0
        assert "a" not in store.last_builds()  # history is not a build here
    finally:
        store.close()
    result = lfsplugger.run(*RUN)
    assert result.ret == 0
    assert result.results["a"].cached is False and result.results["a"].attempts == 1


def test_a_missing_database_is_not_created_for_reading(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        connect(tmp_path / "state.db", create=False)
    assert not (tmp_path / "state.db").exists()


@pytest.mark.parametrize("command", [("status",), ("log", "a"), RUN, ("report", "json")])
def test_a_corrupt_database_is_one_clear_line(lfsplugger: Lfsplugger,
                                              command: tuple[str, ...]) -> None:
    lfsplugger.make_tree(THREE)
    db = db_path(lfsplugger)
    db.parent.mkdir()
    db.write_bytes(b"this is not a database, it only sits where one should be\n" * 100)
    result = lfsplugger.run(*command)
    assert result.ret == 4
    assert len(result.errlines) == 1, result.errlines
    assert result.errlines[0].startswith(f"lfsplug: {db}: not a usable state database (")
    assert "Traceback" not in "\n".join(result.outlines + result.errlines)
    assert result.results == {}  # nothing ran


def test_list_and_check_warn_about_a_corrupt_database_and_go_on(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    db = db_path(lfsplugger)
    db.parent.mkdir()
    db.write_bytes(b"\x00garbage" * 512)
    for command in (("list",), ("check", "--shellcheck", "off")):
        result = lfsplugger.run(*command)
        assert result.ret == 0
        assert result.errlines == [
            f"lfsplug: warning: {db}: not a usable state database (file is not a database); "
            f"move it away to start afresh (the build's history is lost) or use another "
            f"--state-dir; durations from earlier builds are not used"]


def test_a_database_of_another_program_is_refused(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    db = db_path(lfsplugger)
    db.parent.mkdir()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.execute("CREATE TABLE photos (id INTEGER)")
        conn.commit()
    result = lfsplugger.run(*RUN)
    assert result.ret == 4
    assert result.errlines == [
        f"lfsplug: {db}: not a usable state database (an SQLite file, but not lfsplug's "
        f"(tables: photos)); move it away to start afresh (the build's history is lost) or use "
        f"another --state-dir"]


def test_a_database_from_a_newer_lfsplug_is_refused(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN).ret == 0
    with contextlib.closing(sqlite3.connect(db_path(lfsplugger))) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
        conn.commit()
    for command in (RUN, ("status",)):
        result = lfsplugger.run(*command)
        assert result.ret == 4
        assert result.errlines == [
            f"lfsplug: {db_path(lfsplugger)}: written by a newer lfsplug (schema version 99; "
            f"this lfsplug knows versions up to {SCHEMA_VERSION}): upgrade lfsplug, or use "
            f"another --state-dir"]


def test_two_runs_never_share_a_state_directory(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    state = lfsplugger.path / ".lfsplug"
    state.mkdir()
    lock = RunLock(state)
    lock.acquire()
    try:
        result = lfsplugger.run(*RUN)
    finally:
        lock.release()
    assert result.ret == 4
    assert result.errlines == [
        f"lfsplug: {state}: another lfsplug run (pid {os.getpid()}) is using this state "
        f"directory; wait for it, or give this run another --state-dir"]
    assert lfsplugger.run(*RUN).ret == 0  # released


# -- resume ------------------------------------------------------------------------------------


def test_resume_after_a_failure(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({**THREE, "03-c.sh": "echo broken; exit 3", "04-d.sh": "echo d"})
    first = lfsplugger.run(*RUN)
    assert first.ret == 1
    assert first.statuses() == {"a": "passed", "b": "passed", "c": "failed", "d": "not-run"}
    lfsplugger.make_tree({"03-c.sh": "echo fixed"})
    second = lfsplugger.run(*RUN)
    assert second.ret == 0
    second.stdout.fnmatch_lines([
        "*passed  a  * (unchanged, from an earlier run)",
        "*passed  b  * (unchanged, from an earlier run)",
        "*start   c",
        "*passed  c  *",
        "*passed  d  *",
    ])
    second.stdout.no_fnmatch_line("*start   a*")
    assert reused(second) == {"a": True, "b": True, "c": False, "d": False}
    shown = status_json(lfsplugger)
    assert shown["run"]["id"] == 2 and shown["run"]["exit_code"] == 0
    assert [(s["name"], s["status"], s["cached"]) for s in shown["scripts"]] == [
        ("a", "passed", True), ("b", "passed", True), ("c", "passed", False),
        ("d", "passed", False)]
    # a third run reuses everything; the reused results keep the first run's log
    third = lfsplugger.run(*RUN)
    assert reused(third) == dict.fromkeys("abcd", True)
    assert third.results["a"].log_path == lfsplugger.path / ".lfsplug" / "logs" / "1" / "a.log"


def test_a_failure_after_a_pass_runs_again_even_when_reverted(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN).ret == 0
    lfsplugger.make_tree({"02-b.sh": "exit 1"})
    assert lfsplugger.run(*RUN).ret == 1
    lfsplugger.make_tree({"02-b.sh": THREE["02-b.sh"]})  # as it was when it passed
    again = lfsplugger.run(*RUN)
    # its last run failed, so what b left behind is not what its pass installed
    assert reused(again) == {"a": True, "b": False, "c": False}


GRAPH = {
    "01-a.sh": "# lfsplug: name=a\necho a",
    "02-b.sh": "# lfsplug: name=b depends=a\necho b",
    "03-c.sh": "# lfsplug: name=c\necho c",
    "04-d.sh": "# lfsplug: name=d depends=b\necho d",
    "05-e.sh": "# lfsplug: name=e depends=c\necho e",
}


def test_a_changed_script_runs_again_with_its_dependents_only(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(GRAPH)
    assert lfsplugger.run(*RUN, "--order", "graph").ret == 0
    lfsplugger.make_tree({"01-a.sh": GRAPH["01-a.sh"] + "\necho a, edited"})
    result = lfsplugger.run(*RUN, "--order", "graph")
    assert result.ret == 0
    assert reused(result) == {"a": False, "b": False, "c": True, "d": False, "e": True}
    reasons = dict(rows(lfsplugger, "SELECT name, reason FROM results WHERE run_id = 2 "
                                     "AND cached = 0"))
    assert reasons == {"a": "its content changed", "b": "a was built after it",
                       "d": "b was built after it"}


def test_in_sequence_order_everything_after_a_change_runs_again(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(GRAPH)
    assert lfsplugger.run(*RUN).ret == 0
    lfsplugger.make_tree({"03-c.sh": GRAPH["03-c.sh"] + "\ntrue"})
    result = lfsplugger.run(*RUN)
    assert reused(result) == {"a": True, "b": True, "c": False, "d": False, "e": False}


def test_an_env_change_in_the_configuration_runs_again(lfsplugger: Lfsplugger,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    lfsplugger.make_tree(THREE)
    lfsplugger.make_config('[env]\nCFLAGS = "-O2"\n')
    assert lfsplugger.run(*RUN).ret == 0
    monkeypatch.setenv("TERM", "something-else")  # the terminal does not shape a build
    assert reused(lfsplugger.run(*RUN)) == dict.fromkeys("abc", True)
    lfsplugger.make_config('[env]\nCFLAGS = "-O3"\n')
    result = lfsplugger.run(*RUN)
    assert reused(result) == dict.fromkeys("abc", False)
    assert rows(lfsplugger, "SELECT DISTINCT reason FROM results WHERE run_id = 3") == [
        ("its environment changed: CFLAGS",)]


def test_a_dry_run_names_the_variables_that_changed(lfsplugger: Lfsplugger) -> None:
    """docs/user-guide.md: --dry-run shows "each environment difference"."""
    lfsplugger.make_tree(THREE)
    lfsplugger.make_config('[env]\nCFLAGS = "-O2"\nGONE = "1"\n')
    assert lfsplugger.run(*RUN).ret == 0
    lfsplugger.make_config('[env]\nCFLAGS = "-O3"\nNEW = "1"\n')
    dry = lfsplugger.run(*RUN, "--dry-run")
    dry.stdout.fnmatch_lines(["[[]1/3] run    a (its environment changed: CFLAGS, GONE, NEW)",
                              "*$ bash +h -e */01-a.sh",
                              "         + CFLAGS=-O3",
                              "         + NEW=1"])


def test_changed_variables_from_two_keys() -> None:
    before = env_hash(keyed_env(Script("s", Path("/s/s"), Path("/s")),
                                {"A": "1", "B": "2", "C": "3"}))
    after = env_hash(keyed_env(Script("s", Path("/s/s"), Path("/s"), unpack="x.tar.xz"),
                               {"A": "1", "B": "9", "D": "4"}))
    assert changed_variables(after, before) == ["B", "C", "D", "unpack="]
    assert changed_variables(after, "e" * 64) == []  # recorded before the digests
    key, last = ScriptKey("c" * 64, after), Build(1, 1, "passed", "c" * 64, before, 1.0, 2.0, 1,
                                                  0, None)
    assert why_run(key, last, False, {}) == "its environment changed: B, C, D, unpack="
    assert why_run(ScriptKey("c" * 64, before), last, False, {}) is None


def test_env_ignore_leaves_variables_out_of_the_key(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    lfsplugger.make_config('[state]\nenv_ignore = ["TERM", "BUILD_ID"]\n[env]\nBUILD_ID = "1"\n')
    assert lfsplugger.run(*RUN).ret == 0
    lfsplugger.make_config('[state]\nenv_ignore = ["TERM", "BUILD_ID"]\n[env]\nBUILD_ID = "2"\n')
    assert reused(lfsplugger.run(*RUN)) == dict.fromkeys("abc", True)
    lfsplugger.make_config('[state]\nenv_ignore = "TERM"\n')
    bad = lfsplugger.run(*RUN)
    assert bad.ret == 4
    assert bad.errlines == [f"lfsplug: {lfsplugger.path / 'lfsplug.toml'}:2: [state] "
                            f"env_ignore: expected a list of strings, got 'TERM'"]


def test_force_and_force_all(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(GRAPH)
    assert lfsplugger.run(*RUN, "--order", "graph").ret == 0
    forced = lfsplugger.run(*RUN, "--order", "graph", "--force", "c", "--force", "a")
    # the forced scripts run, and so do the scripts that depend on them
    assert reused(forced) == {"a": False, "b": False, "c": False, "d": False, "e": False}
    one = lfsplugger.run(*RUN, "--order", "graph", "--force", "b")
    assert reused(one) == {"a": True, "b": False, "c": True, "d": False, "e": True}
    everything = lfsplugger.run(*RUN, "--force-all")
    assert reused(everything) == dict.fromkeys("abcde", False)
    unknown = lfsplugger.run(*RUN, "--force", "nosuch")
    assert unknown.ret == 4
    assert unknown.errlines == ["lfsplug: --force nosuch: no script named 'nosuch'"]


def test_an_interrupted_run_is_resumed(lfsplugger: Lfsplugger) -> None:
    class Interrupt:
        @lfsplug.hookimpl(tryfirst=True)
        def lfsplug_run_script(self, request: Any) -> ScriptResult | None:
            if request.script.name == "b":
                raise KeyboardInterrupt
            return None

    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN, plugins=[Interrupt()]).ret == 2
    assert rows(lfsplugger, "SELECT state, exit_code FROM runs") == [("interrupted", 2)]
    assert rows(lfsplugger, "SELECT name, status FROM results ORDER BY position") == [
        ("a", "passed"), ("b", "interrupted"), ("c", "not-run")]
    again = lfsplugger.run(*RUN)
    assert reused(again) == {"a": True, "b": False, "c": False}


def test_a_dry_run_says_what_would_be_reused_and_records_nothing(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree(THREE)
    nothing_yet = lfsplugger.run(*RUN, "--dry-run")
    assert nothing_yet.ret == 0 and reused(nothing_yet) == dict.fromkeys("abc", False)
    assert not db_path(lfsplugger).exists()
    assert lfsplugger.run(*RUN).ret == 0
    lfsplugger.make_tree({"02-b.sh": "echo b, edited"})
    dry = lfsplugger.run(*RUN, "--dry-run")
    assert reused(dry) == {"a": True, "b": False, "c": False}
    # c is unchanged, but runs again after b, which it waits for
    dry.stdout.fnmatch_lines(["[[]1/3] reuse  a (unchanged since run 1)",
                              "[[]2/3] run    b (its content changed)",
                              "*$ bash +h -e */02-b.sh",
                              "[[]3/3] run    c (b was built after it)",
                              "dry run: 2 would run, 1 would be reused, 0 left out; "
                              "nothing was run"])
    assert dry.statuses() == {"a": "passed", "b": "not-run", "c": "not-run"}
    assert rows(lfsplugger, "SELECT id FROM runs") == [(1,)]


def test_a_retried_pass_is_reused(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-flaky.sh": '[ -e once ] || { touch once; echo first; exit 1; }\n'
                                         "echo second"})
    assert lfsplugger.run(*RUN, plugins=[RetryOnce()]).ret == 0
    assert reused(lfsplugger.run(*RUN)) == {"flaky": True}


class RetryOnce:
    """Retries a failed script once."""

    @lfsplug.hookimpl
    def lfsplug_recover(self, result: ScriptResult) -> Recovery | None:
        return Recovery("retry", "once more") if result.attempts < 2 else None


# -- crash safety ------------------------------------------------------------------------------


def wait_for(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(sqlite3.Error):
            if check():
                return
        time.sleep(0.05)
    pytest.fail("timed out waiting for the build to get there")


def kill_orphans(marker: str) -> list[str]:
    """Kill the process groups of the scripts a killed lfsplug left running; their command
    lines."""
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if marker in cmdline:
            found.append(cmdline)
            with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
                os.killpg(os.getpgid(proc.pid), signal.SIGKILL)
    return found


@pytest.mark.e2e
def test_kill_9_loses_no_result_and_the_next_run_resumes(lfsplugger: Lfsplugger) -> None:
    hold = lfsplugger.path / "hold"
    tree = lfsplugger.make_tree({**THREE, "03-c.sh": f"[ -e {hold} ] && sleep 60\necho c"})
    hold.touch()
    db = db_path(lfsplugger)
    log = (lfsplugger.path / "first-run.out").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "lfsplug", "run", "--shellcheck", "off",
                             "--host-check", "off"], cwd=tree, stdout=log, stderr=log,
                            stdin=subprocess.DEVNULL)
    try:
        def c_is_running() -> bool:
            with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
                status = dict(conn.execute("SELECT name, status FROM results"))
            # recorded as running, and spawned (the record comes first)
            return status.get("b") == "passed" and status.get("c") == "running" and any(
                str(tree / "03-c.sh") in " ".join(p.info["cmdline"] or [])
                for p in psutil.process_iter(["cmdline"]))

        wait_for(c_is_running)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        log.close()
    assert proc.returncode == -signal.SIGKILL
    # c's keeper saw lfsplug die and ended c's script and its sleep (TERM: at once)
    wait_for(lambda: not [p for p in psutil.process_iter(["cmdline"])
                          if str(tree / "03-c.sh") in " ".join(p.info["cmdline"] or [])])
    hold.unlink()
    try:
        again = lfsplugger.run(*RUN)
    finally:
        left = kill_orphans(str(tree / "03-c.sh"))
    assert left == []
    assert again.ret == 0
    assert "lfsplug: run 1 did not finish (killed or crashed) while running c, which runs again" \
        in again.errlines
    assert reused(again) == {"a": True, "b": True, "c": False}
    with database(lfsplugger) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert list(conn.execute("SELECT id, state, finished FROM runs")) == [
            (1, "crashed", None), (2, "finished", pytest.approx(time.time(), abs=60))]
        assert list(conn.execute("SELECT name, status FROM results WHERE run_id = 1 "
                                 "ORDER BY position")) == [
            ("a", "passed"), ("b", "passed"), ("c", "interrupted")]


def test_status_tells_a_crashed_run_from_a_running_one(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN).ret == 0
    with contextlib.closing(sqlite3.connect(db_path(lfsplugger))) as conn:
        conn.execute("UPDATE runs SET finished = NULL, exit_code = NULL, state = 'running'")
        conn.execute("UPDATE results SET status = 'running', finished = NULL, exit_code = NULL "
                     "WHERE name = 'c'")
        conn.commit()
    assert status_json(lfsplugger)["run"]["state"] == "crashed"
    lock = RunLock(lfsplugger.path / ".lfsplug")
    lock.acquire()
    try:
        shown = lfsplugger.run("status")
    finally:
        lock.release()
    assert shown.outlines[0].endswith(", is running")
    shown.stdout.re_match_lines([r"\s+3\s+c\s+running\s+-\s+1\s+-$",
                                 r"^3 scripts: 2 passed, 1 running$"])
    assert status_json(lfsplugger)["scripts"][2]["status"] == "not-run"


# -- status and log ----------------------------------------------------------------------------


def test_status_json_has_the_documented_shape(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({**THREE, "02-b.sh": "echo failing; exit 7"})
    assert lfsplugger.run(*RUN).ret == 1
    data = status_json(lfsplugger)
    assert set(data) == {"run", "scripts"}
    assert set(data["run"]) == {"id", "started", "finished", "exit_code"} | EXTRA_RUN_KEYS
    assert data["run"]["id"] == 1 and data["run"]["exit_code"] == 1
    assert data["run"]["started"] <= data["run"]["finished"]  # ISO 8601, same zone
    assert all(set(s) == STATUS_KEYS | EXTRA_SCRIPT_KEYS for s in data["scripts"])
    logs = lfsplugger.path / ".lfsplug" / "logs" / "1"
    a, b, c = data["scripts"]
    assert (a["name"], a["status"], a["exit_code"], a["attempts"], a["log"]) == (
        "a", "passed", 0, 1, str(logs / "a.log"))
    assert isinstance(a["duration_s"], float) and a["duration_s"] >= 0
    assert (b["name"], b["status"], b["exit_code"], b["attempts"], b["log"]) == (
        "b", "failed", 7, 1, str(logs / "b.log"))
    assert c == {"name": "c", "status": "not-run", "exit_code": None, "duration_s": None,
                 "attempts": 0, "failure_class": None, "log": None, "cached": False,
                 "failed_command": None, "failed_line": None, "failed_step": None,
                 "evidence": [], "tries": [], "tests": None}


def test_status_records_the_failure_class(lfsplugger: Lfsplugger) -> None:
    class Classify:
        @lfsplug.hookimpl
        def lfsplug_classify_failure(self) -> lfsplug.FailureClass:
            return lfsplug.FailureClass("test-suite", "make check failed")

    lfsplugger.make_tree({"01-a.sh": "exit 2"})
    assert lfsplugger.run(*RUN, plugins=[Classify()]).ret == 1
    assert status_json(lfsplugger)["scripts"][0]["failure_class"] == "test-suite"


def test_status_text(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({**THREE, "03-c.sh": "exit 7"})
    assert lfsplugger.run(*RUN).ret == 1
    lfsplugger.make_tree({"03-c.sh": "echo c"})
    assert lfsplugger.run(*RUN).ret == 0
    shown = lfsplugger.run("status")
    assert shown.ret == 0
    assert shown.outlines[0].startswith("run 2, started ")
    assert shown.outlines[0].endswith(", finished with exit code 0")
    shown.stdout.re_match_lines([
        r"^\s+#\s+script\s+status\s+time\s+tries\s+exit\s+note$",
        r"^\s+1\s+a\s+passed\s+\d+\.\d s\s+1\s+0\s+reused from run 1$",
        r"^\s+2\s+b\s+passed\s+\d+\.\d s\s+1\s+0\s+reused from run 1$",
        r"^\s+3\s+c\s+passed\s+\d+\.\d s\s+1\s+0$",
        r"^3 scripts: 3 passed \(2 reused from earlier runs\)$",
    ])


def test_status_says_when_a_later_run_stopped_before_building(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN).ret == 0
    lfsplugger.make_tree({"02-b.sh": "# lfsplug: depends=nosuch\necho b"})
    assert lfsplugger.run(*RUN).ret == 6
    shown = lfsplugger.run("status")
    assert shown.outlines[0].startswith("run 1, ")
    assert shown.outlines[-1] == "(run 2 stopped before building anything, exit code 6)"


def test_status_and_log_without_a_build(lfsplugger: Lfsplugger) -> None:
    for command in (("status",), ("status", "--json"), ("log", "a")):
        result = lfsplugger.run(*command)
        assert result.ret == 4
        assert result.errlines == [
            f"lfsplug: no build recorded in {lfsplugger.path / '.lfsplug'} (no state.db): "
            f"lfsplug run records one; --state-dir DIR reads another"]


def test_status_of_another_state_directory(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN, "--state-dir", "elsewhere").ret == 0
    found = lfsplugger.run("status")  # no PATH: the last build run, wherever its state went
    assert found.ret == 0 and found.errlines == [
        "lfsplug: using the build in elsewhere (the last one run)"]
    shown = lfsplugger.run("status", "--state-dir", "elsewhere")
    assert shown.ret == 0 and shown.outlines[-1] == "3 scripts: 3 passed"


def test_log_prints_the_last_attempt_of_the_last_run_that_ran_it(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-flaky.sh": '[ -e once ] || { touch once; echo first; exit 1; }\n'
                                         "echo second", "02-b.sh": "echo b"})
    assert lfsplugger.run(*RUN, plugins=[RetryOnce()]).ret == 0
    assert lfsplugger.run(*RUN).ret == 0  # reuses both: the logs are those of run 1
    last = lfsplugger.run("log", "flaky")
    assert last.ret == 0
    assert last.outlines == [  # a retry's log says what was cleaned before it
        "# lfsplug: cleanup before attempt 2: nothing known to remove (no cleanup=, "
        "[executor] cleanup, unpack= or PACKAGE= tarball)", "second", "",
        "# lfsplug: exit status 0"]
    first = lfsplugger.run("log", "flaky", "--attempt", "1")
    assert first.outlines == ["first", "", "# lfsplug: exit status 1"]
    missing = lfsplugger.run("log", "flaky", "--attempt", "3")
    assert missing.ret == 4
    assert missing.errlines == ["lfsplug: flaky ran 2 attempt(s) in run 1: there is no attempt 3"]


def test_log_of_an_unknown_script(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-binutils.sh": "echo b"})
    assert lfsplugger.run(*RUN).ret == 0
    unknown = lfsplugger.run("log", "binutil")
    assert unknown.ret == 4
    assert unknown.errlines == [
        f"lfsplug: no script named 'binutil' in the builds recorded in "
        f"{lfsplugger.path / '.lfsplug'}; did you mean 'binutils'?"]
    assert lfsplugger.run("log").ret == 4  # NAME is required


def test_log_of_a_script_that_never_ran(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "exit 1", "02-b.sh": "echo b"})
    assert lfsplugger.run(*RUN).ret == 1
    result = lfsplugger.run("log", "b")
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: b never ran in the builds recorded in "
                               f"{lfsplugger.path / '.lfsplug'}: it has no log"]


def test_log_whose_file_is_gone(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN).ret == 0
    log = lfsplugger.path / ".lfsplug" / "logs" / "1" / "b.log"
    log.unlink()
    result = lfsplugger.run("log", "b")
    assert result.ret == 4
    assert result.errlines == [f"lfsplug: the log of b (run 1, attempt 1) cannot be read: "
                               f"{log}: No such file or directory"]


# -- durations, samples, events ------------------------------------------------------------------


class CriticalPath:
    """Notes the plan's critical path."""

    def __init__(self) -> None:
        self.path: list[str] = []

    @lfsplug.hookimpl
    def lfsplug_sessionfinish(self, session: Any) -> None:
        self.path = list(session.plan.critical_path) if session.plan else []


def test_durations_from_history_shape_the_critical_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "sleep 0.4", "03-c.sh": "echo c"})
    before = CriticalPath()
    assert lfsplugger.run("list", "--order", "graph", plugins=[before]).ret == 0
    assert before.path == ["a"]  # nothing known: every script counts the same
    assert lfsplugger.run(*RUN).ret == 0
    after = CriticalPath()
    assert lfsplugger.run("list", "--order", "graph", plugins=[after]).ret == 0
    assert after.path == ["b"]


def test_expected_duration_is_the_median_of_the_last_passes(tmp_path: Path) -> None:
    store = StateStore.open(tmp_path, create=True)
    script = Script("gcc", tmp_path / "gcc.sh", tmp_path)
    key = ("0" * 64, "1" * 64)
    for n, (duration, status) in enumerate(
            [(100, Status.PASSED), (1, Status.PASSED), (20, Status.PASSED), (5, Status.FAILED),
             (30, Status.PASSED), (40, Status.PASSED), (10, Status.PASSED)]):
        run_id = store.begin_run(float(n), "lfsplug run", "0", "host")
        store.plan_run(run_id, [script])
        result = ScriptResult("gcc", status, started=1000.0 * n, finished=1000.0 * n + duration)
        store.script_finished(run_id, script, result, keys=key, reused_from=None,
                              resources=None)
    # a reused result is no new measurement
    run_id = store.begin_run(9.0, "lfsplug run", "0", "host")
    cached = ScriptResult("gcc", Status.PASSED, started=0.0, finished=9999.0, cached=True)
    store.script_finished(run_id, script, cached, keys=key, reused_from=1, resources=None)
    store.close()
    database = StateDatabase(tmp_path)
    history = StateHistory(FakeConfig(tmp_path), database)  # type: ignore[arg-type]
    try:
        # the last five passes that really ran: 10, 40, 30, 20, 1
        assert history.lfsplug_expected_duration(script, history.config) == 20
        other = Script("glibc", tmp_path / "glibc.sh", tmp_path)
        assert history.lfsplug_expected_duration(other, history.config) is None
    finally:
        database.close()


class FakeConfig:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        self.labels: dict[str, str] = {}


def test_samples_and_each_scripts_peak_resource_use(lfsplugger: Lfsplugger) -> None:
    class Sampler:
        @lfsplug.hookimpl
        def lfsplug_script_start(self, session: Any, script: Script) -> None:
            for rss in (10.0, 30.0, 20.0):
                session.sample(Sample(time.time(), {"rss_mb": rss, "cpu": rss / 10},
                                      script.name))
            session.sample(Sample(time.time(), {"disk_free_gb": 12.0}))

    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    # without the monitor, whose first tick (before the first script) would add its own sample
    assert lfsplugger.run(*RUN, "-p", "no:monitor", plugins=[Sampler()]).ret == 0
    # the Sampler's 8, and the monitor's own system samples (one before the first script)
    [(total, of_scripts)] = rows(lfsplugger, "SELECT COUNT(*), COUNT(script) FROM samples")
    assert total >= 8 and of_scripts == 6
    resources = rows(lfsplugger, "SELECT name, resources FROM results ORDER BY position")
    assert [(name, json.loads(r)["peak"]) for name, r in resources] == [
        ("a", {"rss_mb": 30.0, "cpu": 3.0}), ("b", {"rss_mb": 30.0, "cpu": 3.0})]
    # beside the sampled peaks, the kernel's totals that the executor took when it reaped
    assert all({"utime", "stime", "inblock", "oublock"} <= json.loads(r).keys()
               for _, r in resources)
    assert rows(lfsplugger, "SELECT COUNT(*) FROM events WHERE kind = 'sample'") == [(0,)]
    assert rows(lfsplugger, "SELECT samples_kept, samples_dropped FROM runs") == [(total, 0)]


def test_a_scripts_last_sample_still_on_the_bus_counts_in_its_peak(
    lfsplugger: Lfsplugger,
) -> None:
    class LastWord:
        """Samples each script as it ends, just before the state plugin records it."""

        @lfsplug.hookimpl(tryfirst=True)
        def lfsplug_script_finish(self, session: Any, script: Script) -> None:
            for _ in range(50):  # a backlog for the bus's thread
                session.sample(Sample(time.time(), {"load": 1.0}))
            session.sample(Sample(time.time(), {"rss_mb": 99.0}, script.name))

    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    assert lfsplugger.run(*RUN, "-p", "no:monitor", plugins=[LastWord()]).ret == 0
    resources = rows(lfsplugger, "SELECT name, resources FROM results ORDER BY position")
    assert [(name, json.loads(r)["peak"]) for name, r in resources] == [
        ("a", {"rss_mb": 99.0}), ("b", {"rss_mb": 99.0})]


def test_events_are_capped_per_run(lfsplugger: Lfsplugger,
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder_module, "MAX_EVENTS", 5)
    lfsplugger.make_tree({f"{n:02d}-s{n}.sh": "for i in 1 2 3; do echo $i; sleep 0.01; done"
                          for n in range(1, 5)})
    assert lfsplugger.run(*RUN).ret == 0
    (kept, dropped), = rows(lfsplugger, "SELECT events_kept, events_dropped FROM runs")
    assert rows(lfsplugger, "SELECT COUNT(*) FROM events") == [(kept,)]
    assert kept <= 10 and dropped > 0
    # output is dropped first: status events may use twice the cap
    assert rows(lfsplugger, "SELECT COUNT(*) FROM events WHERE kind = 'script-output'")[0][0] <= 5


# -- the validation plugin's "changed since it last passed" --------------------------------------


def test_validation_learns_what_passed_from_the_state(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run("-p", "no:validation-passed", *RUN).ret == 0
    lfsplugger.make_tree({"02-b.sh": "echo b, edited"})
    result = lfsplugger.run("-p", "no:validation-passed", "check", "--json",
                            "--shellcheck", "off")
    findings = json.loads("\n".join(result.outlines))["findings"]
    assert [(f["code"], Path(f["path"]).name) for f in findings] == [("INT005", "02-b.sh")]


# -- units ---------------------------------------------------------------------------------------


def test_why_run_rules() -> None:
    key = ScriptKey("c" * 64, "e" * 64)
    passed = Build(1, 1, "passed", key.content, key.env, 10.0, 20.0, 1, 0, None)
    assert why_run(key, passed, False, {"x": 15.0, "y": None}) is None
    assert why_run(key, passed, True, {}) == "forced"
    assert why_run(key, None, False, {}) == "never built"
    failed = Build(2, 2, "failed", key.content, key.env, 10.0, 20.0, 1, 1, None)
    assert why_run(key, failed, False, {}) == "its last attempt failed"
    assert why_run(ScriptKey("d" * 64, key.env), passed, False, {}) == "its content changed"
    assert why_run(ScriptKey(None, key.env), passed, False, {}) == "its content changed"
    assert why_run(ScriptKey(key.content, "f" * 64), passed, False, {}) == (
        "its environment changed")
    assert why_run(key, passed, False, {"y": 25.0, "x": 21.0}) == "x was built after it"


def test_env_hash_ignores_order_and_the_terminal() -> None:
    assert env_hash({"A": "1", "B": "2"}) == env_hash({"B": "2", "A": "1", "TERM": "xterm"})
    assert env_hash({"A": "1"}) != env_hash({"A": "2"})
    assert env_hash({"A": "1", "B": "2"}, ignore=["B"]) == env_hash({"A": "1"})


def test_the_command_line_as_it_took_effect(lfsplugger: Lfsplugger) -> None:
    class Note:
        line = ""

        @lfsplug.hookimpl
        def lfsplug_configure(self, config: Any) -> None:
            Note.line = command_line(config)

    lfsplugger.make_tree(THREE)
    lfsplugger.setenv("LFSPLUG_ADDOPTS", "--keep-going")
    assert lfsplugger.run(*RUN, "--force", "a", "--force", "b", plugins=[Note()]).ret == 0
    assert Note.line == (f"lfsplug run {lfsplugger.path} --force a --force b --keep-going "
                         f"--shellcheck off")


def test_state_file_error_is_a_usage_error() -> None:
    assert StateFileError("x").exit_code == 4


# -- the state service -------------------------------------------------------------------------


def service(config: Any) -> StateService:
    state: StateService | None = config.hook.lfsplug_state_service(config=config)
    assert state is not None
    return state


class Probe:
    """Reads the run through the state service as the session ends, before the state plugin
    records its end (as ``run --report`` does), and records metrics of its own."""

    def __init__(self) -> None:
        self.run: StoredRun | None = None
        self.results: list[StoredResult] = []
        self.samples = StoredSamples()
        self.kinds: list[str] = []

    @lfsplug.hookimpl(tryfirst=True)
    def lfsplug_sessionfinish(self, session: lfsplug.Session) -> None:
        state = service(session.config)
        # a last sample, as a monitor takes when the scheduler returns: queued, not written
        session.sample(Sample(time.time(), {"cpu_percent": 1.0}))
        state.flush()
        self.run = state.current_run()
        if self.run is not None:
            self.results = list(state.results(self.run.id))
            self.samples = state.samples(self.run.id)
            self.kinds = [e.kind for e in state.events(self.run.id)]
        state.record_run_metrics({"probe": {"results": len(self.results)}})


class Samples:
    """Two samples of each script as it starts, and one of the system."""

    @lfsplug.hookimpl
    def lfsplug_script_start(self, session: Any, script: Script) -> None:
        now = time.time()
        session.sample(Sample(now, {"rss": 1.0}, script.name))
        session.sample(Sample(now, {"rss": 2.0}, script.name))
        session.sample(Sample(now, {"cpu_percent": 50.0}))


#: phases and binutils-pass1 call for the host check and the chroot plugin's lfs user
SERVICE_RUN = (*RUN, "--host-check", "off", "-p", "no:chroot", "-p", "no:monitor")
SERVICE_TREE = {
    "01-a.sh": "# lfsplug: name=binutils-pass1 version=2.44 phase=cross\necho a",
    "02-b.sh": "# lfsplug: phase=temp\n[ -e once ] || { touch once; exit 1; }\necho b",
    "03-c.sh": "exit 3",
}


def test_the_service_shows_the_run_being_recorded(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(SERVICE_TREE)
    probe = Probe()
    result = lfsplugger.run(*SERVICE_RUN, plugins=[probe, Samples(), RetryOnce()])
    assert result.ret == 1
    run = probe.run
    assert run is not None and (run.id, run.state, run.finished, run.total) == (
        1, "running", None, 3)
    # the counts as they stand, and every queued sample written for the reader
    # five starts (b and c twice), three samples each, and the last one
    assert run.counts["samples_kept"] == len(probe.samples.rows) == 16
    assert probe.samples.texts is not None and len(probe.samples.texts) == 16
    assert probe.samples.rows[-1].values == {"cpu_percent": 1.0}
    assert [(r.position, r.name, r.status, r.phase, r.version, r.attempts, len(r.tries))
            for r in probe.results] == [
        (1, "binutils-pass1", "passed", "cross", "2.44", 1, 1),
        (2, "b", "passed", "temp", None, 2, 2),
        (3, "c", "failed", None, None, 2, 2)]
    assert probe.results[1].tries[1].log_path == str(
        lfsplugger.path / ".lfsplug" / "logs" / "1" / "b.2.log")
    assert probe.kinds[0] == "run-start" and "script-retry" in probe.kinds
    # after the run, the same records, now finished, and the metrics that were recorded
    state = StateDatabase(lfsplugger.path / ".lfsplug")
    try:
        done = state.run()
        assert (done.id, done.state, done.exit_code) == (1, "finished", 1)
        assert done.finished is not None and done.counts == run.counts
        assert done.metrics == {"probe": {"results": 3}}
        assert [r.name for r in state.results(1)] == ["binutils-pass1", "b", "c"]
    finally:
        state.close()


def test_the_service_reads_earlier_runs(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(SERVICE_TREE)
    assert lfsplugger.run(*SERVICE_RUN, plugins=[Samples()]).ret == 1
    assert lfsplugger.run(*SERVICE_RUN).ret == 1  # b and c run again
    state = StateDatabase(lfsplugger.path / ".lfsplug")
    try:
        assert state.run().id == 2 and state.run(1).id == 1
        assert state.current_run() is None  # no run is being recorded by this service
        second = {r.name: r for r in state.results(2)}
        # a reused result: the pass it stands for, without attempts of its own
        assert (second["binutils-pass1"].cached, second["binutils-pass1"].reused_run) == (
            True, 1)
        assert second["binutils-pass1"].tries == () and second["b"].tries[0].attempt == 1
        assert second["b"].reason == "its last attempt failed"
        last = state.last_pass("b")
        assert last is not None and (last.run_id, last.status, last.ran) == (2, "passed", True)
        assert last.duration is not None and last.duration >= 0
        assert state.last_pass("c") is None and state.last_pass("nothing") is None
        assert len(state.samples(1).rows) == 6 and state.samples(2).rows == []
        events = state.events(2)
        assert [(e.time, e.seq) for e in events] == sorted((e.time, e.seq) for e in events)
        # each with its typed record back: b's one line of output, counted, not kept
        [output] = [e.record for e in events if e.kind == "script-output"]
        assert isinstance(output, lfsplug.ScriptOutput) and output.count == 1
        assert output.lines == ()
        with pytest.raises(UsageError, match=r"^--run 7: no such run in .* \(runs 1 to 2 "
                                             r"recorded\)$"):
            state.run(7)
        state.record_run_metrics({"ignored": True})  # no current run: nothing to record
        assert state.run(2).metrics == {}
    finally:
        state.close()


def test_the_service_without_a_database(tmp_path: Path) -> None:
    state = StateDatabase(tmp_path / "nowhere")
    try:
        assert (state.history(), state.last_pass("a"), state.results(1), state.events(1)) == (
            [], None, [], [])
        assert state.samples(1) == StoredSamples()
        with pytest.raises(UsageError, match=r"^no build recorded in .*nowhere \(no state.db\):"
                                             r" lfsplug run records one; --state-dir DIR "
                                             r"reads another$"):
            state.run()
        assert not (tmp_path / "nowhere").exists()  # reading creates nothing
        assert state.add_history("r.report", [HistoryEntry("a", 10.0)]) == 1
        assert [(h.name, h.source, h.position) for h in state.history()] == [
            ("a", "r.report", 1)]
    finally:
        state.close()


def test_the_service_in_a_dry_run_records_nothing(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN, "-p", "no:monitor").ret == 0
    probe = Probe()
    assert lfsplugger.run(*RUN, "--dry-run", "--force-all", plugins=[probe]).ret == 0
    assert probe.run is None
    assert rows(lfsplugger, "SELECT COUNT(*), MAX(metrics) FROM runs") == [(1, None)]


def test_no_service_without_the_state_plugin(lfsplugger: Lfsplugger) -> None:
    seen: list[object] = []

    class Asker:
        @lfsplug.hookimpl
        def lfsplug_sessionstart(self, session: lfsplug.Session) -> None:
            seen.append(session.config.hook.lfsplug_state_service(config=session.config))

    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN, "-p", "no:state", plugins=[Asker()]).ret == 0
    assert seen == [None]
    assert lfsplugger.run(*RUN, plugins=[Asker()]).ret == 0
    assert isinstance(seen[1], StateDatabase)


def test_a_version_3_database_gains_phases_and_its_results_read_without_them(
    tmp_path: Path,
) -> None:
    conn = sqlite3.connect(tmp_path / "state.db")
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (3)")
    for version in (1, 2, 3):
        for statement in MIGRATIONS[version]:
            conn.execute(statement)
    conn.execute("INSERT INTO runs (started, finished, exit_code, state, command_line, version, "
                 "host, pid, total) VALUES (1.0, 2.0, 0, 'finished', 'lfsplug run', '0', 'h', 1,"
                 " 1)")
    conn.execute("INSERT INTO results (run_id, position, name, path, status, attempts, started,"
                 " finished) VALUES (1, 1, 'a', '/s/a.sh', 'passed', 1, 1.0, 1.5)")
    conn.commit()
    conn.close()
    state = StateDatabase(tmp_path)
    try:
        [result] = state.results(state.run().id)
        assert (result.name, result.phase, result.version, result.packages) == (
            "a", None, None, ())
        assert result.duration == 0.5
    finally:
        state.close()
    store = StateStore.open(tmp_path, create=False)
    try:
        assert store.query("SELECT version FROM schema_version") == [(SCHEMA_VERSION,)]
    finally:
        store.close()


def test_the_service_reads_a_corrupt_database_as_no_records_and_says_so_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "state.db").write_bytes(b"\x00garbage" * 512)
    state = StateDatabase(tmp_path)
    try:
        assert (state.history(), state.last_pass("a"), state.results(1)) == ([], None, [])
        warning = capsys.readouterr().err
        assert warning.count("not a usable state database") == 1
        assert warning.endswith("durations from earlier builds are not used\n")
        # what cannot do without the records, or would write, says it and stops (exit 4)
        for call in (state.run, lambda: state.add_history("r", [HistoryEntry("a", 1.0)])):
            with pytest.raises(StateFileError, match="not a usable state database"):
                call()
        assert capsys.readouterr().err == ""
    finally:
        state.close()


# -- a state that says what is wrong (issue 12) ------------------------------------------------


def corrupt_inside(db: Path) -> None:
    """Overwrite the pages of ``results`` and what follows it, leaving the header intact: a
    file that opens, and fails only when a query reaches those pages."""
    with contextlib.closing(sqlite3.connect(db)) as conn:
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'results'").fetchone()
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with db.open("r+b") as file:
        file.seek((root[0] - 1) * size)
        file.write(b"\xde\xad\xbe\xef" * (size))  # four pages


def test_a_database_corrupt_deep_inside_is_exit_4_naming_the_file(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(THREE)
    for _ in range(3):
        assert lfsplugger.run(*RUN, "--force-all").ret == 0
    db = db_path(lfsplugger)
    corrupt_inside(db)
    said = (f"{db}: not a usable state database (database disk image is malformed); move it "
            f"away to start afresh (the build's history is lost) or use another --state-dir")
    for command in (RUN, ("status",), ("status", "--prune"), ("log", "a")):
        result = lfsplugger.run(*command)
        assert (result.ret, result.errlines) == (4, [f"lfsplug: {said}"]), command
    # list and check warn, once, and go on without durations (docs/state.md)
    for command in (("list",), ("check", "--shellcheck", "off")):
        result = lfsplugger.run(*command)
        assert (result.ret, result.errlines) == (
            0, [f"lfsplug: warning: {said}; durations from earlier builds are not used"]), command


@pytest.mark.parametrize("damage", ["inside", "whole"])
def test_a_dry_run_on_a_damaged_database_warns_once_and_says_what_would_run(
    lfsplugger: Lfsplugger, damage: str,
) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN).ret == 0
    db = db_path(lfsplugger)
    if damage == "inside":
        corrupt_inside(db)
        why = "database disk image is malformed"
    else:
        db.write_bytes(b"\x00garbage" * 512)
        why = "file is not a database"
    before = db.read_bytes()
    dry = lfsplugger.run(*RUN, "--dry-run")
    # a dry run is a check: 0 for a valid tree (DESIGN.md), the file named once, in a warning
    assert (dry.ret, dry.errlines) == (0, [
        f"lfsplug: warning: {db}: not a usable state database ({why}); move it away to start "
        f"afresh (the build's history is lost) or use another --state-dir; nothing is reused "
        f"from it in this dry run, and a run stops on it (exit 4)"])
    dry.stdout.fnmatch_lines(["[[]1/3] run    a*", "*", "[[]2/3] run    b*", "*",
                              "[[]3/3] run    c*",
                              "dry run: 3 would run, 0 would be reused, 0 left out; "
                              "nothing was run"])
    assert db.read_bytes() == before  # it records nothing
    assert lfsplugger.run(*RUN).ret == 4  # the run itself refuses it, as docs/state.md says


@contextlib.contextmanager
def mounted(target: Path, *options: str) -> Iterator[None]:
    """``mount OPTIONS target`` for the block (root and a working mount(8), or skip)."""
    if os.geteuid() != 0:
        pytest.skip("needs root to mount a file system")
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", *options, str(target)], capture_output=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"mount does not work here: {done.stderr.decode().strip()}")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], check=False)


def read_only(target: Path) -> contextlib.AbstractContextManager[None]:
    """``target`` made read-only in place (a read-only bind mount of itself)."""
    stack = contextlib.ExitStack()
    stack.enter_context(mounted(target, "--bind", str(target)))
    stack.enter_context(mounted(target, "-o", "remount,bind,ro"))
    return stack


def test_a_healthy_database_in_a_read_only_directory_is_never_called_unusable(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN).ret == 0
    state = lfsplugger.path / ".lfsplug"
    with read_only(state):
        ran, shown = lfsplugger.run(*RUN, "--force-all"), lfsplugger.run("status")
    assert (ran.ret, ran.errlines) == (4, [
        f"lfsplug: {state / 'state.lock'}: cannot be written: {state} is on a read-only file "
        f"system; mount it read-write, or use another --state-dir"])
    assert (shown.ret, shown.errlines) == (4, [
        f"lfsplug: {state / 'state.db'}: the state database cannot be written: {state} is on a "
        f"read-only file system; mount it read-write, or use another --state-dir"])
    assert lfsplugger.run(*RUN).ret == 0  # nothing was harmed: it resumes
    with read_only(lfsplugger.path):  # a state directory that does not exist yet
        ran = lfsplugger.run(*RUN, "--state-dir", "fresh")
    assert (ran.ret, ran.errlines) == (4, [
        f"lfsplug: {lfsplugger.path / 'fresh'}: cannot be written: {lfsplugger.path} is on a "
        f"read-only file system; mount it read-write, or use another --state-dir"])


def test_a_database_of_another_user_says_whose_it_is(lfsplugger: Lfsplugger) -> None:
    """Root without the capabilities that override file permissions is another user here."""
    setpriv = "/usr/bin/setpriv"
    if os.geteuid() != 0 or not os.access(setpriv, os.X_OK):
        pytest.skip("needs root and setpriv to drop the capability to override permissions")
    lfsplugger.make_tree(THREE)
    assert lfsplugger.run(*RUN).ret == 0
    state = lfsplugger.path / ".lfsplug"
    for path in (state, *state.iterdir()):
        os.chown(path, 65534, 65534)
    argv = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", sys.executable,
            "-m", "lfsplug", *RUN, str(lfsplugger.path)]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=120,
                          cwd=lfsplugger.path)
    import pwd

    owner = pwd.getpwuid(65534).pw_name
    assert (done.returncode, done.stderr.splitlines()[-1:]) == (4, [
        f"lfsplug: {state / 'state.lock'}: cannot be written: permission denied: {state} "
        f"belongs to {owner} (mode 755) and this lfsplug runs as uid 0; run lfsplug as "
        f"{owner}, or use another --state-dir"])


@pytest.mark.parametrize("then", [
    pytest.param("true", id="the-database-finds-it"),
    # the script's own output after the disk filled: its log cannot be written
    pytest.param("seq 1 200000", id="the-log-finds-it"),
])
def test_a_full_disk_is_one_line_and_the_run_is_recorded_as_ended(
    lfsplugger: Lfsplugger, then: str,
) -> None:
    state = lfsplugger.path / "state"
    with mounted(state, "-t", "tmpfs", "-o", "size=2m", "tmpfs"):
        lfsplugger.make_tree({"01-a.sh": "echo a",
                              "02-fill.sh": f"dd if=/dev/zero of={state}/filler bs=64k || true\n"
                                            f"{then}",
                              "03-c.sh": "echo c"})
        # without the monitor, whose disk guard would stop the build before the disk fills
        result = lfsplugger.run("-p", "no:monitor", *RUN, "--state-dir", state)
        # the database or the script's log, whichever is written first after the disk filled
        full = [f"lfsplug: {path}: the disk is full (the file system of {path.parent} has no "
                f"space left); free some space, or use another --state-dir"
                for path in (state / "state.db", *state.glob("logs/*/fill.log"))]
        assert result.ret == 4
        assert result.errlines[-1:] in [[line] for line in full], result.errlines
        assert "Traceback" not in "\n".join(result.errlines)
        (state / "filler").unlink()
        with contextlib.closing(sqlite3.connect(state / "state.db")) as conn:
            run = conn.execute("SELECT state, exit_code FROM runs").fetchall()
            scripts = conn.execute("SELECT name, status FROM results ORDER BY position").fetchall()
    assert run == [("finished", 4)]  # not left running, to be taken for a crash
    assert scripts == [("a", "passed"), ("fill", "interrupted"), ("c", "not-run")]
