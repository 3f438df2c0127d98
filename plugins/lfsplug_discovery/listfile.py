"""List files: a ``build_order.txt`` that says which scripts of its directory to build, in order.

::

    # chapter 5: the cross toolchain
    binutils-pass1.sh
    gcc-pass1            # the script name works too (gcc-pass1.sh, 05-gcc-pass1.sh...)

    chapter06/           # a directory: its scripts, in its own layout's order

One entry a line; ``#`` starts a comment (at the start of a line, or after white space); blank
lines are skipped. The list, not the file names, gives the order. An entry is looked up as a path
relative to the list's directory, then with ``.sh`` added, then as the name a script file of that
directory would get (``gcc-pass1`` finds ``05-gcc-pass1.sh``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ListEntry", "read_list"]

_COMMENT = re.compile(r"(?:^|\s)#.*$")
#: A list file larger than this is not a list of scripts.
MAX_LIST = 1 << 20


@dataclass(frozen=True)
class ListEntry:
    """One entry of a list file and the line it is on."""

    text: str
    line: int


def parse_list(text: str) -> list[ListEntry]:
    """The entries of a list file's text (comments and blank lines dropped)."""
    entries = []
    for number, raw in enumerate(text.splitlines(), 1):
        entry = _COMMENT.sub("", raw).strip()
        if entry:
            entries.append(ListEntry(entry, number))
    return entries


def read_list(path: str) -> tuple[list[ListEntry], str | None]:
    """The entries of the list file at ``path``, or no entries and why it could not be read."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_LIST + 1)
    except OSError as exc:
        return [], exc.strerror or str(exc)
    if len(data) > MAX_LIST:
        return [], f"larger than {MAX_LIST // 1024} KB: not a list of scripts"
    if b"\0" in data:
        return [], "a binary file, not a list of scripts"
    return parse_list(data.decode("utf-8", errors="replace")), None
