"""Monitor: samples the machine and each script while a build runs, guards the disk, raises
alerts, and measures the build in SBU with an ETA.

During ``lfsplug run`` one thread samples every ``--sample-interval`` seconds (1 by default):
the machine (CPU, memory, swap, load, pressure stall information), the watched directories
(``$LFS``, the sources, the state directory: free space and inodes) and each running script's
process tree (CPU, memory, I/O, process count). Disk floors per directory, as BitBake's
``BB_DISKMON_DIRS``, warn, stop the build (no new script) or halt it (the running scripts are
ended too); memory running low, a script far past its expected time and a script silent for
long raise alerts. Each script's result gets its disk figures (jhalfs's before, after,
required, installed), its duration in SBU, its CPU efficiency and its sample statistics. The
ETA comes from own history, else imported history in SBU, guarded as ninja guards its own.

This module is the gate: it adds the options and, for ``run``, registers one
:class:`~lfsplug_monitor.monitor.Monitor` (imported only then: psutil is not needed by the
other commands). docs/monitor.md describes it all for users.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import hookimpl

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser

__all__ = ["PLUGIN_NAME"]

#: The name the monitor object is registered under for a run.
PLUGIN_NAME = "monitor-sampler"
#: The range of ``--sample-interval`` and ``[monitor] sample_interval`` (seconds).
MIN_INTERVAL, MAX_INTERVAL = 0.1, 60.0


def sample_interval(text: str) -> float:
    """An option type: seconds between samples, from 0.1 to 60."""
    value = float(text)
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise ValueError(f"{text!r} is not a number of seconds from {MIN_INTERVAL:g} to "
                         f"{MAX_INTERVAL:g}")
    return value


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.addoption("--sample-interval", commands=("run",), type=sample_interval, metavar="S",
                     help="sample the machine and the running scripts every S seconds "
                          "(0.1 to 60; default 1, or [monitor] sample_interval)")


# tryfirst: a mistake in [monitor] stops the command before other plugins set up (the
# state plugin takes its run lock in its own configure)
@hookimpl(tryfirst=True)
def lfsplug_configure(config: Config) -> None:
    if config.command != "run" or config.getoption("dry_run", False):
        return
    from lfsplug_monitor.monitor import Monitor
    from lfsplug_monitor.settings import read_settings

    config.pluginmanager.register(Monitor(config, read_settings(config)), PLUGIN_NAME)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    config.pluginmanager.unregister_and_close(PLUGIN_NAME)
