"""``lfsplug report``: write a report of a recorded run, or import jhalfs SBU reports; and the
one place that loads a run for a report and hands it to its format's writer.

The records come through the state service (``lfsplug_state_service``), never from another
plugin's objects or tables: without a state plugin (``-p no:state``), ``run --report`` works
from the session and ``lfsplug report`` says that it needs one.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from lfsplug import ExitCode, Session, UsageError, secret_values
from lfsplug_reports import DATA, SUFFIXES
from lfsplug_reports.data import apply_session, from_session, load_run, make_jobs

if TYPE_CHECKING:
    from lfsplug import Config, StateService
    from lfsplug_reports.data import RunData

__all__ = ["cmd_report", "import_reports", "run_data", "state_service", "write"]


def write(data: RunData, fmt: str, path: Path, tail: int) -> None:
    """Write ``data`` in built-in format ``fmt`` to ``path``, its secrets redacted."""
    data.redact_all()
    if fmt == "html":
        from lfsplug_reports.html import write_report

        write_report(data, path, tail)
    elif fmt == "sbu":
        from lfsplug_reports.sbu import write_report as write_sbu

        write_sbu(data, path)
    else:
        from lfsplug_reports import formats

        if fmt == "json":
            formats.write_json(data, path)
        elif fmt == "junit":
            formats.write_junit(data, path, tail)
        else:
            formats.write_trace(data, path)


def run_data(session: Session) -> RunData:
    """The run a session is ending, for ``run --report``: as the state service recorded it
    (what it still queued written first), else (nothing recorded it) from the session."""
    config = session.config
    state: StateService | None = config.hook.lfsplug_state_service(config=config)
    run = None
    if state is not None:
        state.flush()
        run = state.current_run()
    if state is None or run is None:  # nothing recorded it (or a dry run: nothing is)
        data = from_session(session)
    else:
        data = load_run(state, run)
        apply_session(data, session)
    env = {**config.env}
    for script in session.scripts:  # a driver's exports (a token it sets) are secrets too
        env.update({f"{script.name}:{k}": v for k, v in script.env.items()})
    data.secrets = tuple(secret_values(env))
    return data


def state_service(config: Config, what: str) -> StateService:
    """The state service, or a UsageError (exit 4) saying in one line that ``what`` needs it."""
    state: StateService | None = config.hook.lfsplug_state_service(config=config)
    if state is None:
        raise UsageError(f"{what} needs the state plugin (it keeps the builds' records), "
                         f"which is not loaded (blocked with -p no:state?); run --report "
                         f"writes a report without it")
    return state


# -- the command -------------------------------------------------------------------------------


def cmd_report(config: Config) -> int:
    target = config.arguments.get("target", "")
    if config.getoption("import_reports", False):
        if config.getoption("run", None) is not None:
            raise UsageError("--run: a run is reported, not imported (leave out --import)")
        return import_reports(config, Path(target))
    known = sorted({f for formats in config.hook.lfsplug_report_formats(config=config)
                    for f in formats})
    fmt, _sep, where = target.partition(":")
    if fmt not in known:
        raise UsageError(f"lfsplug report {target}: unknown format {fmt!r} (known: "
                         f"{', '.join(known)}; FORMAT:PATH, or FORMAT alone for a file in "
                         f"the state directory's reports/)")
    data = _load(config)
    path = Path(where).absolute() if where else _default_path(config, data, fmt)
    session = Session(config)
    session.stash[DATA] = data
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        written = config.hook.lfsplug_write_report(session=session, format=fmt, path=path)
    except OSError as exc:
        raise UsageError(f"cannot write the {fmt} report to {path}: "
                         f"{exc.strerror or exc}") from None
    if not written:
        raise UsageError(f"no plugin wrote the {fmt} report (lfsplug_write_report)")
    click.echo(f"lfsplug: wrote the {fmt} report of run {data.run.id} to {path}", err=True)
    return ExitCode.OK


def _load(config: Config) -> RunData:
    state = state_service(config, "lfsplug report")
    data = load_run(state, state.run(config.getoption("run", None)))
    data.jobs = make_jobs(config.env)
    data.secrets = tuple(secret_values(config.env))
    return data


def _default_path(config: Config, data: RunData, fmt: str) -> Path:
    return config.state_dir / "reports" / f"run-{data.run.id}{SUFFIXES.get(fmt, '.' + fmt)}"


# -- import ------------------------------------------------------------------------------------


def import_reports(config: Config, target: Path) -> int:
    """Read jhalfs SBU reports (a file, or every ``*.report`` in a directory) into the state
    database's history; every file is read before anything is written."""
    from lfsplug_reports.sbu import history_entries, read_report

    state = state_service(config, "lfsplug report --import")
    files = _report_files(target)
    reports = [(path, read_report(path)) for path in files]
    for path, report in reports:
        source = f"jhalfs:{path.resolve()}"
        count = state.add_history(source, history_entries(report, source))
        unit = (f"SBU {report.sbu_seconds:g} s" if report.sbu_seconds else "no SBU") + (
            f" at -j{report.jobs}" if report.jobs else "")
        click.echo(f"lfsplug: imported {count} package builds from {path} ({unit})", err=True)
    return ExitCode.OK


def _report_files(target: Path) -> list[Path]:
    if target.is_dir():
        files = sorted(p for p in target.glob("*.report") if p.is_file())
        if not files:
            raise UsageError(f"--import {target}: no *.report file in this directory")
        return files
    if not target.exists():
        raise UsageError(f"--import {target}: no such file")
    return [target]
