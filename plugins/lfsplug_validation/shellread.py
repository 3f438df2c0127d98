"""Reading a bash script carefully enough for lint, without parsing bash.

``bash -n`` already decides what parses, and most lint rules need less than a syntax tree:
which text is a comment, which is inside quotes, which lines are heredoc bodies, where a command
starts and what its words are. This reader answers that for a fraction of a parse's cost, so
lint reads every script with it; the rules that ask about structure (what feeds a ``read``, what
sets a variable) parse the script with tree-sitter-bash instead (:mod:`.syntaxtree`), and only
when the text calls for it.

:func:`read_script` makes one pass over the whole text with one regular expression (a Python loop
per line costs more than all the rules together, and lint runs on every new script) and returns
two copies of the text, both as long as the original so that offsets and line numbers agree:

* ``raw``: comments and heredoc bodies blanked, quotes kept (for the words' values);
* ``masked``: the same with the contents of quoted strings replaced by ``_``, so that a ``|``,
  a ``#`` or a keyword inside quotes never looks like syntax; continuation backslashes and the
  newlines inside quoted strings are blanked too, so that one line of ``masked`` is one
  *logical* line of the script.

Heredoc bodies (``<<EOF``, ``<<-'EOF'``, several on one line) are kept apart, with their line
numbers. :func:`logical_line` and :func:`commands` then split any logical line into simple
commands at ``;``, ``&&``, ``||``, ``|``, ``&`` and parentheses (skipping array literals and
arithmetic). Lines are counted on ``\\n`` only, as bash counts them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["Command", "LogicalLine", "ScriptText", "all_assignments", "commands", "logical_line",
           "logical_lines", "read_script", "unquote"]

#: What masked (quoted) characters become.
MASK = "_"
# The lookahead lets the regex engine skip plain text at C speed (seven times faster here);
# a comment's "#" and a heredoc's "<<" are checked for what precedes them in Python.
_TOKEN = re.compile(r"""(?=[\\'"$\#<])(?:
    (?P<cont>\\\n)
  | (?P<esc>\\.)
  | (?P<sq>'[^']*(?:'|\Z))
  | (?P<dsq>\$'(?:[^'\\]|\\.)*(?:'|\Z))
  | (?P<dq>"(?:[^"\\]|\\.)*(?:"|\Z))
  | (?P<comment>\#[^\n]*)
  | (?P<heredoc><<(?!<)(?P<strip>-?)[ \t]*
        (?P<word>'[^'\n]*'|"[^"\n]*"|\\?[A-Za-z_][\w.-]*)))
""", re.S | re.X)
#: Characters after which a "#" starts a comment.
_COMMENT_AFTER = frozenset(" \t\n;&|()")
_NOT_NEWLINE = re.compile(r"[^\n]")
_SEPARATOR = re.compile(r"\|\||&&|;;&?|;&|\|&|(?<![<>])&(?!>)|[;|()]")
_WORD = re.compile(r"\S+")
_QUOTING = re.compile(r"""\\(.)|['"]""", re.S)
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\[[^\]]*\])?\+?=")
#: Reserved words that may come before a command's name.
LEADING_KEYWORDS = frozenset(
    ["if", "then", "else", "elif", "do", "while", "until", "!", "{", "}", "time", "fi", "done",
     "esac"])
#: Reserved words after which the segment holds no command (``for x in a b``, ``case $x in``).
NO_COMMAND_KEYWORDS = frozenset(["for", "case", "select", "function", "in"])
#: Commands that run the command named after them (and their options).
PREFIX_COMMANDS = frozenset(["env", "command", "builtin", "nohup", "sudo"])
#: Commands whose arguments may be assignments (``export MAKEFLAGS=-j4``).
EXPORTERS = frozenset(["export", "declare", "local", "readonly", "typeset"])


@dataclass(slots=True)
class ScriptText:
    """A script read for lint: the text, its ``raw`` and ``masked`` copies, heredoc bodies.

    ``bodies`` holds (offset, line) for each heredoc body line.
    """

    text: str
    raw: str
    masked: str
    bodies: list[tuple[int, str]] = field(default_factory=list)

    def line_of(self, offset: int) -> int:
        """The (1-based) line number of the character at ``offset``."""
        return self.text.count("\n", 0, offset) + 1

    @property
    def first_line(self) -> str:
        end = self.text.find("\n")
        return self.text if end < 0 else self.text[:end]


@dataclass(slots=True)
class LogicalLine:
    """One logical line (a line of ``masked``), at ``start`` in the text."""

    script: ScriptText
    start: int
    raw: str
    masked: str

    def line_at(self, offset: int) -> int:
        """The physical line number of the character at ``offset`` in this line."""
        return self.script.line_of(self.start + offset)

    @property
    def number(self) -> int:
        return self.line_at(0)


def unquote(word: str) -> str:
    """``word`` without its quotes and backslashes (``"$PKG".tar`` gives ``$PKG.tar``)."""
    return _QUOTING.sub(lambda m: m.group(1) or "", word)


def _blank(text: str) -> str:
    return _NOT_NEWLINE.sub(" ", text)


def _skip_bodies(text: str, pos: int, pending: list[tuple[str, bool]],
                 bodies: list[tuple[int, str]]) -> int:
    """Read the bodies of ``pending`` heredocs from ``pos``; the offset after the last one."""
    for delimiter, strip in pending:
        while pos < len(text):
            end = text.find("\n", pos)
            end = len(text) if end < 0 else end
            line = text[pos:end]
            pos = end + 1
            if (line.lstrip("\t") if strip else line) == delimiter:
                break
            bodies.append((pos - len(line) - 1, line))
    return min(pos, len(text))


def _in_arithmetic(text: str, offset: int) -> bool:
    """Whether ``offset`` is inside ``$(( ))`` or ``(( ))`` on its line (``1 << 2``)."""
    before = text[text.rfind("\n", 0, offset) + 1:offset]
    return before.count("((") > before.count("))")


def read_script(text: str) -> ScriptText:
    """Mask ``text`` in one pass (see the module docstring)."""
    raw: list[str] = []
    masked: list[str] = []
    bodies: list[tuple[int, str]] = []
    pending: list[tuple[str, bool]] = []
    pos, line_end = 0, -1
    while True:
        match = _TOKEN.search(text, pos)
        if pending and (match is None or match.start() > line_end):
            head = text[pos:line_end + 1]
            after = _skip_bodies(text, line_end + 1, pending, bodies)
            tail = _blank(text[line_end + 1:after])
            raw += (head, tail)
            masked += (head, tail)
            pos, pending = after, []
            continue
        if match is None:
            raw.append(text[pos:])
            masked.append(text[pos:])
            break
        start, end = match.span()
        plain, token, kind = text[pos:start], match.group(), match.lastgroup
        if kind == "comment" and start and text[start - 1] not in _COMMENT_AFTER:
            kind, end, token = "esc", start + 1, "#"  # "$#", "a#b": not a comment
        elif kind == "heredoc" and start and text[start - 1] == "<":
            kind, end, token = "esc", start + 1, "<"  # the second "<" of "<<<"
        if kind in ("sq", "dq", "dsq"):
            opening = 2 if kind == "dsq" else 1
            closed = len(token) > opening and token[-1] == token[opening - 1]
            inner = len(token) - opening - (1 if closed else 0)
            raw += (plain, token)
            masked += (plain, token[:opening], MASK * inner, token[-1] if closed else "")
        elif kind in ("cont", "comment"):
            raw += (plain, " " * len(token))
            masked += (plain, " " * len(token))
        else:
            raw += (plain, token)
            masked += (plain, token)
            if kind == "heredoc" and not _in_arithmetic(text, start):
                pending.append((unquote(match.group("word")), match.group("strip") == "-"))
                found = text.find("\n", end)
                line_end = len(text) if found < 0 else found
        pos = end
        if pending and pos > line_end:  # a quoted string ran past the line: bodies follow it
            found = text.find("\n", pos)
            line_end = len(text) if found < 0 else found
    return ScriptText(text, "".join(raw), "".join(masked), bodies)


def logical_line(script: ScriptText, offset: int) -> LogicalLine:
    """The logical line that holds the character at ``offset``."""
    masked = script.masked
    start = masked.rfind("\n", 0, offset) + 1
    end = masked.find("\n", offset)
    end = len(masked) if end < 0 else end
    return LogicalLine(script, start, script.raw[start:end], masked[start:end])


def logical_lines(script: ScriptText) -> list[LogicalLine]:
    """Every logical line that holds some code."""
    found = []
    for match in re.finditer(r"[^\n]+", script.masked):
        if not match.group().isspace():
            start, end = match.span()
            found.append(LogicalLine(script, start, script.raw[start:end], match.group()))
    return found


@dataclass(slots=True)
class Command:
    """One simple command of a logical line, with its context.

    ``words`` are raw (quotes kept) and ``mwords`` masked, both starting at the command name
    (leading reserved words, assignments and ``env``-like prefixes are set aside in
    ``keywords`` and ``assignments``). ``text`` is the masked segment. ``sep_before`` and
    ``sep_after`` are the operators around it (``|``, ``&&``, ``;``, ``(``... or ``""``).
    """

    line: LogicalLine
    start: int
    text: str
    words: list[str]
    mwords: list[str]
    keywords: list[str]
    assignments: list[tuple[str, str]]
    sep_before: str
    sep_after: str

    @property
    def name(self) -> str:
        return self.words[0] if self.words else ""

    @property
    def number(self) -> int:
        return self.line.line_at(self.start)

    @property
    def in_condition(self) -> bool:
        """Whether the command is tested (``if cmd``, ``while cmd``, ``! cmd``)."""
        return any(k in ("if", "elif", "while", "until", "!") for k in self.keywords)


def _matching_paren(masked: str, index: int) -> int:
    """The index just after the ``)`` that closes the ``(`` at ``index`` (or the end)."""
    depth = 0
    for pos in range(index, len(masked)):
        char = masked[pos]
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return pos + 1
    return len(masked)


def _segments(masked: str) -> list[tuple[int, int, str, str]]:
    """(start, end, separator before, separator after) of each command segment."""
    out: list[tuple[int, int, str, str]] = []
    pos = seg_start = 0
    before = ""
    while True:
        match = _SEPARATOR.search(masked, pos)
        if match is None:
            out.append((seg_start, len(masked), before, ""))
            return out
        token, index = match.group(), match.start()
        if token == "(" and (masked.startswith("((", index)
                             or (index > 0 and masked[index - 1] == "=")):
            pos = _matching_paren(masked, index)  # arithmetic or an array literal: no command
            continue
        out.append((seg_start, index, before, token))
        before, pos = token, match.end()
        seg_start = pos


def _command(line: LogicalLine, start: int, end: int, before: str, after: str) -> Command:
    masked = line.masked
    spans = [(m.start(), m.end()) for m in _WORD.finditer(masked, start, end)]
    keywords: list[str] = []
    assignments: list[tuple[str, str]] = []
    index = 0
    while index < len(spans):
        begin, stop = spans[index]
        mword, raw = masked[begin:stop], line.raw[begin:stop]
        if mword in LEADING_KEYWORDS or mword in NO_COMMAND_KEYWORDS:
            keywords.append(mword)
            index += 1
            if mword in NO_COMMAND_KEYWORDS:
                index = len(spans)
            continue
        assignment = ASSIGNMENT.match(mword)
        if assignment:
            assignments.append((raw[:assignment.end()].rstrip("=+").split("[")[0],
                                raw[assignment.end():]))
            index += 1
            continue
        if mword in PREFIX_COMMANDS:
            index += 1
            while index < len(spans) and masked[spans[index][0]] == "-":
                index += 1
            continue
        break
    rest = spans[index:]
    first = rest[0][0] if rest else start
    return Command(line, first, masked[start:end], [line.raw[a:b] for a, b in rest],
                   [masked[a:b] for a, b in rest], keywords, assignments, before, after)


def commands(line: LogicalLine) -> list[Command]:
    """The simple commands of a logical line, in order (empty segments left out)."""
    found = []
    for start, end, before, after in _segments(line.masked):
        if line.masked[start:end].strip():
            found.append(_command(line, start, end, before, after))
    return found


def all_assignments(cmd: Command) -> list[tuple[str, str]]:
    """Assignments before the command and in ``export``/``local``-like arguments."""
    found = list(cmd.assignments)
    if cmd.name in EXPORTERS:
        for word in cmd.words[1:]:
            match = ASSIGNMENT.match(word)
            if match:
                found.append((word[:match.end()].rstrip("=+").split("[")[0], word[match.end():]))
    return found
