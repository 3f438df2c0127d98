"""Metadata: the contract's keys, merging sources by priority, errors with file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lfsplug import MetaSource, Origin, Requirement, Script, Severity
from lfsplug._config import KEYS, apply_metadata, split_list
from lfsplug_discovery import parse_header


def make_script() -> Script:
    return Script(name="file-name", path=Path("/t/01-x.sh"), root=Path("/t"))


def test_header_wins_over_lower_priorities() -> None:
    script = make_script()
    findings = apply_metadata(script, [
        MetaSource("file name", {"name": "from-file", "version": "1"}, MetaSource.FILENAME),
        MetaSource("# lfsplug: header", {"name": "binutils-pass1"}, MetaSource.HEADER,
                   {"name": 3}),
        MetaSource("jhalfs", {"name": "jh", "version": "2.44", "phase": "cross"}),
    ])
    assert findings == []
    assert (script.name, script.version, script.phase) == ("binutils-pass1", "2.44", "cross")
    assert script.origins["name"] == Origin("# lfsplug: header", line=3)
    assert str(script.origins["name"]) == "# lfsplug: header line 3"
    assert script.origins["version"] == Origin("jhalfs")


def test_conversions() -> None:
    script = make_script()
    apply_metadata(script, [MetaSource("h", {
        "depends": "linux-headers, glibc>=2.39", "provides": "binutils", "timeout": "3600",
        "sbu": "1.5", "chroot": "yes", "user": "lfs", "disable": "LFS001,SYN001",
        "after": "a, b", "recommends": "x<2",
    })])
    assert script.depends == [Requirement("linux-headers"), Requirement("glibc", ">=", "2.39")]
    assert script.provides == ["binutils"]
    assert (script.timeout, script.sbu, script.chroot, script.user) == (3600.0, 1.5, True, "lfs")
    assert script.disable == {"LFS001", "SYN001"}
    assert script.after == ["a", "b"]
    assert script.recommends == [Requirement("x", "<", "2")]


@pytest.mark.parametrize(("key", "value"), [
    ("timeout", "soon"), ("timeout", "-1"), ("sbu", "0"), ("chroot", "maybe"),
    ("depends", "a>="), ("name", "two words"), ("provides", "x>=1"),
])
def test_bad_values_are_errors_with_line(key: str, value: str) -> None:
    script = make_script()
    findings = apply_metadata(script, [MetaSource("h", {key: value}, lines={key: 7})])
    assert [(f.code, f.severity, f.line) for f in findings] == [("META001", Severity.ERROR, 7)]
    assert key in findings[0].message


def test_a_bad_value_from_another_file_is_reported_at_that_files_line() -> None:
    script = make_script()
    findings = apply_metadata(script, [MetaSource(
        "package list packages.sh", {"version": "1 2"}, MetaSource.FILENAME,
        {"version": 4}, path="/t/packages.sh")])
    assert [(f.code, f.path, f.line) for f in findings] == [("META001", "/t/packages.sh", 4)]


def test_unknown_key_is_kept_with_a_hint() -> None:
    script = make_script()
    findings = apply_metadata(script, [MetaSource("h", {"depnds": "x", "target": "arm"})])
    assert script.meta == {"depnds": "x", "target": "arm"}
    hints = {f.message: f.hint for f in findings}
    assert hints["unknown metadata key 'depnds'"] == "did you mean depends=?"
    assert all(f.severity is Severity.WARNING for f in findings)


def test_requirement_parse_and_str() -> None:
    assert Requirement.parse(" glibc >= 2.39 ") == Requirement("glibc", ">=", "2.39")
    assert Requirement.parse("a==1") == Requirement("a", "=", "1")
    assert str(Requirement("glibc", ">=", "2.39")) == "glibc>=2.39"
    with pytest.raises(ValueError, match="not a requirement"):
        Requirement.parse("a b")


names = st.from_regex(r"[a-z][a-z0-9+_-]{0,10}", fullmatch=True)
values = st.from_regex(r"[A-Za-z0-9.+_-]{1,8}(, [A-Za-z0-9.+_-]{1,8}){0,3}", fullmatch=True)


@given(st.dictionaries(st.sampled_from(sorted(KEYS)), values, min_size=1, max_size=6))
def test_header_round_trip(pairs: dict[str, str]) -> None:
    """Whatever key=value pairs are written into header lines come back, with their lines."""
    items = list(pairs.items())
    lines = ["#!/bin/bash"]
    for i in range(0, len(items), 2):
        lines.append("# lfsplug: " + " ".join(f"{k}={v}" for k, v in items[i:i + 2]))
    parsed, where = parse_header(lines)
    assert parsed == pairs
    assert all(lines[where[k] - 1].count(f"{k}=") == 1 for k in pairs)


@given(st.lists(names, max_size=6))
def test_split_list(items: list[str]) -> None:
    assert split_list(" , ".join(items)) == items
