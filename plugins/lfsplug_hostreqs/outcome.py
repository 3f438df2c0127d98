"""The record every host check makes: one :class:`Outcome` per requirement.

An outcome is a row of ``lfsplug host`` (requirement, what was found, what is required, a
status) and, when the requirement is not met, the :class:`~lfsplug.Finding` that ``check`` and
``run`` report.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfsplug import Finding, Severity

__all__ = [
    "BROKEN", "LOW", "MISSING", "OK", "PLUGIN", "TOO_LOW", "TOO_OLD", "UNKNOWN", "WRONG",
    "Outcome", "finding",
]

PLUGIN = "hostreqs"

#: The statuses of ``lfsplug host``: met (OK), missed recommendations (LOW), not met (the rest).
OK = "OK"
TOO_OLD = "TOO OLD"
MISSING = "MISSING"
BROKEN = "BROKEN"
UNKNOWN = "UNKNOWN"
WRONG = "WRONG"
LOW = "LOW"
TOO_LOW = "TOO LOW"


@dataclass(frozen=True)
class Outcome:
    """One requirement checked: a row of ``lfsplug host``, and its finding when not met."""

    requirement: str
    found: str
    required: str
    status: str
    finding: Finding | None = None


def finding(code: str, severity: Severity, message: str, hint: str) -> Finding:
    """A host finding (no path: ``check`` groups it under "host")."""
    return Finding(code, severity, message, None, None, hint, PLUGIN)
