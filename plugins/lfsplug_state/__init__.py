"""State: every run and script result in an SQLite database, resume, history and durations.

``state.db`` (SQLite in WAL mode) in the state directory records each run, each script's
result as it starts (``running``) and ends, the events of the bus and the resource samples.
``lfsplug run`` again reuses each script that passed with the same content and environment
and whose dependencies were not built after it (:mod:`.resume`); ``--force NAME`` and
``--force-all`` run scripts again anyway. ``lfsplug status`` shows the last build and
``lfsplug log NAME`` prints a script's last log, or any run's and attempt's (:mod:`.status`);
each run's logs have a folder of their own (``logs/RUN``, named as the recorder starts the run),
pruned with the run (:mod:`.retention`). The median of a script's last durations answers
``lfsplug_expected_duration`` for the critical path and the ETA.

This module is the gate: ``lfsplug_configure`` makes the command's state service
(:class:`~lfsplug_state.service.StateDatabase`, the kernel's :class:`lfsplug.StateService`,
which owns the connection), opens the store for a run and registers one plugin object
(:mod:`.recorder`, :mod:`.history`) under :data:`PLUGIN_NAME`; ``lfsplug_unconfigure`` closes
them. Other plugins read the records only through the service (``lfsplug_state_service``).
The database layout and its migrations are in :mod:`.schema`, the one connection and its lock
in :mod:`.store`, the reads other plugins make in :mod:`.queries`. docs/state.md describes it
all for users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from lfsplug import SettingsTable, StashKey, hookimpl, integer, list_of, number

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser, StateService
    from lfsplug_state.history import StateHistory
    from lfsplug_state.recorder import StateRecorder
    from lfsplug_state.service import StateDatabase
    from lfsplug_state.store import RunLock

__all__ = ["DB_FILE", "PLUGIN_NAME"]

#: The database's file name in the state directory.
DB_FILE = "state.db"

#: The name the plugin object is registered under for a command (``lfsplug plugins``).
PLUGIN_NAME = "state-store"
#: Runs kept by default (``[state] keep_runs``).
DEFAULT_KEEP_RUNS = 100
#: Variables left out of the environment hash. TERM shapes the terminal, not the build, and
#: differs between a desktop terminal, ``screen`` and ``nohup`` (where TERM is unset).
#: MAKEFLAGS says how many jobs make runs (``-j``, the jobserver of a parallel run): how fast
#: a package builds, not what it builds; switching between ``-j 1`` and ``-j 4`` must not
#: rebuild everything.
DEFAULT_ENV_IGNORE = ("TERM", "MAKEFLAGS")

#: The state plugin's options (top-level keys of the file too).
OPTIONS = SettingsTable()
FORCE = OPTIONS.add("force", list_of(str, single=True), [], "run script NAME again even if it "
                    "passed unchanged; may be repeated", option=("--force",), commands=("run",),
                    metavar="NAME")
FORCE_ALL = OPTIONS.add("force_all", bool, False, "run every script again, reusing nothing "
                        "from earlier runs", option=("--force-all",), commands=("run",))
ATTEMPT = OPTIONS.add("attempt", integer(1), None, "print the log of attempt N (default: the "
                      "last attempt)", option=("--attempt",), commands=("log",), metavar="N")
PATH_ONLY = OPTIONS.add("path_only", bool, False, "print the log's path, not the log",
                        option=("--path",), commands=("log",))
#: ``log --run N``: the reports plugin declares ``--run`` for ``report``; this declaration is
#: made only when it does not (``-p no:reports``), else its option is offered to ``log`` too.
RUN = SettingsTable().add("run", integer(1), None, "the log of run N (default: the last run "
                          "that ran the script)", option=("--run",), commands=("log",),
                          metavar="N")
PRUNE = OPTIONS.add("prune", bool, False, "first delete the runs that [state] keep_runs and "
                    "keep_days let go (never those resume needs) and reclaim their space",
                    option=("--prune",), commands=("status",))
#: The ``[state]`` table (docs/state.md).
TABLE = SettingsTable("state")
KEEP_RUNS = TABLE.add("keep_runs", integer(0, note="0: no limit"), DEFAULT_KEEP_RUNS,
                      "keep the last N runs in the database")
KEEP_DAYS = TABLE.add("keep_days", number(0, note="0: no limit"), 0.0,
                      "keep the runs of the last D days")
ENV_IGNORE = TABLE.add("env_ignore", list_of(str), list(DEFAULT_ENV_IGNORE),
                       "variables left out of the environment that decides whether a passed "
                       "script is reused")

#: The run lock a ``run`` holds from configure to unconfigure.
_LOCK: StashKey[RunLock] = StashKey()
#: The state service of the command (made by configure, or on first use for status and log).
_SERVICE: StashKey[StateDatabase] = StashKey()


@hookimpl(trylast=True)  # after the reports plugin's, to offer its --run to log
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(OPTIONS, TABLE)
    if parser.by_flag("--run") is None:
        parser.add(RUN)
    else:
        parser.offer("run", ("log",))


# The commands import the database modules (and sqlite3) only when they run: start-up time.
def cmd_status(config: Config) -> int:
    """``lfsplug status``: the last build."""
    from lfsplug_state.status import cmd_status

    return cmd_status(config)


def cmd_log(config: Config) -> int:
    """``lfsplug log NAME [--run N] [--attempt K] [--path]``: a script's log."""
    from lfsplug_state.status import cmd_log

    return cmd_log(config)


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    commands.add("status", cmd_status, help="Show the last build of the scripts in PATH: "
                 "each script's status, duration, attempts and log.", finds_build=True)
    commands.add("log", cmd_log, help="Print the log of script NAME's last attempt in the "
                 "last run that ran it (--run N: in run N; --attempt K: of attempt K).",
                 arguments=("name",), finds_build=True)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command in ("status", "log"):
        return  # they read the database themselves, and only when asked
    from lfsplug_state.history import StateHistory

    database = _service(config)
    dry = bool(config.getoption("dry_run", False))
    if config.command == "run" and not dry:
        recorder = _open_for_run(config, database)
        database.recorder = recorder
        plugin: StateHistory = recorder
    elif config.command == "run":
        from lfsplug_state.recorder import StateRecorder

        # a dry run says what would be reused, and records nothing; an unusable file is a
        # warning (as for list and check), and nothing is reused from it
        database.consequence = ("nothing is reused from it in this dry run, and a run stops "
                                "on it (exit 4)")
        store = database.reader()
        plugin = (StateRecorder(config, database, store, recording=False) if store
                  else StateHistory(config, database))
    else:
        plugin = StateHistory(config, database)
    config.pluginmanager.register(plugin, PLUGIN_NAME)


# trylast: the built-in answer, so that another plugin may offer state of its own
@hookimpl(trylast=True)
def lfsplug_state_service(config: Config) -> StateService | None:
    """The records of the builds, through :class:`~lfsplug_state.service.StateDatabase`."""
    return _service(config)


def _service(config: Config) -> StateDatabase:
    service = config.stash.get(_SERVICE)
    if service is None:
        from lfsplug_state.service import StateDatabase

        service = config.stash[_SERVICE] = StateDatabase(config.state_dir,
                                                         labels=config.labels)
    return service


def _open_for_run(config: Config, database: StateDatabase) -> StateRecorder:
    """Lock the state directory, open (or create) the database, mark unfinished runs."""
    from lfsplug_state.recorder import StateRecorder
    from lfsplug_state.schema import os_error
    from lfsplug_state.store import RunLock

    state_dir = config.state_dir
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a read-only file system, another user's folder
        raise os_error(state_dir, exc) from None
    lock = RunLock(state_dir)
    lock.acquire()
    try:
        store = database.writer()
        try:
            unfinished = store.mark_unfinished()
        except BaseException:
            database.close()
            raise
    except BaseException:
        lock.release()
        raise
    config.stash[_LOCK] = lock
    for run_id, names in unfinished:
        again = "runs again" if len(names) == 1 else "run again"
        running = f" while running {', '.join(names)}, which {again}" if names else ""
        click.echo(f"lfsplug: run {run_id} did not finish (killed or crashed){running}",
                   err=True)
    return StateRecorder(config, database, store)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    config.pluginmanager.unregister_and_close(PLUGIN_NAME)
    service = config.stash.get(_SERVICE)
    if service is not None:
        service.close()
        del config.stash[_SERVICE]
    lock = config.stash.get(_LOCK)
    if lock is not None:
        lock.release()
        del config.stash[_LOCK]
