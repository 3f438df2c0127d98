"""The local executor: the book's clean environment, one process group and one log per script,
and the scheduler that runs the plan, ``-j N`` scripts at a time.

Each script runs as ``bash +h -e FILE`` (hashing off and exit on error, as the book's build
environment has it) from an argv list, in a session of its own, with stdin closed and umask 022
(:mod:`lfsplug_executor.process`). Its output goes to ``logs/NAME.log`` under the state
directory (``NAME.N.log`` for retry N, ``logs/latest`` pointing to the newest). The scheduler
(:mod:`lfsplug_executor.scheduler`) starts what is ready, longest remaining path first, shares
one make jobserver between parallel scripts, waits when memory or disk runs low, and stages
interrupts. ``--dry-run`` (:mod:`lfsplug_executor.dryrun`) shows what would run.

A script runs as its collection's driver would run it: with the variables the driver exports
(``script.env``, :mod:`lfsplug_executor.envvars`), its tarball unpacked first (``unpack=``) and
in its directory (``workdir=``) (:mod:`lfsplug_executor.workspace`). The plugins that place a
script elsewhere (a chroot, another user) say so through the hooks this plugin adds
(:mod:`lfsplug_executor.hooks`).

Before a retry (attempt 2 and on) the script's partial work is removed: its ``cleanup=``
command (a header key this plugin reads from ``script.meta``), else ``[executor] cleanup``, run
like the script; else its unpacked tree (:class:`lfsplug_executor.workspace.RetryCleanup`).
A retry that must run alone waits at the scheduler's gate (``session.alone``).
"""

from __future__ import annotations

import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lfsplug import (
    Plan,
    RunRequest,
    Script,
    ScriptResult,
    SettingsTable,
    StashKey,
    hookimpl,
    list_of,
    size,
)
from lfsplug_executor import hooks
from lfsplug_executor.envvars import add_driver_env

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser, PluginManager, Session
    from lfsplug_executor.process import Runner
    from lfsplug_executor.scheduler import RunContext
    from lfsplug_executor.workspace import Before, Site, Workspace

__all__ = ["SETTINGS", "clean_env", "site_of", "workspace_of"]

#: The executor's settings (top-level keys of the file, options of ``run``); ``--lfs``,
#: ``--jobs``, ``--timeout`` and ``--silence-timeout`` are the kernel's, shared by all plugins.
SETTINGS = SettingsTable()
KEEP_GOING = SETTINGS.add(
    "keep_going", bool, False, "after a failure, go on with every script that does not depend "
    "on it", option=("--keep-going",), commands=("run",))
DRY_RUN = SETTINGS.add(
    "dry_run", bool, False, "print what would run, in order, with each environment difference; "
    "run nothing", option=("--dry-run",), commands=("run",))
ONLY = SETTINGS.add(
    "only", list_of(str, single=True), [], "run only NAME (may be repeated); the others are "
    "skipped", option=("--only",), commands=("run",), metavar="NAME")
FROM = SETTINGS.add(
    "from", str, None, "start at NAME in plan order; the scripts before it are skipped",
    option=("--from",), commands=("run",), metavar="NAME")
UNTIL = SETTINGS.add(
    "until", str, None, "stop after NAME in plan order (jhalfs's BREAKPOINT)",
    option=("--until",), commands=("run",), metavar="NAME")
MIN_FREE_MEMORY = SETTINGS.add(
    "min_free_memory", size(), 256 << 20, "start no further script while available memory is "
    "below SIZE (e.g. 2G; 0: no floor); one script always runs", option=("--min-free-memory",),
    commands=("run",), metavar="SIZE")
# above the monitor's default STOP level (2G at $LFS): a parallel build first slows down
# (waits for a running script to free its build folder), and stops only if that fails
MIN_FREE_DISK = SETTINGS.add(
    "min_free_disk", size(), 5 << 30, "start no further script while free space at $LFS is "
    "below SIZE (0: no floor); one script always runs", option=("--min-free-disk",),
    commands=("run",), metavar="SIZE")
#: The ``[executor]`` table of the configuration file.
TABLE = SettingsTable("executor")
CLEANUP = TABLE.add(
    "cleanup", str, None, "a shell command run before each retry of a script, as the script "
    "runs (its environment, PKGDIR the failed attempt's, in the directory it ran in), to remove "
    "its partial work; a script's cleanup= header wins (default: its unpacked tree is removed)")
#: The metadata keys this plugin reads from ``script.meta`` (no ``META002`` for them).
META_KEYS = ("cleanup",)
#: Where each script's last attempt ran, and its PKGDIR: for the cleanup before a retry.
PLACES = StashKey[dict[str, tuple[Path, str | None]]]()


@hookimpl
def lfsplug_addhooks(pluginmanager: PluginManager) -> None:
    pluginmanager.add_hookspecs(hooks)


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(SETTINGS, TABLE)


def clean_env(config: Config) -> dict[str, str]:
    """The book's build environment (chapter 4, "Setting Up the Environment")."""
    lfs = config.lfs
    path = "/usr/bin" if os.path.islink("/bin") else "/bin:/usr/bin"
    return {
        "HOME": os.environ.get("HOME", "/root"),
        "TERM": os.environ.get("TERM", "dumb"),
        "LFS": lfs,
        "LC_ALL": "POSIX",
        "LFS_TGT": f"{platform.machine()}-lfs-linux-gnu",
        "PATH": f"{lfs}/tools/bin:{path}",
        "CONFIG_SITE": f"{lfs}/usr/share/config.site",
        "MAKEFLAGS": f"-j{os.cpu_count() or 1}",
    }


@hookimpl
def lfsplug_configure(config: Config) -> None:
    """A bad ``[env]`` stops ``run`` and ``check`` at once (exit 4, at its line)."""
    if config.command in ("run", "check"):
        from lfsplug_executor.envvars import check_env

        check_env(config)


@hookimpl(tryfirst=True)
def lfsplug_script_env(script: Script, env: dict[str, str], config: Config) -> None:
    """The book's clean environment, then the driver's exports, then ``[env]``: the user's
    explicit word wins."""
    env.update(clean_env(config))
    from lfsplug_executor.scheduler import JOBSERVER

    jobserver = config.stash.get(JOBSERVER, None)
    if jobserver is not None:  # parallel scripts share the machine's job slots
        env["MAKEFLAGS"] = jobserver.makeflags()
    add_driver_env(env, script.env)
    env.update(config.env)


def site_of(session: Session, script: Script) -> Site:
    """How ``script`` sees the file system, from the hooks of the plugins that place it."""
    from lfsplug_executor.workspace import Site

    hook, config = session.hook, session.config
    root = hook.lfsplug_script_root(script=script, config=config)
    owner = hook.lfsplug_script_owner(script=script, config=config)
    return Site(os.path.abspath(root) if root else "/",
                (int(owner[0]), int(owner[1])) if owner else None)


def workspace_of(session: Session, script: Script,
                 before: Before | None = None) -> Workspace | None:
    """The workspace of a script with ``unpack=`` or ``workdir=``, or of an attempt with
    something done ``before`` it (a retry's cleanup), else None."""
    if script.unpack is None and script.workdir is None and before is None:
        return None
    from lfsplug_executor.workspace import Workspace

    return Workspace(script, site_of(session, script), _command_in(session, script), before)


def _command_in(session: Session, script: Script) -> Callable[[list[str], str], list[str] | None]:
    def command_in(argv: list[str], directory: str) -> list[str] | None:
        found: list[str] | None = session.hook.lfsplug_script_command_in(
            script=script, argv=argv, directory=directory, config=session.config)
        return found

    return command_in


def cleanup_command(script: Script, config: Config) -> tuple[str, str] | None:
    """The command that cleans up before a retry of ``script``, and where it comes from."""
    header = script.meta.get("cleanup", "").strip()
    if header:
        origin = script.origins.get("cleanup")
        line = origin.line if origin is not None else None
        return header, f"cleanup= line {line}" if line else "cleanup="
    configured = config.get(CLEANUP)
    return (configured, "[executor] cleanup") if configured and configured.strip() else None


@hookimpl(trylast=True)
def lfsplug_script_command(script: Script, env: dict[str, str], config: Config) -> list[str]:
    return ["bash", "+h", "-e", str(script.path)]


@hookimpl
def lfsplug_collection_finish(session: Session) -> None:
    session.claim_metadata(*META_KEYS)
    if session.config.command == "run":
        from lfsplug_executor.selection import check_names

        check_names(session)


@hookimpl(trylast=True)
def lfsplug_run_script(session: Session, request: RunRequest) -> ScriptResult:
    from lfsplug_executor.scheduler import RUN_CONTEXT

    script = request.script
    context = session.stash.get(RUN_CONTEXT, None)
    places = session.stash.setdefault(PLACES, {})
    before = None
    if request.attempt > 1:
        from lfsplug_executor.workspace import RetryCleanup

        cleanup = RetryCleanup(request, site_of(session, script),
                               lambda req: _runner(session, req, context, None).run(),
                               _command_in(session, script), places.get(script.name))
        before = cleanup(cleanup_command(script, session.config))
    runner = _runner(session, request, context, workspace_of(session, script, before))
    result = runner.run()
    places[script.name] = (runner.request.cwd, runner.request.env.get("PKGDIR"))
    return result


def _runner(session: Session, request: RunRequest, context: RunContext | None,
            workspace: Workspace | None) -> Runner:
    """The Runner of one attempt (or of the cleanup before it), in the run's context."""
    from lfsplug_executor.process import Runner

    if context is None:
        return Runner(session, request, workspace=workspace)
    jobserver = context.jobserver
    uses_jobserver = jobserver is not None and "--jobserver-auth=" in request.env.get(
        "MAKEFLAGS", "")
    return Runner(session, request, stop_fd=context.stop_read,
                  pass_fds=jobserver.fds if jobserver and uses_jobserver else (),
                  book=context.book, workspace=workspace)


@hookimpl(trylast=True)
def lfsplug_run_plan(session: Session, plan: Plan) -> bool:
    """Run the plan: the scheduler, or with ``--dry-run`` the list of what would run."""
    from lfsplug_executor import selection

    config = session.config
    left_out = selection.left_out(plan, config)
    if config.get(DRY_RUN):
        from lfsplug_executor.dryrun import dry_run

        dry_run(session, plan, left_out, clean_env(config))
        return True
    from lfsplug_executor.orphans import ProcessBook, end_orphans
    from lfsplug_executor.scheduler import JOBSERVER, RUN_CONTEXT, Floors, RunContext, Scheduler

    for orphan in end_orphans(config.state_dir):
        if orphan.ended:
            which = (f"process group {orphan.pgid}" if orphan.pgid
                     else f"its keeper, pid {orphan.keeper}")
            click.echo(f"lfsplug: ended the processes of {orphan.script} ({which}) left "
                       f"running by an lfsplug that died (pid {orphan.owner})", err=True)
    jobs = config.jobs
    if jobs > 1 and len(plan.scripts) > 1 and plan.levels and max(map(len, plan.levels)) == 1:
        click.echo(f"lfsplug: -j {jobs}, but the plan is one chain (with --order sequence each "
                   f"script waits for the one before): nothing can run in parallel; use --order "
                   f"graph, or [ordering] phases for the phases that allow it", err=True)
    context = RunContext(book=ProcessBook(config.state_dir))
    context.stop_read, context.stop_write = os.pipe()
    if jobs > 1:
        from lfsplug_executor.jobserver import Jobserver

        context.jobserver = Jobserver(max(os.cpu_count() or 1, jobs))
        config.stash[JOBSERVER] = context.jobserver
    session.stash[RUN_CONTEXT] = context
    floors = Floors(config.get(MIN_FREE_MEMORY), config.get(MIN_FREE_DISK), config.lfs)
    try:
        Scheduler(session, plan, jobs=jobs, keep_going=config.get(KEEP_GOING),
                  selected=left_out, floors=floors, context=context).run()
    finally:
        from lfsplug_executor.process import discard_keepers

        discard_keepers()
        del session.stash[RUN_CONTEXT]
        if context.jobserver is not None:
            del config.stash[JOBSERVER]
            context.jobserver.close()
        for fd in (context.stop_read, context.stop_write):
            if fd is not None:
                os.close(fd)
    return True
