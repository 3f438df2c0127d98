"""Reading a version number out of what a tool prints for ``--version``.

The book's ``ver_check`` takes the first match of ``[0-9]+\\.[0-9\\.]+[a-z]*`` anywhere in the
output. That works for most GNU tools but breaks where a parenthesised package string carries a
version of its own (``gcc (crosstool-NG 1.25.0) 12.2.0`` gives 1.25.0), where a program's name
holds one (``gcc-4.8 (Ubuntu 4.8.5-4ubuntu8) 4.8.5`` gives 4.8), or where a later line mentions
a licence (``GPL-2.0``). So :func:`extract_version` looks where the GNU coding standards put the
version (the first line, outside parentheses) before it falls back on the book's search.
"""

from __future__ import annotations

import re

__all__ = ["excerpt", "extract_version", "kernel_version"]

#: A dotted version standing as a word of its own (after a blank, ``(``, ``,``, ``=`` or a
#: quote; a ``v`` prefix allowed), with a letter suffix as in ``2.5.1a`` or ``3.13.0rc1``.
#: Not after ``-``/``.``/a letter, so that ``gcc-4.8``, ``GPL-2.0`` and ``libc.so.6.1`` are
#: names, not versions. Distribution suffixes (``-ubuntu2``, ``+dfsg``, ``_p1``) end the match.
#: ASCII digits only: what ``sort -V`` and the book's ``[0-9]`` know.
_WORD_VERSION = re.compile(r"""(?:^|(?<=[\s(\[,="']))v?([0-9]+(?:\.[0-9]+)+(?:[a-z]+[0-9]*)?)""")
#: The book's looser search (a dotted number not glued to a word or a dot, but maybe to a name
#: by ``-``: ``busybox-1.36.1``), for the last fallback, on the first line only.
_ANY_VERSION = re.compile(r"(?<![\w.])v?([0-9]+(?:\.[0-9]+)+(?:[a-z]+[0-9]*)?)")
_PARENS = re.compile(r"\([^()]*\)")
#: ``uname -r`` gives ``6.8.0-31-generic``; the book keeps the leading ``[0-9.]+``.
_KERNEL = re.compile(r"^[0-9]+(?:\.[0-9]+)*")


def _without_parens(line: str) -> str:
    """The line with every parenthesised part blanked, innermost first."""
    while True:
        stripped = _PARENS.sub(" ", line)
        if stripped == line:
            return line
        line = stripped


def _search(pattern: re.Pattern[str], text: str) -> str | None:
    match = pattern.search(text)
    return match.group(1) if match else None


def extract_version(output: str) -> str | None:
    """The version a tool's ``--version`` output states, or None when there is none.

    Looked for, in order: the first non-blank line without its parenthesised parts
    (``gcc (Debian 12.2.0-14+deb12u1) 12.2.0`` gives 12.2.0); that line whole (perl's
    ``(v5.36.0)``); the other lines without parentheses; the first line as loosely as the
    book's script searches (``tool-1.2.3``). Unlike the book, a number glued to a name on a later
    line (``License GPL-2.0``) and a bare number (``Copyright 2023``) are not versions.
    """
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return None
    first = lines[0]
    plain_first = _without_parens(first)
    found = _search(_WORD_VERSION, plain_first) or _search(_WORD_VERSION, first)
    if found:
        return found
    for line in lines[1:]:
        found = _search(_WORD_VERSION, _without_parens(line))
        if found:
            return found
    return _search(_ANY_VERSION, first)


def kernel_version(release: str) -> str | None:
    """The version part of a kernel release (``6.8.0-31-generic`` gives ``6.8.0``), or None."""
    match = _KERNEL.match(release.strip())
    return match.group(0) if match else None


def excerpt(output: str, limit: int = 120) -> str:
    """What a tool printed, on one line and cut to ``limit`` characters, for a message."""
    flat = " | ".join(line.strip() for line in output.splitlines() if line.strip())
    if not flat:
        return "nothing"
    if len(flat) > limit:
        flat = flat[: limit - 3] + "..."
    return repr(flat)
