"""Reports: a run as JSON, JUnit XML, HTML with charts, a Chrome/Perfetto trace, or the jhalfs
SBU and disk-usage report; and jhalfs reports read back as history.

``run --report FORMAT:PATH`` (the kernel's option) writes a report as the run ends, through
``lfsplug_write_report``; ``lfsplug report FORMAT[:PATH]`` writes one later from the state
database alone (the last run, or ``--run N``); ``lfsplug report --import FILE|DIR`` reads jhalfs
SBU reports into the database's ``history`` table, so that the first ETA on a new machine is
already informed.

This module is the gate; every format renders from one record of the run
(:mod:`.data`, loaded from ``state.db``): :mod:`.formats` writes ``json``, ``junit`` and
``trace``, :mod:`.html` (with :mod:`.charts` and ``templates/``) writes ``html``, :mod:`.sbu`
writes and reads the jhalfs format. docs/reports.md describes them all for users.

For ``run``, :mod:`.failures` writes a document of each failed attempt in the state directory's
``failures/`` (docs/user-guide.md, "Failure documents"). Every report and document redacts
secrets (``lfsplug.redact_text``).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import SettingsTable, StashKey, hookimpl, integer

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, OptionParser, Session
    from lfsplug_reports.data import RunData

__all__ = ["DATA", "FORMATS", "SUFFIXES", "tail_lines"]

#: The formats this plugin writes, with the suffix of each one's default file name.
SUFFIXES = {"json": ".json", "junit": ".xml", "html": ".html", "trace": ".trace.json",
            "sbu": ".report"}
FORMATS = tuple(SUFFIXES)
#: The run a report is written of, once loaded (several reports of one run load it once).
DATA: StashKey[RunData] = StashKey()
#: Log lines a failure shows by default (``[reports] log_lines``).
LOG_LINES = 30

#: ``lfsplug report``'s options (top-level keys of the file too).
OPTIONS = SettingsTable()
RUN = OPTIONS.add("run", integer(1), None, "report run N (default: the last run that built "
                  "something)", option=("--run",), commands=("report",), metavar="N")
IMPORT = OPTIONS.add("import_reports", bool, False, "read the jhalfs SBU report FILE (or every "
                     "*.report file in a directory) into the state database as history, "
                     "instead of writing a report", option=("--import",), commands=("report",))
#: The ``[reports]`` table.
TABLE = SettingsTable("reports")
LOG_LINES_SETTING = TABLE.add("log_lines", integer(0), LOG_LINES, "how many of a failed "
                              "script's last log lines a report shows")


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(OPTIONS, TABLE)


#: The name the failure documents' writer is registered under for ``run``.
FAILURE_DOCS = "failuredocs"


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command == "run":
        from lfsplug_reports.failures import FailureDocs

        config.pluginmanager.register(FailureDocs(config, tail_lines(config)), FAILURE_DOCS)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    config.pluginmanager.unregister_and_close(FAILURE_DOCS)


def cmd_report(config: Config) -> int:
    """``lfsplug report FORMAT[:PATH]`` and ``lfsplug report --import FILE|DIR``."""
    from lfsplug_reports.command import cmd_report

    return cmd_report(config)


@hookimpl
def lfsplug_addcommands(commands: CommandSet) -> None:
    commands.add("report", cmd_report, arguments=("target",), finds_build=True,
                 help="Write a report of the last run: TARGET is FORMAT[:PATH] (json, junit, "
                      "html, trace, sbu). With --import, read TARGET, a jhalfs SBU report or a "
                      "directory of them, into the history.")


@hookimpl
def lfsplug_report_formats() -> list[str]:
    return list(FORMATS)


@hookimpl(trylast=True)
def lfsplug_write_report(session: Session, format: str, path: Path) -> bool | None:
    """Write a built-in format from the run's record: the state database's, completed with
    what the session knows, else the session's own."""
    if format not in FORMATS:
        return None
    from lfsplug_reports.command import run_data, write
    from lfsplug_reports.slow import SlowWork

    with SlowWork(f"writing the {format} report to {path}"):
        data = session.stash.get(DATA)
        if data is None:
            data = session.stash[DATA] = run_data(session)
        data.sbu_script = sbu_script(session.config)
        write(data, format, path, tail_lines(session.config))
    return True


def sbu_script(config: Config) -> str:
    """``[monitor] sbu_script`` (the monitor plugin declares it), else ``binutils-pass1``."""
    from lfsplug_reports.data import SBU_SCRIPT

    name = config.getsection("monitor").get("sbu_script")
    return name if isinstance(name, str) and name else SBU_SCRIPT


def tail_lines(config: Config) -> int:
    """``[reports] log_lines``: how many of a failed script's last log lines to show."""
    return config.get(LOG_LINES_SETTING)
