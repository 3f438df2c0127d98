"""The tests plugin in a build: a real automake package's ``make check`` read after its
script, known failures, the policies, the trend across runs, the reports, the dashboard's live
counts (tmux), and the hand-written DejaGnu and glibc summaries of tests/fixtures/testsuites/
(in the formats those suites print) run through a script."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lfsplug.testing import Lfsplugger
from lfsplug_tests.parsers import parse
from lfsplug_tests.results import has_test_phase

FIXTURES = Path(__file__).parent / "fixtures" / "testsuites"
RUN = ("run", "--shellcheck", "off", "--host-check", "off", "--plain")

CONFIGURE_AC = """AC_INIT([demo], [1.0])
AM_INIT_AUTOMAKE([foreign])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
"""
MAKEFILE_AM = """TESTS = t-pass.sh t-fail.sh t-skip.sh t-xfail.sh t-more.sh
XFAIL_TESTS = t-xfail.sh
EXTRA_DIST = $(TESTS)
"""
TESTS = {"t-pass.sh": "exit 0", "t-fail.sh": 'exit "${DEMO_FAIL:-1}"', "t-skip.sh": "exit 77",
         "t-xfail.sh": "exit 1", "t-more.sh": "exit 0"}


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small automake package with a test suite (one test fails unless ``DEMO_FAIL=0``),
    its configure made by the real autotools."""
    missing = [t for t in ("autoreconf", "automake", "make") if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (Debian: autoconf automake make)")
    where = tmp_path_factory.mktemp("automake") / "demo-1.0"
    where.mkdir()
    (where / "configure.ac").write_text(CONFIGURE_AC)
    (where / "Makefile.am").write_text(MAKEFILE_AM)
    for name, body in TESTS.items():
        (where / name).write_text(f"#!/bin/sh\n{body}\n")
        (where / name).chmod(0o755)
    subprocess.run(["autoreconf", "-fi"], cwd=where, check=True, capture_output=True)
    return where


def demo_script(package: Path, fail: int = 1) -> str:
    return (f"# lfsplug: version=1.0\nset -e\nrm -rf work\ncp -r {package} work\ncd work\n"
            f"./configure -q\nexport DEMO_FAIL={fail}\n"
            f"make -k check || echo \"lfsplug: test suite failed (exit $?): make check\" >&2\n")


def status(lfsplugger: Lfsplugger) -> dict[str, dict]:  # type: ignore[type-arg]
    result = lfsplugger.run("status", "--json", "--state-dir", str(lfsplugger.path / ".lfsplug"))
    assert result.ret == 0, result.errlines
    return {s["name"]: s for s in json.loads("\n".join(result.outlines))["scripts"]}


def test_a_real_make_check_is_read_after_its_script(lfsplugger: Lfsplugger, package: Path,
                                                    tmp_path: Path) -> None:
    lfsplugger.make_tree({"01-demo.sh": demo_script(package)})
    junit, html = tmp_path / "junit.xml", tmp_path / "report.html"
    result = lfsplugger.run(*RUN, ".", "--report", f"junit:{junit}", "--report",
                            f"html:{html}")
    assert result.ret == 0, result.errlines
    tests = status(lfsplugger)["demo"]["tests"]
    assert {k: tests[k] for k in ("pass", "fail", "expected", "skip", "error")} == {
        "pass": 2, "fail": 1, "expected": 1, "skip": 1, "error": 0}
    assert tests["failed"] == ["t-fail.sh"] and tests["expected_failed"] == []
    assert tests["commands_failed"] == ["make check"]
    result.stdout.fnmatch_lines(
        ["demo: tests: 2 passed, 1 failed (t-fail.sh), 1 expected to fail, 1 skipped"])
    # the suite's output, recorded apart, and each test named
    logs = lfsplugger.path / ".lfsplug" / "logs" / "1"
    said = (logs / "demo.tests.log").read_text()
    assert "FAIL: t-fail.sh" in said and "Testsuite summary for demo 1.0" in said
    assert "checking for" not in said  # configure's output is not the suite's
    cases = json.loads((logs / "demo.tests.json").read_text())["cases"]
    assert sorted(c[1] for c in cases) == sorted(TESTS)
    # JUnit: the package's tests as test cases of a suite of their own
    suites = ET.parse(junit).getroot()
    [own] = [s for s in suites.iter("testsuite") if s.get("name") == "demo: test suite"]
    cases_by_name = {c.get("name"): c for c in own.iter("testcase")}
    assert set(cases_by_name) == set(TESTS)
    assert cases_by_name["t-fail.sh"].find("failure") is not None
    assert cases_by_name["t-skip.sh"].find("skipped") is not None
    assert cases_by_name["t-pass.sh"].find("failure") is None
    assert cases_by_name["t-pass.sh"].get("classname") == "demo"
    page = html.read_text()
    assert 'id="test-table"' in page and "t-fail.sh" in page
    # and the reports written afterwards from the state: JSON and the trace carry the totals
    report, trace = tmp_path / "later.json", tmp_path / "trace.json"
    for fmt, where in (("json", report), ("trace", trace)):
        assert lfsplugger.run("report", f"{fmt}:{where}", "--state-dir",
                              str(lfsplugger.path / ".lfsplug")).ret == 0
    [script] = json.loads(report.read_text())["scripts"]
    assert script["tests"]["failed"] == ["t-fail.sh"]
    [slice_] = [e for e in json.loads(trace.read_text())["traceEvents"] if e["ph"] == "X"]
    assert slice_["args"]["tests"] == {"pass": 2, "fail": 1, "expected": 1, "skip": 1,
                                       "error": 0}


def test_known_failures_from_the_config_are_expected(lfsplugger: Lfsplugger,
                                                     package: Path) -> None:
    lfsplugger.make_tree({"01-demo.sh": demo_script(package)})
    lfsplugger.make_config('[tests.known_failures]\ndemo = ["t-fail*"]\n'
                           '[tests.policies]\ndemo = "fail"\n')
    result = lfsplugger.run(*RUN, ".")
    assert result.ret == 0, result.errlines
    tests = status(lfsplugger)["demo"]["tests"]
    assert (tests["fail"], tests["expected"]) == (0, 2)
    assert tests["expected_failed"] == ["t-fail.sh"]
    assert "known_failures" in tests["because"]["t-fail.sh"] or tests["because"]["t-fail.sh"]


def test_the_fail_policy_fails_the_script_on_an_unknown_failure(lfsplugger: Lfsplugger,
                                                                 package: Path) -> None:
    lfsplugger.make_tree({"01-demo.sh": demo_script(package),
                          "02-after.sh": "# lfsplug: depends=demo\ntrue\n"})
    lfsplugger.make_config('[tests.policies]\ndemo = "fail"\n')
    result = lfsplugger.run(*RUN, ".")
    assert result.ret == 1
    scripts = status(lfsplugger)
    assert scripts["demo"]["status"] == "failed"
    assert scripts["demo"]["failure_class"] == "test-suite"
    assert scripts["demo"]["evidence"] == ["FAIL: t-fail.sh"]
    assert scripts["after"]["status"] != "passed"


def test_a_test_that_started_failing_is_named(lfsplugger: Lfsplugger, package: Path) -> None:
    lfsplugger.make_tree({"01-demo.sh": demo_script(package, fail=0)})
    first = lfsplugger.run(*RUN, ".")
    assert first.ret == 0 and status(lfsplugger)["demo"]["tests"]["failed"] == []
    lfsplugger.make_tree({"01-demo.sh": demo_script(package, fail=1)})
    second = lfsplugger.run(*RUN, ".")
    tests = status(lfsplugger)["demo"]["tests"]
    assert tests["started_failing"] == ["t-fail.sh"] and tests["previous_run"] == 1
    second.stdout.fnmatch_lines(["demo: started failing since run 1: t-fail.sh"])
    lfsplugger.make_tree({"01-demo.sh": demo_script(package, fail=0) + "# fixed\n"})
    third = lfsplugger.run(*RUN, ".")
    assert status(lfsplugger)["demo"]["tests"]["fixed"] == ["t-fail.sh"]
    third.stdout.fnmatch_lines(["demo: passing again since run 2: t-fail.sh"])


@pytest.mark.parametrize(("fixture", "package"), [("dejagnu_gcc.log", "gcc"),
                                                  ("glibc_check.log", "glibc")])
def test_dejagnu_and_glibc_summaries_in_a_build(lfsplugger: Lfsplugger, fixture: str,
                                                package: str) -> None:
    text = (FIXTURES / fixture).read_text()
    lfsplugger.make_tree({f"01-{package}.sh": (
        f"# lfsplug: tests=make check\ncat {FIXTURES / fixture}\n")})
    lfsplugger.make_config("[tests]\nbook_known_failures = false\n")
    assert lfsplugger.run(*RUN, ".").ret == 0
    tests = status(lfsplugger)[package]["tests"]
    summaries = parse(text.splitlines())
    expected_fail = sum(s.counts["fail"] for s in summaries)
    assert tests["fail"] == expected_fail > 0
    assert tests["pass"] == sum(s.counts["pass"] + s.counts["xpass"] for s in summaries)
    named = [c.name for s in summaries for c in s.cases if c.outcome == "fail"]
    assert tests["failed"][: len(named)] == list(dict.fromkeys(named))
    assert {s["framework"] for s in tests["suites"]} == {s.framework for s in summaries}


def test_the_books_known_failures_apply_by_package(lfsplugger: Lfsplugger) -> None:
    from lfsplug_tests.known import book_known_failures

    glibc = book_known_failures()["glibc"]
    named = next(k for k in glibc if k.tests and "*" not in k.tests[0])
    lines = [f"FAIL: {named.tests[0]}", "FAIL: elf/tst-new-one", "Summary of test results:",
             "      2 FAIL", "   4000 PASS"]
    lfsplugger.make_tree({"01-glibc.sh": "# lfsplug: tests=make check\ncat <<'EOF'\n"
                          + "\n".join(lines) + "\nEOF\n"})
    assert lfsplugger.run(*RUN, ".").ret == 0
    tests = status(lfsplugger)["glibc"]["tests"]
    assert tests["expected_failed"] == [named.tests[0]]
    assert tests["failed"] == ["elf/tst-new-one"]
    assert "chapter08/glibc.xml" in tests["because"][named.tests[0]]


def test_scripts_without_a_test_phase_are_not_read(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo 'PASS: not a test'\necho '# TOTAL: 1'\n",
                          "02-b.sh": "# lfsplug: tests=none\nmake check 2>/dev/null || true\n"})
    assert lfsplugger.run(*RUN, ".").ret == 0
    assert all(s["tests"] is None for s in status(lfsplugger).values())


@pytest.mark.parametrize(("text", "found"), [
    ("./configure\nmake\nmake check\nmake install\n", "make check"),
    ("make -k check || true\n", "make -k check"),
    ("ninja test\n", "ninja test"),
    ("meson test -C build\n", "meson test"),
    ("make -j1 tests TESTS=x\n", "make -j1 tests"),
    ("# make check\nmake install\n", None),   # the book's tests that are off
    ("make checkout\n", None),
    # as the LFS book writes them (found by exporting it with --book-tests all: 9 pages missed)
    ('su tester -c "PATH=$PATH make -k check"\n', "make -k check"),
    ("TEST_JOBS=$(nproc) make test_harness\n", "make test_harness"),
    ('{ su tester -c "TERM=xterm-256color LANG=en_US.UTF-8 make -k -j1 test" \\\n',
     "make -k -j1 test"),
    ("make testsuite=1 install\n", None),
    ("make install  # then make check by hand\n", None),
])
def test_the_test_phase_is_found_in_a_scripts_commands(text: str, found: str | None) -> None:
    assert has_test_phase(text) == found


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_the_dashboard_counts_a_suite_while_it_runs(lfsplugger: Lfsplugger,
                                                    tmp_path: Path) -> None:
    from test_terminal import Tmux

    go = lfsplugger.path / "GO"
    lfsplugger.make_tree({"01-suite.sh": (
        "# lfsplug: tests=make check\n"
        "for i in 1 2 3 4 5 6 7; do echo \"PASS: t$i\"; done\necho 'FAIL: t8'\n"
        f"while [ ! -e {go} ]; do sleep 0.05; done\n")})
    tmux = Tmux(tmp_path)
    try:
        tmux.start(lfsplugger.path, [sys.executable, "-m", "lfsplug", "run", ".",
                                     "--shellcheck", "off", "--host-check", "off"], {})
        screen = tmux.wait_for("\u25b6 suite", "tests: 7 passed, 1 failed")
        row = next(line for line in screen.splitlines() if line.startswith("\u25b6 suite"))
        assert "tests: 7 passed, 1 failed, last failure t8" in row
        go.touch()
        screen = tmux.wait_for("EXIT=")
        assert "EXIT=0" in screen
        assert "suite: tests: 7 passed, 1 failed (t8)" in tmux.history()
    finally:
        tmux.close()


def test_without_the_plugin_no_log_is_read(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "# lfsplug: tests=make check\necho 'PASS: t1'\n"})
    result = lfsplugger.run("-p", "no:tests", *RUN, ".")
    assert result.ret == 0, result.errlines
    assert status(lfsplugger)["a"]["tests"] is None
    assert not any("tests:" in line for line in result.outlines)
    # and with it, the same script's one test is read
    assert lfsplugger.run(*RUN, ".", "--force", "a").ret == 0
    assert status(lfsplugger)["a"]["tests"]["pass"] == 1


def test_a_count_held_back_by_the_rate_limit_is_said_with_a_later_batch(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The dashboard once stayed at ``tests: 1 passed``: the first line's note went out, the
    next lines came within the half second, and nothing was said after them."""
    from types import SimpleNamespace

    import lfsplug_tests.plugin as module
    from lfsplug import Event, ScriptOutput

    clock = [100.0]
    monkeypatch.setattr(module.time, "monotonic", lambda: clock[0])
    plugin = module.TestSuites.__new__(module.TestSuites)
    plugin.phase, plugin._live, plugin._unsaid = {"suite": "make check"}, {}, set()
    plugin._lock = __import__("threading").Lock()
    said: list[str] = []
    session = SimpleNamespace(emit=lambda record, name: said.append(record.text))

    def batch(*lines: str) -> list[Event]:
        record = ScriptOutput(tuple(lines))
        return [Event(record.kind, 0.0, record.priority, "suite", record, 1, 0.0)] if lines else []

    plugin.lfsplug_events(session, batch("PASS: t1"))
    clock[0] += 0.1
    plugin.lfsplug_events(session, batch("PASS: t2", "FAIL: t3"))
    assert said == ["tests: 1 passed"]
    clock[0] += 1.0
    plugin.lfsplug_events(session, batch())  # a sample, say: no output
    assert said[-1] == "tests: 2 passed, 1 failed, last failure t3"
