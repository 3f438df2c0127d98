"""What a driver's list-making pipeline prints, when it is known without running anything.

Drivers make the list of scripts to run in many ways: ``cat build_order.txt``,
``ls ch5/*.sh | sort``, ``find ch6 -name '*.sh' | sort -V``, ``grep -v '^#' list``. The first
command of the pipeline says which lines there are (a file's, a directory's entries, the files
``find`` walks to); the commands after it filter and order them (``sort`` with ``-V``/``-r``,
``grep`` with ``-v``/``-E``/``-F``, ``uniq``, ``head``/``tail -n N``). Anything else, or a
word lfsplug cannot know, makes the output unknown (None), never a guess.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Callable

from lfsplug import version_key

__all__ = ["filtered", "produced"]

#: ``find`` predicates whose value is the next word, and those lfsplug applies.
_FIND_VALUED = frozenset({"-name", "-iname", "-path", "-type", "-maxdepth", "-mindepth",
                          "-newer", "-perm", "-user", "-group", "-size", "-mtime"})

Lines = list[str]
ReadLines = Callable[[str], "Lines | None"]


def produced(words: list[str], cwd: str, read_lines: ReadLines,
             inside: Callable[[str], bool]) -> Lines | None:
    """The lines the first command of a pipeline prints (``cat``/``sed``/``grep -v FILE``,
    ``ls ARGS``, ``find DIR... [-name P] [-type f] [-maxdepth N]``), or None. ``ls`` and
    ``find`` read only directories ``inside`` allows (the tree's: a driver's
    ``find /usr/lib`` is not lfsplug's to walk)."""
    program = os.path.basename(words[0]) if words else ""
    args = [w for w in words[1:] if not w.startswith("-")]
    if program in ("cat", "sed") or (program in ("grep", "egrep") and "-v" in words):
        return read_lines(args[-1]) if args else None
    if program == "ls":
        return _ls(args, cwd, inside)
    if program == "find":
        return _find(words[1:], cwd, inside)
    return None


def filtered(words: list[str], lines: Lines) -> Lines | None:
    """The lines a filter after a pipe leaves (None: not a filter lfsplug knows)."""
    program = os.path.basename(words[0])
    flags = "".join(w[1:] for w in words[1:] if w.startswith("-") and not w.startswith("--"))
    apply = _FILTERS.get(program)
    return None if apply is None else apply(words, flags, lines)


def _sort(words: list[str], flags: str, lines: Lines) -> Lines | None:
    ordered = sorted(lines, key=version_key if "V" in flags else None)
    return ordered[::-1] if "r" in flags else ordered


def _uniq(words: list[str], flags: str, lines: Lines) -> Lines | None:
    return [line for i, line in enumerate(lines) if i == 0 or lines[i - 1] != line]


def _head_tail(words: list[str], flags: str, lines: Lines) -> Lines | None:
    count = _count(words[1:])
    if count is None:
        return None
    if os.path.basename(words[0]) == "head":
        return lines[:count]
    return lines[-count:] if count else []


def _cat(words: list[str], flags: str, lines: Lines) -> Lines | None:
    return lines if len(words) == 1 else None


def _count(args: list[str]) -> int | None:
    """``-n N``, ``-nN`` or ``-N``; 10 when none is given, as head and tail default."""
    for i, arg in enumerate(args):
        if arg == "-n" and i + 1 < len(args) and args[i + 1].isdigit():
            return int(args[i + 1])
        if arg.startswith("-n") and arg[2:].isdigit():
            return int(arg[2:])
        if arg[1:].isdigit() and arg.startswith("-"):
            return int(arg[1:])
    return 10 if not args else None


def _grep(words: list[str], flags: str, lines: Lines) -> Lines | None:
    patterns = [w for w in words[1:] if not w.startswith("-")]
    if len(patterns) != 1:
        return None  # a file to read too: not a filter of the pipe
    pattern = patterns[0]
    try:
        program = os.path.basename(words[0])
        regex = re.compile(re.escape(pattern) if "F" in flags or program == "fgrep"
                           else _basic(pattern) if "E" not in flags and program != "egrep"
                           else pattern, re.IGNORECASE if "i" in flags else 0)
    except re.error:
        return None
    keep = "v" not in flags
    return [line for line in lines if bool(regex.search(line)) is keep]


_Filter = Callable[[list[str], str, Lines], "Lines | None"]
_FILTERS: dict[str, _Filter] = {
    "sort": _sort, "uniq": _uniq, "head": _head_tail, "tail": _head_tail, "cat": _cat,
    "grep": _grep, "egrep": _grep, "fgrep": _grep,
}


def _basic(pattern: str) -> str:
    """A basic regular expression as Python reads one (``\\|``, ``\\(`` are the operators)."""
    return (pattern.replace("\\|", "\0|").replace("\\(", "\0(").replace("\\)", "\0)")
            .replace("|", "\\|").replace("(", "\\(").replace(")", "\\)")
            .replace("\0\\|", "|").replace("\0\\(", "(").replace("\0\\)", ")"))


def _ls(args: list[str], cwd: str, inside: Callable[[str], bool]) -> Lines | None:
    """``ls ARGS``: a file as given, a directory's entries (sorted, as ls sorts them)."""
    lines: Lines = []
    for arg in args or ["."]:
        full = os.path.normpath(os.path.join(cwd, arg))
        if not inside(full):
            return None
        if os.path.isdir(full):
            lines.extend(sorted(n for n in os.listdir(full) if not n.startswith(".")))
        elif os.path.lexists(full):
            lines.append(arg)
        else:
            return None
    return lines


def _find(args: list[str], cwd: str, inside: Callable[[str], bool]) -> Lines | None:
    """``find DIR... [-name P] [-iname P] [-type f|d] [-maxdepth N]``, in sorted order (the
    file system's own order is not knowable; a driver that cares pipes it to sort)."""
    roots = []
    while args and not args[0].startswith(("-", "(", "!")):
        roots.append(args.pop(0))
    tests: dict[str, str] = {}
    while args:
        word = args.pop(0)
        if word in _FIND_VALUED and args:
            tests[word] = args.pop(0)
        elif word not in ("-print", "-a", "-and"):
            return None  # -o, -exec, parentheses: more than a listing
    if any(k not in ("-name", "-iname", "-type", "-maxdepth") for k in tests):
        return None
    depth = int(tests["-maxdepth"]) if tests.get("-maxdepth", "x").isdigit() else None
    roots = roots or ["."]
    if not all(inside(os.path.normpath(os.path.join(cwd, root))) for root in roots):
        return None
    found: Lines = []
    for root in roots:
        found.extend(_walk(root, cwd, tests, depth))
    return found


def _walk(root: str, cwd: str, tests: dict[str, str], depth: int | None) -> Lines:
    start = os.path.join(cwd, root)
    found: Lines = []
    for directory, dirs, files in os.walk(start):
        level = 0 if directory == start else os.path.relpath(directory, start).count("/") + 1
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if depth is not None and level >= depth:
            dirs[:] = []
        kind = tests.get("-type")
        names = (files if kind == "f" else dirs if kind == "d" else [*dirs, *files])
        for name in sorted(names):
            if _matches(name, tests):
                found.append(os.path.normpath(os.path.join(root, os.path.relpath(
                    os.path.join(directory, name), start))))
    return sorted(found)


def _matches(name: str, tests: dict[str, str]) -> bool:
    if "-name" in tests:
        return fnmatch.fnmatchcase(name, tests["-name"])
    if "-iname" in tests:
        return fnmatch.fnmatchcase(name.lower(), tests["-iname"].lower())
    return True
