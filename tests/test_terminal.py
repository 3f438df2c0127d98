"""The terminal plugin: the header, a line per script, failures with their log tail, the summary."""

from __future__ import annotations

import lfsplug
from lfsplug.testing import Lfsplugger

# fnmatch reads "[" as the start of a character class: "[[]" matches a literal "[".
BUILT_INS = ("discovery", "validation", "ordering", "executor", "terminal")


def test_header_names_version_and_plugins(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.outlines[0].startswith(f"lfsplug {lfsplug.__version__}, python ")
    assert ".lfsplug" in result.outlines[0]
    [plugins] = [line for line in result.outlines if line.startswith("plugins: ")]
    for name in BUILT_INS:
        assert f"{name}-" in plugins or name in plugins.split(", "), plugins


def test_start_and_passed_lines(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    result = lfsplugger.run("run")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "found 2 scripts under *",
        "[[]1/2] start   a",
        "[[]1/2] passed  a  *",
        "[[]2/2] start   b",
        "[[]2/2] passed  b  *",
        "==== 2 passed in * ====",
    ])


def test_counter_is_padded_for_ten_or_more_scripts(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({f"{i:02d}-s{i}.sh": "true" for i in range(1, 11)})
    result = lfsplugger.run("run")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["[[] 1/10] start   s1", "[[]10/10] passed  s10  *"])


def test_failure_shows_the_log_tail_and_the_log_path(lfsplugger: Lfsplugger) -> None:
    lines = "\n".join(f"echo line {i}" for i in range(1, 31))
    lfsplugger.make_tree({"01-ok.sh": "true", "02-bad.sh": lines + "\nexit 4"})
    result = lfsplugger.run("run")
    assert result.ret == 1
    log = lfsplugger.path / ".lfsplug" / "logs" / "bad.log"
    result.stdout.fnmatch_lines([
        "[[]2/2] failed  bad  * (exit status 4)",
        "---- last * lines of bad ----",
        "    line 29",
        "    line 30",
        f"---- full log: {log}",
        "stopped: bad failed",
        f"FAILED bad: log {log}",
        "==== 1 passed, 1 failed in * ====",
    ])
    result.stdout.no_fnmatch_line("    line 1")  # only the last lines are shown


def test_summary_counts_each_status(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "true",
        "02-b.sh": "true",
        "03-c.sh": "exit 1",
        "04-d.sh": "# lfsplug: depends=c",
        "05-e.sh": "true",
    })
    result = lfsplugger.run("run", "--order", "graph", "--keep-going")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "*skipped d  * (dependency failed: c)",
        "==== 3 passed, 1 failed, 1 skipped in * ====",
    ])
    stopped = lfsplugger.run("run")
    assert stopped.ret == 1
    stopped.stdout.fnmatch_lines(["==== 2 passed, 1 failed, 2 not-run in * ===="])


def test_two_passed_one_failed_summary(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": "true", "03-c.sh": "exit 1"})
    result = lfsplugger.run("run")
    assert result.ret == 1
    assert result.outlines[-1].startswith("==== 2 passed, 1 failed in ")
    assert result.outlines[-1].endswith(" ====")


def test_without_the_terminal_plugin_the_build_is_quiet(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    result = lfsplugger.run("run", "-p", "no:terminal")
    assert result.ret == 0
    assert result.outlines == []
    assert result.statuses() == {"a": "passed", "b": "passed"}
    logs = lfsplugger.path / ".lfsplug" / "logs"
    assert (logs / "a.log").read_text().startswith("a\n")
    assert (logs / "b.log").read_text().startswith("b\n")


def test_without_the_terminal_plugin_in_a_real_child_process(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    result = lfsplugger.run_subprocess("run", "-p", "no:terminal")
    assert result.ret == 0
    assert result.outlines == []
    assert (lfsplugger.path / ".lfsplug" / "logs" / "a.log").is_file()


def test_lfsconf_terminal_summary_adds_a_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": "true"})
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_terminal_summary(session, exitstatus, write):\n"
        "    write(f'custom: {len(session.results)} scripts, exit {exitstatus}')\n"
    )
    result = lfsplugger.run("run")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["custom: 2 scripts, exit 0", "==== 2 passed in * ===="])


def test_list_and_check_print_no_run_header(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    for command in ("list", "check"):
        result = lfsplugger.run(command)
        assert result.ret == 0
        result.stdout.no_fnmatch_line("lfsplug *, python *")
        result.stdout.no_fnmatch_line("==== *")
