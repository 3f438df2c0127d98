"""Exit codes and the exceptions that map to them.

Each exception carries a one-line message naming its cause (the file and line, the plugin and
hook, or the option); :func:`lfsplug.cli.main` prints it and returns the exit code.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """The documented exit codes of the ``lfsplug`` command."""

    OK = 0
    SCRIPT_FAILED = 1
    INTERRUPTED = 2
    INTERNAL_ERROR = 3
    USAGE_ERROR = 4
    NO_SCRIPTS = 5
    INVALID_TREE = 6


class LfsplugError(Exception):
    """Base class: an error with a one-line message and an exit code."""

    exit_code = ExitCode.INTERNAL_ERROR


class UsageError(LfsplugError):
    """Bad command line, configuration file, plugin name or ``lfsconf.py`` (exit 4)."""

    exit_code = ExitCode.USAGE_ERROR


class PluginError(LfsplugError):
    """A plugin raised in a hook (exit 3); the message names the plugin, hook and script."""

    exit_code = ExitCode.INTERNAL_ERROR

    def __init__(self, plugin: str, hook: str, error: BaseException, script: str | None = None):
        self.plugin = plugin
        self.hook = hook
        self.error = error
        self.script = script
        where = f" while running script {script!r}" if script else ""
        super().__init__(
            f"plugin {plugin!r} failed in hook {hook}{where}: {type(error).__name__}: {error}"
        )
