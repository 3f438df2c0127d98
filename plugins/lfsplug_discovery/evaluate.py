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
from collections.abc import Callable
from typing import TYPE_CHECKING

from lfsplug_discovery.callsite import Call, Unresolved
from lfsplug_discovery.commands import MAX_DEPTH, Commands, LeaveError
from lfsplug_discovery.conditions import arms, truth
from lfsplug_discovery.expand import State, has_unknown, shown_value, unknown
from lfsplug_discovery.syntax import first_error, parse_driver, read_names
from lfsplug_shell import line_of, text_of

if TYPE_CHECKING:
    from tree_sitter import Node

__all__ = ["Call", "Evaluator", "State", "Unresolved", "has_unknown", "shown_value", "unknown"]

#: The most statements one driver is followed through (a guard against nested loops of
#: thousands); a real collection's drivers take a few thousand.
MAX_STEPS = 50_000


class _BudgetError(Exception):
    """The driver runs more than :data:`MAX_STEPS` statements: following it stops."""


_Statement = Callable[["Evaluator", "Node", State, int], None]


class Evaluator(Commands):
    """Follows one driver (and what it calls) and collects the scripts it runs, in order:
    the files, strings and statements here, the commands in :class:`.commands.Commands`."""

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
            root = parse_driver(data)
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
            root = parse_driver(text.encode("utf-8", errors="replace"))
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
        except LeaveError:
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
        except LeaveError as stop:
            if stop.kind != "return":
                raise
        finally:
            self._returnable -= 1
            state.source = outer

    def _check_syntax(self, root: Node, state: State, base: int) -> None:
        """Note the first part of a driver the parser could not read (a syntax error)."""
        if not root.has_error:
            return
        bad = first_error(root)
        if bad is None:
            return
        row = bad.start_point[0]
        lines = (root.text or b"").decode("utf-8", errors="replace").splitlines()
        text = lines[row].strip() if row < len(lines) else text_of(bad)
        self._unresolved(state, base + row + 1, text[:80], "lfsplug cannot parse the driver "
                         "from here on (a syntax error?)")

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
        except LeaveError as jump:
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
            lines = self.words.pipeline_lines(parts[:-1], state)
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

    def _while_read(self, node: Node, state: State, lines: list[str], base: int) -> None:
        body = node.child_by_field_name("body")
        names = read_names(node.child_by_field_name("condition"))
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
