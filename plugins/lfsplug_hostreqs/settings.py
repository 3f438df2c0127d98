"""The ``[hostreqs]`` table of ``lfsplug.toml``: thresholds, timeouts and the programs checked.

Every key is optional; the defaults come from the book (:mod:`lfsplug_hostreqs.book`). The
kernel checks the table against the declarations below (an unknown key or a value of the wrong
type is a usage error, exit 4, naming the file and the line) and docs/settings.md lists them;
:func:`read_settings` adds what relates two keys (a recommendation below its minimum).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from lfsplug import DEFAULT_LFS, SettingsTable, choice, integer, number, seconds
from lfsplug_hostreqs import book

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["OPTIONS", "SECTION", "TABLE", "Settings", "read_settings"]

SECTION = "hostreqs"

#: ``--host-check``: a top-level key and an option of run and check.
OPTIONS = SettingsTable()
HOST_CHECK = OPTIONS.add(
    "host_check", choice("auto", "on", "off"), "auto", "check the host against the LFS book's "
    "requirements: auto (when a script's phase is cross, temp or chroot-temp), on, off",
    option=("--host-check",), commands=("run", "check"))

#: The ``[hostreqs]`` table: one key per field of :class:`Settings` but ``lfs``.
TABLE = SettingsTable(SECTION)
_GB, _COUNT = number(0), integer(0)
MIN_DISK_GB = TABLE.add("min_disk_gb", _GB, book.MIN_DISK_GB,
                        "free space at $LFS in GB (10**9 bytes): an error below it")
RECOMMENDED_DISK_GB = TABLE.add("recommended_disk_gb", _GB, book.RECOMMENDED_DISK_GB,
                                "free space at $LFS in GB: a warning below it")
MIN_INODES = TABLE.add("min_inodes", _COUNT, 300_000,
                       "free inodes at $LFS: an error below it (the book gives no figure: a "
                       "full build creates a few hundred thousand files)")
RECOMMENDED_INODES = TABLE.add("recommended_inodes", _COUNT, 1_000_000,
                               "free inodes at $LFS: a warning below it")
MIN_MEMORY_GB = TABLE.add("min_memory_gb", _GB, 2.0,
                          "memory in GB: an error below it (GCC's build needs about this much)")
RECOMMENDED_MEMORY_GB = TABLE.add("recommended_memory_gb", _GB, book.RECOMMENDED_MEMORY_GB,
                                  "memory in GB: a warning below it (the book's recommendation)")
RECOMMENDED_CORES = TABLE.add("recommended_cores", _COUNT, book.RECOMMENDED_CORES,
                              "fewer cores than this is reported as information")
VERSION_TIMEOUT = TABLE.add("version_timeout", seconds(positive=True), 10.0,
                            "seconds a tool may take to answer --version")
COMPILE_TIMEOUT = TABLE.add("compile_timeout", seconds(positive=True), 60.0,
                            "seconds the C++ compiler may take to build the test program")
SH = TABLE.add("sh", str, "/bin/sh", "the shell of the alias check (a path: scripts name "
               "/bin/sh)")
AWK = TABLE.add("awk", str, "awk", "the awk of the alias check")
YACC = TABLE.add("yacc", str, "yacc", "the yacc of the alias check")
CXX = TABLE.add("cxx", str, "g++", "the C++ compiler of the compiler check")
PATH = TABLE.add("path", str, "", "where tools are looked for (a PATH string); empty: this "
                 "process's $PATH (the book's script uses /usr/bin:/bin)")

#: A recommendation may not be below its minimum.
_PAIRS = ((MIN_DISK_GB, RECOMMENDED_DISK_GB), (MIN_INODES, RECOMMENDED_INODES),
          (MIN_MEMORY_GB, RECOMMENDED_MEMORY_GB))


@dataclass(frozen=True)
class Settings:
    """What the host checks compare against, and which programs they run (the fields are
    the keys of ``[hostreqs]``, described there)."""

    min_disk_gb: float = book.MIN_DISK_GB
    recommended_disk_gb: float = book.RECOMMENDED_DISK_GB
    min_inodes: int = 300_000
    recommended_inodes: int = 1_000_000
    min_memory_gb: float = 2.0
    recommended_memory_gb: float = book.RECOMMENDED_MEMORY_GB
    recommended_cores: int = book.RECOMMENDED_CORES
    version_timeout: float = 10.0
    compile_timeout: float = 60.0
    sh: str = "/bin/sh"
    awk: str = "awk"
    yacc: str = "yacc"
    cxx: str = "g++"
    path: str = ""
    #: $LFS (the kernel's ``--lfs``, not a key of this table)
    lfs: str = DEFAULT_LFS


def read_settings(config: Config) -> Settings:
    """The settings of ``[hostreqs]`` and ``--lfs``; UsageError (exit 4) for a recommendation
    below its minimum."""
    for low, high in _PAIRS:
        if config.get(high) < config.get(low):
            given = high if config.source(high) != "default" else low  # name the line written
            raise config.error(given, f"{high.key} ({config.get(high):g}) is below {low.key} "
                                      f"({config.get(low):g})")
    return Settings(**{s.key: config.get(s) for s in TABLE}, lfs=config.lfs)
