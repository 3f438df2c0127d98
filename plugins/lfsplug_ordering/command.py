"""``lfsplug graph [PATH]... [--format text|dot|mermaid|json]``: draw the plan.

Discovers the scripts and builds the plan as ``lfsplug list`` does (no validation, nothing
run), then prints it in the chosen format with the critical path marked. Ordering errors are
printed as ``list`` prints them, with exit 6; no scripts is exit 5.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from lfsplug import ExitCode, Severity, run_session
from lfsplug_ordering.draw import render
from lfsplug_ordering.plan import PLAN_INFO, PlanInfo
from lfsplug_ordering.settings import FORMAT

if TYPE_CHECKING:
    from lfsplug import Config, Session

__all__ = ["cmd_graph"]


def cmd_graph(config: Config) -> int:
    """The ``graph`` command's callback."""
    return run_session(config, _graph)


def _graph(session: Session) -> int:
    if not session.collect():
        _echo_findings(session)
        where = ", ".join(_show(str(p)) for p in session.config.paths)
        click.echo(f"lfsplug: no scripts found under {where}", err=True)
        return ExitCode.NO_SCRIPTS
    plan = session.build_plan()
    if session.errors:
        _echo_findings(session, errors_only=True)
        return ExitCode.INVALID_TREE
    info = session.stash.get(PLAN_INFO) or PlanInfo()  # another plugin may build the plan
    click.echo(render(session.config.get(FORMAT), plan, info))
    return ExitCode.OK


def _echo_findings(session: Session, errors_only: bool = False) -> None:
    """The findings on standard error, one line each, as ``lfsplug list`` prints them."""
    shown = [f for f in session.findings if not errors_only or f.severity is Severity.ERROR]
    for f in sorted(shown, key=lambda f: (f.path or "", f.line or 0, f.code)):
        where = _show(f.path) + (f":{f.line}" if f.line else "") if f.path else "host"
        colour = {"error": "red", "warning": "yellow"}.get(str(f.severity), "cyan")
        click.echo(f"{where}: {click.style(str(f.severity), fg=colour)} {f.code}: {f.message}",
                   err=True)


def _show(path: str) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return path
