"""``lfsplug status`` and ``lfsplug log NAME``: the last build, read from ``state.db``.

Both read the database only; neither takes the run lock, so they work while a build is going
(the WAL lets readers in beside the writer).
"""

from __future__ import annotations

import codecs
import datetime
import difflib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lfsplug import ExitCode, UsageError, format_duration
from lfsplug_state.schema import DB_FILE
from lfsplug_state.store import RAN, RunLock, StateStore

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["LogRequest", "StatusReport", "cmd_log", "cmd_status", "find_log", "open_state",
           "read_status"]

#: The statuses of ``status --json`` (DESIGN.md); a script running now, or interrupted, has no
#: result yet and shows as ``not-run`` there (the text form says which).
JSON_STATUS = {"passed": "passed", "failed": "failed", "skipped": "skipped",
               "not-run": "not-run", "running": "not-run", "interrupted": "not-run"}
_RUN_STATES = {"finished": "finished", "interrupted": "was interrupted",
               "crashed": "did not finish (killed or crashed)", "running": "is running"}


def open_state(config: Config) -> StateStore:
    """The state database of ``--state-dir`` (default ``.lfsplug/`` here), for reading."""
    try:
        return StateStore.open(config.state_dir, create=False)
    except FileNotFoundError:
        raise UsageError(f"no build recorded in {config.state_dir} (no {DB_FILE}): lfsplug run "
                         f"records one; --state-dir DIR reads another") from None


@dataclass
class StatusReport:
    """The last build: its run and its scripts in plan order, as ``status --json`` has them."""

    run: dict[str, Any]
    scripts: list[dict[str, Any]]
    state: str
    later: list[tuple[int, int | None]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"run": {**self.run, "state": self.state}, "scripts": [
            {k: v for k, v in s.items() if not k.startswith("_")} for s in self.scripts]}


def read_status(store: StateStore) -> StatusReport:
    """The last run that got as far as building (UsageError if none has)."""
    rows = store.query("SELECT id, started, finished, exit_code, state, labels FROM runs "
                       "WHERE total IS NOT NULL ORDER BY id DESC LIMIT 1")
    if not rows:
        raise UsageError(f"no build recorded in {store.path.parent} yet: no run got as far as "
                         f"running a script")
    run_id, started, finished, exit_code, state, labels = rows[0]
    if state == "running" and not RunLock(store.path.parent).held_elsewhere():
        state = "crashed"  # not marked yet: the next run marks it
    later = [(r[0], r[1]) for r in store.query(
        "SELECT id, exit_code FROM runs WHERE id > ? AND total IS NULL ORDER BY id", (run_id,))]
    run = {"id": run_id, "started": _iso(started), "finished": _iso(finished),
           "exit_code": exit_code, "labels": _labels(labels)}
    tries: dict[int, list[dict[str, Any]]] = {}
    for row in store.query(
            "SELECT result_id, attempt, log_path, exit_code, signal, failure_class, "
            "failed_command, failed_line, failed_step FROM attempts WHERE result_id IN "
            "(SELECT id FROM results WHERE run_id = ?) ORDER BY result_id, attempt", (run_id,)):
        tries.setdefault(row[0], []).append(dict(zip(_TRY_KEYS, row[1:], strict=True)))
    scripts = [_script_row(row[1:], tries.get(row[0], [])) for row in store.query(
        "SELECT r.id, r.name, r.status, r.exit_code, r.started, r.finished, r.attempts, "
        "r.failure_class, r.log_path, r.cached, r.signal, r.message, o.run_id, "
        "r.failed_command, r.failed_line, r.failed_step, r.evidence, "
        "COALESCE(r.resources, o.resources) "
        "FROM results r LEFT JOIN results o ON o.id = r.reused_from "
        "WHERE r.run_id = ? ORDER BY r.position", (run_id,))]
    return StatusReport(run, scripts, state, later)


#: The keys of each attempt in ``status --json`` (``tries``).
_TRY_KEYS = ("attempt", "log", "exit_code", "signal", "failure_class", "failed_command",
             "failed_line", "failed_step")


def _script_row(row: tuple[Any, ...], tries: list[dict[str, Any]]) -> dict[str, Any]:
    (name, status, exit_code, started, finished, attempts, failure_class, log_path, cached,
     signal, message, reused_run, failed_command, failed_line, failed_step, evidence,
     resources) = row
    duration = (round(finished - started, 3)
                if started is not None and finished is not None else None)
    return {
        "name": name, "status": JSON_STATUS.get(status, "not-run"), "exit_code": exit_code,
        "duration_s": duration, "attempts": attempts, "failure_class": failure_class,
        "failed_command": failed_command, "failed_line": failed_line,
        "failed_step": failed_step, "evidence": _lines(evidence),
        "log": log_path, "cached": bool(cached), "tries": [] if cached else tries,
        # what its test suites did, as the tests plugin read them (null: none was read)
        "tests": _tests(resources),
        # for the text form only
        "_status": status, "_signal": signal, "_message": message, "_from": reused_run,
    }


def _lines(text: str | None) -> list[str]:
    """The evidence as stored (a JSON list of lines), or none."""
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(line) for line in value] if isinstance(value, list) else []


def _tests(text: str | None) -> dict[str, Any] | None:
    """The ``tests`` of the result's resources (a JSON object), or None."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return None
    tests = value.get("tests") if isinstance(value, dict) else None
    return tests if isinstance(tests, dict) else None


def _labels(text: str | None) -> dict[str, str]:
    """The run's labels as stored (a JSON object), or none (a run recorded before them)."""
    try:
        value = json.loads(text) if text else {}
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}


def _iso(when: float | None) -> str | None:
    if when is None:
        return None
    return datetime.datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds")


def cmd_status(config: Config) -> int:
    store = open_state(config)
    try:
        if config.getoption("prune", False):
            _prune(config, store)
        report = read_status(store)
    finally:
        store.close()
    if config.getoption("json", False):
        click.echo(json.dumps(report.as_json(), indent=2))
    else:
        for line in status_lines(report):
            click.echo(line)
    return ExitCode.OK


def _prune(config: Config, store: StateStore) -> None:
    """``status --prune``: apply the retention policy now, holding the run lock."""
    from lfsplug_state.retention import read_policy

    policy = read_policy(config)
    lock = RunLock(config.state_dir)
    lock.acquire()  # no pruning under a build that is going
    try:
        pruned = store.prune(policy, vacuum=True)
    finally:
        lock.release()
    kept = (f"; kept {len(pruned.kept_for_resume)} older run(s) that resume needs"
            if pruned.kept_for_resume else "")
    logs = f" and {pruned.logs_removed} log file(s)" if pruned.logs_removed else ""
    click.echo(f"pruned {len(pruned.deleted)} run(s){logs}{kept}; the database went from "
               f"{pruned.size_before / 1024:.0f} KiB to {pruned.size_after / 1024:.0f} KiB",
               err=bool(config.getoption("json", False)))


def status_lines(report: StatusReport) -> list[str]:
    """The text form: a line on the run, a table of its scripts, a summary line."""
    run = report.run
    started = (run["started"] or "?").replace("T", " ")[:19]
    labels = ", ".join(f"{key} {value}" for key, value in run["labels"].items())
    lines = [f"run {run['id']}, started {started}, {_RUN_STATES.get(report.state, report.state)}"
             + (f" with exit code {run['exit_code']}" if run["exit_code"] is not None else "")
             + (f"; {labels}" if labels else "")]
    width = max([len(s["name"]) for s in report.scripts] + [6])
    lines.append(f"  {'#':>3}  {'script':<{width}}  {'status':<11}  {'time':>8}  "
                 f"{'tries':>5}  {'exit':>4}  note")
    for order, script in enumerate(report.scripts, 1):
        lines.append(f"  {order:>3}  {script['name']:<{width}}  {script['_status']:<11}  "
                     f"{format_duration(script['duration_s']):>8}  {script['attempts']:>5}  "
                     f"{_exit(script):>4}  {_note(script)}".rstrip())
    lines.append(_summary(report))
    for run_id, exit_code in report.later:
        lines.append(f"(run {run_id} stopped before building anything, exit code {exit_code})")
    return lines


def _summary(report: StatusReport) -> str:
    counts: dict[str, int] = {}
    for script in report.scripts:
        counts[script["_status"]] = counts.get(script["_status"], 0) + 1
    parts = [f"{counts[s]} {s}" for s in
             ("passed", "failed", "skipped", "not-run", "running", "interrupted") if s in counts]
    reused = sum(1 for s in report.scripts if s["cached"])
    extra = f" ({reused} reused from earlier runs)" if reused else ""
    noun = "script" if len(report.scripts) == 1 else "scripts"
    return f"{len(report.scripts)} {noun}: {', '.join(parts) or 'none'}{extra}"




def _tests_said(tests: dict[str, Any]) -> str:
    """``tests 120 passed, 2 failed, 3 expected``."""
    words = [f"{tests.get('pass', 0)} passed"]
    for key, said in (("fail", "failed"), ("expected", "expected to fail"), ("skip", "skipped")):
        if tests.get(key):
            words.append(f"{tests[key]} {said}")
    return "tests " + ", ".join(words)


def _exit(script: dict[str, Any]) -> str:
    if script["_signal"]:
        return f"-{script['_signal']}"
    return "-" if script["exit_code"] is None else str(script["exit_code"])


def _note(script: dict[str, Any]) -> str:
    if script["cached"]:
        return f"reused from run {script['_from']}" if script["_from"] else "reused"
    command = " ".join((script["failed_command"] or "").split())
    command = command if len(command) <= 60 else f"{command[:57]}..."
    where = f"line {script['failed_line']}" if script["failed_line"] is not None else ""
    where = ": ".join(part for part in (where, command) if part)
    tests = script["tests"]
    said = _tests_said(tests) if tests else ""
    notes = [script["failure_class"], where, script["_message"], said]
    if script["_status"] == "failed" and script["log"]:
        notes.append(f"log: {script['log']}")
    return "; ".join(n for n in notes if n)


# -- log ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogRequest:
    """Which log ``lfsplug log`` prints: of which script, run and attempt, at what path."""

    name: str
    run_id: int
    attempt: int
    path: Path


def find_log(store: StateStore, name: str, attempt: int | None = None,
             run: int | None = None) -> LogRequest:
    """The log of ``name``'s last attempt (or ``attempt``) in the last run that ran it (or in
    run ``run``).

    UsageError (exit 4) when no build recorded ``name``, or it never ran (in that run), or
    there is no such run or attempt.
    """
    marks = ", ".join("?" * len(RAN))
    in_run = "" if run is None else " AND run_id = ?"
    rows = store.query(f"SELECT id, run_id, attempts, log_path FROM results WHERE name = ? AND "
                       f"cached = 0 AND status IN ({marks}){in_run} ORDER BY id DESC LIMIT 1",
                       (name, *RAN, *(() if run is None else (run,))))
    if not rows:
        raise UsageError(_unknown(store, name) if run is None else _not_in_run(store, name, run))
    result_id, run_id, attempts, last_log = rows[0]
    wanted = attempt or attempts or 1
    found = store.query("SELECT log_path FROM attempts WHERE result_id = ? AND attempt = ?",
                        (result_id, wanted))
    if found and found[0][0]:
        return LogRequest(name, run_id, wanted, Path(found[0][0]))
    if attempt is None and last_log:
        return LogRequest(name, run_id, wanted, Path(last_log))
    raise UsageError(f"{name} ran {attempts} attempt(s) in run {run_id}: there is no "
                     f"attempt {wanted}")


def _not_in_run(store: StateStore, name: str, run: int) -> str:
    """Why run ``run`` has no log of ``name``: no such run, no such script, or how it ended."""
    where = store.path.parent
    if not store.query("SELECT 1 FROM runs WHERE id = ?", (run,)):
        first, last = store.query("SELECT MIN(id), MAX(id) FROM runs")[0]
        have = f"runs {first} to {last}" if first is not None else "no runs"
        return f"--run {run}: no such run in {where} ({have} recorded)"
    rows = store.query("SELECT r.status, r.cached, o.run_id FROM results r LEFT JOIN results o "
                       "ON o.id = r.reused_from WHERE r.run_id = ? AND r.name = ?", (run, name))
    if not rows:
        names = [r[0] for r in store.query("SELECT name FROM results WHERE run_id = ?", (run,))]
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"no script named {name!r} in run {run} recorded in {where}{hint}"
    status, cached, source = rows[0]
    if cached:
        other = f"; lfsplug log {name} --run {source}" if source is not None else ""
        return f"{name} was reused in run {run}, not run: it has no log there{other}"
    return f"{name} did not run in run {run} ({status}): it has no log there"


def _unknown(store: StateStore, name: str) -> str:
    known = [r[0] for r in store.query("SELECT DISTINCT name FROM results")]
    where = store.path.parent
    if name in known:
        return f"{name} never ran in the builds recorded in {where}: it has no log"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"no script named {name!r} in the builds recorded in {where}{hint}"


def cmd_log(config: Config) -> int:
    arguments: dict[str, str] = getattr(config, "arguments", {})
    name = arguments.get("name")
    if not name:
        raise UsageError("lfsplug log: which script? (lfsplug log NAME)")
    attempt: int | None = config.getoption("attempt", None)
    run: int | None = config.getoption("run", None)
    store = open_state(config)
    try:
        request = find_log(store, name, attempt, run)
    finally:
        store.close()
    if config.getoption("path_only", False):
        click.echo(str(request.path))
        return ExitCode.OK
    try:
        print_file(request.path)
    except OSError as exc:
        raise UsageError(f"the log of {name} (run {request.run_id}, attempt {request.attempt}) "
                         f"cannot be read: {request.path}: {exc.strerror or exc}") from None
    return ExitCode.OK


def print_file(path: Path) -> None:
    """Copy a (possibly large) log to stdout, decoding as UTF-8 with replacement."""
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    with path.open("rb") as file:
        for block in iter(lambda: file.read(1 << 16), b""):
            click.echo(decoder.decode(block), nl=False)
    click.echo(decoder.decode(b"", final=True), nl=False)
