"""What everything that reports a run shares: secrets hidden, the command that resumes it, and
the progress of long work before the build (:class:`WorkProgress`).

Redaction (docs/user-guide.md, "Secrets"): a variable whose name contains ``TOKEN``,
``PASSWORD``, ``SECRET``, ``KEY`` or ``CREDENTIAL`` (in any case) shows ``***`` for its value,
and so does the password of a URL (``https://user:***@host``) whatever the variable. Text is
redacted by the same rules where it says ``NAME=value`` or ``'NAME': 'value'`` (a command line,
a dict's repr, JSON), and wherever it holds a value known to be secret (a log's tail that printed
``$API_TOKEN``). Every place lfsplug writes an environment goes through here: ``--dry-run``,
the ``--debug`` log, the reports, the failure documents.
"""

from __future__ import annotations

import os
import re
import shlex
import threading
from collections.abc import Callable, Iterable, Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any, TextIO, cast

if TYPE_CHECKING:
    from types import TracebackType

    from lfsplug._config import Config

__all__ = ["REDACTED", "RedactingStream", "WorkProgress", "open_debug_log", "redact",
           "redact_env", "redact_text", "resume_command", "secret_name", "secret_values",
           "wants_colour"]

#: What a secret shows instead of its value.
REDACTED = "***"
#: The words that make a variable's name secret.
SECRET_WORDS = ("TOKEN", "PASSWORD", "SECRET", "KEY", "CREDENTIAL")
#: A value shorter than this is hidden by its name or its place only, never wherever it occurs
#: (hiding every ``1`` of a log because ``USE_KEY=1`` would make the log unreadable).
SHORTEST_LITERAL = 4

_WORDS = "|".join(SECRET_WORDS)
# a name holding one of the words (bounded: no long backtracking on a long word)
_NAME = rf"[A-Za-z0-9_.-]{{0,64}}(?:{_WORDS})[A-Za-z0-9_.-]{{0,64}}"
# scheme://user:password@host (the user may be empty: https://:token@host)
_URL = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:'\"]*:)([^\s/@'\"]+)(@)")
# NAME=value, NAME = "value", --api-key=value, export NAME='value'
_ASSIGNED = re.compile(rf"(?<![A-Za-z0-9_])({_NAME}\s*=\s*)(?:(['\"])(.*?)\2|([^\s'\",;)}}\]]+))",
                       re.IGNORECASE)
# 'NAME': 'value' and "NAME": "value" (a dict's repr, JSON)
_KEYED = re.compile(rf"(['\"]{_NAME}['\"]\s*:\s*)(['\"])((?:\\.|(?!\2).)*)\2", re.IGNORECASE)
#: Options whose effect a resumed build must not repeat.
ONE_SHOT = frozenset({"force", "force_all", "dry_run"})


def secret_name(name: str) -> bool:
    """Whether a variable called ``name`` holds a secret (its value is never shown)."""
    upper = name.upper()
    return any(word in upper for word in SECRET_WORDS)


def _assigned(match: re.Match[str]) -> str:
    quote = match.group(2) or ""
    return f"{match.group(1)}{quote}{REDACTED}{quote}"


@lru_cache(maxsize=64)
def _literals(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """One pattern for every secret long enough to hide wherever it occurs, longest first."""
    shown = sorted({s for s in secrets if len(s) >= SHORTEST_LITERAL}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, shown))) if shown else None


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with URL passwords, the values of secret names it assigns (``NAME=value``,
    ``'NAME': 'value'``) and every occurrence of the strings ``secrets`` replaced by ``***``."""
    literal = _literals(secrets if isinstance(secrets, tuple) else tuple(secrets))
    if literal is not None:
        text = literal.sub(REDACTED, text)
    if "://" in text:
        text = _URL.sub(rf"\g<1>{REDACTED}\g<3>", text)
    if not secret_name(text):  # the common case: no name to look at (and quick)
        return text
    text = _KEYED.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}{m.group(2)}", text)
    return _ASSIGNED.sub(_assigned, text)


def redact_env(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` as it may be shown: secret names' values and URL passwords are ``***``."""
    return {name: REDACTED if value and secret_name(name) else redact_text(value)
            for name, value in env.items()}


def secret_values(env: Mapping[str, str]) -> list[str]:
    """The secrets in ``env``, to hide wherever they occur (:func:`redact_text`): the values of
    secret names and the passwords of URLs."""
    found = [value for name, value in env.items() if value and secret_name(name)]
    for value in env.values():
        found += [m.group(2) for m in _URL.finditer(value)]
    return found


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """JSON-like data (dicts, lists, strings) redacted: a string value under a secret key is
    ``***``, and every string goes through :func:`redact_text`. Data whose JSON shows no
    secret name, URL or secret is returned as it is (the common case, and quick)."""
    import json

    secrets = secrets if isinstance(secrets, tuple) else tuple(secrets)
    text = json.dumps(value, default=str, ensure_ascii=False)
    literal = _literals(secrets)
    if ("://" not in text and not secret_name(text)
            and (literal is None or literal.search(text) is None)):
        return value
    return _redact(value, secrets)


def _redact(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return redact_text(value, secrets)
    if isinstance(value, Mapping):
        return {key: REDACTED if isinstance(item, str) and item and isinstance(key, str)
                and secret_name(key) else _redact(item, secrets)
                for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redact(item, secrets) for item in value]
    return value


class RedactingStream:
    """A text stream that redacts what it is given (the ``--debug`` log: hook calls with their
    environments). Each write is redacted alone (pluggy writes one hook call at a time), and
    the secrets an environment showed (``'API_TOKEN': 's3cret'``) are hidden in later ones
    too (a script that printed its token)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.secrets: set[str] = set()

    def write(self, text: str) -> int:
        self.secrets.update(m.group(3) for m in _KEYED.finditer(text))
        self.secrets.update(m.group(2) for m in _URL.finditer(text))
        return self.stream.write(redact_text(text, self.secrets))

    def flush(self) -> None:
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()


def open_debug_log(path: str) -> TextIO:
    """The ``--debug`` log at ``path``, truncated, readable by its owner only (mode 0600, also
    when it existed), redacting what is written to it."""
    import stat

    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if stat.S_ISREG(os.fstat(fd).st_mode):  # not a terminal's mode (--debug=/dev/stderr)
        os.fchmod(fd, 0o600)
    return cast(TextIO, RedactingStream(open(fd, "w", encoding="utf-8")))


def resume_command(config: Config) -> str:
    """``lfsplug run PATH... [OPTIONS]``: the command that resumes this build, with the plugins
    given with ``-p`` and blocked, and the options given on the command line (the file's are
    read again) except those that act once (``--force``, ``--force-all``, ``--dry-run``);
    its secrets redacted."""
    words = ["lfsplug"]
    pm = config.pluginmanager
    words += [w for name, plugin in pm.list_name_plugin() if plugin is None
              for w in ("-p", f"no:{name}")]
    words += [w for name, origin in sorted(pm.origins.items()) if origin.how == "-p"
              for w in ("-p", name)]
    words += ["run", *(_shown_path(config, p) for p in config.paths)]
    for key, option in sorted(config.parser.options.items()):
        value = config.option.get(key, option.default)
        if (key in ONE_SHOT or "run" not in option.commands or value in (option.default, None)
                or config.option_source(key) != "command line"):
            continue
        flag = next((n for n in option.names if n.startswith("--")), None)
        if flag is None:
            continue
        if option.action == "store_true":
            words.append(flag)
        else:
            for item in (value if option.action == "append" else [value]):
                words += [flag, f"{item:g}" if isinstance(item, float) else str(item)]
    return redact_text(shlex.join(words))


def _shown_path(config: Config, path: Any) -> str:
    try:
        return str(path.relative_to(config.invocation_dir)) or "."
    except ValueError:
        return str(path)


#: Work that ends sooner shows no progress (:class:`WorkProgress`).
PROGRESS_DELAY = 1.0
#: How often ``lfsplug_progress`` is called once it is.
PROGRESS_INTERVAL = 0.1


class WorkProgress:
    """Report ``task`` (``"validating"``) on ``unit`` (``"scripts"``) while the block runs,
    through ``lfsplug_progress``: not at all within :data:`PROGRESS_DELAY` seconds, then every
    :data:`PROGRESS_INTERVAL` seconds from a thread of its own, and once more at the end with
    ``done == total`` (also on ^C), so that a display can erase a transient line.

    ``done`` is read (from another thread) for how many are done so far; ``total``, called or a
    number, says of how many (None: not known yet, as while discovery walks).
    """

    def __init__(self, config: Config, task: str, unit: str, done: Callable[[], int],
                 total: Callable[[], int | None] | int | None = None) -> None:
        self.config, self.task, self.unit = config, task, unit
        self.done = done
        self.total = total
        self.called = False
        #: what an implementation raised in the thread: raised again when the block ends
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lfsplug-progress", daemon=True)

    def _total(self) -> int | None:
        return self.total() if callable(self.total) else self.total

    def _call(self, done: int, total: int | None) -> None:
        self.called = True
        self.config.hook.lfsplug_progress(config=self.config, task=self.task, unit=self.unit,
                                          done=done, total=total)

    def _run(self) -> None:
        if self._stop.wait(PROGRESS_DELAY):
            return
        while True:
            try:
                self._call(self.done(), self._total())
            except BaseException as exc:  # a display's bug (sys.exit too): raised by the work
                self.error = exc
                return
            if self._stop.wait(PROGRESS_INTERVAL):
                return

    def __enter__(self) -> WorkProgress:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            if kind is None:
                raise self.error
        elif self.called:  # the end: a display erases its line
            done = self.done()
            self._call(done, done)


def wants_colour(stream: TextIO) -> bool:
    """Whether ``stream`` is a terminal that wants colours, bars and live lines: unless
    ``NO_COLOR`` is set or ``TERM`` is ``dumb`` (or unset). One rule for every plugin."""
    if os.environ.get("NO_COLOR") or os.environ.get("TERM", "dumb") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
