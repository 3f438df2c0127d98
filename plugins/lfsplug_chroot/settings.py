"""The ``[chroot]`` table of ``lfsplug.toml``: the build user, the shell inside the chroot, where
scripts are copied inside it, and each phase's (or script's) mode.

Every key is optional; the kernel checks the table against the declarations below (a key the
plugin does not know, a value of the wrong type, a mode that does not exist: a usage error,
exit 4, naming the file and the line) and docs/settings.md lists them.

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
import posixpath
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lfsplug import DEFAULT_LFS, Kind, SettingsTable, choice, list_of, table_of

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["COMMANDS", "DEFAULT_PHASES", "DEFAULT_SCRIPTS", "MODES", "OPTIONS", "SECTION",
           "TABLE", "Settings", "read_settings"]

SECTION = "chroot"
#: The commands that place scripts: ``check`` reports the refusals, ``run`` acts.
COMMANDS = ("run", "check")

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


def _name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError(f"expected a non-empty string, got {raw!r}")
    return raw.strip()


def _inside_path(raw: object) -> str:
    value = _name(raw)
    if not value.startswith("/"):
        raise ValueError(f"must be an absolute path inside the chroot, got {value!r}")
    return posixpath.normpath(value)


def _script_dir(raw: object) -> str:
    value = _inside_path(raw)
    if value == "/":
        raise ValueError("must not be / (lfsplug removes what it copies there)")
    return value


def _mode(raw: object) -> str:
    if raw not in MODES:
        raise ValueError(f"{raw!r} is not a mode (known: {', '.join(MODES)})")
    return str(raw)


def _variable(raw: object) -> str:
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError(f"expected a string or a number, got {raw!r}")
    return str(raw)


_MODE = Kind("a mode: host, root, user or chroot", _mode, choices=MODES)
_INSIDE = Kind("an absolute path inside the chroot", _inside_path)

#: ``--privileges``: a top-level key and an option of run and check.
OPTIONS = SettingsTable()
PRIVILEGES = OPTIONS.add(
    "privileges", choice("on", "off"), "on", "on: run each script as the book says (chapters "
    "5-6 as the build user, 7-11 inside chroot $LFS, header user=/chroot= first); off: every "
    "script on the host as yourself", option=("--privileges",), commands=COMMANDS)

#: The ``[chroot]`` table.
TABLE = SettingsTable(SECTION)
USER = TABLE.add("user", Kind("a non-empty string", _name), "lfs",
                 "the unprivileged build user of chapters 5 and 6")
SHELL = TABLE.add("shell", _INSIDE, "/bin/bash",
                  "the shell that runs a script inside the chroot (a path inside $LFS)")
SHELL_OPTIONS = TABLE.add("shell_options", list_of(str), None,
                          "its options (default: the executor's own, bash +h -e)")
SCRIPT_DIR = TABLE.add("script_dir", Kind("an absolute path inside the chroot, not /",
                                          _script_dir), "/run/lfsplug",
                       "where a script is copied inside the chroot while it runs")
PHASES = TABLE.add("phases", table_of(_MODE, key=lambda k: k.strip().lower(), entry="PHASE"),
                   DEFAULT_PHASES, 'the mode of each phase ("default": scripts without a known '
                   "phase); the book's modes, updated by this table")
SCRIPTS = TABLE.add("scripts", table_of(_MODE, entry="GLOB"), DEFAULT_SCRIPTS,
                    "the mode of the scripts whose name matches GLOB; wins over the phase, the "
                    "last rule written first")
ENV = TABLE.add("env", table_of(Kind("a string or a number", _variable), entry="VARIABLE"), {},
                "variables added inside the chroot only")


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
    #: $LFS (the kernel's ``--lfs``, not a key of this table)
    lfs: str = DEFAULT_LFS
    #: ``[env] LFS`` (what the scripts get instead of ``--lfs``) and its ``file:line``, if set
    lfs_env: tuple[str, str] | None = None

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


def read_settings(config: Config) -> Settings:
    """The settings of ``[chroot]`` and ``--lfs``, as the kernel converted them."""
    options = config.get(SHELL_OPTIONS)
    return Settings(
        user=config.get(USER),
        shell=config.get(SHELL),
        shell_options=tuple(options) if options is not None else None,
        script_dir=config.get(SCRIPT_DIR),
        phases={**DEFAULT_PHASES, **config.get(PHASES)},
        scripts={**DEFAULT_SCRIPTS, **config.get(SCRIPTS)},
        env=dict(config.get(ENV)),
        lfs=config.lfs,
        lfs_env=(config.env["LFS"], config.file.where("LFS", "env")) if "LFS" in config.env
        else None,
    )
