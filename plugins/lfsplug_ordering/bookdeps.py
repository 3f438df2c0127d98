"""The LFS book's dependency data, ``appendices/dependencies.xml``, as edges between the
chapter 8 scripts (phase ``system``).

For each package the appendix has up to five lists (``segmentedlist id="PKG-KIND"``):
installation dependencies (``-depends``), runtime (``-rundeps``), test suites (``-testdeps``),
the packages that need it installed in its final place before them (``-before``) and optional
packages outside LFS (``-optdeps``). What each becomes:

=================  =====================  ============
list               edge kind              strength
=================  =====================  ============
``-depends``       ``depends``            hard
``-before``        ``before``             hard
``-testdeps``      ``test``               soft
``-rundeps``       ``runtime``            soft
``-optdeps``       ``optional``           soft
=================  =====================  ============

Only edges that agree with the layout's order are made. The book's order is the one it tests,
and its appendix is not a partial order of chapter 8: 334 installation dependencies name a
package that chapter 8 builds *later* (Acl needs Coreutils, Perl, Texinfo...), which the
temporary tools of chapters 6 and 7 provide meanwhile, and 4 ``-before`` entries contradict the
book's own order (Coreutils before Bash, Ncurses before Readline, Sed before File and Shadow).
Taken as edges, those would make every build impossible. So a dependency on a package built
later is left to the temporary tools (counted in the summary, ``ORD009``), a contradicting
``-before`` is reported (``ORD010``, info) and the layout's order stands, and a package's
dependency on itself (GCC needs GCC: the previous build) is no edge. The edges that remain can
never form a cycle among themselves; what they add is the freedom to build in parallel what
the book builds in sequence but does not depend.

The book is written for two init systems; ``<phrase revision="sysv|systemd">`` text is kept for
the chosen one (``[ordering] book_revision``; ``auto``: systemd when a chapter 8 script is named
or provides ``systemd``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lfsplug import Edge, Finding, Severity, UsageError
from lfsplug_ordering.layout import Layout

__all__ = [
    "BookDeps", "BookList", "book_edges", "choose_revision", "normalise", "read_book_deps",
]

SYSTEM = "system"
KIND_BY_TITLE = {"dependencies": "depends", "runtime": "runtime", "testsuites": "test",
                 "before": "before", "external": "optional"}
KIND_BY_SUFFIX = {"depends": "depends", "rundeps": "runtime", "testdeps": "test",
                  "before": "before", "befors": "before", "optdeps": "optional"}
#: Other names scripts go by (jhalfs, hand-written trees) for a few of the book's packages.
ALIASES = {
    "procps": ("procps-ng",), "procps-ng": ("procps",), "python": ("python3",),
    "linux-api-headers": ("linux-headers",), "libelf": ("elfutils",),
    "xml-parser": ("perl-xml-parser",), "flit-core": ("flit_core",),
    "pkgconf": ("pkg-config",), "dbus": ("d-bus",),
}
_XML_ENTITIES = {"lt", "gt", "amp", "quot", "apos"}
_ENTITY_DECL = re.compile(r"""<!ENTITY\s+([A-Za-z][\w.-]*)\s+(["'])(.*?)\2\s*>""", re.S)
_ENTITY_REF = re.compile(r"&([A-Za-z][\w.-]*);")
_DOCTYPE = re.compile(r"<!DOCTYPE[^\[>]*(?:\[.*?\]\s*)?>", re.S)
_LIST_ID = re.compile(r"""<segmentedlist\b[^>]*?\bid\s*=\s*["']([^"']+)["']""")


@dataclass(frozen=True)
class BookList:
    """One dependency list of one package."""

    package: str  # the page's id, lower case: gcc, procps, xml-parser
    title: str  # as the book writes it: GCC, Procps-ng
    kind: str  # depends, runtime, test, before, optional
    ident: str  # the list's id: gcc-depends
    line: int
    items: tuple[str, ...]  # normalised names


@dataclass(frozen=True)
class BookDeps:
    """The dependency lists of one ``dependencies.xml`` for one init system."""

    path: Path
    revision: str
    lists: tuple[BookList, ...]
    #: normalised title -> package id ("procps-ng" -> "procps", "d-bus" -> "dbus")
    titles: dict[str, str]


def normalise(text: str) -> str:
    """A book name as scripts spell it: ``XML::Parser`` is ``xml-parser``."""
    words = " ".join(text.split()).strip(" .;:").lower().replace("::", "-")
    return words.replace(" ", "-")


def _prepare(text: str) -> tuple[str, set[str]]:
    """Expand the internal entities of the DOCTYPE (``&systemd-udev;`` holds markup) on one line
    each, so line numbers stay true; return the text and the entities still undefined."""
    doctype = _DOCTYPE.search(text)
    start = doctype.end() if doctype else 0
    declared = {m.group(1): " ".join(m.group(3).split())
                for m in _ENTITY_DECL.finditer(text, 0, start)}
    body = _ENTITY_REF.sub(lambda m: declared.get(m.group(1), m.group(0)), text[start:])
    undefined = set(_ENTITY_REF.findall(body)) - _XML_ENTITIES
    return text[:start] + body, undefined


def _parse(path: Path) -> tuple[ET.Element, dict[str, int]]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read the book's dependencies: {exc}") from None
    text, undefined = _prepare(text)
    parser = ET.XMLParser()
    for name in undefined:  # general.ent's entities: their names say enough (&runtime;)
        parser.entity[name] = name
    try:
        parser.feed(text)
        root = parser.close()
    except ET.ParseError as exc:
        line = exc.position[0] if exc.position else "?"
        raise UsageError(f"{path}:{line}: not valid XML: {exc}") from None
    lines = {m.group(1): text.count("\n", 0, m.start()) + 1 for m in _LIST_ID.finditer(text)}
    return root, lines


def _text(element: ET.Element, skip: str) -> str:
    """The text of ``element`` without the parts marked for the other init system."""
    parts = [element.text or ""]
    for child in element:
        if child.get("revision") != skip:
            parts.append(_text(child, skip))
        parts.append(child.tail or "")
    return "".join(parts)


def _items(text: str) -> tuple[str, ...]:
    text = re.sub(r"\([^)]*\)", " ", text)  # remarks: "scdoc (for man pages)"
    names = (normalise(part) for part in re.split(r",|\band\b", text))
    return tuple(dict.fromkeys(n for n in names if n and n != "none"))


def _kind(element: ET.Element, ident: str) -> str | None:
    title = (element.findtext("segtitle") or "").strip().lower()
    return KIND_BY_TITLE.get(title) or KIND_BY_SUFFIX.get(ident.rpartition("-")[2].lower())


def read_book_deps(path: Path, revision: str) -> BookDeps:
    """Read ``dependencies.xml`` for ``revision`` (``sysv`` or ``systemd``); UsageError with
    the file and line when it cannot be read or is not the book's appendix."""
    root, lines = _parse(path)
    skip = "systemd" if revision == "sysv" else "sysv"
    lists: list[BookList] = []
    titles: dict[str, str] = {}
    title, title_skipped = "", False
    for element in root.iter():
        if element.tag == "bridgehead":
            title = " ".join("".join(element.itertext()).split())
            title_skipped = element.get("revision") == skip
            continue
        ident = element.get("id") or ""
        if element.tag != "segmentedlist" or "-" not in ident:
            continue
        kind = _kind(element, ident)
        if kind is None or title_skipped or element.get("revision") == skip:
            continue
        package = ident.rpartition("-")[0].lower()
        titles.setdefault(normalise(title or package), package)
        items = tuple(i for seg in element.iter("seg") for i in _items(_text(seg, skip)))
        lists.append(BookList(package, title, kind, ident, lines.get(ident, 0), items))
    if not lists:
        raise UsageError(f"{path}: no dependency lists (segmentedlist id=\"PKG-depends\"...): "
                         "is this the book's appendices/dependencies.xml?")
    return BookDeps(path, revision, tuple(lists), titles)


class _Matcher:
    """The chapter 8 scripts that answer to a book name (their name or what they provide)."""

    def __init__(self, layout: Layout, titles: dict[str, str]) -> None:
        self.titles = titles
        self.index: dict[str, list[int]] = {}
        for i, script in enumerate(layout.scripts):
            if layout.phase(i) == SYSTEM:
                for name in dict.fromkeys([script.name, *script.provides]):
                    self.index.setdefault(name.lower(), []).append(i)

    def find(self, name: str, *more: str) -> list[int]:
        names = [name, *more, self.titles.get(name, name)]
        for known in list(names):
            names.extend(ALIASES.get(known, ()))
        found = [i for n in dict.fromkeys(names) for i in self.index.get(n, ())]
        return sorted(set(found))


def choose_revision(layout: Layout, wanted: str) -> str:
    """``sysv`` or ``systemd``: ``wanted``, or for ``auto`` whether systemd is built."""
    if wanted != "auto":
        return wanted
    return "systemd" if _Matcher(layout, {}).find("systemd") else "sysv"


class _EdgeMaker:
    """Turns list items into edges, keeping count of what it leaves out."""

    def __init__(self, deps: BookDeps, layout: Layout, report: Callable[[Finding], None]):
        self.deps = deps
        self.layout = layout
        self.report = report
        self.later = 0  # dependencies on packages the layout builds later

    def edges(self, book_list: BookList, x: int, y: int, origin: str) -> list[Edge]:
        """The edge between package ``x`` and list item ``y``, if it agrees with the layout."""
        if x == y:  # GCC needs GCC: the build before, from chapter 6
            return []
        a, b = self.layout.scripts[x], self.layout.scripts[y]
        if book_list.kind == "before":
            if x < y:
                return [Edge(a.name, b.name, "before", origin)]
            self.report(Finding(
                "ORD010", Severity.INFO,
                f"{book_list.ident}: the book wants {a.name} installed before {b.name}, but "
                f"the layout builds {b.name} first; the layout's order stands",
                str(self.deps.path), book_list.line,
            ))
            return []
        if y < x:
            return [Edge(b.name, a.name, book_list.kind, origin)]
        self.later += 1
        return []


def book_edges(
    deps: BookDeps, layout: Layout, report: Callable[[Finding], None]
) -> list[Edge]:
    """The book's dependencies as edges between the chapter 8 scripts of ``layout``."""
    matcher = _Matcher(layout, deps.titles)
    if not matcher.index:
        report(Finding("ORD009", Severity.INFO, "the book's dependencies give no edges: no "
                       "script is in phase system (chapter 8)", str(deps.path), None,
                       "chapter 8 scripts get phase system from a chapter08/ folder or "
                       "[discovery.phases]; see docs/layouts.md"))
        return []
    maker = _EdgeMaker(deps, layout, report)
    edges: list[Edge] = []
    unmatched: set[str] = set()
    for book_list in deps.lists:
        targets = matcher.find(book_list.package, normalise(book_list.title))
        if not targets:
            unmatched.add(book_list.package)
            continue
        origin = f"{deps.path.name} line {book_list.line} ({book_list.ident})"
        for item in book_list.items:
            for y in matcher.find(item):
                for x in targets:
                    edges.extend(maker.edges(book_list, x, y, origin))
    used = {layout.position[name] for e in edges for name in (e.before, e.after)}
    report(Finding(
        "ORD009", Severity.INFO,
        f"the book's dependencies ({deps.revision}): {len(edges)} edges between {len(used)} "
        f"chapter 8 scripts; {maker.later} "
        f"{'dependency on a package' if maker.later == 1 else 'dependencies on packages'} "
        "built later in chapter 8 left to the temporary tools", str(deps.path), None,
        f"no chapter 8 script for: {', '.join(sorted(unmatched))}" if unmatched else None,
    ))
    return edges
