"""``--only``, ``--from`` and ``--until``: which scripts of the plan this run may start.

Positions are the plan's: ``--from NAME`` leaves out what comes before NAME, ``--until NAME``
what comes after it (jhalfs's BREAKPOINT: build up to and including NAME, then stop), ``--only
NAME`` (repeatable) everything else. The plan's order is topological, so ``--until NAME`` keeps
every script NAME depends on. The left-out scripts are recorded as skipped, with the option that
left them out; scripts that depend on them still run (resume reuses what they built before).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from lfsplug import Plan, UsageError
from lfsplug_executor import FROM, ONLY, UNTIL

if TYPE_CHECKING:
    from lfsplug import Config, Session

__all__ = ["check_names", "left_out"]


def _options(config: Config) -> tuple[list[str], str | None, str | None]:
    return config.get(ONLY), config.get(FROM), config.get(UNTIL)


def check_names(session: Session) -> None:
    """Each name given to the options must be a discovered script (a typo would silently
    build everything, or nothing)."""
    only, start, until = _options(session.config)
    named: Iterable[tuple[str, str]] = [*(("--only", n) for n in only),
                                        *([("--from", start)] if start else []),
                                        *([("--until", until)] if until else [])]
    for option, name in named:
        if session.script(name) is None:
            raise UsageError(f"{option} {name}: no script named {name!r}")


def left_out(plan: Plan, config: Config) -> dict[str, str]:
    """The scripts this run leaves out, each with why."""
    only, start, until = _options(config)
    names = [s.name for s in plan.scripts]
    position = {name: i for i, name in enumerate(names)}
    out: dict[str, str] = {}
    if start is not None and start in position:
        for name in names[:position[start]]:
            out[name] = f"before --from {start}"
    if until is not None and until in position:
        for name in names[position[until] + 1:]:
            out.setdefault(name, f"after --until {until}")
    if start is not None and until is not None and position.get(start, 0) > position.get(
            until, 0):
        raise UsageError(f"--from {start} comes after --until {until} in the plan: "
                         f"nothing would run")
    if only:
        chosen = set(only)
        for name in names:
            if name not in chosen:
                out.setdefault(name, "not named by --only")
    return out
