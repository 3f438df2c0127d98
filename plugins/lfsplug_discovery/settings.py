"""The ``[discovery]`` table of the configuration file, and ``--driver``.

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

The kernel converts and checks the table as declared below (a mistake is a usage error, exit 4,
naming the file and line); :func:`load_settings` makes it the plugin's :class:`Settings`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import Kind, SettingsTable, choice, table_of
from lfsplug_discovery.phases import PhaseRule

if TYPE_CHECKING:
    from lfsplug import Config, Setting

__all__ = ["DEFAULT_LIST_FILES", "OPTIONS", "TABLE", "Settings", "load_settings"]

DEFAULT_LIST_FILES = ("build_order.txt",)
UNREACHED = ("skip", "build")
_PHASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _list_files(raw: object) -> tuple[str, ...]:
    names = [raw] if isinstance(raw, str) else raw
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ValueError(f"expected a file name or a list of file names, got {raw!r}")
    for name in names:
        if not name or "/" in name or name in (".", ".."):
            raise ValueError(f"{name!r} must be a plain file name (it is looked for in every "
                             f"directory)")
    return tuple(names)


def _phase(raw: object) -> str:
    if not isinstance(raw, str) or not _PHASE.match(raw):
        raise ValueError(f"must name a phase (one word such as cross, temp, system), not "
                         f"{raw!r}")
    return raw


#: ``--driver``: a top-level key and an option.
OPTIONS = SettingsTable()
DRIVER_OPTION = OPTIONS.add(
    "driver", str, None, "the collection's driver script to follow for which scripts to build "
    "and in what order (default: found in the tree; 'none': no driver)", option=("--driver",),
    commands=("run", "list", "check", "graph"), metavar="FILE")

#: The ``[discovery]`` table (docs/layouts.md).
TABLE = SettingsTable("discovery")
LIST_FILE = TABLE.add(
    "list_file", Kind("a file name, or a list of them", _list_files), DEFAULT_LIST_FILES,
    "the list files that name the scripts of their directory in build order")
PHASES = TABLE.add(
    "phases", table_of(Kind("a phase name", _phase), entry="GLOB"), {},
    "the phase of the scripts whose path (relative to the tree) matches GLOB; only the "
    "header's phase= wins over it")
SPLIT_SECTIONS = TABLE.add(
    "split_sections", bool, False, "run each package of a multi-package file as a script of "
    "its own")
DRIVERS = TABLE.add(
    "drivers", bool, True, "follow the collection's own drivers (the scripts that run the "
    "others) for which scripts to build, and in what order")
DRIVER = TABLE.add(
    "driver", Path, None, "the driver to follow (--driver wins)")
UNREACHED_SETTING = TABLE.add(
    "unreached", choice(*UNREACHED), "skip", "the scripts no driver reaches: skip them (an "
    "info finding) or build them, in tree order")


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


def load_settings(config: Config) -> Settings:
    """``[discovery]`` and ``--driver``, as the kernel read them; UsageError naming where a
    driver was given when it is not a file."""
    rules = [PhaseRule(glob.strip("/"), phase, config.file.line_of(glob, "discovery"))
             for glob, phase in config.get(PHASES).items()]
    path = config.file.path
    drivers, driver = config.get(DRIVERS), None
    given = config.get(DRIVER_OPTION)
    if given == "none":
        drivers = False
    elif given is not None:
        driver = _existing(config, DRIVER_OPTION, Path(given).absolute())
    elif (in_table := config.get(DRIVER)) is not None:
        driver = _existing(config, DRIVER, in_table)
    return Settings(
        list_files=config.get(LIST_FILE),
        phase_rules=rules,
        config_name=path.name if path is not None else "lfsplug.toml",
        config_dir=str(path.parent.absolute()) if path is not None else None,
        split_sections=config.get(SPLIT_SECTIONS),
        drivers=drivers,
        driver=driver,
        unreached=config.get(UNREACHED_SETTING),
    )


def _existing(config: Config, setting: Setting[object], path: Path) -> str:
    if not path.is_file():
        raise config.error(setting, f"the driver {str(path)!r} is not a file")
    return os.path.abspath(path)
