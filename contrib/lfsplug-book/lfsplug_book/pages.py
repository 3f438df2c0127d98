"""The book's pages that build something: one :class:`Page` per ``sect1`` of chapters 4 to 10
with a command to run, in book order, with its package, its figures and its commands.

Which pages, and the order of a page's commands, follow jhalfs's ``LFS/lfs.xsl`` (docs/book.md):

* a page is a ``sect1`` of a chapter that builds (:data:`CHAPTER_PHASES`, by id: chapters 4
  to 10 of today's book) with a ``screen`` that is not
  ``role="nodump"`` holding a ``userinput`` that does not start with ``chroot`` (the book's
  command to enter the chroot, which lfsplug's chroot plugin does itself);
* its commands are, in document order, the ``userinput`` of the ``screen`` children of the
  ``sect1`` and, for each ``sect2``, first its ``pre``, ``configure``, ``make`` and ``test``
  commands (``remap``), then its ``install`` ones, then (glibc's installation) the locales,
  then those without a ``remap`` (or ``adjust``);
* a page is numbered ``CNN``: its chapter, then its place among the chapter's pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lxml import etree

    from lfsplug_book.source import Book, Material

__all__ = ["CHAPTERS", "CHAPTER_PHASES", "Block", "Page", "pages"]

#: The chapters that build, by their ids (stable across the book's versions: chapter 5 of an
#: LFS before 10.0 is ``chapter-temporary-tools``, built in /tools as the lfs user), with the
#: phase their scripts belong to.
CHAPTER_PHASES = {"chapter-final-preps": "host", "chapter-cross-tools": "cross",
                  "chapter-temporary-tools": "temp",
                  "chapter-chroot-temporary-tools": "chroot-temp",
                  "chapter-building-system": "system", "chapter-config": "config",
                  "chapter-bootscripts": "config", "chapter-bootable": "config"}
#: A chapter of another id, by its number (a translation, a fork of the book).
CHAPTERS = {4: "host", 5: "cross", 6: "temp", 7: "chroot-temp", 8: "system", 9: "config",
            10: "config"}
#: Pages of chapter 7 that run on the host as root, before the chroot is entered.
HOST_ROOT = ("changingowner", "kernfs")
_FIRST = ("pre", "configure", "make", "test")
_LAST_TEST_IDS = ("ch-tools-dejagnu", "ch-system-systemd")  # jhalfs runs these tests last
_PATCH = re.compile(r"([A-Za-z0-9_.+-]+\.patch)\b")
_SBU = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*SBU")
_TYPICAL = re.compile(r"typically about\s+([0-9]+(?:\.[0-9]+)?)\s*SBU")


@dataclass
class Block:
    """One ``userinput``: its text (replaceables kept as :data:`PLACEHOLDER` marks) and role."""

    element: etree._Element
    remap: str | None

    @property
    def text(self) -> str:
        return "".join(self.element.itertext())


@dataclass
class Page:
    """A page of the book that becomes a script."""

    chapter: int
    phase: str
    position: int
    id: str
    filename: str  # the page's file name without .html: the script's name, as jhalfs's
    dirname: str  # chapterNN
    title: str
    blocks: list[Block]
    product: str | None = None
    version: str | None = None
    url: str | None = None
    md5: str | None = None
    installation: bool = False
    patches: list[Material] = field(default_factory=list)
    sbu: float | None = None
    disk: str | None = None

    @property
    def order(self) -> str:
        return f"{self.chapter}{self.position:02d}"

    @property
    def tarball(self) -> str | None:
        return self.url.rstrip("/").rsplit("/", 1)[-1] if self.url else None

    @property
    def user(self) -> str | None:
        """Who runs it where the phase's default is not right: chapter 4 prepares the host as
        root, except the build user's own start-up files; chapter 7's host pages."""
        if self.phase == "host":
            return "lfs" if self.filename == "settingenvironment" else "root"
        if self.filename in HOST_ROOT:
            return "root"
        return None


def _pi(element: etree._Element, key: str) -> str | None:
    """The ``dbhtml`` processing instruction's ``key="..."`` among ``element``'s children."""
    for child in element:
        if getattr(child, "target", None) == "dbhtml":
            found = re.search(rf"{key}=['\"]([^'\"]*)['\"]", child.text or "")
            if found:
                return found.group(1)
    return None


def _runs(screen: etree._Element) -> bool:
    return bool(screen.get("role") != "nodump")


def _is_page(sect1: etree._Element) -> bool:
    for userinput in sect1.xpath(".//screen/userinput"):
        screen = userinput.getparent()
        if _runs(screen) and not "".join(userinput.itertext()).startswith("chroot"):
            return True
    return False


def _blocks(sect1: etree._Element, book: Book, locales: str) -> list[Block]:
    page_id = sect1.get("id", "")
    found: list[Block] = []
    for child in sect1:
        tag = child.tag if isinstance(child.tag, str) else ""
        if tag == "screen" and _runs(child):
            found.extend(Block(u, u.get("remap")) for u in child if u.tag == "userinput")
        elif tag == "sect2":
            found.extend(_sect2_blocks(child, page_id, book, locales))
    return found


def _sect2_blocks(sect2: etree._Element, page_id: str, book: Book, locales: str
                  ) -> list[Block]:
    inputs = [u for u in sect2.xpath(".//screen/userinput") if _runs(u.getparent())]
    late_tests = page_id in _LAST_TEST_IDS
    first = [u for u in inputs if u.get("remap") in _FIRST
             and not (u.get("remap") == "test" and late_tests)]
    install = [u for u in inputs if u.get("remap") == "install"]
    last = [u for u in inputs if u.get("remap") in (None, "adjust")
            or (u.get("remap") == "test" and late_tests)]
    blocks = [Block(u, u.get("remap")) for u in first + install]
    if page_id == "ch-tools-glibc" and sect2.get("role") == "installation":
        # chapter 5's glibc is checked with the book's test locales when every test runs
        blocks.extend(Block(u, "locale-tests")
                      for u in book.root.xpath("//userinput[@remap='locale-test']"))
    if page_id == "ch-system-glibc" and sect2.get("role") == "installation":
        wanted = "locale-full" if locales == "full" else "locale-test"
        blocks.extend(Block(u, wanted) for u in book.root.xpath(f"//userinput[@remap='{wanted}']"))
    blocks.extend(Block(u, u.get("remap")) for u in last)
    return blocks


def _figures(sect1: etree._Element) -> tuple[float | None, str | None]:
    """The page's build time (SBU) and disk space, from its package box."""
    sbu = disk = None
    for seglist in sect1.xpath("sect2[@role='package']//segmentedlist"):
        titles = ["".join(t.itertext()).strip().lower() for t in seglist.iter("segtitle")]
        for item in seglist.iter("seglistitem"):
            segs = ["".join(s.itertext()).strip() for s in item.iter("seg")]
            for title, value in zip(titles, segs, strict=False):
                if "time" in title:  # "1.7 - 32 SBU (typically about 2.5 SBU)": the typical
                    found = _TYPICAL.search(value) or _SBU.search(value)
                    if found:
                        sbu = float(found.group(1))
                elif "disk" in title:  # "1.7 - 14 GB (typically about 2.3 GB)": the typical
                    said = " ".join(value.split())
                    typical = re.search(r"typically about\s+([^)]+)\)", said)
                    disk = typical.group(1) if typical else said
    return sbu, disk


def _product(sect1: etree._Element) -> tuple[str | None, str | None, str | None]:
    info = sect1.find("sect1info")
    if info is None:
        return None, None, None

    def text(tag: str) -> str | None:
        element = info.find(tag)
        value = "".join(element.itertext()).strip() if element is not None else ""
        return value or None

    return text("productname"), text("productnumber"), text("address")


def _chapter_number(chapter: etree._Element, position: int) -> int:
    label = chapter.get("xreflabel") or ""
    found = re.search(r"(\d+)\s*$", label.replace("\u00a0", " "))
    return int(found.group(1)) if found else position


def pages(book: Book, locales: str = "test") -> list[Page]:
    """The pages of the book that become scripts, in book order; glibc installs the locales
    its tests need (``test``, as jhalfs does by default) or all of them (``full``)."""
    found: list[Page] = []
    for position, chapter in enumerate(book.root.iter("chapter"), 1):
        number = _chapter_number(chapter, position)
        phase = CHAPTER_PHASES.get(chapter.get("id", "")) or CHAPTERS.get(number)
        if phase is None:
            continue
        dirname = _pi(chapter, "dir") or f"chapter{number:02d}"
        index = 0
        for sect1 in chapter.iterchildren("sect1"):
            if not _is_page(sect1):
                continue
            index += 1
            filename = (_pi(sect1, "filename") or sect1.get("id", f"page{index}"))
            filename = filename.removesuffix(".html")
            title_element = sect1.find("title")
            title = " ".join("".join(title_element.itertext()).split()) \
                if title_element is not None else filename
            product, version, url = _product(sect1)
            page = Page(number, phase, index, sect1.get("id", ""), filename, dirname, title,
                        _blocks(sect1, book, locales), product, version, url)
            page.installation = sect1.find("sect2[@role='installation']") is not None
            page.sbu, page.disk = _figures(sect1)
            if page.tarball:
                material = book.material(page.tarball)
                page.md5 = material.md5 if material is not None else None
            names = dict.fromkeys(m for b in page.blocks for m in _PATCH.findall(b.text))
            page.patches = [m for m in map(book.material, names) if m is not None]
            found.append(page)
    return found
