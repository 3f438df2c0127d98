"""The state store: one connection to ``state.db``, serialised by one lock.

:class:`StateStore` owns the connection; every read and write goes through its methods, from
whichever thread calls (the scheduler's, the event bus's, a sampler's), one at a time. Each
write is committed at once, so a ``kill -9`` loses nothing that was recorded. A ``run`` also
holds :class:`RunLock`, an exclusive lock on ``state.lock``, so that two builds never share a
state directory and a run left unfinished can be told from one still going.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import (
    Event,
    HistoryEntry,
    Sample,
    Script,
    ScriptResult,
    Status,
    UsageError,
)
from lfsplug_state.codec import record_to_json
from lfsplug_state.schema import DB_FILE, StateFileError, connect, os_error, state_error

if TYPE_CHECKING:
    from lfsplug_state.retention import Policy, Pruned

__all__ = ["LOCK_FILE", "Build", "HistoryEntry", "RunLock", "StateStore"]

LOCK_FILE = "state.lock"
#: Space a run sets aside, and gives back to record its end when the disk fills up.
RESERVE_FILE, RESERVE_BYTES = "state.reserve", 256 * 1024
#: Statuses of a result row that mean the script really ran (not reused, skipped or planned).
RAN = ("passed", "failed", "running", "interrupted")
#: The condition on a ``results`` row that its run was for the target given as its one
#: parameter (None: a run without a target label, as every run recorded before labels was).
OF_TARGET = "run_id IN (SELECT id FROM runs WHERE target IS ?)"


@dataclass(frozen=True)
class Build:
    """One time a script really ran: the row of ``results`` that recorded it."""

    id: int
    run_id: int
    status: str
    content_hash: str | None
    env_hash: str | None
    started: float | None
    finished: float | None
    attempts: int
    exit_code: int | None
    log_path: str | None

    def as_result(self, name: str) -> ScriptResult:
        """The passed result to reuse in a later run (the kernel marks it ``cached``)."""
        return ScriptResult(
            name, Status.PASSED, exit_code=self.exit_code, started=self.started,
            finished=self.finished, attempts=self.attempts,
            log_path=Path(self.log_path) if self.log_path else None,
            message=f"unchanged since run {self.run_id}",
        )


_BUILD_COLUMNS = ("id, run_id, status, content_hash, env_hash, started, finished, attempts, "
                  "exit_code, log_path")


def _script_columns(script: Script) -> tuple[str, str, str | None, str | None, str | None]:
    """A script's name, path, phase, version and packages (JSON) as ``results`` keeps them."""
    packages = json.dumps(list(script.packages)) if script.packages else None
    return (script.name, str(script.path), script.phase, script.version, packages)


def _where_failed(result: ScriptResult) -> tuple[str | None, int | None, str | None,
                                                 str | None]:
    """A result's ``failed_command``, ``failed_line``, ``failed_step`` and ``evidence`` (a
    JSON list, None when there is none) as ``results`` and ``attempts`` keep them."""
    evidence = json.dumps([str(line) for line in result.evidence]) if result.evidence else None
    return (result.failed_command, result.failed_line, result.failed_step, evidence)


class RunLock:
    """An exclusive ``flock`` on ``state.lock`` held for a whole run; the kernel releases it
    when the process dies, however it dies."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise UsageError naming the run that holds it."""
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # a read-only state directory, or another user's
            raise os_error(self.path, exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise UsageError(
                f"{self.path.parent}: another lfsplug run (pid {holder}) is using this state "
                f"directory; wait for it, or give this run another --state-dir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def held_elsewhere(self) -> bool:
        """Whether some process holds the lock now (a run is going), without taking it."""
        import fcntl

        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        finally:
            os.close(fd)  # closing releases a lock taken just now
        return False

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class StateStore:
    """Reads and writes ``state.db``; thread-safe, every write committed at once. What SQLite
    says of the file (damaged, read-only, disk full) is a :class:`StateFileError` naming it."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self.path = path
        self._conn = conn
        self._lock = threading.Lock()

    @classmethod
    def open(cls, state_dir: Path, *, create: bool) -> StateStore:
        """Open ``state.db`` in ``state_dir`` (FileNotFoundError if absent and not ``create``)."""
        if create:
            try:
                state_dir.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise os_error(state_dir, exc) from None
        path = state_dir / DB_FILE
        return cls(connect(path, create=create), path)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction, committed before the lock is let go."""
        with self._lock, self._errors():
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                if self._conn.in_transaction:  # SQLite may have rolled back itself
                    self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """SQLite's errors as one line naming the file (:func:`~.schema.state_error`)."""
        try:
            yield
        except sqlite3.Error as exc:
            raise state_error(self.path, exc) from None

    def _read(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._errors():
            return list(self._conn.execute(sql, args))

    # -- runs ----------------------------------------------------------------------------------

    def mark_unfinished(self) -> list[tuple[int, list[str]]]:
        """Mark the runs that never finished (killed, crashed, power lost) as ``crashed``, and
        the scripts they were running as ``interrupted``; return each run with those scripts.

        Call it holding the :class:`RunLock`: then no run is going, so none of them is live.
        """
        with self._write() as conn:
            runs = [r[0] for r in conn.execute(
                "SELECT id FROM runs WHERE finished IS NULL AND state = 'running' ORDER BY id")]
            marked = []
            for run_id in runs:
                names = [r[0] for r in conn.execute(
                    "SELECT name FROM results WHERE run_id = ? AND status = 'running' "
                    "ORDER BY position", (run_id,))]
                conn.execute("UPDATE results SET status = 'interrupted' "
                             "WHERE run_id = ? AND status = 'running'", (run_id,))
                conn.execute("UPDATE runs SET state = 'crashed' WHERE id = ?", (run_id,))
                marked.append((run_id, names))
        return marked

    def begin_run(self, started: float, command_line: str, version: str, host: str,
                  labels: Mapping[str, str] | None = None) -> int:
        """Record a run as it starts, with its ``labels`` (``config.labels``; their ``target``
        apart too, which durations are kept per); return its number."""
        self.reserve()
        labels = dict(labels or {})
        with self._write() as conn:
            cursor = conn.execute(
                "INSERT INTO runs (started, command_line, version, host, pid, labels, target) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (started, command_line, version, host, os.getpid(),
                 json.dumps(labels) if labels else None, labels.get("target")))
            return int(cursor.lastrowid or 0)

    def plan_run(self, run_id: int, scripts: Sequence[Script]) -> None:
        """Record the run's scripts in plan order, each ``not-run`` until it ends, with what
        discovery knew of each (phase, version, packages)."""
        with self._write() as conn:
            conn.execute("UPDATE runs SET total = ? WHERE id = ?", (len(scripts), run_id))
            conn.executemany(
                "INSERT OR IGNORE INTO results (run_id, position, name, path, phase, version, "
                "packages) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(run_id, i, *_script_columns(s)) for i, s in enumerate(scripts, 1)])

    def finish_run(self, run_id: int, exit_code: int, interrupted: bool,
                   counts: dict[str, int], finished: float | None = None) -> None:
        """Record the end of a run (``finished``, default now); scripts it left running were
        interrupted. On a full disk, once more in the space :meth:`reserve` set aside: a run
        recorded as ended is not taken for a crashed one."""
        try:
            self._finish_run(run_id, exit_code, interrupted, counts, finished)
        except StateFileError as exc:
            if not exc.disk_full:
                raise
            with contextlib.suppress(OSError):
                os.unlink(self.path.parent / RESERVE_FILE)
            self._finish_run(run_id, exit_code, interrupted, counts, finished)

    def reserve(self) -> None:
        """Set :data:`RESERVE_BYTES` aside in :data:`RESERVE_FILE` (when there is room)."""
        path = self.path.parent / RESERVE_FILE
        with contextlib.suppress(OSError):
            if not path.is_file() or path.stat().st_size < RESERVE_BYTES:
                path.write_bytes(bytes(RESERVE_BYTES))

    def _finish_run(self, run_id: int, exit_code: int, interrupted: bool,
                    counts: dict[str, int], finished: float | None) -> None:
        with self._write() as conn:
            conn.execute("UPDATE results SET status = 'interrupted' "
                         "WHERE run_id = ? AND status = 'running'", (run_id,))
            conn.execute(
                "UPDATE runs SET finished = ?, exit_code = ?, state = ?, events_kept = ?, "
                "events_dropped = ?, samples_kept = ?, samples_dropped = ? WHERE id = ?",
                (time.time() if finished is None else finished, exit_code,
                 "interrupted" if interrupted else "finished",
                 counts.get("events_kept", 0), counts.get("events_dropped", 0),
                 counts.get("samples_kept", 0), counts.get("samples_dropped", 0), run_id))

    def set_run_metrics(self, run_id: int, metrics: Mapping[str, Any]) -> None:
        """Record a run's own figures (``runs.metrics``, JSON), replacing earlier ones."""
        with self._write() as conn:
            conn.execute("UPDATE runs SET metrics = ? WHERE id = ?",
                         (json.dumps(metrics, default=str), run_id))

    def prune(self, policy: Policy, *, now: float | None = None,
              vacuum: bool | None = None) -> Pruned:
        """Delete the runs ``policy`` lets go, keeping those resume needs, with their logs (see
        :mod:`lfsplug_state.retention`); then reclaim the space: always with ``vacuum=True``,
        never with False, when a good share of the file is free with None."""
        from lfsplug_state.retention import (
            Pruned,
            delete_runs,
            doomed_logs,
            doomed_runs,
            remove_logs,
            worth_vacuum,
        )

        pruned = Pruned(size_before=self.size())
        with self._write() as conn:
            pruned.deleted, pruned.kept_for_resume = doomed_runs(
                conn, policy, time.time() if now is None else now)
            logs = doomed_logs(conn, pruned.deleted) if pruned.deleted else []
            delete_runs(conn, pruned.deleted)
        # once the runs are gone for good: a failed deletion leaves every log in place
        pruned.logs_removed = remove_logs(logs, self.path.parent / "logs")
        with self._lock, self._errors():
            if vacuum or (vacuum is None and pruned.deleted and worth_vacuum(self._conn)):
                self._conn.execute("VACUUM")
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        pruned.size_after = self.size()
        return pruned

    def size(self) -> int:
        """The bytes the database takes on disk, its write-ahead log included."""
        files = (f"{self.path}{suffix}" for suffix in ("", "-wal"))
        return sum(os.stat(f).st_size for f in files if os.path.exists(f))

    # -- scripts -------------------------------------------------------------------------------

    def script_started(self, run_id: int, script: Script, *, attempt: int, log_path: Path,
                       keys: tuple[str | None, str | None], reason: str | None) -> None:
        """Record that an attempt starts: the script is ``running`` from now on."""
        now = time.time()
        with self._write() as conn:
            row = self._result_row(conn, run_id, script)
            conn.execute(
                "UPDATE results SET status = 'running', attempts = ?, "
                "started = COALESCE(started, ?), content_hash = ?, env_hash = ?, "
                "reason = COALESCE(reason, ?), log_path = ? WHERE id = ?",
                (attempt, now, keys[0], keys[1], reason, str(log_path), row))
            conn.execute("INSERT OR REPLACE INTO attempts (result_id, attempt, started, log_path)"
                         " VALUES (?, ?, ?, ?)", (row, attempt, now, str(log_path)))

    def script_finished(self, run_id: int, script: Script, result: ScriptResult, *,
                        keys: tuple[str | None, str | None], reused_from: int | None,
                        resources: dict[str, Any] | None) -> None:
        """Record a script's final result in this run."""
        with self._write() as conn:
            row = self._result_row(conn, run_id, script)
            conn.execute(
                "UPDATE results SET status = ?, cached = ?, reused_from = ?, attempts = ?, "
                "started = ?, finished = ?, exit_code = ?, signal = ?, failure_class = ?, "
                "message = ?, log_path = COALESCE(?, log_path), resources = ?, "
                "content_hash = COALESCE(?, content_hash), env_hash = COALESCE(?, env_hash), "
                "failed_command = ?, failed_line = ?, failed_step = ?, evidence = ? "
                "WHERE id = ?",
                (str(result.status), int(result.cached), reused_from, result.attempts,
                 result.started, result.finished, result.exit_code, result.signal,
                 result.failure_class, result.message,
                 str(result.log_path) if result.log_path else None,
                 json.dumps(resources) if resources else None, keys[0], keys[1],
                 *_where_failed(result), row))
            if not result.cached:
                self._attempt_ended(conn, row, result)

    def attempt_finished(self, run_id: int, script: Script, result: ScriptResult) -> None:
        """Record how one attempt ended (``result.attempts`` is its number): a failed attempt
        is recorded so before it is retried; the last one with the script's result."""
        with self._write() as conn:
            self._attempt_ended(conn, self._result_row(conn, run_id, script), result)

    @staticmethod
    def _attempt_ended(conn: sqlite3.Connection, row: int, result: ScriptResult) -> None:
        conn.execute(
            "UPDATE attempts SET finished = ?, exit_code = ?, signal = ?, failure_class = ?, "
            "message = ?, failed_command = ?, failed_line = ?, failed_step = ?, evidence = ? "
            "WHERE result_id = ? AND attempt = ?",
            (result.finished, result.exit_code, result.signal, result.failure_class,
             result.message, *_where_failed(result), row, result.attempts))

    @staticmethod
    def _result_row(conn: sqlite3.Connection, run_id: int, script: Script) -> int:
        """The id of the script's row in this run (added at the end if the plan lacked it)."""
        found = conn.execute("SELECT id FROM results WHERE run_id = ? AND name = ?",
                             (run_id, script.name)).fetchone()
        if found is not None:
            return int(found[0])
        cursor = conn.execute(
            "INSERT INTO results (run_id, position, name, path, phase, version, packages) "
            "VALUES (?, (SELECT COALESCE(MAX(position), 0) + 1 FROM results WHERE run_id = ?), "
            "?, ?, ?, ?, ?)", (run_id, run_id, *_script_columns(script)))
        return int(cursor.lastrowid or 0)

    # -- events and samples --------------------------------------------------------------------

    def add_events(self, run_id: int, events: Sequence[Event]) -> None:
        """Insert one batch of events in one transaction."""
        rows = [(run_id, e.seq, e.time, e.kind, int(e.priority), e.script,
                 record_to_json(e.record)) for e in events]
        if rows:
            with self._write() as conn:
                conn.executemany("INSERT INTO events (run_id, seq, time, kind, priority, script,"
                                 " payload) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def add_samples(self, run_id: int, samples: Sequence[Sample]) -> None:
        """Insert one batch of samples in one transaction."""
        rows = [(run_id, s.time, s.script, json.dumps(s.values)) for s in samples]
        if rows:
            with self._write() as conn:
                conn.executemany("INSERT INTO samples (run_id, time, script, metrics) "
                                 "VALUES (?, ?, ?, ?)", rows)

    # -- history -------------------------------------------------------------------------------

    def last_builds(self) -> dict[str, Build]:
        """For each script name, the last time it really ran (whatever came of it), in one
        query: resume asks it of every script of a build."""
        marks = ", ".join("?" * len(RAN))
        rows = self._read(
            f"SELECT {_BUILD_COLUMNS}, name FROM results WHERE id IN (SELECT MAX(id) FROM "
            f"results WHERE cached = 0 AND status IN ({marks}) GROUP BY name)", RAN)
        return {row[-1]: Build(*row[:-1]) for row in rows}

    def last_pass(self, name: str) -> Build | None:
        """The last time ``name`` really ran and passed, or None."""
        rows = self._read(f"SELECT {_BUILD_COLUMNS} FROM results WHERE name = ? AND cached = 0 "
                          f"AND status = 'passed' ORDER BY id DESC LIMIT 1", (name,))
        return Build(*rows[0]) if rows else None

    def last_passes(self) -> dict[str, Build]:
        """For each script name, the last time it really ran and passed."""
        rows = self._read(
            f"SELECT {_BUILD_COLUMNS}, name FROM results WHERE id IN (SELECT MAX(id) FROM "
            f"results WHERE status = 'passed' AND cached = 0 GROUP BY name)")
        return {row[-1]: Build(*row[:-1]) for row in rows}

    def recent_durations(self, keep: int, target: str | None = None) -> dict[str, list[float]]:
        """The durations of the last ``keep`` passes (really run) of each script, newest first,
        in runs of ``target`` (None: runs without a target label, older runs included)."""
        rows = self._read(
            "SELECT name, duration FROM (SELECT name, finished - started AS duration, "
            "ROW_NUMBER() OVER (PARTITION BY name ORDER BY id DESC) AS n FROM results "
            "WHERE status = 'passed' AND cached = 0 AND started IS NOT NULL "
            f"AND finished IS NOT NULL AND {OF_TARGET}) WHERE n <= ? ORDER BY name, n",
            (target, keep))
        durations: dict[str, list[float]] = {}
        for name, duration in rows:
            durations.setdefault(name, []).append(max(0.0, float(duration)))
        return durations

    # -- imported history ----------------------------------------------------------------------

    def add_history(self, source: str, entries: Sequence[HistoryEntry]) -> int:
        """Replace what was imported from ``source`` with ``entries``; return how many."""
        now = time.time()
        rows = [(source, now, i, e.name, e.version, e.seconds, e.sbu, e.sbu_seconds, e.jobs,
                 json.dumps(e.disk) if e.disk else None) for i, e in enumerate(entries, 1)]
        with self._write() as conn:
            conn.execute("DELETE FROM history WHERE source = ?", (source,))
            conn.executemany(
                "INSERT INTO history (source, imported, position, name, version, seconds, sbu, "
                "sbu_seconds, jobs, disk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        return len(rows)

    def history(self) -> list[HistoryEntry]:
        """Every imported entry, oldest import first, each in its source's order."""
        rows = self._read("SELECT source, position, name, version, seconds, sbu, sbu_seconds, "
                          "jobs, disk FROM history ORDER BY imported, source, position")
        return [HistoryEntry(name=r[2], version=r[3], seconds=float(r[4]), sbu=r[5],
                             sbu_seconds=r[6], jobs=r[7],
                             disk=json.loads(r[8]) if r[8] else {}, source=r[0], position=r[1])
                for r in rows]

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read for the commands that show the state (``status``, ``log``)."""
        return self._read(sql, args)
