"""The ``[discovery]`` table of the configuration file.

::

    [discovery]
    list_file = "order.lst"            # or a list of names; default "build_order.txt"

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
    from lfsplug.config import Config

__all__ = ["DEFAULT_LIST_FILES", "Settings", "load_settings"]

DEFAULT_LIST_FILES = ("build_order.txt",)
KEYS = ("list_file", "phases")
_PHASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Settings:
    """What the configuration says about discovery."""

    list_files: tuple[str, ...] = DEFAULT_LIST_FILES
    phase_rules: list[PhaseRule] = field(default_factory=list)
    #: how ``--why`` names the configuration file (``lfsplug.toml``), and where it is
    config_name: str = "lfsplug.toml"
    config_dir: str | None = None


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
    path = config.file.path
    if path is None:
        return Settings(list_files, rules)
    return Settings(list_files, rules, path.name, str(path.parent.absolute()))
