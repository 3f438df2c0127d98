"""Which lines lint reads closely: the ones where some rule could fire.

Splitting a logical line into commands is lint's costliest step, and most lines of a build script
(``./configure ...``, ``sed -i ...``, ``install ...``) can trip no rule, so the text is searched
first (with ``str.find``, many times faster than a regular expression of words) and only the
lines some rule needs are split: ``set``/``shopt``/``trap`` lines always (they change what the
others mean), ``tee`` lines, ``cd`` and ``||`` only when ``set -e`` does not hold from the top,
``make`` only with a ``-j``, and assignments only where source files or ``MAKEFLAGS`` are named.
(``read`` and ``select``, LFS002, are read from the syntax tree: :mod:`.interactive`.)
"""

from __future__ import annotations

import re

from lfsplug_validation.shellread import LogicalLine, ScriptText, logical_line

__all__ = ["lines_of_interest", "shebang_errexit", "word_offsets"]

_ERREXIT_SHEBANG = re.compile(r"\s-[a-zA-Z]*e[a-zA-Z]*(?:\s|$)")
#: Words that make a line worth reading (in the masked text, so never inside quotes).
ALWAYS_WORDS = ("set", "shopt", "trap")
UNCHECKED_WORDS = ("cd", "pushd", "||")
#: After ``set``: options that turn errexit on, or off.
_ERREXIT_ON = re.compile(r"[ \t]+(?:-[a-zA-Z]*e[a-zA-Z]*|-o[ \t]+errexit)(?!\S)")
_ERREXIT_OFF = re.compile(r"[ \t]+(?:\+[a-zA-Z]*e|\+o[ \t]+errexit)")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$-")
_ASSIGNED = re.compile(r"[A-Za-z_]\w*(?:\[[^\]\n]*\])?\+?$")
#: A source file's extension (in the raw text: a tarball may be named inside quotes).
_SOURCE_HINT = re.compile(r"\.(?:tar|tgz|tbz|txz|tlz|zip|patch)\b")


def shebang_errexit(parsed: ScriptText) -> bool:
    """Whether the #! line turns errexit on (``#!/bin/bash -e``)."""
    first = parsed.first_line
    return first.startswith("#!") and _ERREXIT_SHEBANG.search(first[2:]) is not None


def word_offsets(masked: str, word: str, before: int = -1) -> list[int]:
    """Where ``word`` stands as a word of its own in ``masked`` (before offset ``before``)."""
    found: list[int] = []
    size = len(masked)
    start = masked.find(word, 0, before if before >= 0 else size)
    while start >= 0:
        end = start + len(word)
        if word == "||" or ((not start or masked[start - 1] not in _WORD_CHARS)
                            and (end == size or masked[end] not in _WORD_CHARS)):
            found.append(start)
        start = masked.find(word, end, before if before >= 0 else size)
    return found


def _assignment_offsets(masked: str) -> list[int]:
    """Where an assignment (``NAME=``, ``a[1]+=``) starts a word in ``masked``."""
    found = []
    start = masked.find("=")
    while start >= 0:
        line_start = max(masked.rfind("\n", 0, start), masked.rfind(" ", 0, start),
                         masked.rfind("\t", 0, start), masked.rfind(";", 0, start)) + 1
        if _ASSIGNED.match(masked, line_start, start):
            found.append(line_start)
        start = masked.find("=", start + 1)
    return found


def _errexit_throughout(parsed: ScriptText) -> bool:
    """Whether ``set -e`` (or the shebang) holds before any ``cd`` or ``||`` and is never undone.

    Then LFS004 and LFS007 cannot fire, and the lines they look at need no reading. (An
    approximation that errs towards reading: the rules themselves track the options exactly.)
    """
    masked = parsed.masked
    sets = word_offsets(masked, "set") if "set" in masked else []
    if any(_ERREXIT_OFF.match(masked, offset + 3) for offset in sets):
        return False
    if shebang_errexit(parsed):
        return True
    first = next((o for o in sets if _ERREXIT_ON.match(masked, o + 3)), None)
    if first is None:
        return False
    return not any(word_offsets(masked, w, before=first) for w in UNCHECKED_WORDS)


def lines_of_interest(parsed: ScriptText) -> list[LogicalLine]:
    """The logical lines some rule needs as commands, in order (most lines need none).

    Splitting lines into commands is lint's costliest step, so a line is read only when a rule
    could fire on it: ``set``/``trap`` lines always (they change what the others mean), ``cd``
    and ``||`` only without ``set -e``, ``make`` only with a ``-j``, assignments only for the
    source files they may name, and so on.
    """
    masked = parsed.masked
    words = list(ALWAYS_WORDS)
    if "tee" in masked:
        words.append("tee")
    if not _errexit_throughout(parsed):
        words += UNCHECKED_WORDS
    offsets = []
    for word in words:
        if word in masked:
            offsets += word_offsets(masked, word)
    for word in ("make", "gmake"):
        for offset in word_offsets(masked, word) if word in masked else ():
            end = masked.find("\n", offset)
            if "-j" in masked[offset:end if end >= 0 else len(masked)]:
                offsets.append(offset)
    sources = [m.start() for m in _SOURCE_HINT.finditer(parsed.raw)]
    if sources or "MAKEFLAGS" in masked or "PACKAGE" in masked:
        offsets += sources + _assignment_offsets(masked)
    lines: dict[int, LogicalLine] = {}
    for offset in sorted(offsets):
        start = masked.rfind("\n", 0, offset) + 1
        if start not in lines:
            lines[start] = logical_line(parsed, offset)
    return list(lines.values())
