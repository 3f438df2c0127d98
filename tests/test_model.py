"""Small kernel helpers."""

from __future__ import annotations

import pytest

from lfsplug.text import format_duration


@pytest.mark.parametrize(("seconds", "text"), [
    (None, "-"), (0.04, "0.0 s"), (42, "42.0 s"), (187, "3m07s"), (7509, "2h05m09s"),
])
def test_format_duration(seconds: float | None, text: str) -> None:
    assert format_duration(seconds) == text
