"""The terminal reporter: a header, a line per script start and finish, failures with their log
tail and log path, and a summary. ``-p no:terminal`` builds quietly."""

from __future__ import annotations

import platform
import sys
import time
from typing import TYPE_CHECKING, TextIO

import click

import lfsplug
from lfsplug import Script, ScriptResult, Status, hookimpl
from lfsplug.text import format_duration

if TYPE_CHECKING:
    from lfsplug.config import Config
    from lfsplug.session import Session

REPORTER = "terminalreporter"
TAIL_SHOWN = 20
_COLOURS = {Status.PASSED: "green", Status.FAILED: "red", Status.SKIPPED: "yellow",
            Status.NOT_RUN: "white"}




class TerminalReporter:
    """Prints the progress of a ``run`` as plain lines."""

    def __init__(self, config: Config, out: TextIO | None = None) -> None:
        self.config = config
        self.out = out or sys.stdout
        self.colour = self.out.isatty()
        self.total = 0
        self.done = 0
        self.begun = 0
        self.started = time.time()

    def write(self, text: str = "", **style: object) -> None:
        if self.colour and style:
            text = click.style(text, **style)  # type: ignore[arg-type]
        self.out.write(text + "\n")
        self.out.flush()

    def _counter(self, count: int) -> str:
        width = len(str(self.total))
        return f"[{count:>{width}}/{self.total}]"

    @hookimpl
    def lfsplug_sessionstart(self, session: Session) -> None:
        self.started = session.started
        self.write(f"lfsplug {lfsplug.__version__}, python {platform.python_version()}, "
                   f"state in {session.config.state_dir}", bold=True)
        rows = self.config.pluginmanager.describe()
        names = [r["name"] + (f"-{r['version']}" if r["version"] else "")
                 for r in rows if r["origin"] not in ("kernel", "internal")]
        self.write("plugins: " + ", ".join(names))
        for lines in self.config.hook.lfsplug_report_header(config=self.config):
            for line in [lines] if isinstance(lines, str) else lines:
                self.write(line)

    @hookimpl
    def lfsplug_collection_finish(self, session: Session) -> None:
        self.total = len(session.scripts)
        noun = "script" if self.total == 1 else "scripts"
        self.write(f"found {self.total} {noun} under "
                   + ", ".join(str(p) for p in session.config.paths))

    @hookimpl
    def lfsplug_script_start(self, session: Session, script: Script, attempt: int) -> None:
        again = f" (attempt {attempt})" if attempt > 1 else ""
        if attempt == 1:
            self.begun += 1
        self.write(f"{self._counter(self.begun)} start   {script.name}{again}")

    @hookimpl
    def lfsplug_script_finish(self, session: Session, script: Script,
                              result: ScriptResult) -> None:
        self.done += 1
        status = str(result.status)
        extra = " (unchanged, from an earlier run)" if result.cached else ""
        if result.status is Status.FAILED:
            code = (f"signal {result.signal}" if result.signal
                    else f"exit status {result.exit_code}")
            extra = f" ({result.message or code})"
        elif result.status is Status.SKIPPED and result.message:
            extra = f" ({result.message})"
        self.write(f"{self._counter(self.done)} {status:<7} {script.name}  "
                   f"{format_duration(result.duration)}{extra}", fg=_COLOURS[result.status])
        if result.status is Status.FAILED:
            self._failure(script, result)

    def _failure(self, script: Script, result: ScriptResult) -> None:
        tail = result.tail[-TAIL_SHOWN:]
        if tail:
            self.write(f"---- last {len(tail)} lines of {script.name} ----", fg="red")
            for line in tail:
                self.write("    " + line)
        if result.log_path:
            self.write(f"---- full log: {result.log_path}", fg="red")

    @hookimpl
    def lfsplug_sessionfinish(self, session: Session, exitstatus: int) -> None:
        if not session.results:
            return
        failed = [r for r in session.results.values() if r.status is Status.FAILED]
        if session.interrupted:
            self.write("interrupted: running scripts were ended", fg="yellow")
        elif session.shouldstop:
            self.write(f"stopped: {session.shouldstop}")
        self.config.hook.lfsplug_terminal_summary(session=session, exitstatus=exitstatus,
                                                  write=self.write)
        for result in failed:
            label = f" [{result.failure_class}]" if result.failure_class else ""
            self.write(f"FAILED {result.name}{label}: log {result.log_path}", fg="red")
        counts = session.counts()
        parts = [f"{n} {status}" for status, n in counts.items() if n]
        elapsed = format_duration(time.time() - self.started)
        colour = "red" if failed or exitstatus else "green"
        self.write(f"==== {', '.join(parts)} in {elapsed} ====", fg=colour, bold=True)


@hookimpl
def lfsplug_configure(config: Config) -> None:
    if config.command == "run":
        config.pluginmanager.register(TerminalReporter(config), REPORTER)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    reporter = config.pluginmanager.get_plugin(REPORTER)
    if reporter is not None:
        config.pluginmanager.unregister(reporter)
