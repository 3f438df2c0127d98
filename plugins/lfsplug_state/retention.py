"""Retention: keep the last N runs or D days, so that a machine that builds for months keeps a
bounded database.

``[state] keep_runs`` (default 100; 0 keeps every run) and ``keep_days`` (default: no limit)
each bound the runs kept: a run goes when it is older than the last ``keep_runs`` runs, or
started more than ``keep_days`` days ago. Some runs stay whatever the policy says:

* the newest run (``lfsplug status`` shows it);
* a run still going;
* for each script, the run that holds the last time it really ran, and the run that holds its
  last pass: resume compares the script with that build (a script that passed in run 3 and has
  been reused since still needs run 3's row, or it would be built again).

Deleting a run deletes its results, attempts, events and samples (``ON DELETE CASCADE``), and
its logs (``logs/RUN/``: each log file it recorded that no run kept still points to, and the
folder once empty); imported history is not a run and is never pruned. The pruning happens
at the end of every ``run`` and on ``lfsplug status --prune``; then the space is reclaimed
with ``VACUUM`` (after a ``run`` only when a quarter of the file or more is free, since SQLite
reuses free pages anyway).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug_state import DEFAULT_KEEP_RUNS, KEEP_DAYS, KEEP_RUNS

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["DEFAULT_KEEP_RUNS", "Policy", "Pruned", "doomed_runs", "protected_runs",
           "read_policy"]

#: The share of free pages above which the end of a run reclaims the space.
VACUUM_SHARE = 0.25
_RAN = ("passed", "failed", "running", "interrupted")


@dataclass(frozen=True)
class Policy:
    """How many runs, and how many days of runs, to keep (None: no bound)."""

    keep_runs: int | None = DEFAULT_KEEP_RUNS
    keep_days: float | None = None


@dataclass
class Pruned:
    """What one pruning did: the runs deleted, and those the policy let go but resume kept."""

    deleted: list[int] = field(default_factory=list)
    kept_for_resume: list[int] = field(default_factory=list)
    size_before: int = 0
    size_after: int = 0
    #: the log files removed with the deleted runs
    logs_removed: int = 0


def read_policy(config: Config) -> Policy:
    """The policy of ``[state] keep_runs`` and ``keep_days`` (0: no bound), as the kernel
    read them."""
    return Policy(config.get(KEEP_RUNS) or None, config.get(KEEP_DAYS) or None)


def protected_runs(conn: sqlite3.Connection) -> set[int]:
    """The runs kept whatever the policy: the newest, those going, and for each script the
    runs of its last real build and of its last pass."""
    marks = ", ".join("?" * len(_RAN))
    rows = conn.execute(
        f"SELECT run_id FROM results WHERE id IN ("
        f"SELECT MAX(id) FROM results WHERE cached = 0 AND status IN ({marks}) GROUP BY name "
        f"UNION SELECT MAX(id) FROM results WHERE cached = 0 AND status = 'passed' "
        f"GROUP BY name) "
        f"UNION SELECT id FROM runs WHERE state = 'running' "
        f"UNION SELECT MAX(id) FROM runs", _RAN)
    return {int(r[0]) for r in rows if r[0] is not None}


def doomed_runs(conn: sqlite3.Connection, policy: Policy, now: float) -> tuple[list[int],
                                                                                list[int]]:
    """The runs the policy lets go: (those to delete, those resume keeps), oldest first."""
    runs = [(int(i), float(s)) for i, s in conn.execute(
        "SELECT id, started FROM runs ORDER BY id DESC")]
    beyond = set()
    if policy.keep_runs is not None:
        beyond |= {run_id for run_id, _ in runs[policy.keep_runs:]}
    if policy.keep_days is not None:
        oldest = now - policy.keep_days * 86400
        beyond |= {run_id for run_id, started in runs if started < oldest}
    if not beyond:
        return [], []
    keep = protected_runs(conn)
    return sorted(beyond - keep), sorted(beyond & keep)


def delete_runs(conn: sqlite3.Connection, run_ids: list[int]) -> None:
    """Delete the runs and, by cascade, everything recorded under them."""
    for start in range(0, len(run_ids), 500):  # SQLite's limit on bound parameters
        chunk = run_ids[start:start + 500]
        conn.execute(f"DELETE FROM runs WHERE id IN ({', '.join('?' * len(chunk))})", chunk)


def doomed_logs(conn: sqlite3.Connection, run_ids: list[int]) -> list[str]:
    """The log files that runs ``run_ids`` recorded and no other run points to (a reused
    result points to the log of the run it reuses; an lfsplug that kept one log per script
    wrote every run's log to one path). Call it before :func:`delete_runs`."""
    doomed: set[str] = set()
    for start in range(0, len(run_ids), 500):
        chunk = run_ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        doomed.update(r[0] for r in conn.execute(
            f"SELECT log_path FROM results WHERE run_id IN ({marks}) AND cached = 0 AND "
            f"log_path IS NOT NULL UNION SELECT a.log_path FROM attempts a JOIN results r ON "
            f"r.id = a.result_id WHERE r.run_id IN ({marks}) AND a.log_path IS NOT NULL",
            chunk + chunk))
    if not doomed:
        return []
    gone = set(run_ids)
    kept = {path for run_id, path in conn.execute(
        "SELECT run_id, log_path FROM results WHERE log_path IS NOT NULL UNION "
        "SELECT r.run_id, a.log_path FROM attempts a JOIN results r ON r.id = a.result_id "
        "WHERE a.log_path IS NOT NULL") if run_id not in gone}
    return sorted(doomed - kept)


def remove_logs(paths: list[str], logs: Path) -> int:
    """Remove the log files ``paths`` that lie in the folder ``logs`` (never a file elsewhere,
    as in a database copied from another state directory), then each run folder they leave
    empty but for the executor's ``latest`` link; return how many files went."""
    removed, folders = 0, set()
    top = os.path.realpath(logs)
    for path in paths:
        real = os.path.realpath(path)
        if os.path.commonpath([top, real]) != top or real == top or os.path.islink(path):
            continue  # elsewhere, or a link (logs/NAME.log where an old log was)
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError:
            continue
        else:
            removed += 1
        folders.add(os.path.dirname(path))
    for folder in folders:
        if os.path.realpath(folder) == top:
            continue  # the old layout: logs/NAME.log
        with contextlib.suppress(OSError):
            if set(os.listdir(folder)) <= {"latest"}:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(folder, "latest"))
                os.rmdir(folder)
    return removed


def worth_vacuum(conn: sqlite3.Connection) -> bool:
    """Whether free pages make up :data:`VACUUM_SHARE` of the file or more."""
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    return bool(pages) and free / pages >= VACUUM_SHARE
