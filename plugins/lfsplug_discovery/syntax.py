"""Reading a driver's syntax tree: the parse, the first part it could not read, the names a
``read`` sets.

tree-sitter-bash reads nearly every driver; one valid form it cannot read is a ``case`` whose
last item ends in ``;&`` or ``;;&`` (nothing follows to fall into): :func:`parse_driver` reads
such a terminator as ``;;``, at the same offsets, when that makes the whole driver readable.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

from lfsplug_shell import parse, text_of

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["first_error", "parse_driver", "read_names"]

_LAST_FALL_THROUGH = re.compile(rb"(;;?&)(\s*esac\b)")


def parse_driver(data: bytes) -> Node:
    """The syntax tree of a driver. tree-sitter-bash cannot read a ``case`` whose last item
    ends in ``;&`` or ``;;&`` (valid bash: nothing follows to fall into); such a terminator
    reads as ``;;`` then, at the same offsets, when that makes the whole driver readable."""
    root = parse(data).root_node
    if not root.has_error or not _LAST_FALL_THROUGH.search(data):
        return root
    fixed = parse(_LAST_FALL_THROUGH.sub(_as_end, data)).root_node
    return root if fixed.has_error else fixed


def _as_end(match: re.Match[bytes]) -> bytes:
    return b";;" + b" " * (len(match.group(1)) - 2) + match.group(2)


def read_names(condition: Node | None) -> list[str] | None:
    """The variables of ``while read [-r] A B`` (``REPLY`` when none), or None."""
    if condition is None:
        return None
    command = condition if condition.type == "command" else next(
        (c for c in _descendants(condition) if c.type == "command"), None)
    name = command.child_by_field_name("name") if command is not None else None
    if command is None or name is None or text_of(name) != "read":
        return None
    names, skip = [], False
    for word in (text_of(c) for c in command.named_children if c.type not in (
            "command_name", "variable_assignment", "file_redirect", "herestring_redirect")):
        if skip:
            skip = False
        elif word in ("-d", "-n", "-N", "-p", "-t", "-u", "-a"):
            skip = True
        elif not word.startswith("-"):
            names.append(word)
    return names or ["REPLY"]


def first_error(node: Node) -> Node | None:
    """The first node the parser could not read below ``node`` (innermost), or None."""
    for child in node.children:
        if child.is_missing:
            return child
        if not child.has_error:
            continue
        inner = first_error(child)
        if inner is not None:
            return inner
        if child.type == "ERROR":
            return child
    return None


def _descendants(node: Node) -> Iterator[Node]:
    for child in node.named_children:
        yield child
        yield from _descendants(child)
