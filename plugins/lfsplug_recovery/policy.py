"""What to do after a classified failure: the policy of its class.

``retry``: run again after a wait that doubles each time (``[recovery] backoff``, up to
``backoff_max``), while fewer than ``--retries`` retries were made. ``serial``: run again once
with ``MAKEFLAGS=-j1`` and nothing else running beside it (``Recovery.exclusive``), unless the
failed attempt already ran make with one job. ``halt``: raise a HALT alert and stop the build,
running scripts too. ``skip``: count the script as skipped and go on. ``stop``: let the failure
stand (``--keep-going`` then goes on with what does not depend on it).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from lfsplug import Alert, AlertLevel, FailureClass, Recovery, RecoveryAction, Script, ScriptResult

if TYPE_CHECKING:
    from lfsplug import Session

__all__ = ["POLICIES", "decide", "default_policy"]

#: The policies a class can have.
POLICIES = ("retry", "serial", "stop", "skip", "halt")
#: The policies that never retry: what they do, and what they say.
_FIXED = {"halt": (RecoveryAction.STOP, "halted the build"),
          "skip": (RecoveryAction.SKIP, "skipped ([recovery.policy])"),
          "stop": (RecoveryAction.STOP, "not retried (deterministic)")}


def default_policy(failure: FailureClass) -> str:
    """The table's policy for a class; for a class another plugin made, ``retry`` when it is
    transient, else ``stop``."""
    from lfsplug_recovery.signatures import by_name

    signature = by_name(failure.name)
    if signature is not None:
        return signature.policy
    return "retry" if failure.transient else "stop"


def decide(session: Session, script: Script, result: ScriptResult, failure: FailureClass,
           *, policy: str, retries: int, backoff: float, backoff_max: float,
           jobs: int) -> Recovery:
    """The recovery ``policy`` calls for, after ``result.attempts`` attempts."""
    name = failure.name
    done = max(0, result.attempts - 1)  # retries made so far
    if policy in _FIXED:
        if policy == "halt":
            _halt(session, script, failure)
        action, why = _FIXED[policy]
        return Recovery(action, f"{name}: {why}")
    if policy == "serial" and jobs <= 1:
        return Recovery(RecoveryAction.STOP,
                        f"{name}: not retried (it already ran with MAKEFLAGS=-j1)")
    if done >= retries:
        times = f"{done} retr{'y' if done == 1 else 'ies'}"
        return Recovery(RecoveryAction.STOP, f"{name}: gave up after {times} (--retries "
                                             f"{retries})" if done else
                        f"{name}: not retried (--retries {retries})")
    if policy == "serial":
        return Recovery(RecoveryAction.RETRY,
                        f"{name}: retry {done + 1} of {retries} with MAKEFLAGS=-j1, nothing "
                        f"else running", 0.0, {"MAKEFLAGS": "-j1"}, exclusive=True)
    delay = min(backoff * (2 ** done), backoff_max)
    return Recovery(RecoveryAction.RETRY, f"{name}: retry {done + 1} of {retries}", delay)


def _halt(session: Session, script: Script, failure: FailureClass) -> None:
    """A HALT alert, and the build stopped with the running scripts ended."""
    shown = failure.evidence[0] if failure.evidence else failure.reason
    message = f"{script.name} failed: {failure.name} ({shown}); ending the running scripts"
    kind = "disk" if failure.name == "disk-full" else "recovery"
    session.alert(Alert(kind, AlertLevel.HALT, message, time.time(),
                        {"class": failure.name, "script": script.name}))
    session.stop(message, hard=True)
