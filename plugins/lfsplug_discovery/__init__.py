"""Discovery: find the build scripts under each root, in build order, with their metadata.

Layouts recognised, in one tree and mixed (docs/layouts.md shows each):

* jhalfs output: ``lfs-commands/chapterNN/NNN-name`` (no extension), user insertions
  ``NNN-N-name``, the BLFS tool's ``NNN-z-name`` after ``NNN-y-name``;
* numbered script files: ``NN-name.sh``, dotted section prefixes (``6.5-x.sh`` before
  ``6.48-y.sh``, ``a.05.03.GCC-13.2.0-Pass1.sh``), files and directories in ``sort -V`` order;
* list files: a ``build_order.txt`` (or ``[discovery] list_file``) that names the scripts of its
  directory in build order;
* a single script file named on the command line.

Metadata, highest priority first: the ``# lfsplug:`` header, ``[discovery.phases]``, jhalfs'
``PACKAGE=``/``VERSION=`` variables, BLFS dependency comments, the directory (phase), and the
file name (name, version, what a ``-passN`` build provides). Problems become ``DISC`` findings.

The module is the gate (the hooks); :mod:`.layouts` walks, :mod:`.sources` reads metadata, and
:mod:`.cache` keeps what each script's first lines say between runs (``STATE_DIR/cache/``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import MetaSource, Script, StashKey, WorkProgress, hookimpl
from lfsplug_discovery.cache import DiscoveryCache, Facts
from lfsplug_discovery.head import HEADER_LINES, parse_header, read_head
from lfsplug_discovery.jhalfs import qualify_duplicates
from lfsplug_discovery.layouts import DiscoveryState, Walker, driver_sources
from lfsplug_discovery.names import is_candidate, parse_filename
from lfsplug_discovery.settings import OPTIONS, TABLE, Settings, load_settings
from lfsplug_discovery.sources import script_sources

if TYPE_CHECKING:
    from lfsplug import Config, OptionParser, Session

__all__ = [
    "HEADER_LINES",
    "is_candidate",
    "parse_filename",
    "parse_header",
    "read_head",
]

SETTINGS = StashKey[Settings]()
STATE = StashKey[DiscoveryState]()


def _settings(config: Config) -> Settings:
    settings = config.stash.get(SETTINGS)
    if settings is None:  # configure did not run for this config (a test harness, say)
        settings = config.stash[SETTINGS] = load_settings(config)
    return settings


def _state(session: Session) -> DiscoveryState:
    state = session.stash.get(STATE)
    if state is None:
        cache = DiscoveryCache(session.config.state_dir)
        state = session.stash[STATE] = DiscoveryState(cache=cache)
    return state


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(OPTIONS, TABLE)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    # Now, so that a driver that is not a file stops every command at once (exit 4).
    config.stash[SETTINGS] = load_settings(config)


@hookimpl(trylast=True)
def lfsplug_collect_path(path: Path, session: Session) -> list[Script] | None:
    root = os.path.abspath(path)
    settings = _settings(session.config)
    state = _state(session)
    if os.path.isdir(root):
        if state.cache is not None:
            state.cache.roots.append(root)
        walker = Walker(session.config, settings, state, root)
        with WorkProgress(session.config, "discovering", "scripts", lambda: len(walker.found)):
            if not (settings.drivers and walker.follow_drivers()):
                walker.walk(root)
        return walker.found
    directory = os.path.dirname(root)
    walker = Walker(session.config, settings, state, directory)
    if os.path.basename(root) in settings.list_files:  # lfsplug list chapter05/build_order.txt
        entries = walker.scan(directory)
        if entries is not None:
            walker.walk_list(directory, root, entries)
    elif os.path.isfile(root):
        walker.add(root, "file")
    return walker.found


@hookimpl
def lfsplug_script_metadata(script: Script, session: Session) -> list[MetaSource] | None:
    state = _state(session)
    path = str(script.path)
    known = state.facts.get(path)
    if known is None:  # a script another plugin collected: read it now, once
        known = state.facts[path] = (Facts.from_head(read_head(path)),
                                     parse_filename(script.path.name))
    sources = script_sources(script, *known, _settings(session.config), state)
    call = state.calls.get(path)
    if call is not None:
        sources.extend(driver_sources(script, call))
    return sources or None


@hookimpl(tryfirst=True)
def lfsplug_collection_modifyscripts(scripts: list[Script], session: Session) -> None:
    # First, so that an lfsconf.py that deselects by name sees the final names.
    qualify_duplicates(scripts)
    from lfsplug_discovery.sections import apply_sections  # multi-package files (issue 10)

    apply_sections(scripts, session, _settings(session.config), _state(session))


@hookimpl
def lfsplug_collection_finish(session: Session) -> None:
    # Findings wait until now so that a script's "disable=" (known only once every script is
    # collected) can silence them, and so that those about deselected scripts are dropped.
    state = _state(session)
    kept = {str(s.path) for s in session.scripts}
    for pending in state.pending:
        if pending.script is None or pending.script in kept:
            session.add_finding(pending.finding)
    state.pending.clear()
    state.facts.clear()
    if state.cache is not None:
        state.cache.save()  # what makes the next run fast; lfsplug list writes it too
