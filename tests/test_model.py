"""Small kernel helpers."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfsplug import Script
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


def test_script_line_of_reads_the_line_its_origin_names() -> None:
    script = Script("a", Path("/t/a.sh"), Path("/t"), origins={
        "depends": "header line 3", "name": "file name",
        "runtime": "dependency comment line 12", "version": "header line x"})
    assert script.line_of("depends") == 3
    assert script.line_of("runtime") == 12
    assert script.line_of("name") is None and script.line_of("version") is None
    assert script.line_of("phase") is None
