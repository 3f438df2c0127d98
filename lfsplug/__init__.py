"""lfsplug: build Linux From Scratch from a tree of build scripts, with a plugin for everything.

The public API: the hook markers, the records that pass between plugins, the exit codes and
:func:`main`. Plugins import from here, never from the private modules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

from lfsplug._model import (
    BOOK_ENV,
    Alert,
    AlertLevel,
    Edge,
    Estimate,
    EstimateSource,
    Event,
    ExitCode,
    FailureClass,
    Finding,
    MetaSource,
    Origin,
    Plan,
    PluginError,
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
    UsageError,
    pass_base,
)

__version__ = "0.1.0"

#: Marks a function as the implementation of a hook (``@lfsplug.hookimpl``).
hookimpl = pluggy.HookimplMarker("lfsplug")

#: Marks a function as a hook specification (``@lfsplug.hookspec``), for a plugin that declares
#: hooks of its own (``lfsplug_addhooks``); lfsplug's own specs are in :mod:`lfsplug._hookspec`.
hookspec = pluggy.HookspecMarker("lfsplug")

if TYPE_CHECKING:
    from lfsplug._config import (
        CommandSet,
        Config,
        OptionParser,
        Stash,
        StashKey,
        byte_size,
        positive_float,
        positive_int,
    )
    from lfsplug._events import (
        AlertRaised,
        Progress,
        RawRecord,
        Record,
        RunFinished,
        RunStarted,
        SampleTaken,
        ScriptNote,
        ScriptOutput,
        ScriptRetry,
        StopRequested,
        record_class,
        record_to_data,
    )
    from lfsplug._invocation import record_build
    from lfsplug._kinds import (
        EntryError,
        Kind,
        choice,
        expand_variables,
        format_duration,
        format_size,
        integer,
        list_of,
        number,
        satisfies,
        seconds,
        show_value,
        size,
        string,
        table_of,
        version_key,
    )
    from lfsplug._manager import (
        PluginManager,
    )
    from lfsplug._reporting import (
        WorkProgress,
        redact,
        redact_env,
        redact_text,
        resume_command,
        secret_name,
        secret_values,
        wants_colour,
    )
    from lfsplug._session import (
        Session,
        gc_paused,
        run_session,
    )
    from lfsplug._settings import (
        DEFAULT_LFS,
        Setting,
        SettingsTable,
    )
    from lfsplug._state import (
        HistoryEntry,
        StateService,
        StoredAttempt,
        StoredEvent,
        StoredResult,
        StoredRun,
        StoredSample,
        StoredSamples,
        disk_full,
        relink,
    )

#: Kernel names imported on first use (start-up time: `lfsplug --version` needs none of them).
_LAZY = {
    "lfsplug._invocation": ("record_build",),
    "lfsplug._config": (
        "CommandSet", "Config", "OptionParser", "Stash", "StashKey", "byte_size",
        "positive_float", "positive_int",
    ),
    "lfsplug._events": (
        "AlertRaised", "Progress", "RawRecord", "Record", "RunFinished", "RunStarted",
        "SampleTaken", "ScriptNote", "ScriptOutput", "ScriptRetry", "StopRequested",
        "record_class",
        "record_to_data",
    ),
    "lfsplug._kinds": (
        "EntryError", "Kind", "choice", "expand_variables", "format_duration", "format_size",
        "integer", "list_of", "number", "satisfies", "seconds", "show_value", "size", "string",
        "table_of", "version_key",
    ),
    "lfsplug._manager": (
        "PluginManager",
    ),
    "lfsplug._reporting": (
        "WorkProgress", "redact", "redact_env", "redact_text", "resume_command", "secret_name",
        "secret_values", "wants_colour",
    ),
    "lfsplug._session": (
        "Session", "gc_paused", "run_session",
    ),
    "lfsplug._settings": (
        "DEFAULT_LFS", "Setting", "SettingsTable",
    ),
    "lfsplug._state": (
        "HistoryEntry", "StateService", "StoredAttempt", "StoredEvent", "StoredResult",
        "StoredRun", "StoredSample", "StoredSamples", "disk_full", "relink",
    ),
}
_LAZY_MODULE = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _LAZY_MODULE.get(name)
    if module is None:
        raise AttributeError(f"module 'lfsplug' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


def main(args: list[str] | None = None, plugins: list[object] | tuple[object, ...] = ()) -> int:
    """Run the ``lfsplug`` command line and return its exit code (see :mod:`lfsplug._cli`)."""
    from lfsplug._cli import main as cli_main

    return cli_main(args, plugins)


def console_main() -> int:
    """The ``lfsplug`` console script."""
    import gc
    import sys

    # Start-up imports every plugin: thousands of objects (modules, classes, functions) that
    # live as long as the process, which the cyclic collector would scan over and over. It
    # waits until the plugins are in, and then never sees them again (lfsplug._cli).
    if sys.argv[1:] == ["--version"]:  # answered before any plugin is looked for
        print(f"lfsplug {__version__}")
        return 0
    gc.disable()
    from lfsplug._cli import main as cli_main

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
    "ScriptNote",
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
    "WorkProgress",
    "__version__",
    "byte_size",
    "choice",
    "disk_full",
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
    "record_build",
    "record_class",
    "record_to_data",
    "redact",
    "redact_env",
    "redact_text",
    "relink",
    "resume_command",
    "run_session",
    "satisfies",
    "seconds",
    "secret_name",
    "secret_values",
    "show_value",
    "size",
    "string",
    "table_of",
    "version_key",
    "wants_colour",
]
