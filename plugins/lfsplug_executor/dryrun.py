"""``run --dry-run``: what would run, in order, with each environment difference; runs nothing.

Each script goes through the protocol's first steps for real: ``lfsplug_script_env`` (so the
environment shown is the one it would get from every plugin and ``lfsconf.py``),
``lfsplug_script_cached`` (the state plugin answers from the records without writing them),
``lfsplug_script_command`` (so a wrapper such as the chroot's shows). What it would reuse is
said so; a script that would run counts as rebuilt for the scripts after it, as it would be.
A script with ``unpack=`` or ``workdir=`` also shows the tarball it would unpack (its pattern
while no file matches) and the directory it would run in; nothing is unpacked.
"""

from __future__ import annotations

import shlex
import time
from typing import TYPE_CHECKING

import click

from lfsplug import Plan, Script, ScriptResult, Status, redact_env, redact_text

if TYPE_CHECKING:
    from lfsplug import Session

__all__ = ["dry_run", "env_changes", "placed"]


def env_changes(base: dict[str, str], env: dict[str, str]) -> list[str]:
    """The lines that say how ``env`` differs from the book's environment ``base`` (secrets
    redacted: ``lfsplug.redact_env``)."""
    lines = []
    env, base = redact_env(env), redact_env(base)
    for key in sorted(env.keys() | base.keys()):
        if key not in base:
            lines.append(f"+ {key}={env[key]}")
        elif key not in env:
            lines.append(f"- {key}")
        elif env[key] != base[key]:
            lines.append(f"~ {key}={env[key]} (book: {base[key]})")
    return lines


def placed(session: Session, script: Script, env: dict[str, str],
           argv: list[str]) -> tuple[list[str], list[str]]:
    """The command as it would start (in its directory, when a plugin must make it start
    there) and the lines on what it would unpack and where it would run."""
    if script.unpack is None and script.workdir is None:
        return argv, []
    from lfsplug_executor import site_of
    from lfsplug_executor.workspace import preview

    lines, seen = preview(script, env, site_of(session, script))
    if seen is not None:
        argv = session.hook.lfsplug_script_command_in(
            script=script, argv=argv, directory=seen, config=session.config) or argv
    return argv, lines


def dry_run(session: Session, plan: Plan, left_out: dict[str, str],
            base: dict[str, str]) -> None:
    hook, config = session.hook, session.config
    total = len(plan.scripts)
    out: list[str] = []
    would_run = reused = 0
    now = time.time()
    for n, script in enumerate(plan.scripts, 1):
        counter = f"[{n}/{total}]"
        why = left_out.get(script.name)
        if why is not None:
            out.append(f"{counter} skip   {script.name} ({why})")
            continue
        env: dict[str, str] = {}
        hook.lfsplug_script_env(script=script, env=env, config=config)
        cached = hook.lfsplug_script_cached(session=session, script=script, env=env)
        if cached is not None:
            reused += 1
            cached.cached = True
            session.results[script.name] = cached
            out.append(f"{counter} reuse  {script.name} ({cached.message or 'unchanged'})")
            continue
        would_run += 1
        argv = hook.lfsplug_script_command(script=script, env=env, config=config) or []
        argv, where = placed(session, script, env, [str(a) for a in argv])
        reason = session.why_run.get(script.name)
        out.append(f"{counter} run    {script.name}" + (f" ({reason})" if reason else ""))
        out.append(f"         $ {redact_text(shlex.join(argv))}")
        out.extend(f"         {line}" for line in where)
        out.extend(f"         {line}" for line in env_changes(base, env))
        # the scripts after it see it rebuilt now, as they would in the real run
        session.results[script.name] = ScriptResult(script.name, Status.PASSED, started=now,
                                                    finished=now)
    out.append(f"dry run: {would_run} would run, {reused} would be reused, "
               f"{len(left_out)} left out; nothing was run")
    click.echo("\n".join(out))
    for script in plan.scripts:  # what would run did not: its result says so
        result = session.results.get(script.name)
        if result is None or not result.cached:
            why = left_out.get(script.name) or session.why_run.get(script.name)
            session.results[script.name] = ScriptResult(
                script.name, Status.NOT_RUN,
                message=f"dry run: {'left out' if script.name in left_out else 'would run'}"
                        + (f" ({why})" if why else ""))

