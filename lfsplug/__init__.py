"""lfsplug: build Linux From Scratch from a tree of build scripts, with a plugin for everything.

The public API: the hook markers, the records that pass between plugins, the exit codes and
:func:`main`. Plugins import from here, never from the private modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

__version__ = "0.1.0"

#: Marks a function as the implementation of a hook (``@lfsplug.hookimpl``).
hookimpl = pluggy.HookimplMarker("lfsplug")

if TYPE_CHECKING:
    # For type checkers, the marker; at run time the hook specification module, which is
    # callable as the same marker (see the note at its end).
    hookspec: pluggy.HookspecMarker
    from lfsplug._kinds import (
        EntryError,
        Kind,
        choice,
        integer,
        list_of,
        number,
        seconds,
        show_value,
        size,
        string,
        table_of,
    )
    from lfsplug._settings import DEFAULT_LFS, Setting, SettingsTable
    from lfsplug._state import (
        HistoryEntry,
        StateService,
        StoredAttempt,
        StoredEvent,
        StoredResult,
        StoredRun,
        StoredSample,
        StoredSamples,
    )
    from lfsplug.commands import CommandSet
    from lfsplug.config import Config, OptionParser, byte_size, positive_float, positive_int
    from lfsplug.manager import PluginManager
    from lfsplug.records import (
        AlertRaised,
        Progress,
        RawRecord,
        Record,
        RunFinished,
        RunStarted,
        SampleTaken,
        ScriptOutput,
        ScriptRetry,
        StopRequested,
        record_class,
        record_from_data,
        record_from_json,
        record_to_data,
        record_to_json,
    )
    from lfsplug.session import Session, gc_paused, run_session
    from lfsplug.text import expand_variables, format_duration, format_size
    from lfsplug.version import satisfies, version_key
else:
    from lfsplug import hookspec
from lfsplug.errors import ExitCode, PluginError, UsageError  # noqa: E402
from lfsplug.model import (  # noqa: E402
    BOOK_ENV,
    Alert,
    AlertLevel,
    Edge,
    Estimate,
    EstimateSource,
    Event,
    FailureClass,
    Finding,
    MetaSource,
    Origin,
    Plan,
    Priority,
    Recovery,
    RecoveryAction,
    Requirement,
    RunningScript,
    RunRequest,
    Sample,
    Script,
    ScriptResult,
    Severity,
    Status,
    pass_base,
)
from lfsplug.stash import Stash, StashKey  # noqa: E402

#: Kernel classes that plugins use in annotations, imported on first use (startup time).
_LAZY = {
    "AlertRaised": "lfsplug.records",
    "Progress": "lfsplug.records",
    "RawRecord": "lfsplug.records",
    "Record": "lfsplug.records",
    "RunFinished": "lfsplug.records",
    "RunStarted": "lfsplug.records",
    "SampleTaken": "lfsplug.records",
    "ScriptOutput": "lfsplug.records",
    "ScriptRetry": "lfsplug.records",
    "StopRequested": "lfsplug.records",
    "record_class": "lfsplug.records",
    "record_from_data": "lfsplug.records",
    "record_from_json": "lfsplug.records",
    "record_to_data": "lfsplug.records",
    "record_to_json": "lfsplug.records",
    "CommandSet": "lfsplug.commands",
    "Config": "lfsplug.config",
    "OptionParser": "lfsplug.config",
    "PluginManager": "lfsplug.manager",
    "Session": "lfsplug.session",
    "gc_paused": "lfsplug.session",
    "byte_size": "lfsplug.config",
    "positive_float": "lfsplug.config",
    "positive_int": "lfsplug.config",
    "expand_variables": "lfsplug.text",
    "format_duration": "lfsplug.text",
    "format_size": "lfsplug.text",
    "satisfies": "lfsplug.version",
    "version_key": "lfsplug.version",
    "run_session": "lfsplug.session",
    "DEFAULT_LFS": "lfsplug._settings",
    "Setting": "lfsplug._settings",
    "SettingsTable": "lfsplug._settings",
    "EntryError": "lfsplug._kinds",
    "Kind": "lfsplug._kinds",
    "choice": "lfsplug._kinds",
    "integer": "lfsplug._kinds",
    "list_of": "lfsplug._kinds",
    "number": "lfsplug._kinds",
    "seconds": "lfsplug._kinds",
    "show_value": "lfsplug._kinds",
    "size": "lfsplug._kinds",
    "string": "lfsplug._kinds",
    "table_of": "lfsplug._kinds",
    "HistoryEntry": "lfsplug._state",
    "StateService": "lfsplug._state",
    "StoredAttempt": "lfsplug._state",
    "StoredEvent": "lfsplug._state",
    "StoredResult": "lfsplug._state",
    "StoredRun": "lfsplug._state",
    "StoredSample": "lfsplug._state",
    "StoredSamples": "lfsplug._state",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'lfsplug' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def main(args: list[str] | None = None, plugins: list[object] | tuple[object, ...] = ()) -> int:
    """Run the ``lfsplug`` command line and return its exit code (see :mod:`lfsplug.cli`)."""
    from lfsplug.cli import main as cli_main

    return cli_main(args, plugins)


def console_main() -> int:
    """The ``lfsplug`` console script."""
    import gc
    import sys

    # Start-up imports every plugin: thousands of objects (modules, classes, functions) that
    # live as long as the process, which the cyclic collector would scan over and over. It
    # waits until the plugins are in, and then never sees them again (lfsplug.cli).
    if sys.argv[1:] == ["--version"]:  # answered before any plugin is looked for
        print(f"lfsplug {__version__}")
        return 0
    gc.disable()
    from lfsplug.cli import main as cli_main

    code = cli_main(None, (), freeze_startup=True)
    sys.stdout.flush()
    return code


__all__ = [
    "BOOK_ENV",
    "DEFAULT_LFS",
    "Alert",
    "AlertLevel",
    "AlertRaised",
    "CommandSet",
    "Config",
    "Edge",
    "EntryError",
    "Estimate",
    "EstimateSource",
    "Event",
    "ExitCode",
    "FailureClass",
    "Finding",
    "HistoryEntry",
    "Kind",
    "MetaSource",
    "OptionParser",
    "Origin",
    "Plan",
    "PluginError",
    "PluginManager",
    "Priority",
    "Progress",
    "RawRecord",
    "Record",
    "Recovery",
    "RecoveryAction",
    "Requirement",
    "RunFinished",
    "RunRequest",
    "RunStarted",
    "RunningScript",
    "Sample",
    "SampleTaken",
    "Script",
    "ScriptOutput",
    "ScriptResult",
    "ScriptRetry",
    "Session",
    "Setting",
    "SettingsTable",
    "Severity",
    "Stash",
    "StashKey",
    "StateService",
    "Status",
    "StopRequested",
    "StoredAttempt",
    "StoredEvent",
    "StoredResult",
    "StoredRun",
    "StoredSample",
    "StoredSamples",
    "UsageError",
    "__version__",
    "byte_size",
    "choice",
    "expand_variables",
    "format_duration",
    "format_size",
    "gc_paused",
    "hookimpl",
    "hookspec",
    "integer",
    "list_of",
    "main",
    "number",
    "pass_base",
    "positive_float",
    "positive_int",
    "record_class",
    "record_from_data",
    "record_from_json",
    "record_to_data",
    "record_to_json",
    "run_session",
    "satisfies",
    "seconds",
    "show_value",
    "size",
    "string",
    "table_of",
    "version_key",
]
