"""The state database's schema, its versions and the migrations between them.

The database records a version (``schema_version``, one row) from the first release on, so
that a later lfsplug can migrate an older file in place and an older lfsplug refuses a newer
file instead of misreading it. :data:`MIGRATIONS` maps each version to the statements that
bring a database from the version before it; :func:`connect` opens a file, checks it and
applies what is missing, each step in one transaction.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from pathlib import Path

from lfsplug import UsageError, disk_full
from lfsplug_state import DB_FILE

__all__ = ["DB_FILE", "MIGRATIONS", "SCHEMA_VERSION", "StateFileError", "connect",
           "os_error", "state_error"]


#: Version 1: runs, the results of their scripts, attempts, events and samples.
_V1 = (
    """CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        started REAL NOT NULL,
        finished REAL,
        exit_code INTEGER,
        state TEXT NOT NULL DEFAULT 'running',
        command_line TEXT NOT NULL,
        version TEXT NOT NULL,
        host TEXT NOT NULL,
        pid INTEGER NOT NULL,
        total INTEGER,
        events_kept INTEGER NOT NULL DEFAULT 0,
        events_dropped INTEGER NOT NULL DEFAULT 0,
        samples_kept INTEGER NOT NULL DEFAULT 0,
        samples_dropped INTEGER NOT NULL DEFAULT 0
    )""",
    """CREATE TABLE results (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        path TEXT NOT NULL,
        content_hash TEXT,
        env_hash TEXT,
        status TEXT NOT NULL DEFAULT 'not-run',
        cached INTEGER NOT NULL DEFAULT 0,
        reused_from INTEGER REFERENCES results(id) ON DELETE SET NULL,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        started REAL,
        finished REAL,
        exit_code INTEGER,
        signal INTEGER,
        failure_class TEXT,
        message TEXT,
        log_path TEXT,
        resources TEXT,
        UNIQUE (run_id, name)
    )""",
    "CREATE INDEX results_by_name ON results (name, id)",
    """CREATE TABLE attempts (
        result_id INTEGER NOT NULL REFERENCES results(id) ON DELETE CASCADE,
        attempt INTEGER NOT NULL,
        started REAL NOT NULL,
        log_path TEXT,
        PRIMARY KEY (result_id, attempt)
    )""",
    """CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        time REAL NOT NULL,
        kind TEXT NOT NULL,
        priority INTEGER NOT NULL,
        script TEXT,
        payload TEXT
    )""",
    "CREATE INDEX events_by_run ON events (run_id, seq)",
    """CREATE TABLE samples (
        id INTEGER PRIMARY KEY,
        run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        time REAL NOT NULL,
        script TEXT,
        metrics TEXT NOT NULL
    )""",
    "CREATE INDEX samples_by_run ON samples (run_id, time)",
)

#: Version 2: durations imported from elsewhere (a jhalfs SBU report, another machine's
#: database), kept apart from ``results`` so that resume never mistakes them for a build here.
#: One row per package build in the source's order; ``sbu_seconds`` is the source's SBU unit
#: and ``disk`` a JSON object of its disk figures (KiB): before, after, required, installed.
_V2 = (
    """CREATE TABLE history (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        imported REAL NOT NULL,
        position INTEGER NOT NULL,
        name TEXT NOT NULL,
        version TEXT,
        seconds REAL NOT NULL,
        sbu REAL,
        sbu_seconds REAL,
        jobs INTEGER,
        disk TEXT
    )""",
    "CREATE INDEX history_by_name ON history (name, id)",
)

#: Version 3: a run's own figures (``metrics``, JSON): the monitor's summaries of the system
#: samples, the SBU, how far the first ETA was off, what sampling cost.
_V3 = ("ALTER TABLE runs ADD COLUMN metrics TEXT",)

#: Version 4: what discovery knew of each script of a run (its ``phase`` and ``version``, and
#: ``packages``, the JSON list of the packages a multi-package script builds), so that a report
#: written later from the database is the report written as the run ended. Rows of earlier
#: runs keep NULL: their reports group scripts by folder, as they always did.
_V4 = (
    "ALTER TABLE results ADD COLUMN phase TEXT",
    "ALTER TABLE results ADD COLUMN version TEXT",
    "ALTER TABLE results ADD COLUMN packages TEXT",
)

#: Version 5: where a script failed (the recovery plugin's findings: ``failed_command``,
#: ``failed_line``, ``failed_step`` and ``evidence``, a JSON list of the lines that showed the
#: class), for its result and for each attempt, with how each attempt ended (``finished``,
#: ``exit_code``, ``signal``, ``failure_class``, ``message``). Rows of earlier runs keep NULL.
_FAILED = ("failed_command TEXT", "failed_line INTEGER", "failed_step TEXT", "evidence TEXT")
_V5 = (
    *(f"ALTER TABLE results ADD COLUMN {column}" for column in _FAILED),
    *(f"ALTER TABLE attempts ADD COLUMN {column}" for column in (
        "finished REAL", "exit_code INTEGER", "signal INTEGER", "failure_class TEXT",
        "message TEXT", *_FAILED)),
)

#: Version 6: what each run was for (``labels``, the JSON object of ``config.labels``) and its
#: ``target`` label apart, which the history of durations (ETA, SBU) is kept per: a run's
#: durations count only for runs of the same target. Runs recorded before keep NULL in both:
#: no labels, no target.
_V6 = (
    "ALTER TABLE runs ADD COLUMN labels TEXT",
    "ALTER TABLE runs ADD COLUMN target TEXT",
)

#: The statements that bring a database from version ``n - 1`` to ``n``.
MIGRATIONS: dict[int, tuple[str, ...]] = {1: _V1, 2: _V2, 3: _V3, 4: _V4, 5: _V5, 6: _V6}
#: The version this lfsplug writes.
SCHEMA_VERSION = max(MIGRATIONS)


class StateFileError(UsageError):
    """The state database cannot be used (corrupt, another program's, from a newer lfsplug,
    read-only, not ours to write, on a full disk): exit 4. ``disk_full`` tells the last."""

    def __init__(self, message: str, *, disk_full: bool = False) -> None:
        super().__init__(message)
        self.disk_full = disk_full


#: SQLite's names of the errors that mean the file's content is damaged or not a database.
_DAMAGED = ("SQLITE_CORRUPT", "SQLITE_NOTADB")


def _unwritable(path: Path) -> str | None:
    """Why ``path`` (the database or its directory) cannot be written, and what to do, if it
    cannot: a read-only file system, or permissions (naming the owner); None when it can."""
    for where in (path.parent, path):
        try:
            if os.statvfs(where).f_flag & os.ST_RDONLY:
                return (f"{where} is on a read-only file system; mount it read-write, or use "
                        f"another --state-dir")
            info = where.stat()
        except OSError:
            continue
        if not os.access(where, os.W_OK | (os.X_OK if where.is_dir() else 0)):
            try:
                import pwd

                owner = pwd.getpwuid(info.st_uid).pw_name
            except (ImportError, KeyError):
                owner = f"uid {info.st_uid}"
            return (f"permission denied: {where} belongs to {owner} (mode "
                    f"{info.st_mode & 0o7777:o}) and this lfsplug runs as uid {os.getuid()}; "
                    f"run lfsplug as {owner}, or use another --state-dir")
    return None


def state_error(path: Path, exc: sqlite3.Error) -> StateFileError:
    """A one-line error for what SQLite said of ``path``: a damaged file (move it away), or a
    healthy one that cannot be written or grown (say why; never advise moving it away)."""
    name = getattr(exc, "sqlite_errorname", "") or ""
    if name.startswith(_DAMAGED) or (
            isinstance(exc, sqlite3.DatabaseError) and not name
            and not isinstance(exc, sqlite3.OperationalError)):
        return StateFileError(
            f"{path}: not a usable state database ({exc}); move it away to start afresh "
            f"(the build's history is lost) or use another --state-dir")
    if name.startswith("SQLITE_FULL"):
        return _disk_full(path)
    why = _unwritable(path)
    if why is not None:
        return StateFileError(f"{path}: the state database cannot be written: {why}")
    return StateFileError(f"{path}: the state database cannot be used ({exc})")


def _disk_full(path: Path) -> StateFileError:
    return StateFileError(disk_full(path), disk_full=True)


def os_error(path: Path, exc: OSError) -> StateFileError:
    """A one-line error for a file of the state directory that cannot be made or opened."""
    if exc.errno == errno.ENOSPC:
        return _disk_full(path)
    why = _unwritable(path) if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM) else None
    return StateFileError(f"{path}: cannot be written: "
                          f"{why or f'{exc.strerror or exc}; use another --state-dir'}")


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    """Open the database at ``path`` in WAL mode, migrated to :data:`SCHEMA_VERSION`.

    ``create`` allows a new file; without it a missing file is :class:`FileNotFoundError`.
    Anything wrong with the file itself is a :class:`StateFileError` naming it, never a
    traceback.
    """
    if not create and not path.is_file():
        raise FileNotFoundError(str(path))
    try:
        conn = sqlite3.connect(
            f"file:{path}?mode={'rwc' if create else 'rw'}", uri=True,
            # one connection serves the scheduler's, the bus's and the sampler's threads; the
            # store's lock serialises every use of it
            check_same_thread=False, isolation_level=None, timeout=10.0,
        )
    except sqlite3.Error as exc:
        raise state_error(path, exc) from None
    try:
        _prepare(conn, path)
    except sqlite3.Error as exc:
        conn.close()
        raise state_error(path, exc) from None
    except BaseException:
        conn.close()
        raise
    return conn


def _prepare(conn: sqlite3.Connection, path: Path) -> None:
    conn.execute("PRAGMA foreign_keys = ON")
    version = _version(conn)
    if version > SCHEMA_VERSION:
        raise StateFileError(
            f"{path}: written by a newer lfsplug (schema version {version}; this lfsplug knows "
            f"versions up to {SCHEMA_VERSION}): upgrade lfsplug, or use another --state-dir"
        )
    mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
    if str(mode).lower() != "wal":
        raise sqlite3.DatabaseError(f"cannot switch to WAL mode (journal mode is {mode})")
    # In WAL mode NORMAL loses no committed transaction when the process dies (kill -9);
    # only a power failure may lose the last ones, and the file stays consistent.
    conn.execute("PRAGMA synchronous = NORMAL")
    migrate(conn, version)


def _version(conn: sqlite3.Connection) -> int:
    """The file's schema version: 0 for an empty file; reading it proves the file is SQLite."""
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if "schema_version" not in tables:
        if tables:
            raise sqlite3.DatabaseError(
                f"an SQLite file, but not lfsplug's (tables: {', '.join(sorted(tables))})"
            )
        return 0
    row = conn.execute("SELECT version FROM schema_version").fetchone()
    if row is None or not isinstance(row[0], int):
        raise sqlite3.DatabaseError("the schema_version table holds no version")
    return int(row[0])


def migrate(conn: sqlite3.Connection, current: int) -> None:
    """Apply every migration after ``current``, each in a transaction of its own."""
    for version in range(current + 1, SCHEMA_VERSION + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            # another process may have migrated since the version was read: look again, locked
            if _version(conn) >= version:
                conn.execute("COMMIT")
                continue
            if version == 1:
                conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
                conn.execute("INSERT INTO schema_version (version) VALUES (0)")
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute("UPDATE schema_version SET version = ?", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
