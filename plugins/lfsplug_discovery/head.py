"""The head of a script: one read of its first lines, and what they say.

Discovery reads each file once, at most its first :data:`HEADER_LINES` lines (a few KB), and
everything it learns from the content comes from that read: whether the file is a script at all
(binary, empty, unreadable), its shebang, the ``# lfsplug:`` header, the variables that name the
package and its version (jhalfs' ``PACKAGE=`` / ``VERSION=``, hand-written ``PKG=``,
``PKGVER=``...), and the first tarball the script unpacks and the first source directory it
enters (``tar xf gcc-13.2.0.tar.xz``, ``cd gcc-13.2.0``). Comments and assignments are read
with string searches; commands with tree-sitter-bash, and only in the heads where a search
found a candidate (most jhalfs scriptlets have none). No subprocess.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, NamedTuple

from lfsplug_discovery.names import (
    archive_package,
    directory_package,
    is_archive,
    is_package_name,
    split_package,
)

if TYPE_CHECKING:
    from tree_sitter import Node, Query, Tree

__all__ = [
    "HEADER_LINES",
    "NAME_VARIABLES",
    "VARIABLES",
    "VERSION_VARIABLES",
    "Head",
    "Mention",
    "content_mentions",
    "parse_header",
    "read_head",
    "shell_variables",
    "unpack_commands",
    "wrong_interpreter",
]

HEADER_LINES = 50
BLOCK = 8192
#: Never read more than this, however long the first lines are.
MAX_HEAD = 65536
_HEADER = re.compile(r"^\s*#\s*lfsplug:\s?(.*)$")
# A key starts the line or follows white space that does not follow a comma, so that
# "depends=a, glibc=2.39" is one list, not a key "glibc".
_KEY = re.compile(r"(?:^|(?<=[^,\s])\s+)([A-Za-z_][A-Za-z0-9_-]*)=")
# A literal assignment: quoted without expansions, or a bare word. "VERSION=$(...)" is not one.
# Matched from the start of its statement (a line, or what follows a ";"), hence no "^".
_ASSIGN = re.compile(
    r"""[ \t]*(?:(?:export|readonly|local|declare[ \t]+-x)[ \t]+)?([A-Za-z_][A-Za-z0-9_]*)="""
    r"""(?:"([^"$`\\]*)"|'([^']*)'|([^\s"'$`\\;&|<>()#]+))[ \t]*(?:[;#].*)?$"""
)
#: Variables whose value names the package a script builds, maybe with its version or as a
#: tarball (``PKG=gcc-13.2.0``, ``PACKAGE=cracklib-2.10.3.tar.xz``); the last three are too
#: common a word to count unless the value carries a version or is a tarball.
NAME_VARIABLES = ("PACKAGE", "PKG", "PKGNAME", "PKG_NAME", "PACKAGE_NAME", "pkgname", "NAME",
                  "P", "TARBALL")
LOOSE_NAME_VARIABLES = frozenset({"NAME", "P", "TARBALL"})
#: Variables whose value is the version of the package a script builds.
VERSION_VARIABLES = ("VERSION", "PKGVER", "PKG_VER", "PKG_VERSION", "PACKAGE_VERSION", "VER",
                     "pkgver")
VARIABLES = NAME_VARIABLES + VERSION_VARIABLES
#: What marks a tarball's name in a head: searched for before anything is parsed.
_ARCHIVE_MARKS = (".tar", ".tgz", ".tbz", ".txz")
#: Characters that end the file name a tarball mark belongs to, looking back.
_NAME_START = " \t\n/\"'=<"
#: What may stand right before a command word (so that "abcd " is not a cd).
_COMMAND_START = " \t\n;&|({`"
_DIRECTORY_COMMANDS = ("cd", "pushd")
_TAR_COMMANDS = frozenset({"tar", "bsdtar", "gtar"})
#: Characters beyond the BMP (four bytes in UTF-8); a pattern compiled on first use.
_ASTRAL = "[\U00010000-\U0010ffff]"
#: Interpreters that run a script the way the executor does (``bash FILE``).
BASH_LIKE = frozenset({"bash", "sh"})


@dataclass(slots=True)
class Head:
    """The first lines of a file, decoded (leniently when not UTF-8), and what reading found.

    ``error`` says why the file could not be read; ``binary`` that it has a NUL byte in its first
    block; ``empty`` that it has no content; ``utf8`` whether the lines decoded cleanly.
    """

    lines: list[str] = field(default_factory=list)
    #: the same lines joined by newlines, for whole-text searches (one regex pass, not fifty)
    text: str = ""
    empty: bool = False
    binary: bool = False
    utf8: bool = True
    error: str | None = None

    @property
    def shebang(self) -> str | None:
        """The ``#!`` line, or None."""
        first = self.lines[0] if self.lines else ""
        return first if first.startswith("#!") else None

    @property
    def bom(self) -> bool:
        """Whether the file starts with a UTF-8 byte-order mark (bash reads it as a command)."""
        return bool(self.lines) and self.lines[0].startswith("\ufeff")


def read_head(path: str) -> Head:
    """Read the first lines of ``path`` with one open and as few reads as it takes."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return Head(error=exc.strerror or str(exc))
    try:
        data = more = os.read(fd, BLOCK)
        # Long first lines (a heredoc, a long configure line) may need more than one block; a
        # short read is the end of a regular file, so small scripts take one read, not two.
        while len(more) == BLOCK and len(data) < MAX_HEAD and data.count(b"\n") < HEADER_LINES:
            more = os.read(fd, BLOCK)
            data += more
    except OSError as exc:
        return Head(error=exc.strerror or str(exc))
    finally:
        os.close(fd)
    if not data:
        return Head(empty=True)
    if b"\0" in data[:BLOCK]:
        return Head(binary=True)
    return _decode(data)


def _decode(data: bytes) -> Head:
    raw = data.split(b"\n", HEADER_LINES)
    if len(raw) > HEADER_LINES:
        raw.pop()  # the rest of the file
    elif raw[-1] == b"":
        raw.pop()  # the end of the last line
    text = b"\n".join(raw)
    utf8 = True
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        utf8 = False
        decoded = text.decode("utf-8", errors="replace")
    if "\r" in decoded:  # CRLF line ends: the lines, not bash, should not see them
        decoded = decoded.replace("\r\n", "\n")
    return Head(decoded.split("\n"), decoded, utf8=utf8)


def parse_header(lines: list[str]) -> tuple[dict[str, str], dict[str, int]]:
    """The ``key=value`` pairs of every ``# lfsplug:`` line, with the line each came from.

    A value runs up to the next `` key=`` on the line, so lists may have spaces after commas
    (``depends=a, b>=1 provides=c``). A key repeated on a later line overrides.
    """
    values: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, line in enumerate(lines[:HEADER_LINES], 1):
        if "lfsplug:" not in line:
            continue
        match = _HEADER.match(line)
        if match is None:
            continue
        body = match.group(1)
        keys = list(_KEY.finditer(body))
        for i, key in enumerate(keys):
            end = keys[i + 1].start() if i + 1 < len(keys) else len(body)
            name = key.group(1).lower()
            values[name] = body[key.end():end].strip()
            where[name] = number
    return values, where


def shell_variables(text: str,
                    names: tuple[str, ...] = VARIABLES) -> dict[str, tuple[str, int]]:
    """The first literal assignment to each of ``names`` in ``text`` (by default every
    variable that names a package or its version), with its line.

    jhalfs scriptlets and many hand-written scripts set them near the top (``PACKAGE=binutils``,
    ``export VERSION="2.44"``, ``PKGNAME=gcc; PKGVER=13.2.0``); an assignment with an expansion
    (``VERSION=$(cat v)``) says nothing certain, so it is not read.
    """
    found: dict[str, tuple[str, int]] = {}
    for variable in names:
        # Find the assignment by its text, then match its one statement: a regex over the
        # whole head for every script costs more than the rest of discovery.
        needle = variable + "="
        at = text.find(needle)
        while at != -1:
            value = _assignment(text, at, variable)
            if value is not None:
                found[variable] = value
                break
            at = text.find(needle, at + 1)
    return found


def _assignment(text: str, at: int, variable: str) -> tuple[str, int] | None:
    """The literal value assigned to ``variable`` at offset ``at`` of ``text``, and its line;
    None when ``at`` is no such assignment (``TMP=`` for ``P=``, a ``$(...)`` value)."""
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    line = text[start:] if end == -1 else text[start:end]
    offset = at - start
    match = _ASSIGN.match(line, line.rfind(";", 0, offset) + 1)
    if match is None or match.group(1) != variable or match.start(1) != offset:
        return None
    _, double, single, bare = match.groups()
    value = double if double is not None else single if single is not None else bare
    if len(value.split()) != 1:
        return None
    return value.strip(), text.count("\n", 0, start) + 1


class Mention(NamedTuple):
    """A package a script's content names: how (``variable``, ``tarball`` or ``directory``),
    the source as ``--why`` shows it (``variable PKG=``, ``tarball ../gcc-13.2.0.tar.xz``,
    ``cd into gcc-13.2.0``), the package, its version if given, and the line."""

    kind: str
    source: str
    package: str
    version: str | None
    line: int


def content_mentions(variables: dict[str, tuple[str, int]],
                     commands: dict[str, tuple[str, int]]) -> list[Mention]:
    """The packages a head names, in the order they count: the first package variable
    (by line), the first tarball unpacked, the first source directory entered (``commands``:
    :func:`unpack_commands`). Worked out once, when the head is read, and cached."""
    found: list[Mention] = []
    variable = _name_variable(variables)
    if variable is not None:
        found.append(variable)
    if "tar" in commands:
        archive, line = commands["tar"]
        package = archive_package(archive)
        if package is not None:
            found.append(Mention("tarball", f"tarball {archive}", *package, line))
    for word in _DIRECTORY_COMMANDS:
        if word in commands:
            directory, line = commands[word]
            entered = directory_package(directory)
            if entered is not None:
                found.append(Mention("directory", f"{word} into {directory}", *entered, line))
    return found


def _name_variable(variables: dict[str, tuple[str, int]]) -> Mention | None:
    """The first assignment that names a package (``PKG=gcc-13.2.0``, ``PACKAGE=binutils``);
    ``NAME=``, ``P=`` and ``TARBALL=`` count only with a version or a tarball."""
    best: Mention | None = None
    for variable in NAME_VARIABLES:
        if variable not in variables:
            continue
        value, line = variables[variable]
        package = _named(value, loose=variable in LOOSE_NAME_VARIABLES)
        if package is not None and (best is None or line < best.line):
            best = Mention("variable", f"variable {variable}=", *package, line)
    return best


def _named(value: str, loose: bool) -> tuple[str, str | None] | None:
    """The package and version a variable's value names: a name (``binutils``), a name and
    version (``proftpd-1.3.8b``), a tarball or its URL."""
    base = value.rstrip("/").rsplit("/", 1)[-1]
    if is_archive(base):
        return archive_package(base)
    name, version = split_package(base.lower())
    if not is_package_name(name) or (loose and version is None):
        return None
    return name, version


def unpack_commands(text: str) -> dict[str, tuple[str, int]]:
    """What a script's first commands say it builds: ``"tar"``, the archive its first tar
    extraction unpacks when that is a literal name (``tar -xJf ../gcc-13.2.0.tar.xz``,
    ``xzcat $SRC/x-1.0.tar.xz | tar xf -``), and ``"cd"`` (or ``"pushd"``), the first
    directory it enters that is an unpacked source (``cd $SRC/bash-5.2.21``), each as written
    (quotes removed) with its line.

    String searches rule out most heads (jhalfs' ``cd $PKGDIR``, ``tar xf $PKG.tar.xz``);
    the others are parsed with tree-sitter-bash, so that a comment, a heredoc or an ``echo``
    that only mentions a tarball counts for nothing.
    """
    tar, enter = _tar_candidate(text), _directory_candidate(text)
    if not (tar or enter):
        return {}
    from lfsplug_shell import parse

    if not text.isascii():
        # tree-sitter-bash 0.25 may crash (a segmentation fault) on "{" before a character of
        # the upper planes (U+30000 and above): replace every character beyond the BMP, byte
        # for byte, so that lines and offsets stay; no tarball or directory is named with them.
        text = re.sub(_ASTRAL, "____", text)
    found: dict[str, tuple[str, int]] = {}
    for command in _commands(parse(text.encode("utf-8"))):
        name = _command_name(command)
        if tar and name in _TAR_COMMANDS and _extracting(_arguments(command)):
            tar = False  # only the first extraction: gcc's unpacks mpfr and gmp after gcc
            archive = _extracted(command)
            if archive is not None:
                found["tar"] = archive
        elif enter and name in _DIRECTORY_COMMANDS:
            directory = _entered(command)
            if directory is not None:
                found[name] = directory
                enter = False
        if not (tar or enter):
            break
    return found


def _tar_candidate(text: str) -> bool:
    """Whether ``text`` names a tarball literally somewhere (a cheap test before parsing)."""
    for mark in _ARCHIVE_MARKS:
        at = text.find(mark)
        while at != -1:
            start = max(text.rfind(c, 0, at) for c in _NAME_START) + 1
            if start < at and "$" not in text[start:at] and "`" not in text[start:at]:
                return True
            at = text.find(mark, at + 1)
    return False


def _directory_candidate(text: str) -> bool:
    """Whether ``text`` has a ``cd`` or ``pushd`` into a literal versioned directory."""
    for word in _DIRECTORY_COMMANDS:
        at = text.find(word + " ")
        while at != -1:
            if at == 0 or text[at - 1] in _COMMAND_START:
                end = text.find("\n", at)
                words = text[at:end if end != -1 else len(text)].split()[1:]
                target = next((w for w in words if not w.startswith(("-", "+"))), "")
                if directory_package(target.replace('"', "").replace("'", "")) is not None:
                    return True
            at = text.find(word + " ", at + 1)
    return False


@cache
def _command_query() -> Query:
    from tree_sitter import Query

    from lfsplug_shell import parser

    language = parser().language
    assert language is not None  # the parser is made with the bash grammar
    return Query(language, "(command name: (command_name) @name) @command")


def _commands(tree: Tree) -> list[Node]:
    """The simple commands of a syntax tree, in source order."""
    from tree_sitter import QueryCursor

    found = QueryCursor(_command_query()).captures(tree.root_node).get("command", [])
    return sorted(found, key=lambda node: node.start_byte)


def _command_name(command: Node) -> str:
    name = command.child_by_field_name("name")
    return _word(name).rsplit("/", 1)[-1] if name is not None else ""


def _word(node: Node) -> str:
    """A word as the command sees it, near enough: its text without quotes."""
    data = node.text or b""
    return data.decode("utf-8", errors="replace").replace('"', "").replace("'", "")


def _arguments(command: Node) -> list[Node]:
    return command.children_by_field_name("argument")


def _extracting(arguments: list[Node]) -> bool:
    """Whether tar's arguments ask for an extraction (``xf``, ``-xJf``, ``--extract``)."""
    for i, node in enumerate(arguments):
        arg = _word(node)
        if arg in ("--extract", "--get"):
            return True
        # old-style options are bundled in the first word, without a dash (tar xvf)
        bundle = arg[1:] if arg.startswith("-") and not arg.startswith("--") else (
            arg if i == 0 else "")
        if bundle.isalpha() and "x" in bundle:
            return True
    return False


def _extracted(command: Node) -> tuple[str, int] | None:
    """The literal archive a tar extraction unpacks, from its arguments or from the command
    that pipes it in (``xzcat x-1.0.tar.xz | tar xf -``); None when it is not literal."""
    candidates = [command]
    parent = command.parent
    if parent is not None and parent.type == "pipeline":
        candidates += [_body(c) for c in parent.named_children
                       if c.end_byte <= command.start_byte]
    for candidate in candidates:
        for node in _arguments(candidate) if candidate.type == "command" else []:
            arg = _word(node).removeprefix("--file=")
            if is_archive(arg):
                if archive_package(arg) is None:
                    return None  # $PKG.tar.xz: the first archive is not a literal name
                return arg, node.start_point[0] + 1
    return None


def _body(node: Node) -> Node:
    """The command of a redirected one (``xzcat x.tar.xz 2>/dev/null``), else ``node``."""
    body = node.child_by_field_name("body") if node.type == "redirected_statement" else None
    return body if body is not None else node


def _entered(command: Node) -> tuple[str, int] | None:
    """The versioned source directory a ``cd``/``pushd`` enters, as written, with its line."""
    for node in _arguments(command):
        arg = _word(node)
        if arg.startswith(("-", "+")):
            continue  # cd -P, pushd +1
        if directory_package(arg) is None:
            return None
        return arg, node.start_point[0] + 1
    return None


def wrong_interpreter(shebang: str) -> str | None:
    """The interpreter a ``#!`` line names when it is not bash or sh (``python3``), else None.

    ``#!/usr/bin/env bash``, ``#!/tools/bin/bash -e`` and ``#!/bin/sh`` are fine, since the
    executor runs every script with bash whatever its first line says.
    """
    words = shebang[2:].split()
    if not words:
        return "nothing"
    program = words[0].rsplit("/", 1)[-1]
    if program == "env":
        rest = [w for w in words[1:] if not w.startswith("-") and "=" not in w]
        program = rest[0].rsplit("/", 1)[-1] if rest else "env"
    return None if program in BASH_LIKE else program
