"""Read the output of package test suites, as the real harnesses print it.

Pure functions over lines of text, for a plugin that records test results per build script,
shows live counts and writes JUnit test cases. Supported: automake (parallel and serial
harness), DejaGnu (gcc, binutils, gdb), glibc ``make check`` and ``tests.sum``, ``meson test``,
Perl's Test::Harness and ``t/TEST``, Python unittest and plain TAP.

Counts come from a harness's own summary lines when it prints them; names come from the
per-test lines. One pass over the lines, a cheap first-character dispatch before any regex;
unknown text is ignored and no input raises.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

__all__ = ["OUTCOMES", "LiveCounter", "Summary", "TestCase", "clean_line", "parse"]

OUTCOMES = ("pass", "fail", "xfail", "xpass", "skip", "error")

# Lines between two lines of one summary block before the block is taken as finished.
_GAP = 40


@dataclass(frozen=True)
class TestCase:
    """One test's result, as one per-test line reported it."""

    __test__ = False  # not a pytest test class

    name: str
    outcome: str
    suite: str | None = None
    detail: str | None = None


@dataclass
class Summary:
    """One test suite's results: its counts, its per-test cases and where it sits in the log."""

    framework: str
    counts: dict[str, int]
    cases: list[TestCase]
    suite: str | None
    first_line: int
    last_line: int


def empty_counts() -> dict[str, int]:
    """A counts mapping with every outcome and ``total`` at zero."""
    return dict.fromkeys((*OUTCOMES, "total"), 0)


_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[()][0-9A-Za-z]|[=>78])")


def clean_line(line: str) -> str:
    """The text a terminal would show: colours removed, only what follows the last ``\\r``."""
    if "\x1b" in line:
        line = _ANSI.sub("", line)
    if "\r" in line:
        line = line.rstrip("\r\n").rpartition("\r")[2]
    return line.strip()


# ---------------------------------------------------------------------------- per-test lines

_COLON = {"PASS": "pass", "FAIL": "fail", "XFAIL": "xfail", "XPASS": "xpass", "SKIP": "skip",
          "ERROR": "error", "UNSUPPORTED": "skip", "UNTESTED": "skip", "UNRESOLVED": "error",
          "KFAIL": "xfail", "KPASS": "xpass"}
_MESON_RESULTS = {"OK": "pass", "FAIL": "fail", "SKIP": "skip", "EXPECTEDFAIL": "xfail",
                  "UNEXPECTEDPASS": "xpass", "TIMEOUT": "fail", "ERROR": "error",
                  "INTERRUPT": "error"}
_MESON_CASE = re.compile(r"(\d+)/(\d+) +(.+?) +(OK|FAIL|SKIP|EXPECTEDFAIL|UNEXPECTEDPASS|"
                         r"TIMEOUT|ERROR|INTERRUPT) +\d+(?:\.\d+)? ?s\b\s*(.*)")
_UNITTEST_RESULT = r" \.\.\. (ok|FAIL|ERROR|skipped(?: (.*))?|expected failure|unexpected success)"
_UNITTEST_CASE = re.compile(r"(\S+) \(([^()\s]+)\)(?: .*?)?" + _UNITTEST_RESULT)
_UNITTEST_NAME = re.compile(r"(\S+) \(([^()\s]+)\)")
_UNITTEST_DOC = re.compile(r".*?" + _UNITTEST_RESULT)
_UNITTEST_OUTCOMES = {"ok": "pass", "FAIL": "fail", "ERROR": "error", "expected failure": "xfail",
                      "unexpected success": "xpass"}
_PERL_FILE = re.compile(r"(?:\[[\d:]+\]\s+)?(\S+) \.{2,}(?: +(.*))?")
_PERL_RESULT = re.compile(r"(ok)\b\s*(.*)|(skip\w*)\b:?\s*(.*)|"
                          r"((?:Failed|FAILED|Dubious|No subtests run|Parse errors)\b.*)")
_TAP_CASE = re.compile(r"(not )?ok (\d+)\b(?:\s*-)?\s*([^#]*?)"
                       r"\s*(?:#\s*((?i:todo|skip))\S*\s*(.*))?")
_SEPARATOR = "=" * 70  # unittest's rule before each "FAIL: test (Class)" detail block


class _CaseReader:
    """Recognises per-test result lines of every supported harness; keeps the little state
    some of them need (a Perl file whose result follows later, unittest's failure details,
    meson's repeated "Summary of Failures")."""

    def __init__(self) -> None:
        self.unittest_active = False
        self.meson_repeats = False
        self.perl_open: str | None = None
        self.unittest_name: tuple[str, str] | None = None
        self.after_separator = False

    def read(self, s: str) -> tuple[str, str, TestCase] | None:
        """(family, token, case) for a per-test line (already cleaned), else None."""
        found = self._read(s)
        self.after_separator = s == _SEPARATOR
        return found

    def _read(self, s: str) -> tuple[str, str, TestCase] | None:  # noqa: PLR0911
        c = s[0]
        if c.isupper():
            if s.startswith("Bail out!"):
                return "tap", "BAIL", TestCase("Bail out!", "error", detail=s[9:].strip() or None)
            found = self._colon(s)
            if found is not None or self.after_separator:
                return found
            self._state(s)
        elif c.isdigit() and "/" in s[:12]:
            found = self._meson(s)
            if found is not None:
                return found
        elif c in "on" and s.startswith(("ok ", "not ok ")):
            return self._tap(s)
        if self.perl_open is not None:
            found = self._perl_result(self.perl_open, s)
            if found is not None:
                return found
        if " .." in s:
            return self._dotted(s)
        if s[-1] == ")" and " (" in s:
            m = _UNITTEST_NAME.fullmatch(s)
            self.unittest_name = (m[1], m[2]) if m else None
        return None

    def _state(self, s: str) -> None:
        """Lines that end unittest's details or start meson's repeated failures."""
        if s.startswith("Ran "):
            self.unittest_active = False
        elif s.startswith("Summary of Failures"):
            self.meson_repeats = True
        elif s.startswith("Ok:"):
            self.meson_repeats = False

    def _colon(self, s: str) -> tuple[str, str, TestCase] | None:
        i = s.find(": ", 3, 13)
        if i < 0:
            return None
        token = s[:i]
        outcome = _COLON.get(token)
        name = s[i + 2:].strip()
        if outcome is None or not name:
            return None
        if self.after_separator or (self.unittest_active and token in ("FAIL", "ERROR")):
            return None  # unittest's detail header repeats a test already reported
        return "colon", token, TestCase(name, outcome)

    def _meson(self, s: str) -> tuple[str, str, TestCase] | None:
        m = _MESON_CASE.fullmatch(s)
        if m is None or self.meson_repeats:
            return None
        suite, sep, name = m[3].partition(" / ")
        if not sep:
            suite, name = "", m[3]
        detail = m[5].strip() or ("timeout" if m[4] == "TIMEOUT" else None)
        case = TestCase(name.strip(), _MESON_RESULTS[m[4]], suite.strip() or None, detail)
        return "meson", m[4], case

    def _tap(self, s: str) -> tuple[str, str, TestCase] | None:
        m = _TAP_CASE.fullmatch(s)
        if m is None:
            return None
        ok = m[1] is None
        directive = (m[4] or "").lower()
        if directive == "todo":
            outcome = "xpass" if ok else "xfail"
        elif directive == "skip" and ok:
            outcome = "skip"
        else:
            outcome = "pass" if ok else "fail"
        name = m[3] or f"test {m[2]}"
        return "tap", "ok" if ok else "not ok", TestCase(name, outcome, detail=m[5] or None)

    def _dotted(self, s: str) -> tuple[str, str, TestCase] | None:
        if " ... " in s:
            m = _UNITTEST_CASE.fullmatch(s)
            if m is not None:
                return self._unittest(m[1], m[2], m[3], m[4])
            if self.unittest_name is not None:
                m = _UNITTEST_DOC.fullmatch(s)
                if m is not None:
                    name, suite = self.unittest_name
                    return self._unittest(name, suite, m[1], m[2])
        m = _PERL_FILE.fullmatch(s)
        if m is None:
            return None
        name = m[1]
        if "/" not in name and not name.endswith(".t"):
            return None
        self.perl_open = name
        return self._perl_result(name, m[2] or "")

    def _unittest(self, name: str, suite: str, result: str,
                  reason: str | None) -> tuple[str, str, TestCase]:
        self.unittest_active = True
        self.unittest_name = None
        suite = suite.removesuffix("." + name)  # Python 3.11 prints "mod.Class.test_x"
        outcome = "skip" if result.startswith("skipped") else _UNITTEST_OUTCOMES[result]
        detail = reason.strip("'\"") if reason else None
        return "unittest", result, TestCase(name, outcome, suite, detail)

    def _perl_result(self, name: str, result: str) -> tuple[str, str, TestCase] | None:
        m = _PERL_RESULT.fullmatch(result) if result else None
        if m is None:
            return None  # a progress count ("1/5") or diagnostics: the result comes later
        self.perl_open = None
        if m[1]:
            return "perl", "ok", TestCase(name, "pass", detail=m[2] or None)
        if m[3]:
            return "perl", "skipped", TestCase(name, "skip", detail=m[4] or None)
        return "perl", "failed", TestCase(name, "fail", detail=m[5])


# ------------------------------------------------------------------------------ summaries

_AUTOMAKE_COUNT = re.compile(r"# (TOTAL|PASS|SKIP|XFAIL|FAIL|XPASS|ERROR): *(\d+)")
_DEJAGNU_COUNT = re.compile(r"# of ([a-z ]+?)\s+(\d+)")
_DEJAGNU_FIELDS = {"expected passes": "pass", "unexpected failures": "fail",
                   "unexpected successes": "xpass", "expected failures": "xfail",
                   "unknown successes": "xpass", "known failures": "xfail",
                   "unresolved testcases": "error", "untested testcases": "skip",
                   "unsupported tests": "skip"}
_DEJAGNU_TITLE = re.compile(r"=== (\S+) (tests|Summary)(?: for (.+?))? ===")
_GLIBC_COUNT = re.compile(r"(\d+) ([A-Z]+)")
_MESON_COUNT = re.compile(r"(Ok|Expected Fail|Fail|Unexpected Pass|Skipped|Timeout|"
                          r"Interrupt|Error):\s+(\d+)")
_MESON_FIELDS = {"Ok": "pass", "Expected Fail": "xfail", "Fail": "fail",
                 "Unexpected Pass": "xpass", "Skipped": "skip", "Timeout": "fail",
                 "Interrupt": "error", "Error": "error"}
_UNITTEST_RAN = re.compile(r"Ran (\d+) tests? in [\d.]+s")
_UNITTEST_STATUS = re.compile(r"(OK|FAILED|NO TESTS RAN)(?: \((.*)\))?")
_UNITTEST_FIELDS = {"failures": "fail", "errors": "error", "skipped": "skip",
                    "expected failures": "xfail", "unexpected successes": "xpass"}
_NOT_RUN = r"\((\d+) tests? (?:was|were) not run\)"
_SERIAL_OK = re.compile(r"(?:All )?(\d+) tests? (?:passed|behaved as expected "
                        r"\((\d+) expected failures?\))(?: " + _NOT_RUN + ")?")
_SERIAL_BAD = re.compile(r"(\d+) of (\d+) tests? (?:failed|did not behave as expected "
                         r"\((\d+) unexpected pass(?:es)?\))(?: " + _NOT_RUN + ")?")
_SERIAL_SKIPPED = re.compile(_NOT_RUN)
_PERL_PROGRAMS = re.compile(r"Failed (\d+)/(\d+) test (?:programs|scripts)\b.*")
_PERL_CORE_FAILED = re.compile(r"Failed (\d+) tests? out of (\d+), .*okay\.")
_PERL_FILES = re.compile(r"Files=(\d+), +Tests=(\d+)\b.*")
_PERL_SCRIPTS = re.compile(r"u=.*\bscripts=(\d+) +tests=(\d+)")
_AUTOMAKE_TAIL = ("See ", "Please report", "Some test(s) failed", "together with",
                  "information.")


@dataclass
class _Block:
    """A summary being read: its harness, where it started, the numbers seen so far."""

    framework: str
    start: int
    last: int
    suite: str | None = None
    fields: dict[str, int] = field(default_factory=dict)
    done: bool = False
    variation: str | None = None

    def add(self, key: str, n: int) -> None:
        self.fields[key] = self.fields.get(key, 0) + n


_FAMILY = {"automake": "colon", "automake-serial": "colon", "dejagnu": "colon",
           "glibc": "colon", "meson": "meson", "perl": "perl", "unittest": "unittest",
           "tap": "tap"}


def _count_cases(cases: Iterable[TestCase]) -> dict[str, int]:
    counts = empty_counts()
    for case in cases:
        counts[case.outcome] += 1
        counts["total"] += 1
    return counts


def _summed(fields: dict[str, int]) -> dict[str, int]:
    counts = empty_counts()
    for key in OUTCOMES:
        counts[key] = fields.get(key, 0)
    counts["total"] = fields.get("total", sum(counts[k] for k in OUTCOMES))
    return counts


def _unittest_counts(fields: dict[str, int], cases: list[TestCase]) -> dict[str, int]:
    counts = _summed(fields) if "status" in fields else _count_cases(cases)
    counts["total"] = fields.get("total", counts["total"])
    counts["pass"] = max(0, counts["total"] - sum(counts[k] for k in OUTCOMES[1:]))
    return counts


def _serial_counts(fields: dict[str, int], cases: list[TestCase]) -> dict[str, int]:
    ran, failed = fields.get("all", 0), fields.get("failed", 0)
    seen = _count_cases(cases)
    if seen["total"] - seen["skip"] == ran and seen["fail"] + seen["xpass"] == failed:
        seen["skip"] = max(seen["skip"], fields.get("skip", 0))
        seen["total"] = ran + seen["skip"]
        return seen  # the per-test lines agree with the banner and say more
    xpass, xfail = fields.get("xpass", 0), fields.get("xfail", 0)
    return _summed({"pass": max(0, ran - failed - xfail), "fail": failed - xpass,
                    "xpass": xpass, "xfail": xfail, "skip": fields.get("skip", 0)})


def _perl_counts(fields: dict[str, int], cases: list[TestCase]) -> dict[str, int]:
    seen = _count_cases(cases)
    counts = empty_counts()
    counts["skip"] = seen["skip"]
    if "failed" in fields:
        counts["fail"] = fields["failed"]
    elif "successful" not in fields:
        counts["fail"] = seen["fail"]
    if "programs" in fields:  # Test::Harness counts skipped programs in its total
        counts["total"] = fields["programs"]
    elif "scripts" in fields:  # t/TEST leaves skipped scripts out
        counts["total"] = fields["scripts"] + counts["skip"]
    else:
        counts["total"] = max(seen["total"], counts["fail"] + counts["skip"])
    counts["pass"] = max(0, counts["total"] - counts["fail"] - counts["skip"])
    return counts


def _block_counts(block: _Block, cases: list[TestCase]) -> dict[str, int]:
    if block.framework == "unittest":
        return _unittest_counts(block.fields, cases)
    if block.framework == "automake-serial":
        return _serial_counts(block.fields, cases)
    if block.framework == "perl":
        return _perl_counts(block.fields, cases)
    if not block.fields:
        return _count_cases(cases)
    return _summed(block.fields)


class _LogParser:
    """One pass over a log: per-test cases wait in a pending list per harness family until
    the summary block that closes them is read."""

    def __init__(self) -> None:
        self.reader = _CaseReader()
        self.pending: dict[str, list[tuple[int, str, TestCase]]] = {}
        self.block: _Block | None = None
        self.results: list[Summary] = []
        self.dejagnu_tool: tuple[str, int] | None = None
        self.variations: dict[str, list[Summary]] = {}
        self.tap_plan: int | None = None

    def run(self, lines: Sequence[str]) -> list[Summary]:
        for i, raw in enumerate(lines):
            s = clean_line(raw) if isinstance(raw, str) else ""
            if s:
                self.line(i, s, raw[0] in " \t")
        self.finish()
        self.results.sort(key=lambda summary: summary.first_line)
        return self.results

    def line(self, i: int, s: str, indented: bool) -> None:
        found = self.reader.read(s)
        if found is not None:
            family, token, case = found
            self.close_block()
            self.pending.setdefault(family, []).append((i, token, case))
            plan = self.tap_plan if family == "tap" else None
            if plan is not None and len(self.pending["tap"]) >= plan:
                self.emit(_Block("tap", i, i), "tap")
            return
        block = self.block
        if self.summary_line(i, s, indented):
            if self.block is not None:
                self.block.last = i
        elif block is not None and block is self.block and (block.done or i - block.last > _GAP):
            self.close_block()

    def open(self, framework: str, i: int, suite: str | None = None) -> _Block:
        self.close_block()
        self.block = _Block(framework, i, i, suite)
        return self.block

    def current(self, framework: str, i: int) -> _Block:
        """The open block of this harness, or a new one when its title line was lost."""
        if self.block is not None and self.block.framework == framework:
            return self.block
        suite = self.dejagnu_tool[0] if framework == "dejagnu" and self.dejagnu_tool else None
        return self.open(framework, i, suite)

    def summary_line(self, i: int, s: str, indented: bool) -> bool:  # noqa: PLR0911, PLR0912
        """Read a line of a summary block; True when it was one."""
        c = s[0]
        block = self.block
        kind = block.framework if block is not None else None
        if c == "#":
            if s.startswith("# of "):
                return self.dejagnu_count(i, s)
            if kind == "perl" and s.startswith("###"):
                return True
            return self.automake_count(i, s)
        if c == "=":
            return self.rule(i, s)
        if c.isdigit():
            return self.digits(i, s, kind)
        if kind == "perl" and (indented or s.startswith(("---", "Elapsed:"))
                               or "(Wstat:" in s):
            if s.startswith("u="):
                return self.perl_line(i, s)
            return True
        if kind == "automake" and block is not None and block.done:
            return s.startswith(_AUTOMAKE_TAIL)
        if kind == "automake-serial" and s.startswith("Please report"):
            return True
        if c == "(" and kind == "automake-serial" and block is not None:
            m = _SERIAL_SKIPPED.fullmatch(s)
            if m:
                block.add("skip", int(m[1]))
            return m is not None
        if s.startswith("Testsuite summary"):
            suite = s[len("Testsuite summary"):].strip().removeprefix("for ").strip()
            self.open("automake", i, suite or None)
            return True
        if s.startswith("Summary of test results"):
            self.open("glibc", i)
            return True
        if s.startswith("Ran "):
            m = _UNITTEST_RAN.fullmatch(s)
            if m:
                self.open("unittest", i).add("total", int(m[1]))
            return m is not None
        if kind == "unittest" and block is not None and c in "OFN":
            return self.unittest_status(block, s)
        if c in "OEFUSTI" and ":" in s and self.meson_count(i, s):
            return True
        if c == "A" and s.startswith("All "):
            return self.all_line(i, s)
        return self.perl_line(i, s)

    def dejagnu_count(self, i: int, s: str) -> bool:
        m = _DEJAGNU_COUNT.fullmatch(s)
        key = _DEJAGNU_FIELDS.get(m[1]) if m else None
        if m is None or key is None:
            return m is not None and self.block is not None and self.block.framework == "dejagnu"
        self.current("dejagnu", i).add(key, int(m[2]))
        return True

    def automake_count(self, i: int, s: str) -> bool:
        m = _AUTOMAKE_COUNT.fullmatch(s)
        if m is None:
            return False
        key = m[1].lower()
        block = self.current("automake", i)
        if key in block.fields:
            block = self.open("automake", i)
        block.fields[key] = int(m[2])
        block.done = key == "error"  # the last count automake prints
        return True

    def rule(self, i: int, s: str) -> bool:
        block = self.block
        if s.startswith("=== ") and s.endswith(" ==="):
            m = _DEJAGNU_TITLE.fullmatch(s)
            if m is None:
                return False
            if m[2] == "tests":
                self.close_block()
                self.flush_others(None)
                self.dejagnu_tool = (m[1], i)
            else:
                self.open("dejagnu", i, m[1]).variation = m[3]
            return True
        if s != "=" * len(s) or block is None:
            return False
        if block.framework == "automake-serial":
            self.close_block(i)
            return True
        return block.framework == "automake" and block.done

    def digits(self, i: int, s: str, kind: str | None) -> bool:
        if kind == "glibc":
            m = _GLIBC_COUNT.fullmatch(s)
            if m:
                key = {"UNSUPPORTED": "skip", "UNRESOLVED": "error"}.get(m[2], m[2].lower())
                if key in OUTCOMES and self.block is not None:
                    self.block.add(key, int(m[1]))
                return True
        if s.startswith("1.."):
            return self.tap_plan_line(i, s)
        return self.all_line(i, s)

    def tap_plan_line(self, i: int, s: str) -> bool:
        n = s[3:].split(" ", 1)[0]
        if not n.isdigit():
            return False
        if self.pending.get("tap"):
            self.emit(_Block("tap", i, i), "tap")  # a trailing plan ends the stream
        else:
            self.tap_plan = int(n) or None
        return False

    def all_line(self, i: int, s: str) -> bool:
        if s == "All tests successful.":
            self.current("perl", i).fields["successful"] = 1
            return True
        m = _SERIAL_OK.fullmatch(s)
        if m:
            block = self.open("automake-serial", i)
            block.fields.update(all=int(m[1]), xfail=int(m[2] or 0), skip=int(m[3] or 0))
            return True
        m = _SERIAL_BAD.fullmatch(s)
        if m:
            block = self.open("automake-serial", i)
            block.fields.update(all=int(m[2]), failed=int(m[1]), xpass=int(m[3] or 0),
                                skip=int(m[4] or 0))
            return True
        return False

    def unittest_status(self, block: _Block, s: str) -> bool:
        m = _UNITTEST_STATUS.fullmatch(s)
        if m is None:
            return False
        block.fields["status"] = 1
        for item in (m[2] or "").split(","):
            key, _, value = item.strip().partition("=")
            if key in _UNITTEST_FIELDS and value.isdigit():
                block.add(_UNITTEST_FIELDS[key], int(value))
        block.done = True
        return True

    def meson_count(self, i: int, s: str) -> bool:
        m = _MESON_COUNT.fullmatch(s)
        if m is None:
            return False
        if m[1] == "Ok":
            block = self.open("meson", i)
        elif self.block is not None and self.block.framework == "meson":
            block = self.block
        else:
            return False
        block.add(_MESON_FIELDS[m[1]], int(m[2]))
        block.done = m[1] == "Timeout"  # the last count meson prints
        return True

    def perl_line(self, i: int, s: str) -> bool:
        c = s[0]
        if c == "T" and s == "Test Summary Report":
            self.current("perl", i)
        elif c == "F" and s.startswith("Files="):
            m = _PERL_FILES.fullmatch(s)
            if m is None:
                return False
            self.current("perl", i).fields["files"] = int(m[1])
        elif c == "R" and s.startswith("Result: "):
            block = self.current("perl", i)
            block.done = block.done or s == "Result: PASS"
        elif c == "F" and s.startswith("Failed "):
            return self.perl_failed(i, s)
        elif c == "u" and s.startswith("u="):
            m = _PERL_SCRIPTS.match(s)
            if m is None:
                return False
            block = self.current("perl", i)
            block.fields["scripts"] = int(m[1])
            block.done = True
        else:
            return False
        return True

    def perl_failed(self, i: int, s: str) -> bool:
        m = _PERL_PROGRAMS.fullmatch(s)
        key = "programs"
        if m is None:
            m = _PERL_CORE_FAILED.fullmatch(s)
            key = "scripts"
        if m is None:
            return False
        block = self.current("perl", i)
        block.fields["failed"] = int(m[1])
        block.fields[key] = int(m[2])
        block.done = key == "programs"
        return True

    # -------------------------------------------------------------------- closing summaries

    def close_block(self, last: int | None = None) -> None:
        block = self.block
        if block is None:
            return
        self.block = None
        if last is not None:
            block.last = last
        family = _FAMILY[block.framework]
        self.flush_others(family)
        summary = self.emit(block, family)
        if block.framework == "dejagnu":
            self.dejagnu_finished(block, summary)

    def dejagnu_finished(self, block: _Block, summary: Summary) -> None:
        tool = block.suite or ""
        if self.dejagnu_tool is not None and self.dejagnu_tool[0] == tool:
            summary.first_line = min(summary.first_line, self.dejagnu_tool[1])
        if block.variation is not None:
            self.variations.setdefault(tool, []).append(summary)
            return
        self.dejagnu_tool = None
        parts = self.variations.pop(tool, [])
        for part in parts:  # the tool's total includes every variation's summary
            self.results.remove(part)
            summary.first_line = min(summary.first_line, part.first_line)
        summary.cases[:0] = [case for part in parts for case in part.cases]

    def emit(self, block: _Block, family: str) -> Summary:
        waiting = self.pending.pop(family, [])
        if family == "tap":
            self.tap_plan = None
        if block.framework == "dejagnu":
            waiting = [w for w in waiting if w[1] != "ERROR"]  # DejaGnu's own errors
        suite = block.suite
        cases = [c if c.suite or not suite else dataclasses.replace(c, suite=suite)
                 for _, _, c in waiting]
        counts = _block_counts(block, cases)
        first = min([block.start, *(w[0] for w in waiting[:1])])
        summary = Summary(block.framework, counts, cases, suite, first, block.last)
        self.results.append(summary)
        return summary

    def flush_others(self, keep: str | None) -> None:
        """Per-test lines of another harness left without a summary: count them as they are."""
        for family in [f for f in self.pending if f != keep]:
            waiting = self.pending[family]
            if all(token == "ERROR" for _, token, _ in waiting):
                del self.pending[family]  # a lone "ERROR: ..." is a message, not a test
                continue
            framework, suite = self.guess(family, waiting)
            self.emit(_Block(framework, waiting[0][0], waiting[-1][0], suite), family)

    def guess(self, family: str,
              waiting: list[tuple[int, str, TestCase]]) -> tuple[str, str | None]:
        if family != "colon":
            return family, None
        tokens = {token for _, token, _ in waiting}
        if self.dejagnu_tool is not None:
            return "dejagnu", self.dejagnu_tool[0]
        if tokens & {"UNRESOLVED", "UNTESTED", "KFAIL", "KPASS"}:
            return "dejagnu", None
        if "UNSUPPORTED" in tokens:
            return "glibc", None
        return "automake", None

    def finish(self) -> None:
        self.close_block()
        self.flush_others(None)


def parse(lines: Sequence[str]) -> list[Summary]:
    """Every test-suite summary in a build log, in order (a log may hold several: gnulib's
    tests/ and the package's own, gcc's one per DejaGnu tool), each with the per-test lines
    that belong to it. Per-test lines without any summary are counted as one suite; suites
    with a harness of their own (gawk's) come from :mod:`.harnesses`."""
    from lfsplug_tests.harnesses import banner_suites

    found = _LogParser().run(lines) + banner_suites(lines)
    return sorted(found, key=lambda s: s.first_line)


class LiveCounter:
    """Counts per-test result lines as a suite's output streams (for a dashboard)."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = empty_counts()
        self.last: TestCase | None = None
        self._reader = _CaseReader()

    def feed(self, line: str) -> bool:
        """Read one line of output; True when the counts changed."""
        s = clean_line(line) if isinstance(line, str) else ""
        found = self._reader.read(s) if s else None
        if found is None:
            return False
        case = found[2]
        self.counts[case.outcome] += 1
        self.counts["total"] += 1
        self.last = case
        return True

    def reset(self) -> None:
        """Start counting a new suite."""
        self.counts = empty_counts()
        self.last = None
