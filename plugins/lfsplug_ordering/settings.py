"""What the command line and the configuration say about ordering.

::

    order = "sequence"                 # or --order: every phase not listed below
    book_deps = "lfs-book/appendices/dependencies.xml"   # or --book-deps PATH

    [ordering]
    phases = { system = "graph", config = "graph", blfs = "graph" }
    book_revision = "auto"             # sysv | systemd | auto (systemd if a script provides it)

Precedence: ``--order`` on the command line (or in ``LFSPLUG_ADDOPTS``) sets every phase, since
a user who types it asks for that order now; otherwise ``[ordering] phases`` sets the phases it
names and ``order`` in the file (else ``sequence``, as jhalfs builds) sets the rest. A mistake
in any of it is a usage error (exit 4) naming the file and line.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import UsageError

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["DEFAULT_ORDER", "FORMATS", "ORDERS", "REVISIONS", "Settings", "load_settings"]

ORDERS = ("sequence", "graph")
#: The formats of ``lfsplug graph --format`` (:mod:`lfsplug_ordering.draw` draws them).
FORMATS = ("text", "dot", "mermaid", "json")
DEFAULT_ORDER = "sequence"
REVISIONS = ("auto", "sysv", "systemd")
KEYS = ("phases", "book_revision")
SECTION = "ordering"
_PHASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Settings:
    """The order of each phase, and where the book's dependency data is."""

    default_mode: str = DEFAULT_ORDER
    #: modes that ``[ordering] phases`` sets (empty when ``--order`` overrides them)
    phase_modes: dict[str, str] = field(default_factory=dict)
    #: where each entry of ``[ordering] phases`` is (``lfsplug.toml:7``), for findings
    phase_lines: dict[str, tuple[str, int | None]] = field(default_factory=dict)
    book_deps: Path | None = None
    book_revision: str = "auto"

    def mode_of(self, phase: str | None) -> str:
        """``sequence`` or ``graph`` for the scripts of ``phase``."""
        if phase is None:
            return self.default_mode
        return self.phase_modes.get(phase, self.default_mode)

    def label(self, phases: list[str | None]) -> str:
        """The plan's mode: the one mode of every phase present, or ``mixed``."""
        modes = {self.mode_of(p) for p in phases} or {self.default_mode}
        return modes.pop() if len(modes) == 1 else "mixed"


def load_settings(config: Config) -> Settings:
    """Read ``--order``, ``--book-deps`` and ``[ordering]``; UsageError with file and line."""
    section = config.getsection(SECTION)
    for key in section:
        if key not in KEYS:
            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else f" (keys: {', '.join(KEYS)})"
            raise UsageError(f"{_where(config, key)}: [{SECTION}] has no key {key!r}{hint}")
    modes, lines = _phase_modes(config, section.get("phases", {}))
    default, forced = _default_mode(config)
    revision = section.get("book_revision", "auto")
    if revision not in REVISIONS:
        raise UsageError(f"{_where(config, 'book_revision')}: [{SECTION}] book_revision must be "
                         f"one of {', '.join(REVISIONS)}, not {revision!r}")
    return Settings(default, {} if forced else modes, lines, _book_deps(config), revision)


def _default_mode(config: Config) -> tuple[str, bool]:
    """The mode of unlisted phases, and whether it came from the command line."""
    value = config.getoption("order", None)
    if value is None:
        return DEFAULT_ORDER, False
    return str(value), config.option_source("order") == "command line"


def _phase_modes(
    config: Config, table: Any
) -> tuple[dict[str, str], dict[str, tuple[str, int | None]]]:
    if not isinstance(table, dict):
        raise UsageError(f"{_where(config, 'phases')}: [{SECTION}] phases must be a table of "
                         'phase = "sequence" or "graph" (phases = { system = "graph" })')
    modes: dict[str, str] = {}
    lines: dict[str, tuple[str, int | None]] = {}
    for phase, mode in table.items():
        where = _where(config, phase)
        if not _PHASE.match(phase):
            raise UsageError(f"{where}: [{SECTION}] phases: {phase!r} is not a phase name "
                             "(one word such as cross, temp, system, blfs)")
        if mode not in ORDERS:
            raise UsageError(f"{where}: [{SECTION}] phases: {phase} = {mode!r} must be "
                             f"{' or '.join(repr(o) for o in ORDERS)}")
        modes[phase] = mode
        lines[phase] = (str(config.file.path), config.file.line_of(phase, SECTION))
    return modes, lines


def _book_deps(config: Config) -> Path | None:
    """The book's ``dependencies.xml``: a file, or the book's folder that holds it."""
    value = config.getoption("book_deps", None)
    if not value:
        return None
    from_file = config.file.values.get("book_deps") == value and config.file.path is not None
    base = config.file.path.parent if from_file and config.file.path else Path.cwd()
    where = config.file.where("book_deps") if from_file else f"--book-deps {value}"
    path = (base / Path(str(value)).expanduser()).absolute()
    if path.is_dir():
        for candidate in (path / "appendices" / "dependencies.xml", path / "dependencies.xml"):
            if candidate.is_file():
                return candidate
        raise UsageError(f"{where}: {path} holds no appendices/dependencies.xml (give the "
                         "book's folder or the file itself)")
    if not path.is_file():
        raise UsageError(f"{where}: no such file: {path}")
    return path


def _where(config: Config, key: str) -> str:
    """``file:line`` of ``key`` inside the ``[ordering]`` table, for messages."""
    return config.file.where(key, SECTION)
