"""The ``[discovery]`` table of the configuration file.

::

    [discovery]
    list_file = "order.lst"            # or a list of names; default "build_order.txt"
    split_sections = true              # one script per package of a multi-package file
    drivers = true                     # follow the collection's own drivers (default)
    driver = "run-all.sh"              # the driver to follow (default: found in the tree)
    unreached = "skip"                 # or "build": scripts no driver reaches, in tree order

    [discovery.phases]
    "lfs-commands/chapter07/*" = "chroot-temp"
    "extras" = "blfs"

A malformed table is a usage error (exit 4) that names the file and line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lfsplug import UsageError
from lfsplug_discovery.phases import PhaseRule

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["DEFAULT_LIST_FILES", "Settings", "load_settings"]

DEFAULT_LIST_FILES = ("build_order.txt",)
KEYS = ("list_file", "phases", "drivers", "driver", "unreached", "split_sections")
UNREACHED = ("skip", "build")
_PHASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Settings:
    """What the configuration says about discovery."""

    list_files: tuple[str, ...] = DEFAULT_LIST_FILES
    phase_rules: list[PhaseRule] = field(default_factory=list)
    #: how ``--why`` names the configuration file (``lfsplug.toml``), and where it is
    config_name: str = "lfsplug.toml"
    config_dir: str | None = None
    #: run each section of a multi-package file as a script of its own (docs/layouts.md)
    split_sections: bool = False
    #: follow the collection's drivers; the one driver to follow (an absolute path) when given
    drivers: bool = True
    driver: str | None = None
    #: what becomes of the scripts no driver reaches: ``skip`` (an info finding) or ``build``
    unreached: str = "skip"


def _where(config: Config, key: str) -> str:
    return config.file.where(key, "discovery")


def _list_files(config: Config, value: Any) -> tuple[str, ...]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise UsageError(f"{_where(config, 'list_file')}: [discovery] list_file must be a file "
                         "name or a list of file names")
    for name in names:
        if not name or "/" in name or name in (".", ".."):
            raise UsageError(f"{_where(config, 'list_file')}: [discovery] list_file {name!r} "
                             "must be a plain file name (it is looked for in every directory)")
    return tuple(names)


def _phase_rules(config: Config, value: Any) -> list[PhaseRule]:
    if not isinstance(value, dict):
        raise UsageError(f"{_where(config, 'phases')}: [discovery.phases] must be a table of "
                         '"glob" = "phase"')
    rules = []
    for glob, phase in value.items():
        if not isinstance(phase, str) or not _PHASE.match(phase):
            raise UsageError(f"{_where(config, glob)}: [discovery.phases] {glob!r} must name a "
                             f"phase (one word such as cross, temp, system), not {phase!r}")
        rules.append(PhaseRule(glob.strip("/"), phase, config.file.line_of(glob, "discovery")))
    return rules


def _split_sections(config: Config, value: Any) -> bool:
    if not isinstance(value, bool):
        raise UsageError(f"{_where(config, 'split_sections')}: [discovery] split_sections must "
                         f"be true or false, not {value!r}")
    return value


def load_settings(config: Config) -> Settings:
    """Read and check ``[discovery]``; UsageError naming the file and line when it is wrong."""
    section = config.getsection("discovery")
    for key in section:
        if key not in KEYS:
            import difflib

            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (keys: {', '.join(KEYS)})"
            raise UsageError(f"{_where(config, key)}: [discovery] has no key {key!r}{hint}")
    list_files: tuple[str, ...] = DEFAULT_LIST_FILES
    if "list_file" in section:
        list_files = _list_files(config, section["list_file"])
    rules = _phase_rules(config, section["phases"]) if "phases" in section else []
    split = _split_sections(config, section["split_sections"]) if "split_sections" in section \
        else False
    path = config.file.path
    base = Settings(list_files, rules, split_sections=split) if path is None else Settings(
        list_files, rules, path.name, str(path.parent.absolute()), split)
    return _driver_settings(config, section, base)


def _driver_settings(config: Config, section: dict[str, Any], base: Settings) -> Settings:
    """``drivers``, ``driver`` (or ``--driver``) and ``unreached``."""
    from dataclasses import replace

    drivers = section.get("drivers", True)
    if not isinstance(drivers, bool):
        raise UsageError(f"{_where(config, 'drivers')}: [discovery] drivers must be true or "
                         f"false, not {drivers!r}")
    unreached = section.get("unreached", "skip")
    if unreached not in UNREACHED:
        raise UsageError(f"{_where(config, 'unreached')}: [discovery] unreached must be "
                         f"{' or '.join(map(repr, UNREACHED))}, not {unreached!r}")
    driver = config.getoption("driver", None)
    if driver is not None:
        if str(driver) == "none":
            return replace(base, drivers=False, unreached=unreached)
        driver = _existing(str(driver), "--driver", str(driver))
    elif "driver" in section:
        value = section["driver"]
        where = _where(config, "driver")
        if not isinstance(value, str) or not value:
            raise UsageError(f"{where}: [discovery] driver must name a script file")
        directory = config.file.path.parent if config.file.path is not None else None
        full = value if directory is None else str(directory / value)
        driver = _existing(full, where, value)
    return replace(base, drivers=drivers, driver=driver, unreached=unreached)


def _existing(path: str, where: str, given: str) -> str:
    import os

    if not os.path.isfile(path):
        raise UsageError(f"{where}: the driver {given!r} is not a file")
    return os.path.abspath(path)
