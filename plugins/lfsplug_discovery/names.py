"""What a file name says: whether it is a script, where it goes, its name and version.

Every layout names its files after the same few patterns, so one parser serves them all:

* a number prefix that orders the script: ``01-``, ``005_``, ``6.48-`` (a book section),
  ``a.05.03.`` (a part letter, then a dotted section), jhalfs' ``501-`` and user insertions
  ``107-1-``; jhalfs' BLFS tool adds a marker letter, ``1010-y-`` before ``1010-z-``;
* a package name and, often, its version: ``gcc-13.2.0-pass1`` is ``gcc-pass1`` at 13.2.0,
  ``ncurses-6.4-20230520`` is ``ncurses`` at ``6.4-20230520``;
* a ``-passN`` suffix: ``binutils-pass1`` and ``binutils-pass2`` are distinct scripts that both
  provide ``binutils``;
* or no package at all: a number (``01.sh``), a chapter or section label (``ch05.sh``,
  ``c14.20.04.sh``) or a generic word (``build.sh``, ``install.sh``); such a script is named
  by what its content builds (:func:`is_generic_name`).

The same splitting reads the package names a script's content and the package lists beside it
give: a tarball or a directory (``gcc-13.2.0.tar.xz``, ``$SRC/bash-5.2.21``), a URL.

Names that look like package names (letters, digits, ``+ . _ -``) are lower-cased, as the book
and dependency comments spell packages (``GCC`` and ``gcc`` are one package); any other name
(spaces, quotes, ``;``...) is kept exactly as written, since it is a label, not a package.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import NamedTuple

from lfsplug import pass_base, version_key

__all__ = [
    "NOT_SCRIPTS",
    "FileName",
    "archive_package",
    "directory_package",
    "is_archive",
    "is_candidate",
    "is_generic_name",
    "is_package_name",
    "order_key",
    "parse_filename",
    "pass_base",
    "split_package",
]

#: Suffixes of files that sit in script trees but are not scripts (compared lower-cased).
NOT_SCRIPTS = (
    ".log", ".txt", ".md", ".rst", ".patch", ".diff", ".py", ".pyc", ".toml", ".json", ".xml",
    ".html", ".orig", ".bak", ".swp", ".tar", ".gz", ".xz", ".bz2", ".zst", ".lz", ".tgz",
    ".sig", ".asc", ".sha256", ".md5", ".lst", ".cfg", ".conf", ".ini", ".yaml", ".yml",
    ".rej", ".old", ".dpkg-old", "~",
)
SCRIPT_SUFFIXES = (".sh", ".bash")

# A numbered part of a prefix counts only when a separator or the end follows it, so that
# "05-7zip" is 7zip after 05, not zip after 05-7.
_NUMBER = r"(?P<number>\d+(?:[._-]\d+(?=[._ -]|$))*)"
# A part letter before a dotted section: "a.05.03." (a part of the book), "c14.20.04." (a
# chapter letter glued to the number, as some BLFS collections write it).
_PART = r"(?:(?P<part>[A-Za-z])\.(?=\d)|(?P<glued>[A-Za-z]{1,2})(?=\d+\.\d+\.))?"
# jhalfs' BLFS tool writes "1010-z-cracklib", with "1010-y-..." for what must come first; only
# extension-less (jhalfs) names carry the marker, so "01-x-window.sh" keeps its x.
_PREFIX = re.compile(_PART + _NUMBER + r"(?:-(?P<marker>[a-z])(?=-[A-Za-z]))?[-_. ]?")
_PREFIX_UNMARKED = re.compile(_PART + _NUMBER + r"[-_. ]?")
_CANDIDATE = re.compile(r"^(?:\d|[A-Za-z]\.\d|[A-Za-z]{1,2}\d+\.\d+\.)")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9+._-]*$")
_VERSION = re.compile(r"^(?:\d+(?:\.\d+)*|v\d+(?:\.\d+)+)(?:[a-z]+\d*)?$")
# What may follow a version and still belong to it: a date or patch level (ncurses-6.4-20230520)
# or a pre-release tag (3.0.0-rc1).
_VERSION_TAIL = re.compile(r"^(?:\d+|(?:rc|alpha|beta|pre|dev)\d*|git[0-9a-f]*)$")
_DOTS = str.maketrans("-_", "..")
_ARCHIVE = re.compile(r"\.(?:tar(?:\.\w+)?|tgz|tbz2?|txz|zip)$", re.I)
# The patterns below are compiled on first use (re caches them), not at import: a warm run that
# meets no tarball and no generic name never needs them.
# A tarball whose name glues the version to the package (tcl8.6.13-src, expect5.45.4): a dotted
# version is needed, so that python3 or m4 are not read as a name and a version.
_GLUED = r"^([a-z][a-z+]*?[a-z+])(\d+(?:\.\d+)+[a-z]?)$"
#: What a tarball's name may add after its version that is not part of the package's name.
_TARBALL_WORDS = frozenset({"src", "source", "sources"})
# A commit a snapshot tarball names after its version (systemd-257.3-6b4878d): not a name.
_COMMIT = r"^g?(?=[a-f]*\d)(?=\d*[a-f])[0-9a-f]{7,40}\Z"
#: Words that name no package: a script file named only so is named by what it builds (not
#: "make", a package of the book).
GENERIC_WORDS = frozenset({
    "build", "builder", "install", "compile", "script", "run", "main", "step", "stage",
    "package", "pkg", "doit", "setup", "task", "job", "all", "default", "unnamed",
    "untitled",
})
#: Words of a chapter or section label (``ch05``, ``c14.20.04``, ``section-3``).
_LABEL_WORDS = frozenset({
    "c", "ch", "chap", "chapter", "sec", "sect", "section", "part", "page",
})
_SEPARATORS = r"[-_. ]+"
# A literal file name: no expansion, glob, brace, tilde or white space (\Z: "$" would let a
# newline end it).
_LITERAL = r"^[^$`*?\[\]{}~\\\s]+\Z"


class FileName(NamedTuple):
    """A parsed file name (a named tuple: made once per file, ten times cheaper than a frozen
    dataclass).

    ``number`` is the ordering prefix without its separator (``"501"``, ``"6.48"``,
    ``"a.05.03"``, ``"107-1"``), ``marker`` jhalfs' BLFS letter, ``chapter`` the book chapter a
    dotted prefix names (``6.5`` is chapter 6), ``package`` what a ``-passN`` build provides.
    """

    name: str
    version: str | None = None
    number: str | None = None
    marker: str | None = None
    chapter: int | None = None
    package: str | None = None


def is_package_name(text: str) -> bool:
    """Whether ``text`` is spelled like a package (``binutils``, ``libstdc++``, ``xml-parser``)."""
    return bool(_PACKAGE.match(text))


def is_candidate(filename: str) -> bool:
    """Whether a file met while walking a tree is a build script: it is numbered (``01-x.sh``,
    ``501-binutils``, ``a.05.03.gcc.sh``) and is not a note, patch or archive."""
    return bool(_CANDIDATE.match(filename)) and not filename.lower().endswith(NOT_SCRIPTS)


def _stem(filename: str) -> tuple[str, bool]:
    """The name without ``.sh``/``.bash``, and whether it had none (as jhalfs names scripts)."""
    for suffix in SCRIPT_SUFFIXES:
        if filename.endswith(suffix) and len(filename) > len(suffix):
            return filename[: -len(suffix)], False
    return filename, True


def _prefix(stem: str, bare: bool) -> tuple[re.Match[str] | None, str]:
    match = _PREFIX.match(stem)
    if match is not None and match.group("marker") and not bare:
        match = _PREFIX_UNMARKED.match(stem)
    if match is None:
        return None, stem
    return match, stem[match.end():]


def _part(match: re.Match[str]) -> str:
    """The part letter of a prefix as written before its number (``a.``, ``c``), or ''."""
    if match.group("part"):
        return match.group("part") + "."
    return match.group("glued") or ""


def _chapter(match: re.Match[str]) -> int | None:
    """The book chapter of a dotted prefix (``6.5`` and ``a.05.03`` name chapters 6 and 5)."""
    number = match.group("number")
    if "." not in number or match.group("glued"):
        return None  # c09.05.03: a chapter of another book (BLFS), not LFS's chapter 9
    return int(number.split(".", 1)[0])


@lru_cache(maxsize=1 << 16)  # above the largest trees: discovery asks twice per file
def parse_filename(filename: str) -> FileName:
    """Parse a script's file name (see the module docstring); never raises."""
    stem, bare = _stem(filename)
    match, rest = _prefix(stem, bare)
    if match is not None and not rest:
        # a name that is only a number is kept whole
        return FileName(stem, number=stem, package=pass_base(stem))
    number = marker = None
    chapter = None
    if match is not None:
        number = _part(match) + match.group("number")
        marker = match.groupdict().get("marker")
        chapter = _chapter(match)
    if not is_package_name(rest):
        return FileName(rest, None, number, marker, chapter, pass_base(rest))
    name, version = split_package(rest.lower())
    return FileName(name, version, number, marker, chapter, pass_base(name))


def split_package(text: str) -> tuple[str, str | None]:
    """Split ``gcc-13.2.0-pass1`` into (``gcc-pass1``, ``13.2.0``); (text, None) without a
    version. Words after the version (``pass1``) stay with the name; a date or pre-release tag
    right after it (``-20230520``, ``-rc1``) belongs to the version. A tarball name
    (``cracklib-2.9.11.tar.xz``) loses its archive suffix first."""
    text = _ARCHIVE.sub("", text)
    sep = "-" if "-" in text else "_"
    tokens = text.split(sep)
    for i in range(1, len(tokens)):
        if _VERSION.match(tokens[i]):
            end = i + 1
            while end < len(tokens) and _VERSION_TAIL.match(tokens[end]):
                end += 1
            name = sep.join(tokens[:i] + tokens[end:]).strip(sep)
            if not name or not tokens[0]:
                break
            return name, "-".join(tokens[i:end]).removeprefix("v")
    return text, None


def is_archive(name: str) -> bool:
    """Whether a file name is a source archive (``gcc-13.2.0.tar.xz``, ``x.tgz``, ``y.zip``)."""
    return bool(_ARCHIVE.search(name))


@lru_cache(maxsize=4096)
def archive_package(path: str) -> tuple[str, str | None] | None:
    """The package and version a tarball's name gives (``../gcc-13.2.0.tar.xz``,
    ``https://example.invalid/Python-3.12.2.tar.xz``, ``tcl8.6.13-src.tar.gz``), lower-cased;
    None when it is no literal archive name or names no package."""
    base = path.rstrip("/").rsplit("/", 1)[-1]
    if not is_archive(base) or not re.match(_LITERAL, base):
        return None
    stem = _without_commit(_ARCHIVE.sub("", base).lower())
    name, version = split_package(stem)
    if version is None:
        name, version = _glued(stem)
    return (name, version) if is_package_name(name) else None


def _without_commit(stem: str) -> str:
    """``systemd-257.3-6b4878d`` as ``systemd-257.3``: a snapshot's commit after its version
    is neither name nor version."""
    tokens = stem.split("-")
    for i in range(1, len(tokens)):
        if _VERSION.match(tokens[i]):
            kept = [w for w in tokens[i + 1:] if not re.match(_COMMIT, w)]
            return "-".join(tokens[:i + 1] + kept)
    return stem


def _glued(stem: str) -> tuple[str, str | None]:
    """``tcl8.6.13-src`` as (``tcl``, ``8.6.13``): a tarball that glues its version on."""
    first, _, rest = stem.partition("-")
    match = re.match(_GLUED, first)
    if match is None:
        return stem, None
    words = [w for w in rest.split("-") if w and w not in _TARBALL_WORDS]
    return "-".join([match.group(1), *words]), match.group(2)


@lru_cache(maxsize=4096)
def directory_package(path: str) -> tuple[str, str] | None:
    """The package and version of the unpacked source directory a path leads into
    (``gcc-13.2.0``, ``$SRC/bash-5.2.21``, ``../linux-6.7.4/build``): its last literal part
    that is a package name with a version; None when there is none (``build``, ``$PKG``)."""
    for part in reversed(path.split("/")):
        if not part or not any(c.isdigit() for c in part) or not re.match(_LITERAL, part):
            continue
        name, version = split_package(part.lower())
        if version is not None and is_package_name(name):
            return name, version
    return None


@lru_cache(maxsize=4096)
def is_generic_name(name: str) -> bool:
    """Whether a script name taken from a file name names no package: only numbers
    (``01``, ``2-1``), a chapter or section label (``ch05``, ``c14.20.04``, ``a.05.03``,
    ``chapter-5``) or a generic word, alone or numbered (``build``, ``install``, ``step3``,
    ``stage-2``). Such a script is named by the package its content builds, if it names one."""
    words = [w for w in re.split(_SEPARATORS, name.lower()) if w]
    if not words:
        return False
    first = words[0]
    if len(first) == 1 and first.isalpha() and len(words) > 1 and all(
            w.isdigit() for w in words[1:]):
        return True  # a part letter and a section: a.05.03
    for word in words:
        stripped = word.rstrip("0123456789")
        if not stripped or stripped in GENERIC_WORDS:
            continue
        # a lone "c" may be a package's name; "c14" is a chapter
        if stripped in _LABEL_WORDS and (stripped != word or len(word) > 1):
            continue
        return False
    return True


def order_key(name: str) -> tuple[object, ...]:
    """The sort key of a directory entry: numbered entries first, by their number compared as
    ``sort -V`` does (``6.5`` before ``6.48``, ``107`` before its insertion ``107-1``), then by
    jhalfs marker (``y`` before ``z``), then by name; other names after them, in ``sort -V``
    order."""
    stem, bare = _stem(name)
    match, rest = _prefix(stem, bare)
    if match is None or not rest:
        if match is not None:  # only a number: order by it
            return (0, version_key(stem.translate(_DOTS)), "", name)
        return (1, version_key(name))
    number = match.group("number").translate(_DOTS)
    if match.group("part"):
        number = match.group("part") + "." + number
    elif match.group("glued"):
        number = match.group("glued") + number
    return (0, version_key(number), match.groupdict().get("marker") or "", name)
