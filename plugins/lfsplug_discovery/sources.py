"""The metadata sources of one script, each named for ``lfsplug list --why``.

From the highest priority down (the session keeps, per key, the value of the highest):

========================================  ==========  ======================================
source (as ``--why`` shows it)            priority    gives
========================================  ==========  ======================================
``# lfsplug: header line N``              100         any key
``[discovery.phases] "GLOB" in FILE``     90          phase
``variable VERSION= line N``              50          version
``variable PACKAGE= line N``              50          provides (a pass build), version
``dependency comment line N``             50          depends, recommends, optional, before
``directory D (book chapter N)`` ...      50          phase
``file name``                             10          version, provides (``-passN``)
========================================  ==========  ======================================
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from lfsplug import MetaSource, Script, Severity
from lfsplug_discovery.names import pass_base, split_package
from lfsplug_discovery.phases import directory_phase, is_chapter_dir, layout_phase, rule_phase

if TYPE_CHECKING:
    from lfsplug_discovery.cache import Facts
    from lfsplug_discovery.layouts import DiscoveryState
    from lfsplug_discovery.names import FileName
    from lfsplug_discovery.settings import Settings

__all__ = ["CONFIG", "script_sources"]

#: The priority of ``[discovery.phases]``: above what the layout says, below the header.
CONFIG = 90


def script_sources(script: Script, facts: Facts, filename: FileName, settings: Settings,
                   state: DiscoveryState) -> list[MetaSource]:
    """Every metadata source discovery has for ``script``, from what its head says
    (``facts``) and its file name (``filename``, parsed); dependency-comment problems become
    findings in ``state``."""
    sources: list[MetaSource] = []
    header = facts.header
    if header:
        # Copies: the facts may be the cache's, and a source's values are the session's.
        sources.append(MetaSource("# lfsplug: header", dict(header), MetaSource.HEADER,
                                  dict(facts.header_lines)))
    name = header.get("name", script.name)
    sources.extend(_variables(script, facts.variables, name))
    sources.extend(_dependencies(script, facts, state))
    sources.extend(_phase(script, filename, settings))
    sources.extend(_file_name(filename, name, "name" in header))
    return sources


def _variables(script: Script, found: dict[str, tuple[str, int]],
               name: str) -> list[MetaSource]:
    sources = []
    if "VERSION" in found:
        value, line = found["VERSION"]
        sources.append(MetaSource("variable VERSION=", {"version": value}, MetaSource.LAYOUT,
                                  {"version": line}))
    if "PACKAGE" in found:
        value, line = found["PACKAGE"]
        script.meta["package"] = value  # the source package, for reports and plugins
        package, version = split_package(os.path.basename(value).lower())
        values: dict[str, str] = {}
        # PACKAGE names the tarball a script builds from; it is what the script provides only
        # for a pass of that package (binutils-pass1), not for libstdc++ built from gcc's or
        # linux-headers from linux's.
        if pass_base(name) == package:
            values["provides"] = package
        if version is not None and "VERSION" not in found:
            values["version"] = version
        if values:
            sources.append(MetaSource("variable PACKAGE=", values, MetaSource.LAYOUT,
                                      dict.fromkeys(values, line)))
    return sources


def _dependencies(script: Script, facts: Facts, state: DiscoveryState) -> list[MetaSource]:
    found = facts.deps
    if found is None:  # most scripts
        return []
    path = str(script.path)
    for problem in found.problems:
        severity = Severity.WARNING if problem.code == "DISC030" else Severity.INFO
        state.note(problem.code, severity, problem.message, path, line=problem.line,
                   script=path)
    runtime = found.values.get("runtime")
    if runtime:  # no metadata key: for plugins and --why, never an edge (see depcomments)
        script.meta["runtime"] = ", ".join(runtime)
        script.origins["runtime"] = f"dependency comment line {found.lines['runtime']}"
    values = {key: ", ".join(items) for key, items in found.values.items() if key != "runtime"}
    if not values:
        return []
    lines = {key: line for key, line in found.lines.items() if key in values}
    return [MetaSource("dependency comment", values, MetaSource.LAYOUT, lines)]


def _relative(path: str, base: str) -> str | None:
    """``path`` relative to ``base`` when it is below it (a string test: os.path.relpath
    costs more than the rest of a script's metadata)."""
    base = base.rstrip(os.sep) + os.sep
    return path[len(base):] if path.startswith(base) else None


def _phase(script: Script, filename: FileName, settings: Settings) -> list[MetaSource]:
    path = str(script.path)
    root = str(script.root)
    relative = _relative(path, root) or script.path.name
    if settings.phase_rules:
        paths = [relative]
        if settings.config_dir is not None:
            from_config = _relative(path, settings.config_dir)
            if from_config is not None and from_config != relative:
                paths.append(from_config)
        rule = rule_phase(settings.phase_rules, paths)
        if rule is not None:
            source = f"[discovery.phases] {rule.glob!r} in {settings.config_name}"
            lines = {"phase": rule.line} if rule.line else {}
            return [MetaSource(source, {"phase": rule.phase}, CONFIG, lines)]
    found = layout_phase(_directories(root, relative.rpartition("/")[0]), filename)
    if found is None:
        return []
    return [MetaSource(found[1], {"phase": found[0]}, MetaSource.LAYOUT)]


@lru_cache(maxsize=4096)
def _directories(root: str, relative: str) -> tuple[str, ...]:
    """The directories that may name a script's phase, root first (cached: scripts share them).
    The root's own name counts when it names a chapter or BLFS (``lfsplug list
    lfs-commands/chapter05``, ``lfsplug list blfs``); another word would too easily be an
    accident of where a tree lives (``/home/me/temp``, ``/srv/system``)."""
    directories = relative.split("/") if relative else []
    name = os.path.basename(root)
    telling = is_chapter_dir(name) or directory_phase(name) == ("blfs", "the word 'blfs'")
    return (name, *directories) if telling else tuple(directories)


def _file_name(parsed: FileName, name: str, named_by_header: bool) -> list[MetaSource]:
    values: dict[str, str] = {}
    if parsed.version is not None:
        values["version"] = parsed.version
    sources = []
    base = parsed.package if name == parsed.name else pass_base(name)
    if base is not None and named_by_header:
        sources.append(MetaSource(f"pass build {name}", {"provides": base}, MetaSource.FILENAME))
    elif base is not None:
        values["provides"] = base
    if values:
        sources.append(MetaSource("file name", values, MetaSource.FILENAME))
    return sources
