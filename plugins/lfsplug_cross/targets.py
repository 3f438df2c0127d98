"""``run --target A --target B``: the tree built once per target, one after the other, each a
whole run of its own (its ``$LFS``, its state directory, its reports, its history), then a
table of how each went.

Each target's run is the same command line with that one target, ``--lfs`` and
``--state-dir`` set from ``[cross] lfs_per_target`` and ``state_per_target``, and each
``--report FORMAT:PATH`` written to ``PATH`` with the target before its suffix
(``build.aarch64-lfs-linux-gnu.html``).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from lfsplug import ExitCode
from lfsplug_cross import LFS_PER_TARGET, STATE_PER_TARGET, TARGET

if TYPE_CHECKING:
    from lfsplug import CommandSet, Config, Setting

__all__ = ["per_target_argv", "wrap_run"]

#: Set in the environment of each target's own run: it is one target, not several again.
NESTED = "LFSPLUG_CROSS_ONE_TARGET"
#: The options rewritten for each target's run.
_DROPPED = ("--target", "--lfs", "--state-dir")


def wrap_run(commands: CommandSet) -> None:
    run = commands.commands.get("run")
    if run is None:
        return
    original = run.callback

    def callback(config: Config) -> int:
        targets = config.get(TARGET)
        if len(targets) <= 1 or os.environ.get(NESTED):
            return original(config)
        return run_per_target(config, list(dict.fromkeys(targets)))

    commands.commands["run"] = dataclasses.replace(run, callback=callback)


def _template(config: Config, setting: Setting[str], target: str) -> str:
    text = config.get(setting)
    try:
        return str(text).format(lfs=config.lfs.rstrip("/"), target=target,
                                state_dir=str(config.state_dir))
    except (KeyError, IndexError, ValueError) as exc:
        raise config.error(setting, f"{text!r}: {exc} (placeholders: {{lfs}}, {{target}}, "
                                    f"{{state_dir}})") from None


def _report_path(value: str, target: str) -> str:
    fmt, sep, path = value.partition(":")
    if not sep:
        return value
    base = Path(path)
    suffix = "".join(base.suffixes[-1:])
    stem = base.name[: -len(suffix)] if suffix else base.name
    return f"{fmt}:{base.with_name(f'{stem}.{target}{suffix}')}"


def per_target_argv(argv: list[str], target: str, lfs: str, state_dir: str) -> list[str]:
    """``argv`` with its targets, ``--lfs`` and ``--state-dir`` replaced by this target's,
    and its reports' paths made this target's."""
    out: list[str] = []
    words = iter(argv)
    for word in words:
        flag, eq, value = word.partition("=")
        if flag in _DROPPED:
            if not eq:
                next(words, None)
            continue
        if flag == "--report":
            value = value if eq else next(words, "")
            out += ["--report", _report_path(value, target)]
            continue
        out.append(word)
    position = next((i for i, w in enumerate(out) if w == "run"), len(out) - 1)
    return [*out[: position + 1], "--target", target, "--lfs", lfs, "--state-dir", state_dir,
            *out[position + 1:]]


def run_per_target(config: Config, targets: list[str],
                   main: Callable[..., int] | None = None) -> int:
    """Run the build once per target; the first failure's exit code (an interrupt stops)."""
    if main is None:
        from lfsplug import main as lfsplug_main

        main = lfsplug_main
    rows: list[tuple[str, str, str, int, float]] = []
    worst = 0
    saved = os.environ.get(NESTED)
    os.environ[NESTED] = "1"
    try:
        for number, target in enumerate(targets, 1):
            lfs = _template(config, LFS_PER_TARGET, target)
            state = _template(config, STATE_PER_TARGET, target)
            click.echo(click.style(f"== target {number}/{len(targets)}: {target} "
                                   f"($LFS {lfs}, state {state})", bold=True), err=True)
            argv = per_target_argv(config.argv, target, lfs, state)
            started = time.monotonic()
            code = int(main(argv, config.plugin_objects))
            rows.append((target, lfs, state, code, time.monotonic() - started))
            if code and not worst:
                worst = code
            if code == ExitCode.INTERRUPTED:
                break
    finally:
        if saved is None:
            os.environ.pop(NESTED, None)
        else:
            os.environ[NESTED] = saved
    _table(rows, targets)
    return int(worst)


_WORDS = {0: "built", 1: "a script failed", 2: "interrupted", 3: "plugin error",
          4: "usage error", 5: "nothing to build", 6: "invalid tree"}


def _table(rows: list[tuple[str, str, str, int, float]], targets: list[str]) -> None:
    click.echo("== targets", err=True)
    width = max(len(t) for t in targets)
    for target, lfs, state, code, seconds in rows:
        colour = "green" if code == 0 else "red"
        click.echo(f"  {target:<{width}}  " + click.style(f"{_WORDS.get(code, 'exit')} "
                   f"(exit {code})", fg=colour) + f"  {seconds:.1f} s  $LFS {lfs}  "
                   f"state {state}", err=True)
    for target in targets[len(rows):]:
        click.echo(f"  {target:<{width}}  not run", err=True)
