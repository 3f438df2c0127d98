"""Known test failures: the ones the LFS book expects (shipped as
``data/lfs-book-known-failures.toml``) and the ones a user declares in ``[tests.known_failures]``,
so that a report can tell an expected failure from a new one and say where the expectation
comes from."""

from __future__ import annotations

import fnmatch
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["BOOK_DATA", "KnownFailure", "book_known_failures", "book_version", "from_config"]

#: The shipped file of the book's known failures, in this package's ``data`` folder.
BOOK_DATA = "lfs-book-known-failures.toml"
#: What may come before a name in a longer name a suite prints (``test/recipes/30-test_afalg.t``,
#: ``223: capabilities: ...``, ``FAIL: io/tst-lchmod``).
_SEPARATORS = "[/: ]"


@dataclass(frozen=True)
class KnownFailure:
    """Tests of one package that are expected to fail, and where that expectation comes from."""

    package: str
    #: Test names or fnmatch patterns, as the suite prints them.
    tests: tuple[str, ...]
    #: How many tests fail when the source gives a number rather than names (0 otherwise).
    count: int = 0
    #: When they fail ("in the chroot environment"), "" when always.
    condition: str = ""
    #: Where the expectation comes from, for reports.
    source: str = ""
    #: The book's page that says so (``chapter08/glibc.xml``), "" for others.
    page: str = ""

    def matches(self, test_name: str) -> bool:
        """Whether ``test_name`` is one of these tests: equal to a name, matched by a pattern,
        or a longer name that ends in one after a ``/``, ``:`` or space."""
        name = " ".join(test_name.split())
        return any(_matches(name, pattern) for pattern in self.tests)


def _matches(name: str, pattern: str) -> bool:
    return (name == pattern or fnmatch.fnmatchcase(name, pattern)
            or fnmatch.fnmatchcase(name, f"*{_SEPARATORS}{pattern}"))


@cache
def _book() -> dict[str, Any]:
    text = resources.files("lfsplug_tests").joinpath("data", BOOK_DATA).read_text("utf-8")
    return tomllib.loads(text)


def book_version() -> str:
    """The edition of the book the shipped failures were read from, e.g. ``LFS development
    (after 12.3, ...)``."""
    book = _book()["book"]
    return f"{book['name']} {book['version']}"


def _from_book(entry: Mapping[str, Any]) -> KnownFailure:
    return KnownFailure(package=entry["package"], tests=tuple(entry["tests"]),
                        count=entry.get("count", 0), condition=entry.get("condition", ""),
                        source=f"LFS book {entry['page']}: {entry['sentence']}",
                        page=entry["page"])


@cache
def _book_failures() -> tuple[KnownFailure, ...]:
    return tuple(_from_book(entry) for entry in _book().get("failure", []))


def book_known_failures() -> dict[str, list[KnownFailure]]:
    """The failures the book expects, by package (a fresh dict: callers may change it)."""
    found: dict[str, list[KnownFailure]] = {}
    for failure in _book_failures():
        found.setdefault(failure.package, []).append(failure)
    return found


def _names(package: str, value: object) -> tuple[str, ...]:
    where = f"[tests.known_failures] {package}"
    if not isinstance(value, list):
        raise ValueError(f"{where}: expected a list of test names, got {value!r}")
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise ValueError(f"{where}: {item!r} is not a test name (a non-empty string)")
    return tuple(" ".join(item.split()) for item in value)


def from_config(table: Mapping[str, object]) -> dict[str, list[KnownFailure]]:
    """The user's ``[tests.known_failures]`` (``package = ["test name or pattern", ...]``), by
    package; a bad value raises ValueError naming the package and the item."""
    found: dict[str, list[KnownFailure]] = {}
    for package, value in table.items():
        if not package.strip():
            raise ValueError(f"[tests.known_failures]: {package!r} is not a package name")
        tests = _names(package, value)
        source = f"configuration [tests.known_failures] {package}"
        found[package] = [KnownFailure(package, tests, source=source)] if tests else []
    return found
