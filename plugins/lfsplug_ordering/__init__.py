"""Ordering: a dependency graph that builds in book order where it must and in parallel where
it can.

Edges come from the layout's sequence, the scripts' metadata (``depends``, ``recommends``,
``optional``, ``after``, ``before``, resolved through ``provides``), the LFS book's
``dependencies.xml`` (``--book-deps``) and any plugin's ``lfsplug_script_edges``; each one
remembers its origin. ``--order sequence`` (the default, as jhalfs builds) chains each script
after the one before it; ``--order graph`` keeps only the declared edges; ``[ordering] phases``
chooses per phase. Phase barriers keep the phases apart. Missing providers, ambiguous ones,
unmet versions, self-dependencies and cycles are findings (exit 6); a cycle through a soft edge
is broken at its weakest edge with a warning. ``lfsplug graph`` draws the plan.

Modules: :mod:`~lfsplug_ordering.settings` (options and ``[ordering]``),
:mod:`~lfsplug_ordering.layout` (phases, the sequence), :mod:`~lfsplug_ordering.edges`
(declared edges), :mod:`~lfsplug_ordering.bookdeps` (the book's dependencies),
:mod:`~lfsplug_ordering.plan` (cycles, barriers, the plan), :mod:`~lfsplug_ordering.graph`
(the algorithms), :mod:`~lfsplug_ordering.durations`, :mod:`~lfsplug_ordering.draw` and
:mod:`~lfsplug_ordering.command` (``lfsplug graph``). See docs/ordering.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lfsplug import Edge, Finding, Plan, Script, Severity, StashKey, gc_paused, hookimpl
from lfsplug_ordering.edges import declared_edges
from lfsplug_ordering.layout import Layout, sequence_edges
from lfsplug_ordering.plan import build_plan
from lfsplug_ordering.settings import OPTIONS, TABLE, Settings, load_settings

if TYPE_CHECKING:
    from pathlib import Path

    from lfsplug import CommandSet, Config, OptionParser, Session
    from lfsplug_ordering.bookdeps import BookDeps

__all__ = ["SETTINGS"]

SETTINGS = StashKey[Settings]()
_BOOKS = StashKey[dict[tuple[str, str], "BookDeps"]]()


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    """``--order`` and ``--book-deps`` for run, list, check and graph; ``--format`` for graph;
    the ``[ordering]`` table."""
    parser.add(OPTIONS, TABLE)


def cmd_graph(config: Config) -> int:
    """``lfsplug graph`` (its module, with the drawing code, is imported when it runs)."""
    from lfsplug_ordering.command import cmd_graph as command

    return command(config)


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    """``lfsplug graph``."""
    commands.add("graph", cmd_graph, "Draw the plan: levels, edges and the critical path.",
                 finds_build=True)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    """Read the options and ``[ordering]``."""
    # Read the options and [ordering] now, so that a mistake stops every command (exit 4).
    config.stash[SETTINGS] = load_settings(config)


def _settings(config: Config) -> Settings:
    settings = config.stash.get(SETTINGS)
    if settings is None:  # configured before this plugin was registered
        settings = config.stash[SETTINGS] = load_settings(config)
    return settings


def _book(config: Config, path: Path, revision: str) -> BookDeps:
    books = config.stash.setdefault(_BOOKS, {})
    key = (str(path), revision)
    if key not in books:
        from lfsplug_ordering.bookdeps import read_book_deps  # XML: only with --book-deps

        books[key] = read_book_deps(path, revision)
    return books[key]


def _unknown_phases(session: Session, settings: Settings, layout: Layout) -> None:
    present = set(layout.order)
    for phase, (path, line) in settings.phase_lines.items():
        if phase not in present:
            known = ", ".join(str(p) for p in layout.order if p) or "none"
            session.add_finding(Finding(
                "ORD008", Severity.WARNING,
                f"[ordering] phases names phase {phase!r}, which no script has "
                f"(phases here: {known})", path, line, "fix the phase name, or remove it",
            ))


@hookimpl(trylast=True)
def lfsplug_script_edges(session: Session, scripts: list[Script]) -> list[Edge] | None:
    """The sequence's edges, the metadata's, and the book's when ``--book-deps`` is given."""
    with gc_paused():  # ordering makes 10^4-10^5 small objects, no cycles
        return _script_edges(session, scripts)


def _script_edges(session: Session, scripts: list[Script]) -> list[Edge]:
    settings = _settings(session.config)
    layout = Layout(scripts)
    _unknown_phases(session, settings, layout)
    modes = {phase: settings.mode_of(phase) for phase in layout.order}
    edges = sequence_edges(layout, modes)
    edges.extend(declared_edges(layout, session.add_finding))
    if settings.book_deps is not None:
        from lfsplug_ordering.bookdeps import book_edges, choose_revision

        revision = choose_revision(layout, settings.book_revision)
        book = _book(session.config, settings.book_deps, revision)
        edges.extend(book_edges(book, layout, session.add_finding))
    return edges


@hookimpl(trylast=True)
def lfsplug_build_plan(session: Session, scripts: list[Script], edges: list[Edge]) -> Plan:
    """The built-in plan (trylast: a plugin of the user's may build it instead)."""
    with gc_paused():  # ordering makes 10^4-10^5 small objects, no cycles
        return build_plan(session, scripts, edges, _settings(session.config))
