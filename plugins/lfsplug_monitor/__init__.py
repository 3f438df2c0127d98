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
ETA comes from own history, else imported history weighed by closeness and rescaled by this
machine's SBU (:mod:`.eta`), guarded as ninja guards its own.

This module is the gate: it adds the options and, for ``run``, registers one
:class:`~lfsplug_monitor.monitor.Monitor` (imported only then: psutil is not needed by the
other commands); for a plan that is not run (``list``, ``graph``, ``run --dry-run``) it
registers :class:`PlanEstimates`, which reads history (and imports :mod:`.eta`) only when there
is some. docs/monitor.md describes it all for users.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from typing import TYPE_CHECKING

from lfsplug import (
    Estimate,
    Kind,
    Script,
    SettingsTable,
    byte_size,
    hookimpl,
    number,
    seconds,
    show_value,
    string,
)

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser, StateService
    from lfsplug_monitor.eta import History
    from lfsplug_monitor.settings import DiskRule

__all__ = ["ESTIMATES_NAME", "PLUGIN_NAME", "TABLE", "PlanEstimates"]

#: The name the monitor object is registered under for a run.
PLUGIN_NAME = "monitor-sampler"
#: The name :class:`PlanEstimates` is registered under for a plan that is not run.
ESTIMATES_NAME = "monitor-estimates"
#: The range of ``--sample-interval`` and ``[monitor] sample_interval`` (seconds).
MIN_INTERVAL, MAX_INTERVAL = 0.1, 60.0


def _disk_rules(raw: object) -> tuple[DiskRule, ...]:
    from lfsplug_monitor.settings import disk_rules  # only when the file gives rules

    return disk_rules(raw)


def _memory_floor(raw: object) -> tuple[int | None, float | None]:
    """A size in bytes, or a share of total memory (``"10%"``); ``""``, 0 or false: off."""
    if raw in ("", 0, False):
        return None, None
    if isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            percent = float(raw.strip()[:-1])
        except ValueError:
            percent = -1.0
        if not 0 < percent < 100:
            raise ValueError(f"{raw!r} is not a percentage")
        return None, percent
    return byte_size(str(raw)), None


#: The ``[monitor]`` table (docs/monitor.md); ``--sample-interval`` and ``--sbu`` are options
#: of two of its keys. The kernel converts and checks it; :mod:`.settings` makes it the
#: monitor's :class:`~.settings.Settings`.
TABLE = SettingsTable("monitor")
INTERVAL = TABLE.add(
    "sample_interval", seconds(MIN_INTERVAL, MAX_INTERVAL), 1.0, "sample the machine and the "
    "running scripts every S seconds", option=("--sample-interval",), commands=("run",),
    metavar="S")
SOURCES = TABLE.add(
    "sources", string(empty=False), "sources", "the sources directory whose free space is "
    "watched: relative to $LFS, or absolute")
DISK = TABLE.add(
    "disk", Kind('a list of "ACTION,DIR,SPACE,INODES" rules (or one string of them)',
                 _disk_rules), None,
    "disk floors, as BitBake's BB_DISKMON_DIRS: below SPACE free bytes or INODES free inodes "
    "at DIR (lfs, sources, state or an absolute path), WARN, STOP (no new script) or HALT "
    "(running scripts ended too)",
    shown_default=show_value(["WARN,lfs,10G,100K", "STOP,lfs,2G,10K", "HALT,lfs,500M,1K",
                              "WARN,state,1G,10K", "STOP,state,200M,1K", "HALT,state,50M,100"]))
HYSTERESIS = TABLE.add(
    "hysteresis", number(0), 0.05, "a level clears when the figure is back above its threshold "
    "by this share")
MEMORY_FLOOR = TABLE.add(
    "memory_floor", Kind('a size ("256M"), a share of total memory ("10%"), or "" for off',
                         _memory_floor), (256 << 20, None),
    "available memory below this is a memory alert", shown_default='"256M"')
OVERRUN_FACTOR = TABLE.add(
    "overrun_factor", number(1), 3.0, "a script past this many times its expected duration "
    "(and overrun_min past it) is an overrun alert")
OVERRUN_MIN = TABLE.add(
    "overrun_min", seconds(), 60.0, "seconds a script must be past its expected duration for "
    "an overrun alert")
SILENT_AFTER = TABLE.add(
    "silent_after", seconds(note="0: off"), 600.0, "a script with no output for this long is a "
    "silent alert")
SBU_SCRIPT = TABLE.add(
    "sbu_script", string(empty=False), "binutils-pass1", "the script whose duration is one SBU")
SBU = TABLE.add(
    "sbu", seconds(positive=True), None, "this machine's SBU (binutils-pass1's time) for the "
    "estimates, until a build has measured it", option=("--sbu",),
    commands=("run", "list", "graph"), metavar="SECONDS")


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(TABLE)


class PlanEstimates:
    """Expected durations of a plan that is not being run: this machine's own passes first
    (the state plugin), else imported history weighed by closeness (:mod:`.eta`), rescaled
    by this machine's SBU (its last ``sbu_script`` pass on record, else ``--sbu``), else
    ``sbu=`` metadata times that SBU."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._history: History | None = None
        self._read = False
        self._unit: tuple[float | None] | None = None

    def _state(self) -> StateService | None:
        state: StateService | None = self.config.hook.lfsplug_state_service(config=self.config)
        return state

    def history(self) -> History | None:
        """Imported history, read once; None when there is none (and eta is not imported)."""
        if not self._read:
            self._read = True
            state = self._state()
            entries = list(state.history()) if state is not None else []
            if entries:
                from lfsplug_monitor.eta import History

                self._history = History(entries)
        return self._history

    def sbu(self) -> float | None:
        """This machine's SBU (s): its last pass of ``[monitor] sbu_script`` on record, else
        ``--sbu`` or ``[monitor] sbu``; None when neither says."""
        if self._unit is None:
            state = self._state()
            name = self.config.get(SBU_SCRIPT)
            # the SBU is this machine's: binutils-pass1 of any target built here
            last = state.last_pass(name, any_target=True) if state is not None else None
            if last is not None and last.started is not None and last.finished is not None:
                self._unit = (max(last.finished - last.started, 1e-3),)
            else:
                self._unit = (self.config.get(SBU),)
        return self._unit[0]

    def estimate(self, script: Script) -> Estimate | None:
        """The script's estimate from imported history, else from its ``sbu=`` metadata."""
        history = self.history()
        if history is None and script.sbu is None:
            return None  # nothing to go by: no need to look for this machine's SBU
        from lfsplug_monitor.eta import from_metadata, make_jobs

        unit = self.sbu()
        found = history.estimate(script, sbu_seconds=unit, jobs=make_jobs(self.config.env)) \
            if history is not None else None
        if found is None:
            found = from_metadata(script, unit or (history.sbu_seconds if history else None))
        return found

    @hookimpl(wrapper=True)
    def lfsplug_estimate(self, script: Script,
                         config: Config) -> Generator[None, Estimate | None, Estimate | None]:
        """Own passes first (the state plugin answers, given in SBU here when one is known);
        without them, imported history."""
        answer = yield
        if answer is None:
            return self.estimate(script)
        unit = self.sbu() if answer.sbu is None else None
        return replace(answer, sbu=answer.seconds / unit) if unit else answer

    @hookimpl(wrapper=True)
    def lfsplug_expected_duration(self, script: Script,
                                  config: Config) -> Generator[None, float | None, float | None]:
        """Own passes first; without them, the seconds of :meth:`estimate`."""
        answer = yield
        if answer is not None:
            return answer
        found = self.estimate(script)
        return found.seconds if found is not None else None


# tryfirst: a mistake in [monitor] stops the command before other plugins set up (the
# state plugin takes its run lock in its own configure)
@hookimpl(tryfirst=True)
def lfsplug_configure(config: Config) -> None:
    if config.command != "run" or config.getoption("dry_run", False):
        if config.command in ("list", "graph", "run"):  # a plan that is not run
            config.pluginmanager.register(PlanEstimates(config), ESTIMATES_NAME)
        return
    from lfsplug_monitor.monitor import Monitor
    from lfsplug_monitor.settings import read_settings

    config.pluginmanager.register(Monitor(config, read_settings(config)), PLUGIN_NAME)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    config.pluginmanager.unregister_and_close(PLUGIN_NAME)
    config.pluginmanager.unregister_and_close(ESTIMATES_NAME)
