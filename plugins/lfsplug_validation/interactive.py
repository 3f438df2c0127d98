"""LFS002: ``read`` or ``select`` waiting for a terminal, read with tree-sitter-bash.

Whether a ``read`` reads the terminal is a question about the structure around it, which the
syntax tree answers where a line-by-line reading guesses: its standard input is something else
when it, or any statement that holds it (a loop, a ``{ ...; }`` group, an ``if``), is
redirected from a file, a heredoc or a here-string; when it stands after a ``|`` in a pipeline
(also one whose ``|`` ends the line before: ``find ... |`` then ``while read``); when it reads
another descriptor (``read -u 3``); or after ``exec < FILE`` has replaced the script's own.
(A function called with a redirection is not followed: its ``read`` is reported.)

Only scripts whose code (not comments, strings or heredoc bodies) has the word ``read`` or
``select`` are parsed: few build scripts do.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING

import lfsplug_shell
from lfsplug_validation.records import Issue
from lfsplug_validation.syntaxtree import ScriptTree, compile_query

if TYPE_CHECKING:
    from tree_sitter import Node, Query

__all__ = ["terminal_reads"]

_QUERY = """
(command name: (command_name) @command)
(for_statement "select") @select
"""
_READ_FD = re.compile(r"-[a-zA-Z]*u")
#: Redirections that replace standard input (with no descriptor, or descriptor 0).
STDIN_OPERATORS = frozenset(["<", "<&", "<<", "<<-", "<<<"])
STDIN_REDIRECTS = frozenset(["file_redirect", "heredoc_redirect", "herestring_redirect"])
PIPE_TOKENS = frozenset(["|", "|&"])
WRAPPERS = frozenset(["command", "builtin"])


@cache
def _query() -> Query:
    return compile_query(_QUERY)


def terminal_reads(script: ScriptTree) -> list[Issue]:
    """An LFS002 issue for each ``read`` or ``select`` whose standard input is the terminal's."""
    captures = script.captures(_query())
    commands = [name.parent for name in captures.get("command", ()) if name.parent is not None]
    exec_at = min((c.start_byte for c in commands
                   if _name(c) == "exec" and _stdin_elsewhere(c)), default=None)
    waiting = [(c, "read") for c in commands if _name(c) == "read" and not _other_descriptor(c)]
    waiting += [(loop, "select") for loop in captures.get("select", ())]
    return [_issue(node, what) for node, what in sorted(waiting, key=lambda w: w[0].start_byte)
            if (exec_at is None or node.start_byte < exec_at) and not _stdin_elsewhere(node)]


def _name(command: Node) -> str:
    """The command's name, past ``command``/``builtin``."""
    name = command.child_by_field_name("name")
    text = lfsplug_shell.text_of(name) if name is not None else ""
    if text in WRAPPERS:
        args = command.children_by_field_name("argument")
        return lfsplug_shell.text_of(args[0]) if args else text
    return text


def _other_descriptor(command: Node) -> bool:
    """Whether ``read`` is told to read another descriptor (``-u 3``, ``-ru3``)."""
    for arg in command.children_by_field_name("argument"):
        word = lfsplug_shell.text_of(arg)
        if word == "--":
            return False
        if not word.startswith("--") and _READ_FD.match(word):
            return True
    return False


def _redirects_stdin(node: Node) -> bool:
    """Whether ``node`` carries a redirection of its standard input (a command's own, or a
    redirected statement's)."""
    return any(_is_stdin_redirect(child) for child in node.children)


def _is_stdin_redirect(node: Node) -> bool:
    if node.type not in STDIN_REDIRECTS:
        return False
    descriptor = node.child_by_field_name("descriptor")
    if descriptor is not None and lfsplug_shell.text_of(descriptor) != "0":
        return False
    return any(child.type in STDIN_OPERATORS for child in node.children)


def _stdin_elsewhere(node: Node) -> bool:
    """Whether something around ``node`` gives it a standard input other than the script's."""
    if _redirects_stdin(node):
        return True
    child, parent = node, node.parent
    while parent is not None:  # a loop, a group, an if... redirected as a whole
        if parent.type == "redirected_statement" and _redirects_stdin(parent):
            return True
        if parent.type == "pipeline" and _after_a_pipe(parent, child):
            return True
        child, parent = parent, parent.parent
    return False


def _after_a_pipe(pipeline: Node, child: Node) -> bool:
    for sibling in pipeline.children:
        if sibling.start_byte >= child.start_byte:
            return False
        if sibling.type in PIPE_TOKENS:
            return True
    return False


def _issue(node: Node, what: str) -> Issue:
    return Issue(
        "LFS002", "warning", lfsplug_shell.line_of(node),
        f"{what} reads from the terminal: lfsplug runs scripts with stdin closed, so it "
        f"gets end of file (and under bash -e a failing read stops the script)",
        "read from a file or a heredoc (read -r x < FILE), or take the value from a "
        "variable set in the environment or lfsplug.toml [env]",
    )
