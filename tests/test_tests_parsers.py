"""Reading package test-suite output: lfsplug_tests.parsers.

The fixtures under tests/fixtures/testsuites/ are hand-written in the exact formats the real
tools print (automake's parallel and serial harnesses, DejaGnu, glibc's make check, meson test,
Perl's Test::Harness and t/TEST, Python unittest, TAP); one test builds and runs a real tiny
automake package when autoreconf is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lfsplug_tests.parsers import OUTCOMES, LiveCounter, Summary, TestCase, parse

FIXTURES = Path(__file__).parent / "fixtures" / "testsuites"


def lines_of(name: str) -> list[str]:
    return (FIXTURES / name).read_text().splitlines()


def nonzero(summary: Summary) -> dict[str, int]:
    return {k: v for k, v in summary.counts.items() if v}


def names(summary: Summary, outcome: str) -> list[str]:
    return [case.name for case in summary.cases if case.outcome == outcome]


def test_counts_always_hold_every_outcome_and_total() -> None:
    for path in FIXTURES.iterdir():
        for summary in parse(path.read_text().splitlines()):
            assert set(summary.counts) == {*OUTCOMES, "total"}
            assert all(case.outcome in OUTCOMES for case in summary.cases)


def test_automake_parallel_with_colours_and_make_lines() -> None:
    [summary] = parse(lines_of("automake_parallel.log"))
    assert summary.framework == "automake"
    assert summary.suite == "GNU M4 1.4.19"
    assert nonzero(summary) == {"pass": 3, "skip": 1, "xfail": 1, "fail": 1, "error": 1,
                                "total": 7}
    assert names(summary, "fail") == ["test-mbrtowc1.sh"]
    assert names(summary, "error") == ["test-vasnprintf-posix.sh"]
    assert summary.cases[0] == TestCase("test-alloca-opt", "pass", "GNU M4 1.4.19")
    lines = lines_of("automake_parallel.log")
    assert "PASS" in lines[summary.first_line]
    assert "=====" in lines[summary.last_line]  # the closing rule after "Please report to"


def test_automake_serial_banners() -> None:
    failed, passed = parse(lines_of("automake_serial.log"))
    assert failed.framework == passed.framework == "automake-serial"
    assert nonzero(failed) == {"pass": 3, "fail": 1, "xfail": 1, "skip": 1, "total": 6}
    assert names(failed, "fail") == ["print.sh"]
    assert nonzero(passed) == {"pass": 14, "total": 14}
    assert passed.cases == []


@pytest.mark.parametrize(("banner", "expected"), [
    (["All 5 tests behaved as expected (1 expected failure)"],
     {"pass": 4, "xfail": 1, "total": 5}),
    (["2 of 20 tests failed (1 test was not run)"], {"pass": 18, "fail": 2, "skip": 1,
                                                      "total": 21}),
    (["3 of 9 tests did not behave as expected (1 unexpected pass)", "(2 tests were not run)"],
     {"pass": 6, "fail": 2, "xpass": 1, "skip": 2, "total": 11}),
    (["1 test passed"], {"pass": 1, "total": 1}),
])
def test_automake_serial_banner_alone(banner: list[str], expected: dict[str, int]) -> None:
    rule = "=" * 40
    [summary] = parse([rule, *banner, rule])
    assert nonzero(summary) == expected
    assert summary.last_line == len(banner) + 1


def test_dejagnu_one_summary_per_tool() -> None:
    gcc, gxx = parse(lines_of("dejagnu_gcc.log"))
    assert (gcc.framework, gcc.suite, gxx.suite) == ("dejagnu", "gcc", "g++")
    assert nonzero(gcc) == {"pass": 185306, "fail": 2, "xpass": 1, "xfail": 1485, "error": 1,
                            "skip": 2533, "total": 189328}
    assert names(gcc, "fail") == [
        "gcc.dg/analyzer/pr104434-nonconst.c (test for excess errors)",
        'gcc.dg/pr56837.c scan-tree-dump-times optimized "memset ..c, 68, 16384.;" 1']
    assert all(case.suite == "gcc" for case in gcc.cases)
    assert gxx.counts["skip"] == 10491 + 2  # unsupported + untested
    assert names(gxx, "fail") == ["g++.dg/modules/xtreme-header-4_b.C -std=c++2b "
                                  "(test for excess errors)"]
    lines = lines_of("dejagnu_gcc.log")
    assert "=== gcc tests ===" in lines[gcc.first_line]
    assert lines[gcc.last_line].startswith("# of unsupported tests")
    assert gcc.last_line < gxx.first_line


def test_dejagnu_variations_fold_into_the_tools_total() -> None:
    log = ["\t\t=== ld tests ===", "FAIL: ld-elf/a", "\t\t=== ld Summary for unix ===",
           "# of expected passes\t\t10", "# of unexpected failures\t1",
           "FAIL: ld-elf/b", "\t\t=== ld Summary for unix/-m32 ===",
           "# of expected passes\t\t9", "# of unexpected failures\t1",
           "", "\t\t=== ld Summary ===", "# of expected passes\t\t19",
           "# of unexpected failures\t2"]
    [summary] = parse(log)
    assert nonzero(summary) == {"pass": 19, "fail": 2, "total": 21}
    assert names(summary, "fail") == ["ld-elf/a", "ld-elf/b"]
    assert (summary.first_line, summary.last_line) == (0, 12)


def test_glibc_make_check_tail() -> None:
    [summary] = parse(lines_of("glibc_check.log"))
    assert summary.framework == "glibc"
    assert nonzero(summary) == {"fail": 2, "pass": 5128, "skip": 41, "xfail": 12, "xpass": 1,
                                "total": 5184}
    assert names(summary, "fail") == ["io/tst-lchmod", "elf/tst-cpu-features-supports"]
    assert names(summary, "skip") == ["elf/tst-audit22", "misc/tst-pkey"]


def test_glibc_tests_sum_is_counted_line_by_line() -> None:
    [summary] = parse(lines_of("glibc_tests.sum"))
    assert summary.framework == "glibc"
    assert nonzero(summary) == {"pass": 3, "fail": 1, "xfail": 1, "skip": 1, "total": 6}


def test_meson() -> None:
    [summary] = parse(lines_of("meson.log"))
    assert summary.framework == "meson"
    assert nonzero(summary) == {"pass": 8, "xfail": 1, "fail": 2, "skip": 1, "total": 12}
    assert len(summary.cases) == 12  # "Summary of Failures" repeats are not counted twice
    assert summary.cases[4] == TestCase("bookmarkfile", "fail", "glib:glib+core",
                                        "exit status 1")
    assert names(summary, "fail") == ["bookmarkfile", "mainloop"]


def test_perl_test_harness() -> None:
    [summary] = parse(lines_of("perl_harness.log"))
    assert summary.framework == "perl"
    assert nonzero(summary) == {"pass": 2, "fail": 2, "skip": 1, "total": 5}
    assert names(summary, "fail") == ["t/01-parse.t", "t/04-stream.t"]
    skipped = summary.cases[2]
    assert (skipped.name, skipped.outcome, skipped.detail) == ("t/02-network.t", "skip",
                                                              "no network in chroot")


def test_perl_core_t_test() -> None:
    [summary] = parse(lines_of("perl_core.log"))
    assert summary.framework == "perl"
    assert nonzero(summary) == {"pass": 5, "fail": 1, "skip": 1, "total": 7}
    assert names(summary, "fail") == ["op/closure"]


def test_perl_all_successful() -> None:
    log = ["t/a.t .. ok", "t/b.t .. ok", "All tests successful.",
           "Files=2, Tests=8,  0 wallclock secs ( 0.01 usr +  0.02 sys =  0.03 CPU)",
           "Result: PASS"]
    [summary] = parse(log)
    assert nonzero(summary) == {"pass": 2, "total": 2}
    assert (summary.first_line, summary.last_line) == (0, 4)


def test_unittest_verbose() -> None:
    [summary] = parse(lines_of("unittest.log"))
    assert summary.framework == "unittest"
    assert nonzero(summary) == {"pass": 2, "fail": 1, "error": 1, "skip": 1, "xfail": 1,
                                "xpass": 1, "total": 7}
    assert len(summary.cases) == 7  # the FAIL:/ERROR: detail headers are not new tests
    assert summary.cases[3] == TestCase("test_net", "skip", "test_calc.TestFiles",
                                        "needs network")
    assert summary.cases[6].name == "test_sub"  # its docstring line carried the result


def test_unittest_quiet() -> None:
    [summary] = parse(["..s.", "-" * 70, "Ran 4 tests in 0.010s", "", "OK (skipped=1)"])
    assert nonzero(summary) == {"pass": 3, "skip": 1, "total": 4}


def test_tap() -> None:
    [summary] = parse(lines_of("tap.log"))
    assert summary.framework == "tap"
    assert nonzero(summary) == {"pass": 3, "fail": 1, "xfail": 1, "skip": 1, "total": 6}


def test_several_suites_in_one_log_come_out_separately() -> None:
    parts = [lines_of("automake_gnulib.log"), ["make[1]: Leaving directory '/sources'"],
             lines_of("dejagnu_gcc.log")]
    log = [line for part in parts for line in part]
    summaries = parse(log)
    assert [(s.framework, s.suite) for s in summaries] == [
        ("automake", "GNU grep 3.11"), ("automake", "GNU grep 3.11"),
        ("dejagnu", "gcc"), ("dejagnu", "g++")]
    gl, tests, gcc, gxx = summaries
    assert (gl.counts["total"], tests.counts["total"]) == (5, 4)
    assert names(tests, "fail") == ["big-match"]
    assert names(gl, "skip") == ["test-localename"]
    spans = [(s.first_line, s.last_line) for s in summaries]
    assert all(a <= b for a, b in spans)
    assert all(spans[n][1] < spans[n + 1][0] for n in range(3))
    assert log[gl.first_line] == "PASS: test-alignasof"
    assert log[tests.first_line] == "PASS: backref"
    assert "=== gcc tests ===" in log[gcc.first_line]
    assert gxx.counts["pass"] == 225473


def test_live_counter() -> None:
    counter = LiveCounter()
    changed = [counter.feed(line) for line in lines_of("meson.log")]
    assert sum(changed) == 12
    assert counter.counts["total"] == 12 and counter.counts["fail"] == 2
    assert counter.last == TestCase("cond", "pass", "glib:glib+core", "5 subtests passed")
    assert counter.feed("make[2]: Leaving directory '/x'") is False
    counter.reset()
    assert counter.counts == dict.fromkeys((*OUTCOMES, "total"), 0) and counter.last is None


# ----------------------------------------------------------------------- a real package

CONFIGURE_AC = """\
AC_INIT([tiny], [1.0], [bugs@example.org])
AM_INIT_AUTOMAKE([foreign])
AC_CONFIG_FILES([Makefile])
AC_OUTPUT
"""
MAKEFILE_AM = """\
TESTS = pass.sh fail.sh skip.sh xfail.sh
XFAIL_TESTS = xfail.sh
EXTRA_DIST = $(TESTS)
"""
SCRIPTS = {"pass.sh": 0, "fail.sh": 1, "skip.sh": 77, "xfail.sh": 1}


def autotools() -> bool:
    """autoreconf and automake, waiting a minute for a concurrent install to finish."""
    for _ in range(12):
        if shutil.which("autoreconf") and shutil.which("automake"):
            return True
        time.sleep(5)
    return False


def test_real_automake_package(tmp_path: Path) -> None:
    if not autotools():
        pytest.skip("autoreconf/automake not installed (apt-get install autoconf automake)")
    (tmp_path / "configure.ac").write_text(CONFIGURE_AC)
    (tmp_path / "Makefile.am").write_text(MAKEFILE_AM)
    for name, status in SCRIPTS.items():
        script = tmp_path / name
        script.write_text(f"#!/bin/sh\necho running {name}\nexit {status}\n")
        script.chmod(0o755)
    env = {**os.environ, "LC_ALL": "C"}
    env.pop("MAKEFLAGS", None)
    for command in (["autoreconf", "-fi"], ["./configure"]):
        subprocess.run(command, cwd=tmp_path, env=env, check=True, capture_output=True)
    check = subprocess.run(["make", "check"], cwd=tmp_path, env=env, capture_output=True,
                           text=True, check=False)
    assert check.returncode != 0  # fail.sh fails
    output = check.stdout.splitlines()

    [summary] = parse(output)
    assert summary.framework == "automake"
    assert summary.suite == "tiny 1.0"
    assert nonzero(summary) == {"pass": 1, "fail": 1, "skip": 1, "xfail": 1, "total": 4}
    assert {case.name: case.outcome for case in summary.cases} == {
        "pass.sh": "pass", "fail.sh": "fail", "skip.sh": "skip", "xfail.sh": "xfail"}
    assert output[summary.last_line].startswith("=")

    counter = LiveCounter()
    for line in output:
        counter.feed(line)
    assert counter.counts == summary.counts


# -------------------------------------------------------------------------- robustness

FRAGMENTS = ["PASS: ", "FAIL:", "# of ", "# TOTAL: ", "=== ", " Summary ===", "Ok: ",
             "Ran ", " tests in ", "OK (", "FAILED (", "1..", "ok ", "not ok ", " .. ",
             " ... ", "t/a.t", "Files=", "Result: ", "Failed ", "/", " of ", "All ", "(",
             ")", "=", "\t", "\x1b[0;31m", "\r", "1", "42", "skipped", "Timeout:", "x"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text() | st.lists(st.sampled_from(FRAGMENTS)).map("".join), max_size=40))
def test_random_text_never_raises(lines: list[str]) -> None:
    for summary in parse(lines):
        assert set(summary.counts) == {*OUTCOMES, "total"}
        assert 0 <= summary.first_line <= summary.last_line < len(lines)
    counter = LiveCounter()
    for line in lines:
        counter.feed(line)


NOISE = st.sampled_from([
    "", "make[3]: Entering directory '/sources/pkg/tests'", "  CC       lib/foo.o",
    "libtool: link: gcc -g -O2 -o foo foo.o", "checking for gcc... gcc",
    "In file included from foo.h:3,", "warning: unused variable 'x'", "ninja: no work to do.",
]) | st.text(alphabet="abcdefghij klm", min_size=1, max_size=30)

REAL = ["automake_parallel.log", "dejagnu_gcc.log", "glibc_check.log", "meson.log",
        "perl_harness.log", "unittest.log"]


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(REAL), st.data())
def test_noise_between_lines_keeps_the_counts(name: str, data: st.DataObject) -> None:
    lines = lines_of(name)
    expected = [(s.framework, s.counts) for s in parse(lines)]
    noisy = list(lines)
    for _ in range(data.draw(st.integers(0, 25))):
        at = data.draw(st.integers(0, len(noisy)))
        noisy.insert(at, data.draw(NOISE))
    assert [(s.framework, s.counts) for s in parse(noisy)] == expected


def test_a_gawk_style_suite_names_its_tests_and_the_ones_cmp_found_different() -> None:
    """gawk's own harness (hand-written in its format): names in banner blocks, ``cmp`` lines
    for failures, ``N TESTS FAILED``; and a real log's ``ALL TESTS PASSED``."""
    lines = (FIXTURES / "gawk.log").read_text().splitlines()
    [suite] = parse(lines)
    assert suite.framework == "gawk"
    assert (suite.counts["pass"], suite.counts["fail"]) == (4, 2)
    assert sorted(c.name for c in suite.cases if c.outcome == "fail") == ["anchor", "getlnhd"]
    assert {c.suite for c in suite.cases} == {"basic", "Unix"}
    assert (suite.first_line, suite.last_line) == (1, len(lines) - 1)
    passed = [*lines[:5], lines[6], "======== Done with basic tests ========",
              "ALL TESTS PASSED"]
    [clean] = parse(passed)
    assert (clean.counts["pass"], clean.counts["fail"]) == (4, 0)
