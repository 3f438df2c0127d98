"""Reading shell scripts with a real parser: tree-sitter and its tree-sitter-bash grammar.

A library the built-in plugins share (discovery follows drivers with it, validation lints
with it), not a plugin: it registers no hooks. ``bash -n`` stays the judge of what is valid
bash; this parser reads what a script says, and recovers from errors (a part it cannot parse
becomes an ``ERROR`` node, the rest of the tree stands).

The grammar is loaded once per process, on first use (it is a compiled extension: importing it
costs a few milliseconds, which a warm ``lfsplug list`` does not pay).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tree_sitter import Node, Parser, Tree

__all__ = ["line_of", "parse", "parser", "text_of", "walk"]


@cache
def parser() -> Parser:
    """The process's bash parser (made once)."""
    import tree_sitter_bash
    from tree_sitter import Language, Parser

    return Parser(Language(tree_sitter_bash.language()))


#: A UTF-8 character beyond U+FFFF (four bytes).
_ASTRAL = re.compile(rb"[\xf0-\xf4][\x80-\xbf]{3}")


def parse(source: bytes) -> Tree:
    """The syntax tree of a script's bytes.

    Characters beyond U+FFFF become four ``?`` first: tree-sitter-bash 0.25 can crash the
    process on one after ``{``, and four bytes for four keep every offset and line the same.
    """
    if _ASTRAL.search(source):
        source = _ASTRAL.sub(b"????", source)
    return parser().parse(source)


def text_of(node: Node) -> str:
    """The source text of ``node`` (undecodable bytes replaced)."""
    data = node.text
    return data.decode("utf-8", errors="replace") if data is not None else ""


def line_of(node: Node) -> int:
    """The 1-based line ``node`` starts on."""
    return node.start_point[0] + 1


def walk(node: Node) -> Iterator[Node]:
    """Every node below ``node`` (itself first), depth first, in source order."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        stack.extend(reversed(current.children))
