"""Multi-package files: one script file per chapter, a banner and a block for each package.

Script collections often hold one file per book chapter, each package's commands under a
comment that names it::

    # 5.2. Binutils-2.41 - Pass 1          #### 6.3 Ncurses-6.4 ####
    # ===== gcc-13.2.0 (pass 2) =====      ## Chapter 8.5: Glibc-2.39
    # --- m4-1.4.19 ---                    #----- Bash-5.2.21 -----

A **banner** is a comment line, standing alone at the top level of the script (not inside a
function, a loop, an ``if`` or a here-document), that names a package with its version,
optionally after a section number and before a pass (:func:`read_banner`). A bare one
(``# m4-1.4.19``: no section number, no decoration) must also stand apart from other comment
lines, so that a list of packages in a comment is not taken for banners; only a numbered or
decorated banner may add words (``Linux-6.13.4 API Headers``, ``Libstdc++ from GCC-14.2.0``).
A file is multi-package when it has two banners or more. Only a file whose first
:data:`~lfsplug_discovery.head.HEADER_LINES` lines may hold one (:func:`may_have_banners`) is
read whole for them.

:func:`apply_sections` fills ``script.packages`` from the banners and, with ``[discovery]
split_sections = true``, replaces each multi-package script by one script per section: a file
under ``STATE_DIR/sections/`` with the file's preamble (everything before its first banner) and
the section's block. What each file's banners are is kept in ``STATE_DIR/cache/sections.json``
by stat key, as the discovery cache keeps heads, so a warm run reads no file for them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import shutil
import tempfile
import time
import zlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from lfsplug import Origin, Script, Severity
from lfsplug_discovery.cache import RACY_NS, stat_key
from lfsplug_discovery.names import is_package_name, parse_filename, pass_base, split_package
from lfsplug_discovery.phases import CHAPTER_PHASES

if TYPE_CHECKING:
    from lfsplug import Session
    from lfsplug_discovery.layouts import DiscoveryState
    from lfsplug_discovery.settings import Settings

__all__ = ["CACHE_FILE", "SECTIONS_DIR", "Banner", "apply_sections", "find_banners",
           "may_have_banners", "read_banner", "split_text"]

CACHE_FILE = Path("cache") / "sections.json"
SECTIONS_DIR = Path("sections")
#: A file larger than this is not read whole for banners (no chapter file comes close).
MAX_FILE = 16 << 20
#: Bump when the meaning of a cache entry changes in a way the module hashes would not show.
FORMAT = 2
# Regular expressions are compiled by ``re`` on first use and kept in its cache: a warm run
# takes every file's banners from the cache file and compiles none of them.
# A comment line (not a shebang), its marker and its text.
_COMMENT = r"^[ \t]*(#+)(?!!)(.*?)[ \t\r]*$"
# Decoration around a banner's text: runs of these characters (=====, ---, ####, ***).
_DECOR = r"[=*~_+#<>\-]{2,}"
_LEAD, _TRAIL = r"^\s*" + _DECOR + r"\s*", r"\s*" + _DECOR + r"$"
# The text of a banner once its comment marker and decoration are gone (see read_banner).
_CORE = r"""(?ix)
    ^(?:(?:chapter|chap|ch|section|sect|sec)\.?\s*(?=\d))?
    (?:(?P<number>\d+(?:\.\d+)*)\.?(?:\s*[:)\u2013\u2014-]\s*|\s+))?
    (?:(?P<verb>build(?:ing)?|install(?:ing)?|compil(?:e|ing))\s+)?
    (?:(?P<part>[a-z][\w+.]*(?:::\w+)*)\s+from\s+)?
    (?P<token>[a-z][\w+.]*(?:(?:::|-)[\w+.]+)+)
    (?P<words>(?:\s+[a-z]+){0,2}?)
    (?:\s*[,:\u2013\u2014-]?\s*\(?\s*pass[\s_-]*(?P<pass>\d+)\s*\)?)?
    \s*$
"""
# A banner names a package, not a file: "# gcc-13.2.0.tar.xz" lists a tarball.
_FILE_SUFFIX = r"\.(?:tar(?:\.\w+)?|t[gbx]z2?|zip|xz|gz|bz2|zst|lz|patch|diff|sh|bash|sig|" \
               r"asc|log|txt)$"
# What may_have_banners looks for: a comment line with a word, a hyphen and a digit (as every
# banner has), or a heading, numbered ("# 7.2. Changing Ownership") or decorated ("# ====").
_PREFILTER = r"(?m)^[ \t]*#(?:.*[A-Za-z+.]-\d|#|[ \t]*(?:[=*~_+<>-]{2}|\d+\.\d))"


class Banner(NamedTuple):
    """One banner: its line (1-based), the package's name as discovery names packages
    (``binutils-pass1``), its version, and the section number written before it (``5.2``)."""

    line: int
    name: str
    version: str
    number: str | None = None

    @property
    def chapter(self) -> int | None:
        """The book chapter a dotted section number names (``5.2`` is chapter 5); a plain
        number (``# 3. m4-1.4.19``) is a sequence number, not a chapter."""
        if self.number is None or "." not in self.number:
            return None
        return int(self.number.split(".", 1)[0])


def _plausible(version: str) -> bool:
    """Whether a version is one a banner names: dotted, or three digits or more (``less-668``,
    ``iana-etc-20250123``); ``# === step-2 ===`` numbers a step, not a release."""
    return "." in version or (len(version) >= 3 and version[:3].isdigit())


def _read(line: str, number: int) -> tuple[Banner, bool] | None:
    """Read one line as a banner (see :func:`read_banner`), with whether it is numbered or
    decorated; or None."""
    comment = re.match(_COMMENT, line) if "#" in line else None
    if comment is None:
        return None
    hashes, body = comment.groups()
    lead = re.match(_LEAD, body)
    if lead is not None:
        body = body[lead.end():]
    trail = re.search(_TRAIL, body)
    if trail is not None:
        body = body[:trail.start()]
    core = re.match(_CORE, body.strip())
    if core is None:
        return None
    strong = core["number"] is not None or len(hashes) > 1 or bool(lead or trail)
    if not strong and (core["words"] or core["part"] or core["verb"]):
        return None  # "# gcc-13.2.0 fails its tests", "# Copied from gcc-13.2.0": prose
    named = _named(core)
    return None if named is None else (Banner(number, *named, core["number"]), strong)


def _named(core: re.Match[str]) -> tuple[str, str] | None:
    """The package (name and version) a banner's matched text names, or None."""
    token = core["token"].replace("::", "-").lower()  # XML::Parser is the book's xml-parser
    if re.search(_FILE_SUFFIX, token):
        return None
    name, version = split_package(token)
    if version is None or not _plausible(version):
        return None
    if core["part"]:  # "Libstdc++ from GCC-14.2.0" builds libstdc++
        name = core["part"].replace("::", "-").lower()
    words = core["words"].split()
    if words:  # "Linux-6.13.4 API Headers"
        name = "-".join([name, *(word.lower() for word in words)])
    if core["pass"] and pass_base(name) is None:
        name = f"{name}-pass{int(core['pass'])}"
    if not is_package_name(name) or not any(c.isalpha() for c in name):
        return None
    return name, version


def read_banner(line: str, number: int = 1) -> Banner | None:
    """The banner ``line`` is when read alone (line ``number`` of its file), or None.

    A comment line whose text is, after any decoration (runs of ``= - # * ~ _ + < >``): an
    optional ``Chapter``/``Section`` word and section number (``5.2.``, ``6.3``, ``8.5:``), an
    optional verb (``Building``), the package and its version as one word (``Binutils-2.41``,
    ``XML::Parser-2.47``, ``ncurses-6.4-20230520``), and an optional pass (``- Pass 1``,
    ``(pass 2)``). Numbered or decorated banners may add up to two words after the version
    (``API Headers``) or name what is built from the package (``Libstdc++ from GCC-14.2.0``).
    Whether the line stands alone is :func:`find_banners`' business.
    """
    found = _read(line, number)
    return None if found is None else found[0]


def may_have_banners(head: str) -> bool:
    """The cheap test on a file's first lines: whether a comment line has a word, a hyphen and
    a digit (as every banner has) or is a heading, numbered or decorated (a chapter file may
    start with sections that build no package: ``# 7.2. Changing Ownership``). Only such files
    are read whole."""
    return re.search(_PREFILTER, head) is not None


def _prose(line: str) -> bool:
    """Whether ``line`` is a comment with words (a bare banner next to one is part of a
    paragraph: ``# Required:`` followed by ``#   libxml2-2.12.5``)."""
    text = line.strip()
    if not text.startswith("#"):
        return False
    body = text.lstrip("#").strip()
    return bool(body) and re.fullmatch(_LEAD, body) is None


def _alone(lines: list[str], i: int) -> bool:
    """Whether line ``i`` stands apart from other comment lines (blank, code or decoration
    next to it)."""
    return not (i > 0 and _prose(lines[i - 1])) and not (i + 1 < len(lines)
                                                          and _prose(lines[i + 1]))


def _line_banners(lines: list[str]) -> list[Banner]:
    """The lines that are banners, bare ones only where they stand alone."""
    found = []
    for i, line in enumerate(lines):
        reading = _read(line, i + 1)
        if reading is not None and (reading[1] or _alone(lines, i)):
            found.append(reading[0])
    return found


def _top_level(data: bytes, banners: list[Banner]) -> list[Banner]:
    """The banners that are not inside a function, a loop, an ``if`` or a here-document, where
    the file cannot be cut. A construct the parser could not read whole (tree-sitter-bash
    misreads some valid bash, ``PAGE=<paper_size> ./configure``) says nothing either way: a
    banner in it stands."""
    from lfsplug_shell import parse

    spans = []
    for node in parse(data).root_node.children:
        (first, _), (last, column) = node.start_point, node.end_point
        last -= column == 0  # a node that ends with its newline ends on the line before
        if node.type != "comment" and last > first and not node.has_error:
            spans.append((first, last))
    return [banner for banner in banners
            if not any(first <= banner.line - 1 <= last for first, last in spans)]


def find_banners(data: bytes) -> list[Banner]:
    """The banners of a multi-package file, in order; [] for any other file (fewer than two
    banners, unless the one is numbered like a book section)."""
    found = _line_banners(data.decode("utf-8", errors="replace").split("\n"))
    if len(found) < 2 and not _book_section(found):
        return []
    found = _top_level(data, found)  # parsed only now: few files get this far
    return found if len(found) >= 2 or _book_section(found) else []


def _book_section(found: list[Banner]) -> bool:
    """One banner numbered like a book section (``# 10.3. Linux-6.4.12``): a chapter file that
    builds one package, as the last chapter's file of a collection often does."""
    return len(found) == 1 and found[0].chapter is not None


def _read_banners(path: str) -> list[Banner]:
    """The banners of the file at ``path``: its head first, the whole file only when the head
    may hold one."""
    from lfsplug_discovery.head import read_head

    head = read_head(path)
    if head.error is not None or head.binary or head.empty or not may_have_banners(head.text):
        return []
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE + 1)
    except OSError:
        return []
    if len(data) > MAX_FILE or b"\0" in data:
        return []
    return find_banners(data)


# -- splitting ----------------------------------------------------------------------------------


def _lines(data: bytes) -> list[bytes]:
    """The lines of ``data``, each with its newline (bash's lines: split at ``\\n`` only)."""
    lines = [line + b"\n" for line in data.split(b"\n")]
    lines[-1] = lines[-1][:-1]
    if not lines[-1]:
        lines.pop()
    return lines


def split_text(data: bytes, banners: list[Banner]) -> tuple[bytes, list[tuple[int, bytes]]]:
    """The preamble of a multi-package file (everything before its first banner) and each
    section's last line and block (from its banner to the line before the next one)."""
    lines = _lines(data)
    preamble = b"".join(lines[:banners[0].line - 1])
    ends = [banner.line - 1 for banner in banners[1:]] + [len(lines)]
    return preamble, [(end, b"".join(lines[banner.line - 1:end]))
                      for banner, end in zip(banners, ends, strict=True)]


def _section_content(preamble: bytes, block: bytes, source: str) -> bytes:
    """A section's script: the preamble, a note on where it comes from (the source's path
    only, so that growing one section leaves the others' content, and their resume, alone),
    and the block."""
    note = f"# split by lfsplug from {source}: edit that file, not this one\n"
    end = b"" if block.endswith(b"\n") else b"\n"  # the last block of a file without one
    return preamble + note.encode("utf-8", errors="surrogateescape") + block + end


def _write(path: Path, content: bytes, mode: int) -> None:
    """Write ``content`` to ``path`` unless it holds it already (an unchanged file keeps its
    stat, so every cache keyed by it stands); atomically, so that a bash still reading the
    old file keeps reading it."""
    with contextlib.suppress(OSError):
        if path.read_bytes() == content:
            if path.stat().st_mode & 0o7777 != mode:
                path.chmod(mode)
            return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".section.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.chmod(temp, mode)
        os.replace(temp, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def _is_section(script: Script) -> bool:
    return script.meta.get("layout") == "section"


def _kept_phase(script: Script) -> bool:
    """Whether the file's phase was chosen by the user (header, configuration), which then
    holds for every section, whatever a banner's chapter says."""
    origin = script.origins.get("phase")
    return origin is not None and origin.source.startswith(("# lfsplug: header",
                                                            "[discovery.phases]"))


def _workdir(script: Script, section: Path) -> str | None:
    """The file's ``workdir=`` as the section at ``section`` must say it: a relative one is
    relative to the script's directory, which for a section is in the state directory (kept
    relative, so that a chroot's scripts still find it on the host)."""
    workdir = script.workdir
    if workdir is None or workdir.startswith(("/", "$")):
        return workdir
    return os.path.relpath(os.path.join(script.path.parent, workdir), section.parent)


def _section(script: Script, banner: Banner, path: Path, last_line: int) -> Script:
    """The Script of one section of ``script`` (what every section inherits from the file:
    phase, user, chroot, timeout, disabled codes, environment, ``workdir=``)."""
    where = Origin("banner", str(script.path), banner.line, f" of {script.relpath}")
    section = Script(name=banner.name, path=path, root=script.root, index=script.index,
                     version=banner.version, phase=script.phase, timeout=script.timeout,
                     user=script.user, chroot=script.chroot, disable=set(script.disable),
                     env=dict(script.env), workdir=_workdir(script, path))
    section.origins.update({"name": where, "version": where})
    for key in ("phase", "timeout", "user", "chroot", "disable", "workdir", "env"):
        if key in script.origins:
            section.origins[key] = script.origins[key]
    chapter = banner.chapter
    if chapter in CHAPTER_PHASES and not _kept_phase(script):
        section.phase = CHAPTER_PHASES[chapter]
        section.origins["phase"] = where.noted(f" (book chapter {chapter})")
    base = pass_base(banner.name)
    if base is not None:
        section.provides.append(base)
        section.origins["provides"] = where
    section.meta["layout"] = "section"
    section.meta["section_of"] = f"{script.path}:{banner.line}-{last_line}"
    return section


def _own_name(script: Script) -> None:
    """Name a multi-package file after itself: by its header or its file name, not by what
    names one of its packages (the first tarball it unpacks, a ``PACKAGE=`` line)."""
    parsed = parse_filename(script.path.name)
    for key, value in (("name", parsed.name), ("version", parsed.version)):
        origin = script.origins.get(key)
        if origin is None or origin.source.startswith(("# lfsplug: header", "file name")):
            continue
        setattr(script, key, value)
        if value is None:
            del script.origins[key]
        else:
            script.origins[key] = Origin("file name")


def _inherit(script: Script, sections: list[Script]) -> None:
    """What the file as a whole waits for, its first section waits for; what waits for the
    file, and what the file provides (its name too), its last section stands for."""
    first, last = sections[0], sections[-1]
    whole = Origin(script.relpath, str(script.path))  # the file, for what it says nowhere
    for key in ("depends", "recommends", "optional", "after"):
        values = getattr(script, key)
        if values:
            getattr(first, key).extend(values)
            first.origins[key] = script.origins.get(key, whole)
    if script.before:
        last.before.extend(script.before)
        last.origins["before"] = script.origins.get("before", whole)
    provided = [p for p in (script.name, *script.provides)
                if p != last.name and p not in last.provides]
    if provided:
        last.provides.extend(provided)
        origin = f"the last section of {script.relpath}"
        known = last.origins.get("provides")
        last.origins["provides"] = (known.noted(f"; {origin}") if known
                                    else Origin(origin, str(script.path)))


def _link(original: Script, sections: list[Script]) -> None:
    """Each section after the one before it in its file: the file's order holds in graph order
    too (a chapter's packages are written in the order they build)."""
    for before, after in itertools.pairwise(sections):
        after.after.append(before.name)
        after.origins.setdefault("after", Origin(
            f"the order of the sections of {original.relpath}", str(original.path)))


def _where(files: list[Script]) -> tuple[list[str], str]:
    """What tells apart the files of sections that build one package, as discovery tells apart
    every package built more than once (:mod:`.jhalfs`): the first directory in which their
    paths differ, else their file numbers, else their place in build order."""
    paths = [f.relpath.split("/")[:-1] for f in files]
    for here in itertools.zip_longest(*paths, fillvalue=""):
        if len(set(here)) > 1:
            if "" not in here and len(set(here)) == len(here):
                return list(here), "directory"
            break
    numbers = [parse_filename(f.path.name).number or "" for f in files]
    if "" not in numbers and len(set(numbers)) == len(numbers):
        return numbers, "file number"
    return [str(n) for n in range(1, len(files) + 1)], "place in build order"


def _qualify(scripts: list[Script], files: dict[int, Script]) -> None:
    """Name ``NAME@WHERE`` each section (or script named by its file) of a package that several
    sections build (glibc in the chapter 5 and chapter 8 files), providing ``NAME``, as discovery
    names every package built more than once. ``files`` maps a section to the file it is of."""
    groups: dict[str, list[Script]] = {}
    for script in scripts:
        if _is_section(script) or script.origins.get("name") == Origin("file name"):
            groups.setdefault(script.name, []).append(script)
    taken = {s.name for s in scripts}
    for name, group in groups.items():
        if len(group) < 2 or not any(map(_is_section, group)):
            continue
        qualifiers, what = _where([files.get(id(s), s) for s in group])
        others = ", ".join(str(s.origins["name"]) if _is_section(s) else s.relpath
                           for s in group)
        for script, where in zip(group, qualifiers, strict=True):
            qualified = f"{name}@{where}"
            if qualified in taken:
                continue
            script.name = qualified
            script.origins["name"] = script.origins["name"].noted(
                f" and {what} ({name} is built {len(group)} times: {others})")
            if name not in script.provides:
                script.provides.append(name)
                script.origins.setdefault("provides", script.origins["name"])
            taken.add(qualified)


# -- the cache of banners and the sections directory --------------------------------------------


@cache
def code_version() -> str:
    """The format and a checksum of the code that reads banners (this module and names.py)."""
    here = Path(__file__).parent
    digest = 0
    for name in ("sections.py", "names.py"):
        digest = zlib.crc32((here / name).read_bytes(), digest)
    return f"{FORMAT}-{digest:08x}"


def _decode(data: Any) -> list[Banner] | None:
    """The banners of a cache entry, or None when it is malformed."""
    if data == 0 and type(data) is int:
        return []
    try:
        return [Banner(int(line), str(name), str(version), None if number is None
                       else str(number)) for line, name, version, number in data]
    except (TypeError, ValueError):
        return None


class SectionIndex:
    """The banners of every script file by path and stat key (``cache/sections.json``), and
    which sections directory holds which file's sections, kept between runs."""

    def __init__(self, state_dir: Path, roots: list[str]) -> None:
        self.state_dir = state_dir
        #: directories collected whole: an old entry below one that was not met is gone
        self.roots = roots
        self.entries: dict[str, list[Any]] = {}
        #: this run's sections directories (below ``sections/``) and the file each splits
        self.splits: dict[str, str] = {}
        self.removed: set[str] = set()
        self.changed = False
        self._old: dict[str, Any] = {}
        self._old_splits: dict[str, str] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads((self.state_dir / CACHE_FILE).read_bytes())
        except (OSError, ValueError):
            return
        if not isinstance(data, dict):
            return
        splits = data.get("splits")
        if isinstance(splits, dict):
            self._old_splits = {k: v for k, v in splits.items() if isinstance(v, str)}
        entries = data.get("entries")
        if data.get("version") == code_version() and isinstance(entries, dict):
            self._old = entries
        else:
            self.changed = True  # another version's: replace it

    def banners(self, path: str) -> list[Banner]:
        """The banners of ``path`` ([] for a file that is not multi-package), from the cache
        while its stat key is unchanged."""
        try:
            key = stat_key(os.stat(path))
        except OSError:
            return []
        entry = self._old.get(path)
        if type(entry) is list and len(entry) == 2 and entry[0] == key:
            cached = _decode(entry[1])
            if cached is not None:
                self.entries[path] = entry
                return cached
        found = _read_banners(path)
        self.entries[path] = [key, [list(b) for b in found] if found else 0]
        self.changed = True
        return found

    def save(self) -> None:
        """Write the index if anything changed; quietly nothing when the state directory is not
        writable (the next run reads the files again)."""
        kept = {p: e for p, e in self._old.items() if p not in self.entries and not self._below(p)}
        splits = {k: v for k, v in self._old_splits.items() if k not in self.removed}
        splits.update(self.splits)
        if not self.changed and len(kept) + len(self.entries) == len(self._old) \
                and splits == self._old_splits:
            return
        now = time.time_ns()
        # An entry as young as the racy window may hide an edit made in the same clock tick.
        entries = {p: e for p, e in self.entries.items() if e[0][1] < now - RACY_NS}
        entries.update(kept)
        text = json.dumps({"version": code_version(), "written": now, "entries": entries,
                           "splits": splits}, separators=(",", ":"))
        path = self.state_dir / CACHE_FILE
        with contextlib.suppress(OSError):
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".sections.", dir=path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                os.replace(temp, path)
            except OSError:
                os.unlink(temp)

    def _below(self, path: str) -> bool:
        return any(path == root or path.startswith(root + os.sep) for root in self.roots)

    def stale(self, scripts: list[Script]) -> list[str]:
        """The sections directories of earlier runs to remove: their file is gone, or is one of
        ``scripts`` (collected in this run) and was not split (no longer multi-package, or
        split turned off)."""
        old = [(k, source) for k, source in self._old_splits.items() if k not in self.splits]
        if not old:
            return []
        collected = {str(script.path) for script in scripts}
        return [key for key, source in old
                if source in collected or not os.path.exists(source)]


class Splitter:
    """Writes the sections of multi-package files under ``STATE_DIR/sections/`` and makes
    their Scripts."""

    def __init__(self, index: SectionIndex, state: DiscoveryState) -> None:
        self.index = index
        self.state = state
        self.top = index.state_dir / SECTIONS_DIR
        self.written: dict[str, set[str]] = {}

    def split(self, script: Script, banners: list[Banner]) -> list[Script] | None:
        """The sections of ``script``, written to disk; None (the file runs whole, with a
        finding that says why) when it cannot be split."""
        path = str(script.path)
        if script.unpack is not None:
            self.state.note("DISC051", Severity.INFO, "builds several packages, but unpack= "
                            "names one tarball for the whole file: not split", path, script=path)
            return None
        try:
            return self._write_sections(script, banners)
        except OSError as exc:
            self.state.note("DISC050", Severity.WARNING, f"cannot write its sections under "
                            f"{self.top}: {exc.strerror or exc}; it runs as one script", path,
                            hint="make the state directory writable", script=path)
            return None

    def _key(self, script: Script) -> str:
        """The directory of a file's sections: its path below its root (``chapter05.sh``)."""
        key = base = script.relpath.lstrip("/")
        n = 1
        while self.index.splits.get(key, str(script.path)) != str(script.path):
            n += 1  # two roots with one relative path
            key = f"{base}~{n}"
        return key

    def _write_sections(self, script: Script, banners: list[Banner]) -> list[Script]:
        data = script.path.read_bytes()
        mode = script.path.stat().st_mode & 0o777
        preamble, blocks = split_text(data, banners)
        key = self._key(script)
        names = self.written.setdefault(key, set())
        sections = []
        for banner, (last_line, block) in zip(banners, blocks, strict=True):
            filename = f"{banner.name}.sh"
            n = 1
            while filename in names:  # one package twice in a file (glibc@1, glibc@2)
                n += 1
                filename = f"{banner.name}.{n}.sh"
            names.add(filename)
            target = self.top / key / filename
            _write(target, _section_content(preamble, block, script.relpath), mode | 0o600)
            sections.append(_section(script, banner, target, last_line))
        self.index.splits[key] = str(script.path)
        return sections

    def clean(self, scripts: list[Script]) -> None:
        """Remove the sections of files no longer split (see :meth:`SectionIndex.stale`), and
        in each directory written, the files of sections that are gone."""
        for key, names in self.written.items():
            with contextlib.suppress(OSError):
                for entry in os.scandir(self.top / key):
                    if entry.is_file() and entry.name not in names:
                        os.unlink(entry.path)
        for key in self.index.stale(scripts):
            shutil.rmtree(self.top / key, ignore_errors=True)
            self.index.removed.add(key)
            parent = (self.top / key).parent
            while parent != self.top and parent.is_relative_to(self.top):
                try:
                    parent.rmdir()  # empty once its last file's sections are gone
                except OSError:
                    break
                parent = parent.parent


def apply_sections(scripts: list[Script], session: Session, settings: Settings,
                   state: DiscoveryState) -> None:
    """List the packages each multi-package script builds (``script.packages``); with
    ``split_sections``, replace each one, in place, by one script per section."""
    config = session.config
    index = SectionIndex(config.state_dir, [str(p.absolute()) for p in config.paths
                                            if p.is_dir()])
    splitter = Splitter(index, state)
    result: list[Script] = []
    splits: list[tuple[Script, list[Script]]] = []
    for script in scripts:
        banners = index.banners(str(script.path))
        if banners:
            script.packages = [banner.name for banner in banners]
            _own_name(script)
        sections = splitter.split(script, banners) if (
            settings.split_sections and len(banners) >= 2) else None
        result.extend(sections or [script])
        if sections:
            splits.append((script, sections))
    if splits:
        _qualify(result, {id(s): original for original, sections in splits for s in sections})
        for original, sections in splits:
            _link(original, sections)
            _inherit(original, sections)
    splitter.clean(scripts)
    scripts[:] = result
    index.save()
