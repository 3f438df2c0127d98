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
import os
import sys
from typing import TYPE_CHECKING, TextIO

from lfsplug import StashKey, UsageError, hookimpl

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser
    from lfsplug_terminal.logs import Installed
    from lfsplug_terminal.reporter import Settings

REPORTER = "terminalreporter"
DEFAULT_HEARTBEAT = 60.0
_LOGGING: StashKey[Installed] = StashKey()


def seconds_or_off(text: str) -> float:
    """An option type: seconds above zero, or 0 for never (``--heartbeat 0``)."""
    value = float(text)
    if not (0 <= value < float("inf")):
        raise ValueError(f"{text!r} is not a number of seconds (0 turns it off)")
    return value


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.addoption("--plain", commands=("run",), action="store_true",
                     help="print plain lines, no live dashboard, even on a terminal")
    parser.addoption("--heartbeat", commands=("run",), type=seconds_or_off,
                     default=DEFAULT_HEARTBEAT, metavar="S",
                     help="in plain mode, say what is running when nothing was printed for S "
                          "seconds (0: never)")
    parser.addoption("-v", "--verbose", commands=("run",), action="store_true",
                     help="show debug messages; in plain mode also every line the scripts "
                          "print, after their name")
    parser.addoption("-q", "--quiet", commands=("run",), action="store_true",
                     help="print only failures, warnings and the summary")


def wants_colour(stream: TextIO) -> bool:
    """Colours on a terminal, unless ``NO_COLOR`` is set or ``TERM`` is ``dumb`` (or unset)."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM", "dumb") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def settings_for(config: Config, out: TextIO) -> Settings:
    """The mode, colours, heartbeat and verbosity of a ``run``."""
    from lfsplug_terminal.reporter import Settings

    verbose, quiet = config.getoption("verbose", False), config.getoption("quiet", False)
    if verbose and quiet:
        raise UsageError("--verbose and --quiet: give one or the other")
    colour = wants_colour(out)
    heartbeat = float(config.getoption("heartbeat", DEFAULT_HEARTBEAT) or 0)
    return Settings(
        dashboard=colour and not config.getoption("plain", False),
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
def lfsplug_unconfigure(config: Config) -> None:
    config.pluginmanager.unregister_and_close(REPORTER)
    installed = config.stash.get(_LOGGING)
    if installed is not None:
        from lfsplug_terminal.logs import uninstall

        uninstall(installed)
        del config.stash[_LOGGING]
