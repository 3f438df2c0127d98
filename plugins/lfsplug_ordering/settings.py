"""What the command line and the configuration say about ordering.

::

    order = "sequence"                 # or --order: every phase not listed below
    book_deps = "lfs-book/appendices/dependencies.xml"   # or --book-deps PATH

    [ordering]
    phases = { system = "graph", config = "graph", blfs = "graph" }
    book_revision = "auto"             # sysv | systemd | auto (systemd if a script provides it)

A PATH that is the LFS book's own folder (``index.xml``, ``appendices/dependencies.xml``) stands
for ``--book-deps`` when it is not given, and its chapter 8 is then in graph order unless
``order`` or ``[ordering] phases`` says otherwise.

Precedence: ``--order`` on the command line (or in ``LFSPLUG_ADDOPTS``) sets every phase, since
a user who types it asks for that order now; otherwise ``[ordering] phases`` sets the phases it
names and ``order`` in the file (else ``sequence``, as jhalfs builds) sets the rest. The kernel
converts and checks the settings declared below (a mistake is a usage error, exit 4, naming the
file and line); :func:`load_settings` makes them the plugin's :class:`Settings`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import SettingsTable, choice, table_of

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["DEFAULT_ORDER", "FORMATS", "OPTIONS", "ORDERS", "REVISIONS", "TABLE", "Settings",
           "load_settings"]

ORDERS = ("sequence", "graph")
#: The formats of ``lfsplug graph --format`` (:mod:`lfsplug_ordering.draw` draws them).
FORMATS = ("text", "dot", "mermaid", "json")
DEFAULT_ORDER = "sequence"
REVISIONS = ("auto", "sysv", "systemd")
SECTION = "ordering"
_PHASE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
COMMANDS = ("run", "list", "check", "graph")


def _phase_name(name: str) -> str:
    if not _PHASE.match(name):
        raise ValueError(f"{name!r} is not a phase name (one word such as cross, temp, system, "
                         f"blfs)")
    return name


#: ``--order``, ``--book-deps`` and ``--format``: top-level keys and options.
OPTIONS = SettingsTable()
ORDER = OPTIONS.add(
    # no default value, so that "not given" is known: then [ordering] phases may choose
    "order", choice(*ORDERS), None, "sequence: each script after the one before it, as jhalfs "
    "builds; graph: only declared dependencies; for every phase (without it, [ordering] phases "
    "in lfsplug.toml may choose per phase)", option=("--order",),
    commands=COMMANDS, shown_default='"sequence"')
BOOK_DEPS = OPTIONS.add(
    "book_deps", Path, None, "the LFS book's appendices/dependencies.xml (or the book's "
    "folder): its dependencies order the chapter 8 scripts (phase system)",
    option=("--book-deps",), commands=COMMANDS, metavar="PATH")
FORMAT = OPTIONS.add(
    "format", choice(*FORMATS), "text", "how to draw the plan", option=("--format",),
    commands=("graph",))

#: The ``[ordering]`` table (docs/ordering.md).
TABLE = SettingsTable(SECTION)
PHASES = TABLE.add(
    "phases", table_of(choice(*ORDERS), key=_phase_name, entry="PHASE"), {},
    "the order of the phases named (sequence or graph); order (or sequence) for the rest")
BOOK_REVISION = TABLE.add(
    "book_revision", choice(*REVISIONS), "auto", "which of the book's revisions --book-deps "
    "reads: sysv, systemd, or auto (systemd if a script provides it)")


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
    """``--order``, ``--book-deps`` and ``[ordering]`` as the kernel read them; UsageError
    naming where ``--book-deps`` was given when it is no dependencies.xml."""
    modes = config.get(PHASES)
    lines = {phase: (str(config.file.path), config.file.line_of(phase, SECTION))
             for phase in modes}
    order = config.get(ORDER)
    forced = order is not None and config.source(ORDER) == "command line"
    phase_modes = {} if forced else dict(modes)
    book_deps = _book_deps(config)
    if book_deps is None and (book_deps := _book_given(config)) is not None \
            and order is None and "system" not in phase_modes:
        phase_modes["system"] = "graph"  # built from the book: chapter 8 as it allows
    return Settings(order or DEFAULT_ORDER, phase_modes, lines, book_deps,
                    config.get(BOOK_REVISION))


def _book_given(config: Config) -> Path | None:
    """The ``dependencies.xml`` of a PATH that is a checkout of the LFS book itself (a plugin
    such as lfsplug-book builds from it), when ``--book-deps`` is not given."""
    for path in config.paths:
        folder = Path(path)
        deps = folder / "appendices" / "dependencies.xml"
        if (folder / "index.xml").is_file() and deps.is_file():
            return deps
    return None


def _book_deps(config: Config) -> Path | None:
    """The book's ``dependencies.xml``: a file, or the book's folder that holds it."""
    path = config.get(BOOK_DEPS)
    if path is None:
        return None
    if path.is_dir():
        for candidate in (path / "appendices" / "dependencies.xml", path / "dependencies.xml"):
            if candidate.is_file():
                return candidate
        raise config.error(BOOK_DEPS, f"{path} holds no appendices/dependencies.xml (give the "
                                      "book's folder or the file itself)")
    if not path.is_file():
        raise config.error(BOOK_DEPS, f"no such file: {path}")
    return path
