"""Conditions a driver tests, decided statically where their values are known.

``[ -n "$pkg" ]``, ``[[ $step == 2* ]]``, ``test "$1" = chroot``, ``true``, ``! CMD``: a driver
branches on its own variables more often than on the machine, and where the values are known
(:mod:`.expand`) the branch taken is known too. What depends on the machine (``-f FILE``,
``-d DIR``, a command's status) or on a value not known is None: then every branch is
followed, none for sure.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from typing import TYPE_CHECKING

from lfsplug_discovery.expand import Expander, State, has_unknown
from lfsplug_shell import text_of

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["Arm", "arms", "truth"]

#: One arm of an ``if``: its conditions (None: the ``else``) and its statements.
Arm = tuple["list[Node] | None", "list[Node]"]
_NUMERIC: dict[str, Callable[[int, int], bool]] = {
    "-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__,
    "-gt": int.__gt__, "-ge": int.__ge__,
}


def arms(node: Node) -> list[Arm]:
    """The arms of an ``if_statement``, in order: ``if``, each ``elif``, the ``else``."""
    found: list[Arm] = [_arm(node.children)]
    for child in node.named_children:
        if child.type == "elif_clause":
            found.append(_arm(child.children))
        elif child.type == "else_clause":
            found.append((None, [c for c in child.named_children if c.type != "comment"]))
    return found


def _arm(children: list[Node]) -> tuple[list[Node], list[Node]]:
    conditions: list[Node] = []
    body: list[Node] = []
    after_then = False
    for child in children:
        if child.type == "then":
            after_then = True
        elif child.type in ("elif_clause", "else_clause"):
            break
        elif child.is_named and child.type != "comment":
            (body if after_then else conditions).append(child)
    return conditions, body


def truth(node: Node, words: Expander, state: State) -> bool | None:
    """Whether the statement ``node`` succeeds, when that is known statically; else None."""
    if node.type == "test_command":
        inner = [c for c in node.named_children if c.type != "comment"]
        double = bool(node.children) and node.children[0].type == "[["
        return _expression(inner[0], words, state, double=double) if len(inner) == 1 else None
    if node.type == "negated_command":
        inner = [c for c in node.named_children if c.type != "comment"]
        result = truth(inner[0], words, state) if inner else None
        return None if result is None else not result
    return _command(words.words(node, state)) if node.type == "command" else None


def _command(argv: list[str]) -> bool | None:
    """``true``, ``:``, ``false``, ``test ...``, ``[ ... ]``."""
    name = argv[0] if argv else ""
    if name in ("true", ":", "false"):
        return name != "false"
    if name == "test":
        return test_words(argv[1:])
    if name == "[" and argv[-1] == "]":
        return test_words(argv[1:-1])
    return None


def test_words(args: list[str]) -> bool | None:
    """``test ARGS`` for the string and number tests of one to three arguments."""
    if any(has_unknown(a) for a in args):
        return None
    if args[:1] == ["!"]:
        result = test_words(args[1:])
        return None if result is None else not result
    if len(args) == 1:
        return args[0] != ""
    if len(args) == 2:
        return _unary(args[0], args[1])
    if len(args) == 3:
        return _binary(args[0], args[1], args[2], pattern=False)
    return None


def _expression(node: Node, words: Expander, state: State, *, double: bool) -> bool | None:
    """A ``[ ]``/``[[ ]]`` expression."""
    if node.type == "parenthesized_expression":
        inner = node.named_children
        return _expression(inner[0], words, state, double=double) if len(inner) == 1 else None
    if node.type == "unary_expression":
        return _unary_node(node, words, state, double=double)
    if node.type == "binary_expression":
        return _binary_node(node, words, state, double=double)
    value = words.value(node, state)
    return None if has_unknown(value) else value != ""


def _unary_node(node: Node, words: Expander, state: State, *, double: bool) -> bool | None:
    children = node.children
    if len(children) != 2:
        return None
    operator, operand = children
    if operator.type == "!":
        result = _expression(operand, words, state, double=double)
        return None if result is None else not result
    value = words.value(operand, state)
    return None if has_unknown(value) else _unary(text_of(operator), value)


def _binary_node(node: Node, words: Expander, state: State, *, double: bool) -> bool | None:
    children = node.children
    if len(children) != 3:
        return None
    left, operator, right = children
    op = text_of(operator)
    if op in ("&&", "||"):
        first = _expression(left, words, state, double=double)
        second = _expression(right, words, state, double=double)
        return _logic(op, first, second)
    a, b = words.value(left, state), words.value(right, state)
    if has_unknown(a) or has_unknown(b):
        return None
    literal = right.type in ("string", "raw_string")
    return _binary(a, op, b, pattern=double and not literal)


def _logic(op: str, first: bool | None, second: bool | None) -> bool | None:
    """``&&``/``||`` over values that may not be known."""
    if op == "&&":
        if first is False or second is False:
            return False
        return None if first is None or second is None else True
    if first is True or second is True:
        return True
    return None if first is None or second is None else False


def _unary(op: str, value: str) -> bool | None:
    if op == "-n":
        return value != ""
    if op == "-z":
        return value == ""
    return None  # -f, -d, -x...: the machine's


def _binary(a: str, op: str, b: str, *, pattern: bool) -> bool | None:
    if op in ("=", "=="):
        return fnmatch.fnmatchcase(a, b) if pattern else a == b
    if op == "!=":
        return not (fnmatch.fnmatchcase(a, b) if pattern else a == b)
    compare = _NUMERIC.get(op)
    if compare is None or not (_integer(a) and _integer(b)):
        return None
    return compare(int(a), int(b))


def _integer(text: str) -> bool:
    return text.strip().lstrip("+-").isdigit()
