"""Version order: ours must agree with GNU ``sort -V``, which LFS builders know."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lfsplug._kinds import compare, extract, satisfies, version_key

SORT = shutil.which("sort")
needs_sort = pytest.mark.skipif(SORT is None, reason="GNU sort is not installed")


def gnu_sort_v(items: list[str]) -> list[str]:
    assert SORT is not None
    proc = subprocess.run([SORT, "-V"], input="\n".join(items) + "\n", capture_output=True,
                          text=True, check=True, env={"LC_ALL": "C"})
    return proc.stdout.splitlines()


@pytest.mark.parametrize(("low", "high"), [
    ("6.5", "6.48"), ("1.4.9", "1.4.10"), ("1.4.10", "1.4.19"), ("2.5.1", "2.5.1a"),
    ("1.0~rc1", "1.0"), ("6.4-20230520", "6.5"), ("9.1p1", "9.8p1"), ("2-x", "10-y"),
    ("a.05.03.GCC-13.2.0-Pass1.sh", "a.05.04.Linux-6.7.4-API-Headers.sh"),
])
def test_known_orders(low: str, high: str) -> None:
    assert compare(low, high) == -1
    assert compare(high, low) == 1
    assert compare(low, low) == 0


@needs_sort
def test_lfs_like_names_agree_with_sort() -> None:
    names = ["6.48-y.sh", "6.5-x.sh", "10-b", "2-a", "chapter10", "chapter5", "1.0", "1.0~rc1",
             "1.0a", "1.0.1", "gcc-13.2.0", "gcc-13.10.0", "001-a", "01-b", "1-c"]
    assert sorted(names, key=version_key) == gnu_sort_v(names)


version_text = st.text(alphabet="0123456789.-~abzAZ_+", min_size=1, max_size=12)
file_names = st.text(alphabet="0123456789.-~abzAZ_+", min_size=0, max_size=12)


@needs_sort
@settings(max_examples=300, deadline=None)
@given(st.lists(file_names, min_size=2, max_size=8, unique=True))
def test_agrees_with_gnu_sort_v(items: list[str]) -> None:
    """File suffixes, leading dots, tildes and all: the same order as GNU sort -V."""
    assert sorted(items, key=version_key) == gnu_sort_v(items)


@needs_sort
@pytest.mark.parametrize("items", [["0A", "0.A"], ["x.1", "x.sh", "x"], [".", "..", ".a", "a"],
                                   ["a-1.tar.gz", "a.tar.gz", "a"], ["", "~", "0"],
                                   [".0", ".A"], [".a0", ".aA"], ["a.0", "a.A"], [".1", ".a"]])
def test_file_name_rules_of_sort_v(items: list[str]) -> None:
    assert sorted(items, key=version_key) == gnu_sort_v(items)


@given(version_text, version_text, version_text)
def test_total_order(a: str, b: str, c: str) -> None:
    assert compare(a, b) == -compare(b, a)
    if compare(a, b) <= 0 and compare(b, c) <= 0:
        assert compare(a, c) <= 0


@pytest.mark.parametrize(("version", "op", "required", "ok"), [
    ("2.39", ">=", "2.39", True), ("2.38", ">=", "2.39", False), ("2.40", ">", "2.39", True),
    ("1.01", "=", "1.1", True), ("4.3", "<", "4.10", True), ("2.5.1a", ">", "2.5.1", True),
    ("6.4-20230520", ">=", "6.4", True), ("9.1p1", "<=", "9.1p1", True),
])
def test_satisfies(version: str, op: str, required: str, ok: bool) -> None:
    assert satisfies(version, op, required) is ok


def test_satisfies_rejects_unknown_operator() -> None:
    with pytest.raises(ValueError, match="unknown version operator"):
        satisfies("1", "~=", "1")


@pytest.mark.parametrize(("text", "version"), [
    ("GNU Make 4.3", "4.3"), ("bash, version 5.2.15(1)-release", "5.2.15"),
    ("gzip 1.12", "1.12"), ("xz (XZ Utils) 5.4.1", "5.4.1"), ("m4 (GNU M4) 1.4.19", "1.4.19"),
    ("Python 3.11.7", "3.11.7"), ("patch 2.7.6", "2.7.6"), ("sed (GNU sed) 4.9", "4.9"),
    ("no version here", None),
])
def test_extract(text: str, version: str | None) -> None:
    assert extract(text) == version
