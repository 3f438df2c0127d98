"""The terminal: a live dashboard on a terminal, plain lines elsewhere, logging, the summary.

``lfsplug run`` on a terminal draws a dashboard with rich (:mod:`.live`, :mod:`.render`):
overall and per-phase progress with elapsed time, ETA and critical-path bound, a row per running
script, CPU/memory/disk gauges and the latest alerts. In a pipe, in CI, with ``--plain``,
``NO_COLOR`` or ``TERM=dumb`` it prints plain lines instead, with a heartbeat when nothing was
printed for a while (:mod:`.plain`). Both print the same lines for finished scripts, failures
and the summary (:mod:`.lines`), from one reporter object (:mod:`.reporter`). lfsplug's own log
messages go through colorlog on a terminal (:mod:`.logs`), for every command.

This module is the gate: options, the choice of mode, and registering the reporter for ``run``.
``-p no:terminal`` builds quietly. docs/terminal.md describes it for users.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, TextIO

from lfsplug import SettingsTable, StashKey, UsageError, hookimpl, seconds, wants_colour

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser
    from lfsplug_terminal.logs import Installed
    from lfsplug_terminal.progress import ProgressDisplay
    from lfsplug_terminal.reporter import Settings

REPORTER = "terminalreporter"
DEFAULT_HEARTBEAT = 60.0
_LOGGING: StashKey[Installed] = StashKey()
_PROGRESS: StashKey[ProgressDisplay] = StashKey()


#: The terminal's options (top-level keys of the file too).
OPTIONS = SettingsTable()
PLAIN = OPTIONS.add("plain", bool, False, "print plain lines, no live dashboard, even on a "
                    "terminal", option=("--plain",), commands=("run",))
HEARTBEAT = OPTIONS.add("heartbeat", seconds(note="0: never"), DEFAULT_HEARTBEAT, "in plain "
                        "mode, say what is running when nothing was printed for S seconds "
                        "(0: never)", option=("--heartbeat",), commands=("run",), metavar="S")
VERBOSE = OPTIONS.add("verbose", bool, False, "show debug messages; in plain mode also every "
                      "line the scripts print, after their name", option=("-v", "--verbose"),
                      commands=("run",))
QUIET = OPTIONS.add("quiet", bool, False, "print only failures, warnings and the summary",
                    option=("-q", "--quiet"), commands=("run",))


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(OPTIONS)


def settings_for(config: Config, out: TextIO) -> Settings:
    """The mode, colours, heartbeat and verbosity of a ``run``."""
    from lfsplug_terminal.reporter import Settings

    verbose, quiet = config.get(VERBOSE), config.get(QUIET)
    if verbose and quiet:
        raise UsageError("--verbose and --quiet: give one or the other")
    colour = wants_colour(out)
    heartbeat = config.get(HEARTBEAT)
    return Settings(
        dashboard=colour and not config.get(PLAIN),
        colour=colour,
        heartbeat=heartbeat or None,
        verbosity=1 if verbose else (-1 if quiet else 0),
    )


@hookimpl
def lfsplug_configure(config: Config) -> None:
    from lfsplug_terminal import logs

    if config.command != "run":
        config.stash[_LOGGING] = logs.install(logging.INFO, wants_colour(sys.stderr))
        return
    from lfsplug_terminal.reporter import TerminalReporter

    settings = settings_for(config, sys.stdout)
    reporter = TerminalReporter(config, settings, sys.stdout, sys.stderr)
    level = {-1: logging.WARNING, 0: logging.INFO, 1: logging.DEBUG}[settings.verbosity]
    config.stash[_LOGGING] = logs.install(level, wants_colour(sys.stderr),
                                          reporter.output.raw)
    config.pluginmanager.register(reporter, REPORTER)


@hookimpl
def lfsplug_progress(config: Config, task: str, unit: str, done: int, total: int | None) -> None:
    # discovery and validation of a large tree: a transient line (progress.py), before the
    # dashboard starts; plain lines elsewhere
    display = config.stash.get(_PROGRESS)
    if display is None:
        from lfsplug_terminal.progress import ProgressDisplay

        display = config.stash[_PROGRESS] = ProgressDisplay(
            sys.stderr, wants_colour(sys.stderr) and not config.get(PLAIN), config.get(QUIET))
    display.show(task, unit, done, total)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    config.pluginmanager.unregister_and_close(REPORTER)
    installed = config.stash.get(_LOGGING)
    if installed is not None:
        from lfsplug_terminal.logs import uninstall

        uninstall(installed)
        del config.stash[_LOGGING]
