"""The session: drives one command through discovery, validation, ordering and execution.

It owns the command's results and findings, the registry of scripts (``session.registry``),
the event bus and the exit code. Plugins reach it through most hooks; it knows no bash or LFS.

The scheduler calls :meth:`Session.run_protocol` for each script, which goes through these steps:

1. ``lfsplug_script_env``: the environment, shaped by every plugin and ``lfsconf.py``.
2. ``lfsplug_script_cached``: a result to reuse (resume); if one comes back, it is done.
3. ``lfsplug_script_command``: the argv.
4. ``lfsplug_script_start``, then ``lfsplug_run_script`` (the executor), for attempt 1, 2, ...
5. On failure, ``lfsplug_classify_failure`` labels it and ``lfsplug_recover`` decides: retry
   (back to 3 with the environment it adds, after its delay; an ``exclusive`` retry inside
   :attr:`Session.alone`), skip, or let it stand.
6. ``lfsplug_script_finish`` with the final result.
Each hook call is wrapped: an exception becomes a PluginError naming plugin, hook and script.
"""

from __future__ import annotations

import gc
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, assert_never

from lfsplug._config import Stash, apply_metadata
from lfsplug._events import (
    AlertRaised,
    EventBus,
    Record,
    RunFinished,
    RunStarted,
    SampleTaken,
    ScriptOutput,
    ScriptRetry,
    StopRequested,
)
from lfsplug._model import (
    Alert,
    Event,
    ExitCode,
    Finding,
    LfsplugError,
    Plan,
    Recovery,
    RecoveryAction,
    RunningScript,
    RunRequest,
    Sample,
    Script,
    ScriptResult,
    Severity,
    Status,
    UsageError,
)
from lfsplug._settings import SILENCE_TIMEOUT, TIMEOUT
from lfsplug._state import link_newest, log_name, run_label

if TYPE_CHECKING:
    from lfsplug._config import Config

__all__ = ["MAX_ATTEMPTS", "ScriptRegistry", "Session", "gc_paused", "run_session"]


#: A guard against a recovery plugin that retries for ever.
MAX_ATTEMPTS = 100

T = TypeVar("T")


def flatten(results: Iterable[Iterable[T] | None]) -> list[T]:
    """Concatenate the list results of a non-firstresult hook, skipping None."""
    out: list[T] = []
    for result in results:
        if result:
            out.extend(result)
    return out


class Session:
    """One command's run: scripts, findings, plan, results and the event bus."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.hook = config.hook
        self.stash = Stash()
        self.scripts: list[Script] = []
        self.findings: list[Finding] = []
        self.plan: Plan | None = None
        self.results: dict[str, ScriptResult] = {}
        self.events = EventBus(self._deliver_events)
        self.started = time.time()
        #: the folder of this run's logs: the state plugin's run number, else the start time
        self.run_label = run_label(self.started)
        self.finished: float | None = None
        #: why no new script should start (a failure, an interrupt, a full disk), or None
        self.shouldstop: str | None = None
        #: set when running scripts must be ended too (a second interrupt, a disk HALT)
        self.hard_stop = False
        self.interrupted = False
        #: the attempts running now, by script name (filled by the executor; read by monitors
        #: from their own threads, so take a copy: ``list(session.running.values())``)
        self.running: dict[str, RunningScript] = {}
        #: why each script runs rather than being reused, as a resume plugin said it
        #: (``lfsplug_script_cached``): ``"never built"``, ``"its content changed"``...
        self.why_run: dict[str, str] = {}
        self._report_lock = threading.RLock()
        self._disabled_by_path: dict[str, set[str]] | None = None
        self._registry: ScriptRegistry | None = None
        #: the SHA-256 (hex) of each script's content as first read in this session, by path:
        #: a plugin that reads a script notes it here, so that no other reads it again
        self.digests: dict[str, str] = {}
        #: the context an ``exclusive`` retry runs in (a scheduler's: no other script beside it)
        self.alone: Callable[[Script], AbstractContextManager[object]] = lambda s: nullcontext()

    # -- discovery -----------------------------------------------------------------------------

    def collect(self) -> list[Script]:
        """Discover the scripts under every path and merge their metadata."""
        with gc_paused():
            return self._collect()

    def _collect(self) -> list[Script]:
        scripts: list[Script] = []
        seen: set[str] = set()
        for path in self.config.paths:
            for script in flatten(self.hook.lfsplug_collect_path(path=path, session=self)):
                key = str(script.path.absolute())  # a str hashes faster than a Path
                if key not in seen:
                    seen.add(key)
                    scripts.append(script)
        for script in scripts:
            sources = self.hook.lfsplug_script_metadata(script=script, session=self)
            self.findings.extend(apply_metadata(script, flatten(sources)))
        self.hook.lfsplug_collection_modifyscripts(session=self, config=self.config,
                                                   scripts=scripts)
        self.findings.extend(_duplicate_names(scripts))
        self.scripts = scripts
        self._registry = ScriptRegistry(scripts)
        self._disabled_by_path = None  # the scripts' disable= lists are known only now
        self.findings[:] = [f for f in self.findings if not self._silenced(f)]
        self.hook.lfsplug_collection_finish(session=self)
        return scripts

    @property
    def registry(self) -> ScriptRegistry:
        """The discovered scripts by name, by what they provide and by phase."""
        if self._registry is None or len(self._registry) != len(self.scripts):
            self._registry = ScriptRegistry(self.scripts)
        return self._registry

    def content_digest(self, script: Script) -> str | None:
        """The SHA-256 of ``script``'s content, read once per session (None if unreadable):
        validation fills it as it reads every script; resume and records reuse it."""
        key = str(script.path)
        digest = self.digests.get(key)
        if digest is None:
            import hashlib

            try:
                digest = hashlib.sha256(script.path.read_bytes()).hexdigest()
            except OSError:
                return None
            self.digests[key] = digest
        return digest

    def script(self, name: str) -> Script | None:
        """The discovered script called ``name``."""
        return self.registry.get(name)

    # -- validation ----------------------------------------------------------------------------

    def validate(self, host: bool = True) -> list[Finding]:
        """Run every validation hook; keep and return the findings that are not silenced."""
        found = flatten(self.hook.lfsplug_validate_scripts(session=self, scripts=self.scripts))
        for script in self.scripts:
            found.extend(flatten(
                self.hook.lfsplug_validate_script(script=script, config=self.config)
            ))
        if host:
            found.extend(flatten(self.hook.lfsplug_validate_host(config=self.config)))
        self.findings.extend(f for f in found if not self._silenced(f))
        self.hook.lfsplug_validation_modifyfindings(session=self, config=self.config,
                                                    findings=self.findings)
        return self.findings

    def _silenced(self, finding: Finding) -> bool:
        """Whether ``disable`` (the script's header or the configuration) silences it."""
        if finding.code in self.config.disabled_codes:
            return True
        if self._disabled_by_path is None:
            self._disabled_by_path = {str(s.path): s.disable for s in self.scripts if s.disable}
        return finding.code in self._disabled_by_path.get(finding.path or "", ())

    def add_finding(self, finding: Finding) -> None:
        """Record a finding from any phase (ordering errors, for instance), unless silenced."""
        if not self._silenced(finding):
            self.findings.append(finding)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity is Severity.ERROR]

    # -- ordering ------------------------------------------------------------------------------

    def build_plan(self) -> Plan:
        """Ask plugins for edges, then for the plan."""
        edges = flatten(self.hook.lfsplug_script_edges(session=self, scripts=self.scripts))
        plan: Plan | None = self.hook.lfsplug_build_plan(
            session=self, scripts=self.scripts, edges=edges
        )
        if plan is None:
            raise UsageError("no plugin built a plan (lfsplug_build_plan): "
                             "is the ordering plugin blocked with -p no:ordering?")
        self.plan = plan
        return plan

    # -- execution -----------------------------------------------------------------------------

    def execute(self, plan: Plan) -> ExitCode:
        """Run the plan through the scheduler plugin; return the exit code."""
        for script in plan.scripts:
            self.results[script.name] = ScriptResult(script.name, Status.NOT_RUN)
        self.events.start()
        try:
            self.emit(RunStarted(len(plan.scripts), dict(self.config.labels)))
            handled = self.hook.lfsplug_run_plan(session=self, plan=plan)
            if not handled:
                raise UsageError("no plugin ran the plan (lfsplug_run_plan): "
                                 "is the executor plugin blocked with -p no:executor?")
        finally:
            self.finished = time.time()
            failed = sys.exc_info()[1] or self.events.error  # plugin 3, usage 4, interrupt 2
            code = (self.exit_code() if failed is None else ExitCode.INTERRUPTED
                    if isinstance(failed, KeyboardInterrupt) else getattr(failed, "exit_code", 3))
            self.emit(RunFinished(int(code)))
            self.events.close()
        self.raise_event_error()  # not in finally: it must not replace an error in flight
        return self.exit_code()

    def stop(self, reason: str, *, hard: bool = False) -> None:
        """Start no new script; with ``hard``, end the running ones too (a disk HALT, a second
        interrupt). Thread-safe; the first reason stands. The build then exits 2 (interrupted)."""
        self.interrupted = True
        first = self.shouldstop is None
        if first:
            self.shouldstop = reason
        if hard and not self.hard_stop:
            self.hard_stop = True
        elif not first:
            return
        self.emit(StopRequested(reason, hard))

    def run_protocol(self, script: Script) -> ScriptResult:
        """Run ``script`` through the per-script protocol (module docstring); record its result."""
        hook, config = self.hook, self.config
        env: dict[str, str] = {}
        self._call(script, hook.lfsplug_script_env, script=script, env=env, config=config)
        cached = self._call(script, hook.lfsplug_script_cached, session=self, script=script,
                            env=env)
        if cached is not None:
            cached.cached = True
            return self._call(script, self.finish_script, script=script, result=cached)
        attempt, alone = 0, False
        while True:
            attempt += 1
            with self.alone(script) if alone else nullcontext():
                if alone and self.shouldstop:  # stopped while it waited to run alone
                    break
                result = self._attempt(script, env, attempt)
            if result.status is Status.PASSED or self.hard_stop:
                break
            recovery = self._recover(script, result)
            if recovery is None:
                break
            match recovery.action:
                case RecoveryAction.STOP:
                    break
                case RecoveryAction.SKIP:
                    result.status, result.message = Status.SKIPPED, recovery.reason or "skipped"
                    break
                case RecoveryAction.RETRY:
                    pass
                case _:
                    assert_never(recovery.action)
            if attempt >= MAX_ATTEMPTS or self.shouldstop:
                break
            self.emit(ScriptRetry(attempt, recovery.reason, recovery.delay, dict(recovery.env),
                                  result.started), script.name)
            env.update(recovery.env)
            alone = recovery.exclusive
            if recovery.delay > 0:
                time.sleep(recovery.delay)
        return self._call(script, self.finish_script, script=script, result=result)

    def _attempt(self, script: Script, env: dict[str, str], attempt: int) -> ScriptResult:
        hook, config = self.hook, self.config
        argv = self._call(script, hook.lfsplug_script_command,
                          script=script, env=env, config=config)
        if not argv:
            raise UsageError("no plugin gave a command for the scripts (lfsplug_script_command): "
                             "is the executor plugin blocked with -p no:executor?")
        request = RunRequest(
            script=script,
            argv=list(argv),
            env=dict(env),
            cwd=script.path.parent,
            log_path=self.log_path(script, attempt),
            attempt=attempt,
            timeout=script.timeout or config.get(TIMEOUT),
            silence_timeout=config.get(SILENCE_TIMEOUT),
        )
        self._call(script, self.start_script, script=script, attempt=attempt)
        result: ScriptResult | None = self._call(script, hook.lfsplug_run_script,
                                                 session=self, request=request)
        if result is None:
            raise UsageError("no plugin ran the script (lfsplug_run_script): "
                             "is the executor plugin blocked with -p no:executor?")
        result.attempts = attempt
        return result

    def _recover(self, script: Script, result: ScriptResult) -> Recovery | None:
        failure = self._call(script, self.hook.lfsplug_classify_failure,
                             session=self, script=script, result=result)
        if failure is not None:
            result.failure_class, result.evidence = failure.name, list(failure.evidence)
        recovery: Recovery | None = self._call(script, self.hook.lfsplug_recover, session=self,
                                               script=script, result=result, failure=failure)
        return recovery

    def _call(self, script: Script, fn: Callable[..., T], /, **kwargs: Any) -> T:
        """Call a hook; an exception from a plugin becomes an error naming plugin, hook, script."""
        try:
            return fn(**kwargs)
        except LfsplugError:
            raise
        except (Exception, SystemExit) as exc:  # a plugin's sys.exit() is its failure too
            raise self.config.pluginmanager.as_plugin_error(exc, script.name) from exc

    def log_path(self, script: Script, attempt: int) -> Path:
        """Where the log of one attempt of ``script`` goes: ``logs/RUN/NAME[.N].log``."""
        return self.config.state_dir / "logs" / self.run_label / log_name(script.name, attempt)

    def start_script(self, script: Script, attempt: int) -> None:
        """Say an attempt starts (``lfsplug_script_start``; serialised; it starts after it)."""
        with self._report_lock:
            link_newest(self.log_path(script, attempt), script.name, attempt)
            self.hook.lfsplug_script_start(session=self, script=script, attempt=attempt)

    def script_output(self, script: Script, lines: list[str]) -> None:
        """Publish new output lines of a running script (executors): a ``ScriptOutput`` event."""
        self.events.emit(ScriptOutput(tuple(lines)), script.name)

    def finish_script(self, script: Script, result: ScriptResult) -> ScriptResult:
        """Record the final result of a script and tell plugins through ``lfsplug_script_finish``
        (where they may add to ``result.resources`` before others record it)."""
        self.results[script.name] = result
        with self._report_lock:
            self.hook.lfsplug_script_finish(session=self, script=script, result=result)
        return result

    def skip_script(self, script: Script, reason: str) -> ScriptResult:
        """Record that ``script`` will not run (a dependency failed, a filter left it out)."""
        return self.finish_script(script, ScriptResult(script.name, Status.SKIPPED, message=reason))

    # -- monitoring ----------------------------------------------------------------------------

    def claim_metadata(self, *keys: str) -> None:
        """A plugin reads these metadata keys (``cleanup=``, ``produces=``): the ``unknown
        metadata key`` warnings (META002) the header gave for them are dropped."""
        claimed = set()
        for script in self.scripts:
            for key in keys:
                origin = script.origins.get(key)
                if key in script.meta and origin is not None:
                    claimed.add((origin.path or str(script.path), origin.line, key))
        if claimed:
            self.findings[:] = [
                f for f in self.findings if f.code != "META002"
                or not any((f.path, f.line) == (path, line) and repr(key) in f.message
                           for path, line, key in claimed)]

    def emit(self, record: Record, script: str | None = None) -> Event:
        """Put an event carrying ``record`` on the bus, about ``script`` (a name; None: the
        build as a whole). The record's class gives its kind and priority."""
        return self.events.emit(record, script)

    def _deliver_events(self, events: list[Event]) -> None:
        self.hook.lfsplug_events(session=self, events=events)

    def raise_event_error(self) -> None:
        """Raise, as a plugin error, an exception a subscriber raised on the bus's thread."""
        error = self.events.error
        if error is not None:
            self.events.error = None
            raise self.config.pluginmanager.as_plugin_error(error) from error

    def sample(self, sample: Sample) -> None:
        """Publish a resource sample: a ``SampleTaken`` event, about its script (None: system)."""
        self.events.emit(SampleTaken(sample), sample.script)

    def alert(self, alert: Alert) -> None:
        """Publish an alert: an ``AlertRaised`` event, which overtakes queued progress events."""
        self.events.emit(AlertRaised(alert))

    # -- outcome -------------------------------------------------------------------------------

    def exit_code(self) -> ExitCode:
        """The exit code the results call for."""
        if self.interrupted:
            return ExitCode.INTERRUPTED
        if any(r.status is Status.FAILED for r in self.results.values()):
            return ExitCode.SCRIPT_FAILED
        return ExitCode.OK

    def counts(self) -> dict[str, int]:
        """How many scripts ended in each status."""
        counts = {str(s): 0 for s in Status}
        for result in self.results.values():
            counts[str(result.status)] += 1
        return counts


def run_session(config: Config, body: Callable[[Session], int]) -> int:
    """Run a command's ``body`` in a new session and return its exit code: between
    ``lfsplug_sessionstart`` and ``lfsplug_sessionfinish`` (always, with ``body``'s code or
    its error's)."""
    session = Session(config)
    status = int(ExitCode.INTERNAL_ERROR)
    try:
        config.hook.lfsplug_sessionstart(session=session)
        status = int(body(session))
    except LfsplugError as exc:
        status = int(exc.exit_code)
        raise
    except KeyboardInterrupt:
        status = int(ExitCode.INTERRUPTED)
        session.interrupted = True
        raise
    finally:
        config.hook.lfsplug_sessionfinish(session=session, exitstatus=status)
    return status


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector (collection; commands that keep nothing long-lived):
    with 10,000 scripts its runs cost a quarter of the time. The outermost pause resumes it."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _duplicate_names(scripts: list[Script]) -> list[Finding]:
    first: dict[str, Script] = {}
    findings = []
    for script in scripts:
        other = first.setdefault(script.name, script)
        if other is not script:
            findings.append(Finding(
                "DISC001", Severity.ERROR,
                f"two scripts are named {script.name!r}: {other.relpath} and {script.relpath}",
                str(script.path), None, "set name= in the # lfsplug: header of one of them",
            ))
    return findings


class ScriptRegistry:
    """The scripts of a session by name, by what they provide (its own name and every name in
    its ``provides``: ``binutils-pass1`` provides ``binutils``), or by phase."""

    def __init__(self, scripts: Sequence[Script]) -> None:
        self._scripts = list(scripts)
        self._by_name = {s.name: s for s in self._scripts}
        self._providers: dict[str, list[Script]] = {}
        self._phases: dict[str | None, list[Script]] = {}
        for script in self._scripts:
            for name in dict.fromkeys([script.name, *script.provides]):
                self._providers.setdefault(name, []).append(script)
            self._phases.setdefault(script.phase, []).append(script)

    def __iter__(self) -> Iterator[Script]:
        return iter(self._scripts)

    def __len__(self) -> int:
        return len(self._scripts)

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def get(self, name: str) -> Script | None:
        """The script called ``name``, or None."""
        return self._by_name.get(name)

    def providers(self, name: str) -> list[Script]:
        """The scripts that provide ``name`` (by their name or ``provides``), in layout order."""
        return list(self._providers.get(name, ()))

    def by_phase(self, phase: str | None) -> list[Script]:
        """The scripts of one phase (``None``: those with no phase), in layout order."""
        return list(self._phases.get(phase, ()))

    @property
    def phases(self) -> list[str | None]:
        """The phases present, in the order they first appear."""
        return list(self._phases)
