"""Reading runs back: the rows of ``state.db`` as the kernel's frozen records.

What other plugins read of the database (through the state service, :mod:`.service`) is read
here, in a few queries per run: the run, its results with their attempts, its events and its
samples; and a script's last pass. The records (:class:`lfsplug.StoredRun`, ...) are the
contract; the tables are not.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from lfsplug import (
    StoredAttempt,
    StoredEvent,
    StoredResult,
    StoredRun,
    StoredSample,
    StoredSamples,
    UsageError,
)
from lfsplug_state.codec import record_from_json
from lfsplug_state.store import OF_TARGET, RunLock

if TYPE_CHECKING:
    from lfsplug_state.store import StateStore

__all__ = ["read_events", "read_last_pass", "read_results", "read_run", "read_samples"]

_RUN_COLUMNS = ("id, started, finished, exit_code, state, command_line, version, host, total, "
                "events_kept, events_dropped, samples_kept, samples_dropped, metrics, labels")
_COUNTS = ("events_kept", "events_dropped", "samples_kept", "samples_dropped")
_RESULT_COLUMNS = (
    "r.id, r.run_id, r.position, r.name, r.path, r.status, r.cached, o.run_id, r.reason, "
    "r.attempts, r.started, r.finished, r.exit_code, r.signal, r.failure_class, r.message, "
    "r.log_path, r.resources, r.phase, r.version, r.packages, r.failed_command, "
    "r.failed_line, r.failed_step, r.evidence")
_RESULTS = (f"SELECT {_RESULT_COLUMNS} FROM results r "
            f"LEFT JOIN results o ON o.id = r.reused_from")


# -- runs --------------------------------------------------------------------------------------


def read_run(store: StateStore, run_id: int | None = None, *, live: bool = False) -> StoredRun:
    """Run ``run_id`` (None: the last run that got as far as building); UsageError (exit 4)
    when there is none. A run still marked ``running`` that no process holds the run lock
    for is ``crashed`` (not marked yet: the next run marks it), unless ``live`` says it is
    this process's own run."""
    if run_id is None:
        rows = store.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE total IS NOT NULL "
                           f"ORDER BY id DESC LIMIT 1")
        if not rows:
            raise UsageError(f"no build recorded in {store.path.parent} yet: no run got as "
                             f"far as running a script")
    else:
        rows = store.query(f"SELECT {_RUN_COLUMNS} FROM runs WHERE id = ?", (run_id,))
        if not rows:
            known = store.query("SELECT MIN(id), MAX(id) FROM runs")[0]
            have = f"runs {known[0]} to {known[1]}" if known[0] is not None else "no runs"
            raise UsageError(f"--run {run_id}: no such run in {store.path.parent} ({have} "
                             f"recorded)")
    row = rows[0]
    state = row[4]
    if state == "running" and not live and not RunLock(store.path.parent).held_elsewhere():
        state = "crashed"
    return StoredRun(id=row[0], started=row[1], finished=row[2], exit_code=row[3],
                     state=state, command_line=row[5], version=row[6], host=row[7],
                     total=row[8], counts=dict(zip(_COUNTS, row[9:13], strict=True)),
                     metrics=_json(row[13]),
                     labels={str(k): str(v) for k, v in _json(row[14]).items()})


# -- results -----------------------------------------------------------------------------------


def read_results(store: StateStore, run_id: int) -> list[StoredResult]:
    """The run's scripts in plan order, each with the attempts it made in this run."""
    rows = store.query(f"{_RESULTS} WHERE r.run_id = ? ORDER BY r.position", (run_id,))
    tries: dict[int, list[StoredAttempt]] = {}
    # the results' ids come from the index of (run_id, name): their rows, read once above,
    # are not read again
    for result_id, attempt, started, log_path in store.query(
            "SELECT result_id, attempt, started, log_path FROM attempts WHERE result_id IN "
            "(SELECT id FROM results WHERE run_id = ?) ORDER BY result_id, attempt", (run_id,)):
        tries.setdefault(result_id, []).append(StoredAttempt(attempt, started, log_path))
    return [_result(row, tries.get(row[0], ())) for row in rows]


def read_last_pass(store: StateStore, name: str, target: str | None = None, *,
                   any_target: bool = False) -> StoredResult | None:
    """The last time ``name`` really ran and passed in a run of ``target`` (None: a run
    without a target label; ``any_target``: any run), with its attempts, or None."""
    which = "" if any_target else f"AND r.{OF_TARGET} "
    rows = store.query(f"{_RESULTS} WHERE r.name = ? AND r.cached = 0 AND r.status = 'passed' "
                       f"{which}ORDER BY r.id DESC LIMIT 1",
                       (name,) if any_target else (name, target))
    if not rows:
        return None
    tries = [StoredAttempt(*row) for row in store.query(
        "SELECT attempt, started, log_path FROM attempts WHERE result_id = ? ORDER BY attempt",
        (rows[0][0],))]
    return _result(rows[0], tries)


def _result(row: tuple[Any, ...], tries: Any) -> StoredResult:
    cached = bool(row[6])
    packages = _json_list(row[20])
    return StoredResult(
        run_id=row[1], position=row[2], name=row[3], path=row[4], status=row[5],
        cached=cached, reused_run=row[7], reason=row[8], attempts=row[9] or 0,
        started=row[10], finished=row[11], exit_code=row[12], signal=row[13],
        failure_class=row[14], message=row[15], log_path=row[16], resources=_json(row[17]),
        phase=row[18], version=row[19], packages=tuple(str(p) for p in packages),
        failed_command=row[21], failed_line=row[22], failed_step=row[23],
        evidence=tuple(str(line) for line in _json_list(row[24])),
        tries=() if cached else tuple(tries),
    )


# -- events and samples ------------------------------------------------------------------------


def read_events(store: StateStore, run_id: int) -> list[StoredEvent]:
    """The run's events in time order, then in the order they were emitted, each with its
    typed record."""
    return [StoredEvent(seq, when, kind, priority, script, record_from_json(kind, payload))
            for seq, when, kind, priority, script, payload in store.query(
                "SELECT seq, time, kind, priority, script, payload FROM events "
                "WHERE run_id = ? ORDER BY time, seq", (run_id,))]


def read_samples(store: StateStore, run_id: int) -> StoredSamples:
    """The run's samples in time order, with the JSON text of each one's values."""
    rows = store.query("SELECT time, script, metrics FROM samples WHERE run_id = ? "
                       "ORDER BY time, id", (run_id,))
    if not rows:
        return StoredSamples([], [])
    texts: list[str] | None = [row[2] for row in rows]
    # all in one json.loads: a hundred thousand calls would cost more than the decoding
    try:
        decoded = json.loads("[" + ",".join(texts or ()) + "]")
        if len(decoded) != len(rows):
            raise ValueError("a row holds more than one value")
    except (TypeError, ValueError):  # a damaged row: decode one by one, dropping it
        decoded, texts = [_json(row[2]) for row in rows], None
    samples = [StoredSample(row[0], row[1], values if isinstance(values, dict) else {})
               for row, values in zip(rows, decoded, strict=True)]
    if texts is not None and any(not sample.values for sample in samples):
        texts = None  # a row that decoded to something else: its text is not its values
    return StoredSamples(samples, texts)


def _json(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _json_list(text: str | None) -> list[Any]:
    if not text:
        return []
    try:
        value = json.loads(text)
    except ValueError:
        return []
    return value if isinstance(value, list) else []
