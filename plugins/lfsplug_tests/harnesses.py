"""Test suites with a harness of their own, read whole: gawk's (and suites written like it)
print each test's name inside ``======== Starting basic tests ========`` banners, a
``cmp`` line for each output that differs from the expected one, and ``ALL TESTS PASSED`` or
``N TESTS FAILED`` at the end."""

from __future__ import annotations

import re
from collections.abc import Sequence

from lfsplug_tests.parsers import Summary, TestCase, clean_line, empty_counts

__all__ = ["banner_suites"]

_START = re.compile(r"^=+ Starting (.+?) tests =+$")
_DONE = re.compile(r"^=+ Done with (.+?) tests =+$")
_TOTAL = re.compile(r"^(?:ALL TESTS PASSED|(\d+) TESTS? FAILED)$")
#: ``cmp``'s line for a test whose output differs (``./foo.ok _foo differ: byte 3, line 1``),
#: or ends early (``cmp: EOF on _foo``)
_DIFFER = re.compile(r"^\S*?\.ok _([\w.+-]+) differ\b|^cmp: EOF on _([\w.+-]+)")
_NAME = re.compile(r"^[\w.+-]+$")


def banner_suites(lines: Sequence[str]) -> list[Summary]:
    """The gawk-style suites of a log: each test named in a banner block, failed when
    ``cmp`` said its output differs, counted against the closing line."""
    found: list[Summary] = []
    names: list[tuple[str, str]] = []
    failed: list[str] = []
    suite: str | None = None
    first = -1
    for index, raw in enumerate(lines):
        if not raw or (raw[0] not in "=ACc0123456789./" and " differ" not in raw):
            if suite is not None and raw and _NAME.match(raw.strip()):
                names.append((suite, raw.strip()))
            continue
        line = clean_line(raw).strip()
        start = _START.match(line)
        if start:
            suite, first = start.group(1), first if first >= 0 else index
            continue
        if _DONE.match(line):
            suite = None
            continue
        differ = _DIFFER.match(line)
        if differ:
            failed.append(differ.group(1) or differ.group(2))
            continue
        total = _TOTAL.match(line)
        if total and first >= 0:
            found.append(_summary(names, failed, int(total.group(1) or 0), first, index))
            names, failed, first, suite = [], [], -1, None
        elif suite is not None and _NAME.match(line):
            names.append((suite, line))
    return found


def _summary(names: list[tuple[str, str]], failed: list[str], said: int, first: int,
             last: int) -> Summary:
    broken = set(failed)
    cases = [TestCase(name, "fail" if name in broken else "pass", suite)
             for suite, name in names]
    cases += [TestCase(name, "fail") for name in dict.fromkeys(failed)
              if name not in {n for _s, n in names}]
    counts = empty_counts()
    counts["fail"] = max(said, len(broken))
    counts["pass"] = max(len(cases) - counts["fail"], 0)
    counts["total"] = counts["pass"] + counts["fail"]
    return Summary("gawk", counts, cases, None, first, last)
