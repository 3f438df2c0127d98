"""The words of a driver's commands, expanded statically: what bash would make of them.

:class:`Expander` is what :class:`~lfsplug_discovery.evaluate.Evaluator` asks for the strings a
command's words give at a point of the driver (a :class:`State`): variables assigned
literally, ``${NAME<op>WORD}``, arrays, ``$@``, the few command substitutions whose output is
known without running anything (``dirname``, ``basename``, ``pwd``, ``cd DIR && pwd``,
``cat FILE``, ``$(< FILE)``), and globs matched on the host or, below a value that is not known
(``$LFS/sources/scripts/*.sh``), against the files of the tree.

A value not known statically is kept as a marker (:func:`unknown`) named after the variable
(shown as ``${LFS}``) or holding the source text of what computes it (``$(pick)``), so that a
path below it still finds its file by suffix and a message can show it. ``$LFS`` is lfsplug's
own (``--lfs``): it stays a marker even where the driver assigns it, so that the executor
expands it to the run's value.

tree-sitter-bash splits ``$A/$b.sh`` into two nodes (``$A/$`` and ``b.sh``); nodes that touch
are one word here, as they are for bash.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from lfsplug_discovery.listings import filtered, produced
from lfsplug_shell import text_of

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["OWN", "Expander", "Inside", "Match", "State", "expandable", "has_unknown", "join",
           "shown_value", "unknown"]

_MARK = "\x00"
_MARKED = re.compile("\x00([^\x00]*)\x00")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPECIAL = re.compile(r"[0-9]+|[@*#?$!-]")
_GLOB = frozenset("*?[")
#: Variables lfsplug sets for every script itself (``--lfs``): kept as markers.
OWN = frozenset({"LFS"})
#: Node types that are no word of a command.
_NOT_WORDS = frozenset({"variable_assignment", "file_redirect", "heredoc_redirect",
                        "herestring_redirect", "comment"})


def unknown(name: str) -> str:
    """The marker of a value not known statically: a variable's name, or the source text of
    what computes it."""
    return f"{_MARK}{name.replace(_MARK, '')}{_MARK}"


def has_unknown(text: str) -> bool:
    """Whether ``text`` holds a value not known statically."""
    return _MARK in text


def _shown(match: re.Match[str]) -> str:
    name = match.group(1)
    if _VARIABLE.fullmatch(name) or _SPECIAL.fullmatch(name):
        return "${" + name + "}"
    return name or "${?}"


def shown_value(text: str) -> str:
    """``text`` with each unknown variable written ``${NAME}`` (as the executor expands it) and
    each other unknown value as the source text that computes it (``$(pick)``)."""
    return _MARKED.sub(_shown, text)


def expandable(text: str) -> bool:
    """Whether every unknown value of ``text`` is a variable the executor can expand (not the
    output of a command, which only the run knows)."""
    return all(_VARIABLE.fullmatch(m.group(1)) for m in _MARKED.finditer(text))


@dataclass
class State:
    """What the shell knows at a point of the driver (copied for subshells and child shells)."""

    script: str
    cwd: str
    vars: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, list[str]] = field(default_factory=dict)
    exported: set[str] = field(default_factory=set)
    functions: dict[str, Node] = field(default_factory=dict)
    #: the positional parameters; None when not known (the arguments a user starts it with)
    args: list[str] | None = field(default_factory=list)
    user: str | None = None
    chroot: bool = False
    #: the archive the driver unpacked last (``tar x``), where it unpacked it, and the
    #: directory it went into below that (its top directory, once known)
    unpack: str | None = None
    unpack_dir: str | None = None
    unpack_top: str | None = None
    dirs: list[str] = field(default_factory=list)
    #: the new root of a chroot the commands run in (as the driver names it), or ''
    root: str = ""
    #: ``$0`` and the file being read (``BASH_SOURCE``) as the shell names them ('': the
    #: script's path)
    zero: str = ""
    source: str = ""

    def copy(self) -> State:
        """The state a subshell starts with: all of this one."""
        return replace(self, vars=dict(self.vars),
                       arrays={k: list(v) for k, v in self.arrays.items()},
                       exported=set(self.exported), functions=dict(self.functions),
                       args=None if self.args is None else list(self.args),
                       dirs=list(self.dirs))

    def child(self, script: str, args: list[str] | None) -> State:
        """The state a new shell starts with: exported variables only, no functions."""
        env = {k: v for k, v in self.vars.items() if k in self.exported}
        return replace(self, script=script, vars=env, arrays={}, exported=set(env),
                       functions={}, args=None if args is None else list(args), dirs=[],
                       zero="", source="")

    def reset_environment(self) -> None:
        """``env -i``, ``sudo``, ``su -``: no exported variable goes through."""
        self.vars = {k: v for k, v in self.vars.items() if k not in self.exported}
        self.exported = set()


#: What the expander asks of the tree: a file's bytes (None: not a regular, readable text
#: file), and the files of the tree a glob's known tail matches (``scripts/*.sh``).
Read = Callable[[str], "bytes | None"]
Match = Callable[[str], list[str]]
#: Whether a directory is one the driver's listings may read (``ls``, ``find``): the tree's.
Inside = Callable[[str], bool]


class Expander:
    """Expands the words of commands at a point of a driver (see the module docstring)."""

    def __init__(self, read: Read, match: Match | None = None,
                 inside: Inside | None = None) -> None:
        self.read = read
        self.match = match
        #: without a tree to keep to, no listing is read (a driver never walks the host)
        self.inside: Inside = inside or (lambda path: False)

    # -- words ---------------------------------------------------------------------------------

    def words(self, node: Node, state: State) -> list[str]:
        """The words of a simple command (its name and arguments), expanded."""
        nodes: list[Node] = []
        for child in node.named_children:
            if child.type == "command_name":
                nodes.extend(child.named_children[:1])
            elif child.type not in _NOT_WORDS:
                nodes.append(child)
        return self.expand(nodes, state)

    def expand(self, nodes: list[Node], state: State) -> list[str]:
        """The words a sequence of argument nodes gives (nodes that touch are one word)."""
        words: list[str] = []
        for group in _touching(nodes):
            words.extend(self._word_list(group, state))
        return words

    def _word_list(self, group: list[Node], state: State) -> list[str]:
        """What one shell word expands to: split where an unquoted expansion splits, arrays
        expanded, globs matched."""
        node = group[0]
        if len(group) == 1 and node.type in ("simple_expansion", "expansion",
                                             "command_substitution"):
            array = self._array(node, state)
            return array if array is not None else _split(self.value(node, state))
        if len(group) == 1 and node.type in ("string", "raw_string", "ansi_c_string"):
            inner = node.named_children
            quoted_all = node.type == "string" and len(inner) == 1 and (
                text_of(inner[0]) == "$@" or text_of(inner[0]).endswith("[@]}"))
            array = self._array(inner[0], state) if quoted_all else None
            return array if array is not None else [self.value(node, state)]
        value = self.joined(group, state)
        if any(c in _GLOB for c in value) and any(n.type in ("word", "concatenation")
                                                  for n in group):
            return self._glob(value, state) or [value]
        return [value]

    def _glob(self, pattern: str, state: State) -> list[str]:
        """The files a glob matches: on the host when it is known, else (or when nothing
        matches there) the tree's files its known tail names."""
        if not has_unknown(pattern) and not has_unknown(state.cwd):
            full = pattern if pattern.startswith("/") else os.path.join(state.cwd, pattern)
            matches = sorted(glob.glob(full))
            if matches:
                return matches if os.path.isabs(pattern) else [
                    os.path.relpath(m, state.cwd) for m in matches]
        if self.match is None:
            return []
        return self.match(pattern.rsplit(_MARK, 1)[-1])

    def _array(self, node: Node, state: State) -> list[str] | None:
        """``${ARR[@]}``/``${ARR[*]}``/``$@``: its elements, or None when not an array."""
        if node.type == "simple_expansion":
            name = text_of(node)[1:]
            if name not in ("@", "*"):
                return None
            return list(state.args) if state.args is not None else [unknown(name)]
        sub = next((c for c in node.named_children if c.type == "subscript"), None)
        if sub is None:
            return None
        name_node = sub.child_by_field_name("name")
        index = sub.child_by_field_name("index")
        if name_node is None or index is None or text_of(index) not in ("@", "*"):
            return None
        return list(state.arrays.get(text_of(name_node), []))

    # -- values --------------------------------------------------------------------------------

    def joined(self, nodes: list[Node], state: State) -> str:
        """The text of nodes that make one word, concatenated (a ``$`` that tree-sitter left
        at the end of one node names a variable at the start of the next)."""
        parts = [c for n in nodes for c in (n.children if n.type == "concatenation" else [n])]
        text: list[str] = []
        skip = False
        for i, part in enumerate(parts):
            if skip:
                skip = False
                continue
            after = parts[i + 1] if i + 1 < len(parts) else None
            if part.type == "$" and after is not None and after.type == "word" and (
                    after.start_byte == part.end_byte):
                text.append(self._dollar_word(text_of(after), state))
                skip = True
            else:
                text.append(self.value(part, state))
        return "".join(text)

    def _dollar_word(self, word: str, state: State) -> str:
        """``$`` followed by ``word``: the variable its leading name names, then the rest."""
        match = _VARIABLE.match(word)
        if match is None:
            return "$" + _unescape(word)
        return self.variable(match.group(0), state) + _unescape(word[match.end():])

    def value(self, node: Node | None, state: State) -> str:
        """The text ``node`` expands to, with markers for what is not known."""
        if node is None:
            return ""
        handler = _VALUES.get(node.type)
        if handler is not None:
            return handler(self, node, state)
        return text_of(node) if not node.is_named else unknown(text_of(node))

    def _word(self, node: Node, state: State) -> str:
        return _unescape(text_of(node))

    def _raw(self, node: Node, state: State) -> str:
        return text_of(node)[1:-1]

    def _ansi(self, node: Node, state: State) -> str:
        return text_of(node)[2:-1]

    def _content(self, node: Node, state: State) -> str:
        return text_of(node)

    def _string(self, node: Node, state: State) -> str:
        """A double-quoted string: its text between and within its expansions."""
        data = node.text or b""
        at, parts = node.start_byte + 1, []
        for child in node.named_children:
            if child.start_byte > at:
                parts.append(data[at - node.start_byte:child.start_byte - node.start_byte]
                             .decode("utf-8", errors="replace"))
            parts.append(self.value(child, state))
            at = child.end_byte
        if node.end_byte - 1 > at:
            parts.append(data[at - node.start_byte:-1].decode("utf-8", errors="replace"))
        return "".join(parts)

    def _concatenation(self, node: Node, state: State) -> str:
        return self.joined([node], state)

    def _simple(self, node: Node, state: State) -> str:
        return self.variable(text_of(node)[1:], state)

    def variable(self, name: str, state: State) -> str:
        """The value of ``$name``."""
        special = _special(name, state)
        if special is not None:
            return special
        if name in state.vars and name not in OWN:
            return state.vars[name]
        return unknown(name)

    def _expansion(self, node: Node, state: State) -> str:
        """``${...}``: a variable, an element of an array, or an operator on a variable."""
        children = node.named_children
        text = text_of(node)
        if text.startswith("${!"):
            return self._indirect(children, text, state)
        if not children or text.startswith("${#"):
            return unknown(text)
        first = children[0]
        if first.type == "subscript":
            return self._element(first, state)
        if first.type not in ("variable_name", "special_variable_name"):
            return unknown(text)
        name = text_of(first)
        value = self.variable(name, state)
        operator = node.child_by_field_name("operator")
        if operator is None:
            return value
        operand = "".join(self.value(c, state) for c in children[1:])
        op = text_of(operator)
        result = operate(value, op, operand, name)
        if op in (":=", "=") and result != value and name not in OWN:
            state.vars[name] = result  # ${NAME:=default} sets NAME
        return result if result.count(_MARK) % 2 == 0 else unknown(text)

    def _indirect(self, children: list[Node], text: str, state: State) -> str:
        """``${!NAME}``: the variable NAME names."""
        if len(children) != 1 or children[0].type != "variable_name" or text[-2] in "*@":
            return unknown(text)
        target = self.variable(text_of(children[0]), state)
        return self.variable(target, state) if _VARIABLE.fullmatch(target) else unknown(text)

    def _element(self, subscript: Node, state: State) -> str:
        """``${ARR[i]}``, ``${ARR[@]}`` (joined), ``${BASH_SOURCE[0]}``."""
        name_node = subscript.child_by_field_name("name")
        name = text_of(name_node) if name_node is not None else "?"
        index_node = subscript.child_by_field_name("index")
        index = text_of(index_node) if index_node is not None else ""
        if name == "BASH_SOURCE":
            return _special(name, state) or state.script
        items = state.arrays.get(name)
        if items is None:
            return unknown(name)
        if index.isdigit():
            return items[int(index)] if int(index) < len(items) else ""
        return " ".join(items) if index in ("@", "*") else unknown(name)

    def _substitution(self, node: Node, state: State) -> str:
        """What ``$(...)`` gives, for the few commands whose output is known statically."""
        inner = [c for c in node.named_children if c.type != "comment"]
        what = unknown(text_of(node))
        if len(inner) == 1 and (inner[0].type == "file_redirect" or (
                inner[0].type == "redirected_statement" and text_of(inner[0]).startswith("<"))):
            source = self.input_file(inner[0], state)  # $(< FILE)
            lines = self.lines(source, state) if source is not None else None
            return what if lines is None else list_words(lines)
        if len(inner) != 1:
            return what
        if inner[0].type == "list":
            directory = self._cd_pwd(inner[0], state)
            return what if directory is None else directory
        if inner[0].type == "pipeline":  # $(ls ch5/*.sh | sort)
            lines = self.pipeline_lines(inner[0].named_children, state)
            return what if lines is None else list_words(lines)
        if inner[0].type != "command":
            return what
        words = self.words(inner[0], state)
        output = self._known_output(words, state) if words else None
        return what if output is None else output

    def pipeline_lines(self, commands: list[Node], state: State) -> list[str] | None:
        """What a pipeline of list-making commands prints (:mod:`.listings`), or None."""
        if not commands or has_unknown(state.cwd):
            return None
        lines: list[str] | None = None
        for command in commands:
            if command.type != "command":
                return None
            words = self.words(command, state)
            if not words or any(has_unknown(w) for w in words):
                return None
            lines = (produced(words, state.cwd, lambda path: self.lines(path, state),
                              self.inside)
                     if lines is None else filtered(words, lines))
            if lines is None:
                return None
        return lines

    def input_file(self, node: Node, state: State) -> str | None:
        """The file a ``< FILE`` redirection of ``node`` (or ``node`` itself) reads."""
        redirects = [node] if node.type == "file_redirect" else node.named_children
        for child in redirects:
            if child.type == "file_redirect" and text_of(child).lstrip().startswith("<"):
                target = child.child_by_field_name("destination") or (
                    child.named_children[-1] if child.named_children else None)
                if target is not None:
                    return self.value(target, state)
        return None

    def _cd_pwd(self, node: Node, state: State) -> str | None:
        """``$(cd DIR && pwd)``: the directory the cd reaches."""
        parts = [c for c in node.named_children if c.type == "command"]
        if len(parts) != 2 or text_of(parts[1]).strip() not in ("pwd", "pwd -P"):
            return None
        words = self.words(parts[0], state)
        if words[:1] != ["cd"] or len(words) != 2:
            return None
        return join(state.cwd, words[1])

    def _known_output(self, words: list[str], state: State) -> str | None:
        program = os.path.basename(words[0])
        args = [w for w in words[1:] if not w.startswith("-")]
        if program == "pwd":
            return state.cwd
        if not args or any(has_unknown(a) for a in args):
            return None
        known = _OUTPUTS.get(program)
        if known is not None:
            return known(args, state)
        if has_unknown(state.cwd):
            return None
        lines = produced(words, state.cwd, lambda path: self.lines(path, state), self.inside)
        return None if lines is None else list_words(lines)

    def lines(self, path: str, state: State) -> list[str] | None:
        """The lines of the file at ``path`` (from the state's directory), or None."""
        if has_unknown(path) or has_unknown(state.cwd):
            return None
        data = self.read(join(state.cwd, path))
        if data is None:
            return None
        return data.decode("utf-8", errors="replace").splitlines()


_Handler = Callable[[Expander, "Node", State], str]
_VALUES: dict[str, _Handler] = {
    "word": Expander._word, "number": Expander._word, "extglob_pattern": Expander._word,
    "raw_string": Expander._raw,
    "ansi_c_string": Expander._ansi, "string_content": Expander._content,
    "string": Expander._string, "translated_string": Expander._string,
    "concatenation": Expander._concatenation, "simple_expansion": Expander._simple,
    "expansion": Expander._expansion, "command_substitution": Expander._substitution,
}


def _dirname(args: list[str], state: State) -> str | None:
    return os.path.dirname(args[0].rstrip("/")) or "."


def _basename(args: list[str], state: State) -> str | None:
    base = os.path.basename(args[0].rstrip("/"))
    return base[: -len(args[1])] if len(args) > 1 and base.endswith(args[1]) else base


def _realpath(args: list[str], state: State) -> str | None:
    return join(state.cwd, args[0])


#: The programs whose output :meth:`Expander._known_output` knows from their arguments.
_OUTPUTS: dict[str, Callable[[list[str], State], str | None]] = {
    "dirname": _dirname, "basename": _basename, "realpath": _realpath, "readlink": _realpath,
}


def _special(name: str, state: State) -> str | None:
    """``$0``, ``$1``..., ``$@``, ``$#``, ``$PWD``; None for other names."""
    if name in ("0", "BASH_SOURCE", "PWD"):
        zero = state.zero or state.script
        return {"0": zero, "BASH_SOURCE": state.source or zero, "PWD": state.cwd}[name]
    if not (name.isdigit() or name in ("@", "*", "#")):
        return None
    args = state.args
    if args is None:
        return unknown(name)
    if name.isdigit():
        index = int(name) - 1
        return args[index] if 0 <= index < len(args) else ""
    return str(len(args)) if name == "#" else " ".join(args)


def _touching(nodes: list[Node]) -> list[list[Node]]:
    """``nodes`` grouped into words: a node that starts where the previous one ends is part
    of the same word."""
    groups: list[list[Node]] = []
    for node in nodes:
        if groups and groups[-1][-1].end_byte == node.start_byte:
            groups[-1].append(node)
        else:
            groups.append([node])
    return groups


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text) if "\\" in text else text


def _split(value: str) -> list[str]:
    """An unquoted expansion's words (a marker, whatever its text, is never split)."""
    if not has_unknown(value):
        return value.split()
    found: list[str] = []

    def keep(match: re.Match[str]) -> str:
        found.append(match.group(0))
        return f"{_MARK}{len(found) - 1}{_MARK}"

    masked = _MARKED.sub(keep, value)
    return [re.sub("\x00([0-9]+)\x00", lambda m: found[int(m.group(1))], word)
            for word in masked.split()]


def operate(value: str, op: str, operand: str, name: str) -> str:
    """``${NAME<op>operand}`` for the operators drivers use."""
    unset = value == unknown(name)
    if op in (":-", "-", ":=", "="):
        return operand if unset or (op.startswith(":") and not value) else value
    if op in (":+", "+"):
        return unknown(name) if unset else (operand if value or op == "+" else "")
    if op in ("%", "%%", "#", "##"):
        return _trim(value, op, operand)
    if op in ("/", "//"):
        pattern, _, replacement = operand.partition("/")
        return value.replace(pattern, replacement, -1 if op == "//" else 1)
    return value if op in (":?", "?") else unknown(name)


def _trim(value: str, op: str, pattern: str) -> str:
    """``${V%P}``, ``${V%%P}``, ``${V#P}``, ``${V##P}`` (an unknown end is left as it is)."""
    longest = len(op) == 2
    if op.startswith("%"):
        if value.endswith(_MARK):
            return value
        cuts = range(len(value) + 1) if longest else range(len(value), -1, -1)
        return next((value[:i] for i in cuts if fnmatch.fnmatchcase(value[i:], pattern)), value)
    if value.startswith(_MARK):
        return value
    cuts = range(len(value), -1, -1) if longest else range(len(value) + 1)
    return next((value[i:] for i in cuts if fnmatch.fnmatchcase(value[:i], pattern)), value)


def list_words(lines: list[str]) -> str:
    """A list file's words, comments left out (``for p in $(cat list)``)."""
    return " ".join(line.split("#", 1)[0].strip() for line in lines
                    if line.split("#", 1)[0].strip())


def join(cwd: str, path: str) -> str:
    """``path`` from ``cwd``, normalised (``..`` taken back where the parent is known)."""
    if any(c in _GLOB for c in path) and not has_unknown(path) and not has_unknown(cwd):
        matches = sorted(glob.glob(os.path.join(cwd, path)))
        if len(matches) == 1:
            path = matches[0]
    joined = path if path.startswith("/") or path.startswith(_MARK) else (
        f"{cwd.rstrip('/')}/{path}")
    parts: list[str] = []
    for part in joined.split("/"):
        if part in ("", "."):
            continue
        if part == ".." and parts and not has_unknown(parts[-1]):
            parts.pop()
        else:
            parts.append(part)
    if joined.startswith(_MARK):
        return "/".join(parts)
    return "/" + "/".join(parts)
