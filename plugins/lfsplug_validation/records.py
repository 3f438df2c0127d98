"""The small records that the checks produce and the cache stores.

A check of a script's *content* (syntax, shellcheck, lint) yields :class:`Issue` records, which
carry no path: two files with the same content have the same issues, so the cache keys them by
content hash alone. :func:`to_finding` attaches the path when a script's findings are reported.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from lfsplug import Finding, Severity

__all__ = ["CdUse", "Issue", "Ref", "Sourced", "cd_use_from_json", "issue_from_json",
           "ref_from_json", "sourced_from_json", "to_finding"]

PLUGIN = "validation"
#: The version of the content checks' rules (lint's, and the syntax screen's use of them): part
#: of the cache keys, so that bumping it drops cached results. Bumped in :mod:`.lint`'s
#: docstring's sense: whenever a rule changes. Kept here so that a warm check, which answers
#: from the cache, need not import the rules.
CHECKER_VERSION = "4"


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
    #: a missing file is a finding (INT002); not for ``unpack=``, whose tarball the run may
    #: take from elsewhere (``$SOURCES``, ``run --fetch``) and says so when it is missing
    required: bool = True


class CdUse(NamedTuple):
    """A ``cd``/``pushd`` into variables the script itself never sets (LFS009), kept until the
    environment of the script that holds it is known.

    ``parts`` is its directory argument, piece by piece: ``[text, name]``, ``name`` being the
    variable a piece expands when it is one of those (``["$PKGDIR", "PKGDIR"]``), else ``""``
    (``["/build", ""]``); ``quoted``: the argument stays an argument when it expands to
    nothing (``cd ""`` does nothing, ``cd`` goes home).
    """

    line: int
    command: str
    shown: str
    quoted: bool
    parts: list[list[str]]

    @property
    def names(self) -> list[str]:
        """The variables to look for, in order, once each."""
        return list(dict.fromkeys(name for _, name in self.parts if name))


class Sourced(NamedTuple):
    """A file a script reads with ``source`` or ``.``: the word as written."""

    line: int
    path: str


def to_finding(issue: Issue, path: str | None) -> Finding:
    """The kernel's :class:`~lfsplug._model.Finding` for ``issue`` in the file ``path``."""
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


def cd_use_from_json(item: Any) -> CdUse:
    """A :class:`CdUse` from its cached form; ValueError when the shape is wrong."""
    if not (type(item) is list and len(item) == 5 and type(item[0]) is int
            and type(item[1]) is str and type(item[2]) is str and type(item[3]) is bool
            and type(item[4]) is list
            and all(type(p) is list and len(p) == 2 and all(type(t) is str for t in p)
                    for p in item[4])):
        raise ValueError(f"not a cached cd: {item!r}")
    return CdUse._make(item)


def sourced_from_json(item: Any) -> Sourced:
    """A :class:`Sourced` from its cached form; ValueError when the shape is wrong."""
    if not (type(item) is list and len(item) == 2 and type(item[0]) is int
            and type(item[1]) is str):
        raise ValueError(f"not a cached source: {item!r}")
    return Sourced._make(item)
