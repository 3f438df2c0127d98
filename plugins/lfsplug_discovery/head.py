"""The head of a script: one read of its first lines, and what they say.

Discovery reads each file once, at most its first :data:`HEADER_LINES` lines (a few KB), and
everything it learns from the content comes from that read: whether the file is a script at all
(binary, empty, unreadable), its shebang, the ``# lfsplug:`` header and the ``PACKAGE=`` /
``VERSION=`` variables jhalfs scriptlets set. Metadata lives in comments and simple assignments
by design (STYLE.md): no bash parser, no subprocess.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

__all__ = [
    "HEADER_LINES",
    "Head",
    "parse_header",
    "read_head",
    "shell_variables",
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
_ASSIGN = re.compile(
    r"""^[ \t]*(?:(?:export|readonly|local|declare[ \t]+-x)[ \t]+)?(PACKAGE|VERSION)="""
    r"""(?:"([^"$`\\]*)"|'([^']*)'|([^\s"'$`\\;&|<>()#]+))[ \t]*(?:[;#].*)?$"""
)
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


def shell_variables(text: str) -> dict[str, tuple[str, int]]:
    """The first literal ``PACKAGE=`` and ``VERSION=`` assignments in ``text``, with their lines.

    jhalfs scriptlets and many hand-written scripts set them near the top (``PACKAGE=binutils``,
    ``export VERSION="2.44"``); an assignment with an expansion (``VERSION=$(cat v)``) says
    nothing certain, so it is not read.
    """
    found: dict[str, tuple[str, int]] = {}
    for variable in ("PACKAGE", "VERSION"):
        # Find the assignment by its text, then match its one line: a regex over the whole
        # head for every script costs more than the rest of discovery.
        at = text.find(variable + "=")
        while at != -1:
            start = text.rfind("\n", 0, at) + 1
            end = text.find("\n", at)
            match = _ASSIGN.match(text[start:] if end == -1 else text[start:end])
            if match is not None and match.group(1) == variable:
                _, double, single, bare = match.groups()
                value = double if double is not None else single if single is not None else bare
                if len(value.split()) == 1:
                    found[variable] = (value.strip(), text.count("\n", 0, start) + 1)
                    break
            at = text.find(variable + "=", at + 1)
    return found


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
