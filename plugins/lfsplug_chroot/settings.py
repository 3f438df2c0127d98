"""The ``[chroot]`` table of ``lfsplug.toml``: the build user, the shell inside the chroot, where
scripts are copied inside it, and each phase's (or script's) mode.

Every key is optional. A key the plugin does not know, a value of the wrong type or a mode that
does not exist is a usage error (exit 4) naming the file and the line.

```toml
[chroot]
user = "lfs"                   # the unprivileged build user of chapters 5 and 6
shell = "/bin/bash"            # the shell inside the chroot (a path inside $LFS)
shell_options = ["+h", "-e"]   # its options; default: the executor's own (bash +h -e)
script_dir = "/run/lfsplug"    # where a script is copied inside the chroot

[chroot.phases]                # phase -> mode; "default" for scripts without a known phase
blfs = "root"

[chroot.scripts]               # script name (a glob) -> mode; wins over the phase
"kernfs" = "root"

[chroot.env]                   # variables added inside the chroot only
CFLAGS = "-O2"
```
"""

from __future__ import annotations

import fnmatch
import os
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lfsplug import UsageError

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["DEFAULT_PHASES", "DEFAULT_SCRIPTS", "MODES", "SECTION", "Settings", "read_settings"]

SECTION = "chroot"

#: ``host``: on the host as whoever runs lfsplug; ``root``: on the host as root; ``user``: on
#: the host as the build user; ``chroot``: inside ``chroot "$LFS"`` as root.
MODES = ("host", "root", "user", "chroot")

#: The book's phases: chapters 5 and 6 as the ``lfs`` user (chapter 4, "Adding the LFS User"),
#: chapters 7 to 11 inside the chroot (chapter 7, "Entering the Chroot Environment"); the host
#: preparation and BLFS as whoever runs lfsplug. "default" covers scripts without a phase.
DEFAULT_PHASES: dict[str, str] = {
    "host": "host",
    "cross": "user",
    "temp": "user",
    "chroot-temp": "chroot",
    "system": "chroot",
    "config": "chroot",
    "blfs": "host",
    "default": "host",
}

#: Two pages of chapter 7 run on the host as root before the chroot is entered: changing the
#: owner of $LFS to root, and mounting the kernel's file systems.
DEFAULT_SCRIPTS: dict[str, str] = {"changingowner": "root", "kernfs": "root"}


@dataclass(frozen=True)
class Settings:
    """What the plugin needs from the configuration, read once per command."""

    #: the unprivileged build user
    user: str = "lfs"
    #: the shell that runs a script inside the chroot, as a path inside $LFS
    shell: str = "/bin/bash"
    #: its options; None keeps the options of the command the executor gives (``+h -e``)
    shell_options: tuple[str, ...] | None = None
    #: the directory inside the chroot where each script is copied while it runs
    script_dir: str = "/run/lfsplug"
    #: phase -> mode, the book's defaults updated by ``[chroot.phases]``
    phases: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PHASES))
    #: script name glob -> mode (``[chroot.scripts]``), in file order after the defaults
    scripts: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SCRIPTS))
    #: variables added inside the chroot only
    env: dict[str, str] = field(default_factory=dict)
    #: $LFS, from the executor's ``--lfs`` option (not a key of this table)
    lfs: str = "/mnt/lfs"

    def phase_mode(self, phase: str | None) -> tuple[str, str]:
        """The mode of a phase and where it came from."""
        key = (phase or "").strip().lower()
        if key and key in self.phases:
            return self.phases[key], f"phase {key}"
        return self.phases["default"], "no known phase" if key else "no phase"

    def script_mode(self, name: str) -> tuple[str, str] | None:
        """The mode ``[chroot.scripts]`` (or the book's defaults) gives script ``name``."""
        for pattern, mode in reversed(self.scripts.items()):  # the last rule written wins
            if fnmatch.fnmatchcase(name, pattern):
                return mode, f"[chroot.scripts] {pattern}"
        return None


_STRINGS = ("user", "shell", "script_dir")
_TABLES = ("phases", "scripts", "env")


def _where(config: Config, key: str, table: str = SECTION) -> str:
    return config.file.where(key, table)


def _string(config: Config, key: str, raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise UsageError(f"{_where(config, key)}: [{SECTION}] {key}: expected a non-empty "
                         f"string, got {raw!r}")
    return raw.strip()


def _inside_path(config: Config, key: str, raw: Any) -> str:
    value = _string(config, key, raw)
    if not value.startswith("/"):
        raise UsageError(f"{_where(config, key)}: [{SECTION}] {key}: must be an absolute path "
                         f"inside the chroot, got {value!r}")
    return posixpath.normpath(value)


def _options(config: Config, raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        raise UsageError(f"{_where(config, 'shell_options')}: [{SECTION}] shell_options: "
                         f"expected a list of strings, got {raw!r}")
    return tuple(raw)


def _modes(config: Config, table: str, raw: Any) -> dict[str, str]:
    where = f"{SECTION}.{table}"
    if not isinstance(raw, dict):
        raise UsageError(f"{_where(config, table)}: [{SECTION}] {table}: expected a table "
                         f"of NAME = MODE")
    modes = {}
    for key, mode in raw.items():
        if mode not in MODES:
            raise UsageError(f"{_where(config, key, where)}: [{where}] {key} = {mode!r}: "
                             f"not a mode (known: {', '.join(MODES)})")
        modes[str(key).strip().lower() if table == "phases" else str(key)] = mode
    return modes


def _env(config: Config, raw: Any) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise UsageError(f"{_where(config, 'env')}: [{SECTION}] env: expected a table of "
                         f"variables")
    for key, value in raw.items():
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise UsageError(f"{_where(config, key, f'{SECTION}.env')}: [{SECTION}.env] {key}: "
                             f"expected a string or a number, got {value!r}")
    return {str(k): str(v) for k, v in raw.items()}


def read_settings(config: Config) -> Settings:
    """The settings from ``[chroot]`` and ``--lfs``; UsageError (exit 4) for a bad key."""
    values: dict[str, Any] = {}
    known = sorted((*_STRINGS, "shell_options", *_TABLES))
    phases, scripts = dict(DEFAULT_PHASES), dict(DEFAULT_SCRIPTS)
    for key, raw in config.getsection(SECTION).items():
        if key == "user":
            values["user"] = _string(config, key, raw)
        elif key in ("shell", "script_dir"):
            values[key] = _inside_path(config, key, raw)
        elif key == "shell_options":
            values[key] = _options(config, raw)
        elif key == "phases":
            phases.update(_modes(config, key, raw))
        elif key == "scripts":
            scripts.update(_modes(config, key, raw))
        elif key == "env":
            values["env"] = _env(config, raw)
        else:
            raise UsageError(f"{_where(config, key)}: [{SECTION}] unknown key {key!r} "
                             f"(known: {', '.join(known)})")
    if values.get("script_dir") == "/":
        raise UsageError(f"{_where(config, 'script_dir')}: [{SECTION}] script_dir: must not "
                         f"be / (lfsplug removes what it copies there)")
    lfs = config.getoption("lfs", "/mnt/lfs")
    values["lfs"] = "" if lfs is None else os.fspath(lfs)
    return Settings(phases=phases, scripts=scripts, **values)

