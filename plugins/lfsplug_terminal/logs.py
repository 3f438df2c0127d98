"""lfsplug's own messages through :mod:`logging`: colorlog on a terminal, plain text elsewhere.

Plugins log to ``logging.getLogger("lfsplug.NAME")``; the terminal plugin puts one handler on
the ``lfsplug`` logger for the command's duration. Records read like the kernel's messages:
``lfsplug: warning: disk warn: ...`` (no level word for information). The handler hands each
formatted record to a *sink*: standard error, or, while the dashboard is up, the dashboard,
which prints it above the board.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass

LOGGER = "lfsplug"
PLAIN_FORMAT = "lfsplug: %(levelprefix)s%(message)s"
COLOUR_FORMAT = "%(log_color)slfsplug: %(levelprefix)s%(message)s%(reset)s"
LOG_COLOURS = {"DEBUG": "cyan", "INFO": "reset", "WARNING": "yellow", "ERROR": "red",
               "CRITICAL": "bold_red"}

Sink = Callable[[str], None]


class _LevelPrefix(logging.Filter):
    """Adds ``levelprefix``: empty for information, ``warning: `` and so on otherwise."""

    def filter(self, record: logging.LogRecord) -> bool:
        level = record.levelno
        record.levelprefix = "" if level == logging.INFO else f"{record.levelname.lower()}: "
        return True


class SinkHandler(logging.Handler):
    """Formats a record and hands the text to ``sink`` (which the terminal may swap)."""

    def __init__(self, sink: Sink, level: int = logging.INFO) -> None:
        super().__init__(level)
        self.sink = sink
        self.addFilter(_LevelPrefix())

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.sink(self.format(record))
        except Exception:
            self.handleError(record)


def formatter(colour: bool) -> logging.Formatter:
    """colorlog's formatter when ``colour``, else a plain one with the same words."""
    if colour:
        import colorlog

        coloured: logging.Formatter = colorlog.ColoredFormatter(
            COLOUR_FORMAT, log_colors=LOG_COLOURS, force_color=True)
        return coloured
    return logging.Formatter(PLAIN_FORMAT)


def stderr_sink(text: str) -> None:
    sys.stderr.write(text + "\n")
    sys.stderr.flush()


@dataclass
class Installed:
    """The handler on the ``lfsplug`` logger and what it replaced, for :func:`uninstall`."""

    handler: SinkHandler
    level: int
    propagate: bool


def install(level: int, colour: bool, sink: Sink = stderr_sink) -> Installed:
    """Put a handler on the ``lfsplug`` logger (replacing one left by an earlier command in
    this process) at ``level``; records stop there, so a root handler does not repeat them."""
    logger = logging.getLogger(LOGGER)
    for old in [h for h in logger.handlers if isinstance(h, SinkHandler)]:
        logger.removeHandler(old)
    handler = SinkHandler(sink, level)
    handler.setFormatter(formatter(colour))
    installed = Installed(handler, logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return installed


def uninstall(installed: Installed) -> None:
    logger = logging.getLogger(LOGGER)
    logger.removeHandler(installed.handler)
    logger.setLevel(installed.level)
    logger.propagate = installed.propagate
