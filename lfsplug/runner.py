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

Each hook call is wrapped so that an exception becomes a :class:`~lfsplug.errors.PluginError`
naming the plugin, the hook and the script, instead of a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar, assert_never

from lfsplug._settings import SILENCE_TIMEOUT, TIMEOUT
from lfsplug.errors import LfsplugError, UsageError
from lfsplug.model import Recovery, RecoveryAction, RunRequest, Script, ScriptResult, Status
from lfsplug.records import ScriptRetry

if TYPE_CHECKING:
    from lfsplug.session import Session

__all__ = ["MAX_ATTEMPTS", "run_protocol"]

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
