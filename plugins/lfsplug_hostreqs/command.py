"""``lfsplug host``: every requirement, what was found, what is required, and a status.

The book's ``version-check.sh`` output in lfsplug's form: one row per requirement, then each
requirement not met with its finding code, message and hint (``--json``: the same as data).
Exit 0 when no error remains (missed recommendations are warnings), 6 otherwise; codes listed
in ``disable`` are shown but do not count.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from lfsplug import ExitCode, Severity
from lfsplug_hostreqs import book
from lfsplug_hostreqs.outcome import LOW, OK, Outcome

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["as_json", "cmd_host", "render"]

_COLOURS = {OK: "green", LOW: "yellow"}
_HEADINGS = ("status", "requirement", "found", "required")


def cmd_host(config: Config) -> int:
    """Check every requirement now (whatever ``--host-check`` says) and print the table."""
    from lfsplug_hostreqs import SETTINGS
    from lfsplug_hostreqs.checks import check_host

    outcomes = check_host(config.stash[SETTINGS])
    disabled = config.disabled_codes
    if config.getoption("json", False):
        click.echo(json.dumps(as_json(outcomes, disabled), indent=2))
    else:
        for line in render(outcomes, disabled):
            click.echo(line)
    errors = [o for o in outcomes if o.finding is not None
              and o.finding.severity is Severity.ERROR and o.finding.code not in disabled]
    return int(ExitCode.INVALID_TREE if errors else ExitCode.OK)


def as_json(outcomes: list[Outcome], disabled: set[str]) -> dict[str, Any]:
    """``host --json``: the book version and one record per requirement (``finding`` is null
    when it is met, else the shape of a ``check --json`` finding)."""
    return {
        "book": book.BOOK_VERSION,
        "requirements": [
            {
                "name": o.requirement,
                "found": o.found,
                "required": o.required,
                "status": o.status,
                "disabled": o.finding is not None and o.finding.code in disabled,
                "finding": o.finding.to_dict() if o.finding is not None else None,
            }
            for o in outcomes
        ],
    }


def _status(outcome: Outcome, disabled: set[str]) -> str:
    off = outcome.finding is not None and outcome.finding.code in disabled
    return outcome.status + (" (disabled)" if off else "")


def render(outcomes: list[Outcome], disabled: set[str]) -> list[str]:
    """The lines ``lfsplug host`` prints for ``outcomes``."""
    rows = [(_status(o, disabled), o.requirement, o.found, o.required) for o in outcomes]
    widths = [max(len(row[i]) for row in [_HEADINGS, *rows]) for i in range(3)]
    heading = "  ".join(h.ljust(w) for h, w in zip(_HEADINGS, widths, strict=False))
    lines = [f"Host requirements of the LFS book: {book.BOOK_VERSION}",
             click.style(f"{heading}  {_HEADINGS[3]}", bold=True)]
    for outcome, row in zip(outcomes, rows, strict=True):
        status = click.style(row[0].ljust(widths[0]), fg=_COLOURS.get(outcome.status, "red"))
        rest = "  ".join(cell.ljust(w) for cell, w in zip(row[1:3], widths[1:], strict=True))
        lines.append(f"{status}  {rest}  {row[3]}".rstrip())
    problems = [o.finding for o in outcomes if o.finding is not None]
    if problems:
        lines.append("")
    for f in problems:
        lines.append(f"{f.severity!s:<7} {f.code}  {f.message}")
        if f.hint:
            lines.append(f"                 hint: {f.hint}")
    met = sum(o.finding is None or o.finding.severity is not Severity.ERROR for o in outcomes)
    counts = {sev: sum(f.severity is sev and f.code not in disabled for f in problems)
              for sev in Severity}
    lines.append(f"{met} of {len(outcomes)} requirements met: {counts[Severity.ERROR]} error(s), "
                 f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info")
    return lines
