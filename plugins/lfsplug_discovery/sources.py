"""The metadata sources of one script, each named for ``lfsplug list --why``.

From the highest priority down (the session keeps, per key, the value of the highest):

========================================  ==========  ======================================
source (as ``--why`` shows it)            priority    gives
========================================  ==========  ======================================
``# lfsplug: header line N``              100         any key
``[discovery.phases] "GLOB" in FILE``     90          phase
``variable VERSION= line N`` (PKGVER...)  50          version
``variable PACKAGE= line N`` (PKG...)     50          name*, version, provides (a pass build)
``dependency comment line N``             50          depends, recommends, optional, before
``directory D (book chapter N)`` ...      50          phase
``file name``                             10          version, provides (``-passN``)
``tarball ARCHIVE line N``                8           name*, version
``cd into DIRECTORY line N`` (pushd)      7           name*, version
``package list FILE line N``              5           version
========================================  ==========  ======================================

(*) the name only of a script whose file name names no package (``01.sh``, ``ch05.sh``,
``build.sh``): the highest source that names a package names it, and the file name then gives
nothing (its numbers are a label, not a version). An assignment states what the script builds,
so it beats the file name; what a command implies (the tarball unpacked, the directory entered)
only fills what the file name leaves open; a package list beside the scripts fills what the
script leaves open.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import TYPE_CHECKING

from lfsplug import MetaSource, Origin, Script, Severity
from lfsplug_discovery.head import VERSION_VARIABLES
from lfsplug_discovery.names import is_generic_name, is_package_name, pass_base, split_package
from lfsplug_discovery.phases import (
    directory_phase,
    is_chapter_dir,
    layout_phase,
    rule_phase,
    stage_word,
)
from lfsplug_discovery.pkglists import list_version, packages_near

if TYPE_CHECKING:
    from lfsplug_discovery.cache import Facts
    from lfsplug_discovery.head import Mention
    from lfsplug_discovery.layouts import DiscoveryState
    from lfsplug_discovery.names import FileName
    from lfsplug_discovery.settings import Settings

__all__ = ["CONFIG", "DIRECTORY", "MENTIONS", "PACKAGE_LIST", "TARBALL", "VARIABLE",
           "script_sources"]

#: The priority of ``[discovery.phases]``: above what the layout says, below the header.
CONFIG = 90
#: An assignment (``PKG=gcc-13.2.0``, ``VERSION=2.44``): above the file name.
VARIABLE = MetaSource.LAYOUT
#: The first tarball unpacked: below the file name, which it completes.
TARBALL = 8
#: The first source directory entered (``cd gcc-13.2.0``): below the tarball.
DIRECTORY = 7
#: A package list beside the scripts: below anything the script itself says.
PACKAGE_LIST = 5
#: The priority of each kind of package the content names (:class:`.head.Mention`).
MENTIONS = {"variable": VARIABLE, "tarball": TARBALL, "directory": DIRECTORY}


def script_sources(script: Script, facts: Facts, filename: FileName, settings: Settings,
                   state: DiscoveryState) -> list[MetaSource]:
    """Every metadata source discovery has for ``script``, from what its head says
    (``facts``), its file name (``filename``, parsed) and the package lists beside it;
    dependency-comment and package-list problems become findings in ``state``."""
    sources: list[MetaSource] = []
    header = facts.header
    if header:
        # Copies: the facts may be the cache's, and a source's values are the session's.
        sources.append(MetaSource("# lfsplug: header", dict(header), MetaSource.HEADER,
                                  dict(facts.header_lines)))
    mentions = facts.mentions
    renamed = _content_name(script, filename, "name" in header, mentions)
    name = header.get("name") or (renamed.package if renamed is not None else script.name)
    folder = None
    if renamed is None and "name" not in header and script.name == filename.name:
        folder = _directory_name(script, filename)
        if folder is not None:
            sources.append(folder)
            name = folder.values["name"]
    if "PACKAGE" in facts.variables:  # the source package, for reports and plugins
        script.meta["package"] = facts.variables["PACKAGE"][0]
    version = _version_variable(facts.variables)
    if version is not None:
        sources.append(version)
    for mention in mentions:
        source = _mentioned(mention, name, mention is renamed, version is not None)
        if source is not None:
            sources.append(source)
    sources.extend(_dependencies(script, facts, state))
    sources.extend(_phase(script, filename, settings))
    if renamed is None and folder is None:
        sources.extend(_file_name(filename, name, "name" in header))
    names: list[str | None] = []
    if not any("version" in s.values for s in sources):  # else only read the lists' errors
        names = [name, pass_base(name), *(m.package for m in mentions)]
        if renamed is None:
            names += [filename.name, filename.package]
    listed = _package_list(script, names, state)
    if listed is not None:
        sources.append(listed)
    return sources


def _directory_name(script: Script, filename: FileName) -> MetaSource | None:
    """What names a script whose file name names no package and whose content names none
    either (``pkgs/gcc/build.sh``, ``gcc-13.2.0/install``): its directory, when that is named
    like a package (not a chapter, a stage of the build, or another generic word)."""
    if not is_generic_name(filename.name):
        return None
    directory = script.path.parent
    if directory == script.root:
        return None
    word = directory.name
    if (not is_package_name(word) or is_generic_name(word) or stage_word(word)
            or directory_phase(word) is not None):
        return None
    package, version = split_package(word.lower())
    values = {"name": package} if version is None else {"name": package, "version": version}
    return MetaSource(f"directory {word}", values, MetaSource.FILENAME + 1)


def _version_variable(found: dict[str, tuple[str, int]]) -> MetaSource | None:
    """The first assignment to a version variable (``VERSION=``, ``PKGVER=``...)."""
    assigned = [(found[v][1], v) for v in VERSION_VARIABLES if v in found]
    if not assigned:
        return None
    line, variable = min(assigned)
    return MetaSource(f"variable {variable}=", {"version": found[variable][0]}, VARIABLE,
                      {"version": line})


def _content_name(script: Script, filename: FileName, named_by_header: bool,
                  mentions: list[Mention]) -> Mention | None:
    """What names a script whose file name names no package (``01.sh``, ``ch05.sh``,
    ``build.sh``): the highest mention in its content; None when the file name stands."""
    if named_by_header or not mentions or script.name != filename.name:
        return None
    return mentions[0] if is_generic_name(filename.name) else None


def _mentioned(mention: Mention, name: str, names_it: bool,
               version_variable: bool) -> MetaSource | None:
    """What one mention gives: the version it carries (unless a version variable states
    one), the name when the file name names no package, and, for a variable, what a pass
    build provides (``binutils-pass1`` with ``PACKAGE=binutils``; not ``libstdc++`` built
    from gcc's tarball, nor ``linux-headers`` from linux's)."""
    values: dict[str, str] = {}
    if names_it:
        values["name"] = mention.package
    variable = mention.kind == "variable"
    if variable and pass_base(name) == mention.package:
        values["provides"] = mention.package
    if mention.version is not None and not (variable and version_variable):
        values["version"] = mention.version
    if not values:
        return None
    return MetaSource(mention.source, values, MENTIONS.get(mention.kind, PACKAGE_LIST),
                      dict.fromkeys(values, mention.line))


def _package_list(script: Script, names: list[str | None],
                  state: DiscoveryState) -> MetaSource | None:
    """The version the package lists near the script give its package (its name, the package
    of a pass build, or one its content names); the lists are read, and their errors noted,
    even when ``names`` is empty."""
    root = str(script.root)
    directory = str(script.path).rpartition(os.sep)[0] or os.sep  # dirname, at a third the cost
    packages = packages_near(directory, root, state.package_lists, state.note)
    found = list_version([n for n in names if n], packages) if packages and names else None
    if found is None:
        return None
    version, path, line = found
    shown = _relative(path, root) or path
    return MetaSource(f"package list {shown}", {"version": version}, PACKAGE_LIST,
                      {"version": line}, path=path)


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
        script.origins["runtime"] = Origin("dependency comment", line=found.lines["runtime"])
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
            where = settings.config_name  # the configuration file's, not the script's line
            if settings.config_dir is not None:
                where = os.path.join(settings.config_dir, where)
            return [MetaSource(source, {"phase": rule.phase}, CONFIG, lines, path=where)]
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
