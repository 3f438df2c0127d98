"""The ``[monitor]`` table of ``lfsplug.toml`` and ``--sample-interval``.

Every key is optional. Disk thresholds are written as BitBake writes ``BB_DISKMON_DIRS``: one
string per rule, ``"ACTION,DIR,SPACE,INODES"``, where ACTION is ``WARN``, ``STOP`` or ``HALT``
(BitBake's ``STOPTASKS`` and ``ABORT`` are accepted for the last two), DIR a watched directory's
label (``lfs``, ``sources``, ``state``) or an absolute path (which is then watched too), SPACE a
free-space floor and INODES a free-inode floor, each a number with an optional ``K``, ``M``,
``G`` or ``T`` suffix (powers of 1024, as BitBake counts) or empty for no floor. A mistake is a
usage error (exit 4) naming the file, the line and the rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import UsageError, byte_size
from lfsplug_monitor import MAX_INTERVAL, MIN_INTERVAL

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["LEVELS", "DiskRule", "Settings", "parse_disk_rule", "read_settings"]

SECTION = "monitor"
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


_KEYS = {"sample_interval", "sources", "disk", "hysteresis", "memory_floor", "overrun_factor",
         "overrun_min", "silent_after", "sbu_script"}


def _interval(config: Config, section: dict[str, Any]) -> float:
    given = config.getoption("sample_interval", None)
    if given is not None:
        value, where = float(given), "--sample-interval"
    else:
        where = config.file.where("sample_interval", SECTION)
        value = config.section_number(SECTION, "sample_interval", 1.0)
    if not MIN_INTERVAL <= value <= MAX_INTERVAL:
        raise UsageError(f"{where}: the sample interval must be from {MIN_INTERVAL:g} to "
                         f"{MAX_INTERVAL:g} s, not {value:g}")
    return value


def _disk_rules(config: Config, section: dict[str, Any]) -> tuple[DiskRule, ...]:
    raw = section.get("disk", list(DEFAULT_DISK))
    where = config.file.where("disk", SECTION)
    if isinstance(raw, str):
        raw = raw.split()  # BitBake's one string of space-separated rules
    if not isinstance(raw, list) or not all(isinstance(r, str) for r in raw):
        raise UsageError(f"{where}: [{SECTION}] disk: expected a list of "
                         f"\"ACTION,DIR,SPACE,INODES\" strings")
    rules = []
    for number, text in enumerate(raw, 1):
        try:
            rules.append(parse_disk_rule(text))
        except ValueError as exc:
            raise UsageError(f"{where}: [{SECTION}] disk rule {number}: {exc}") from None
    return tuple(rules)


def _memory_floor(config: Config, section: dict[str, Any]) -> tuple[int | None, float | None]:
    raw = section.get("memory_floor", "256M")
    where = config.file.where("memory_floor", SECTION)
    if raw in ("", 0, False):
        return None, None
    if isinstance(raw, str) and raw.strip().endswith("%"):
        try:
            percent = float(raw.strip()[:-1])
        except ValueError:
            percent = -1.0
        if not 0 < percent < 100:
            raise UsageError(f"{where}: [{SECTION}] memory_floor: {raw!r} is not a percentage")
        return None, percent
    try:
        return byte_size(str(raw)), None
    except ValueError as exc:
        raise UsageError(f"{where}: [{SECTION}] memory_floor: {exc}") from None


def read_settings(config: Config) -> Settings:
    """The settings from ``[monitor]``, ``--sample-interval``, ``--lfs`` and the state
    directory; UsageError (exit 4) for a bad key or value."""
    section = config.getsection(SECTION)
    for key in section:
        if key not in _KEYS:
            raise UsageError(f"{config.file.where(key, SECTION)}: [{SECTION}] unknown key "
                             f"{key!r} (known: {', '.join(sorted(_KEYS))})")

    def where(key: str) -> str:
        return config.file.where(key, SECTION)

    lfs = Path(str(config.getoption("lfs", "/mnt/lfs") or "/mnt/lfs")).absolute()
    sources = section.get("sources", str(lfs / "sources"))
    if not isinstance(sources, str) or not sources:
        raise UsageError(f"{where('sources')}: [{SECTION}] sources: expected a directory")
    sbu_script = section.get("sbu_script", "binutils-pass1")
    if not isinstance(sbu_script, str) or not sbu_script:
        raise UsageError(f"{where('sbu_script')}: [{SECTION}] sbu_script: expected a name")
    disk = _disk_rules(config, section)
    watch = {"lfs": lfs, "sources": lfs / sources, "state": config.state_dir}
    for rule in disk:
        if rule.dir.startswith("/"):
            watch.setdefault(rule.dir, Path(rule.dir))
    floor, percent = _memory_floor(config, section)
    return Settings(
        interval=_interval(config, section),
        watch=watch,
        disk=disk,
        hysteresis=config.section_number(SECTION, "hysteresis", 0.05),
        memory_floor=floor,
        memory_floor_percent=percent,
        overrun_factor=config.section_number(SECTION, "overrun_factor", 3.0, low=1.0),
        overrun_min=config.section_number(SECTION, "overrun_min", 60.0),
        silent_after=config.section_number(SECTION, "silent_after", 600.0),
        sbu_script=sbu_script,
    )
