"""The ``[hostreqs]`` table of ``lfsplug.toml``: thresholds, timeouts and the programs checked.

Every key is optional; the defaults come from the book (:mod:`lfsplug_hostreqs.book`). A key
the plugin does not know, or a value of the wrong type, is a usage error (exit 4) that names the
file and the line, like any other configuration error.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lfsplug import UsageError
from lfsplug_hostreqs import book

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["SECTION", "Settings", "read_settings"]

SECTION = "hostreqs"


@dataclass(frozen=True)
class Settings:
    """What the host checks compare against, and which programs they run."""

    #: free space at $LFS, in GB (10**9 bytes): an error below the minimum, a warning below
    #: the recommendation
    min_disk_gb: float = book.MIN_DISK_GB
    recommended_disk_gb: float = book.RECOMMENDED_DISK_GB
    #: free inodes at $LFS (the book gives no figure: a full build creates a few hundred
    #: thousand files, sources and build trees included)
    min_inodes: int = 300_000
    recommended_inodes: int = 1_000_000
    #: memory in GB: an error below the minimum (GCC's build needs about this much), a warning
    #: below the book's recommendation
    min_memory_gb: float = 2.0
    recommended_memory_gb: float = book.RECOMMENDED_MEMORY_GB
    #: fewer cores than this is reported as information (the book: slower, but it works)
    recommended_cores: int = book.RECOMMENDED_CORES
    #: seconds a tool may take to answer ``--version``
    version_timeout: float = 10.0
    #: seconds the C++ compiler may take to build the test program
    compile_timeout: float = 60.0
    #: the programs of the alias checks; ``sh`` is a path since scripts name ``/bin/sh``
    sh: str = "/bin/sh"
    awk: str = "awk"
    yacc: str = "yacc"
    #: the C++ compiler of the compiler check
    cxx: str = "g++"
    #: where tools are looked for (a PATH string); empty means this process's $PATH. The
    #: book's script uses /usr/bin:/bin.
    path: str = ""
    #: $LFS, from the executor's ``--lfs`` option (not a key of this table)
    lfs: str = dataclasses.field(default="/mnt/lfs", metadata={"option": True})


_POSITIVE = {"version_timeout", "compile_timeout"}
_PAIRS = (("min_disk_gb", "recommended_disk_gb"), ("min_inodes", "recommended_inodes"),
          ("min_memory_gb", "recommended_memory_gb"))


def _keys() -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(Settings) if not f.metadata.get("option")}


def _where(config: Config, key: str) -> str:
    """``file:line`` of ``key`` inside the ``[hostreqs]`` table (the file alone if not found)."""
    return config.file.where(key, SECTION)


def _convert(key: str, default: Any, raw: Any, where: str) -> Any:
    """``raw`` as the type of ``default``; UsageError naming ``where`` when it is not one."""
    if isinstance(default, str):
        if not isinstance(raw, str):
            raise UsageError(f"{where}: [{SECTION}] {key}: expected a string, got {raw!r}")
        return raw
    numeric = isinstance(raw, (int, float)) and not isinstance(raw, bool)
    if isinstance(default, int) and not (numeric and float(raw).is_integer()):
        raise UsageError(f"{where}: [{SECTION}] {key}: expected a whole number, got {raw!r}")
    if not numeric:
        raise UsageError(f"{where}: [{SECTION}] {key}: expected a number, got {raw!r}")
    if raw < 0 or (key in _POSITIVE and raw == 0):
        floor = "above zero" if key in _POSITIVE else "zero or more"
        raise UsageError(f"{where}: [{SECTION}] {key}: must be {floor}, got {raw!r}")
    return type(default)(raw)


def read_settings(config: Config) -> Settings:
    """The settings from ``[hostreqs]`` and ``--lfs``; UsageError (exit 4) for a bad key."""
    keys = _keys()
    values: dict[str, Any] = {}
    for key, raw in config.getsection(SECTION).items():
        field = keys.get(key)
        if field is None:
            raise UsageError(
                f"{_where(config, key)}: [{SECTION}] unknown key {key!r} "
                f"(known: {', '.join(sorted(keys))})"
            )
        values[key] = _convert(key, field.default, raw, _where(config, key))
    values["lfs"] = str(config.getoption("lfs", "/mnt/lfs") or "/mnt/lfs")
    settings = Settings(**values)
    for low, high in _PAIRS:
        if getattr(settings, high) < getattr(settings, low):
            raise UsageError(
                f"{_where(config, high)}: [{SECTION}] {high} ({getattr(settings, high)}) is "
                f"below {low} ({getattr(settings, low)})"
            )
    return settings
