"""LFS009, the script's half: ``cd``/``pushd`` into variables the script never sets.

Read with tree-sitter-bash (:mod:`lfsplug_shell`): a ``cd`` is a command node, its directory
is its first argument that is not an option, and what that argument expands is in the tree
(``$X``, ``"$X"/build``, ``${X}``, ``$X/$Y``). Expansions that handle an unset variable
(``${X:-default}``, ``${X:=...}``, ``${X:?msg}``, ``${X:+...}``), positional and special
parameters (``$1``, ``$@``) and command substitutions (``"$(...)"``) are not looked at.

What the script sets counts wherever it is (before or after the ``cd``, in a function):
assignments (also under ``export``, ``declare``, ``local``, ``readonly``, arrays), ``read``,
``for``/``select``, ``getopts``, ``mapfile``, ``printf -v`` and ``${X:=...}``. The files it
sources are only recorded here: what they set, and what lfsplug's environment gives the script,
depend on more than this script's bytes, so :mod:`.cdenv` looks at them on every check (the
result of this module is cached by content hash with the rest of lint).

Parsing costs about as much as all the other lint rules together, so a script is parsed only
when its text has a ``cd``/``pushd`` followed by a ``$`` whose variable is neither always set nor
assigned in the text (``NAME=``, a quick look that errs towards silence: most scripts stop
there). Results are the same as a parse would give, except when the only ``NAME=`` of the text
is in a comment, a string or a heredoc.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

import lfsplug_shell
from lfsplug_validation.cdenv import ALWAYS_SET
from lfsplug_validation.records import CdUse, Sourced
from lfsplug_validation.syntaxtree import ScriptTree, compile_query

if TYPE_CHECKING:
    from tree_sitter import Node, Query

__all__ = ["ShellFacts", "cd_uses", "shell_facts"]

# A ``cd``/``pushd`` and the rest of its command (continuation lines joined). Each pattern
# starts with its literal so that the regex engine skips to it at C speed (a look-behind or an
# alternation first makes the search several times slower): what precedes is checked after.
_CD_COMMANDS = (
    (b"cd", re.compile(rb"cd[ \t]+([^\n;&|\\]*(?:\\.[^\n;&|\\]*)*)", re.S)),
    (b"pushd", re.compile(rb"pushd[ \t]+([^\n;&|\\]*(?:\\.[^\n;&|\\]*)*)", re.S)),
)
#: Bytes that, just before ``cd``, make it part of another word (``abcd``, ``$cd``, ``./cd``).
_IN_A_WORD = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.$/-")
_VARIABLE = re.compile(rb"\$\{?([A-Za-z_]\w*)")
_IDENTIFIER = re.compile(r"[A-Za-z_]\w*")
#: ``${X:-d}``, ``${X=d}``, ``${X:?m}``, ``${X:+v}``: what an unset X gives is the script's choice.
HANDLES_UNSET = frozenset([":-", "-", ":=", "=", ":?", "?", ":+", "+"])
ASSIGNS_UNSET = frozenset([":=", "="])
#: Commands whose arguments name variables they set (``read -r X Y``, ``getopts ab: OPT``).
SETTERS = frozenset(["read", "getopts", "mapfile", "readarray"])
#: Commands that run the command named after them.
WRAPPERS = frozenset(["command", "builtin"])
# One query finds every node this module needs; the loop over its captures stays in Python,
# but only over those few nodes (a Python walk over the whole tree costs as much as the parse).
_QUERY = """
(command name: (command_name) @command)
(variable_assignment name: (variable_name) @set)
(variable_assignment name: (subscript name: (variable_name) @set))
(for_statement variable: (variable_name) @set)
(expansion) @expansion
"""


@dataclass
class ShellFacts:
    """What one file says about variables: the names it sets, its ``cd``/``pushd`` into
    variables (every one, before any filtering) and the files it sources."""

    sets: set[str] = field(default_factory=set)
    cds: list[CdUse] = field(default_factory=list)
    sources: list[Sourced] = field(default_factory=list)


def cd_uses(script: ScriptTree) -> tuple[list[CdUse], list[Sourced]]:
    """The ``cd``/``pushd`` of a script into variables that neither the script sets nor are
    always set, and the files it sources (these only when there is such a ``cd``)."""
    if not _worth_parsing(script.data):
        return [], []
    facts = shell_facts(script)
    uses = [use for use in (_unset_only(cd, facts.sets) for cd in facts.cds) if use.names]
    return uses, facts.sources if uses else []


def _worth_parsing(data: bytes) -> bool:
    """Whether some ``cd``/``pushd`` expands a variable that no ``NAME=`` of the text sets."""
    if b"$" not in data:
        return False
    names = {name for argument in _cd_arguments(data) for name in _VARIABLE.findall(argument)}
    return any(name.decode() not in ALWAYS_SET and not _assigned_in_text(name, data)
               for name in names)


def _cd_arguments(data: bytes) -> list[bytes]:
    """The text after each ``cd``/``pushd`` of ``data`` that holds a ``$`` (comments too)."""
    found = []
    for word, pattern in _CD_COMMANDS:
        if word not in data:
            continue
        for match in pattern.finditer(data):
            start = match.start()
            if (not start or data[start - 1] not in _IN_A_WORD) and b"$" in match.group(1):
                found.append(match.group(1))
    return found


def _assigned_in_text(name: bytes, data: bytes) -> bool:
    return re.search(rb"(?<![\w$])" + name + rb"(?:\[[^\]\n]*\])?[+:]?=", data) is not None


def _unset_only(cd: CdUse, sets: set[str]) -> CdUse:
    """``cd`` with only the variables nothing sets left as variables (the rest is text)."""
    parts = [[text, name if name and name not in sets and name not in ALWAYS_SET else ""]
             for text, name in cd.parts]
    return cd._replace(parts=parts)


@cache
def _query() -> Query:
    return compile_query(_QUERY)


def shell_facts(script: ScriptTree) -> ShellFacts:
    """What a script (or a file it sources) sets, where it changes directory, what it sources."""
    captures = script.captures(_query())
    facts = ShellFacts({lfsplug_shell.text_of(node) for node in captures.get("set", ())})
    for node in captures.get("expansion", ()):
        name, operator = _expansion_parts(node)
        if name and operator in ASSIGNS_UNSET:
            facts.sets.add(name)
    # captures come grouped by pattern, not in source order; the cached result must not vary
    for node in sorted(captures.get("command", ()), key=lambda n: n.start_byte):
        _read_command(node, facts)
    return facts


def _read_command(name_node: Node, facts: ShellFacts) -> None:
    """Add what the command named by ``name_node`` sets, sources or changes into."""
    command = name_node.parent
    if command is None:
        return
    name = lfsplug_shell.text_of(name_node)
    args = command.children_by_field_name("argument")
    if name in WRAPPERS and args:  # builtin cd "$X"
        name, args = lfsplug_shell.text_of(args[0]), args[1:]
    if name in ("cd", "pushd"):
        use = _cd_use(command, name, args)
        if use is not None:
            facts.cds.append(use)
    elif name in ("source", ".") and args:
        facts.sources.append(Sourced(lfsplug_shell.line_of(command),
                                     lfsplug_shell.text_of(args[0])))
    elif name in SETTERS:
        facts.sets.update(w for w in map(lfsplug_shell.text_of, args) if _IDENTIFIER.fullmatch(w))
    elif name == "printf":
        words = [lfsplug_shell.text_of(a) for a in args]
        facts.sets.update(words[i + 1] for i, w in enumerate(words[:-1]) if w == "-v")


def _directory_argument(args: list[Node]) -> Node | None:
    """The argument of ``cd``/``pushd`` that names the directory (options skipped)."""
    for arg in args:
        text = lfsplug_shell.text_of(arg)
        if arg.type == "word" and text == "--":
            continue
        if arg.type == "word" and len(text) > 1 and text[0] in "-+":
            continue
        return arg
    return None


def _cd_use(command: Node, name: str, args: list[Node]) -> CdUse | None:
    """The ``cd``/``pushd`` as a :class:`CdUse`, when its directory expands a variable."""
    directory = _directory_argument(args)
    if directory is None:
        return None
    parts: list[list[str]] = []
    _collect_parts(directory, parts)
    if not any(name for _, name in parts):
        return None
    shown = " ".join(lfsplug_shell.text_of(command).replace("\\\n", " ").split())
    quoted = any(node.type in ("string", "raw_string") for node in lfsplug_shell.walk(directory))
    return CdUse(lfsplug_shell.line_of(command), name, _shorten(shown), quoted, parts)


def _shorten(shown: str, width: int = 72) -> str:
    return shown if len(shown) <= width else shown[:width - 3] + "..."


def _collect_parts(node: Node, parts: list[list[str]]) -> None:
    """Append the pieces of an argument: its text, and the variable each piece expands."""
    kind = node.type
    if kind in ("string", "concatenation"):
        for child in node.children:
            if child.type != '"':
                _collect_parts(child, parts)
        return
    text = lfsplug_shell.text_of(node)
    name = ""
    if kind == "simple_expansion":
        variable = node.children[-1] if node.children else None
        if variable is not None and variable.type == "variable_name":
            name = lfsplug_shell.text_of(variable)
    elif kind == "expansion":
        found, operator = _expansion_parts(node)
        name = found if found and operator not in HANDLES_UNSET else ""
    elif kind == "raw_string":
        text = text[1:-1]
    # anything else (a word, "$(dirname "$0")", $((...))) is kept as written, with no variable
    parts.append([text, name if _IDENTIFIER.fullmatch(name) else ""])


def _expansion_parts(node: Node) -> tuple[str, str]:
    """(variable, operator after it) of ``${...}``; ``("", "")`` for ``${#X}``, ``${!X}``
    (a length, an indirection: not the variable's value)."""
    name = ""
    for child in node.children:
        kind = child.type
        if kind in ("${", "}"):
            continue
        if kind == "variable_name":
            name = lfsplug_shell.text_of(child)
        elif kind == "subscript":
            base = child.child_by_field_name("name")
            name = lfsplug_shell.text_of(base) if base is not None else ""
        elif not name:
            return "", ""
        else:
            return name, lfsplug_shell.text_of(child)
    return name, ""
