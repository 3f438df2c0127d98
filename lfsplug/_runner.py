"""The per-script protocol, described once and driven from one function.

For each script the scheduler calls :func:`run_protocol`, which goes through these steps:

1. ``lfsplug_script_env``: the environment, shaped by every plugin and ``lfsconf.py``.
2. ``lfsplug_script_cached``: a result to reuse (resume: same content, same environment); if
   one comes back, the script is done.
3. ``lfsplug_script_command``: the argv.
4. ``lfsplug_script_start``, then ``lfsplug_run_script`` (the executor), for attempt 1, 2, ...
5. On failure, ``lfsplug_classify_failure`` labels it and ``lfsplug_recover`` decides: retry
   (back to 3 with the environment it adds, after its delay), skip, or let it stand.
6. ``lfsplug_script_finish`` with the final result.

Each hook call is wrapped so that an exception becomes a :class:`~lfsplug._config.PluginError`
naming the plugin, the hook and the script, instead of a traceback.

Merging metadata from every source into a :class:`~lfsplug._model.Script`.

Each source (the ``# lfsplug:`` header, jhalfs variables, file names...) gives raw text values
with a priority; for each key the highest priority wins and ``script.origins`` records which
source gave it (an :class:`~lfsplug._model.Origin`: the source, its file, the line), for
``lfsplug list --why``. Values are converted here, once, so that every plugin
sees typed fields; a malformed value becomes an error finding with the file and line.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar, assert_never

from lfsplug._events import ScriptRetry
from lfsplug._model import (
    Finding,
    LfsplugError,
    MetaSource,
    Recovery,
    RecoveryAction,
    Requirement,
    RunRequest,
    Script,
    ScriptResult,
    Severity,
    Status,
    UsageError,
)
from lfsplug._settings import SILENCE_TIMEOUT, TIMEOUT

if TYPE_CHECKING:
    from lfsplug._session import Session

__all__ = ["KEYS", "MAX_ATTEMPTS", "apply_metadata", "run_protocol", "split_list"]


#: A guard against a recovery plugin that retries for ever.
MAX_ATTEMPTS = 100


T = TypeVar("T")


def _call(session: Session, script: Script, fn: Callable[..., T], /, **kwargs: Any) -> T:
    """Call a hook; an exception from a plugin becomes an error naming plugin, hook, script."""
    try:
        return fn(**kwargs)
    except LfsplugError:
        raise
    except Exception as exc:
        raise session.config.pluginmanager.as_plugin_error(exc, script.name) from exc


def run_protocol(session: Session, script: Script) -> ScriptResult:
    """Run one script through the whole protocol and record its final result."""
    hook, config = session.hook, session.config
    env: dict[str, str] = {}
    _call(session, script, hook.lfsplug_script_env, script=script, env=env, config=config)
    cached = _call(session, script, hook.lfsplug_script_cached, session=session, script=script,
                   env=env)
    if cached is not None:
        cached.cached = True
        return _call(session, script, session.finish_script, script=script, result=cached)
    attempt = 0
    while True:
        attempt += 1
        result = _attempt(session, script, env, attempt)
        if result.status is Status.PASSED or session.hard_stop:
            break
        recovery = _recover(session, script, result)
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
        if attempt >= MAX_ATTEMPTS or session.shouldstop:
            break
        session.emit(ScriptRetry(attempt, recovery.reason, recovery.delay, dict(recovery.env),
                                 result.started), script.name)
        env.update(recovery.env)
        if recovery.delay > 0:
            time.sleep(recovery.delay)
    return _call(session, script, session.finish_script, script=script, result=result)


def _attempt(session: Session, script: Script, env: dict[str, str], attempt: int) -> ScriptResult:
    hook, config = session.hook, session.config
    argv = _call(session, script, hook.lfsplug_script_command,
                 script=script, env=env, config=config)
    if not argv:
        raise UsageError("no plugin gave a command for the scripts (lfsplug_script_command): "
                         "is the executor plugin blocked with -p no:executor?")
    request = RunRequest(
        script=script,
        argv=list(argv),
        env=dict(env),
        cwd=script.path.parent,
        log_path=session.log_path(script, attempt),
        attempt=attempt,
        timeout=script.timeout or config.get(TIMEOUT),
        silence_timeout=config.get(SILENCE_TIMEOUT),
    )
    _call(session, script, session.start_script, script=script, attempt=attempt)
    result: ScriptResult | None = _call(session, script, hook.lfsplug_run_script,
                                        session=session, request=request)
    if result is None:
        raise UsageError("no plugin ran the script (lfsplug_run_script): "
                         "is the executor plugin blocked with -p no:executor?")
    result.attempts = attempt
    return result


def _recover(session: Session, script: Script, result: ScriptResult) -> Recovery | None:
    hook = session.hook
    failure = _call(session, script, hook.lfsplug_classify_failure,
                    session=session, script=script, result=result)
    if failure is not None:
        result.failure_class = failure.name
    recovery: Recovery | None = _call(session, script, hook.lfsplug_recover, session=session,
                                      script=script, result=result, failure=failure)
    return recovery


def split_list(text: str) -> list[str]:
    """Split a comma-separated list (spaces after commas allowed; empty items dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _requirements(text: str) -> list[Requirement]:
    return [Requirement.parse(item) for item in split_list(text)]


def _names(text: str) -> list[str]:
    names = split_list(text)
    for name in names:
        if any(c.isspace() for c in name) or any(c in name for c in "<>="):
            raise ValueError(f"{name!r} is not a plain name")
    return names


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(f"{text!r} is not a positive number")
    return value


def _yes_no(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("yes", "true", "1", "on"):
        return True
    if lowered in ("no", "false", "0", "off"):
        return False
    raise ValueError(f"{text!r} is not yes or no")


def _word(text: str) -> str:
    word = text.strip()
    if not word or any(c.isspace() for c in word):
        raise ValueError(f"{text!r} is not a single word")
    return word


def _name(text: str) -> str:
    """A script name: one word that can name its log file (no ``/``, not hidden)."""
    name = _word(text)
    if "/" in name or name.startswith(".") or "\0" in name:
        raise ValueError(f"{text!r} is not a script name (no '/', not starting with '.')")
    return name


def _path(text: str) -> str:
    """A file or directory (``$VAR`` references allowed, expanded when the script runs)."""
    path = text.strip()
    if not path or "\0" in path or "\n" in path:
        raise ValueError(f"{text!r} is not a path")
    return path


def _codes(text: str) -> set[str]:
    return set(split_list(text))


#: The metadata keys of the contract (DESIGN.md) and how each is converted.
KEYS: dict[str, Callable[[str], Any]] = {
    "name": _name,
    "version": _word,
    "phase": _word,
    "depends": _requirements,
    "recommends": _requirements,
    "optional": _requirements,
    "after": _names,
    "before": _names,
    "provides": _names,
    "timeout": _positive,
    "sbu": _positive,
    "user": _word,
    "chroot": _yes_no,
    "disable": _codes,
    "unpack": _path,
    "workdir": _path,
}


def apply_metadata(script: Script, sources: Iterable[MetaSource]) -> list[Finding]:
    """Merge ``sources`` into ``script`` (highest priority per key wins); return findings."""
    chosen: dict[str, tuple[MetaSource, str]] = {}
    for source in sorted(sources, key=lambda s: -s.priority):  # stable: ties keep call order
        for key, value in source.values.items():
            chosen.setdefault(key, (source, value))
    findings: list[Finding] = []
    for key, (source, raw) in chosen.items():
        origin = source.origin(key)
        path = origin.path or str(script.path)  # a list file's value: that file's line
        convert = KEYS.get(key)
        if convert is None:
            script.meta[key] = raw
            script.origins[key] = origin
            findings.append(_unknown_key(path, key, origin.line))
            continue
        try:
            value = convert(raw)
        except ValueError as exc:
            findings.append(Finding(
                "META001", Severity.ERROR, f"bad value for {key}=: {exc}",
                path, origin.line, "see the metadata keys in docs/user-guide.md",
            ))
            continue
        setattr(script, key, value)
        script.origins[key] = origin
    return findings


def _unknown_key(path: str, key: str, line: int | None) -> Finding:
    import difflib

    close = difflib.get_close_matches(key, list(KEYS), n=1)
    hint = f"did you mean {close[0]}=?" if close else "plugins read unknown keys from script.meta"
    return Finding(
        "META002", Severity.WARNING, f"unknown metadata key {key!r}", path, line, hint
    )
