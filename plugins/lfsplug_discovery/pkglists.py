"""Package lists beside the scripts: the versions a tree keeps in one place.

Hand-written LFS and BLFS trees often say which version of each package they build once, in a
file beside the scripts, rather than in every script:

* ``packages.sh``: shell assignments, ``GCC_VERSION=13.2.0``, ``export BINUTILS_VER=2.41``, or
  a tarball or its URL, ``PKG_GCC=https://example.invalid/gcc-13.2.0.tar.xz`` (``$VAR``
  references to the file's own earlier assignments are expanded);
* ``packages.csv``: one package a row, with a header that names its columns (``name``,
  ``version``, ``url``...), or without one when the rows read ``name,version[,...]``;
* ``wget-list`` (also ``-sysv``, ``-systemd``), as the book ships it: one URL a line, the
  tarball's name gives the package and the version (patches are skipped);
* ``md5sums``, as the book ships it: ``<checksum>  <file>``, the file read as in a wget-list.

A directory's lists are read once per run (:func:`directory_packages`), and merged with its
parents' up to the tree's root, the nearest first (:func:`packages_near`); a script takes the
version they give its package (:func:`list_version`). A list that cannot be read, and a line
that cannot be, is a finding, never a traceback.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from typing import NamedTuple, Protocol

from lfsplug import Severity, expand_variables
from lfsplug_discovery.names import archive_package, is_archive, is_package_name, split_package

__all__ = ["LIST_FILES", "MAX_SIZE", "Note", "Packages", "directory_packages", "list_version",
           "packages_near", "parse_package_list", "read_package_list"]

#: The package lists looked for in each directory; when two name a package, the first wins.
LIST_FILES = ("packages.sh", "packages.csv", "wget-list", "wget-list-sysv",
              "wget-list-systemd", "md5sums")
#: A bigger file is no package list (the book's wget-list is about 10 KB).
MAX_SIZE = 1 << 20
#: package -> (version, list file, line)
Packages = dict[str, tuple[str, str, int]]


class Note(Protocol):
    """How findings are reported (:meth:`.layouts.DiscoveryState.note` is one)."""

    def __call__(self, code: str, severity: Severity, message: str, path: str | None, *,
                 line: int | None = None) -> None: ...


# Patterns are compiled on first use (re caches them): most trees have no package list, and a
# warm run should not pay for what it does not read.
_ASSIGN = (r"""^\s*(?:(?:export|readonly|declare\s+-x)\s+)?([A-Za-z_][A-Za-z0-9_]*)="""
           r"""(?:"([^"`\\]*)"|'([^']*)'|([^\s"'`\\;&|<>()#]+))\s*(?:[;#].*)?$""")
_VERSION_SUFFIX = r"(?i)_(?:VERSION|VER)$"
_NAME_PREFIX = r"(?i)^(?:PKG|PACKAGE)_"
_VERSION = r"^v?\d[\w.+~-]*$"
_CHECKSUM = r"^([0-9a-fA-F]{32,128})\s+\*?(\S.*)$"
_NAME_COLUMNS = ("name", "package", "pkg", "pkgname", "package_name", "package name")
_VERSION_COLUMNS = ("version", "ver", "pkgver", "package_version", "package version")
_URL_COLUMNS = ("url", "source", "tarball", "file", "archive", "download", "link")


class Entry(NamedTuple):
    """One package a list names, at its line."""

    package: str
    version: str
    line: int


class Problem(NamedTuple):
    """A line of a list that could not be read, and why."""

    line: int
    message: str


Parsed = tuple[list[Entry], list[Problem]]


def packages_near(directory: str, root: str, known: dict[str, Packages],
                  note: Note) -> Packages:
    """What the package lists of ``directory`` and of its parents up to ``root`` say, the
    nearest list first. Worked out once per directory per run (``known`` keeps it, merged,
    so that a script costs one look-up): each list is read once, and its errors reported
    whichever script needs it."""
    found = known.get(directory)
    if found is not None:
        return found
    own = directory_packages(directory, note)
    root = root.rstrip(os.sep) or os.sep
    parent = os.path.dirname(directory)
    above: Packages = {}
    if directory not in (root, parent) and (parent == root or parent.startswith(root + os.sep)):
        above = packages_near(parent, root, known, note)
    merged = {**above, **own} if above and own else own or above
    known[directory] = merged
    return merged


def list_version(names: Iterable[str], packages: Packages) -> tuple[str, str, int] | None:
    """The version, list and line ``packages`` give the first of ``names`` they name."""
    for name in names:
        # Python's tarballs write flit_core where the book and the scripts write flit-core.
        for spelling in (name, name.replace("_", "-"), name.replace("-", "_")):
            found = packages.get(spelling)
            if found is not None:
                return found
    return None


def directory_packages(directory: str, note: Note) -> Packages:
    """What the package lists of ``directory`` say: package -> (version, list, line)."""
    found: Packages = {}
    for name in LIST_FILES:
        path = os.path.join(directory, name)
        for entry in read_package_list(path, note):
            found.setdefault(entry.package, (entry.version, path, entry.line))
    return found


def read_package_list(path: str, note: Note) -> list[Entry]:
    """The packages one list names (its kind from its file name); problems are noted. A list
    that does not exist is no list: nothing, quietly."""
    text = _read(path, note)
    if text is None:
        return []
    entries, problems = parse_package_list(os.path.basename(path), text)
    for problem in problems:
        note("DISC061", Severity.WARNING, f"{problem.message}: this line is ignored", path,
             line=problem.line)
    return _first_versions(entries, path, note)


def parse_package_list(name: str, text: str) -> Parsed:
    """The entries and problems of a package list's text; ``name`` (its file name) says its
    kind: ``packages.sh``, ``packages.csv``, a ``wget-list``, ``md5sums``."""
    if name.endswith(".sh"):
        return _shell_list(text)
    if name.endswith(".csv"):
        return _csv_list(text)
    if name.startswith("md5sums"):
        return _checksum_list(text)
    return _url_list(text)


def _read(path: str, note: Note) -> str | None:
    """The text of a list, or None: quietly when there is no such file (most directories),
    with a finding when it cannot be read or is no text."""
    data = why = None
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_SIZE + 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    except OSError as exc:
        why = exc.strerror or str(exc)
    if data is not None and len(data) > MAX_SIZE:
        why = "it is over 1 MB"
    elif data is not None and b"\0" in data[:8192]:
        why = "it is a binary file"
    if why is not None or data is None:
        note("DISC060", Severity.WARNING, f"cannot read this package list: {why}; it is "
             "ignored", path)
        return None
    return data.decode("utf-8", errors="replace")


def _first_versions(entries: list[Entry], path: str, note: Note) -> list[Entry]:
    """The entries, each package once: a later line that gives it another version is a
    finding (the first one stands)."""
    seen: dict[str, Entry] = {}
    for entry in entries:
        first = seen.setdefault(entry.package, entry)
        if first.version != entry.version:
            note("DISC062", Severity.WARNING, f"{entry.package} {entry.version} here, but "
                 f"{first.version} at line {first.line}: {first.version} is used", path,
                 line=entry.line)
    return list(seen.values())


def _lines(text: str) -> Iterable[tuple[int, str]]:
    """The lines worth reading, numbered: not blank, not a comment."""
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped


# -- packages.sh -----------------------------------------------------------------------------


def _shell_list(text: str) -> Parsed:
    """Assignments that give a package's version; any other line is shell, not a problem."""
    values: dict[str, str] = {}
    entries: list[Entry] = []
    for number, line in _lines(text):
        if "=" not in line:
            continue
        match = re.match(_ASSIGN, line)
        if match is None:
            continue
        variable, double, single, bare = match.groups()
        value = _expanded(double if double is not None else single if single is not None
                          else bare, values)
        if value is None or not value or any(c.isspace() for c in value):
            continue
        values[variable] = value
        found = _assigned_package(variable, value)
        if found is not None:
            entries.append(Entry(*found, number))
    return entries, []


def _expanded(value: str, values: dict[str, str]) -> str | None:
    """``value`` with ``$VAR``/``${VAR}`` of earlier assignments replaced; None when it
    refers to anything else (``$(...)``, an unknown variable)."""
    if "$" not in value:
        return value
    expanded = expand_variables(value, values.get)
    return None if "$" in expanded else expanded


def _assigned_package(variable: str, value: str) -> tuple[str, str] | None:
    """The package and version one assignment gives: a tarball or URL
    (``PKG_GCC=.../gcc-13.2.0.tar.xz``), a ``*_VERSION``/``*_VER`` variable
    (``GCC_VERSION=13.2.0``), or a name and version under the package's own variable
    (``GCC=gcc-13.2.0``)."""
    if is_archive(value):
        found = archive_package(value)
        return (found[0], found[1]) if found is not None and found[1] is not None else None
    stem = re.sub(_VERSION_SUFFIX, "", variable)
    if stem != variable and re.match(_VERSION, value):
        package = re.sub(_NAME_PREFIX, "", stem).lower().replace("_", "-")
        return (package, value.removeprefix("v")) if is_package_name(package) else None
    name, version = split_package(value.rsplit("/", 1)[-1].lower())
    if version is not None and is_package_name(name) and name in variable.lower().replace(
            "_", "-"):
        return name, version
    return None


# -- packages.csv ----------------------------------------------------------------------------


class _Columns(NamedTuple):
    name: int | None
    version: int | None
    url: int | None


def _csv_list(text: str) -> Parsed:
    """Rows of name, version and URL, in the columns its header names (or name,version)."""
    import csv

    rows = list(_lines(text))
    if not rows:
        return [], []
    delimiter = max(",;\t", key=rows[0][1].count)
    # One line at a time: a stray quote must not swallow the rows after it.
    cells = [next(csv.reader([line], delimiter=delimiter), []) for _, line in rows]
    columns = _header(cells[0])
    if columns is not None:
        rows, cells = rows[1:], cells[1:]
    else:
        columns = _guessed_columns(cells[0])
    if columns is None:
        return [], [Problem(rows[0][0], "cannot tell the columns of this list: give it a "
                            "header (name,version,url)")]
    entries, problems = [], []
    for (number, _), row in zip(rows, cells, strict=True):
        found = _row(row, columns)
        if isinstance(found, str):
            problems.append(Problem(number, found))
        else:
            entries.append(Entry(*found, number))
    return entries, problems


def _header(cells: list[str]) -> _Columns | None:
    """The columns a header row names, or None when the row is no header."""
    lowered = [c.strip().lower() for c in cells]

    def index(names: tuple[str, ...]) -> int | None:
        return next((i for i, c in enumerate(lowered) if c in names), None)

    columns = _Columns(index(_NAME_COLUMNS), index(_VERSION_COLUMNS), index(_URL_COLUMNS))
    if columns.url is None and (columns.name is None or columns.version is None):
        return None
    return columns


def _guessed_columns(cells: list[str]) -> _Columns | None:
    """Columns of a list without a header: name,version[,...], or a tarball's URL."""
    stripped = [c.strip() for c in cells]
    if len(stripped) >= 2 and is_package_name(stripped[0]) and re.match(_VERSION, stripped[1]):
        url = next((i for i, c in enumerate(stripped) if is_archive(c)), None)
        return _Columns(0, 1, url)
    url = next((i for i, c in enumerate(stripped) if is_archive(c)), None)
    return _Columns(None, None, url) if url is not None else None


def _row(cells: list[str], columns: _Columns) -> tuple[str, str] | str:
    """A row's package and version, or why it has none."""
    def cell(index: int | None) -> str:
        return cells[index].strip() if index is not None and index < len(cells) else ""

    name, version, url = cell(columns.name).lower(), cell(columns.version), cell(columns.url)
    from_url = archive_package(url) if url else None
    if not name and from_url is not None:
        name = from_url[0]
    if not version and from_url is not None and from_url[1] is not None:
        version = from_url[1]
    if not is_package_name(name):
        return f"{name!r} is not a package name" if name else "no package name in this row"
    if not re.match(_VERSION, version):
        return f"{version!r} is not a version" if version else f"no version for {name}"
    return name, version.removeprefix("v")


# -- wget-list, md5sums ----------------------------------------------------------------------


def _url_list(text: str) -> Parsed:
    """One URL (or file name) a line; the tarballs among them give packages."""
    entries, problems = [], []
    for number, line in _lines(text):
        url = line.split(" #", 1)[0].strip()
        if len(url.split(maxsplit=1)) > 1:
            problems.append(Problem(number, "not one URL or file name"))
            continue
        found = _tarball(url)
        if found is not None:
            entries.append(Entry(*found, number))
    return entries, problems


def _checksum_list(text: str) -> Parsed:
    """``<checksum>  <file>`` lines; the tarballs among the files give packages."""
    entries, problems = [], []
    for number, line in _lines(text):
        match = re.match(_CHECKSUM, line)
        if match is None:
            problems.append(Problem(number, "not '<checksum>  <file>'"))
            continue
        found = _tarball(match.group(2).strip())
        if found is not None:
            entries.append(Entry(*found, number))
    return entries, problems


def _tarball(path: str) -> tuple[str, str] | None:
    """The package and version of a tarball's name; None for a patch or another file."""
    found = archive_package(path) if is_archive(path) else None
    if found is None or found[1] is None:
        return None
    return found[0], found[1]
