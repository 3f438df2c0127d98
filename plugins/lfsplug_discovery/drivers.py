"""Drivers: the scripts of a collection that run its other scripts, followed statically.

Real collections are run by a driver (``run-all.sh``, ``build.sh``, a driver per chapter) that
says which scripts to build, in what order and how (as root, as the ``lfs`` user, in the
chroot, inside an unpacked tarball, with the variables it exports). :class:`DriverFollower`
finds the drivers of a tree and follows them (:mod:`.evaluate`), never running one:

1. every file of the tree is indexed; the shell files that mention another script (a cheap
   text test first) are evaluated once, flat, to learn which call scripts of the tree: those
   are drivers, and a driver is not a build step;
2. the drivers no other driver calls are the entry points; one whose scripts another entry
   point reaches already is an alternative (``resume.sh``), noted and not followed again;
3. the entry points are followed in tree order, each expanded in execution order through the
   drivers it calls; the scripts they reach, each once, in that order, are the build.

Files that only define variables and functions (``config.sh``, ``functions.sh``) are libraries:
sourced, never built. What cannot be resolved statically is a finding at the driver's line, and
the scripts no driver reaches then fill in by tree order; otherwise they are not built (an info
finding each) unless ``[discovery] unreached = "build"`` asks for them.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from dataclasses import dataclass, field

from lfsplug_discovery.evaluate import Call, Evaluator, Unresolved, has_unknown
from lfsplug_discovery.shapes import Shapes, read_file

__all__ = ["DriverFollower", "Followed"]

_MARK = "\x00"


@dataclass
class Followed:
    """What following the drivers of one tree gave."""

    #: the scripts to build, in order, each with the call that reaches it (None: filled in
    #: by tree order)
    order: list[tuple[str, Call | None]] = field(default_factory=list)
    drivers: list[str] = field(default_factory=list)
    entry_points: list[str] = field(default_factory=list)
    alternatives: list[tuple[str, str]] = field(default_factory=list)
    unresolved: list[Unresolved] = field(default_factory=list)
    unreached: list[str] = field(default_factory=list)
    libraries: list[str] = field(default_factory=list)


class TreeIndex:
    """Every file under a root, by path and by base name (for calls that name a file through a
    variable lfsplug cannot know: ``$LFS/sources/scripts/gcc.sh`` finds ``scripts/gcc.sh``)."""

    def __init__(self, root: str, files: list[str]) -> None:
        self.root = root
        self.files = files
        self.known = set(files)
        self.real = {os.path.realpath(f): f for f in files}
        self.by_name: dict[str, list[str]] = {}
        for path in files:
            self.by_name.setdefault(os.path.basename(path), []).append(path)

    def resolve(self, text: str, cwd: str, caller: str) -> str | None:
        """The file of the tree a call's text names, or None."""
        if not text or text.endswith("/"):
            return None
        if not has_unknown(text) and not has_unknown(cwd):
            path = os.path.normpath(text if text.startswith("/") else os.path.join(cwd, text))
            if path in self.known:
                return path
            real = os.path.realpath(path) if os.path.exists(path) else None
            if real is not None and real in self.real:
                return self.real[real]
        tail = text.rsplit(_MARK, 1)[-1] if has_unknown(text) else text
        parts = [p for p in tail.split("/") if p and p != "."]
        if not parts or ".." in parts or _MARK in tail:
            return None
        found = self.by_name.get(parts[-1], [])
        for size in range(len(parts), 0, -1):
            suffix = "/" + "/".join(parts[-size:])
            matches = [f for f in found if f.endswith(suffix)]
            if matches:
                return _nearest(matches, caller)
        return None

    def inside(self, path: str) -> bool:
        """Whether ``path`` is the tree's root or below it."""
        path = os.path.normpath(path)
        return path == self.root or path.startswith(self.root.rstrip("/") + "/")

    def match(self, pattern: str) -> list[str]:
        """The files of the tree a glob's known tail matches by suffix, sorted: the longest
        suffix that names a directory and matches any (``/sources/scripts/*.sh``: the
        ``*.sh`` of a ``scripts`` directory)."""
        parts = [p for p in pattern.split("/") if p and p != "."]
        if not parts or ".." in parts or _MARK in pattern:
            return []
        for size in range(len(parts), 1, -1):
            suffix = parts[-size:]
            if not _dir_named(suffix):
                continue
            found = [path for path in self.files if _ends_like(path, suffix)]
            if found:
                return sorted(found)
        return []


def _ends_like(path: str, suffix: list[str]) -> bool:
    components = path.split("/")
    return len(components) > len(suffix) and all(
        fnmatch.fnmatchcase(c, p) for c, p in zip(components[-len(suffix):], suffix,
                                                   strict=True))


def _reached(driver: str, calls: dict[str, list[str]]) -> set[str]:
    """The drivers ``driver`` reaches through the calls of drivers (itself only in a cycle)."""
    reached: set[str] = set()
    todo = [c for c in calls.get(driver, []) if c in calls]
    while todo:
        path = todo.pop()
        if path not in reached:
            reached.add(path)
            todo.extend(c for c in calls[path] if c in calls)
    return reached


def _dir_named(parts: list[str]) -> bool:
    """Whether a glob's tail names a directory (not only wildcards before the name)."""
    return any(part.strip("*?[]") for part in parts[:-1])


def _nearest(paths: list[str], caller: str) -> str:
    """Of several files, the one nearest the calling script (longest common directory)."""
    if len(paths) == 1:
        return paths[0]
    base = os.path.dirname(caller)
    return max(paths, key=lambda p: (len(os.path.commonpath([base, p])), -len(p)))


class DriverFollower:
    """Finds and follows the drivers of one tree (see the module docstring)."""

    def __init__(self, root: str, files: list[str], is_script: Callable[[str], bool],
                 shapes: Shapes, *, driver: str | None = None) -> None:
        self.root = root
        self.index = TreeIndex(root, files)
        self.is_script = is_script
        self.shapes = shapes
        self.given = driver
        self._texts: dict[str, bytes | None] = {}
        self.drivers: set[str] = set()

    # -- what a file is ------------------------------------------------------------------------

    def read(self, path: str) -> bytes | None:
        """A file's bytes (at most 1 MB), once; None when it is no regular file (a FIFO or a
        device would block or never end), unreadable or binary."""
        if path not in self._texts:
            self._texts[path] = read_file(path)
        return self._texts[path]

    def kind(self, path: str) -> str:
        """``driver``, ``library``, ``script`` or ``other`` (not shell, not a file)."""
        if path in self.drivers:
            return "driver"
        if path == self.given:
            return "driver"
        if path not in self.index.known:
            return "other"
        shape = self.shapes.of(path, self.read)
        if shape.library:
            return "library"
        if not shape.shell:
            return "other"
        return "script"

    def _flat_kind(self, path: str) -> str:
        kind = self.kind(path)
        return "script" if kind == "driver" else kind

    def may_call(self, path: str) -> bool:
        return self.shapes.of(path, self.read).may_call

    # -- following -----------------------------------------------------------------------------

    def follow(self) -> Followed | None:
        """The build the tree's drivers give, or None when the tree has no driver."""
        calls = self._flat_calls()
        if self.given is None and not self.drivers:
            return None
        followed = Followed()
        entries = [self.given] if self.given is not None else self._entry_points(calls)
        runs = [(entry, self._evaluated(entry, self.kind)) for entry in entries]
        if self.given is None:
            runs = self._without_alternatives(runs, followed)
        seen: set[str] = set()
        for entry, evaluator in runs:
            followed.entry_points.append(entry)
            followed.unresolved.extend(evaluator.unresolved)
            for call in evaluator.calls:
                if call.path not in seen:
                    seen.add(call.path)
                    followed.order.append((call.path, call))
            followed.drivers.extend(d for d in evaluator.drivers if d not in followed.drivers)
        self._leftovers(followed, seen)
        return followed

    def _evaluated(self, path: str, kind: Callable[[str], str]) -> Evaluator:
        evaluator = Evaluator(self.index.resolve, kind, self.read, self.index.match,
                              self.index.inside)
        evaluator.run(path)
        return evaluator

    def _flat_calls(self) -> dict[str, list[str]]:
        """Which scripts each candidate driver calls (drivers not followed into): what makes
        a file a driver, and which drivers call which."""
        calls: dict[str, list[str]] = {}
        for path in self.index.files:
            if path != self.given and not (self.is_script(path) and self.may_call(path)):
                continue
            evaluator = self._evaluated(path, self._flat_kind)
            called = [c.path for c in evaluator.calls if c.path != path]
            if called:
                calls[path] = called
                self.drivers.add(path)
        return calls

    def _entry_points(self, calls: dict[str, list[str]]) -> list[str]:
        """The drivers no other driver calls, in tree order; of drivers that call each other
        (and that no other calls), the first."""
        drivers = [path for path in self.index.files if path in calls]
        reach = {driver: _reached(driver, calls) for driver in drivers}
        entries: list[str] = []
        for driver in drivers:
            callers = [other for other in drivers if other != driver and driver in reach[other]]
            if any(caller not in reach[driver] for caller in callers):
                continue  # a driver outside its cycle calls it
            if not any(caller in entries for caller in callers):
                entries.append(driver)
        return entries

    @staticmethod
    def _without_alternatives(runs: list[tuple[str, Evaluator]],
                              followed: Followed) -> list[tuple[str, Evaluator]]:
        """The entry points to follow, in tree order: of two that run (four in five of) the
        same scripts, the one that runs more; the other is an alternative (``resume.sh``)."""
        scripts = {entry: {c.path for c in evaluator.calls} for entry, evaluator in runs}
        owner: dict[str, str] = {}
        for entry, _ in sorted(runs, key=lambda run: -len(scripts[run[0]])):
            mine = scripts[entry]
            shared = [owner[path] for path in mine if path in owner]
            if mine and len(mine) - len(shared) <= len(mine) // 5:
                other = max(set(shared), key=shared.count)
                followed.alternatives.append((entry, other))
                continue
            for path in mine:
                owner.setdefault(path, entry)
        alternatives = {entry for entry, _ in followed.alternatives}
        return [run for run in runs if run[0] not in alternatives]

    def _leftovers(self, followed: Followed, seen: set[str]) -> None:
        drivers = set(followed.drivers) | self.drivers
        for path in self.index.files:
            if path in seen or path in drivers or not self.is_script(path):
                continue
            if self.kind(path) == "library":
                followed.libraries.append(path)
            elif self.kind(path) == "script":
                followed.unreached.append(path)


def merge_by_tree_order(order: list[tuple[str, Call | None]], tree: list[str],
                        extra: list[str]) -> list[tuple[str, Call | None]]:
    """``order`` with the ``extra`` scripts put in by tree order: each right after the script
    before it in the tree that is already placed (first when none is)."""
    position = {path: i for i, path in enumerate(tree)}
    placed = [path for path, _ in order]
    result = list(order)
    for path in sorted(extra, key=lambda p: position.get(p, len(tree))):
        mine = position.get(path, len(tree))
        after = max((i for i, p in enumerate(placed) if position.get(p, -1) < mine),
                    default=-1)
        placed.insert(after + 1, path)
        result.insert(after + 1, (path, None))
    return result


def followed_to_json(followed: Followed | None) -> object:
    """What following gave, in the discovery cache's JSON form (None: the tree has no driver).
    """
    if followed is None:
        return 0
    from dataclasses import asdict

    data = asdict(followed)
    data["order"] = [[path, None if call is None else asdict(call)]
                     for path, call in followed.order]
    return data


def followed_from_json(data: object) -> Followed | None:
    """The inverse of :func:`followed_to_json`; TypeError/KeyError/ValueError when malformed."""
    if data == 0:
        return None
    if not isinstance(data, dict):
        raise ValueError("not a followed entry")
    order = [(str(path), None if call is None else Call(**call)) for path, call in data["order"]]
    return Followed(
        order=order, drivers=list(data["drivers"]), entry_points=list(data["entry_points"]),
        alternatives=[(str(a), str(b)) for a, b in data["alternatives"]],
        unresolved=[Unresolved(**u) for u in data["unresolved"]],
        unreached=list(data["unreached"]), libraries=list(data["libraries"]),
    )
