"""Recovery: where a script failed, what kind of failure it was, and what to do about it.

* Where (:mod:`.where`): each attempt runs with a bash ``ERR`` trap that bash reads first
  (``BASH_ENV``, set for the attempt only: it is not part of the environment that decides
  whether a passed script is reused, nor of what ``--dry-run`` shows), which records the failing
  command and its line; the script's lines up to it give the step (unpack, patch, configure,
  make, test, install). They fill ``result.failed_command``, ``failed_line``, ``failed_step``.
* What (:mod:`.signatures`): ``lfsplug_classify_failure`` matches the attempt against an
  ordered table of signatures (the executor's message, exit code or signal, the log's last
  lines, the kernel's OOM records): ``out-of-memory``, ``disk-full``, ``network``... with the
  matching lines as evidence. It answers last (``trylast``): another plugin's or an
  ``lfsconf.py``'s ``lfsplug_classify_failure`` that returns a class wins; one that returns
  None leaves the failure to this table.
* What to do (:mod:`.policy`): ``lfsplug_recover`` applies the class's policy from
  ``[recovery.policy]`` (``retry`` with exponential backoff up to ``--retries``, ``serial``:
  again with ``MAKEFLAGS=-j1`` and nothing beside it, ``halt``, ``skip``, ``stop``); it too
  answers last. docs/recovery.md lists every class with its signature and usual fix.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import (
    FailureClass,
    Recovery,
    RunRequest,
    Script,
    ScriptResult,
    SettingsTable,
    StashKey,
    Status,
    choice,
    hookimpl,
    integer,
    seconds,
    table_of,
)
from lfsplug_recovery.policy import POLICIES

if TYPE_CHECKING:
    from lfsplug import OptionParser, Session

__all__ = ["BACKOFF", "BACKOFF_MAX", "POLICY", "RETRIES", "STEP_OF_CLASS", "TABLE"]


def _class_name(name: str) -> str:
    from lfsplug_recovery.signatures import SIGNATURES

    names = [s.name for s in SIGNATURES]
    if name not in names:
        raise ValueError(f"{name!r} is not a failure class ({', '.join(names)})")
    return name


#: The ``[recovery]`` table (docs/recovery.md).
TABLE = SettingsTable("recovery")
RETRIES = TABLE.add(
    "retries", integer(0), 2, "retry a failed script at most N times when its class's policy "
    "retries (network, out of memory, a parallel-make race); 0: never",
    option=("--retries",), commands=("run",), metavar="N")
BACKOFF = TABLE.add(
    "backoff", seconds(0), 10.0, "the wait before the first retry of a `retry` class; it "
    "doubles with each further retry")
BACKOFF_MAX = TABLE.add("backoff_max", seconds(0), 300.0, "the longest wait between retries")
POLICY = TABLE.add(
    "policy", table_of(choice(*POLICIES), key=_class_name,
                       entry="CLASS"), {},
    "the policy of a failure class (`network = \"stop\"`), over the table's default: retry, "
    "serial (again with MAKEFLAGS=-j1, nothing else running), stop, skip or halt")

#: The step a class says a script failed in, when its lines did not say.
STEP_OF_CLASS = {"configure-error": "configure", "test-suite": "test", "patch-failure": "patch",
                 "compile-error": "make", "link-error": "make", "parallel-make-race": "make",
                 "missing-source": "unpack"}


@dataclass
class _Attempt:
    """What this plugin noted about a script's latest attempt."""

    makeflags: str | None
    cwd: Path
    record: Path | None


_ENTERING = re.compile(r"Entering directory [`']([^']+)'|^# lfsplug: running in (?:.* \(on the "
                       r"host: (.+)\)|(.+))$")
#: The latest attempt of each script, by name.
_ATTEMPTS: StashKey[dict[str, _Attempt]] = StashKey()


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.add(TABLE)


@hookimpl(wrapper=True)
def lfsplug_run_script(session: Session, request: RunRequest) -> Generator[
        None, ScriptResult | None, ScriptResult | None]:
    """Each attempt runs with the ``ERR`` trap; a failed one gets where it failed."""
    from lfsplug_recovery.where import install, read_stop, step_of

    script, hook = request.script, session.hook
    root = owner = None
    if hasattr(hook, "lfsplug_script_root"):  # the executor's hooks, for a chroot or a user
        root = hook.lfsplug_script_root(script=script, config=session.config)
        owner = hook.lfsplug_script_owner(script=script, config=session.config)
    record = install(session.config.state_dir, script.name, request.env, root=root,
                     owner=owner)
    session.stash.setdefault(_ATTEMPTS, {})[script.name] = _Attempt(
        request.env.get("MAKEFLAGS"), request.cwd, record)
    result = yield
    if result is not None and result.status is Status.FAILED and record is not None:
        stop = read_stop(record, result.exit_code)
        if stop is not None:
            result.failed_command = (stop.command if stop.in_script
                                     else f"{stop.command} ({stop.source}:{stop.line})")
            result.failed_line = stop.line if stop.in_script else None
            result.failed_step = step_of(script.path, stop.line) if stop.in_script else None
    return result


@hookimpl(trylast=True)
def lfsplug_classify_failure(session: Session, script: Script,
                             result: ScriptResult) -> FailureClass | None:
    from lfsplug_recovery.signatures import Context, classify, jobs_of, log_lines

    noted = session.stash.get(_ATTEMPTS, {}).get(script.name)
    logged = log_lines(result.log_path, result.tail)
    lines = [line for line in logged if not line.startswith("# lfsplug:")]
    dirs = [Path(p) for p in _entered(logged)]  # where make and the script ran
    dirs += [noted.cwd] if noted is not None else []
    dirs.append(script.path.parent)
    ctx = Context(script, result, lines, jobs_of(noted.makeflags if noted else None),
                  list(dict.fromkeys(dirs)))
    failure = classify(ctx)
    if result.failed_step is None:
        result.failed_step = STEP_OF_CLASS.get(failure.name)
    return failure


def _entered(lines: list[str]) -> list[str]:
    """The directories make says it entered (``make[1]: Entering directory '/x/y'``) and the
    one the executor ran the script in (``# lfsplug: running in DIR``, ``unpack=``)."""
    return [next(g for g in m.groups() if g) for line in lines if (m := _ENTERING.search(line))]


@hookimpl(trylast=True)
def lfsplug_recover(session: Session, script: Script, result: ScriptResult,
                    failure: FailureClass | None) -> Recovery | None:
    if failure is None:
        return None
    from lfsplug_recovery.policy import decide, default_policy
    from lfsplug_recovery.signatures import jobs_of

    config = session.config
    policy = config.get(POLICY).get(failure.name) or default_policy(failure)
    noted = session.stash.get(_ATTEMPTS, {}).get(script.name)
    return decide(session, script, result, failure, policy=policy, retries=config.get(RETRIES),
                  backoff=config.get(BACKOFF), backoff_max=config.get(BACKOFF_MAX),
                  jobs=jobs_of(noted.makeflags if noted else None))
