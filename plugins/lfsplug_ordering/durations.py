"""Expected durations, for the critical path and for choosing where a phase barrier goes.

Two sources: ``lfsplug_expected_duration`` (seconds, from history: the state plugin answers it)
and the ``sbu=`` metadata (the book's Standard Build Units). Seconds win. SBU values are turned
into seconds by the ratio of the two over the scripts that have both; with no such script, by
the ratio of their means (the best guess there is); with no seconds at all they stay in SBU,
which orders paths just as well. A script with neither counts as the average of the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lfsplug import Script

if TYPE_CHECKING:
    from lfsplug import Config

__all__ = ["Durations", "expected_durations"]


@dataclass(frozen=True)
class Durations:
    """One expected duration per script (by layout position), and the unit they are in."""

    values: list[float]
    #: True where the duration is a guess (the average), not known
    estimated: list[bool]
    unit: str  # "s", "SBU", or "" when nothing is known (every value is then 1)


def _from_hook(scripts: Sequence[Script], config: Config) -> list[float | None]:
    hook = config.hook.lfsplug_expected_duration
    if not hook.get_hookimpls():  # nobody answers: spare 10,000 calls
        return [None] * len(scripts)
    answers: list[float | None] = []
    for script in scripts:
        value = hook(script=script, config=config)
        answers.append(float(value) if value is not None and value >= 0 else None)
    return answers


def _sbu_factor(seconds: Sequence[float | None], sbu: Sequence[float | None]) -> float:
    both = [(s, b) for s, b in zip(seconds, sbu, strict=True) if s is not None and b]
    if both:
        return sum(s for s, _ in both) / sum(b for _, b in both)
    known_s = [s for s in seconds if s is not None]
    known_b = [b for b in sbu if b]
    if known_s and known_b and sum(known_b) > 0:
        return (sum(known_s) / len(known_s)) / (sum(known_b) / len(known_b))
    return 1.0


def expected_durations(scripts: Sequence[Script], config: Config) -> Durations:
    """The expected duration of each script, in seconds when any is known in seconds."""
    seconds = _from_hook(scripts, config)
    sbu = [s.sbu if s.sbu is not None and s.sbu >= 0 else None for s in scripts]
    has_seconds = any(v is not None for v in seconds)
    factor = _sbu_factor(seconds, sbu) if has_seconds else 1.0
    known: list[float | None] = [
        s if s is not None else (b * factor if b is not None else None)
        for s, b in zip(seconds, sbu, strict=True)
    ]
    present = [v for v in known if v is not None]
    average = sum(present) / len(present) if present else 1.0
    return Durations(
        [average if v is None else v for v in known],
        [v is None for v in known],
        "s" if has_seconds else ("SBU" if present else ""),
    )
