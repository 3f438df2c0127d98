"""The simple commands of a driver, as :class:`~lfsplug_discovery.evaluate.Evaluator` runs
them statically: assignments, the wrappers taken off (:mod:`.wrappers`), shells and their
``-c`` strings, functions, the builtins that change what the shell knows (``cd``, ``tar x``,
``cp``, ``set --``, ``shift``, ``exit``...), and the calls of the tree's files: a script
becomes a :class:`~lfsplug_discovery.callsite.Call`, a driver is followed, a library sourced.

:class:`Commands` holds what the walk knows; the evaluator adds the files, strings and
statements it walks (:meth:`Commands._file`, :meth:`Commands._text`,
:meth:`Commands._statement` are its).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lfsplug_discovery.callsite import (
    Call,
    Unresolved,
    change_dir,
    copied,
    extracted,
    make_call,
)
from lfsplug_discovery.expand import (
    OWN,
    Expander,
    Inside,
    Match,
    State,
    has_unknown,
    join,
    shown_value,
    unknown,
)
from lfsplug_discovery.wrappers import SHELLS, Wrapped, shell_words, unwrap
from lfsplug_shell import line_of, text_of

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["Commands", "Kind", "LeaveError", "Read", "Resolve"]

#: The deepest a driver may nest (calls, functions, strings): a guard against recursion.
MAX_DEPTH = 40


class LeaveError(Exception):
    """A jump that surely runs: ``exit``/``exec`` (ends the shell), ``return`` (ends a
    function or a sourced file), ``break``/``continue`` (a loop)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


#: What the evaluator asks of the tree: the path a call's text names (None: not a file of the
#: tree), what a file is (``driver``, ``library``, ``script`` or ``other``) and its bytes.
Resolve = Callable[[str, str, str], "str | None"]
Kind = Callable[[str], str]
Read = Callable[[str], "bytes | None"]
_Builtin = Callable[["Commands", list[str], State, int], None]


class Commands:
    """What the walk of a driver knows, and how it runs a simple command (see the module
    docstring)."""

    def __init__(self, resolve: Resolve, kind: Kind, read: Read,
                 match: Match | None = None, inside: Inside | None = None) -> None:
        self.resolve = resolve
        self.kind = kind
        self.read = read
        self.words = Expander(read, match, inside)
        self.calls: list[Call] = []
        self.unresolved: list[Unresolved] = []
        self.drivers: list[str] = []
        #: files of the tree the driver copied, by where it copied them (a driver that copies
        #: its scripts into $LFS/sources/scripts and runs them from there in the chroot)
        self.copies: list[tuple[str, list[str]]] = []
        self._stack: list[str] = []
        self._depth = 0
        self._top: tuple[str, int] | None = None
        #: how many branches not known to run the walk is in (an exit there ends nothing)
        self._doubt = 0
        #: how many functions and sourced files the walk is in (where ``return`` ends one),
        #: and how many loops (where ``break`` and ``continue`` do)
        self._returnable = 0
        self._loops = 0
        self._steps = 0
        #: the shell a here-document feeds (set by _command when it finds one)
        self._stdin_state: State = State("", "/")

    # -- what the evaluator walks --------------------------------------------------------------

    def _file(self, path: str, state: State, *, driver: bool = True,
              sourced: str | None = None) -> None:
        """Follow a file of the tree (a driver called or sourced, a library)."""
        raise NotImplementedError

    def _text(self, text: str, state: State, line: int, *, shell: bool = True) -> None:
        """Follow a string of shell (``bash -c``, ``su -c``, ``eval``, a here-document)."""
        raise NotImplementedError

    def _statement(self, node: Node, state: State, base: int = 0) -> None:
        """Follow one statement (a function's body)."""
        raise NotImplementedError

    # -- bookkeeping ---------------------------------------------------------------------------

    def _unresolved(self, state: State, line: int, text: str, why: str) -> None:
        driver, at = self._top or (state.script, line)
        self.unresolved.append(Unresolved(driver, at, text, why))

    @contextmanager
    def _doubtful(self) -> Iterator[None]:
        """Within: a branch that may not run (an exit there ends nothing for sure)."""
        self._doubt += 1
        try:
            yield
        finally:
            self._doubt -= 1

    # -- assignments ---------------------------------------------------------------------------

    def _assignments(self, node: Node, state: State, base: int) -> None:
        nodes = [node] if node.type == "variable_assignment" else node.named_children
        for assignment in nodes:
            if assignment.type == "variable_assignment":
                self._assign(assignment, state, export=False)

    def _assign(self, node: Node, state: State, *, export: bool) -> None:
        assigned = self._assigned(node, state)
        if assigned is None:
            return
        name, text, items = assigned
        if items is None:
            state.arrays.pop(name, None)
        else:
            state.arrays[name] = items
        state.vars[name] = unknown(name) if name in OWN else text
        if export:
            state.exported.add(name)

    def _assigned(self, node: Node, state: State) -> tuple[str, str, list[str] | None] | None:
        """The variable an assignment sets, its value and, for an array, its elements (``+=``
        appends); None for one element of an array (rarely a word list)."""
        name_node = node.child_by_field_name("name")
        if name_node is None or name_node.type == "subscript":
            return None
        name = text_of(name_node)
        operator = next((c for c in node.children if c.type in ("=", "+=")), None)
        values = [c for c in node.children if operator is not None
                  and c.start_byte >= operator.end_byte]
        append = operator is not None and operator.type == "+="
        if len(values) == 1 and values[0].type == "array":
            items = self.words.expand(values[0].named_children, state)
            items = state.arrays.get(name, []) + items if append else items
            return name, items[0] if items else "", items
        text = self.words.joined(values, state)
        return name, state.vars.get(name, "") + text if append else text, None

    def _declaration(self, node: Node, state: State, base: int) -> None:
        keyword = node.children[0].type if node.children else ""
        export = keyword == "export" or any(
            c.type == "word" and text_of(c).startswith("-") and "x" in text_of(c)
            for c in node.named_children)
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
            assigned = self._assigned(child, state) if child.type == "variable_assignment" \
                else None
            if assigned is not None:
                local[assigned[0]] = assigned[1]
        words = self.words.words(node, state)
        if not words:
            state.vars.update(local)
            return False
        return self._argv(words, state, base + line_of(node), local, stdin=stdin)

    def _argv(self, words: list[str], state: State, line: int, local: dict[str, str], *,
              stdin: bool = False) -> bool:
        """Run a command's words: through its wrappers (as whom, where), then the command."""
        wrapped = unwrap(words, state, local)
        if wrapped.su is not None:
            return self._su(wrapped, line, stdin=stdin)
        if not wrapped.words:
            return False
        took_stdin = self._run(wrapped, state, line, local, stdin=stdin)
        if wrapped.replaces and not took_stdin and self._doubt == 0:
            raise LeaveError("exit")  # exec: the driver goes no further
        return took_stdin

    def _run(self, wrapped: Wrapped, state: State, line: int, local: dict[str, str], *,
             stdin: bool) -> bool:
        words, context = wrapped.words, wrapped.context
        name = words[0]
        if name in state.functions and context is state:
            self._function(name, words[1:], state, line)
        elif name in ("source", ".") and len(words) > 1:
            self._call(words[1], "source", words[2:], context, state, line=line, local=local)
        elif os.path.basename(name) in SHELLS:
            return self._shell_command(words, context, state, line, local, stdin=stdin)
        elif name in _BUILTINS:
            _BUILTINS[name](self, words, state, line)
        elif "/" in name or name.endswith((".sh", ".bash")):
            self._call(name, "exec", words[1:], context, state, line=line, local=local)
        return False

    def _su(self, wrapped: Wrapped, line: int, *, stdin: bool) -> bool:
        """``su [-] USER [-c CMD]``: the command string in the user's shell, or the shell
        that reads a here-document."""
        context, command = wrapped.context, wrapped.su
        if command:
            self._text(command, context, line - 1)
            return False
        if stdin:
            self._stdin_state = context
            return True
        return False

    def _shell_command(self, words: list[str], context: State, state: State, line: int,
                       local: dict[str, str], *, stdin: bool) -> bool:
        """``bash [OPTIONS] SCRIPT ARGS``, ``bash -c STRING``, ``bash`` reading stdin."""
        command, rest = shell_words(words)
        if command is not None:
            child = context.child(state.script, rest[1:])
            child.vars.update(local)
            child.exported.update(local)
            self._text(command, child, line - 1)
            return False
        if rest:
            self._call(rest[0], os.path.basename(words[0]), rest[1:], context, state,
                       line=line, local=local)
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
        self._returnable += 1
        outer = self._top
        if outer is None:  # calls inside the function are reported at the function's call
            self._top = (state.script, line)
        try:
            self._statement(state.functions[name], state)
        except LeaveError as stop:
            if stop.kind != "return":
                raise
        finally:
            self._depth -= 1
            self._returnable -= 1
            state.args = saved
            self._top = outer

    # -- builtins ------------------------------------------------------------------------------

    def _cd(self, words: list[str], state: State, line: int) -> None:
        change_dir(words, state)

    def _tar(self, words: list[str], state: State, line: int) -> None:
        extracted(words[1:], state)

    def _copy(self, words: list[str], state: State, line: int) -> None:
        """``cp FILE... DIR``: remember where the tree's files went."""
        args = [w for w in words[1:] if not w.startswith("-")]
        if len(args) < 2:
            return
        sources = [found for text in args[:-1]
                   if (found := self.resolve(text, state.cwd, state.script)) is not None]
        if sources:
            self.copies.append((join(state.cwd, args[-1]), sources))

    def _unset(self, words: list[str], state: State, line: int) -> None:
        for word in words[1:]:
            state.vars.pop(word, None)
            state.arrays.pop(word, None)

    def _shift(self, words: list[str], state: State, line: int) -> None:
        if state.args is not None:
            count = int(words[1]) if len(words) > 1 and words[1].isdigit() else 1
            del state.args[:count]

    def _set(self, words: list[str], state: State, line: int) -> None:
        if "--" in words:
            state.args = words[words.index("--") + 1:]

    def _eval(self, words: list[str], state: State, line: int) -> None:
        self._text(" ".join(words[1:]), state, line - 1, shell=False)

    def _jump(self, words: list[str], state: State, line: int) -> None:
        """``exit``, ``return``, ``break``, ``continue``, where they surely run and mean
        something (bash ignores a ``return`` outside a function, a ``break`` outside a loop)."""
        kind = words[0]
        where = {"exit": 1, "return": self._returnable, "break": self._loops,
                 "continue": self._loops}
        if self._doubt == 0 and where[kind]:
            raise LeaveError(kind)

    # -- calls ---------------------------------------------------------------------------------

    def _call(self, target: str, how: str, args: list[str], context: State, state: State, *,
              line: int, local: dict[str, str]) -> None:
        path = copied(self.copies, target, context.cwd, context.root) if self.copies else None
        if path is None:
            path = self.resolve(target, context.cwd, state.script)
        if path is None:
            if target.endswith((".sh", ".bash")) or (has_unknown(target) and how != "exec"):
                why = ("its name is computed at run time" if has_unknown(target)
                       else "no such file in the tree")
                self._unresolved(state, line, shown_value(target), why)
            return
        kind = self.kind(path)
        # $0 and BASH_SOURCE are the path as the driver names it (in a chroot: its path there)
        named = target if target.startswith("/") or has_unknown(target) else join(
            context.cwd, target)
        if kind == "library" and how == "source":
            self._file(path, state, driver=False, sourced=named)
        elif kind == "driver":
            self._driver(path, named, how, context, state, args=args, line=line, local=local)
        elif kind == "script":
            driver, at = self._top or (state.script, line)
            self.calls.append(make_call(path, how, context, state, (driver, at), local=local))

    def _driver(self, path: str, named: str, how: str, context: State, state: State, *,
                args: list[str], line: int, local: dict[str, str]) -> None:
        """Follow a driver the driver calls (sourced: in its own shell)."""
        outer = self._top
        self._top = outer or (state.script, line)
        try:
            if how == "source":
                self._file(path, state, sourced=named)
                return
            inner = context.child(path, args)
            inner.zero = inner.source = named
            inner.vars.update(local)
            inner.exported.update(local)
            self._file(path, inner)
        finally:
            self._top = outer


_BUILTINS: dict[str, _Builtin] = {
    "cd": Commands._cd, "pushd": Commands._cd, "popd": Commands._cd,
    "tar": Commands._tar, "cp": Commands._copy, "install": Commands._copy,
    "rsync": Commands._copy, "unset": Commands._unset, "shift": Commands._shift,
    "set": Commands._set, "eval": Commands._eval,
    **dict.fromkeys(("exit", "return", "break", "continue"), Commands._jump),
}
