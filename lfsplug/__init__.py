"""lfsplug: build Linux From Scratch from a tree of build scripts, with a plugin for everything.

The public API: the hook markers, the records that pass between plugins, the exit codes and
:func:`main`. Plugins import from here, never from the private modules.
"""

from __future__ import annotations

import pluggy

__version__ = "0.1.0"

#: Marks a function as the implementation of a hook (``@lfsplug.hookimpl``).
hookimpl = pluggy.HookimplMarker("lfsplug")

# The hook specification module doubles as the marker for specs of a plugin's own hooks
# (``@lfsplug.hookspec``): see the note at its end.
from lfsplug import hookspec  # noqa: E402
from lfsplug.errors import ExitCode, PluginError, UsageError  # noqa: E402
from lfsplug.model import (  # noqa: E402
    Alert,
    Edge,
    Event,
    FailureClass,
    Finding,
    MetaSource,
    Plan,
    Priority,
    Recovery,
    Requirement,
    RunRequest,
    Sample,
    Script,
    ScriptResult,
    Severity,
    Status,
)
from lfsplug.stash import Stash, StashKey  # noqa: E402


def main(args: list[str] | None = None, plugins: list[object] | tuple[object, ...] = ()) -> int:
    """Run the ``lfsplug`` command line and return its exit code (see :mod:`lfsplug.cli`)."""
    from lfsplug.cli import main as cli_main

    return cli_main(args, plugins)


def console_main() -> int:
    """The ``lfsplug`` console script."""
    import sys

    code = main()
    sys.stdout.flush()
    return code


__all__ = [
    "Alert",
    "Edge",
    "Event",
    "ExitCode",
    "FailureClass",
    "Finding",
    "MetaSource",
    "Plan",
    "PluginError",
    "Priority",
    "Recovery",
    "Requirement",
    "RunRequest",
    "Sample",
    "Script",
    "ScriptResult",
    "Severity",
    "Stash",
    "StashKey",
    "Status",
    "UsageError",
    "__version__",
    "hookimpl",
    "hookspec",
    "main",
]
