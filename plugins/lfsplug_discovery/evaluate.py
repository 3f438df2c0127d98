"""Following a driver script statically: which scripts it runs, in what order, and how.

A driver (``run-all.sh``, ``build.sh``, a per-chapter driver) runs the build scripts of its
collection. :class:`Evaluator` reads it with the tree-sitter-bash parser and walks its
statements as bash would run them, without running anything: variables assigned literally,
word lists and arrays, ``for`` loops (over words, variables and globs), ``while read`` loops over
list files, ``case`` with fall-through (resume points), functions with their arguments, ``if``
branches, subshells, here-documents given to a shell, ``bash -c``/``su -c`` strings, and the
wrappers that say how a script must run (:mod:`.wrappers`: ``sudo``, ``su USER``,
``chroot DIR``, ``env``, ``time``...). Every call of a file of the tree becomes a :class:`Call`
with the environment the driver exports at that point, the directory it runs in and the
tarball it unpacked for it. Words are expanded by :mod:`.expand`.

Where a branch is not known (``if``, the right side of ``&&``/``||``, a ``case`` on an unknown
value) every branch is followed in order; an ``exit``, ``return`` or ``exec`` that surely runs
ends what it ends. What cannot be followed (a name computed at run time, a syntax error, a
driver too long to follow) becomes an :class:`Unresolved` at the driver's line. A driver is
never executed.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from lfsplug_discovery.callsite import Call, Unresolved, change_dir, extracted, make_call
from lfsplug_discovery.conditions import arms, truth
from lfsplug_discovery.expand import (
    OWN,
    Expander,
    Match,
    State,
    has_unknown,
    join,
    shown_value,
    unknown,
)
from lfsplug_discovery.wrappers import SHELLS, Wrapped, shell_words, unwrap
from lfsplug_shell import line_of, parse, text_of

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["Call", "Evaluator", "State", "Unresolved", "has_unknown", "shown_value", "unknown"]

_LAST_FALL_THROUGH = re.compile(rb"(;;?&)(\s*esac\b)")
#: The deepest a driver may nest (calls, functions, strings): a guard against recursion.
MAX_DEPTH = 40
#: The most statements one driver is followed through (a guard against nested loops of
#: thousands); a real collection's drivers take a few thousand.
MAX_STEPS = 50_000


class _LeaveError(Exception):
    """A jump that surely runs: ``exit``/``exec`` (ends the shell), ``return`` (ends a
    function or a sourced file), ``break``/``continue`` (a loop)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


class _BudgetError(Exception):
    """The driver runs more than :data:`MAX_STEPS` statements: following it stops."""


#: What the evaluator asks of the tree: the path a call's text names (None: not a file of the
#: tree), what a file is (``driver``, ``library``, ``script`` or ``other``) and its bytes.
Resolve = Callable[[str, str, str], "str | None"]
Kind = Callable[[str], str]
Read = Callable[[str], "bytes | None"]
_Statement = Callable[["Evaluator", "Node", State, int], None]
_Builtin = Callable[["Evaluator", list[str], State, int], None]


class Evaluator:
    """Follows one driver (and what it calls) and collects the scripts it runs, in order."""

    def __init__(self, resolve: Resolve, kind: Kind, read: Read,
                 match: Match | None = None) -> None:
        self.resolve = resolve
        self.kind = kind
        self.read = read
        self.words = Expander(read, match)
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

    # -- files and strings ---------------------------------------------------------------------

    def run(self, path: str, state: State | None = None) -> None:
        """Follow the driver at ``path`` (from its own directory, as drivers are started, with
        the arguments a user gives it, which are not known)."""
        if state is None:
            state = State(path, os.path.dirname(path), args=None)
        try:
            self._file(path, state)
        except _BudgetError:
            pass  # noted where it happened
        except RecursionError:  # nested deeper than Python goes: what was found stands
            self._unresolved(state, 1, os.path.basename(path), "the driver nests too deep "
                             "for lfsplug to follow")

    def _file(self, path: str, state: State, *, driver: bool = True,
              sourced: str | None = None) -> None:
        """Follow the file at ``path``: in a shell of its own, or ``sourced`` (its path as
        the driver names it) in the state's."""
        if path in self._stack or self._depth > MAX_DEPTH:
            return
        data = self.read(path)
        if data is None:
            return
        if driver and path not in self.drivers:
            self.drivers.append(path)
        self._stack.append(path)
        try:
            root = _parse(data)
            self._check_syntax(root, state, 0)
            if sourced is not None:
                self._sourced(root, state, sourced)
            else:
                self._shell(root, state, 0)
        finally:
            self._stack.pop()

    def _text(self, text: str, state: State, line: int, *, shell: bool = True) -> None:
        """Evaluate a string of shell: a new shell's (``bash -c``, ``su -c``, a here-document)
        or, without ``shell``, the driver's own (``eval``)."""
        if self._depth > MAX_DEPTH:
            return
        self._depth += 1
        try:
            root = _parse(text.encode("utf-8", errors="replace"))
            self._check_syntax(root, state, line)
            if shell:
                self._shell(root, state, line)
            else:
                self._block(root, state, line)
        finally:
            self._depth -= 1

    def _shell(self, node: Node, state: State, base: int) -> None:
        """Evaluate ``node`` as a shell of its own (a script, a subshell): an exit ends it
        alone, and where it surely runs is counted from its start."""
        saved = self._doubt, self._returnable, self._loops
        self._doubt = self._returnable = self._loops = 0
        try:
            self._block(node, state, base)
        except _LeaveError:
            pass
        finally:
            self._doubt, self._returnable, self._loops = saved

    def _sourced(self, node: Node, state: State, named: str) -> None:
        """Evaluate a sourced file in the driver's shell: ``return`` ends the file, ``exit``
        the driver."""
        self._returnable += 1
        outer, state.source = state.source, named
        try:
            self._block(node, state, 0)
        except _LeaveError as stop:
            if stop.kind != "return":
                raise
        finally:
            self._returnable -= 1
            state.source = outer

    def _check_syntax(self, root: Node, state: State, base: int) -> None:
        """Note the first part of a driver the parser could not read (a syntax error)."""
        if not root.has_error:
            return
        bad = _first_error(root)
        if bad is None:
            return
        row = bad.start_point[0]
        lines = (root.text or b"").decode("utf-8", errors="replace").splitlines()
        text = lines[row].strip() if row < len(lines) else text_of(bad)
        self._unresolved(state, base + row + 1, text[:80], "lfsplug cannot parse the driver "
                         "from here on (a syntax error?)")

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

    # -- statements ----------------------------------------------------------------------------

    def _block(self, node: Node, state: State, base: int = 0) -> None:
        for child in node.named_children:
            self._statement(child, state, base)

    def _statement(self, node: Node, state: State, base: int = 0) -> None:
        self._steps += 1
        if self._steps > MAX_STEPS:
            self._unresolved(state, base + line_of(node), text_of(node).split("\n")[0][:80],
                             f"the driver runs more than {MAX_STEPS} statements: lfsplug "
                             "stops following it here")
            raise _BudgetError
        handler = _STATEMENTS.get(node.type)
        if handler is not None:
            handler(self, node, state, base)

    def _simple(self, node: Node, state: State, base: int) -> None:
        self._command(node, state, base)

    def _function_definition(self, node: Node, state: State, base: int) -> None:
        name = node.child_by_field_name("name")
        body = node.child_by_field_name("body")
        if name is not None and body is not None:
            state.functions[text_of(name)] = body

    def _list(self, node: Node, state: State, base: int) -> None:
        self._run_list(node, state, base)

    def _run_list(self, node: Node, state: State, base: int) -> bool | None:
        """``a && b``, ``a || b`` (nested to the left): the right side runs, or not, as the
        left side's status says when it is known; the list's status when known."""
        parts = [c for c in node.children if c.type != "comment"]
        if len(parts) != 3:
            self._block(node, state, base)
            return None
        left, operator, right = parts
        status = self._status(left, state, base)
        runs = None if status is None else status == (operator.type == "&&")
        if runs is False:
            return status
        if runs is None:
            with self._doubtful():
                self._statement(right, state, base)
            return None
        return self._status(right, state, base)

    def _status(self, node: Node, state: State, base: int) -> bool | None:
        """Run a statement; whether it succeeds, when that is known."""
        if node.type == "list":
            return self._run_list(node, state, base)
        self._statement(node, state, base)
        return truth(node, self.words, state)

    def _subshell(self, node: Node, state: State, base: int) -> None:
        self._shell(node, state.copy(), base)

    def _if(self, node: Node, state: State, base: int) -> None:
        """The arm whose condition holds, when that is known; else every arm, in order (the
        scripts of all of them are the collection's; a script reached twice keeps its first
        place), none for sure."""
        unsure = False
        for conditions, body in arms(node):
            if conditions is None:
                holds: bool | None = True
            elif unsure:
                with self._doubtful():
                    holds = self._conditions(conditions, state, base)
            else:
                holds = self._conditions(conditions, state, base)
            if holds is False:
                continue
            if holds is None or unsure:
                with self._doubtful():
                    self._statements(body, state, base)
                unsure = True
                if holds is None:
                    continue
            else:
                self._statements(body, state, base)
            return

    def _conditions(self, nodes: list[Node], state: State, base: int) -> bool | None:
        status: bool | None = None
        for node in nodes:
            status = self._status(node, state, base)
        return status

    def _statements(self, nodes: list[Node], state: State, base: int) -> None:
        for node in nodes:
            self._statement(node, state, base)

    def _while(self, node: Node, state: State, base: int) -> None:
        condition = node.child_by_field_name("condition")
        if condition is not None:
            self._statement(condition, state, base)
        body = node.child_by_field_name("body")
        if body is not None:
            with self._doubtful():
                self._block(body, state, base)

    def _for(self, node: Node, state: State, base: int) -> None:
        variable = node.child_by_field_name("variable")
        body = node.child_by_field_name("body")
        if variable is None or body is None:
            return
        values = node.children_by_field_name("value")
        if values:
            items = self.words.expand(values, state)
        else:
            items = list(state.args) if state.args is not None else [unknown("@")]
        name = text_of(variable)
        for item in items:
            state.vars[name] = item
            if not self._iteration(body, state, base):
                break

    def _iteration(self, body: Node, state: State, base: int) -> bool:
        """One turn of a loop; False after a ``break``."""
        self._loops += 1
        try:
            self._block(body, state, base)
        except _LeaveError as jump:
            if jump.kind not in ("break", "continue"):
                raise
            return jump.kind == "continue"
        finally:
            self._loops -= 1
        return True

    def _case(self, node: Node, state: State, base: int) -> None:
        items = [c for c in node.named_children if c.type == "case_item"]
        self._case_items(node.child_by_field_name("value"), items, state, base)

    def _case_items(self, subject_node: Node | None, items: list[Node], state: State,
                    base: int) -> None:
        """The items of a ``case`` that run: from the first that matches, on through ``;&``
        and testing on after ``;;&``; every item, in order, when the value is not known."""
        subject = self.words.value(subject_node, state) if subject_node else unknown("?")
        if has_unknown(subject):
            with self._doubtful():
                for item in items:
                    self._item_body(item, state, base)
            return
        running = False
        for item in items:
            matches = running or self._case_matches(item, subject, state)
            if matches is False:
                continue
            if matches is None:  # a pattern not known: it may match
                with self._doubtful():
                    self._item_body(item, state, base)
                continue
            self._item_body(item, state, base)
            terminator = item.children[-1].type if item.children else ";;"
            if terminator not in (";&", ";;&"):
                return
            running = terminator == ";&"

    def _item_body(self, item: Node, state: State, base: int) -> None:
        for i, child in enumerate(item.children):
            if child.is_named and item.field_name_for_child(i) != "value":
                self._statement(child, state, base)

    def _case_matches(self, item: Node, subject: str, state: State) -> bool | None:
        """Whether a case item's patterns match (None: a pattern is not known)."""
        maybe = False
        for pattern in item.children_by_field_name("value"):
            text = self.words.value(pattern, state)
            if has_unknown(text):
                maybe = True
            elif any(fnmatch.fnmatchcase(subject, p) for p in text.split("|")):
                return True
        return None if maybe else False

    # -- pipes and redirections ----------------------------------------------------------------

    def _pipeline(self, node: Node, state: State, base: int) -> None:
        parts = node.named_children
        last = parts[-1] if parts else None
        if last is not None and last.type == "while_statement" and len(parts) > 1:
            # cat list | while read a b; do ...; done: the loop reads the first command's file
            lines = self._producer_lines(parts[0], state)
            if lines is not None:
                self._while_read(last, state.copy(), lines, base)
                return
        if len(parts) == 1:
            self._statement(parts[0], state, base)
            return
        for part in parts:  # each part of a pipe runs in a subshell
            self._shell(part, state.copy(), base)

    def _redirected(self, node: Node, state: State, base: int) -> None:
        body = node.child_by_field_name("body") or (node.named_children[0]
                                                    if node.named_children else None)
        if body is None:
            return
        if body.type == "while_statement":
            lines = self._input_lines(node, state)
            if lines is not None:
                self._while_read(body, state, lines, base)
                return
        heredoc = next((c for c in node.named_children if c.type == "heredoc_redirect"), None)
        if heredoc is not None and body.type == "command":
            text = next((c for c in heredoc.named_children if c.type == "heredoc_body"), None)
            if text is not None and self._command(body, state, base, stdin=True):
                self._text(text_of(text), self._stdin_state, base + line_of(text) - 1)
                return
        self._statement(body, state, base)

    def _input_lines(self, node: Node, state: State) -> list[str] | None:
        """The lines a redirection gives a loop: a file's, a here-document's, a string's."""
        source = self.words.input_file(node, state)
        if source is not None:
            return self.words.lines(source, state)
        for child in node.named_children:
            if child.type == "heredoc_redirect":
                text = next((c for c in child.named_children if c.type == "heredoc_body"), None)
                return text_of(text).splitlines() if text is not None else []
            if child.type == "herestring_redirect" and child.named_children:
                return self.words.value(child.named_children[-1], state).splitlines()
        return None

    def _producer_lines(self, node: Node, state: State) -> list[str] | None:
        """The lines a ``cat FILE``/``grep -v ... FILE``/``sed ... FILE`` before a pipe
        gives."""
        if node.type != "command":
            return None
        words = self.words.words(node, state)
        program = os.path.basename(words[0]) if words else ""
        if program not in ("cat", "sed") and not (program in ("grep", "egrep")
                                                  and "-v" in words):
            return None
        files = [w for w in words[1:] if not w.startswith("-")]
        return self.words.lines(files[-1], state) if files else None

    def _while_read(self, node: Node, state: State, lines: list[str], base: int) -> None:
        body = node.child_by_field_name("body")
        names = _read_names(node.child_by_field_name("condition"))
        if body is None or names is None:
            self._while(node, state, base)
            return
        for raw in lines:
            text = raw.strip()
            if not text or text.startswith("#"):
                continue  # what every list-reading driver skips
            fields = text.split(None, max(len(names) - 1, 0))
            for i, name in enumerate(names):
                state.vars[name] = fields[i] if i < len(fields) else ""
            if not self._iteration(body, state, base):
                break

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
            raise _LeaveError("exit")  # exec: the driver goes no further
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
        except _LeaveError as stop:
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
            raise _LeaveError(kind)

    # -- calls ---------------------------------------------------------------------------------

    def _copied(self, target: str, cwd: str, root: str) -> str | None:
        """The tree file a call runs from where the driver copied it, or None (``root``:
        the chroot the call runs in, where its paths are)."""
        full = target if target.startswith("/") or has_unknown(target) else join(cwd, target)
        if root and full.startswith("/"):
            full = root + full
        tail = full.rsplit("\x00", 1)[-1]
        name = os.path.basename(tail)
        for destination, sources in reversed(self.copies):
            where = destination.rsplit("\x00", 1)[-1].rstrip("/")
            if not where or not (tail.startswith(where + "/") or tail == where):
                continue
            match = [p for p in sources if os.path.basename(p) == name]
            if match:
                return match[0]
        return None

    def _call(self, target: str, how: str, args: list[str], context: State, state: State, *,
              line: int, local: dict[str, str]) -> None:
        path = self._copied(target, context.cwd, context.root) if self.copies else None
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


_STATEMENTS: dict[str, _Statement] = {
    "command": Evaluator._simple,
    "variable_assignment": Evaluator._assignments,
    "variable_assignments": Evaluator._assignments,
    "declaration_command": Evaluator._declaration,
    "function_definition": Evaluator._function_definition,
    "list": Evaluator._list,
    "subshell": Evaluator._subshell,
    "pipeline": Evaluator._pipeline,
    "redirected_statement": Evaluator._redirected,
    "if_statement": Evaluator._if,
    "for_statement": Evaluator._for,
    "while_statement": Evaluator._while,
    "c_style_for_statement": Evaluator._while,
    "case_statement": Evaluator._case,
    # an ERROR node: what parsed in it (the syntax error is noted by _check_syntax)
    **dict.fromkeys(("ERROR", "compound_statement", "do_group", "else_clause", "elif_clause",
                     "program", "negated_command"), Evaluator._block),
}
_BUILTINS: dict[str, _Builtin] = {
    "cd": Evaluator._cd, "pushd": Evaluator._cd, "popd": Evaluator._cd,
    "tar": Evaluator._tar, "cp": Evaluator._copy, "install": Evaluator._copy,
    "rsync": Evaluator._copy, "unset": Evaluator._unset, "shift": Evaluator._shift,
    "set": Evaluator._set, "eval": Evaluator._eval,
    **dict.fromkeys(("exit", "return", "break", "continue"), Evaluator._jump),
}


def _parse(data: bytes) -> Node:
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


def _read_names(condition: Node | None) -> list[str] | None:
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


def _first_error(node: Node) -> Node | None:
    """The first node the parser could not read below ``node`` (innermost), or None."""
    for child in node.children:
        if child.is_missing:
            return child
        if not child.has_error:
            continue
        inner = _first_error(child)
        if inner is not None:
            return inner
        if child.type == "ERROR":
            return child
    return None


def _descendants(node: Node) -> Iterator[Node]:
    for child in node.named_children:
        yield child
        yield from _descendants(child)
