"""Small kernel helpers."""

from __future__ import annotations

import pytest

from lfsplug.text import format_duration, format_size


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0.04, "0.0 s"), (42, "42.0 s"), (187, "3m07s"), (7509, "2h05m09s"),
])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(("count", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1536, "1.5 KiB"), (5 << 30, "5.0 GiB"),
    (-2048, "-2.0 KiB"), (3 << 40, "3.0 TiB"),
])
def test_format_size(count: float, text: str) -> None:
    assert format_size(count) == text
