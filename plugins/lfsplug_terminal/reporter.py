"""The terminal reporter: one object per ``run``, subscribed to the build's hooks and events.

It keeps a :class:`~lfsplug_terminal.board.Board` up to date and says what happens through an
*output*: the live :class:`~lfsplug_terminal.live.Dashboard` on a terminal, or
:class:`~lfsplug_terminal.plain.PlainOutput` elsewhere. Both print the same lines
(:mod:`lfsplug_terminal.lines`): the header, a line per finished script (and, in plain mode, per
start), a failure's log tail and log path, alerts, and the summary at the end.
"""

from __future__ import annotations

import logging
import platform
import threading
import time
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TextIO, Unpack

import lfsplug
from lfsplug import (
    AlertLevel,
    AlertRaised,
    Event,
    Plan,
    Script,
    ScriptOutput,
    ScriptResult,
    ScriptRetry,
    Status,
    StopRequested,
    hookimpl,
    redact_text,
    resume_command,
    secret_values,
)
from lfsplug_terminal.board import Board
from lfsplug_terminal.lines import (
    Line,
    Style,
    alert_text,
    encodable,
    failed_where,
    failure_block,
    finish_line,
    labels_text,
    names_line,
    resume_line,
    start_line,
    summary_failure,
    totals_line,
)

if TYPE_CHECKING:
    from lfsplug import Config, Session

log = logging.getLogger("lfsplug.terminal")

ALERT_LEVELS = {AlertLevel.CLEAR: logging.INFO, AlertLevel.WARN: logging.WARNING,
                AlertLevel.STOP: logging.ERROR, AlertLevel.HALT: logging.ERROR}
#: How long a finished script's line waits for its output lines still on the bus (verbose).
OUTPUT_WAIT = 1.0


@dataclass(frozen=True)
class Settings:
    """How the terminal shows a run, from the options and the environment."""

    dashboard: bool
    colour: bool
    heartbeat: float | None
    verbosity: int  # -1 quiet, 0 normal, 1 verbose


class Output(Protocol):
    """What the reporter needs of the dashboard and of plain mode alike."""

    def lines(self, lines: Sequence[Line]) -> None: ...
    def raw(self, text: str) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


class TerminalReporter:
    """Follows a ``run`` and shows it (see the module's docstring)."""

    def __init__(self, config: Config, settings: Settings, out: TextIO, err: TextIO) -> None:
        self.config = config
        self.settings = settings
        self.out = out
        self.board = Board()
        self.output: Output = self._make_output(out, err)
        #: each script's number in plain mode: the order it started (or, never started,
        #: finished) in; its start line and its result line show the same number
        self.numbers: dict[str, int] = {}
        self._numbering = threading.Lock()  # scripts start on the scheduler's slot threads
        self.expected: dict[str, float | None] = {}
        #: when the build was first told to end its running scripts (a hard stop), if it was
        self.hard_stop_at: float | None = None
        #: values hidden wherever shown (``[env]``'s secrets: ``lfsplug.secret_values``)
        self.secrets = secret_values(config.env)

    def _make_output(self, out: TextIO, err: TextIO) -> Output:
        if self.settings.dashboard:
            from lfsplug_terminal.live import Dashboard  # rich only when a dashboard is drawn

            return Dashboard(out, self.board)
        from lfsplug_terminal.plain import PlainOutput

        return PlainOutput(out, err, self.board, colour=self.settings.colour,
                           heartbeat=self.settings.heartbeat)

    @property
    def quiet(self) -> bool:
        return self.settings.verbosity < 0

    def write(self, text: str = "", **style: Unpack[Style]) -> None:
        """Print one line (the ``write`` that ``lfsplug_terminal_summary`` receives)."""
        self.output.lines([Line(text, style)])

    # -- before the build ----------------------------------------------------------------------

    @hookimpl
    def lfsplug_sessionstart(self, session: Session) -> None:
        self.board.started = session.started
        self.board.labels = labels_text(self.config.labels)
        if self.quiet:
            return
        lines = [Line(f"lfsplug {lfsplug.__version__}, python {platform.python_version()}, "
                      f"state in {session.config.state_dir}", {"bold": True})]
        if self.board.labels:
            lines.append(Line(self.board.labels, {"bold": True}))
        rows = self.config.pluginmanager.describe()
        names = [r["name"] + (f"-{r['version']}" if r["version"] else "")
                 for r in rows if r["origin"] not in ("kernel", "internal")]
        lines.append(Line("plugins: " + ", ".join(names)))
        for given in self.config.hook.lfsplug_report_header(config=self.config):
            lines.extend(Line(text) for text in ([given] if isinstance(given, str) else given))
        self.output.lines(lines)

    @hookimpl
    def lfsplug_collection_finish(self, session: Session) -> None:
        total = len(session.scripts)
        with self.board.lock:
            self.board.total = total
        if not self.quiet:
            noun = "script" if total == 1 else "scripts"
            self.write(f"found {total} {noun} under "
                       + ", ".join(str(p) for p in session.config.paths))

    @hookimpl(wrapper=True)
    def lfsplug_run_plan(self, session: Session, plan: Plan) -> Generator[None, bool | None,
                                                                          bool | None]:
        """The build runs inside this wrapper: the dashboard (or the heartbeat) is up exactly
        while it runs, and comes down however it ends (a failure, Ctrl-C)."""
        self.board.begin(plan, self.config.jobs)
        self.output.start()
        try:
            return (yield)
        finally:
            self.output.stop()

    # -- during the build ----------------------------------------------------------------------

    @hookimpl
    def lfsplug_script_start(self, session: Session, script: Script, attempt: int) -> None:
        number = self.number(script.name)
        self.board.script_started(script.name, attempt, time.time(), self._expected(script))
        if not self.settings.dashboard and not self.quiet:
            self.output.lines([start_line(number, self.board.total, script.name, attempt)])

    def number(self, name: str) -> int:
        """The script's number: given when it first starts, the same for its retries and
        its result."""
        with self._numbering:
            return self.numbers.setdefault(name, len(self.numbers) + 1)

    def _expected(self, script: Script) -> float | None:
        if script.name not in self.expected:
            self.expected[script.name] = self.config.hook.lfsplug_expected_duration(
                script=script, config=self.config)
        return self.expected[script.name]

    @property
    def echo(self) -> bool:
        """Whether scripts' output lines are printed (``-v`` in plain mode)."""
        return self.settings.verbosity > 0 and not self.settings.dashboard

    @hookimpl
    def lfsplug_script_finish(self, session: Session, script: Script,
                              result: ScriptResult) -> None:
        if self.echo:  # its last lines are still on the bus: print them first
            session.events.flush(OUTPUT_WAIT)
        done = self.board.script_finished(result)
        number = self.number(result.name)
        failed = result.status is Status.FAILED
        if self.quiet and not failed:
            return
        # the dashboard prints no start lines: there a result line counts the scripts done
        shown = done if self.settings.dashboard else number
        block = [finish_line(shown, self.board.total, result)]
        if failed:
            secrets = [*self.secrets, *secret_values(script.env)]
            block.extend(failure_block(result, secrets=secrets))
        self.output.lines(block)

    @hookimpl
    def lfsplug_events(self, session: Session, events: list[Event]) -> None:
        take_events(self.board, events, dashboard=self.settings.dashboard)
        hard = [e.time for e in events if isinstance(e.record, StopRequested) and e.record.hard]
        if hard:
            self.hard_stop_at = min([*hard, self.hard_stop_at or hard[0]])
        if self.echo:
            self._echo(events)

    def _echo(self, events: list[Event]) -> None:
        lines = [Line(f"{event.script}| {redact_text(line, self.secrets)}")
                 for event in sorted(events, key=_seq)
                 if isinstance(event.record, ScriptOutput) for line in event.record.lines]
        if lines:
            self.output.lines(lines)

    # -- after the build -----------------------------------------------------------------------

    @hookimpl
    def lfsplug_sessionfinish(self, session: Session, exitstatus: int) -> None:
        self.output.stop()
        if not session.results:
            return
        if session.interrupted:
            how = ("no new script started" if not session.hard_stop
                   else "running scripts were ended" if self._ended_running(session)
                   else "no script was running; none was ended")
            self.write(f"interrupted: {how}", fg="yellow")
        elif session.shouldstop:
            self.write(f"stopped: {session.shouldstop}")
        self.config.hook.lfsplug_terminal_summary(session=session, exitstatus=exitstatus,
                                                  write=self.write)
        failed = [r for r in session.results.values() if r.status is Status.FAILED]
        dash = "\u2014" if encodable("\u2014", getattr(self.out, "encoding", None)) else "-"
        lines = self._failures(session, failed, dash)
        if (failed or exitstatus in (1, 2)) and not self.config.getoption("dry_run", False):
            lines.append(resume_line(resume_command(self.config)))
        reused = sum(1 for r in session.results.values() if r.cached)
        if self.board.labels:
            lines.append(Line(self.board.labels, {"bold": True}))
        lines.append(totals_line(session.counts(), reused, time.time() - self.board.started,
                                 bool(failed or exitstatus)))
        self.output.lines(lines)

    def _failures(self, session: Session, failed: list[ScriptResult], dash: str) -> list[Line]:
        """Each failed script (class, log; the command and line that failed), the scripts not
        built because of it, by name, then those the stopped build did not reach."""
        secrets = self.secrets
        lines: list[Line] = []
        blamed: set[str] = set()
        for result in failed:
            lines.append(summary_failure(result, dash, self.config.invocation_dir))
            where = failed_where(result, secrets)
            lines.extend([where] if where is not None else [])
            waiting = not_built(session, result.name)
            blamed.update(waiting)
            if waiting:
                lines.append(names_line("not built because of it", waiting))
        if failed or session.interrupted:
            rest = [name for name, r in session.results.items()
                    if r.status is Status.NOT_RUN and name not in blamed]
            if rest:
                lines.append(names_line("not reached, the build stopped", rest, indent=""))
        return lines

    def _ended_running(self, session: Session) -> bool:
        """Whether a script was running when the hard stop came (a HALT at launch ends none);
        without the stop's event, whether a script that really ran did not pass."""
        at = self.hard_stop_at
        ran = [r for r in session.results.values() if r.started is not None and not r.cached]
        if at is None:
            return any(r.status is not Status.PASSED for r in ran)
        return any(r.started is not None and r.started <= at
                   and (r.finished is None or r.finished >= at) for r in ran)

    def close(self) -> None:
        self.output.stop()


def not_built(session: Session, name: str) -> list[str]:
    """The scripts, in plan order, that wait for ``name`` (directly or through others) and were
    not built, or that were skipped because it failed."""
    results = session.results
    order = [s.name for s in session.plan.scripts] if session.plan else list(results)
    waiting: set[str] = set()
    if session.plan is not None:
        after: dict[str, set[str]] = {}
        for script, before in session.plan.predecessors().items():
            for pred in before:
                after.setdefault(pred, set()).add(script)
        todo = [name]
        while todo:
            for successor in after.get(todo.pop(), ()):
                if successor not in waiting:
                    waiting.add(successor)
                    todo.append(successor)
    cause = f"dependency failed: {name}"
    return [n for n in order if (r := results.get(n)) is not None and (
        r.message == cause or (n in waiting and (r.status is Status.NOT_RUN
                                                 or r.failed_dependency)))]


def take_events(board: Board, events: list[Event], dashboard: bool) -> None:
    """What the reporter does with a batch from the bus: update the board (each script's
    last line only when a dashboard shows it) and log alerts and retries."""
    for event in board.apply(events, output=dashboard):
        _log_event(event)


def _seq(event: Event) -> int:
    return event.seq


def _log_event(event: Event) -> None:
    record = event.record
    if isinstance(record, AlertRaised):
        log.log(ALERT_LEVELS[record.alert.level], "%s", alert_text(record.alert))
    elif isinstance(record, ScriptRetry):
        after = f" in {record.delay:g} s" if record.delay else ""
        reason = f" ({record.reason})" if record.reason else ""
        log.info("%s: attempt %s failed%s; trying again%s", event.script, record.attempt,
                 reason, after)

