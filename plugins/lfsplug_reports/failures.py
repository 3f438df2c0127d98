"""Failure documents: for each failed attempt of a script, ``failures/NAME-RUN-ATTEMPT.md`` and
``.json`` in the state directory, everything a builder needs to fix it without reading the rest.

A document holds the failure's class and evidence, the failing command and its line, the exit
status or signal, the log's tail, the duration and resources, the script's environment (its
secrets redacted: ``lfsplug.redact_env``), what lfsplug tried (the attempts before, and what was
decided after this one), the usual fix for the class (the ``fix`` of the
:class:`lfsplug.FailureClass` the classifying plugin gave) and the command that resumes the
build. RUN is the state plugin's run number, else the time the run started.

:class:`FailureDocs` is registered for ``run``: it keeps each attempt's request
(``lfsplug_run_script``, the environment and command it ran with), writes an attempt's document
as soon as its recovery is decided (``lfsplug_recover``), and writes the last attempt's again
once every plugin has added its figures (``lfsplug_script_finish``).
"""

from __future__ import annotations

import json
import shlex
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lfsplug import (
    FailureClass,
    Recovery,
    RunRequest,
    Script,
    ScriptResult,
    Status,
    format_duration,
    hookimpl,
    redact,
    redact_env,
    redact_text,
    resume_command,
    secret_values,
)
from lfsplug_reports.data import read_tail

if TYPE_CHECKING:
    from lfsplug import Config, Session, StateService

__all__ = ["DOC_VERSION", "FailureDocs", "Tried", "document", "markdown"]

#: The version of the ``.json`` document's shape; more keys may come without a new version.
DOC_VERSION = 1
#: Where the documents go, in the state directory.
FOLDER = "failures"


@dataclass
class Tried:
    """One failed attempt and what lfsplug decided after it."""

    attempt: int
    failure_class: str | None
    action: str | None = None  # retry, skip, stop; None: no plugin decided
    reason: str = ""
    delay: float = 0.0
    env: dict[str, str] = field(default_factory=dict)
    exclusive: bool = False
    #: the usual fix, and why the attempt was given its class (the FailureClass's)
    fix: str | None = None
    why: str | None = None

    def data(self) -> dict[str, Any]:
        return {"attempt": self.attempt, "failure_class": self.failure_class,
                "action": self.action, "reason": self.reason, "delay": self.delay,
                "env": redact_env(self.env), "exclusive": self.exclusive}

    def text(self, this: bool = False) -> str:
        """``attempt 1 (oom): retry after 5 s with MAKEFLAGS=-j1, alone (out of memory)``;
        ``attempt 2, this one (oom): ...`` for the attempt a document is of."""
        what = {None: "no plugin decided a recovery: the failure stands",
                "retry": "retry", "skip": "skipped", "stop": "stop"}.get(self.action,
                                                                         str(self.action))
        if self.action == "retry":
            what += f" after {self.delay:g} s" if self.delay else ""
            env = redact_env(self.env)
            what += (" with " + " ".join(f"{k}={v}" for k, v in env.items())) if env else ""
            what += ", alone" if self.exclusive else ""
        reason = f" ({self.reason})" if self.reason else ""
        which = f"attempt {self.attempt}" + (", this one" if this else "")
        return f"{which} ({self.failure_class or 'unclassified'}): {what}{reason}"


class FailureDocs:
    """Writes the failure documents of one ``run`` (see the module's docstring)."""

    def __init__(self, config: Config, tail_lines: int) -> None:
        self.config = config
        self.tail_lines = tail_lines
        self.requests: dict[tuple[str, int], RunRequest] = {}
        self.tried: dict[str, list[Tried]] = {}
        self.written: list[Path] = []
        self._run: str | None = None
        self._lock = threading.Lock()

    @property
    def folder(self) -> Path:
        return self.config.state_dir / FOLDER

    def run_label(self, session: Session) -> str:
        """The run's number from the state service, else when the run started."""
        with self._lock:
            if self._run is None:
                config = self.config
                state: StateService | None = config.hook.lfsplug_state_service(config=config)
                run = state.current_run() if state is not None else None
                self._run = (str(run.id) if run is not None else
                             time.strftime("%Y%m%d-%H%M%S", time.localtime(session.started)))
            return self._run

    def path(self, session: Session, name: str, attempt: int, suffix: str) -> Path:
        safe = name.replace("/", "_").lstrip(".") or "_"
        return self.folder / f"{safe}-{self.run_label(session)}-{attempt}{suffix}"

    # -- hooks ---------------------------------------------------------------------------------

    @hookimpl(wrapper=True)
    def lfsplug_run_script(self, session: Session,
                           request: RunRequest) -> Generator[None, Any, Any]:
        self.requests[(request.script.name, request.attempt)] = request
        return (yield)

    @hookimpl(wrapper=True)
    def lfsplug_recover(self, session: Session, script: Script, result: ScriptResult,
                        failure: FailureClass | None) -> Generator[None, Any, Any]:
        recovery: Recovery | None = yield
        tried = Tried(result.attempts, result.failure_class,
                      fix=(failure.fix or None) if failure is not None else None,
                      why=failure.reason if failure is not None else None)
        if recovery is not None:
            tried.action, tried.reason = str(recovery.action), recovery.reason
            tried.delay, tried.env = recovery.delay, dict(recovery.env)
            tried.exclusive = recovery.exclusive
        with self._lock:
            self.tried.setdefault(script.name, []).append(tried)
        self.write(session, script, result, final=False)
        return recovery

    @hookimpl(trylast=True)
    def lfsplug_script_finish(self, session: Session, script: Script,
                              result: ScriptResult) -> None:
        """The last attempt's document, with what every plugin added to the result."""
        if failed_attempt(result):
            self.write(session, script, result, final=True)
        with self._lock:  # the script is done: what was kept of its attempts can go
            self.tried.pop(script.name, None)
            for attempt in range(1, result.attempts + 1):
                self.requests.pop((script.name, attempt), None)

    @hookimpl
    def lfsplug_terminal_summary(self, session: Session, write: Any) -> None:
        if self.written:
            count = len({p.stem for p in self.written})
            noun = "document" if count == 1 else "documents"
            write(f"failure {noun}: {count} in {_shown(self.folder, self.config)}")

    # -- the document --------------------------------------------------------------------------

    def write(self, session: Session, script: Script, result: ScriptResult,
              final: bool) -> None:
        """Write (or write again) the document of ``result``'s attempt; a document that cannot
        be written is said on stderr once, and the build goes on."""
        with self._lock:
            tried = list(self.tried.get(script.name, []))
        request = self.requests.get((script.name, result.attempts))
        doc = document(session, script, result, request, tried, final=final,
                       tail_lines=self.tail_lines, run=self.run_label(session))
        md, js = (self.path(session, script.name, result.attempts, s) for s in (".md", ".json"))
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            js.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
            md.write_text(markdown(doc), encoding="utf-8")
        except OSError as exc:
            import click

            click.echo(f"lfsplug: warning: cannot write the failure document {md}: "
                       f"{exc.strerror or exc}", err=True)
            return
        with self._lock:
            if md not in self.written:
                self.written.append(md)


def failed_attempt(result: ScriptResult) -> bool:
    """Whether ``result`` is an attempt that ran and failed (also one recovery then skipped)."""
    if result.cached or not result.attempts or result.started is None:
        return False
    return result.status is Status.FAILED or bool(result.signal) or result.exit_code not in (
        0, None)


def document(session: Session, script: Script, result: ScriptResult,
             request: RunRequest | None, tried: list[Tried], *, final: bool,
             tail_lines: int, run: str) -> dict[str, Any]:
    """The document of one failed attempt as JSON-like data, its secrets redacted."""
    config = session.config
    env = dict(request.env) if request is not None else {}
    secrets = tuple(secret_values({**config.env, **env, **script.env}))
    this = next((t for t in tried if t.attempt == result.attempts), None)
    before = [t for t in tried if t.attempt < result.attempts]
    tail = list(result.tail[-tail_lines:]) if tail_lines > 0 else []
    log = str(result.log_path) if result.log_path else None
    if not tail and tail_lines > 0:
        tail = read_tail(log, tail_lines) or []
    decision = this.data() if this is not None else None
    if final and this is not None and this.action == "retry":
        decision = {**this.data(), "note": "not retried: the attempts ran out or the build "
                                           "is stopping"}
    doc = {
        "format": "lfsplug-failure", "version": DOC_VERSION,
        "script": script.name, "path": str(script.path), "run": run,
        "attempt": result.attempts, "final": final, "status": str(result.status),
        "failure_class": result.failure_class,
        "class_reason": this.why if this is not None else None,
        "evidence": list(result.evidence),
        "failed_command": result.failed_command, "failed_line": result.failed_line,
        "failed_step": result.failed_step,
        "exit_code": result.exit_code, "signal": result.signal, "message": result.message,
        "started": result.started, "finished": result.finished,
        "duration_s": round(result.duration, 3) if result.duration is not None else None,
        "resources": dict(result.resources),
        "log": log, "log_tail": tail,
        "command": list(request.argv) if request is not None else None,
        "cwd": str(request.cwd) if request is not None else None,
        "environment": redact_env(env),
        "tried": [t.data() for t in before], "decision": decision,
        "usual_fix": this.fix if this is not None else None,
        "resume": resume_command(config),
    }
    shown: dict[str, Any] = redact(doc, secrets)
    shown["environment"] = {k: redact_text(v, secrets) for k, v in redact_env(env).items()}
    shown["tried_text"] = [redact_text(t.text(), secrets) for t in before]
    shown["decision_text"] = (redact_text(this.text(this=True), secrets) if this is not None
                              else None)
    return shown


def markdown(doc: dict[str, Any]) -> str:
    """The ``.md`` document: the same as the ``.json``, for a person."""
    cls = doc["failure_class"] or "unclassified"
    head = (f"# {doc['script']}: failed ({cls}), run {doc['run']}, attempt {doc['attempt']}"
            + ("" if doc["final"] else " (retried)"))
    how = (f"killed by signal {doc['signal']}" if doc["signal"]
           else f"exit status {doc['exit_code']}")
    why = f" ({doc['class_reason']})" if doc["class_reason"] else ""
    lines = [head, "", f"- script: {_code(doc['path'])}", f"- class: {cls}{why}",
             f"- ended: {how}"
             + (f" ({doc['message']})" if doc["message"] else "")]
    if doc["failed_command"]:
        where = ", ".join(p for p in (f"line {doc['failed_line']}" if doc["failed_line"]
                                      else "", doc["failed_step"] or "") if p)
        lines.append(f"- failed command{f' ({where})' if where else ''}: "
                     f"{_code(doc['failed_command'])}")
    duration = doc["duration_s"]
    lines.append(f"- duration: {format_duration(duration) if duration is not None else '-'}")
    if doc["resources"]:
        lines.append("- resources: " + ", ".join(f"{k} {json.dumps(v)}"
                                                  for k, v in doc["resources"].items()))
    lines.append(f"- log: {_code(doc['log'] or '-')}")
    sections: list[tuple[str, list[str], bool]] = [
        ("Evidence", doc["evidence"], True),
        (f"Log tail (last {len(doc['log_tail'])} lines)", doc["log_tail"], True),
        ("What lfsplug tried", [f"- {t}" for t in doc["tried_text"]]
         + ([f"- {doc['decision_text']}"] if doc["decision_text"] else [])
         + ([f"- {doc['decision']['note']}"] if (doc["decision"] or {}).get("note") else []),
         False),
        ("The usual fix", [doc["usual_fix"]] if doc["usual_fix"] else [], False),
        ("Command", [shlex.join(["cd", doc["cwd"]]), shlex.join(doc["command"])]
         if doc["command"] else [], True),
        ("Environment (secrets redacted)", [f"{k}={v}" for k, v in doc["environment"].items()],
         True),
        ("Resume", [doc["resume"]], True),
    ]
    for title, body, code in sections:
        if not body:
            continue
        lines += ["", f"## {title}", ""]
        if code:
            fence = "`" * max(3, 1 + max(_ticks(line) for line in body))
            lines += [fence, *body, fence]
        else:
            lines += body
    return "\n".join(lines) + "\n"


def _code(text: str) -> str:
    """``text`` as Markdown inline code, whatever backticks it holds."""
    ticks = "`" * (_ticks(text) + 1)
    pad = " " if "`" in text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _ticks(line: str) -> int:
    """The longest run of backticks in ``line`` (a fence must be longer)."""
    longest = run = 0
    for char in line:
        run = run + 1 if char == "`" else 0
        longest = max(longest, run)
    return longest


def _shown(path: Path, config: Config) -> str:
    try:
        return str(path.relative_to(config.invocation_dir))
    except ValueError:
        return str(path)
