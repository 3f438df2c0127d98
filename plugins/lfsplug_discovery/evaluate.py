"""Following a driver script statically: which scripts it runs, in what order, and how.

A driver (``run-all.sh``, ``build.sh``, a per-chapter driver) runs the build scripts of its
collection. :class:`Evaluator` reads it with the tree-sitter-bash parser and walks its
statements as bash would run them, without running anything: variables assigned literally,
word lists and arrays, ``for`` loops (over words, variables and globs), ``while read`` loops over
list files, ``case`` with fall-through (resume points), functions with their arguments, ``if``
branches, subshells, here-documents given to a shell, ``bash -c``/``su -c`` strings, and the
wrappers that say how a script must run (``sudo``, ``su USER``, ``chroot DIR``, ``env``,
``time``...). Every call of a file of the tree becomes a :class:`Call` with the environment the
driver exports at that point, the directory it runs in and the tarball it unpacked for it.

Values the driver cannot know statically (``$LFS``, ``$(date)``) are kept as markers, so that
``$LFS/sources/scripts/gcc.sh`` still finds ``scripts/gcc.sh`` in the tree; a call whose file
cannot be found is reported with its line. A driver is never executed.
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lfsplug_shell import line_of, parse, text_of

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["Call", "Evaluator", "Unresolved", "has_unknown", "shown_value", "unknown"]

#: The shells a driver calls scripts with (by the program's base name).
SHELLS = frozenset({"bash", "sh", "dash", "ksh", "zsh", "ash", "busybox"})
#: Commands that run the rest of their words as a command, and their options taking a value.
PLAIN_WRAPPERS = {
    "time": (), "nohup": (), "exec": ("-a",), "command": (), "builtin": (), "setsid": (),
    "nice": ("-n",), "ionice": ("-c", "-n", "-p"), "stdbuf": ("-i", "-o", "-e"),
    "eatmydata": (), "unbuffer": (), "{": (), "!": (), "xargs": ("-I", "-n", "-P", "-d"),
    "timeout": ("-s", "-k", "--signal", "--kill-after"), "fakeroot": (), "caffeinate": (),
    "chronic": (), "ts": (),
}
_SUDO_VALUE = frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R"})
_CHROOT_VALUE = frozenset({"--userspec", "--groups"})
_SHELL_VALUE = frozenset({"-o", "-O", "+o", "+O", "--rcfile", "--init-file"})
_MARK = "\x00"
_MARKED = re.compile("\x00([^\x00]*)\x00")
_ARCHIVE = re.compile(r"\.(?:tar(?:\.\w+)?|tgz|tbz2?|txz|tlz|zip)$")
#: The deepest a driver may nest (calls, functions, strings): a guard against recursion.
MAX_DEPTH = 40
#: The most iterations of one loop followed (a list of thousands is not a driver's).
MAX_LOOP = 5000


def unknown(name: str) -> str:
    """The marker of a value not known statically (the variable's name, or ``?``)."""
    return f"{_MARK}{name}{_MARK}"


def has_unknown(text: str) -> bool:
    """Whether ``text`` holds a value not known statically."""
    return _MARK in text


def shown_value(text: str) -> str:
    """``text`` with each unknown value written as ``${NAME}`` (as the executor expands it)."""
    return _MARKED.sub(lambda m: "${" + (m.group(1) or "?") + "}", text)


@dataclass
class Call:
    """One script a driver runs: where, how and with what."""

    #: the path of the called file (absolute, resolved in the tree)
    path: str
    #: the driver file and the line of the call in it (the outermost driver's, for --why)
    driver: str
    line: int
    #: ``bash``, ``sh``, ``source`` or ``exec`` (run by its own ``#!``)
    how: str
    user: str | None = None
    chroot: bool = False
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    unpack: str | None = None


@dataclass(frozen=True)
class Unresolved:
    """A call the driver makes whose file cannot be worked out or found."""

    driver: str
    line: int
    text: str
    why: str


@dataclass
class State:
    """What the shell knows at a point of the driver (copied for subshells and child shells)."""

    script: str
    cwd: str
    vars: dict[str, str] = field(default_factory=dict)
    arrays: dict[str, list[str]] = field(default_factory=dict)
    exported: set[str] = field(default_factory=set)
    functions: dict[str, Node] = field(default_factory=dict)
    args: list[str] = field(default_factory=list)
    user: str | None = None
    chroot: bool = False
    #: the archive the driver unpacked last (``tar x``), and where it unpacked it
    unpack: str | None = None
    unpack_dir: str | None = None
    dirs: list[str] = field(default_factory=list)
    #: the new root of a chroot the commands run in (as the driver names it), or ''
    root: str = ""

    def copy(self) -> State:
        return State(self.script, self.cwd, dict(self.vars), {k: list(v) for k, v in
                     self.arrays.items()}, set(self.exported), dict(self.functions),
                     list(self.args), self.user, self.chroot, self.unpack, self.unpack_dir,
                     list(self.dirs), self.root)

    def child(self, script: str, args: list[str]) -> State:
        """The state a new shell starts with: exported variables only, no functions."""
        env = {k: v for k, v in self.vars.items() if k in self.exported}
        return State(script, self.cwd, env, {}, set(env), {}, args, self.user, self.chroot,
                     self.unpack, self.unpack_dir, root=self.root)


#: What the evaluator asks of the tree: the path a call's text names (None: not a file of the
#: tree), what a file is (``driver``, ``library``, ``script`` or ``other``) and its bytes.
Resolve = Callable[[str, str, str], "str | None"]
Kind = Callable[[str], str]
Read = Callable[[str], "bytes | None"]


class Evaluator:
    """Follows one driver (and what it calls) and collects the scripts it runs, in order."""

    def __init__(self, resolve: Resolve, kind: Kind, read: Read) -> None:
        self.resolve = resolve
        self.kind = kind
        self.read = read
        self.calls: list[Call] = []
        self.unresolved: list[Unresolved] = []
        self.drivers: list[str] = []
        self._stack: list[str] = []
        self._depth = 0
        self._top: tuple[str, int] | None = None
        #: files of the tree the driver copied, by where it copied them (a driver that copies
        #: its scripts into $LFS/sources/scripts and runs them from there in the chroot)
        self.copies: list[tuple[str, list[str]]] = []
        #: the shell a here-document feeds (set by _command when it finds one)
        self._stdin_state: State = State("", "/")

    # -- entry points --------------------------------------------------------------------------

    def run(self, path: str, state: State | None = None) -> None:
        """Follow the driver at ``path`` (from its own directory, as drivers are started)."""
        if state is None:
            state = State(path, os.path.dirname(path))
        self._file(path, state)

    def _file(self, path: str, state: State, *, driver: bool = True) -> None:
        if path in self._stack or self._depth > MAX_DEPTH:
            return
        data = self.read(path)
        if data is None:
            return
        if driver and path not in self.drivers:
            self.drivers.append(path)
        self._stack.append(path)
        try:
            self._block(parse(data).root_node, state)
        finally:
            self._stack.pop()

    def _text(self, text: str, state: State, line: int) -> None:
        """Evaluate a string of shell (``bash -c``, ``su -c``, a here-document)."""
        if self._depth > MAX_DEPTH:
            return
        self._depth += 1
        try:
            self._block(parse(text.encode("utf-8", errors="replace")).root_node, state, line)
        finally:
            self._depth -= 1

    # -- statements ----------------------------------------------------------------------------

    def _block(self, node: Node, state: State, base: int = 0) -> None:
        for child in node.named_children:
            self._statement(child, state, base)

    def _statement(self, node: Node, state: State, base: int = 0) -> None:  # noqa: PLR0912 (one step of the shell's forms, read best whole)
        kind = node.type
        if kind == "command":
            self._command(node, state, base)
        elif kind in ("variable_assignment", "variable_assignments"):
            self._assignments(node, state, export=False)
        elif kind == "declaration_command":
            self._declaration(node, state)
        elif kind == "function_definition":
            name = node.child_by_field_name("name")
            body = node.child_by_field_name("body")
            if name is not None and body is not None:
                state.functions[text_of(name)] = body
        elif kind in ("list", "compound_statement", "do_group", "else_clause", "elif_clause",
                      "program"):
            self._block(node, state, base)
        elif kind == "subshell":
            self._block(node, state.copy(), base)
        elif kind == "pipeline":
            self._pipeline(node, state, base)
        elif kind == "redirected_statement":
            self._redirected(node, state, base)
        elif kind == "if_statement":
            self._if(node, state, base)
        elif kind == "for_statement":
            self._for(node, state, base)
        elif kind in ("while_statement", "c_style_for_statement"):
            body = node.child_by_field_name("body")
            if body is not None:
                self._block(body, state, base)
        elif kind == "case_statement":
            self._case(node, state, base)
        elif kind == "negated_command":
            self._block(node, state, base)

    def _if(self, node: Node, state: State, base: int) -> None:
        # Every branch, in order: which one runs is rarely known, and the scripts of all of
        # them are the collection's (a script reached twice keeps its first place).
        # Each branch starts where the shell stood before the if: a cd or an unpacked tarball
        # of one branch is not the other's.
        where = (state.cwd, state.unpack, state.unpack_dir)
        for child in node.named_children:
            if node.field_name_for_child(_index(node, child)) == "condition":
                continue
            state.cwd, state.unpack, state.unpack_dir = where
            self._statement(child, state, base)

    def _pipeline(self, node: Node, state: State, base: int) -> None:
        parts = node.named_children
        last = parts[-1] if parts else None
        if last is not None and last.type == "while_statement" and len(parts) > 1:
            # cat list | while read a b; do ...; done: the loop reads the first command's file
            lines = self._producer_lines(parts[0], state)
            if lines is not None:
                self._while_read(last, state, lines, base)
                return
        for part in parts:
            self._statement(part, state.copy() if len(parts) > 1 else state, base)

    def _redirected(self, node: Node, state: State, base: int) -> None:
        body = node.child_by_field_name("body") or (node.named_children[0]
                                                    if node.named_children else None)
        if body is None:
            return
        heredoc = next((c for c in node.named_children if c.type == "heredoc_redirect"), None)
        if body.type == "while_statement":
            source = self._input_file(node, state)
            if source is not None:
                lines = self._file_lines(source, state)
                if lines is not None:
                    self._while_read(body, state, lines, base)
                    return
        if heredoc is not None and body.type == "command":
            body_node = next((c for c in heredoc.named_children if c.type == "heredoc_body"),
                             None)
            if body_node is not None and self._command(body, state, base, stdin=True):
                self._text(text_of(body_node), self._stdin_state, base + line_of(body_node) - 1)
                return
        self._statement(body, state, base)

    def _input_file(self, node: Node, state: State) -> str | None:
        for child in node.named_children:
            if child.type == "file_redirect" and text_of(child).lstrip().startswith("<"):
                target = child.child_by_field_name("destination") or (
                    child.named_children[-1] if child.named_children else None)
                if target is not None:
                    return self._value(target, state)
        return None

    def _producer_lines(self, node: Node, state: State) -> list[str] | None:
        """The lines a ``cat FILE``/``grep ... FILE``/``sed ... FILE`` before a pipe gives."""
        if node.type != "command":
            return None
        words = self._words(node, state)
        if not words or os.path.basename(words[0]) not in ("cat", "grep", "egrep", "sed",
                                                             "cut", "awk", "sort", "tac"):
            return None
        files = [w for w in words[1:] if not w.startswith("-") and not has_unknown(w)
                 and os.path.isfile(self._abs(w, state))]
        if not files:
            return None
        return self._file_lines(files[-1], state)

    def _file_lines(self, path: str, state: State) -> list[str] | None:
        if has_unknown(path):
            return None
        data = self.read(self._abs(path, state))
        if data is None:
            return None
        return data.decode("utf-8", errors="replace").splitlines()

    def _while_read(self, node: Node, state: State, lines: list[str], base: int) -> None:
        condition = node.child_by_field_name("condition")
        body = node.child_by_field_name("body")
        names = self._read_names(condition)
        if body is None or names is None:
            if body is not None:
                self._block(body, state, base)
            return
        for raw in lines[:MAX_LOOP]:
            text = raw.strip()
            if not text or text.startswith("#"):
                continue  # what every list-reading driver skips
            fields = text.split(None, max(len(names) - 1, 0)) if names else []
            for i, name in enumerate(names):
                state.vars[name] = fields[i] if i < len(fields) else ""
            self._block(body, state, base)

    def _read_names(self, condition: Node | None) -> list[str] | None:
        """The variables of ``while read [-r] A B`` (``REPLY`` when none), or None."""
        if condition is None:
            return None
        command = condition if condition.type == "command" else next(
            (c for c in _descendants(condition) if c.type == "command"), None)
        if command is None:
            return None
        words = [text_of(c) for c in command.named_children if c.type != "command_name"]
        name = command.child_by_field_name("name")
        if name is None or text_of(name) != "read":
            return None
        names, skip = [], False
        for word in words:
            if skip:
                skip = False
            elif word in ("-d", "-n", "-N", "-p", "-t", "-u", "-a"):
                skip = True
            elif not word.startswith("-"):
                names.append(word)
        return names or ["REPLY"]

    def _for(self, node: Node, state: State, base: int) -> None:
        variable = node.child_by_field_name("variable")
        body = node.child_by_field_name("body")
        if variable is None or body is None:
            return
        values = [c for c in node.children_by_field_name("value")]
        items: list[str] = []
        if values:
            for value in values:
                items.extend(self._word_list(value, state))
        else:
            items = list(state.args)
        name = text_of(variable)
        for item in items[:MAX_LOOP]:
            state.vars[name] = item
            self._block(body, state, base)

    def _case(self, node: Node, state: State, base: int) -> None:
        subject_node = node.child_by_field_name("value")
        subject = self._value(subject_node, state) if subject_node is not None else unknown("?")
        items = [c for c in node.named_children if c.type == "case_item"]
        known = not has_unknown(subject)
        running = False
        for item in items:
            if not running and known and not self._case_matches(item, subject, state):
                continue
            running = True
            for child in item.named_children:
                if item.field_name_for_child(_index(item, child)) == "value":
                    continue
                self._statement(child, state, base)
            if known:
                terminator = item.children[-1].type if item.children else ";;"
                if terminator not in (";&", ";;&"):
                    return
                running = terminator == ";&"

    def _case_matches(self, item: Node, subject: str, state: State) -> bool:
        for pattern in item.children_by_field_name("value"):
            text = self._value(pattern, state)
            if has_unknown(text) or any(fnmatch.fnmatchcase(subject, p) for p in text.split("|")):
                return True
        return False

    # -- assignments ---------------------------------------------------------------------------

    def _assignments(self, node: Node, state: State, *, export: bool) -> None:
        nodes = [node] if node.type == "variable_assignment" else node.named_children
        for assignment in nodes:
            if assignment.type == "variable_assignment":
                self._assign(assignment, state, export=export)

    def _assign(self, node: Node, state: State, *, export: bool) -> None:
        name_node = node.child_by_field_name("name")
        value = node.child_by_field_name("value")
        if name_node is None:
            return
        name = text_of(name_node)
        if name_node.type == "subscript":
            return  # one element of an array: rarely a word list
        append = "+=" in text_of(node)[len(name):len(name) + 2]
        if value is not None and value.type == "array":
            items = [w for child in value.named_children for w in self._word_list(child, state)]
            state.arrays[name] = state.arrays.get(name, []) + items if append else items
            state.vars[name] = items[0] if items else ""
        else:
            text = self._value(value, state) if value is not None else ""
            state.vars[name] = state.vars.get(name, "") + text if append else text
            state.arrays.pop(name, None)
        if export:
            state.exported.add(name)

    def _declaration(self, node: Node, state: State) -> None:
        keyword = node.children[0].type if node.children else ""
        export = keyword == "export" or any(text_of(c) in ("-x", "-gx", "-xg")
                                           for c in node.named_children if c.type == "word")
        for child in node.named_children:
            if child.type == "variable_assignment":
                self._assign(child, state, export=export)
            elif child.type == "variable_name" and export:
                state.exported.add(text_of(child))

    # -- commands ------------------------------------------------------------------------------

    def _command(self, node: Node, state: State, base: int, *, stdin: bool = False) -> bool:
        """Evaluate a simple command. With ``stdin``, say whether it is a shell reading its
        commands from standard input (a here-document), leaving its state in _stdin_state."""
        local: dict[str, str] = {}
        for child in node.named_children:
            if child.type == "variable_assignment":
                name = child.child_by_field_name("name")
                value = child.child_by_field_name("value")
                if name is not None:
                    local[text_of(name)] = self._value(value, state) if value else ""
        words = self._words(node, state)
        if not words:
            state.vars.update(local)
            return False
        line = base + line_of(node)
        return self._argv(words, state, line, local, stdin=stdin)

    def _argv(self, words: list[str], state: State, line: int, local: dict[str, str], *,
              stdin: bool = False) -> bool:
        context = state
        while words:
            program = os.path.basename(words[0])
            if program in PLAIN_WRAPPERS:
                words = _drop_options(words[1:], PLAIN_WRAPPERS[program],
                                      positional=1 if program == "timeout" else 0)
            elif program == "env":
                if any(w in ("-i", "-", "--ignore-environment") for w in words[1:3]):
                    context = context.copy()
                    context.exported = set()  # env -i: only what it sets goes through
                words = self._env_words(words[1:], local)
            elif program in ("sudo", "doas", "runuser", "setpriv"):
                context = context.copy()
                words = self._sudo(words, context)
            elif program == "su":
                return self._su(words[1:], context, line, local, stdin=stdin)
            elif program == "chroot":
                context = context.copy()
                words = _chroot(words[1:], context)
            else:
                break
        if not words:
            return False
        return self._run(words, context, state, line, local, stdin=stdin)

    def _run(self, words: list[str], context: State, state: State, line: int,  # noqa: PLR0912 (one step of the shell's forms, read best whole)
             local: dict[str, str], *, stdin: bool) -> bool:
        name = words[0]
        program = os.path.basename(name)
        if name in state.functions and context is state:
            self._function(name, words[1:], state, line)
        elif name in ("source", "."):
            if len(words) > 1:
                self._call(words[1], "source", words[2:], context, state, line, local)
        elif program in SHELLS:
            return self._shell(words, context, state, line, local, stdin=stdin)
        elif name in ("cd", "pushd", "popd"):
            _change_dir(words, state)
        elif name == "tar":
            self._tar(words[1:], state)
        elif name in ("cp", "install", "rsync"):
            self._copy(words[1:], state)
        elif name == "unset":
            for word in words[1:]:
                state.vars.pop(word, None)
                state.arrays.pop(word, None)
        elif name == "shift":
            count = int(words[1]) if len(words) > 1 and words[1].isdigit() else 1
            del state.args[:count]
        elif name == "set" and "--" in words:
            state.args = words[words.index("--") + 1:]
        elif name == "eval":
            self._text(" ".join(words[1:]), state, line - 1)
        elif "/" in name or name.endswith((".sh", ".bash")):
            self._call(name, "exec", words[1:], context, state, line, local)
        return False

    def _env_words(self, words: list[str], local: dict[str, str]) -> list[str]:
        """``env [-i] [-u NAME] [NAME=VALUE]... CMD``: the assignments go to ``local``."""
        rest = list(words)
        while rest:
            word = rest[0]
            if word in ("-u", "--unset", "-C", "--chdir", "-S"):
                rest = rest[2:]
            elif word.startswith("-"):
                rest = rest[1:]
            elif "=" in word and re.match(r"^[A-Za-z_]\w*=", word):
                key, _, value = word.partition("=")
                local[key] = value
                rest = rest[1:]
            else:
                break
        return rest

    def _sudo(self, words: list[str], context: State) -> list[str]:
        program = os.path.basename(words[0])
        rest = words[1:]
        user = "root"
        while rest and rest[0].startswith("-"):
            option = rest[0]
            if option == "--":
                rest = rest[1:]
                break
            if option in _SUDO_VALUE or (program == "runuser" and option in ("-u", "-g")):
                if option == "-u" and len(rest) > 1:
                    user = rest[1]
                rest = rest[2:]
            elif option.startswith("--reuid=") or option.startswith("--user="):
                user = option.split("=", 1)[1]
                rest = rest[1:]
            else:
                rest = rest[1:]
        while rest and re.match(r"^[A-Za-z_]\w*=", rest[0]):
            rest = rest[1:]  # sudo VAR=value command
        context.user = user
        return rest

    def _su(self, words: list[str], state: State, line: int, local: dict[str, str], *,
            stdin: bool) -> bool:
        user, command, rest = "root", None, list(words)
        positional: list[str] = []
        while rest:
            word = rest.pop(0)
            if word in ("-c", "--command", "--session-command") and rest:
                command = rest.pop(0)
            elif word in ("-s", "--shell", "-g", "-G", "-w") and rest:
                rest.pop(0)
            elif word.startswith("-"):
                continue
            elif user == "root" and not positional and command is None:
                user = word
                positional.append(word)
            else:
                positional.append(word)
        context = state.child(state.script, [])
        context.user = user
        if command is not None:
            self._text(command, context, line - 1)
            return False
        if stdin:
            self._stdin_state = context
            return True
        return False

    def _shell(self, words: list[str], context: State, state: State, line: int,
               local: dict[str, str], *, stdin: bool) -> bool:
        rest = words[1:]
        if os.path.basename(words[0]) == "busybox" and rest and rest[0] in ("sh", "ash"):
            rest = rest[1:]
        while rest and (rest[0].startswith("-") or rest[0].startswith("+")):
            option = rest.pop(0)
            if option == "--":
                break
            if option == "-c" or (option.startswith("-") and not option.startswith("--")
                                  and "c" in option[1:]):
                if rest:
                    child = context.child(state.script, rest[2:])
                    child.vars.update(local)
                    child.exported.update(local)
                    self._text(rest[0], child, line - 1)
                return False
            if option in _SHELL_VALUE and rest:
                rest.pop(0)
        if rest:
            self._call(rest[0], os.path.basename(words[0]), rest[1:], context, state, line,
                       local)
            return False
        if stdin:
            child = context.child(state.script, [])
            child.vars.update(local)
            child.exported.update(local)
            self._stdin_state = child
            return True
        return False

    def _function(self, name: str, args: list[str], state: State, line: int) -> None:
        if self._depth > MAX_DEPTH:
            return
        saved = state.args
        state.args = list(args)
        self._depth += 1
        outer = self._top
        if outer is None:  # calls inside the function are reported at the function's call
            self._top = (state.script, line)
        try:
            self._statement(state.functions[name], state)
        finally:
            self._depth -= 1
            state.args = saved
            self._top = outer

    def _tar(self, words: list[str], state: State) -> None:
        """``tar xf ARCHIVE [-C DIR]``: remember the archive for the scripts run inside it."""
        flags = words[0] if words and not words[0].startswith("-") else ""
        options = [w for w in words if w.startswith("-")]
        extract = "x" in flags or any(("x" in o and not o.startswith("--")) or o in (
            "--extract", "--get") for o in options)
        if not extract:
            return
        archive = next((w for w in words if _ARCHIVE.search(w) or ("*" in w and ".tar" in w)),
                       None)
        if archive is None:
            return
        target = state.cwd
        if "-C" in words and words.index("-C") + 1 < len(words):
            target = _join(state.cwd, words[words.index("-C") + 1])
        state.unpack = _join(state.cwd, archive) if "/" in archive else archive
        state.unpack_dir = target

    def _copy(self, words: list[str], state: State) -> None:
        """``cp FILE... DIR``: remember where the tree's files went."""
        args = [w for w in words if not w.startswith("-")]
        if len(args) < 2:
            return
        sources = [found for text in args[:-1]
                   if (found := self.resolve(text, state.cwd, state.script)) is not None]
        if sources:
            self.copies.append((_join(state.cwd, args[-1]), sources))

    def _copied(self, target: str, cwd: str, root: str) -> str | None:
        """The tree file a call runs from where the driver copied it, or None (``root``:
        the chroot the call runs in, where its paths are)."""
        full = target if target.startswith("/") or has_unknown(target) else _join(cwd, target)
        if root and full.startswith("/"):
            full = root + full
        tail = full.rsplit(_MARK, 1)[-1]
        name = os.path.basename(tail)
        for destination, sources in reversed(self.copies):
            where = destination.rsplit(_MARK, 1)[-1].rstrip("/")
            if not where or not (tail.startswith(where + "/") or tail == where):
                continue
            match = [p for p in sources if os.path.basename(p) == name]
            if match:
                return match[0]
        return None

    # -- calls ---------------------------------------------------------------------------------

    def _call(self, target: str, how: str, args: list[str], context: State, state: State,  # noqa: PLR0917 (one step of the shell's forms, read best whole)
              line: int, local: dict[str, str]) -> None:
        driver, at = self._top or (state.script, line)
        path = self._copied(target, context.cwd, context.root) if self.copies else None
        if path is None:
            path = self.resolve(target, context.cwd, state.script)
        if path is None:
            if target.endswith((".sh", ".bash")) or (has_unknown(target) and how != "exec"):
                why = ("its name is computed at run time" if has_unknown(target)
                       else "no such file in the tree")
                self.unresolved.append(Unresolved(driver, at, shown_value(target), why))
            return
        kind = self.kind(path)
        if kind == "library":
            if how == "source":
                self._file(path, state, driver=False)
            return
        if kind == "other":
            return
        if kind == "driver":
            if how == "source":
                inner = state
            else:
                inner = context.child(path, args)
                inner.vars.update(local)
                inner.exported.update(local)
            outer = self._top
            self._top = (driver, at)
            try:
                self._file(path, inner)
            finally:
                self._top = outer
            return
        self.calls.append(self._make_call(path, how, context, state, driver, at, local))

    def _make_call(self, path: str, how: str, context: State, state: State, driver: str,  # noqa: PLR0917 (one step of the shell's forms, read best whole)
                   line: int, local: dict[str, str]) -> Call:
        names = set(state.vars) if how == "source" else set(context.exported)
        env = {name: shown_value(context.vars[name]) for name in sorted(names)
               if name in context.vars and context.vars[name] != unknown(name)}
        env.update({k: shown_value(v) for k, v in local.items()})
        cwd = context.cwd
        unpack = workdir = None
        if context.unpack is not None and context.unpack_dir is not None and (
                cwd != context.unpack_dir):
            unpack = shown_value(context.unpack)
            top = context.unpack_dir.rstrip("/") + "/"
            inner = cwd[len(top):] if cwd.startswith(top) else ""
            # the first component is the unpacked top directory; what follows is the workdir
            workdir = inner.partition("/")[2] or None
        elif cwd != os.path.dirname(path):
            workdir = shown_value(cwd)
        return Call(path, driver, line, how, context.user, context.chroot, env, workdir, unpack)

    # -- words ---------------------------------------------------------------------------------

    @staticmethod
    def _abs(path: str, state: State) -> str:
        if path.startswith("/") or has_unknown(path) or has_unknown(state.cwd):
            return path
        return _join(state.cwd, path)

    def _words(self, node: Node, state: State) -> list[str]:
        words: list[str] = []
        for child in node.named_children:
            if child.type == "variable_assignment":
                continue
            if child.type == "command_name":
                words.extend(self._word_list(child.named_children[0], state)
                             if child.named_children else [])
            elif child.type in ("file_redirect", "heredoc_redirect", "herestring_redirect"):
                continue
            else:
                words.extend(self._word_list(child, state))
        return words

    def _word_list(self, node: Node, state: State) -> list[str]:  # noqa: PLR0911 (one step of the shell's forms, read best whole)
        """The words ``node`` expands to: split where an unquoted expansion splits, arrays
        expanded, globs matched against the files beside the driver."""
        kind = node.type
        if kind in ("simple_expansion", "expansion"):
            array = self._array(node, state)
            if array is not None:
                return array
            return self._value(node, state).split()
        if kind == "command_substitution":
            return self._value(node, state).split()
        if kind in ("string", "raw_string", "ansi_c_string"):
            if kind == "string":
                array = next((self._array(c, state) for c in node.named_children
                              if c.type == "expansion"), None)
                if array is not None and len(node.named_children) == 1:
                    return array
            return [self._value(node, state)]
        value = self._value(node, state)
        if kind in ("word", "concatenation") and any(c in value for c in "*?[") and (
                not has_unknown(value)) and not has_unknown(state.cwd):
            matches = sorted(glob.glob(self._abs(value, state)))
            if matches:
                return matches if os.path.isabs(value) else [
                    os.path.relpath(m, state.cwd) for m in matches]
        return [value]

    def _array(self, node: Node, state: State) -> list[str] | None:
        """``${ARR[@]}``/``${ARR[*]}``/``$@``: its elements, or None when not an array."""
        if node.type == "simple_expansion":
            name = text_of(node)[1:]
            return list(state.args) if name in ("@", "*") else None
        sub = next((c for c in node.named_children if c.type == "subscript"), None)
        if sub is None:
            return None
        name_node = sub.child_by_field_name("name")
        index = sub.child_by_field_name("index")
        if name_node is None or index is None or text_of(index) not in ("@", "*"):
            return None
        return list(state.arrays.get(text_of(name_node), []))

    def _value(self, node: Node | None, state: State) -> str:  # noqa: PLR0911 (one step of the shell's forms, read best whole)
        """The text ``node`` expands to, with markers for what is not known."""
        if node is None:
            return ""
        kind = node.type
        if kind in ("word", "number"):
            text = text_of(node)
            return re.sub(r"\\(.)", r"\1", text) if "\\" in text else text
        if kind == "raw_string":
            return text_of(node)[1:-1]
        if kind == "ansi_c_string":
            return text_of(node)[2:-1]
        if kind == "string_content":
            return text_of(node)
        if kind in ("string", "concatenation", "translated_string"):
            return self._concatenate(node, state)
        if kind == "simple_expansion":
            return self._variable(text_of(node)[1:], state)
        if kind == "expansion":
            return self._expansion(node, state)
        if kind == "command_substitution":
            return self._substitution(node, state)
        return unknown("?")

    def _concatenate(self, node: Node, state: State) -> str:
        if node.type == "string" and not node.named_children:
            return text_of(node)[1:-1]
        parts = []
        if node.type == "string":
            # the text between named children (string_content is not always a node)
            data = node.text or b""
            at = node.start_byte + 1
            for child in node.named_children:
                if child.start_byte > at:
                    parts.append(data[at - node.start_byte:child.start_byte - node.start_byte]
                                 .decode("utf-8", errors="replace"))
                parts.append(self._value(child, state))
                at = child.end_byte
            if node.end_byte - 1 > at:
                parts.append(data[at - node.start_byte:-1].decode("utf-8", errors="replace"))
            return "".join(parts)
        return "".join(self._value(child, state) for child in node.children)

    def _variable(self, name: str, state: State) -> str:  # noqa: PLR0911 (one step of the shell's forms, read best whole)
        if name == "0":
            return state.script
        if name.isdigit():
            index = int(name) - 1
            return state.args[index] if 0 <= index < len(state.args) else ""
        if name in ("@", "*"):
            return " ".join(state.args)
        if name == "#":
            return str(len(state.args))
        if name == "PWD":
            return state.cwd
        if name in state.vars:
            return state.vars[name]
        return unknown(name)

    def _expansion(self, node: Node, state: State) -> str:  # noqa: PLR0911 (one step of the shell's forms, read best whole)
        children = node.named_children
        if not children:
            return unknown("?")
        first = children[0]
        if first.type == "subscript":
            name_node = first.child_by_field_name("name")
            name = text_of(name_node) if name_node is not None else "?"
            index = first.child_by_field_name("index")
            if name == "BASH_SOURCE":
                return state.script
            items = state.arrays.get(name)
            if items is not None and index is not None and text_of(index).isdigit():
                i = int(text_of(index))
                return items[i] if i < len(items) else ""
            if items is not None and index is not None and text_of(index) in ("@", "*"):
                return " ".join(items)
            return unknown(name)
        if first.type not in ("variable_name", "special_variable_name"):
            return unknown("?")
        text = text_of(node)
        if text.startswith("${#") or text.startswith("${!"):
            return unknown("?")
        name = text_of(first)
        value = self._variable(name, state)
        operator = node.child_by_field_name("operator")
        if operator is None:
            return value
        op = text_of(operator)
        operand = "".join(self._value(c, state) for c in children[1:])
        return _operate(value, op, operand, name)

    def _substitution(self, node: Node, state: State) -> str:
        """What ``$(...)`` gives, for the few commands whose output is known statically."""
        inner = node.named_children
        if len(inner) != 1:
            return unknown("?")
        command = inner[0]
        if command.type == "list":
            # $(cd "$(dirname "$0")" && pwd): the directory the cd reaches
            parts = [c for c in command.named_children if c.type == "command"]
            if len(parts) == 2 and text_of(parts[1]).strip() in ("pwd", "pwd -P"):
                words = self._words(parts[0], state)
                if words[:1] == ["cd"] and len(words) == 2:
                    return _join(state.cwd, words[1])
            return unknown("?")
        if command.type == "redirected_statement" and text_of(command).startswith("<"):
            source = self._input_file(command, state)  # $(< FILE)
            lines = self._file_lines(source, state) if source is not None else None
            return unknown("?") if lines is None else _list_words(lines)
        if command.type != "command":
            return unknown("?")
        words = self._words(command, state)
        return _known_output(words, state, self) if words else unknown("?")


def _operate(value: str, op: str, operand: str, name: str) -> str:  # noqa: PLR0911 (one step of the shell's forms, read best whole)
    """``${NAME<op>operand}`` for the operators drivers use."""
    unset = value == unknown(name)
    if op in (":-", "-", ":=", "="):
        return operand if unset or (op.startswith(":") and not value) else value
    if op in (":+", "+"):
        return unknown(name) if unset else (operand if value or op == "+" else "")
    if has_unknown(value) and op in ("%", "%%"):
        return value if has_unknown(value[-3:]) else _trim_end(value, operand, op == "%%")
    if has_unknown(value) and op in ("#", "##"):
        return value if value.startswith(_MARK) else _trim_start(value, operand, op == "##")
    if op in ("%", "%%"):
        return _trim_end(value, operand, op == "%%")
    if op in ("#", "##"):
        return _trim_start(value, operand, op == "##")
    if op in ("/", "//"):
        pattern, _, replacement = operand.partition("/")
        return value.replace(pattern, replacement, -1 if op == "//" else 1)
    if op in (":?", "?"):
        return value
    return unknown(name)


def _trim_end(value: str, pattern: str, longest: bool) -> str:
    cuts = range(len(value) + 1) if longest else range(len(value), -1, -1)
    for i in cuts:
        if fnmatch.fnmatchcase(value[i:], pattern):
            return value[:i]
    return value


def _trim_start(value: str, pattern: str, longest: bool) -> str:
    cuts = range(len(value), -1, -1) if longest else range(len(value) + 1)
    for i in cuts:
        if fnmatch.fnmatchcase(value[:i], pattern):
            return value[i:]
    return value


def _known_output(words: list[str], state: State, evaluator: Evaluator) -> str:
    program = os.path.basename(words[0])
    args = [w for w in words[1:] if not w.startswith("-")]
    if program == "dirname" and args:
        return os.path.dirname(args[0].rstrip("/")) or "."
    if program == "basename" and args:
        base = os.path.basename(args[0].rstrip("/"))
        return base[: -len(args[1])] if len(args) > 1 and base.endswith(args[1]) else base
    if program in ("realpath", "readlink") and args:
        return _join(state.cwd, args[0])
    if program == "pwd":
        return state.cwd
    if program in ("cat", "grep", "sed", "cut") and args and not has_unknown(args[-1]):
        lines = evaluator._file_lines(args[-1], state)
        if lines is not None:
            return _list_words(lines)
    return unknown("?")


def _list_words(lines: list[str]) -> str:
    """A list file's words, comments left out (``for p in $(cat list)``)."""
    return " ".join(line.split("#", 1)[0].strip() for line in lines
                    if line.split("#", 1)[0].strip())


def _drop_options(words: list[str], valued: tuple[str, ...], positional: int = 0) -> list[str]:
    rest = list(words)
    while rest and rest[0].startswith("-") and rest[0] != "-":
        option = rest.pop(0)
        if option == "--":
            break
        if option in valued and rest:
            rest.pop(0)
    return rest[positional:]


def _chroot(words: list[str], context: State) -> list[str]:
    rest = list(words)
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in _CHROOT_VALUE and rest:
            rest.pop(0)
        elif option.startswith("--userspec="):
            user = option.split("=", 1)[1].split(":", 1)[0]
            context.user = "root" if user == "0" else user
    if not rest:
        return []
    context.root = rest.pop(0).rstrip("/")  # the new root
    context.chroot = True
    context.user = context.user or "root"
    context.cwd = "/"  # chroot(8) starts the command in the new root's /
    context.unpack = context.unpack_dir = None
    return rest or ["/bin/sh"]


def _change_dir(words: list[str], state: State) -> None:
    command = words[0]
    if command == "popd":
        if state.dirs:
            state.cwd = state.dirs.pop()
        return
    target = next((w for w in words[1:] if not w.startswith("-") or w == "-"), None)
    if command == "pushd":
        state.dirs.append(state.cwd)
    if target is None:
        state.cwd = unknown("HOME")
    elif target != "-":
        state.cwd = _join(state.cwd, target)


def _join(cwd: str, path: str) -> str:
    """``path`` from ``cwd``, normalised (``..`` taken back where the parent is known)."""
    if any(c in path for c in "*?[") and not has_unknown(path) and not has_unknown(cwd):
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


def _index(parent: Node, child: Node) -> int:
    for i, candidate in enumerate(parent.children):
        if candidate.id == child.id:
            return i
    return -1


def _descendants(node: Node) -> Iterator[Node]:
    for child in node.named_children:
        yield child
        yield from _descendants(child)
