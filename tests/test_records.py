"""Event records: one frozen dataclass per kind, the kind and priority from the class, the
JSON round trip the state plugin stores events with (its codec), and plugins' own kinds."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import FrozenInstanceError, dataclass
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st

import lfsplug
from lfsplug import (
    Alert,
    AlertLevel,
    AlertRaised,
    Priority,
    Progress,
    RawRecord,
    Record,
    RunFinished,
    RunStarted,
    Sample,
    SampleTaken,
    ScriptOutput,
    ScriptRetry,
    StopRequested,
    record_class,
    record_to_data,
)
from lfsplug._events import JSON, EventBus
from lfsplug._model import Event
from lfsplug_chroot.plugin import ChrootMounted
from lfsplug_executor.scheduler import Throttled
from lfsplug_state.codec import record_from_data, record_from_json, record_to_json

EXAMPLES: list[Record] = [
    RunStarted(total=12),
    ScriptOutput(("checking for gcc... yes", "")),
    ScriptOutput((), counted=40),
    ScriptRetry(1, "flaky", 2.5, {"MAKEFLAGS": "-j1"}, started=1000.25),
    ScriptRetry(2),
    SampleTaken(Sample(1000.0, {"cpu_percent": 73.5, "rss": 2e9}, "gcc")),
    SampleTaken(Sample(1000.0, {})),
    AlertRaised(Alert("disk", AlertLevel.WARN, "lfs has 4.2G free", 1000.5,
                      {"label": "lfs", "free": 4.2e9, "floor": None, "over": True})),
    Progress(done=3, total=10, elapsed=61.0, eta=300.0, bound=None,
             phases={"cross": [3, 5]}, running={"gcc": 120.0, "m4": None}, sbu_seconds=66.5),
    StopRequested("interrupted", hard=True),
    RunFinished(exit_code=1),
    Throttled("available memory is below 1.0 GiB", running=2),
    Throttled(None, running=0),
    ChrootMounted("/mnt/lfs", ("/mnt/lfs/dev", "/mnt/lfs/proc"), ()),
]


@pytest.mark.parametrize("record", EXAMPLES, ids=lambda r: type(r).__name__)
def test_every_record_round_trips_through_json(record: Record) -> None:
    text = record_to_json(record)
    assert isinstance(json.loads(text), dict)
    again = record_from_json(record.kind, text)
    assert again == record and type(again) is type(record)
    assert record_to_json(again) == text


def test_the_class_gives_the_kind_and_the_priority() -> None:
    assert [(c.kind, Priority(c.priority).name) for c in (
        RunStarted, ScriptOutput, ScriptRetry, SampleTaken, AlertRaised, Progress,
        StopRequested, RunFinished)] == [
        ("run-start", "STATUS"), ("script-output", "PROGRESS"), ("script-retry", "STATUS"),
        ("sample", "SAMPLE"), ("alert", "ALERT"), ("progress", "PROGRESS"),
        ("stop", "ALERT"), ("run-finish", "STATUS")]
    assert record_class("alert") is AlertRaised and record_class("nothing") is None
    bus = EventBus(lambda batch: None)
    event = bus.emit(AlertRaised(Alert("disk", AlertLevel.STOP, "full", 1.0)), "gcc")
    assert (event.kind, event.priority, event.script) == ("alert", Priority.ALERT, "gcc")


def test_records_are_frozen() -> None:
    record = RunStarted(3)
    with pytest.raises(FrozenInstanceError):
        record.total = 4  # type: ignore[misc]


def test_stored_forms_are_those_the_database_has_always_held() -> None:
    assert record_to_data(ScriptOutput(("a", "b")).slim()) == {"lines": 2}
    assert record_to_data(StopRequested("disk full")) == {"reason": "disk full", "hard": False}
    alert = AlertRaised(Alert("memory", AlertLevel.CLEAR, "fine again", 5.0))
    assert record_to_data(alert) == {"alert": "memory", "level": "clear",
                                     "message": "fine again", "time": 5.0, "data": {}}


def test_an_alert_stored_before_its_time_and_figures_were_kept_still_reads() -> None:
    old = '{"alert": "disk", "level": "warn", "message": "low"}'
    assert record_from_json("alert", old) == AlertRaised(Alert("disk", AlertLevel.WARN, "low",
                                                               0.0))


def test_output_keeps_its_count_stored_without_its_lines() -> None:
    output = ScriptOutput(("one", "two", "three"))
    assert output.count == 3
    slim = output.slim()
    assert (slim.lines, slim.count) == ((), 3) and slim.slim() is slim
    assert record_from_json("script-output", '{"lines": 3}') == slim


@pytest.mark.parametrize(("kind", "data"), [
    ("run-start", {"total": "many"}),           # a number as text
    ("run-start", {}),                          # a field missing
    ("run-start", {"total": True}),             # a bool is not an int here
    ("stop", {"reason": None}),
    ("script-output", {"lines": [1, 2]}),
    ("script-output", {"lines": -1}),
    ("alert", {"alert": "disk", "level": "severe", "message": "x"}),
    ("progress", {"done": 1, "total": 2, "elapsed": 3.0, "phases": {"x": "12"}}),
    ("sample", {"sample": {"time": 1.0, "values": {"cpu": "high"}}}),
    ("some-plugin-not-loaded", {"anything": [1, {"x": None}]}),
])
def test_data_that_does_not_fit_comes_back_raw_and_unchanged(kind: str,
                                                            data: dict[str, object]) -> None:
    record = record_from_data(kind, data)
    assert record == RawRecord(data)
    assert record_to_data(record) == data


def test_text_that_is_not_an_object_comes_back_raw() -> None:
    assert record_from_json("run-start", None) == RawRecord({})
    assert record_from_json("run-start", "[1, 2]") == RawRecord({"data": [1, 2]})
    assert record_from_json("run-start", "{oops") == RawRecord({"text": "{oops"})


def test_unknown_fields_are_ignored_and_defaults_fill_in() -> None:
    assert record_from_data("script-retry", {"attempt": 2, "new": 1}) == ScriptRetry(2)


@given(st.text(), st.booleans(), st.lists(st.text(), max_size=5),
       st.dictionaries(st.text(), st.text(), max_size=3),
       st.floats(allow_nan=False, allow_infinity=False))
def test_any_text_round_trips(reason: str, hard: bool, lines: list[str],
                              env: dict[str, str], delay: float) -> None:
    for record in (StopRequested(reason, hard), ScriptOutput(tuple(lines)),
                   ScriptRetry(3, reason, delay, env)):
        assert record_from_json(record.kind, record_to_json(record)) == record


# -- plugins' own kinds --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PatchApplied(Record):
    """A plugin's own kind, as docs/writing-plugins.md shows it."""

    kind: ClassVar[str] = "testplugin.patch"
    priority: ClassVar[int] = Priority.PROGRESS
    patch: str
    hunks: int
    files: tuple[str, ...] = ()
    level: AlertLevel = AlertLevel.WARN
    sizes: Mapping[str, int] | None = None


def test_a_plugins_record_is_emitted_and_stored_like_the_kernels() -> None:
    record = PatchApplied("gcc-fix.patch", 3, ("a.c", "b.c"), AlertLevel.HALT, {"a.c": 10})
    seen: list[Event] = []
    bus = EventBus(seen.extend)
    event = bus.emit(record, "gcc")
    assert seen == [event] and event.record is record
    assert (event.kind, event.priority) == ("testplugin.patch", Priority.PROGRESS)
    assert record_class("testplugin.patch") is PatchApplied
    assert record_from_json(event.kind, record_to_json(record)) == record
    assert record_from_data(event.kind, {"patch": "p", "hunks": 1}) == PatchApplied("p", 1)


def test_a_plugins_own_stored_form_is_read_back_by_its_from_data() -> None:
    @dataclass(frozen=True)
    class Counted(Record):
        kind: ClassVar[str] = "testplugin.counted"
        items: tuple[str, ...]

        def to_data(self) -> dict[str, JSON]:
            return {"n": len(self.items)}

        @classmethod
        def from_data(cls, data: Mapping[str, object]) -> Counted:
            count = data["n"]
            if not isinstance(count, int):
                raise TypeError("n: a count")
            return cls(("?",) * count)

    assert record_to_json(Counted(("a", "b"))) == '{"n":2}'
    assert record_from_json("testplugin.counted", '{"n":2}') == Counted(("?", "?"))
    assert record_from_json("testplugin.counted", '{"n":"2"}') == RawRecord({"n": "2"})
    assert Record.from_data({}) is None  # the default: the codec decodes field by field


def test_two_classes_claiming_one_kind_is_an_error_naming_both() -> None:
    with pytest.raises(TypeError) as caught:
        @dataclass(frozen=True)
        class Impostor(Record):
            kind: ClassVar[str] = "run-start"
            total: int

    message = str(caught.value)
    assert "'run-start' is claimed by lfsplug._events.RunStarted and by " in message
    assert "Impostor" in message and "another kind" in message
    assert record_class("run-start") is RunStarted


@pytest.mark.parametrize("kind", ["", "Has Space", "UPPER", "-leading", 7])
def test_a_kind_must_be_a_lower_case_word(kind: object) -> None:
    with pytest.raises(TypeError, match="an event kind is a word of lower-case letters"):
        type("Bad", (Record,), {"__slots__": (), "kind": kind})


def test_a_field_type_json_cannot_hold_is_a_programming_error() -> None:
    @dataclass(frozen=True)
    class Odd(Record):
        kind: ClassVar[str] = "testplugin.odd"
        where: Path

    assert record_to_data(Odd(Path("/mnt/lfs"))) == {"where": "/mnt/lfs"}
    with pytest.raises(NotImplementedError, match="cannot be of type"):
        record_from_data("testplugin.odd", {"where": "/mnt/lfs"})


def test_the_records_are_public() -> None:
    for name in ("Record", "RawRecord", "RunStarted", "ScriptOutput", "ScriptRetry",
                 "SampleTaken", "AlertRaised", "Progress", "StopRequested", "RunFinished",
                 "record_class", "record_to_data", "Origin", "AlertLevel", "RecoveryAction"):
        assert name in lfsplug.__all__ and getattr(lfsplug, name) is not None
    for name in ("record_to_json", "record_from_json", "record_from_data"):  # the state codec's
        assert name not in lfsplug.__all__ and not hasattr(lfsplug, name)
