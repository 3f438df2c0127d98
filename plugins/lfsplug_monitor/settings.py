"""The ``[monitor]`` table of ``lfsplug.toml`` (with ``--sample-interval`` and ``--sbu``): what
its values become.

The table is declared in :mod:`lfsplug_monitor` (the kernel converts and checks it; a mistake
is a usage error, exit 4, naming the file and the line). Disk thresholds are written as BitBake
writes ``BB_DISKMON_DIRS``: one string per rule, ``"ACTION,DIR,SPACE,INODES"``, where ACTION is
``WARN``, ``STOP`` or ``HALT`` (BitBake's ``STOPTASKS`` and ``ABORT`` are accepted for the last
two), DIR a watched directory's label (``lfs``, ``sources``, ``state``) or an absolute path
(which is then watched too), SPACE a free-space floor and INODES a free-inode floor, each a
number with an optional ``K``, ``M``, ``G`` or ``T`` suffix (powers of 1024, as BitBake counts)
or empty for no floor. Here: the rules read (:func:`disk_rules`), and the :class:`Settings` the
monitor runs with (:func:`read_settings`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import DEFAULT_LFS, byte_size

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["DEFAULT_DISK", "LEVELS", "DiskRule", "Settings", "disk_rules", "parse_disk_rule",
           "read_settings"]

#: Alert levels of the disk guard, mildest first.
LEVELS = ("warn", "stop", "halt")
_ACTIONS = {"WARN": "warn", "STOP": "stop", "STOPTASKS": "stop", "HALT": "halt", "ABORT": "halt"}

#: The rules used when ``[monitor] disk`` is not given.
DEFAULT_DISK = (
    "WARN,lfs,10G,100K", "STOP,lfs,2G,10K", "HALT,lfs,500M,1K",
    "WARN,state,1G,10K", "STOP,state,200M,1K", "HALT,state,50M,100",
)


@dataclass(frozen=True)
class DiskRule:
    """One threshold: below ``space`` free bytes or ``inodes`` free inodes at ``dir``, the
    level ``level`` (``warn``, ``stop``, ``halt``) applies."""

    level: str
    dir: str
    space: int | None
    inodes: int | None


@dataclass(frozen=True)
class Settings:
    """What the monitor samples, watches and alerts on."""

    interval: float = 1.0
    #: label -> directory; ``lfs``, ``sources`` and ``state``, plus paths that rules name
    watch: dict[str, Path] = field(default_factory=dict)
    disk: tuple[DiskRule, ...] = ()
    #: a level clears when the figure is back above its threshold by this share
    hysteresis: float = 0.05
    #: available memory below this (bytes) is a ``memory`` alert (None: off)
    memory_floor: int | None = 256 * 1024**2
    #: a share of total memory, used instead of ``memory_floor`` when set
    memory_floor_percent: float | None = None
    #: a script past ``overrun_factor`` times its expected duration, and at least
    #: ``overrun_min`` seconds past it, is an ``overrun`` alert
    overrun_factor: float = 3.0
    overrun_min: float = 60.0
    #: a script with no output for this long (s) is a ``silent`` alert (0: off)
    silent_after: float = 600.0
    #: the script whose duration is one SBU
    sbu_script: str = "binutils-pass1"
    #: this machine's SBU (s) until a build measures it (``--sbu``, ``[monitor] sbu``)
    sbu: float | None = None


def parse_disk_rule(text: str) -> DiskRule:
    """Parse ``"ACTION,DIR,SPACE,INODES"``; ValueError naming what is wrong."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (3, 4):
        raise ValueError(f"{text!r}: expected ACTION,DIR,SPACE[,INODES]")
    action, where, space, inodes = (*parts, "")[:4]
    level = _ACTIONS.get(action.upper())
    if level is None:
        raise ValueError(f"{text!r}: ACTION must be WARN, STOP or HALT, not {action!r}")
    if not where or (where not in ("lfs", "sources", "state") and not where.startswith("/")):
        raise ValueError(f"{text!r}: DIR must be lfs, sources, state or an absolute path")
    try:
        space_n = byte_size(space) if space else None
        inodes_n = byte_size(inodes) if inodes else None
    except ValueError as exc:
        raise ValueError(f"{text!r}: {exc}") from None
    if space_n is None and inodes_n is None:
        raise ValueError(f"{text!r}: give a SPACE or an INODES floor")
    return DiskRule(level, where, space_n, inodes_n)


def disk_rules(raw: object) -> tuple[DiskRule, ...]:
    """``[monitor] disk``: a list of rules, or BitBake's one string of space-separated rules;
    ValueError naming the rule that is wrong."""
    texts = raw.split() if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not all(isinstance(r, str) for r in texts):
        raise ValueError(f'expected a list of "ACTION,DIR,SPACE,INODES" strings, got {raw!r}')
    rules = []
    for number, text in enumerate(texts, 1):
        try:
            rules.append(parse_disk_rule(text))
        except ValueError as exc:
            raise ValueError(f"rule {number}: {exc}") from None
    return tuple(rules)


def read_settings(config: Config) -> Settings:
    """What the monitor runs with: ``[monitor]`` as the kernel converted it, with ``--lfs``
    and the state directory, which the watched directories are relative to."""
    from lfsplug_monitor import (
        DISK,
        HYSTERESIS,
        INTERVAL,
        MEMORY_FLOOR,
        OVERRUN_FACTOR,
        OVERRUN_MIN,
        SBU,
        SBU_SCRIPT,
        SILENT_AFTER,
        SOURCES,
    )

    lfs = Path(config.lfs or DEFAULT_LFS).absolute()
    disk = config.get(DISK)
    if disk is None:
        disk = disk_rules(list(DEFAULT_DISK))
    watch = {"lfs": lfs, "sources": lfs / config.get(SOURCES), "state": config.state_dir}
    for rule in disk:
        if rule.dir.startswith("/"):
            watch.setdefault(rule.dir, Path(rule.dir))
    floor, percent = config.get(MEMORY_FLOOR)
    return Settings(
        interval=config.get(INTERVAL),
        watch=watch,
        disk=disk,
        hysteresis=config.get(HYSTERESIS),
        memory_floor=floor,
        memory_floor_percent=percent,
        overrun_factor=config.get(OVERRUN_FACTOR),
        overrun_min=config.get(OVERRUN_MIN),
        silent_after=config.get(SILENT_AFTER),
        sbu_script=config.get(SBU_SCRIPT),
        sbu=config.get(SBU),
    )
