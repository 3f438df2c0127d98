""":class:`StateRecorder`, the plugin object of ``run``: it records the run and answers
``lfsplug_script_cached`` (resume). Other commands get :class:`StateHistory`
(:mod:`lfsplug_state.history`), which only answers from the records."""

from __future__ import annotations

import contextlib
import os
import shlex
import socket
import sqlite3
import threading
import time
from collections.abc import Generator, Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

import lfsplug
from lfsplug import (
    Event,
    ExitCode,
    Priority,
    Sample,
    SampleTaken,
    Script,
    ScriptOutput,
    ScriptResult,
    UsageError,
    hookimpl,
)
from lfsplug_state import ENV_IGNORE
from lfsplug_state.history import DURATION_RUNS, StateHistory
from lfsplug_state.resume import (
    ScriptKey,
    built_at,
    env_hash,
    keyed_env,
    why_run,
)
from lfsplug_state.retention import read_policy
from lfsplug_state.store import Build, StateStore

if TYPE_CHECKING:
    from lfsplug import Config, Plan, Session
    from lfsplug_state.service import StateDatabase

__all__ = ["DURATION_RUNS", "MAX_EVENTS", "MAX_SAMPLES", "StateHistory", "StateRecorder"]

#: Events kept per run; status events and alerts may use twice as many, so that a flood of
#: output events cannot crowd them out. Past the caps events are counted, not kept.
MAX_EVENTS = 50_000
#: Resource samples kept per run (a day of one sample a second, with a few scripts at once).
MAX_SAMPLES = 200_000
#: Samples are written in batches: at this many, or when the oldest waited this long (s).
SAMPLE_BATCH = 256
SAMPLE_WAIT = 2.0


class StateRecorder(StateHistory):
    """Records one ``run``: the run, each script's result as it starts and ends, events and
    samples; and decides which scripts an earlier pass stands for (resume).

    With ``--dry-run`` it still answers which scripts would be reused, but records nothing.
    """

    def __init__(self, config: Config, database: StateDatabase, store: StateStore,
                 recording: bool = True) -> None:
        super().__init__(config, database)
        self.db = store
        self.recording = recording
        self.run_id: int | None = None
        self.forced = set(config.getoption("force", None) or [])
        self.force_all = bool(config.getoption("force_all", False))
        self.env_ignore = list(config.get(ENV_IGNORE))
        self.policy = read_policy(config)
        self.keys: dict[str, ScriptKey] = {}
        self.reasons: dict[str, str] = {}
        self.reused: dict[str, int] = {}
        self.preds: dict[str, set[str]] | None = None
        self._last_builds: dict[str, Build] | None = None
        self.counts = {"events_kept": 0, "events_dropped": 0, "samples_kept": 0,
                       "samples_dropped": 0}
        self._samples: list[Sample] = []
        self._sample_lock = threading.Lock()
        self._sample_since = time.monotonic()
        self._peaks: dict[str, dict[str, float]] = {}

    # -- the run -------------------------------------------------------------------------------

    @hookimpl
    def lfsplug_sessionstart(self, session: Session) -> None:
        """Record the run (committed now: a crash from here on leaves a run to mark); its
        logs go to ``logs/RUN`` (:func:`log_folder`)."""
        if self.recording:
            self.run_id = self.db.begin_run(session.started, command_line(self.config),
                                            lfsplug.__version__, socket.gethostname(),
                                            self.config.labels)
            session.run_label = log_folder(self.config.state_dir / "logs", self.run_id)

    @hookimpl
    def lfsplug_collection_finish(self, session: Session) -> None:
        """``--force NAME`` must name a script: a typo would silently reuse what it meant."""
        unknown = sorted(name for name in self.forced if session.script(name) is None)
        if unknown:
            raise UsageError(f"--force {unknown[0]}: no script named {unknown[0]!r}")

    @hookimpl(wrapper=True)
    def lfsplug_run_plan(self, session: Session, plan: Plan) -> Generator[None, Any, Any]:
        """Record the plan before the scheduler starts, so that ``status`` lists the scripts
        that never ran too; keep each script's predecessors for resume."""
        self.preds = plan.predecessors()
        if self.run_id is not None:
            self.db.plan_run(self.run_id, plan.scripts)
        return (yield)

    @hookimpl
    def lfsplug_sessionfinish(self, session: Session, exitstatus: int) -> None:
        """Record the end of the run and its exit code."""
        self._flush_samples()
        if self.run_id is not None:
            # the session's own end, which a report written as the run ended shows too
            self.db.finish_run(self.run_id, exitstatus, session.interrupted, self.counts,
                               finished=session.finished)
            try:
                self.db.prune(self.policy)
            except (sqlite3.Error, UsageError) as exc:  # recorded; pruning can wait a run
                click.echo(f"lfsplug: warning: {self.db.path}: old runs were not pruned: {exc}",
                           err=True)

    @hookimpl(wrapper=True, specname="lfsplug_sessionfinish")
    def sessionfinish_failed(self, session: Session,
                             exitstatus: int) -> Generator[None, Any, Any]:
        """A plugin that fails at the end (``lfsplug_sessionfinish``, the terminal summary)
        makes lfsplug exit 3: record that code, not the build's."""
        try:
            return (yield)
        except BaseException as exc:
            if self.run_id is not None:
                with contextlib.suppress(Exception):  # the store's own failure: raised below
                    self.db.finish_run(self.run_id, exit_code_of(exc), session.interrupted,
                                       self.counts, finished=session.finished)
            raise

    @hookimpl(wrapper=True, specname="lfsplug_unconfigure")
    def unconfigure_failed(self, config: Config) -> Generator[None, Any, Any]:
        """Likewise for a plugin failing at ``lfsplug_unconfigure``, after the state plugin
        may have closed the store: on a connection of its own."""
        try:
            return (yield)
        except BaseException as exc:
            if self.run_id is not None:
                try:
                    connection = sqlite3.connect(self.db.path, timeout=30)
                    with contextlib.closing(connection) as conn, conn:
                        conn.execute("UPDATE runs SET exit_code = ? WHERE id = ? AND finished "
                                     "IS NOT NULL", (exit_code_of(exc), self.run_id))
                except sqlite3.Error as error:
                    click.echo(f"lfsplug: warning: {self.db.path}: the run's exit code was not "
                               f"recorded: {error}", err=True)
            raise

    def record_run_metrics(self, metrics: Mapping[str, Any]) -> None:
        """Keep a run's own figures in ``runs.metrics`` (the monitor's summaries, SBU, ETA
        error); other plugins call it through the state service before the session ends."""
        if self.run_id is not None:
            self.db.set_run_metrics(self.run_id, metrics)

    # -- resume --------------------------------------------------------------------------------

    @hookimpl(trylast=True)
    def lfsplug_script_cached(
        self, session: Session, script: Script, env: dict[str, str]
    ) -> ScriptResult | None:
        """The script's last pass when nothing calls for running it again (see
        :mod:`lfsplug_state.resume`); else None, noting why it runs."""
        key = ScriptKey(session.content_digest(script),
                        env_hash(keyed_env(script, env, self.config.labels.get("target")),
                                 self.env_ignore))
        self.keys[script.name] = key
        if self._last_builds is None:  # what ran before this run, read once
            # through the service: a dry run warns about a damaged file and reuses nothing
            self._last_builds = self.database.read(StateStore.last_builds, dict[str, Build]())
        last = self._last_builds.get(script.name)
        forced = self.force_all or script.name in self.forced
        reason = why_run(key, last, forced, self._predecessors_built(session, script))
        if reason is not None or last is None:
            self.reasons[script.name] = session.why_run[script.name] = reason or "never built"
            return None
        self.reused[script.name] = last.id
        return last.as_result(script.name)

    def _predecessors_built(self, session: Session, script: Script) -> dict[str, float | None]:
        if self.preds is None:
            self.preds = session.plan.predecessors() if session.plan is not None else {}
        return {name: built_at(session.results.get(name), partial(self._last_pass, name))
                for name in self.preds.get(script.name, ())}

    def _last_pass(self, name: str) -> Build | None:
        return self.database.read(lambda store: store.last_pass(name), None)

    def _key(self, session: Session, script: Script) -> ScriptKey:
        """The key noted when the script's reuse was decided, or (when another plugin decided)
        its content alone: a result without an environment is never reused."""
        key = self.keys.get(script.name)
        if key is None:
            key = self.keys[script.name] = ScriptKey(session.content_digest(script), None)
        return key

    # -- recording scripts ---------------------------------------------------------------------

    @hookimpl
    def lfsplug_script_start(self, session: Session, script: Script, attempt: int) -> None:
        """Record the script as ``running`` (committed now: a crash leaves it to run again)."""
        if self.run_id is not None:
            self.db.script_started(
                self.run_id, script, attempt=attempt, log_path=session.log_path(script, attempt),
                keys=self._key(session, script).astuple(), reason=self.reasons.get(script.name))

    @hookimpl(wrapper=True)
    def lfsplug_recover(self, session: Session, script: Script,
                        result: ScriptResult) -> Generator[None, Any, Any]:
        """Record how a failed attempt ended, classified, before it may be retried (its
        ``failed_command``, ``failed_line``, ``failed_step``, ``evidence``)."""
        try:
            return (yield)
        finally:
            if self.run_id is not None:
                self.db.attempt_finished(self.run_id, script, result)

    @hookimpl
    def lfsplug_script_finish(self, session: Session, script: Script,
                              result: ScriptResult) -> None:
        """Record the script's final result, with its peak resource use."""
        if self.run_id is None:
            return
        if not result.cached:  # its last samples may still be on the bus (the lowest priority)
            session.events.flush(SAMPLE_WAIT)
        self._flush_samples()
        # the kernel's totals (from the executor, and what monitors added) and sampled peaks
        resources = dict(result.resources)
        resources.update(self._resources(script.name) or {})
        reused = self.reused.get(script.name) if result.cached else None
        keys = self._key(session, script).astuple()
        self.db.script_finished(self.run_id, script, result, keys=keys, reused_from=reused,
                                resources=resources or None)

    # -- events and samples --------------------------------------------------------------------

    @hookimpl
    def lfsplug_events(self, session: Session, events: list[Event]) -> None:
        """Record a batch of events in one transaction, up to the caps of the run."""
        if self.run_id is None:
            return
        kept = []
        for event in events:
            if isinstance(event.record, SampleTaken):
                self._sample(event.record.sample)  # kept whole, in the samples table
                continue
            cap = MAX_EVENTS * 2 if event.priority <= Priority.STATUS else MAX_EVENTS
            if self.counts["events_kept"] >= cap:
                self.counts["events_dropped"] += 1
                continue
            self.counts["events_kept"] += 1
            kept.append(_slim(event))
        self.db.add_events(self.run_id, kept)

    def _sample(self, sample: Sample) -> None:
        """Queue a sample for the next batch; note the script's peak of each metric."""
        if self.run_id is None:
            return
        with self._sample_lock:
            if sample.script is not None:
                peaks = self._peaks.setdefault(sample.script, {})
                for metric, value in sample.values.items():
                    peaks[metric] = max(value, peaks.get(metric, value))
            if self.counts["samples_kept"] >= MAX_SAMPLES:
                self.counts["samples_dropped"] += 1
                return
            self.counts["samples_kept"] += 1
            self._samples.append(sample)
            due = (len(self._samples) >= SAMPLE_BATCH
                   or time.monotonic() - self._sample_since >= SAMPLE_WAIT)
        if due:
            self._flush_samples()

    def flush(self) -> None:
        """Write the samples still queued now: a report written before ``sessionfinish``
        (``run --report``) reads the database and must see them all."""
        self._flush_samples()

    def _flush_samples(self) -> None:
        with self._sample_lock:
            batch, self._samples = self._samples, []
            self._sample_since = time.monotonic()
        if batch and self.run_id is not None:
            self.db.add_samples(self.run_id, batch)

    def _resources(self, name: str) -> dict[str, Any] | None:
        """The peak of each metric sampled while the script ran (None: nothing sampled)."""
        with self._sample_lock:
            peaks = self._peaks.pop(name, None)
        return {"peak": peaks} if peaks else None


def log_folder(logs: Path, run_id: int) -> str:
    """The folder of run ``run_id``'s logs in ``logs``: its number, or, when a folder of that
    name is there already (``state.db`` was moved away, and the numbers start again), the
    number with the first free ``.N`` after it: no run overwrites another's logs."""
    label, n = str(run_id), 1
    while os.path.lexists(logs / label):
        n += 1
        label = f"{run_id}.{n}"
    return label


def exit_code_of(exc: BaseException) -> int:
    """The code lfsplug exits with for ``exc`` (as :func:`lfsplug.main` maps it)."""
    if isinstance(exc, KeyboardInterrupt):
        return int(ExitCode.INTERRUPTED)
    return int(getattr(exc, "exit_code", ExitCode.INTERNAL_ERROR))


def _slim(event: Event) -> Event:
    """An output event without its lines (the log has them): only how many there were."""
    if not isinstance(event.record, ScriptOutput):
        return event
    return Event(event.kind, event.time, event.priority, event.script, event.record.slim(),
                 event.seq)


def command_line(config: Config) -> str:
    """The command as it took effect: the command, its paths and every option not at its
    default (from the command line, ``LFSPLUG_ADDOPTS`` or the configuration file)."""
    words = ["lfsplug", config.command, *(str(p) for p in config.paths)]
    for key, option in sorted(config.parser.options.items()):
        value = config.option.get(key, option.default)
        if config.command not in option.commands or value in (option.default, None):
            continue
        flag = next(n for n in option.names if n.startswith("--"))
        if option.action == "store_true":
            words.append(flag)
        elif option.action == "append":
            for item in value:
                words += [flag, str(item)]
        else:
            words += [flag, str(value)]
    return shlex.join(words)
