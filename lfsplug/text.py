"""Small text helpers shared by the plugins that print for people (terminal, status, reports)."""

from __future__ import annotations

__all__ = ["format_duration", "format_size"]


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
