"""A script's test results: the suites its log holds, set against the failures known for its
package, and against the last run that tested it (what started failing, what was fixed)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from lfsplug_tests.known import KnownFailure
from lfsplug_tests.parsers import OUTCOMES, Summary

__all__ = ["TEST_COMMAND", "Tally", "has_test_phase", "tally"]

#: The commands that run a package's test suite, as scripts write them.
TEST_COMMAND = re.compile(
    r"(?:^|[\s;&|({\"'])(?:"
    r"make\b[^\n#]*?\s(?:check|tests?)(?:[-_][\w.-]+)?(?=[\s;&|)\"'\\]|$)"
    r"|ninja\b[^\n#]*\stest\b|meson\s+test\b|ctest\b|prove\b"
    r"|python3?\s+-m\s+(?:unittest|pytest)\b|\./run[-_]?tests?\b|\./runtest\b)",
    re.M)
_COMMENT = re.compile(r"(?:^|(?<=\s))#.*$", re.M)
#: The book plugin's line for a test command that exited non-zero (the build goes on).
BOOK_FAILED = "lfsplug: test suite failed (exit "


def has_test_phase(text: str) -> str | None:
    """The first command of ``text`` (a script) that runs a test suite, or None; comments
    (the book's tests that are off) do not count."""
    match = TEST_COMMAND.search(_COMMENT.sub("", text))
    return " ".join(match.group(0).split()) if match else None


@dataclass
class Tally:
    """What a script's test suites did: the ``tests`` of ``status --json``."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    #: the failures no known failure explains (names; ``N unnamed`` for a count without names)
    failed: list[str] = field(default_factory=list)
    #: the failures a known failure explains, and where each expectation comes from
    expected_failed: list[str] = field(default_factory=list)
    because: dict[str, str] = field(default_factory=dict)
    unexpected: int = 0
    expected: int = 0
    suites: list[dict[str, Any]] = field(default_factory=list)
    #: test commands that exited non-zero, as the book plugin's scripts say them
    commands_failed: list[str] = field(default_factory=list)
    started_failing: list[str] = field(default_factory=list)
    fixed: list[str] = field(default_factory=list)
    previous_run: int | None = None

    @property
    def any(self) -> bool:
        return bool(self.suites)

    def to_dict(self) -> dict[str, Any]:
        counts = self.counts
        return {
            "pass": counts["pass"] + counts["xpass"],
            "fail": self.unexpected,
            "expected": self.expected,
            "skip": counts["skip"],
            "error": counts["error"],
            "xpass": counts["xpass"],
            "failed": list(self.failed),
            "expected_failed": list(self.expected_failed),
            "because": dict(self.because),
            "suites": list(self.suites),
            "commands_failed": list(self.commands_failed),
            "started_failing": list(self.started_failing),
            "fixed": list(self.fixed),
            "previous_run": self.previous_run,
        }

    def line(self) -> str:
        """``tests: 120 passed, 2 failed (a, b), 3 expected, 4 skipped``."""
        words = [f"{self.counts['pass'] + self.counts['xpass']} passed"]
        if self.unexpected:
            shown = ", ".join(self.failed[:3]) + (", ..." if len(self.failed) > 3 else "")
            words.append(f"{self.unexpected} failed ({shown})")
        if self.expected:
            words.append(f"{self.expected} expected to fail")
        for key, said in (("skip", "skipped"), ("error", "errors")):
            if self.counts[key]:
                words.append(f"{self.counts[key]} {said}")
        return "tests: " + ", ".join(words)


def tally(summaries: Sequence[Summary], known: Iterable[KnownFailure],
          lines: Sequence[str] = ()) -> Tally:
    """Add up ``summaries`` and sort their failures into known and unknown."""
    result = Tally()
    known = list(known)
    named_fail = []
    for summary in summaries:
        for key in OUTCOMES:
            result.counts[key] += summary.counts.get(key, 0)
        result.suites.append({"framework": summary.framework, "suite": summary.suite,
                              "counts": {k: summary.counts.get(k, 0) for k in OUTCOMES}})
        named_fail += [c.name for c in summary.cases if c.outcome == "fail"]
    for name in dict.fromkeys(named_fail):
        expectation = next((k for k in known if k.matches(name)), None)
        if expectation is None:
            result.failed.append(name)
        else:
            result.expected_failed.append(name)
            result.because[name] = expectation.source or f"known for {expectation.package}"
    unnamed = max(result.counts["fail"] - len(named_fail), 0)
    budget = sum(k.count for k in known if k.count and not k.tests)
    excused = min(unnamed, budget)
    if unnamed - excused:
        result.failed.append(f"{unnamed - excused} unnamed")
    if excused:
        sources = "; ".join(k.source for k in known if k.count and not k.tests and k.source)
        result.because[f"{excused} unnamed"] = sources
    result.unexpected = len([n for n in result.failed if not n.endswith(" unnamed")]) + (
        unnamed - excused)
    result.expected = len(result.expected_failed) + excused + result.counts["xfail"]
    result.commands_failed = [line.split("): ", 1)[-1] for line in lines
                              if line.startswith(BOOK_FAILED)]
    return result


def trend(current: Tally, previous: Mapping[str, Any] | None, run_id: int | None) -> None:
    """Name the tests that fail now and did not in ``previous`` (the ``tests`` of the last run
    that tested the script), and those that failed then and pass now."""
    if previous is None:
        return
    before = {*previous.get("failed", []), *previous.get("expected_failed", [])}
    now = {*current.failed, *current.expected_failed}
    current.started_failing = sorted(n for n in now - before if not n.endswith(" unnamed"))
    current.fixed = sorted(n for n in before - now if not n.endswith(" unnamed"))
    current.previous_run = run_id
