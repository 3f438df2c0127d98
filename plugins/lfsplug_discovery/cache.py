"""The discovery cache: what each script's first lines say, kept between runs.

Reading and parsing a script's head is most of what discovery costs per script. What it yields
(:class:`Facts`: the ``# lfsplug:`` header, the variables that name the package and its
version, the packages named by them, by the first tarball unpacked and by the first source
directory entered, the dependency comments and the content findings) depends on the file's
content alone, so it is kept in ``STATE_DIR/cache/discovery.json`` under the file's path and
stat key (size, mtime, inode, ctime) and reused while that key is unchanged. Everything that
depends on the tree or the configuration (order, list files, package lists, phases, names,
duplicates) is worked out again on every run.

Rules that keep the cache honest:

* an entry whose mtime is within :data:`RACY_NS` of the moment the cache is written is not kept
  (an edit in the same clock tick as the write would leave the stat key unchanged; git calls
  this the racy-git problem): such a file is read again next time;
* a cache of another format or discovery code (:func:`code_version`), or one that cannot be
  parsed, is ignored and rebuilt; a state directory that cannot be read or written means no
  cache, never an error;
* binary and unreadable files are not cached (they are read again, and reported again);
* the file is written only when something changed, atomically (a temporary file, then
  ``os.replace``).
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
import zlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import Severity, version_key
from lfsplug_discovery.names import FileName

if TYPE_CHECKING:
    # What reads a head is imported when a head is read: a warm run takes every entry from the
    # cache and never needs them (their regular expressions cost milliseconds to compile).
    from lfsplug_discovery.depcomments import DepComments
    from lfsplug_discovery.head import Head, Mention

__all__ = ["CACHE_FILE", "RACY_NS", "DiscoveryCache", "Facts", "Known", "code_version",
           "stat_key"]

CACHE_FILE = Path("cache") / "discovery.json"
#: Bump when the meaning of an entry changes in a way the module hashes would not show.
FORMAT = 3
#: Entries this close to the moment of writing are not trusted (racy-git rule).
RACY_NS = 2_000_000_000
#: The modules whose code decides what an entry holds (names.py and version.py: the order).
_MODULES = ("cache.py", "head.py", "depcomments.py", "names.py", "shapes.py", "evaluate.py",
            "drivers.py", "expand.py", "wrappers.py", "callsite.py", "conditions.py",
            "syntax.py", "commands.py", "listings.py")

#: A content finding: code, severity, message, line, hint.
ContentFinding = tuple[str, str, str, "int | None", "str | None"]
#: What discovery knows of one file: what its head says, and what its name says.
Known = tuple["Facts", FileName]


@cache
def code_version() -> str:
    """The format and a checksum of the discovery code that derives an entry (CRC-32: it tells
    versions of the code apart, no one forges it, and it spares a warm run hashlib)."""
    digest = 0
    here = Path(__file__).parent
    # and the kernel's module that compares versions, wherever it is installed
    kernel = Path(sys.modules[version_key.__module__].__file__ or "")
    for path in [*(here / name for name in _MODULES), kernel]:
        digest = zlib.crc32(path.read_bytes(), digest)
    return f"{FORMAT}-{digest:08x}"


def stat_key(info: os.stat_result) -> list[int]:
    """What must not change for an entry to stand (a JSON-friendly list)."""
    return [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns]


@dataclass(slots=True)
class Facts:
    """What discovery learns from one script's first lines."""

    header: dict[str, str] = field(default_factory=dict)
    header_lines: dict[str, int] = field(default_factory=dict)
    variables: dict[str, tuple[str, int]] = field(default_factory=dict)
    #: what the dependency comments say; None when there are none (most scripts)
    deps: DepComments | None = None
    findings: list[ContentFinding] = field(default_factory=list)
    #: the packages the content names (a variable, the first tarball unpacked, the first
    #: source directory entered: :func:`.head.content_mentions`), kept parsed so that a warm
    #: run splits no name
    mentions: list[Mention] = field(default_factory=list)

    @classmethod
    def from_head(cls, head: Head) -> Facts:
        """Parse a head (one read of the file) into facts."""
        from lfsplug_discovery.depcomments import parse_dependency_comments
        from lfsplug_discovery.head import (
            content_mentions,
            parse_header,
            shell_variables,
            unpack_commands,
        )

        facts = cls(findings=content_findings(head))
        if head.error is not None or head.binary:
            return facts
        if "lfsplug:" in head.text:
            facts.header, facts.header_lines = parse_header(head.lines)
        facts.variables = shell_variables(head.text)
        facts.mentions = content_mentions(facts.variables, unpack_commands(head.text))
        deps = parse_dependency_comments(head.text)
        if deps.values or deps.problems:
            facts.deps = deps
        return facts

    def to_json(self) -> list[Any] | int:
        """The cached form: a list, or 0 for a head that says nothing (most of them)."""
        deps = self.deps
        if not (self.header or self.variables or deps or self.findings or self.mentions):
            return 0
        if deps is None:
            return [self.header, self.header_lines, self.variables, {}, {}, [], self.findings,
                    self.mentions]
        return [self.header, self.header_lines, self.variables, deps.values, deps.lines,
                [[p.line, p.code, p.message] for p in deps.problems], self.findings,
                self.mentions]

    @classmethod
    def from_json(cls, data: list[Any] | int) -> Facts:
        """The facts of a cache entry; ValueError/TypeError/KeyError when it is malformed.
        Most scripts' heads say nothing: they share one empty instance (facts are read, never
        changed, once made)."""
        if data == 0 and type(data) is int:
            return _EMPTY
        if type(data) is not list:
            raise ValueError(f"not cached facts: {data!r}")
        header, header_lines, variables, values, lines, problems, findings, mentions = data
        deps = None
        if values or lines or problems:
            from lfsplug_discovery.depcomments import DepComments, Problem

            deps = DepComments(values, lines, [Problem(int(p[0]), str(p[1]), str(p[2]))
                                               for p in problems])
        return cls(header, header_lines,
                   {k: (str(v[0]), int(v[1])) for k, v in variables.items()}, deps,
                   [(str(f[0]), str(Severity(f[1])), str(f[2]), f[3], f[4]) for f in findings],
                   [_mention(m) for m in mentions])


def _mention(data: list[Any]) -> Mention:
    """A cached mention; ValueError when it is malformed."""
    from lfsplug_discovery.head import Mention

    kind, source, package, version, line = data
    if not (type(kind) is str and type(source) is str and type(package) is str
            and (version is None or type(version) is str) and type(line) is int):
        raise ValueError(f"not a cached mention: {data!r}")
    return Mention(kind, source, package, version, line)


#: The facts of a head that says nothing (shared, never changed).
_EMPTY = Facts()


def _filename(data: list[Any]) -> FileName:
    """A parsed file name from its cached form; ValueError when it is malformed."""
    name, version, number, marker, chapter, package = data
    if not (type(name) is str and (version is None or type(version) is str)
            and (number is None or type(number) is str)
            and (marker is None or type(marker) is str)
            and (chapter is None or type(chapter) is int)
            and (package is None or type(package) is str)):
        raise ValueError(f"not a cached file name: {data!r}")
    return FileName(name, version, number, marker, chapter, package)


def content_findings(head: Head) -> list[ContentFinding]:
    """What a script's first lines show that will surprise at run time."""
    if head.error is not None or head.binary:
        return []
    if head.empty:
        return [("DISC022", Severity.INFO, "empty script: it does nothing", None, None)]
    found: list[ContentFinding] = []
    if head.bom:
        found.append(("DISC028", Severity.WARNING, "the file starts with a byte-order mark, "
                      "which bash reads as part of a command", 1,
                      "save it as UTF-8 without a BOM"))
    elif head.shebang is None:
        found.append(("DISC023", Severity.WARNING, "no #! line: lfsplug runs it with bash "
                      "anyway", 1, "start it with #!/bin/bash"))
    else:
        from lfsplug_discovery.head import wrong_interpreter

        program = wrong_interpreter(head.shebang)
        if program is not None:
            found.append(("DISC024", Severity.WARNING, f"the #! line names {program}, but "
                          "lfsplug runs every script with bash", 1,
                          "write it for bash, or call the other program from a bash script"))
    if not head.utf8:
        found.append(("DISC025", Severity.INFO, "not valid UTF-8 in its first lines: metadata "
                      "was read with the bad bytes replaced", None, None))
    return found


class DiscoveryCache:
    """The entries of one state directory's cache, read on first use, written once at the end."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / CACHE_FILE
        self._old: dict[str, list[Any]] | None = None
        self._new: dict[str, list[Any]] = {}
        self._orders: dict[str, list[str]] | None = None
        self._new_orders: dict[str, list[str]] = {}
        #: what each file is (:class:`~lfsplug_discovery.shapes.Shape` bits), by stat key
        self._shapes: dict[str, list[Any]] = {}
        self._new_shapes: dict[str, list[Any]] = {}
        #: what following a root's drivers gave, with the signature of the tree it read
        self._followed: dict[str, list[Any]] = {}
        self._new_followed: dict[str, list[Any]] = {}
        self._reused: list[str] = []
        #: directories walked whole: an old entry below one that was not met is gone
        self.roots: list[str] = []
        self.changed = False

    def _load(self) -> None:
        self._old, self._orders = {}, {}
        try:
            data = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return
        if (not isinstance(data, dict) or data.get("version") != code_version()
                or not isinstance(data.get("entries"), dict)
                or not isinstance(data.get("orders"), dict)):
            self.changed = True  # foreign or old: replace it
            return
        self._old, self._orders = data["entries"], data["orders"]
        shapes = data.get("shapes")
        self._shapes = shapes if isinstance(shapes, dict) else {}
        followed = data.get("followed")
        self._followed = followed if isinstance(followed, dict) else {}

    def order(self, directory: str, names: list[str]) -> list[str] | None:
        """The names of a directory's entries in layout order, as sorted last time, when the
        directory holds the same names (sorting by version costs more than the walk)."""
        if self._orders is None:
            self._load()
        assert self._orders is not None
        known = self._orders.get(directory)
        if not isinstance(known, list) or len(known) != len(names) or set(known) != set(names):
            return None
        self._new_orders[directory] = known
        return known

    def put_order(self, directory: str, names: list[str]) -> None:
        """Remember the layout order of a directory's entries."""
        self._new_orders[directory] = names
        self.changed = True

    def get_shape(self, path: str, key: list[int]) -> int | None:
        """The cached shape bits of ``path`` when its stat key is unchanged, else None."""
        if self._old is None:
            self._load()
        entry = self._shapes.get(path)
        if type(entry) is not list or len(entry) != 2 or entry[0] != key or (
                type(entry[1]) is not int):
            return None
        self._new_shapes[path] = entry
        return int(entry[1])

    def put_shape(self, path: str, key: list[int], bits: int) -> None:
        """Remember what the file at ``path`` is."""
        self._new_shapes[path] = [key, bits]
        self.changed = True

    def get_followed(self, root: str, signature: str) -> Any:
        """What following the drivers of ``root`` gave, when the tree's signature (its files
        and their stat keys, the driver setting) is what it was; else None."""
        if self._old is None:
            self._load()
        entry = self._followed.get(root)
        if type(entry) is not list or len(entry) != 2 or entry[0] != signature:
            return None
        self._new_followed[root] = entry
        self._reused.append(root)  # no file of the tree changed: its shapes all stand
        return entry[1]

    def put_followed(self, root: str, signature: str, followed: Any) -> None:
        """Remember what following the drivers of ``root`` gave (JSON-friendly)."""
        self._new_followed[root] = [signature, followed]
        self.changed = True

    def get(self, path: str, key: list[int]) -> Known | None:
        """The cached facts and parsed name of ``path`` when its stat key is unchanged, else
        None."""
        if self._old is None:
            self._load()
        assert self._old is not None
        entry = self._old.get(path)
        if type(entry) is not list or len(entry) != 3 or entry[0] != key:
            return None
        try:
            found = Facts.from_json(entry[1]), _filename(entry[2])
        except (ValueError, TypeError, KeyError, IndexError, AttributeError):
            return None
        self._new[path] = entry
        return found

    def put(self, path: str, key: list[int], facts: Facts, filename: FileName) -> None:
        """Remember the facts just read from ``path`` and what its name says."""
        self._new[path] = [key, facts.to_json(), list(filename)]
        self.changed = True

    def save(self) -> None:
        """Write the cache if anything changed; quietly nothing when the state dir is not
        writable."""
        old, old_orders = self._old or {}, self._orders or {}
        kept = {p: e for p, e in old.items() if p not in self._new and not self._below(p)}
        orders = {d: o for d, o in old_orders.items()
                  if d not in self._new_orders and not self._below(d)}
        # a shape not asked for this run still stands while its file was met as a script
        # (scripts a list file names are never classified again)
        shapes = {p: e for p, e in self._shapes.items()
                  if p not in self._new_shapes and (p in self._new or not self._below(p)
                                                    or self._below(p, self._reused))}
        if (not self.changed and len(kept) + len(self._new) == len(old)
                and len(orders) + len(self._new_orders) == len(old_orders)
                and len(shapes) + len(self._new_shapes) == len(self._shapes)
                and not self._new_followed.keys() - self._followed.keys()):
            return
        now = time.time_ns()
        entries = {p: e for p, e in self._new.items() if e[0][1] < now - RACY_NS}
        entries.update(kept)
        orders.update(self._new_orders)
        shapes.update({p: e for p, e in self._new_shapes.items() if e[0][1] < now - RACY_NS})
        followed = {r: e for r, e in self._followed.items() if r not in self._new_followed}
        followed.update(self._new_followed)
        text = json.dumps({"version": code_version(), "written": now, "entries": entries,
                           "orders": orders, "shapes": shapes, "followed": followed},
                          separators=(",", ":"))
        import tempfile

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".discovery.", dir=self.path.parent)
        except OSError:
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(text)
            os.replace(temp, self.path)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temp)

    def _below(self, path: str, roots: list[str] | None = None) -> bool:
        return any(path == root or path.startswith(root + os.sep)
                   for root in (self.roots if roots is None else roots))
