"""Issue 15, items 2 and 8: ``run`` shows a warning once; lint knows how lfsplug runs scripts;
``check --severity``; long discovery and validation show progress.

What a user sees: a second ``lfsplug run`` prints ``lfsplug: 2 known warnings: lfsplug check``
instead of the same warnings again; ``lfsplug check`` still shows everything; an unchecked
``cd`` is one finding (LFS007, naming SC2164), which knows that lfsplug runs the script with
``bash -e``; and ``lfsplug check`` of 2000 scripts says ``validating 812/2000 scripts...``.
"""

from __future__ import annotations

import os
import pty
import select
import shutil

import pytest

from helpers import findings
from lfsplug.testing import Lfsplugger, RunResult

needs_shellcheck = pytest.mark.skipif(shutil.which("shellcheck") is None,
                                      reason="shellcheck is not installed")

#: Two warnings that lint gives whatever is installed (LFS006: a hard-coded /mnt/lfs), in
#: scripts that run harmlessly.
TREE = {
    "01-a.sh": "set -e\necho /mnt/lfs/sources > /dev/null",
    "02-b.sh": "set -e\necho /mnt/lfs/tools > /dev/null",
}


def run(lfsplugger: Lfsplugger, *args: str) -> RunResult:
    return lfsplugger.run("-p", "no:hostreqs", "run", "-q", "--shellcheck=off", *args)


def check(lfsplugger: Lfsplugger, *args: str) -> RunResult:
    return lfsplugger.run("-p", "no:hostreqs", "check", "--json", *args)


def warnings_shown(result: RunResult) -> list[str]:
    return [line.split(": warning ")[1].split(":")[0] + "@" + line.split(":")[0]
            for line in result.errlines if ": warning " in line]


# -- run shows a warning once -----------------------------------------------------------------


def test_a_second_run_counts_the_warnings_the_first_showed(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    first = run(lfsplugger)
    assert first.ret == 0, first.errlines
    assert warnings_shown(first) == ["LFS006@01-a.sh", "LFS006@02-b.sh"]
    assert not any("known" in line for line in first.errlines)

    second = run(lfsplugger)
    assert second.ret == 0
    assert warnings_shown(second) == []
    assert "lfsplug: 2 known warnings: lfsplug check" in second.errlines

    # check still shows everything, and remembers nothing
    assert [f["code"] for f in findings(check(lfsplugger, "--shellcheck=off"))] == ["LFS006"] * 2
    assert warnings_shown(run(lfsplugger)) == []


def test_a_changed_script_shows_its_warnings_again(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    run(lfsplugger)
    with (lfsplugger.path / "02-b.sh").open("a") as script:
        script.write("true\n")
    again = run(lfsplugger)
    assert warnings_shown(again) == ["LFS006@02-b.sh"]
    assert "lfsplug: 1 known warning: lfsplug check" in again.errlines
    # a script's new warnings are shown, once
    (lfsplugger.path / "01-a.sh").write_text("#!/bin/bash\nset -e\necho /mnt/lfs/x\n"
                                              "echo /mnt/lfs/y\n")
    shown = warnings_shown(run(lfsplugger))
    assert shown == ["LFS006@01-a.sh", "LFS006@01-a.sh"]


def test_errors_are_shown_every_time(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "set -e\nPAGE=<paper_size> ./configure"})
    for _ in range(2):
        result = run(lfsplugger)
        assert result.ret == 6
        assert any(": error LFS001:" in line for line in result.errlines), result.errlines


# -- check --severity -------------------------------------------------------------------------


def test_check_severity_shows_findings_at_or_above_the_level(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "set -e\nPAGE=<paper_size> ./configure\n"
                                     "echo /mnt/lfs > /dev/null",
                          "02-b.sh": "./configure\nmake"})  # LFS004: info
    every = {f["severity"] for f in findings(check(lfsplugger, "--shellcheck=off"))}
    assert every == {"error", "warning", "info"}
    warned = findings(check(lfsplugger, "--shellcheck=off", "--severity", "warning"))
    assert {f["severity"] for f in warned} == {"error", "warning"}
    errors = check(lfsplugger, "--shellcheck=off", "--severity=error")
    assert [f["code"] for f in findings(errors)] == ["LFS001"]
    assert errors.ret == 6
    text = lfsplugger.run("-p", "no:hostreqs", "check", "--shellcheck=off", "--severity",
                          "error")
    assert not any("LFS006" in line for line in text.outlines)
    assert text.outlines[-1] == "2 scripts checked: 1 error(s), 1 warning(s), 1 info"
    bad = lfsplugger.run("check", "--severity", "loud")
    assert bad.ret == 4
    assert "'loud' is not one of 'error', 'warning', 'info'" in "\n".join(bad.errlines)


# -- lint knows how lfsplug runs scripts; duplicates merged ----------------------------------


@needs_shellcheck
def test_an_unchecked_cd_is_one_finding_that_knows_about_bash_e(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "cd build\nmake"})
    found = findings(check(lfsplugger, "--shellcheck=on"))
    cds = [f for f in found if f["line"] == 2 and f["code"] in ("LFS007", "SC2164")]
    assert [(f["code"], f["severity"]) for f in cds] == [("LFS007", "info")], found
    assert "bash -e" in cds[0]["message"] and "(also SC2164)" in cds[0]["message"]
    assert "has no set -e" not in cds[0]["message"]


@needs_shellcheck
def test_an_lfsconf_command_without_e_makes_the_cd_a_warning(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "cd build\nmake"})
    lfsplugger.make_lfsconf("import lfsplug\n\n@lfsplug.hookimpl\n"
                            "def lfsplug_script_command(script, env, config):\n"
                            "    return ['bash', '+h', str(script.path)]\n")
    found = findings(check(lfsplugger, "--shellcheck=on"))
    cds = [f for f in found if f["line"] == 2 and f["code"] in ("LFS007", "SC2164")]
    assert [(f["code"], f["severity"]) for f in cds] == [("LFS007", "warning")], found
    assert "(also SC2164)" in cds[0]["message"]
    assert {f["code"]: f["severity"] for f in found}["LFS004"] == "warning"


@needs_shellcheck
def test_jhalfs_variables_are_not_unused(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "set -e\nPACKAGE=gcc\nVERSION=13.2.0\nOTHER=1"})
    unused = [f["message"] for f in findings(check(lfsplugger, "--shellcheck=on"))
              if f["code"] == "SC2034"]
    assert unused == ["OTHER appears unused. Verify use (or export if used externally)."]


@pytest.mark.parametrize(("argv", "errexit"), [
    (["bash", "+h", "-e", "/s/a.sh"], True),
    (["/usr/bin/chroot", "/mnt/lfs", "/bin/bash", "+h", "-e", "/lfsplug/a"], True),
    (["setpriv", "--reuid=1000", "--", "bash", "-xe", "/s/a.sh"], True),
    (["bash", "-o", "errexit", "/s/a.sh"], True),
    (["bash", "-e", "+e", "/s/a.sh"], False),
    (["bash", "+h", "/s/a.sh"], False),
    (["bash", "--login", "-e", "/s/a.sh"], True),
    (["bash", "-c", "set -e; . /s/a.sh"], None),
    (["/opt/my-runner", "/s/a.sh"], None),
])
def test_the_command_says_whether_errexit_is_on(argv: list[str], errexit: bool | None) -> None:
    from lfsplug_validation.runner import argv_errexit

    assert argv_errexit(argv, "/s/a.sh") is errexit


# -- progress of long discovery and validation ------------------------------------------------


def test_checking_2000_scripts_shows_progress_lines(lfsplugger: Lfsplugger,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """In a pipe, whole lines; the second's threshold and the lines' spacing lowered (the
    real ones: 1 s, then a line every 5 s at most)."""
    import lfsplug._reporting
    import lfsplug_terminal.progress

    monkeypatch.setattr(lfsplug._reporting, "PROGRESS_DELAY", 0.0)
    monkeypatch.setattr(lfsplug._reporting, "PROGRESS_INTERVAL", 0.01)
    monkeypatch.setattr(lfsplug_terminal.progress, "PLAIN_EVERY", 0.0)
    lfsplugger.make_tree({f"{i:04d}-pkg{i}.sh": f"set -e\necho {i}" for i in range(1, 2001)})
    result = lfsplugger.run("-p", "no:hostreqs", "check", "--shellcheck=off")
    assert result.ret == 0, result.errlines
    assert result.outlines[-1].startswith("2000 scripts checked")
    validating = [line for line in result.errlines if line.startswith("lfsplug: validating ")]
    assert validating, result.errlines
    for line in validating:
        done, total = line.removeprefix("lfsplug: validating ").split(" ")[0].split("/")
        assert 0 <= int(done) <= int(total) == 2000
        assert line.endswith(" scripts...")
    assert any(line.startswith("lfsplug: discovering ") for line in result.errlines)


def test_quick_work_shows_no_progress(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    result = lfsplugger.run("-p", "no:hostreqs", "check", "--shellcheck=off")
    assert not any("validating" in line or "discovering" in line for line in result.errlines)


def test_on_a_terminal_the_progress_line_is_transient() -> None:
    from lfsplug_terminal.progress import ProgressDisplay

    leader, follower = pty.openpty()
    try:
        with os.fdopen(follower, "w", encoding="utf-8", closefd=False) as stream:
            display = ProgressDisplay(stream, transient=True, quiet=False)
            display.show("validating", "scripts", 812, 2300)
            display.show("validating", "scripts", 812, 2300)  # unchanged: not drawn again
            display.show("validating", "scripts", 2300, 2300)  # the end: erased
        data = b""
        while select.select([leader], [], [], 0.5)[0]:  # a pty may hand it over in pieces
            data += os.read(leader, 4096)
        seen = data.decode()
    finally:
        os.close(leader)
        os.close(follower)
    assert seen == "\rvalidating 812/2300 scripts…\x1b[K\r\x1b[K"


def test_progress_lines_in_plain_mode_are_spaced(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from lfsplug_terminal.progress import ProgressDisplay

    stream = io.StringIO()
    display = ProgressDisplay(stream, transient=False, quiet=False)
    for done in range(0, 2000, 100):
        display.show("validating", "scripts", done, 2000)
    display.show("validating", "scripts", 2000, 2000)
    assert stream.getvalue() == "lfsplug: validating 0/2000 scripts...\n"
    quiet = ProgressDisplay(io.StringIO(), transient=False, quiet=True)
    quiet.show("validating", "scripts", 1, 2)
    assert isinstance(quiet.stream, io.StringIO) and quiet.stream.getvalue() == ""


def test_a_plugin_receives_the_progress_of_long_work(lfsplugger: Lfsplugger,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``lfsplug_progress`` for a display other than the terminal's: the last call of each task
    has ``done == total``."""
    import lfsplug
    import lfsplug._reporting

    monkeypatch.setattr(lfsplug._reporting, "PROGRESS_DELAY", 0.0)
    calls: list[tuple[str, str, int, int | None]] = []

    class Display:
        @lfsplug.hookimpl
        def lfsplug_progress(self, task: str, unit: str, done: int, total: int | None) -> None:
            calls.append((task, unit, done, total))

    lfsplugger.make_tree({f"{i:04d}-pkg{i}.sh": f"set -e\necho {i}" for i in range(1, 201)})
    result = lfsplugger.run("-p", "no:hostreqs", "-p", "no:terminal", "check",
                            "--shellcheck=off", plugins=[Display()])
    assert result.ret == 0
    assert not any("validating" in line for line in result.errlines)  # no terminal: no lines
    tasks = [c[0] for c in calls]
    assert tasks.index("discovering") < tasks.index("validating")
    for task in ("discovering", "validating"):
        last = [c for c in calls if c[0] == task][-1]
        assert last == (task, "scripts", 200, 200)


def test_a_failing_progress_display_is_an_error_of_its_plugin(
        lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch) -> None:
    """A display that raises stops the command with the plugin and hook named, no traceback."""
    import lfsplug
    import lfsplug._reporting

    monkeypatch.setattr(lfsplug._reporting, "PROGRESS_DELAY", 0.0)

    class Broken:
        @lfsplug.hookimpl
        def lfsplug_progress(self, done: int) -> None:
            raise RuntimeError("the display broke")

    lfsplugger.make_tree(TREE)
    result = lfsplugger.run("-p", "no:hostreqs", "check", "--shellcheck=off",
                            plugins=[Broken()])
    text = "\n".join(result.errlines)
    assert result.ret == 3
    assert "failed in hook lfsplug_progress: RuntimeError: the display broke" in text
    assert "Traceback" not in text
