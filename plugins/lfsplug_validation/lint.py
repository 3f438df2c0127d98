"""LFS lint: mistakes that parse fine but break, or endanger, an LFS build.

The rules here read the script through :mod:`lfsplug_validation.shellread` (comments, quotes,
heredoc bodies and continuations handled), except LFS002, which asks about the script's
structure (is a ``read``'s standard input the terminal's?) and reads it with tree-sitter-bash
(:mod:`.interactive`). LFS009, ``cd`` into a variable nothing sets, is read with the same parse
(:mod:`.syntaxtree`) but kept apart (:mod:`.cdvars`, :mod:`.cdenv`): half of it depends on each
script's environment. The codes, their severities and the reasoning behind each are documented
in ``docs/lint-codes.md``; keep the two in step, and bump :data:`CHECKER_VERSION` whenever a
rule changes, so that cached results are dropped.
"""

from __future__ import annotations

import os
import re

from lfsplug import DEFAULT_LFS
from lfsplug_validation.focus import lines_of_interest, shebang_errexit, word_offsets
from lfsplug_validation.interactive import terminal_reads
from lfsplug_validation.records import CHECKER_VERSION, Issue, Ref
from lfsplug_validation.refs import source_refs
from lfsplug_validation.shellread import (
    Command,
    ScriptText,
    all_assignments,
    commands,
    logical_lines,
    read_script,
    unquote,
)
from lfsplug_validation.syntaxtree import ScriptTree

__all__ = ["CHECKER_VERSION", "lint"]


#: The book's placeholders: every ``<replaceable>&lt;...&gt;</replaceable>`` of the LFS book
#: that can reach a script, in a block the reader is told to edit (chapters 2, 8, 9, 10).
#: Generic words that also occur as XML tags in heredocs (``<device>``, ``<service>``) are left
#: to the unquoted-placeholder rule.
BOOK_PLACEHOLDERS = (
    "xxx", "yyy", "zzz", "fff", "paper_size", "ll", "CC", "charmap", "@modifiers", "FQDN",
    "HOSTNAME", "lfs", "locale name", "Your Domain Name", "IP address of your primary nameserver",
    "IP address of your secondary nameserver", "IP address of the nameserver", "192.168.0.2",
    "192.168.1.2", "network-device-name", "partition UUID", "filesystem UUID",
    "host_LANG_value", "runlevel", "the host triplet", "package-name", "servicename.service",
    "REPLACED TEXT", "library file", "test name",
)
_BOOK_PLACEHOLDER = re.compile("<(?:" + "|".join(re.escape(p) for p in BOOK_PLACEHOLDERS) + ")>")
#: ``<word>`` outside quotes: bash reads it as ``< word`` and ``>`` (two redirections).
_UNQUOTED_PLACEHOLDER = re.compile(r"(?<![<>&])<([A-Za-z_][\w.@-]*)>(?!>)")
_TEST_RUN = re.compile(r"(?:^|\s)(?:check|test|tests|testsuite|-k|ctest)(?:\s|$)")
_UNLIMITED_FLAGS = re.compile(r"(?:^|\s)(?:-j|--jobs)(?:\s|$)")
_JOBS_FLAG = re.compile(r"-[a-zA-Z]*j")
_COMMAND_NAME = re.compile(r"[A-Za-z_./][\w./+-]*")
_LFS_DEFAULT = re.compile(r"(?:\bLFS=|\$\{LFS:?[-=+?])[\"']?$")
PIPES = ("|", "|&")
GUARDS = ("||", "&&")
#: Commands whose failure ought to stop a build (LFS004); ``configure`` is matched by suffix.
BUILD_STEPS = frozenset([
    "make", "gmake", "ninja", "meson", "cmake", "patch", "tar", "install", "cp", "mv", "ln",
    "mkdir", "rm", "sed", "chmod", "chown", "cd", "pushd", "pip", "pip3", "python", "python3",
    "perl", "cargo", "autoreconf", "gcc", "cc", "g++", "useradd", "groupadd", "mount", "chroot",
])
#: Commands whose failure in front of ``| tee`` is not worth a finding (LFS003).
PRODUCERS = frozenset(["echo", "printf", "cat", "yes", "true", ":"])
FAILURE_EXITS = frozenset(["exit", "return", "die", "fail", "abort", "false"])


def lint(text: str, lfs: str = DEFAULT_LFS, tree: ScriptTree | None = None,
         runner_errexit: bool = False) -> tuple[list[Issue], list[Ref]]:
    """Lint a script's text; ``lfs`` is the configured ``$LFS``; ``tree``: the script's bytes,
    for the rules that parse them (shared with LFS009); ``runner_errexit``: whether the command
    lfsplug runs the script with turns errexit on (``bash +h -e``: see :mod:`.runner`), which
    makes LFS004 and LFS007 matters of running the script by hand. Issues sorted by line."""
    parsed = read_script(text)
    cmds = [cmd for line in lines_of_interest(parsed) for cmd in commands(line)]
    issues = _placeholders(parsed)
    if _may_read(parsed):  # LFS002: few scripts have a read or select to parse for
        issues.extend(terminal_reads(tree or ScriptTree(text.encode("utf-8", "replace"))))
    issues.extend(_Flow(parsed, shebang_errexit(parsed), runner_errexit).walk(cmds))
    issues.extend(_make_jobs(cmds))
    issues.extend(_mount_point(parsed, lfs))
    issues.extend(_shape(parsed))
    issues.extend(_edit_marks(parsed))
    issues.sort(key=lambda i: (i.line or 0, i.code))
    return issues, source_refs(cmds)


def _may_read(parsed: ScriptText) -> bool:
    """Whether the code (not a comment, a string, a heredoc) has a ``read`` or ``select``."""
    masked = parsed.masked
    return any(word in masked and word_offsets(masked, word) for word in ("read", "select"))


# -- LFS001: the book's placeholders ------------------------------------------------------------


def _placeholder_issue(line: int, names: list[str]) -> Issue:
    shown = ", ".join(dict.fromkeys(names))
    return Issue(
        "LFS001", "error", line,
        f"unedited placeholder {shown}: the book marks this block to be edited",
        "replace it with your own value, as the book's page explains (outside quotes bash "
        "reads <word> as two redirections: input from 'word', output to the next word)",
    )


def _placeholders(parsed: ScriptText) -> list[Issue]:
    found: dict[int, list[str]] = {}
    if "<" in parsed.raw:
        for match in _BOOK_PLACEHOLDER.finditer(parsed.raw):
            found.setdefault(match.start(), []).append(match.group())
        for match in _UNQUOTED_PLACEHOLDER.finditer(parsed.masked):
            found.setdefault(match.start(), []).append(match.group())
        for offset, text in parsed.bodies:
            for match in _BOOK_PLACEHOLDER.finditer(text):
                found.setdefault(offset + match.start(), []).append(match.group())
    by_line: dict[int, list[str]] = {}
    for offset in sorted(found):
        by_line.setdefault(parsed.line_of(offset), []).extend(found[offset])
    return [_placeholder_issue(line, names) for line, names in by_line.items()]


# -- LFS003, LFS004, LFS007: what depends on the shell options in force ----------------------


def set_changes(words: list[str]) -> dict[str, bool]:
    """The options ``set`` words turn on or off: ``{"errexit": True, "pipefail": True}``."""
    changes: dict[str, bool] = {}
    expect: bool | None = None
    for word in (unquote(w) for w in words[1:]):
        if expect is not None:
            changes[word] = expect
            expect = None
        elif len(word) > 1 and word[0] in "-+" and word[1:].isalpha():
            on = word[0] == "-"
            for flag in word[1:]:
                if flag == "e":
                    changes["errexit"] = on
                elif flag == "o":
                    expect = on
        elif word == "--":
            break
    return changes


class _Flow:
    """One pass over the commands, tracking ``set -e`` and ``pipefail``."""

    def __init__(self, parsed: ScriptText, errexit: bool, runner_errexit: bool) -> None:
        self.parsed = parsed
        self.errexit = errexit
        self.runner_errexit = runner_errexit
        self.handled = errexit  # any error handling anywhere (LFS004)
        self.trap_err = False
        self.pipefail = False
        self.issues: list[Issue] = []

    def walk(self, cmds: list[Command]) -> list[Issue]:
        for index, cmd in enumerate(cmds):
            self._options(cmd)
            name = cmd.name
            if name == "tee" and cmd.sep_before in PIPES and not self.pipefail:
                self._tee(cmds, index)
            elif name in ("cd", "pushd"):
                self._cd(cmd)
            if cmd.sep_before == "||" and (name in FAILURE_EXITS or "{" in cmd.keywords):
                self.handled = True
        if not self.handled:  # rare enough to afford every line's commands
            every = [c for line in logical_lines(self.parsed) for c in commands(line)]
            self.issues.extend(_no_error_handling(every, self.runner_errexit))
        return self.issues

    def _options(self, cmd: Command) -> None:
        if cmd.name == "set":
            changes = set_changes(cmd.words)
            self.errexit = changes.get("errexit", self.errexit)
            self.pipefail = changes.get("pipefail", self.pipefail)
            self.handled = self.handled or self.errexit
        elif cmd.name == "shopt" and any("o" in w for w in cmd.words[1:] if w.startswith("-")):
            if "pipefail" in cmd.words:
                self.pipefail = any("s" in w for w in cmd.words[1:] if w.startswith("-"))
        elif cmd.name == "trap" and "ERR" in (unquote(w) for w in cmd.words[2:]):
            self.trap_err = self.handled = True

    def _tee(self, cmds: list[Command], index: int) -> None:
        tee = cmds[index]
        start = index - 1
        while start > 0 and cmds[start].sep_before in PIPES and cmds[start - 1].line is tee.line:
            start -= 1
        left = tee.line.masked[:tee.start]
        if (start == index - 1 and cmds[start].name in PRODUCERS) or _TEST_RUN.search(left):
            return
        raw, after = self.parsed.raw, tee.line.start + len(tee.line.raw)
        for _ in range(2):  # this line and the two after it
            found = raw.find("\n", after + 1)
            after = len(raw) if found < 0 else found
        if "PIPESTATUS" in raw[tee.line.start:after]:
            return
        name = cmds[start].name
        what = name if _COMMAND_NAME.fullmatch(name) else "the commands before it"
        self.issues.append(Issue(
            "LFS003", "warning", tee.number,
            f"'... | tee' without pipefail: the pipeline's status is tee's, so a failure of "
            f"{what} goes unnoticed",
            "put 'set -o pipefail' near the top of the script, or test ${PIPESTATUS[0]} after "
            "the pipeline",
        ))

    def _cd(self, cmd: Command) -> None:
        if self.errexit or self.trap_err or len(cmd.words) < 2:
            return
        if unquote(cmd.words[1]) in ("-", "..", "~", "/") or cmd.in_condition:
            return
        if cmd.sep_after in GUARDS:
            return
        what = f"{cmd.name} {cmd.words[1]}"
        hint = f"write '{what} || exit 1', or put 'set -e' at the top"
        if self.runner_errexit:  # lfsplug's bash -e stops the script: a hand run does not
            self.issues.append(Issue(
                "LFS007", "info", cmd.number,
                f"{what} is not checked: lfsplug runs the script with bash -e, which stops it "
                f"if {cmd.name} fails, but run by hand the commands after it run in the wrong "
                f"directory", hint))
            return
        self.issues.append(Issue(
            "LFS007", "warning", cmd.number,
            f"{what} is not checked, and neither the script nor the command lfsplug runs it "
            f"with has -e: if it fails, the commands after it run in the wrong directory",
            hint))


def _is_build_step(name: str) -> bool:
    base = os.path.basename(unquote(name))
    return base in BUILD_STEPS or base.endswith("configure")


def _no_error_handling(cmds: list[Command], runner_errexit: bool) -> list[Issue]:
    simple = [c for c in cmds if c.name and not c.name.startswith(("<", ">"))]
    for cmd in simple[:-1]:
        if _is_build_step(cmd.name) and not cmd.in_condition and cmd.sep_after not in GUARDS:
            name = os.path.basename(unquote(cmd.name))
            if runner_errexit:
                return [Issue(
                    "LFS004", "info", cmd.number,
                    f"no set -e or other error handling: run by hand, the script goes on "
                    f"after {name} fails (lfsplug itself runs it with bash -e)",
                    "put 'set -e' at the top of the script")]
            return [Issue(
                "LFS004", "warning", cmd.number,
                f"no set -e or other error handling, and the command lfsplug runs the script "
                f"with has no -e: the script goes on after {name} fails",
                "put 'set -e' at the top of the script")]
    return []


# -- LFS005, LFS006 -----------------------------------------------------------------------------


def _unlimited_jobs(words: list[str]) -> bool:
    args = [unquote(w) for w in words[1:]]
    for index, arg in enumerate(args):
        if arg == "--jobs" or _JOBS_FLAG.fullmatch(arg):
            following = args[index + 1] if index + 1 < len(args) else ""
            if not following[:1].isdigit() and not following.startswith("$"):
                return True
    return False


def _make_jobs(cmds: list[Command]) -> list[Issue]:
    issues = []
    for cmd in cmds:
        unlimited = cmd.name in ("make", "gmake") and _unlimited_jobs(cmd.words)
        unlimited = unlimited or any(
            name == "MAKEFLAGS" and _UNLIMITED_FLAGS.search(unquote(value))
            for name, value in all_assignments(cmd))
        if unlimited:
            issues.append(Issue(
                "LFS005", "warning", cmd.number,
                "make -j without a number starts as many jobs as it can: the build may exhaust "
                "memory, and its output interleaves",
                "give a number: make -j$(nproc), or leave -j out and set MAKEFLAGS "
                "(lfsplug sets MAKEFLAGS=-jN from the number of processors)",
            ))
    return issues


def _mount_point(parsed: ScriptText, lfs: str) -> list[Issue]:
    # the book's own mount point too: a script copied from the book names it
    paths = sorted({p.rstrip("/") for p in (DEFAULT_LFS, lfs)} - {""}, key=len, reverse=True)
    raw = parsed.raw
    if not any(p in raw for p in paths):
        return []
    pattern = re.compile(r"(?<![\w./-])(" + "|".join(map(re.escape, paths)) + r")(?![\w.-])")
    issues: dict[int, Issue] = {}
    for match in pattern.finditer(raw):
        line_start = raw.rfind("\n", 0, match.start()) + 1
        if _LFS_DEFAULT.search(raw, line_start, match.start()):
            continue
        line = parsed.line_of(match.start())
        issues.setdefault(line, Issue(
            "LFS006", "warning", line,
            f"hard-coded {match.group(1)} where $LFS belongs: the script breaks when the "
            f"LFS partition is mounted elsewhere",
            "write $LFS (lfsplug sets it from --lfs; the book exports LFS=/mnt/lfs)",
        ))
    return list(issues.values())


# -- LFS008: DOS line endings ------------------------------------------------------------------
# (A wrong #! line, an empty file, a byte-order mark are discovery's findings: DISC022-DISC028.)


def _shape(parsed: ScriptText) -> list[Issue]:
    issues = []
    text = parsed.text
    crlf = text.count("\r\n") + text.endswith("\r")
    if crlf:
        first_cr = text.find("\r\n")
        issues.append(Issue(
            "LFS008", "error", parsed.line_of(first_cr if first_cr >= 0 else len(text) - 1),
            f"DOS line endings (CR LF) on {crlf} line(s): bash keeps the CR as part of the "
            f"last word ('make\\r: command not found')",
            "convert the file: sed -i 's/\\r$//' FILE (or dos2unix FILE)",
        ))
    return issues


# -- LFS010: a block marked to be edited --------------------------------------------------------
#: The mark the book's ``make dump-commands`` (and lfsplug-book) writes above such a block.
_EDIT_MARK = re.compile(r"^[ \t]*#[ \t]*This block must be edited\b.*$",
                        re.MULTILINE | re.IGNORECASE)


def _edit_marks(parsed: ScriptText) -> list[Issue]:
    """A comment line with the mark (not a line of a heredoc's text)."""
    if "must be edited" not in parsed.text.lower():
        return []
    in_bodies = {offset for offset, _ in parsed.bodies}
    return [Issue(
        "LFS010", "error", parsed.line_of(match.start()),
        f"the block below is marked to be edited ({match.group().strip()[:160]})",
        "edit the commands below as the book's page says, then remove the mark (a script "
        "lfsplug-book wrote: set the value the mark names in lfsplug.toml)",
    ) for match in _EDIT_MARK.finditer(parsed.text) if match.start() not in in_bodies]
