"""The small records that the checks produce and the cache stores.

A check of a script's *content* (syntax, shellcheck, lint) yields :class:`Issue` records, which
carry no path: two files with the same content have the same issues, so the cache keys them by
content hash alone. :func:`to_finding` attaches the path when a script's findings are reported.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lfsplug import Finding, Severity

__all__ = ["Issue", "Ref", "issue_from_json", "ref_from_json", "to_finding"]

PLUGIN = "validation"
#: The version of the content checks' rules (lint's, and the syntax screen's use of them): part
#: of the cache keys, so that bumping it drops cached results. Bumped in :mod:`.lint`'s
#: docstring's sense: whenever a rule changes. Kept here so that a warm check, which answers
#: from the cache, need not import the rules.
CHECKER_VERSION = "1"


class Issue(NamedTuple):
    """One problem in a script's content: code, severity, line (or None), message, hint."""

    code: str
    severity: str
    line: int | None
    message: str
    hint: str | None = None


class Ref(NamedTuple):
    """A source file a script names: ``gcc-13.2.0.tar.xz`` (or a ``name-1.0.tar*`` pattern)."""

    name: str
    line: int
    pattern: bool = False


def to_finding(issue: Issue, path: str | None) -> Finding:
    """The kernel's :class:`~lfsplug.model.Finding` for ``issue`` in the file ``path``."""
    return Finding(issue.code, Severity(issue.severity), issue.message, path, issue.line,
                   issue.hint, PLUGIN)


def issue_from_json(item: Any) -> Issue:
    """An :class:`Issue` from its cached form; ValueError when the shape is wrong."""
    if not isinstance(item, list) or len(item) != 5:
        raise ValueError(f"not a cached issue: {item!r}")
    code, severity, line, message, hint = item
    if not (isinstance(code, str) and isinstance(message, str)
            and severity in ("error", "warning", "info")
            and (line is None or (isinstance(line, int) and line > 0))
            and (hint is None or isinstance(hint, str))):
        raise ValueError(f"not a cached issue: {item!r}")
    return Issue(code, severity, line, message, hint)


def ref_from_json(item: Any) -> Ref:
    """A :class:`Ref` from its cached form; ValueError when the shape is wrong."""
    if not (type(item) is list and len(item) == 3 and type(item[0]) is str
            and type(item[1]) is int and type(item[2]) is bool):
        raise ValueError(f"not a cached reference: {item!r}")
    return Ref._make(item)
