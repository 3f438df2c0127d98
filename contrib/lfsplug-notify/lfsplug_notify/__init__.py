"""lfsplug-notify: tell someone when an ``lfsplug run`` ends.

An LFS build runs for hours; this plugin reports its end. When a ``run`` finishes (or fails, or
is interrupted) it runs a command of the user's (``--notify-command``) and/or POSTs a JSON
summary of the build to a URL (``--notify-url``); ``--notify-on`` says for which outcomes.

The module is the gate: it adds the options and, in ``lfsplug_configure``, registers one
:class:`Notifier` under the name ``notifier`` when there is something to notify. A failure to
notify never changes the build's exit code: it is reported in one line on stderr.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import time
import urllib.parse
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lfsplug
from lfsplug import ExitCode, ScriptResult, Status, UsageError, hookimpl

if TYPE_CHECKING:
    from collections.abc import Callable

    from lfsplug import Config, OptionParser, Session

__all__ = [
    "NOTIFIER",
    "Notifier",
    "NotifySettings",
    "build_summary",
    "command_env",
    "complain",
    "log_tail",
    "post_json",
    "run_command",
    "shown_url",
    "status_word",
    "url_problem",
]

__version__ = "0.1.0"

#: The name the stateful notifier is registered under (``config.pluginmanager.get_plugin``).
NOTIFIER = "notifier"
#: How many lines of a failed script's output go into the summary.
TAIL_LINES = 20
#: How much of a log file is read when a result carries no tail of its own.
TAIL_BYTES = 64 * 1024
#: How much of an HTTP response is read (and thrown away) before the connection is closed.
RESPONSE_BYTES = 64 * 1024
DEFAULT_TIMEOUT = 10.0
WHEN = ("always", "failure", "success")
URL_SCHEMES = ("http", "https")
PREFIX = "lfsplug-notify"

_STATUS_WORDS: dict[int, str] = {
    ExitCode.OK: "passed",
    ExitCode.SCRIPT_FAILED: "failed",
    ExitCode.INTERRUPTED: "interrupted",
    ExitCode.INTERNAL_ERROR: "error",
    ExitCode.USAGE_ERROR: "usage-error",
    ExitCode.NO_SCRIPTS: "no-scripts",
    ExitCode.INVALID_TREE: "invalid-tree",
}


def status_word(exitstatus: int) -> str:
    """The word for an exit code: ``passed``, ``failed``, ``interrupted``, ``error``..."""
    return _STATUS_WORDS.get(exitstatus, "error")


# -- settings ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class NotifySettings:
    """What to notify, read from the options: an argv, a URL, when, and the time limit."""

    argv: list[str] | None
    url: str | None
    on: str = "always"
    timeout: float = DEFAULT_TIMEOUT

    @property
    def active(self) -> bool:
        """Whether there is anything to notify at all."""
        return bool(self.argv) or bool(self.url)

    def wants(self, exitstatus: int) -> bool:
        """Whether a build that ended with ``exitstatus`` is to be notified."""
        if self.on == "success":
            return exitstatus == ExitCode.OK
        if self.on == "failure":
            return exitstatus != ExitCode.OK
        return True

    @classmethod
    def from_config(cls, config: Config) -> NotifySettings:
        """Read and check the options; a bad value is a UsageError naming the option or file."""
        command = config.getoption("notify_command", None)
        url = config.getoption("notify_url", None)
        timeout = config.getoption("notify_timeout", DEFAULT_TIMEOUT)
        argv = _split_command(command, _where(config, "notify_command")) if command else None
        if url:
            problem = url_problem(url)
            if problem:
                raise UsageError(f"{_where(config, 'notify_url')} {url}: {problem}")
        if timeout is None or timeout <= 0:
            raise UsageError(f"{_where(config, 'notify_timeout')}: must be more than 0 seconds")
        return cls(argv, url or None, config.getoption("notify_on", "always"), float(timeout))


def _where(config: Config, key: str) -> str:
    """Name where an option's value came from: the file and line, or the command-line flag."""
    if key in config.file.values and config.file.values[key] == config.option.get(key):
        return f"{config.file.where(key)}: {key}"
    return "--" + key.replace("_", "-")


def _split_command(command: str, where: str) -> list[str]:
    """Split ``command`` into an argv as a shell would split words (no expansion, no shell)."""
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        raise UsageError(f"{where} {command!r}: {exc}") from None
    if not argv:
        raise UsageError(f"{where}: the command is empty")
    return argv


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be notified, or None when it is a usable http(s) URL."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in URL_SCHEMES:
        return "only http:// and https:// URLs can be notified"
    if not parts.hostname:
        return "the URL names no host"
    try:
        parts.port  # noqa: B018 - reading it validates it
    except ValueError as exc:
        return str(exc)
    return None


def shown_url(url: str) -> str:
    """``url`` fit for a log line: without a password or a query, where tokens live."""
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    query = "?..." if parts.query else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{query}"


# -- the summary -------------------------------------------------------------------------------


def build_summary(session: Session, exitstatus: int) -> dict[str, Any]:
    """The JSON summary of a finished session (see README.md for its keys)."""
    import socket

    finished = session.finished or time.time()
    failed = [r for r in session.results.values() if r.status is Status.FAILED]
    return {
        "lfsplug_version": lfsplug.__version__,
        "host": socket.gethostname(),
        "command": session.config.command,
        "paths": [str(p) for p in session.config.paths],
        "state_dir": str(session.config.state_dir),
        "exit_code": int(exitstatus),
        "status": status_word(exitstatus),
        "stopped": session.shouldstop,
        "started": _iso(session.started),
        "finished": _iso(finished),
        "duration_s": round(max(0.0, finished - session.started), 3),
        "counts": session.counts(),
        "failed": [_failed_script(r) for r in failed],
    }


def _iso(timestamp: float) -> str:
    """A time stamp as local ISO 8601 with its UTC offset."""
    return datetime.fromtimestamp(timestamp).astimezone().isoformat(timespec="seconds")


def _failed_script(result: ScriptResult) -> dict[str, Any]:
    duration = result.duration
    return {
        "name": result.name,
        "exit_code": result.exit_code,
        "signal": result.signal,
        "failure_class": result.failure_class,
        "message": result.message,
        "attempts": result.attempts,
        "duration_s": None if duration is None else round(duration, 3),
        "log": str(result.log_path) if result.log_path else None,
        "tail": log_tail(result),
    }


def log_tail(result: ScriptResult, lines: int = TAIL_LINES) -> list[str]:
    """The last ``lines`` lines of a script's output: its result's tail, else its log file."""
    if result.tail:
        return list(result.tail[-lines:])
    if result.log_path is None:
        return []
    try:
        with Path(result.log_path).open("rb") as log:
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - TAIL_BYTES))
            data = log.read()
    except OSError:
        return []
    return data.decode("utf-8", errors="replace").splitlines()[-lines:]


# -- the senders -------------------------------------------------------------------------------


def command_env(summary: dict[str, Any]) -> dict[str, str]:
    """The environment of the notify command: lfsplug's own, plus the outcome in three variables."""
    env = dict(os.environ)
    env["LFSPLUG_EXIT_CODE"] = str(summary["exit_code"])
    env["LFSPLUG_STATUS"] = str(summary["status"])
    env["LFSPLUG_FAILED"] = ",".join(str(f["name"]) for f in summary["failed"])
    return env


def run_command(argv: list[str], data: bytes, env: dict[str, str], timeout: float) -> str | None:
    """Run ``argv`` (never through a shell) with ``data`` on its stdin.

    :returns: None when it exited with status 0, else why it failed, in a few words.
    """
    import subprocess

    try:
        done = subprocess.run(argv, input=data, env=env, timeout=timeout, check=False)
    except FileNotFoundError:
        return "not found"
    except subprocess.TimeoutExpired:
        return f"timed out after {timeout:g} s (killed)"
    except OSError as exc:
        return exc.strerror or str(exc)
    if done.returncode < 0:
        return f"killed by signal {-done.returncode}"
    if done.returncode > 0:
        return f"exited with status {done.returncode}"
    return None


def post_json(url: str, data: bytes, timeout: float) -> str | None:
    """POST ``data`` as ``application/json`` to ``url``.

    :returns: None when the server answered 2xx, else why it failed, in a few words.
    """
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, data=data, method="POST",
        headers={"Content-Type": "application/json", "User-Agent": f"{PREFIX}/{__version__}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(RESPONSE_BYTES)
    except urllib.error.HTTPError as exc:
        exc.close()
        return f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        return _reason(exc.reason, timeout)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        return _reason(exc, timeout)
    return None


def _reason(error: object, timeout: float) -> str:
    """A few words for a network error (``Connection refused``, ``timed out after 10 s``)."""
    if isinstance(error, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    if isinstance(error, BaseException):
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return str(error)


def complain(what: str, why: str) -> None:
    """Report a failed notification: one line on stderr, the build's outcome untouched."""
    line = f"{PREFIX}: {what} failed: {why}".replace("\n", " ")
    print(line, file=sys.stderr, flush=True)


# -- the plugin --------------------------------------------------------------------------------


class Notifier:
    """Sends the notifications of one ``run`` when its session finishes."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings

    @hookimpl(trylast=True)
    def lfsplug_sessionfinish(self, session: Session, exitstatus: int) -> None:
        """Notify, after the reporters have written their summaries (hence ``trylast``)."""
        if not self.settings.wants(exitstatus):
            return
        try:
            summary = build_summary(session, exitstatus)
        except Exception as exc:  # a bug of ours must not cost the build its exit code
            complain("summary", f"internal error: {type(exc).__name__}: {exc}")
            return
        data = (json.dumps(summary, indent=2, default=str) + "\n").encode("utf-8")
        argv, url, timeout = self.settings.argv, self.settings.url, self.settings.timeout
        if argv:
            self._send(f"command {shlex.join(argv)}",
                       lambda: run_command(argv, data, command_env(summary), timeout))
        if url:
            self._send(f"POST {shown_url(url)}", lambda: post_json(url, data, timeout))

    @staticmethod
    def _send(what: str, send: Callable[[], str | None]) -> None:
        """Call ``send``; report why it failed, if it did, in one line.

        A Ctrl-C while a notification hangs ends that notification only: the build is over,
        and its exit code is already decided.
        """
        try:
            why = send()
        except KeyboardInterrupt:
            why = "interrupted"
        except Exception as exc:
            why = f"internal error: {type(exc).__name__}: {exc}"
        if why:
            complain(what, why)


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    """Add ``--notify-command``, ``--notify-url``, ``--notify-on`` and ``--notify-timeout``."""
    parser.addoption(
        "--notify-command", commands=("run",), metavar="CMD",
        help="when the build ends, run CMD (split into words, no shell) with the JSON summary "
             "on its stdin and LFSPLUG_EXIT_CODE, LFSPLUG_STATUS, LFSPLUG_FAILED set",
    )
    parser.addoption(
        "--notify-url", commands=("run",), metavar="URL",
        help="when the build ends, POST the JSON summary to URL (http or https)",
    )
    parser.addoption(
        "--notify-on", commands=("run",), choices=WHEN, default="always",
        help="which builds to notify: always, failure (any non-zero exit) or success",
    )
    parser.addoption(
        "--notify-timeout", commands=("run",), type=float, default=DEFAULT_TIMEOUT,
        metavar="S", help="give the notify command and the POST at most S seconds each",
    )


@hookimpl
def lfsplug_configure(config: Config) -> None:
    """Register a :class:`Notifier` for a ``run`` that has something to notify."""
    if config.command != "run":
        return
    settings = NotifySettings.from_config(config)
    if settings.active:
        config.pluginmanager.register(Notifier(settings), NOTIFIER)


@hookimpl
def lfsplug_unconfigure(config: Config) -> None:
    """Remove the notifier that ``lfsplug_configure`` registered."""
    notifier = config.pluginmanager.get_plugin(NOTIFIER)
    if isinstance(notifier, Notifier):
        config.pluginmanager.unregister(notifier)
