"""The essential commands: ``run``, ``list``, ``check`` and ``plugins``, with their options.

A plugin like any other, registered through its entry point (``main``), except that it cannot be
blocked: without it lfsplug would have nothing to do. Plugins add commands of their own the same
way, through ``lfsplug_addcommands``, and run a session with :func:`lfsplug.run_session`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from lfsplug import (
    Estimate,
    ExitCode,
    Finding,
    Plan,
    Script,
    Severity,
    UsageError,
    gc_paused,
    hookimpl,
    record_build,
    run_session,
)

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser, Session


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.addoption(
        "--json", commands=("list", "check", "plugins", "status"), action="store_true",
        help="print JSON instead of text",
    )
    parser.addoption(
        "--ignore-errors", commands=("run",), action="store_true",
        help="run even when validation reports errors (ordering errors still stop the run)",
    )
    parser.addoption(
        "--report", commands=("run",), action="append", metavar="FORMAT:PATH",
        help="write a report when the run ends (formats come from plugins: lfsplug plugins "
             "shows which implement lfsplug_write_report); may be repeated",
    )
    parser.addoption("--why", commands=("list",), metavar="NAME",
                     help="say where each field of script NAME and each of its edges came from")
    parser.addoption("--severity", commands=("check",), choices=SEVERITIES, default="info",
                     metavar="LEVEL", help="show only the findings at or above LEVEL: error, "
                     "warning or info (default: info, every finding)")


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    commands.add("run", cmd_run, "Build: discover, validate, order and run the scripts.", True)
    commands.add("list", cmd_list, "Show the scripts in plan order.", True)
    commands.add("check", cmd_check, "Validate the scripts and the host; run nothing.", True)
    commands.add("plugins", cmd_plugins, "List the plugins and the hooks each implements.")


def cmd_run(config: Config) -> int:
    if not config.getoption("dry_run", False):  # what status, log and report find without PATH
        record_build(config)
    return run_session(config, _run)


def _run(session: Session) -> int:
    reports = report_requests(session.config)
    try:
        return _build(session)
    finally:
        write_reports(session, reports)


def report_requests(config: Config) -> list[tuple[str, Path]]:
    """The ``--report FORMAT:PATH`` values, checked against the formats plugins write."""
    known = sorted({f for fmts in config.hook.lfsplug_report_formats(config=config) for f in fmts})
    requests = []
    for value in config.getoption("report", []):
        fmt, sep, path = value.partition(":")
        if not sep or not path:
            raise UsageError(f"--report {value}: expected FORMAT:PATH (e.g. json:report.json)")
        if fmt not in known:
            raise UsageError(f"--report {value}: unknown format {fmt!r} (known: "
                             f"{', '.join(known) or 'none; no plugin writes reports'})")
        requests.append((fmt, Path(path).absolute()))
    return requests


def write_reports(session: Session, requests: list[tuple[str, Path]]) -> None:
    """Write each requested report; a report that cannot be written is said, not fatal."""
    for fmt, path in requests:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            written = session.hook.lfsplug_write_report(session=session, format=fmt, path=path)
        except OSError as exc:
            click.echo(f"lfsplug: cannot write the {fmt} report to {path}: {exc}", err=True)
            continue
        if written:
            click.echo(f"lfsplug: wrote the {fmt} report to {_show(path)}", err=True)


def _build(session: Session) -> int:
    if not session.collect():
        return _no_scripts(session)
    session.validate()
    validation_errors = len(session.errors)
    plan = session.build_plan()
    # errors, and the warnings no earlier run showed (validation remembers, per script content,
    # what run showed: Finding.known); known warnings counted, information not (check shows all)
    loud = [f for f in session.findings if f.severity is Severity.ERROR
            or (f.severity is Severity.WARNING and not f.known)]
    _echo_findings_inline(loud)
    known = sum(f.severity is Severity.WARNING and f.known for f in session.findings)
    if known:
        click.echo(f"lfsplug: {known} known warning{'' if known == 1 else 's'}: lfsplug check",
                   err=True)
    ignore = session.config.getoption("ignore_errors", False)
    blocking = len(session.errors) - (validation_errors if ignore else 0)
    if blocking:
        click.echo(f"lfsplug: {blocking} error(s) in the script tree; nothing was run "
                   f"(lfsplug check shows them all)", err=True)
        return ExitCode.INVALID_TREE
    return session.execute(plan)


def cmd_list(config: Config) -> int:
    with gc_paused():  # makes nothing that outlives the command (see gc_paused)
        return _session_list(config)


def _session_list(config: Config) -> int:
    return run_session(config, _list)


def _list(session: Session) -> int:
    config = session.config
    if not session.collect():
        return _no_scripts(session)
    plan = session.build_plan()
    errors = session.errors
    if errors:
        _echo_findings_inline(errors)
        return ExitCode.INVALID_TREE
    why = config.getoption("why")
    if why:
        return _explain(session, plan, why)
    if config.getoption("json"):
        click.echo(json.dumps({"scripts": [_script_json(s, i, _estimate(config, s)) for i, s in
                                           enumerate(plan.scripts, 1)]}, indent=2))
        return ExitCode.OK
    width = len(str(len(plan.scripts)))
    lines = []
    for order, script in enumerate(plan.scripts, 1):
        deps = ", ".join(str(d) for d in script.depends)
        lines.append(f"{order:>{width}}  {script.name:<28} {script.version or '-':<12} "
                     f"{script.phase or '-':<10} {script.relpath}"
                     + (f"  (depends: {deps})" if deps else ""))
        if script.packages:  # a multi-package file, run whole: what it builds, under its name
            lines.append(f"{'':>{width}}  builds: {', '.join(script.packages)}")
    click.echo("\n".join(lines))  # one write: 10,000 echo calls cost a tenth of a second
    return ExitCode.OK


def _estimate(config: Config, script: Script) -> Estimate | None:
    """The script's estimate; a plugin that only answers the seconds gives one with no source."""
    found: Estimate | None = config.hook.lfsplug_estimate(script=script, config=config)
    if found is None:
        seconds = config.hook.lfsplug_expected_duration(script=script, config=config)
        found = Estimate(float(seconds)) if seconds is not None else None
    return found


def _script_json(script: Script, order: int, estimate: Estimate | None = None) -> dict[str, Any]:
    return {
        "name": script.name,
        "version": script.version,
        "path": str(script.path),
        "phase": script.phase,
        "depends": [str(d) for d in script.depends],
        "provides": list(script.provides),
        "packages": list(script.packages),
        "package": script.package,
        "order": order,
        "expected_s": round(estimate.seconds, 1) if estimate else None,
        "expected_sbu": round(estimate.sbu, 2) if estimate and estimate.sbu is not None else None,
        "expected_from": [{"source": s.source, "version": s.version, "jobs": s.jobs,
                           "seconds": round(s.seconds, 1), "weight": round(s.weight, 3)}
                          for s in (estimate.sources if estimate else ())],
    }


def _explain(session: Session, plan: Plan, name: str) -> int:
    script = session.script(name)
    if script is None:
        raise UsageError(f"--why: no script named {name!r}")
    order = next(i for i, s in enumerate(plan.scripts, 1) if s is script)
    click.echo(f"{name}: position {order} of {len(plan.scripts)} ({plan.mode} order)")
    click.echo(f"  path: {script.path}")
    for key in sorted(script.origins):
        value = getattr(script, key, None)
        shown = script.meta.get(key) if value is None else value
        if isinstance(shown, (list, set)):
            shown = ", ".join(sorted(str(v) for v in shown))
        click.echo(f"  {key} = {shown}    from {script.origins[key]}")
    for edge in plan.edges:
        if edge.after == name:
            click.echo(f"  after {edge.before}: {edge.kind} ({edge.origin})")
        elif edge.before == name:
            click.echo(f"  before {edge.after}: {edge.kind} ({edge.origin})")
    return ExitCode.OK


def cmd_check(config: Config) -> int:
    with gc_paused():  # makes nothing that outlives the command (see gc_paused)
        return _session_check(config)


def _session_check(config: Config) -> int:
    return run_session(config, _check)


def _check(session: Session) -> int:
    config = session.config
    if not session.collect():
        return _no_scripts(session)
    session.validate()
    session.build_plan()
    findings = at_least(session.findings, config.getoption("severity") or "info")
    if config.getoption("json"):
        click.echo(json.dumps({"findings": [f.to_dict() for f in findings]}, indent=2))
    else:
        _echo_findings_grouped(findings)
        counts = {sev: sum(f.severity is sev for f in session.findings) for sev in Severity}
        click.echo(f"{len(session.scripts)} scripts checked: {counts[Severity.ERROR]} error(s), "
                   f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info")
    return ExitCode.INVALID_TREE if session.errors else ExitCode.OK


#: The values of ``check --severity``, the most severe first.
SEVERITIES = ("error", "warning", "info")


def at_least(findings: list[Finding], level: str) -> list[Finding]:
    """The findings of severity ``level`` or more severe (``check --severity``)."""
    rank = SEVERITIES.index(level)
    return [f for f in findings if SEVERITIES.index(f.severity.value) <= rank]


def cmd_plugins(config: Config) -> int:
    rows = config.pluginmanager.describe()
    if config.getoption("json"):
        keep = ("name", "module", "version", "hooks", "origin", "distribution")
        click.echo(json.dumps({"plugins": [{k: r[k] for k in keep} for r in rows]}, indent=2))
        return ExitCode.OK
    for row in rows:
        version = f" {row['version']}" if row["version"] else ""
        click.echo(f"{row['name']}{version}  [{row['origin']}] {row['module']}")
        for hook in row["hooks"]:
            click.echo(f"    {hook}")
    return ExitCode.OK


def _no_scripts(session: Session) -> int:
    """Exit 5, saying why where discovery said why (unreadable folders...); 6 when what it
    skipped is an error (a binary or unreadable file named like a build script)."""
    _echo_findings_inline(session.findings)
    where = ", ".join(_show(p) for p in session.config.paths)
    click.echo(f"lfsplug: no scripts found under {where}", err=True)
    return ExitCode.INVALID_TREE if session.errors else ExitCode.NO_SCRIPTS


def _show(path: Path | str) -> str:
    """A path as the user would type it: relative to the current directory when below it."""
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def _severity_style(severity: Severity) -> str:
    return {"error": "red", "warning": "yellow", "info": "cyan"}[severity.value]


def _echo_findings_inline(findings: list[Finding]) -> None:
    for f in sorted(findings, key=_finding_order):
        where = _show(f.path) + (f":{f.line}" if f.line else "") if f.path else "host"
        label = click.style(str(f.severity), fg=_severity_style(f.severity))
        click.echo(f"{where}: {label} {f.code}: {f.message}", err=True)


def _echo_findings_grouped(findings: list[Finding]) -> None:
    current: str | None = None
    for f in sorted(findings, key=_finding_order):
        group = _show(f.path) if f.path else "host"
        if group != current:
            click.echo(click.style(group, bold=True))
            current = group
        line = f"{f.line:>5}" if f.line else "    -"
        label = click.style(f"{f.severity!s:<7}", fg=_severity_style(f.severity))
        click.echo(f"  {line}  {label} {f.code:<8} {f.message}")
        if f.hint:
            click.echo(f"                          hint: {f.hint}")


def _finding_order(f: Finding) -> tuple[str, int, str]:
    return (f.path or "", f.line or 0, f.code)
