"""The lfsplugger fixture that plugin authors use."""

from __future__ import annotations

import pytest

from lfsplug.testing import Lfsplugger, LineMatcher


def test_line_matcher_in_order() -> None:
    lines = LineMatcher(["start a", "noise", "passed a", "done"])
    lines.fnmatch_lines(["start *", "passed a"])
    lines.re_match_lines([r"start \w", r"done$"])
    lines.no_fnmatch_line("*failed*")
    with pytest.raises(pytest.fail.Exception, match="no line fnmatches 'start a'"):
        lines.fnmatch_lines(["passed a", "start a"])
    with pytest.raises(pytest.fail.Exception, match="matches"):
        lines.no_fnmatch_line("noi*")


def test_make_tree_adds_shebang_and_mode(lfsplugger: Lfsplugger) -> None:
    root = lfsplugger.make_tree({"ch/01-a.sh": "echo a", "notes.txt": "x"})
    script = root / "ch/01-a.sh"
    assert script.read_text() == "#!/bin/bash\necho a\n"
    assert script.stat().st_mode & 0o111
    assert (root / "notes.txt").read_text() == "x\n"


def test_in_process_run_records_hooks_and_results(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "exit 1"})
    result = lfsplugger.run("run")
    assert result.ret == 1
    result.assert_outcomes(passed=1, failed=1)
    assert [c.script.name for c in result.getcalls("lfsplug_script_finish")] == ["a", "b"]
    with pytest.raises(AssertionError, match="outcomes"):
        result.assert_outcomes(passed=2)


def test_subprocess_run_has_no_hook_record(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    result = lfsplugger.run_subprocess("list")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["1  a *01-a.sh"])
    with pytest.raises(ValueError, match="in-process"):
        result.getcalls()


def test_environment_is_isolated(lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    monkeypatch.setenv("LFSPLUG_ADDOPTS", "--bogus")
    result = lfsplugger.run_subprocess("list")
    assert result.ret == 0  # the fixture keeps the caller's LFSPLUG_* out of the child
