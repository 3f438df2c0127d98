"""Dependency comments, as BLFS script collections write them.

::

    # Dependencies Required: libxml2 libxslt
    # Recommended: docbook-xml, docbook-xsl
    # Optional (for tests): valgrind
    # Required by: gnome-keyring

become the metadata keys ``depends``, ``recommends``, ``optional`` and ``before``. The spellings
people use are tolerated: any case, ``Dependencies``/``Depends``/``Depends on``/``Requires`` for
``Required``, ``Recommends``, ``Suggested`` for ``Optional``, ``Needed by``/``Wanted by`` for
``Required by``; items separated by commas, spaces or ``and`` (names lower-cased, as file names
give them); versions as ``glibc>=2.39``, ``glibc >= 2.39`` or ``glibc (>= 2.39)``; lists
continued on the next comment lines when the line ends with ``,`` or ``\\`` or the next line is
indented.

A qualifier moves items: ``(for tests)``/``(test suite)`` makes a requirement optional, and
``(runtime)`` takes it out of the build order altogether (it is kept as ``runtime``, which
``--why`` shows): a runtime dependency may be built before or after the package alike, so an edge
either way would turn a valid tree into a cycle. A required ``a or b`` cannot be one requirement,
so both become recommendations. A comment that reads like prose (``# Required: the kernel must
be configured``) is not a dependency list and is ignored, with a note.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lfsplug_discovery.head import HEADER_LINES
from lfsplug_discovery.names import is_package_name

__all__ = ["DepComments", "Problem", "parse_dependency_comments"]

_LABEL = re.compile(
    r"""^[ \t]*\#+[ \t]*
    (?:(?:build[ \t]+|package[ \t]+)?dependencies[ \t]*[:,-]?[ \t]*)?
    (?P<label>required[ \t]+by|needed[ \t]+by|wanted[ \t]+by|required|requires|requirements
       |depends(?:[ \t]+on)?|deps|dependencies|recommended|recommends|suggested|suggests
       |optional)
    [ \t]*(?P<qualifier>\([^)\n]*\))?[ \t]*:(?P<items>.*)$""",
    re.IGNORECASE | re.VERBOSE,
)
#: Every label contains one of these (lower-cased): a cheap test before any regex.
_LABEL_WORDS = ("requir", "depend", "deps", "recommend", "suggest", "optional", "needed",
                "wanted")
_COMMENT = re.compile(r"^\s*#+(?P<indent>\s*)(?P<text>.*)$")
_HASH_COLON = re.compile(r"#[^\n:]*:")
_TOKEN = re.compile(r"\(([^)]*)\)|(>=|<=|==|=|>|<)|(,)|([^\s,()<>=]+)")
_PAREN_VERSION = re.compile(r"^\s*(>=|<=|==|=|>|<)\s*([0-9A-Za-z][^\s,]*)\s*$")
_VERSION = re.compile(r"^[0-9A-Za-z][^\s,<>=]*$")

KINDS = {
    "required": "depends", "requires": "depends", "requirements": "depends",
    "depends": "depends", "depends on": "depends", "deps": "depends", "dependencies": "depends",
    "recommended": "recommends", "recommends": "recommends",
    "optional": "optional", "suggested": "optional", "suggests": "optional",
    "required by": "before", "needed by": "before", "wanted by": "before",
}
#: Words that make a comment prose, not a list of packages.
STOPWORDS = frozenset({
    "a", "an", "the", "to", "be", "is", "are", "was", "must", "should", "will", "would", "can",
    "may", "if", "you", "your", "this", "that", "these", "for", "of", "in", "on", "with", "it",
    "its", "when", "not", "only", "we", "see", "please", "note", "first", "then",
})
_SKIP = frozenset({"and", "&", "none", "nothing", "n/a", "-"})


@dataclass(frozen=True)
class Problem:
    """Something in a dependency comment that was not understood (a finding to be)."""

    line: int
    code: str
    message: str


@dataclass
class _Item:
    name: str
    group: int
    op: str | None = None
    version: str | None = None
    qualifiers: list[str] = field(default_factory=list)

    def text(self, with_version: bool = True) -> str:
        """The requirement as metadata spells it; names lower-cased, as file names give them
        (BLFS writes ``Linux-PAM``, the script is ``linux-pam``)."""
        name = self.name.lower()
        if with_version and self.op and self.version:
            return f"{name}{self.op}{self.version}"
        return name


@dataclass
class DepComments:
    """What the dependency comments of one script say: requirement texts per metadata key, the
    line each key was first given on, and what could not be read."""

    values: dict[str, list[str]] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, kind: str, text: str, line: int) -> None:
        known = self.values.setdefault(kind, [])
        if text not in known:
            known.append(text)
        self.lines.setdefault(kind, line)


def _kind(base: str, qualifier: str) -> str:
    """The key a qualifier sends a requirement to: ``(runtime)`` and ``(for tests)`` soften it."""
    text = qualifier.lower()
    if base == "before":
        return base
    if "test" in text or "check" in text:
        return "optional"
    if ("runtime" in text or "run-time" in text or "run time" in text) and base != "optional":
        return "runtime"
    return base


def _tokens(text: str) -> tuple[list[_Item], list[str]]:
    """Split an item list into items (with versions and qualifiers) and line qualifiers."""
    items: list[_Item] = []
    line_qualifiers: list[str] = []
    pending_op: str | None = None
    alternative = False
    for match in _TOKEN.finditer(text):
        paren, op, comma, word = match.groups()
        if paren is not None:
            version = _PAREN_VERSION.match(paren)
            if version and items and items[-1].op is None:
                items[-1].op, items[-1].version = version.groups()
            elif items:
                items[-1].qualifiers.append(paren)
            else:
                line_qualifiers.append(paren)
        elif op is not None:
            pending_op = op if items and items[-1].op is None else None
        elif comma is not None:
            alternative = False
        elif pending_op is not None:
            items[-1].op, items[-1].version, pending_op = pending_op, word, None
        else:
            word = word.rstrip(".;:")
            lowered = word.lower()
            if lowered in _SKIP or not word:
                continue
            if lowered == "or":
                alternative = bool(items)
                continue
            group = items[-1].group if alternative else len(items)
            items.append(_Item(word, group))
            alternative = False
    return items, line_qualifiers


def _read_items(result: DepComments, kind: str, qualifier: str, text: str, line: int) -> None:
    items, line_qualifiers = _tokens(text)
    if _prose(text, items):
        result.problems.append(Problem(line, "DISC031", "this dependency comment reads like "
                                       "prose, not a list of packages: ignored"))
        return
    groups: dict[int, list[str]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item.name)
    for item in items:
        if not is_package_name(item.name) or (item.version and not _VERSION.match(item.version)):
            result.problems.append(Problem(line, "DISC030", f"{item.text()!r} in a dependency "
                                           "comment is not a package name: ignored"))
            continue
        item_kind = _kind(kind, " ".join([qualifier, *line_qualifiers, *item.qualifiers]))
        alternatives = groups[item.group]
        if len(alternatives) > 1 and item_kind == "depends":
            item_kind = "recommends"
            if item.name == alternatives[0]:
                result.problems.append(Problem(
                    line, "DISC032", f"{' or '.join(alternatives)} are alternatives, which a "
                    "requirement cannot express: each is recommended instead"))
        result.add(item_kind, item.text(item_kind not in ("before", "runtime")), line)


def _prose(text: str, items: list[_Item]) -> bool:
    """Whether an item list is a sentence: it has a stopword, and is not a list of single words
    separated by commas (so that ``# Optional: a, b`` still names packages a and b)."""
    if not any(item.name.lower() in STOPWORDS for item in items):
        return False
    segments = [_tokens(segment)[0] for segment in text.split(",")]
    return any(len({item.group for item in segment}) > 1 for segment in segments)


def _continues(previous: str, line: str) -> str | None:
    """The text of ``line`` when it continues the dependency list of the line before, else None."""
    match = _COMMENT.match(line)
    if match is None or not match.group("text").strip() or _LABEL.match(line):
        return None
    ended_open = previous.rstrip().endswith((",", "\\"))
    if ended_open or len(match.group("indent")) >= 2:
        return match.group("text")
    return None


def parse_dependency_comments(text: str) -> DepComments:
    """Read the dependency comments in the first lines of a script's text (see the module
    docstring); only the first :data:`~lfsplug_discovery.head.HEADER_LINES` lines count."""
    result = DepComments()
    lowered = text.lower()
    # Most scripts have no dependency comment: two substring tests say so without a regex.
    if ":" not in text or not any(word in lowered for word in _LABEL_WORDS):
        return result
    lines = text.split("\n", HEADER_LINES)[:HEADER_LINES]
    done = -1
    for candidate in _HASH_COLON.finditer(text):  # comment lines with a colon, found in C
        index = text.count("\n", 0, candidate.start())
        if index <= done or index >= len(lines):
            continue
        done = index
        line = lines[index]
        match = _LABEL.match(line)
        if match is None:
            continue
        label = " ".join(match.group("label").lower().split())
        qualifier = (match.group("qualifier") or "").strip("()")
        items = match.group("items")
        for following in lines[index + 1:]:
            more = _continues(items, following)
            if more is None:
                break
            items = items.rstrip().rstrip("\\") + " " + more
            done += 1
        _read_items(result, KINDS[label], qualifier, items.replace("\\", " "), index + 1)
    return result
