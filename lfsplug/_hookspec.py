"""The hook specifications: the whole plugin API of lfsplug, grouped by phase.

Each spec documents its parameters, its return value and whether it is ``firstresult``. A plugin
implements a hook with a function of the same name marked :data:`lfsplug.hookimpl`, taking any
subset of the parameters. ``python tools/docgen.py`` makes docs/hooks.md from this module.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from collections.abc import Callable

    from lfsplug._config import CommandSet, Config, OptionParser
    from lfsplug._manager import PluginManager
    from lfsplug._model import (
        Edge,
        Estimate,
        Event,
        FailureClass,
        Finding,
        MetaSource,
        Plan,
        Recovery,
        RunRequest,
        Script,
        ScriptResult,
    )
    from lfsplug._session import Session
    from lfsplug._state import StateService


hookspec = pluggy.HookspecMarker("lfsplug")


# ---------------------------------------------------------------------------------------------
# Bootstrap: called while plugins are registered; historic, so a late plugin still sees them.
# ---------------------------------------------------------------------------------------------
@hookspec(historic=True)
def lfsplug_addhooks(pluginmanager: PluginManager) -> None:
    """Add hook specifications of a plugin's own, for other plugins to implement. Historic; not
    available in ``lfsconf.py`` (local files are loaded after the command line is parsed).

    :param pluginmanager: the plugin manager; call ``pluginmanager.add_hookspecs(module)``.
    """


@hookspec(historic=True)
def lfsplug_addoption(parser: OptionParser, pluginmanager: PluginManager) -> None:
    """Declare the plugin's settings: keys of ``lfsplug.toml`` (in its own table or top level),
    which may also be options of commands. Historic: called once per plugin, also for one
    registered later. An ``lfsconf.py`` that implements it is a usage error (exit 4): options
    must be known before the command line is parsed.

    :param parser: bound to this plugin (what it declares names it). ``parser.add(TABLE)`` adds
        a module-level :class:`~lfsplug.SettingsTable` (key, type, default, help; ``option=``
        and ``commands=`` make a setting an option too), read with ``config.get(SETTING)``;
        ``parser.offer("lfs", ("host",))`` makes the kernel's or another plugin's option an
        option of more commands; ``parser.addoption("--name", commands=("run",), ...)`` adds an
        untyped option and top-level key. The kernel converts every value (command line over
        ``LFSPLUG_ADDOPTS`` over file over default), rejects a bad value or undeclared key at
        its file and line (exit 4), and lists every setting in docs/settings.md.
    :param pluginmanager: the plugin manager.
    """


@hookspec(historic=True)
def lfsplug_addcommands(commands: CommandSet, pluginmanager: PluginManager) -> None:
    """Add subcommands to the ``lfsplug`` command. Historic; not allowed in ``lfsconf.py``.

    :param commands: call ``commands.add(name, callback, help=...)``; the callback receives the
        :class:`~lfsplug._config.Config` and returns an exit code. The command's options come
        from :func:`lfsplug_addoption` with ``commands=(name,)``.
    :param pluginmanager: the plugin manager.
    """


@hookspec(historic=True)
def lfsplug_plugin_registered(plugin: object, plugin_name: str, manager: PluginManager) -> None:
    """A plugin was registered. Historic: a late plugin is told of every one registered before.

    :param plugin: the plugin object (a module, or an instance of a plugin class).
    :param plugin_name: the name it was registered under (``-p no:NAME`` blocks it).
    :param manager: the plugin manager.
    """


@hookspec(historic=True)
def lfsplug_configure(config: Config) -> None:
    """The command line and configuration file are read; set up the plugin's state. Historic.
    In ``lfsconf.py`` this is where a local file adjusts configuration.

    :param config: the configuration; read settings with ``config.get(SETTING)`` (options added
        with ``addoption`` with ``config.getoption(name)``) and keep state in ``config.stash``
        or in an object registered with ``config.pluginmanager.register``.
    """


@hookspec
def lfsplug_unconfigure(config: Config) -> None:
    """The command is ending (after ``lfsplug_sessionfinish``): release what configure built.
    Every implementation runs even when one raises; the first failure is then reported (exit 3).

    :param config: the configuration.
    """


# ---------------------------------------------------------------------------------------------
# Session
# ---------------------------------------------------------------------------------------------
@hookspec
def lfsplug_sessionstart(session: Session) -> None:
    """The session was created; no script has been discovered yet.

    :param session: the session, which drives discovery, validation, ordering and execution.
    """


@hookspec
def lfsplug_report_header(config: Config) -> str | list[str] | None:
    """Lines for the header that ``run`` prints before the build starts.

    :param config: the configuration.
    :returns: a line or a list of lines, or None.
    """


@hookspec
def lfsplug_sessionfinish(session: Session, exitstatus: int) -> None:
    """The session ends. Notifiers, reporters and the state store act here; in ``lfsconf.py``,
    run a command at the end of every build.

    :param session: the session (``session.results`` holds every script's result).
    :param exitstatus: the exit code the command will return (see ``lfsplug.ExitCode``).
    """


@hookspec(firstresult=True)
def lfsplug_state_service(config: Config) -> StateService | None:
    """The state service: the run being recorded and the records of earlier runs. Call
    ``config.hook.lfsplug_state_service(config=config)``, not the plugin or its database.

    :param config: the configuration.
    :returns: a :class:`~lfsplug.StateService` (frozen records of runs, results with their
        attempts, events, samples, imported history), or None when no plugin keeps state, as
        with ``-p no:state`` (use what the session holds, or say in one line that ``state`` is
        needed). firstresult; the built-in ``state`` plugin answers last, for every command.
    """


# ---------------------------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------------------------
@hookspec(firstresult=True)
def lfsplug_ignore_path(path: Path, config: Config) -> bool | None:
    """Whether discovery skips ``path``, a file or directory (in ``lfsconf.py``: a drafts folder).

    :param path: the candidate path.
    :param config: the configuration.
    :returns: True to skip it, False to keep it, None to let other plugins decide. firstresult.
    """


@hookspec
def lfsplug_collect_path(path: Path, session: Session) -> list[Script] | None:
    """Find the scripts under one root given on the command line.

    :param path: a root: a directory (walk it) or a single script file.
    :param session: the session.
    :returns: the scripts it recognises, in the layout's order (set ``Script.index``), or None.
        Of two plugins returning the same file, the first in hook call order wins.
    """


@hookspec
def lfsplug_script_metadata(script: Script, session: Session) -> list[MetaSource] | None:
    """Contribute metadata for a discovered script (header comments, jhalfs variables,
    dependency comments, list files, file names).

    :param script: the script as discovery made it.
    :param session: the session.
    :returns: :class:`~lfsplug._model.MetaSource` records, or None. Per key the highest priority
        wins (``script.origins`` records which); a malformed value becomes a finding.
    """


@hookspec
def lfsplug_collection_modifyscripts(
    session: Session, config: Config, scripts: list[Script]
) -> None:
    """Select, deselect or reorder the scripts in place (in ``lfsconf.py``: leave a package out).

    :param session: the session.
    :param config: the configuration.
    :param scripts: the list to modify in place (``scripts[:] = ...``).
    """


@hookspec
def lfsplug_collection_finish(session: Session) -> None:
    """Discovery is complete; ``session.scripts`` holds the final list.

    :param session: the session.
    """


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------
@hookspec
def lfsplug_validate_scripts(session: Session, scripts: list[Script]) -> list[Finding] | None:
    """Check all scripts at once: for checks that run in parallel or use a cache.

    :param session: the session.
    :param scripts: every script to check.
    :returns: findings, or None.
    """


@hookspec
def lfsplug_validate_script(script: Script, config: Config) -> list[Finding] | None:
    """Check one script.

    :param script: the script.
    :param config: the configuration.
    :returns: findings, or None. Findings whose code the script lists in ``disable=`` (or that
        the configuration's ``disable`` lists) are dropped by the session.
    """


@hookspec
def lfsplug_validate_host(config: Config) -> list[Finding] | None:
    """Check the machine the build will run on (tools, kernel, disk, memory).

    :param config: the configuration.
    :returns: findings, or None.
    """


@hookspec
def lfsplug_validation_modifyfindings(
    session: Session, config: Config, findings: list[Finding]
) -> None:
    """Filter, downgrade or add findings in place before the session decides to go on or stop.

    :param session: the session.
    :param config: the configuration.
    :param findings: the list to modify in place.
    """


# ---------------------------------------------------------------------------------------------
# Ordering
# ---------------------------------------------------------------------------------------------
@hookspec
def lfsplug_script_edges(session: Session, scripts: list[Script]) -> list[Edge] | None:
    """Contribute dependency edges between scripts.

    :param session: the session.
    :param scripts: the scripts to build.
    :returns: edges (``Edge(before, after, kind, origin)``: ``after`` waits for ``before``), or
        None. ``origin`` names where the edge comes from (file and line, or ``sequence``).
    """


@hookspec(firstresult=True)
def lfsplug_expected_duration(script: Script, config: Config) -> float | None:
    """How long ``script`` is expected to take, in seconds (from history or metadata).

    :param script: the script.
    :param config: the configuration.
    :returns: seconds, or None when unknown. firstresult.
    """


@hookspec(firstresult=True)
def lfsplug_estimate(script: Script, config: Config) -> Estimate | None:
    """The explained form of :func:`lfsplug_expected_duration` (answer both, same seconds): how
    long ``script`` will take and why, shown by ``lfsplug list --json`` (``expected_s``,
    ``expected_sbu``, ``expected_from``). Built in: the state plugin from this machine's passes
    (trylast), else the monitor from imported history, weighting past builds by closeness (same
    version, ``-j``, phase; newer first), rescaled by this machine's SBU.

    :param script: the script.
    :param config: the configuration.
    :returns: an :class:`~lfsplug.Estimate` (seconds, SBU, the sources it used), or None when
        unknown. firstresult. In ``lfsconf.py``: the duration a site knows better, with
        ``Estimate(seconds, sources=(EstimateSource("site notes", seconds),))``.
    """


@hookspec(firstresult=True)
def lfsplug_build_plan(session: Session, scripts: list[Script], edges: list[Edge]) -> Plan | None:
    """Turn scripts and edges into a :class:`~lfsplug._model.Plan`.

    :param session: the session.
    :param scripts: the scripts to build.
    :param edges: every edge that ``lfsplug_script_edges`` contributed.
    :returns: the plan. firstresult; the built-in ``ordering`` plugin answers last. Ordering
        errors (cycles, missing providers) are added with ``session.add_finding``.
    """


# ---------------------------------------------------------------------------------------------
# Execution. The per-script protocol, driven by lfsplug.Session.run_protocol for each script:
#   lfsplug_script_env once, then lfsplug_script_cached, then for each attempt
#   lfsplug_script_command -> lfsplug_script_start -> lfsplug_run_script and, on failure,
#   lfsplug_classify_failure -> lfsplug_recover (which may send it round again), and last
#   lfsplug_script_finish once with the final result.
# ---------------------------------------------------------------------------------------------
@hookspec(firstresult=True)
def lfsplug_run_plan(session: Session, plan: Plan) -> bool | None:
    """Run the whole plan: the scheduler.

    :param session: the session; call ``session.run_protocol(script)``, from any thread, once
        the scripts it depends on have passed; start no more once ``session.shouldstop`` is set.
    :param plan: the plan.
    :returns: True when handled. firstresult; the built-in ``executor`` answers last.
    """


@hookspec(firstresult=True)
def lfsplug_script_cached(
    session: Session, script: Script, env: dict[str, str]
) -> ScriptResult | None:
    """A result to reuse instead of running ``script`` (resume after a failure).

    :param session: the session.
    :param script: the script about to run.
    :param env: the environment it would run with (already shaped), part of what a result is
        keyed by: the same script in another environment runs again.
    :returns: a passed result of an earlier run with the same content and environment, or None
        to run it (``session.why_run[script.name]`` may say why, for ``--dry-run``). firstresult.
    """


@hookspec
def lfsplug_script_env(script: Script, env: dict[str, str], config: Config) -> None:
    """Shape the environment a script runs with (in ``lfsconf.py``: ``env["MAKEFLAGS"] = "-j8"``).

    :param script: the script about to run.
    :param env: the variables it will see, to mutate (the clean build environment at first).
    :param config: the configuration.
    """


@hookspec(firstresult=True)
def lfsplug_script_command(script: Script, env: dict[str, str], config: Config) -> list[str] | None:
    """The argv that runs ``script`` (plain bash, as another user, inside a chroot).

    :param script: the script.
    :param env: its environment (already shaped).
    :param config: the configuration.
    :returns: an argv list (never a shell string). firstresult; the built-in answers
        ``["bash", "+h", "-e", PATH]`` last (hashing off, exit on error, as in the book).
        Validation may ask too, with ``env={}``: lint reads whether the shell runs with ``-e``.
    """


@hookspec
def lfsplug_script_start(session: Session, script: Script, attempt: int) -> None:
    """A script starts: called in the scheduler's thread before it runs, serialised with the
    other start and finish calls; the one channel of this fact (it is not an event on the bus).

    :param session: the session.
    :param script: the script.
    :param attempt: the attempt number, counting from 1 (each retry calls this hook again).
    """


@hookspec(firstresult=True)
def lfsplug_run_script(session: Session, request: RunRequest) -> ScriptResult | None:
    """Run one attempt of one script and wait for it.

    :param session: the session; report output with ``session.script_output``.
    :param request: argv, environment, working directory, log path, timeouts.
    :returns: the result (status passed or failed, exit code or signal, log tail). firstresult;
        the built-in local executor answers last.
    """


@hookspec
def lfsplug_script_finish(session: Session, script: Script, result: ScriptResult) -> None:
    """A script's final result for this run (after any retries), before the scripts waiting
    for it may start; called in the scheduler's thread. The one channel of this fact: it is not
    an event, unlike the script's output, retries, samples and alerts (:func:`lfsplug_events`).

    :param session: the session.
    :param script: the script.
    :param result: its result; a ``tryfirst`` implementation may add figures to
        ``result.resources`` before the others record it.
    """


# ---------------------------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------------------------
@hookspec
def lfsplug_events(session: Session, events: list[Event]) -> None:
    """Batches of events from the bus, in priority order: the only channel of the facts they
    carry (output, retries, resource samples, alerts, progress, a stop...; kinds in
    docs/hooks.md). An alert overtakes queued output, and a script's last ``script-output`` may
    arrive after its ``lfsplug_script_finish``: sort by ``seq`` where emission order matters.
    A plugin that raises here stops the build before its next script starts (exit 3).

    :param session: the session.
    :param events: the batch; each event has ``kind``, ``time``, ``priority``, ``script``,
        ``seq`` (emission order) and ``record``, the typed record of what happened
        (``isinstance(event.record, lfsplug.AlertRaised)``). Called from the bus's delivery
        thread (under a backlog, from an emitting thread, which so pays for what it queues),
        never concurrently with itself.
    """


@hookspec
def lfsplug_progress(config: Config, task: str, unit: str, done: int, total: int | None) -> None:
    """Long work before the build (discovery, validation) goes on: for a display to show.

    :param config: the configuration.
    :param task: what is done (``"validating"``).
    :param unit: of what (``"scripts"``).
    :param done: how many so far.
    :param total: of how many (None: not known yet). Called through ``lfsplug.WorkProgress``
        from a thread of its own, only for work that outlasts a second, every tenth of a second;
        the last call of a task has ``done == total`` (also on ^C).
    """


# ---------------------------------------------------------------------------------------------
# Recovery
# ---------------------------------------------------------------------------------------------
@hookspec(firstresult=True)
def lfsplug_classify_failure(
    session: Session, script: Script, result: ScriptResult
) -> FailureClass | None:
    """Label a failed attempt by its signature (log tail, exit code, signal).

    :param session: the session.
    :param script: the script that failed.
    :param result: the failed result.
    :returns: a :class:`~lfsplug._model.FailureClass`, or None when unknown. firstresult.
    """


@hookspec(firstresult=True)
def lfsplug_recover(
    session: Session, script: Script, result: ScriptResult, failure: FailureClass | None
) -> Recovery | None:
    """Decide what to do after a failed attempt: retry, skip or stop.

    :param session: the session.
    :param script: the script that failed.
    :param result: the failed result (``result.attempts`` attempts so far).
    :param failure: its classification, or None.
    :returns: a :class:`~lfsplug._model.Recovery`, or None to pass the decision on (the
        recovery plugin's policies answer last; with no answer the failure stands). firstresult.
    """


# ---------------------------------------------------------------------------------------------
# Reporting
# ---------------------------------------------------------------------------------------------
@hookspec
def lfsplug_report_formats(config: Config) -> list[str] | None:
    """The report formats this plugin writes (``json``, ``junit``, ``html``...).

    :param config: the configuration.
    :returns: format names, or None. ``--report FORMAT:PATH`` accepts the union.
    """


@hookspec(firstresult=True)
def lfsplug_write_report(session: Session, format: str, path: Path) -> bool | None:
    """Write a report of the session in ``format`` to ``path``.

    :param session: the session (results, plan, findings).
    :param format: the format name.
    :param path: where to write.
    :returns: True when written; None when this plugin does not write ``format``. firstresult.
    """


@hookspec
def lfsplug_terminal_summary(
    session: Session, exitstatus: int, write: Callable[[str], None]
) -> None:
    """Add lines to the summary printed at the end of a run.

    :param session: the session.
    :param exitstatus: the exit code.
    :param write: a function that prints one line to the terminal (``write("text")``).
    """
