"""State: every run and script result in an SQLite database, resume, history and durations.

``state.db`` (SQLite in WAL mode) in the state directory records each run, each script's
result as it starts (``running``) and ends, the events of the bus and the resource samples.
``lfsplug run`` again reuses each script that passed with the same content and environment
and whose dependencies were not built after it (:mod:`.resume`); ``--force NAME`` and
``--force-all`` run scripts again anyway. ``lfsplug status`` shows the last build and
``lfsplug log NAME`` prints a script's last log (:mod:`.status`). The median of a script's last
durations answers ``lfsplug_expected_duration`` for the critical path and the ETA.

This module is the gate: ``lfsplug_configure`` opens the store and registers one plugin object
(:mod:`.recorder`) under :data:`PLUGIN_NAME`; ``lfsplug_unconfigure`` closes it. The database
layout and its migrations are in :mod:`.schema`, the one connection and its lock in
:mod:`.store`. docs/state.md describes it all for users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lfsplug import StashKey, hookimpl, positive_int

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser
    from lfsplug_state.history import StateHistory
    from lfsplug_state.recorder import StateRecorder
    from lfsplug_state.store import RunLock

__all__ = ["DB_FILE", "PLUGIN_NAME"]

#: The database's file name in the state directory.
DB_FILE = "state.db"

#: The name the plugin object is registered under for a command (``lfsplug plugins``).
PLUGIN_NAME = "state-store"
#: The run lock a ``run`` holds from configure to unconfigure.
_LOCK: StashKey[RunLock] = StashKey()


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.addoption("--force", commands=("run",), action="append", metavar="NAME",
                     help="run script NAME again even if it passed unchanged; may be repeated")
    parser.addoption("--force-all", commands=("run",), action="store_true",
                     help="run every script again, reusing nothing from earlier runs")
    parser.addoption("--attempt", commands=("log",), type=positive_int, metavar="N",
                     help="print the log of attempt N (default: the last attempt)")
    parser.addoption("--prune", commands=("status",), action="store_true",
                     help="first delete the runs that [state] keep_runs and keep_days let go "
                          "(never those resume needs) and reclaim their space")


# The commands import the database modules (and sqlite3) only when they run: start-up time.
def cmd_status(config: Config) -> int:
    """``lfsplug status``: the last build."""
    from lfsplug_state.status import cmd_status

    return cmd_status(config)


def cmd_log(config: Config) -> int:
    """``lfsplug log NAME``: a script's last log."""
    from lfsplug_state.status import cmd_log

    return cmd_log(config)


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    commands.add("status", cmd_status, help="Show the last build: each script's status, "
                 "duration, attempts and log.")
    commands.add("log", cmd_log, help="Print the log of script NAME's last attempt in the "
                 "last run that ran it.", arguments=("name",))


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command in ("status", "log"):
        return  # they read the database themselves, and only when asked
    from lfsplug_state.history import StateHistory

    dry = bool(config.getoption("dry_run", False))
    if config.command == "run" and not dry:
        plugin: StateHistory = _open_for_run(config)
    elif config.command == "run":
        from lfsplug_state.recorder import StateRecorder

        history = StateHistory(config)
        store = history.open_store()
        # a dry run says what would be reused, and records nothing
        plugin = StateRecorder(config, store, recording=False) if store else history
    else:
        plugin = StateHistory(config)
    config.pluginmanager.register(plugin, PLUGIN_NAME)


def _open_for_run(config: Config) -> StateRecorder:
    """Lock the state directory, open (or create) the database, mark unfinished runs."""
    from lfsplug_state.recorder import StateRecorder
    from lfsplug_state.store import RunLock, StateStore

    state_dir = config.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    lock = RunLock(state_dir)
    lock.acquire()
    try:
        store = StateStore.open(state_dir, create=True)
        try:
            unfinished = store.mark_unfinished()
        except BaseException:
            store.close()
            raise
    except BaseException:
        lock.release()
        raise
    config.stash[_LOCK] = lock
    for run_id, names in unfinished:
        running = f" while running {', '.join(names)}, which runs again" if names else ""
        click.echo(f"lfsplug: run {run_id} did not finish (killed or crashed){running}",
                   err=True)
    return StateRecorder(config, store)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    config.pluginmanager.unregister_and_close(PLUGIN_NAME)
    lock = config.stash.get(_LOCK)
    if lock is not None:
        lock.release()
        del config.stash[_LOCK]
