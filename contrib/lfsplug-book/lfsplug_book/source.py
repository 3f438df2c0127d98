"""Reading a checkout of the LFS book: its DocBook XML, entities resolved, XIncludes followed,
profiled for one init system and architecture.

A book is a folder holding ``index.xml``, ``general.ent`` and ``packages.ent``. Its build (``make``
in the book) writes two entity files first, which a checkout lacks: ``conditional.ent`` (which
of ``%sysv;`` and ``%systemd;`` is included) and ``version.ent``. They are answered here, by an
entity resolver: the first from the chosen profile (also where a build left one), the second from
the checkout's own file when there is one, else from ``git describe`` or "development". Nothing is
fetched from the network: the DocBook DTD's URL resolves to nothing (the book's own entities are
all it needs).

Profiling is the book's own: an element whose ``revision`` attribute names the other init system
is dropped, as is one whose ``arch`` attribute does not name this architecture (values separated
by ``;``). Commented-out ``xi:include`` lines are comments, so their pages are not there.
"""

from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import UsageError

if TYPE_CHECKING:
    from lxml import etree

__all__ = ["BOOK_FILES", "INITS", "Book", "BookError", "Material", "Profile", "is_book", "load"]

#: The files that make a folder a book.
BOOK_FILES = ("index.xml", "general.ent", "packages.ent")
#: The book's two flavours (its ``revision`` attribute).
INITS = ("sysv", "systemd")
_ENTITY_REF = re.compile(r"&([A-Za-z0-9_.-]+);")


class BookError(UsageError):
    """The book cannot be read: a file and line, and what is wrong (exit 4)."""


@dataclass(frozen=True)
class Profile:
    """The choices that make one book out of the XML: the init system and the architecture."""

    init: str = "sysv"
    arch: str = field(default_factory=lambda: os.uname().machine)


@dataclass(frozen=True)
class Material:
    """A file of chapter 3's lists (a package's tarball or a patch): its URL and MD5."""

    name: str
    url: str
    md5: str | None
    kind: str  # "package" or "patch"


@dataclass
class Book:
    """The profiled book: its root element and what its entities say."""

    path: Path
    profile: Profile
    root: etree._Element
    entities: dict[str, str]
    materials: list[Material]

    def entity(self, name: str) -> str | None:
        """The value of entity ``name``, its own references resolved; None when undeclared."""
        return _expand(self.entities, name, 0)

    def material(self, name: str) -> Material | None:
        """The chapter 3 entry of file ``name``."""
        for found in self.materials:
            if found.name == name:
                return found
        return None


def is_book(path: Path) -> bool:
    """Whether ``path`` is a folder holding the LFS book's XML."""
    return path.is_dir() and all((path / name).is_file() for name in BOOK_FILES)


def _expand(entities: dict[str, str], name: str, depth: int) -> str | None:
    raw = entities.get(name)
    if raw is None or depth > 20:
        return raw

    def one(match: re.Match[str]) -> str:
        value = _expand(entities, match.group(1), depth + 1)
        return match.group(0) if value is None else value

    return _ENTITY_REF.sub(one, raw)


def _git_version(path: Path) -> str:
    """What the book's ``git-version.sh`` would call this checkout, near enough."""
    if (path / ".git").exists():
        try:
            done = subprocess.run(["git", "-C", str(path), "describe", "--always", "--dirty"],
                                  capture_output=True, text=True, timeout=10, check=False)
        except (OSError, subprocess.SubprocessError):
            return "development"
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    return "development"


def _resolver(path: Path, profile: Profile) -> etree.Resolver:
    from lxml import etree

    # lxml has no type information here (lxml-stubs is not a dependency): its Resolver is Any
    class Resolver(etree.Resolver):  # type: ignore[misc]
        """conditional.ent and version.ent answered; nothing from the network."""

        def resolve(self, url: str | None, pubid: str | None, context: object) -> object:
            name = os.path.basename(url or "")
            if name == "conditional.ent":
                sysv, systemd = (("INCLUDE", "IGNORE") if profile.init == "sysv"
                                 else ("IGNORE", "INCLUDE"))
                return self.resolve_string(f'<!ENTITY % sysv "{sysv}">'
                                           f'<!ENTITY % systemd "{systemd}">', context)
            if name == "version.ent" and not (path / "version.ent").is_file():
                version = _git_version(path)
                return self.resolve_string(
                    f'<!ENTITY version "{version}"><!ENTITY releasedate "{version}">'
                    f'<!ENTITY copyrightdate "{version}">', context)
            if url is not None and "://" in url and not url.startswith("file:"):
                return self.resolve_string("", context)  # the DocBook DTD: not needed
            return None

    return Resolver()


def _error(exc: Exception, path: Path) -> BookError:
    """One line naming the file and line the parser stopped at."""
    log = getattr(exc, "error_log", None)
    errors = [e for e in log if e.filename] if log is not None else []
    if errors:  # the worst, first: the book's own warnings (an undefined &copy;) come too
        worst = max(e.level for e in errors)
        first = next(e for e in errors if e.level == worst)
        return BookError(f"{first.filename}:{first.line}: {first.message.strip()}")
    return BookError(f"{path / 'index.xml'}: {exc}")


def _profile(root: etree._Element, profile: Profile) -> None:
    """Drop what is for the other init system or another architecture."""
    for element in root.xpath("//*[@revision or @arch]"):
        revision = element.get("revision")
        arch = element.get("arch")
        keep = (revision is None or profile.init in re.split(r"[;,\s]+", revision)) and \
            (arch is None or profile.arch in re.split(r"[;,\s]+", arch))
        if not keep:
            parent = element.getparent()
            if parent is not None:
                _drop(element)


def _drop(element: etree._Element) -> None:
    """Remove ``element`` but keep the text after it (its tail) in place."""
    parent = element.getparent()
    assert parent is not None
    tail = element.tail
    previous = element.getprevious()
    parent.remove(element)
    if tail:
        if previous is not None:
            previous.tail = (previous.tail or "") + tail
        else:
            parent.text = (parent.text or "") + tail


def _materials(root: etree._Element) -> list[Material]:
    """Chapter 3's lists: each entry's download URL and MD5 sum."""
    found: list[Material] = []
    for variablelist in root.xpath("//chapter[@id='chapter-getting-materials']"
                                   "//variablelist[@role='materials']"):
        kind = "patch" if variablelist.xpath("ancestor::sect1[contains(@id, 'patches')]") \
            else "package"
        for entry in variablelist.iter("varlistentry"):
            # the link of the "Download:" line (an entry may link to a home page or a git log)
            links = [(u.get("url") or "", "".join(u.getparent().itertext()).strip().lower())
                     for u in entry.iter("ulink") if u.get("url")]
            downloads = [url for url, said in links if said.startswith("download")] or \
                [url for url, _ in links if not url.endswith("/")]
            literals = ["".join(lit.itertext()).strip() for lit in entry.iter("literal")]
            md5 = next((x for x in literals if re.fullmatch(r"[0-9a-f]{32}", x)), None)
            if not downloads:
                continue
            url = downloads[0]
            found.append(Material(url.rstrip("/").rsplit("/", 1)[-1], url, md5, kind))
    return found


def load(path: Path, profile: Profile) -> Book:
    """Read the book at ``path`` for ``profile``; BookError naming the file and line when it
    cannot be read."""
    from lxml import etree

    parser = etree.XMLParser(load_dtd=True, no_network=True, resolve_entities=True,
                             huge_tree=True)
    parser.resolvers.add(_resolver(path, profile))
    index = path / "index.xml"
    try:
        tree = etree.parse(str(index), parser)
        tree.xinclude()
    except (etree.XMLSyntaxError, etree.XIncludeError) as exc:
        raise _error(exc, path) from None
    except OSError as exc:
        raise BookError(f"{index}: cannot be read: {exc}") from None
    root = tree.getroot()
    _profile(root, profile)
    dtd = tree.docinfo.internalDTD
    entities = {e.name: e.content or "" for e in dtd.iterentities() if e.name} \
        if dtd is not None else {}
    return Book(path, profile, root, entities, _materials(root))
