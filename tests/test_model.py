"""Small kernel helpers and the model's records: origins, choices."""

from __future__ import annotations

from pathlib import Path

import pytest

from lfsplug import (
    Alert,
    AlertLevel,
    MetaSource,
    Origin,
    Recovery,
    RecoveryAction,
    Script,
    Severity,
    Status,
)
from lfsplug._kinds import format_duration, format_size


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


def test_script_line_of_reads_the_line_of_its_origin() -> None:
    script = Script("a", Path("/t/a.sh"), Path("/t"), origins={
        "depends": Origin("# lfsplug: header", line=3), "name": Origin("file name"),
        "runtime": Origin("dependency comment", line=12),
        "version": Origin("package list packages.sh", "/t/packages.sh", 7)})
    assert script.line_of("depends") == 3
    assert script.line_of("runtime") == 12
    assert script.line_of("name") is None
    assert script.line_of("version") is None  # a line of the list file, not of the script
    assert script.line_of("phase") is None


@pytest.mark.parametrize(("origin", "text"), [
    (Origin("# lfsplug: header", line=3), "# lfsplug: header line 3"),
    (Origin("file name"), "file name"),
    (Origin("package list packages.sh", "/t/packages.sh", 2), "package list packages.sh line 2"),
    (Origin("banner", "/t/ch05.sh", 12, " of ch05.sh"), "banner line 12 of ch05.sh"),
    (Origin("banner", "/t/ch05.sh", 12, " of ch05.sh").noted(" (book chapter 5)"),
     "banner line 12 of ch05.sh (book chapter 5)"),
])
def test_an_origin_says_where_as_list_why_shows_it(origin: Origin, text: str) -> None:
    assert str(origin) == text


def test_a_metadata_source_gives_each_key_its_origin() -> None:
    source = MetaSource("package list packages.sh", {"version": "1.2", "name": "x"},
                        lines={"version": 4}, path="/t/packages.sh")
    assert source.origin("version") == Origin("package list packages.sh", "/t/packages.sh", 4)
    assert source.origin("name") == Origin("package list packages.sh", "/t/packages.sh")


@pytest.mark.parametrize(("make", "message"), [
    (lambda: AlertLevel("wran"), "'wran' is not an alert level (clear, warn, stop or halt)"),
    (lambda: RecoveryAction("again"), "'again' is not a recovery action (retry, skip or stop)"),
    (lambda: Status("ok"), "'ok' is not a status (passed, failed, skipped or not-run)"),
    (lambda: Severity("fatal"), "'fatal' is not a severity (error, warning or info)"),
    (lambda: Recovery("retyr"), "'retyr' is not a recovery action (retry, skip or stop)"),
    (lambda: Alert("disk", "severe", "full", 0.0),
     "'severe' is not an alert level (clear, warn, stop or halt)"),
])
def test_a_bad_choice_is_a_one_line_error_naming_the_good_ones(make: object,
                                                               message: str) -> None:
    with pytest.raises(ValueError) as caught:
        make()  # type: ignore[operator]
    assert str(caught.value) == message


def test_choices_given_as_text_become_members() -> None:
    alert = Alert("disk", "warn", "low", 0.0)  # type: ignore[arg-type]  # as lfsconf.py may
    assert alert.level is AlertLevel.WARN and alert.level == "warn"
    recovery = Recovery("skip")  # type: ignore[arg-type]
    assert recovery.action is RecoveryAction.SKIP
    assert AlertLevel(AlertLevel.HALT) is AlertLevel.HALT
