"""Resume: when a script's earlier pass may be reused, and why it runs again when not.

A script is reused when all of these hold (:func:`why_run` returns None):

* it is not forced (``--force NAME``, ``--force-all``);
* the last time it really ran, it passed (a failure, an interrupted attempt or a crash since
  its last pass makes it run again);
* its content (SHA-256 of the file's bytes) and its environment (SHA-256 of the variables it
  would run with, less those in ``[state] env_ignore``, and of its ``unpack=`` and
  ``workdir=``, which a collection's driver may give without a line in the script, and of the
  build's ``target`` label, ``config.labels["target"]``, when set) are those
  of that pass (the key keeps a short digest of each variable too, so that the reason names
  the variables that changed: ``its environment changed: CFLAGS``);
* none of the scripts it waits for (``session.plan.predecessors()``) was built after it: a
  dependency that ran again in this run, or in a run that ended before this script's turn,
  makes it run again too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from lfsplug import Script, ScriptResult, Status
from lfsplug_state import DEFAULT_ENV_IGNORE  # the default of [state] env_ignore
from lfsplug_state.store import Build

__all__ = ["DEFAULT_ENV_IGNORE", "ScriptKey", "built_at", "changed_variables", "env_hash",
           "keyed_env", "why_run"]



_LAST_ATTEMPT = {"failed": "its last attempt failed",
                 "interrupted": "its last attempt was interrupted",
                 "running": "its last attempt did not finish"}


@dataclass(frozen=True)
class ScriptKey:
    """What a script's result is keyed by: its content and its environment (None: unknown)."""

    content: str | None
    env: str | None

    def astuple(self) -> tuple[str | None, str | None]:
        return (self.content, self.env)


def env_hash(env: Mapping[str, str], ignore: Iterable[str] = DEFAULT_ENV_IGNORE) -> str:
    """The SHA-256 of the environment, in an order-free form, without the ignored variables;
    then a space and, as JSON, a 16-digit digest of each variable (by name), which
    :func:`changed_variables` compares. Only the first 64 digits decide reuse."""
    left_out = set(ignore)
    items = sorted((k, v) for k, v in env.items() if k not in left_out)
    digests = {k: hashlib.sha256(json.dumps([k, v]).encode("utf-8")).hexdigest()[:16]
               for k, v in items}
    whole = hashlib.sha256(json.dumps(items).encode("utf-8")).hexdigest()
    return f"{whole} {json.dumps(digests, separators=(',', ':'))}"


def changed_variables(now: str, before: str) -> list[str]:
    """The variables (``unpack=``, ``workdir=``) whose digest differs between two keys of
    :func:`env_hash`, or are in one only; [] when a key has no digests (recorded before them)."""
    def digests(key: str) -> dict[str, str] | None:
        try:
            found = json.loads(key.partition(" ")[2])
        except ValueError:
            return None
        return found if isinstance(found, dict) else None

    new, old = digests(now), digests(before)
    if new is None or old is None:
        return []
    names = sorted(k for k in new.keys() | old.keys() if new.get(k) != old.get(k))
    return [n.replace("lfsplug:", "") + "=" if n.startswith("lfsplug:") else n for n in names]


def _env_reason(now: str, before: str) -> str:
    """``its environment changed: CFLAGS, MAKEFLAGS`` (at most four names, then how many more)."""
    names = changed_variables(now, before)
    shown = ", ".join(names[:4]) + (f" and {len(names) - 4} more" if len(names) > 4 else "")
    return f"its environment changed: {shown}" if names else "its environment changed"


def keyed_env(script: Script, env: Mapping[str, str],
              target: str | None = None) -> dict[str, str]:
    """What the environment hash covers: ``env``, plus the script's ``unpack=`` and
    ``workdir=`` and the build's ``target`` label when set, under names no variable can have
    (so the hash of a script without them is what it always was). A pass for one target is
    never reused for another, even where the environment does not tell them apart."""
    keyed = dict(env)
    for key in ("unpack", "workdir"):
        value = getattr(script, key)
        if value is not None:
            keyed[f"lfsplug:{key}"] = value
    if target is not None:
        keyed["lfsplug:target"] = target
    return keyed


def built_at(
    result: ScriptResult | None, last_pass: Callable[[], Build | None]
) -> float | None:
    """When a predecessor's current pass was built: from this run's result when it passed
    (a reused result carries its original times), else from its last pass on record."""
    if result is not None and result.status is Status.PASSED and result.finished is not None:
        return result.finished
    build = last_pass()
    return build.finished if build is not None else None


def why_run(
    key: ScriptKey,
    last: Build | None,
    forced: bool,
    predecessors: Mapping[str, float | None],
) -> str | None:
    """Why the script must run (a short phrase for the records), or None to reuse ``last``.

    :param key: the script's content and environment now.
    :param last: the last time it really ran, if ever.
    :param forced: ``--force`` names it, or ``--force-all``.
    :param predecessors: when each script it waits for was built (None: unknown).
    """
    if forced:
        return "forced"
    if last is None:
        return "never built"
    checks = (
        (last.status != "passed", _LAST_ATTEMPT.get(last.status, last.status)),
        (key.content is None or key.content != last.content_hash, "its content changed"),
        (key.env is None or last.env_hash is None
         or key.env[:64] != last.env_hash[:64], "its environment changed"),
        (last.finished is None, "its last pass has no end time"),
    )
    reason = next((why for failed, why in checks if failed), None)
    if reason == "its environment changed" and key.env and last.env_hash:
        reason = _env_reason(key.env, last.env_hash)
    if reason is not None or last.finished is None:
        return reason
    newer = sorted(name for name, when in predecessors.items()
                   if when is not None and when > last.finished)
    return f"{newer[0]} was built after it" if newer else None
