"""Small text helpers shared by the plugins: for people (terminal, status, reports), and the
``$NAME`` references that metadata values and driver variables carry."""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["expand_variables", "format_duration", "format_size"]

_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_variables(text: str, value: Callable[[str], str | None]) -> str:
    """``text`` with each ``$NAME``/``${NAME}`` replaced by ``value(NAME)``; a reference whose
    value is None stays as written. Nothing else is expanded: no commands, no defaults."""
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        found = value(match.group(1) or match.group(2))
        return match.group() if found is None else found

    return _REFERENCE.sub(replace, text)


def format_duration(seconds: float | None) -> str:
    """``-`` for unknown, ``42.0 s`` under a minute, then ``3m07s`` and ``2h05m09s``."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def format_size(count: float) -> str:
    """Bytes for people, in powers of 1024: ``512 B``, ``1.5 GiB`` (negative sizes too)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"
