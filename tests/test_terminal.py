"""The terminal plugin: plain lines and the heartbeat, the summary, logging, the board and its
rendering, and the live dashboard in a real terminal (tmux, and a pty)."""

from __future__ import annotations

import contextlib
import fcntl
import io
import logging
import os
import pty
import re
import select
import shlex
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rich.console import Console

import lfsplug
from lfsplug import (
    Alert,
    AlertLevel,
    AlertRaised,
    Edge,
    Event,
    FailureClass,
    Plan,
    Progress,
    Record,
    Sample,
    SampleTaken,
    Script,
    ScriptOutput,
    ScriptResult,
    ScriptRetry,
    Status,
)
from lfsplug.testing import Lfsplugger
from lfsplug_executor.scheduler import Throttled
from lfsplug_terminal import logs
from lfsplug_terminal.board import Board
from lfsplug_terminal.lines import (
    Idle,
    RunningInfo,
    alert_text,
    failed_where,
    finish_line,
    heartbeat_line,
    idle_text,
    names_line,
    printable,
    resume_line,
    summary_failure,
    totals_line,
)
from lfsplug_terminal.live import Dashboard
from lfsplug_terminal.plain import PlainOutput
from lfsplug_terminal.render import render, size

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


def test_plain_mode_numbers_each_script_once_at_j2(lfsplugger: Lfsplugger) -> None:
    # b ends while a still runs: a's result line must not take b's number (issue 15: "[ 4/12]
    # start calc" then "[ 4/12] passed fortune")
    lfsplugger.make_tree({
        "s/01-a.sh": "while [ ! -e ../b.done ]; do sleep 0.05; done; sleep 0.5",
        "s/02-b.sh": "sleep 0.2; touch ../b.done",
        "s/03-c.sh": "true",
    })
    result = lfsplugger.run("run", "s", "-j", "2", "--order", "graph")
    assert result.ret == 0
    found = [m for line in result.outlines
             if (m := re.match(r"\[(\d)/3\] (start|passed) +(\S+)", line))]
    lines = [m.group(0) for m in found]
    numbers: dict[str, set[str]] = {}
    for m in found:
        numbers.setdefault(m.group(3), set()).add(m.group(1))
    # a and b start at once (which first is the threads' race); c starts when b has ended
    assert len(found) == 6 and numbers["c"] == {"3"}, lines
    assert sorted(n for both in numbers.values() for n in both) == ["1", "2", "3"], lines
    passed = [m.group(3) for m in found if m.group(2) == "passed"]
    assert passed == ["b", "c", "a"], lines  # b and c did end first: the test saw the case


def test_failure_shows_the_log_tail_and_the_log_path(lfsplugger: Lfsplugger) -> None:
    lines = "\n".join(f"echo line {i}" for i in range(1, 31))
    lfsplugger.make_tree({"01-ok.sh": "true", "02-bad.sh": lines + "\nexit 4"})
    result = lfsplugger.run("run", "-p", "no:recovery")  # unclassified: what ended it
    assert result.ret == 1
    log = lfsplugger.path / ".lfsplug" / "logs" / "1" / "bad.log"
    result.stdout.fnmatch_lines([
        "[[]2/2] failed  bad  * (exit status 4)",
        "---- last * lines of bad ----",
        "    line 29",
        "    line 30",
        f"---- full log: {log}",
        "stopped: bad failed",
        "bad: failed (exit status 4) — see .lfsplug/logs/1/bad.log",
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


# -- the summary ------------------------------------------------------------------------------


class OomClassifier:
    """Labels every failure ``oom``, as a recovery plugin would from the log's signature."""

    @lfsplug.hookimpl
    def lfsplug_classify_failure(self, result: ScriptResult) -> FailureClass:
        return FailureClass("oom", "the kernel's OOM killer ended it")


def test_summary_names_the_failure_class_portage_style(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "echo out of memory; exit 137"})
    result = lfsplugger.run("run", plugins=[OomClassifier()])
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "gcc: failed (oom, exit status 137) \u2014 see .lfsplug/logs/1/gcc.log",
        "==== 1 failed in * ====",
    ])


def test_summary_lists_every_failed_script_with_its_log(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "exit 2", "02-b.sh": "true", "03-c.sh": "kill -9 $$"})
    # unclassified (no recovery plugin): what ended each
    result = lfsplugger.run("run", "--order", "graph", "--keep-going", "-p", "no:recovery")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "a: failed (exit status 2) \u2014 see .lfsplug/logs/1/a.log",
        "c: failed (signal 9) \u2014 see .lfsplug/logs/1/c.log",
        "==== 1 passed, 2 failed in * ====",
    ])


def test_summary_gives_the_class_and_what_ended_it(lfsplugger: Lfsplugger) -> None:
    """With the recovery plugin: the class when it is known, and always what ended the script
    (an ``unknown`` class is not said)."""
    lfsplugger.make_tree({"01-a.sh": "exit 2", "02-b.sh": "true", "03-c.sh": "kill -9 $$"})
    result = lfsplugger.run("run", "--order", "graph", "--keep-going")
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "a: failed (exit status 2) \u2014 see .lfsplug/logs/1/a.log",
        "c: failed (killed, signal 9) \u2014 see .lfsplug/logs/1/c.log",
    ])


def test_summary_counts_results_reused_from_earlier_runs(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": "true"})
    assert lfsplugger.run("run").ret == 0
    again = lfsplugger.run("run")
    assert again.ret == 0
    again.stdout.fnmatch_lines(["*passed  a  * (unchanged, from an earlier run)",
                                "==== 2 passed in * (2 reused from earlier runs) ===="])


def test_summary_line_texts() -> None:
    failed = ScriptResult("gcc", Status.FAILED, exit_code=1, log_path=Path("/b/.lfsplug/x.log"))
    assert summary_failure(failed, "-", Path("/b")).text == "gcc: failed (exit status 1) - see " \
        ".lfsplug/x.log"
    elsewhere = summary_failure(failed, "-", Path("/other")).text
    assert elsewhere.endswith("see /b/.lfsplug/x.log")
    counts = {"passed": 3, "failed": 1, "skipped": 0, "not-run": 2}
    line = totals_line(counts, 0, 125.0, True)
    assert line.text == "==== 3 passed, 1 failed, 2 not-run in 2m05s ===="
    assert line.style == {"fg": "red", "bold": True}
    done = ScriptResult("a", Status.PASSED, started=10.0, finished=12.5)
    assert finish_line(3, 10, done).text == "[ 3/10] passed  a  2.5 s"


class WhereClassifier:
    """Labels a failure and says where it failed, as the recovery plugin does."""

    @lfsplug.hookimpl
    def lfsplug_classify_failure(self, result: ScriptResult) -> FailureClass:
        result.failed_command, result.failed_line, result.failed_step = "make -j4", 7, "make"
        return FailureClass("compile-error", "read the first error of the log")


def test_summary_says_where_it_failed_what_it_left_unbuilt_and_how_to_resume(
        lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-gcc.sh": "# lfsplug: depends=\nexit 2",
        "02-glibc.sh": "# lfsplug: depends=gcc\ntrue",
        "03-bash.sh": "# lfsplug: depends=glibc\ntrue",
        "04-other.sh": "# lfsplug: depends=\ntrue",
    })
    result = lfsplugger.run("run", ".", "--order", "graph", "--keep-going", "-j", "2",
                            "--force", "other", "-p", "no:monitor", plugins=[WhereClassifier()])
    assert result.ret == 1
    result.stdout.fnmatch_lines([
        "gcc: failed (compile-error, exit status 2) \u2014 see *gcc.log",
        "    failed command (line 7, make): make -j4",
        "    not built because of it: glibc, bash",
        # the options given, less those that act once (--force)
        "resume with: lfsplug -p no:monitor run . --jobs 2 --keep-going --order graph",
        "==== 1 passed, 1 failed, 2 skipped in * ====",
    ])


def test_summary_names_what_a_stopped_build_did_not_reach(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": "exit 1", "03-c.sh": "true"})
    result = lfsplugger.run("run", "--order", "graph", "-p", "no:recovery")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["b: failed (exit status 1) * see *b.log",
                                 "not reached, the build stopped: c",
                                 "resume with: lfsplug -p no:recovery run . --order graph"])
    result.stdout.no_fnmatch_line("*not built because of it*")


def test_a_build_that_passed_says_no_resume_command(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("run")
    assert result.ret == 0
    result.stdout.no_fnmatch_line("resume with:*")


def test_failure_detail_line_texts() -> None:
    failed = ScriptResult("gcc", Status.FAILED, exit_code=1, failed_command="curl "
                          "https://u:pw@host/x API_KEY=abc", failed_line=3)
    where = failed_where(failed)
    assert where is not None
    assert where.text == "    failed command (line 3): curl https://u:***@host/x API_KEY=***"
    assert failed_where(ScriptResult("a", Status.FAILED)) is None
    names = [f"s{n}" for n in range(12)]
    assert names_line("not built because of it", names).text == (
        "    not built because of it: s0, s1, s2, s3, s4, s5, s6, s7, s8, s9 (and 2 more)")
    assert resume_line("lfsplug run .").text == "resume with: lfsplug run ."


# -- plain mode: verbosity, heartbeat, alerts, parallel scripts ----------------------------------


def test_heartbeat_says_what_runs_when_nothing_was_printed(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-quick.sh": "true", "02-slow.sh": "sleep 1.5"})
    result = lfsplugger.run("run", "--heartbeat", "0.2")
    assert result.ret == 0
    result.stdout.re_match_lines([
        r"\[2/2\] start   slow",
        r"\[1/2\] still building after [\d.]+ s: slow [\d.]+ s$",
        r"\[2/2\] passed  slow",
    ])


def test_no_heartbeat_while_the_interval_has_not_passed(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "sleep 0.3"})
    for args in ((), ("--heartbeat", "0")):
        result = lfsplugger.run("run", *args)
        assert result.ret == 0
        result.stdout.no_fnmatch_line("*still building*")


def test_heartbeat_interval_from_the_configuration_file(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-slow.sh": "sleep 1"})
    lfsplugger.make_config("heartbeat = 0.2\n")
    result = lfsplugger.run("run")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*still building after * slow *"])


def test_quiet_keeps_the_heartbeat(lfsplugger: Lfsplugger) -> None:
    # a quiet CI job must still show that it is alive while a long script is silent
    lfsplugger.make_tree({"01-slow.sh": "sleep 1"})
    result = lfsplugger.run("run", "-q", "--heartbeat", "0.2")
    assert result.ret == 0
    result.stdout.no_fnmatch_line("*start   slow*")
    result.stdout.fnmatch_lines(["[[]0/1] still building after * slow *", "==== 1 passed in *"])


def test_heartbeat_timing_with_a_clock_of_our_own() -> None:
    now = [100.0]
    board = Board(started=time.time() - 65)
    out = io.StringIO()
    plain = PlainOutput(out, io.StringIO(), board, heartbeat=60.0, clock=lambda: now[0])
    assert plain.due_in() == 60.0
    now[0] = 130.0
    plain.lines([finish_line(1, 2, ScriptResult("a", Status.PASSED))])
    assert plain.due_in() == 60.0  # a line was printed: the wait starts again
    now[0] = 190.0
    assert plain.due_in() == 0.0
    with board.lock:
        board.total = 2
    board.script_started("gcc", 1, board.started + 35, 300.0)
    plain.beat()
    last = out.getvalue().splitlines()[-1]
    assert re.fullmatch(r"\[0/2\] still building after 1m0\ds: gcc 3\d.\d s of ~5m00s", last), \
        last
    assert plain.due_in() == 60.0 and plain.heartbeats == 1


def test_heartbeat_line_text() -> None:
    running = [RunningInfo("gcc", 242.0, 300.0), RunningInfo("binutils", 60.0)]
    line = heartbeat_line(3, 10, 750.0, running, 1500.0)
    assert line.text == ("[ 3/10] still building after 12m30s: gcc 4m02s of ~5m00s, "
                         "binutils 1m00s; ETA 25m00s")
    assert heartbeat_line(0, 1, 5.0, [], None).text == "[0/1] still building after 5.0 s: " \
        "nothing running"
    idle = Idle(1, waits=("glibc", ("gcc",)))
    assert heartbeat_line(1, 3, 5.0, running[:1], None, idle=idle).text == (
        "[1/3] still building after 5.0 s: gcc 4m02s of ~5m00s; 1 slot idle: nothing ready; "
        "glibc waits for gcc")


def test_quiet_prints_failures_and_the_summary_only(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b; exit 3"})
    result = lfsplugger.run("run", "-q", "-p", "no:recovery")
    assert result.ret == 1
    result.stdout.no_fnmatch_line("lfsplug *, python *")
    result.stdout.no_fnmatch_line("*start   *")
    result.stdout.no_fnmatch_line("*passed  a*")
    result.stdout.fnmatch_lines(["[[]2/2] failed  b  * (exit status 3)", "    b",
                                 "b: failed (exit status 3) * see .lfsplug/logs/1/b.log",
                                 "==== 1 passed, 1 failed in * ===="])


def test_verbose_prints_each_output_line_after_its_script(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo one; echo two", "02-b.sh": "echo three"})
    result = lfsplugger.run("run", "--verbose")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["[[]1/2] start   a", "a| one", "a| two", "[[]1/2] passed  a*",
                                 "b| three", "[[]2/2] passed  b*"])


def test_verbose_and_quiet_together_is_a_usage_error(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("run", "-v", "-q")
    assert result.ret == 4
    assert result.errlines == ["lfsplug: --verbose and --quiet: give one or the other"]


def test_bad_heartbeat_names_the_option(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("run", "--heartbeat", "-1")
    assert result.ret == 4
    assert "--heartbeat" in result.errlines[-1]
    lfsplugger.make_config("heartbeat = 'soon'\n")
    result = lfsplugger.run("run")
    assert result.ret == 4
    assert result.errlines[-1].startswith("lfsplug: ") and "lfsplug.toml:1" in \
        result.errlines[-1]
    assert "heartbeat" in result.errlines[-1]


class AlertOnStart:
    """Raises one alert, and publishes a system sample, when the first script starts."""

    @lfsplug.hookimpl
    def lfsplug_script_start(self, session: lfsplug.Session, script: Script) -> None:
        session.alert(Alert("disk", "warn", "/mnt/lfs has 4.2G free", time.time()))


def test_alerts_are_logged_through_logging(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("run", plugins=[AlertOnStart()])
    assert result.ret == 0
    assert "lfsplug: warning: disk warn: /mnt/lfs has 4.2G free" in result.errlines
    quiet = lfsplugger.run("run", "-q", "--force-all", plugins=[AlertOnStart()])
    assert "lfsplug: warning: disk warn: /mnt/lfs has 4.2G free" in quiet.errlines


def test_plugins_log_through_the_terminal_for_every_command(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    lfsplugger.make_lfsconf(
        "import logging\n\nimport lfsplug\n\nlog = logging.getLogger('lfsplug.mine')\n\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_collection_finish(session):\n"
        "    log.debug('not shown unless -v')\n"
        "    log.info('collected')\n"
        "    log.warning('careful')\n"
    )
    for command in ("list", "run"):
        result = lfsplugger.run(command)
        assert result.ret == 0
        assert result.errlines[:2] == ["lfsplug: collected", "lfsplug: warning: careful"], \
            result.errlines
    verbose = lfsplugger.run("run", "-v", "--force-all")
    assert "lfsplug: debug: not shown unless -v" in verbose.errlines
    quiet = lfsplugger.run("run", "-q", "--force-all")
    assert quiet.errlines[:1] == ["lfsplug: warning: careful"]
    # the handler leaves with the command: nothing accumulates across runs in one process
    handlers = [h for h in logging.getLogger("lfsplug").handlers
                if isinstance(h, logs.SinkHandler)]
    assert handlers == []


def test_log_formatters_plain_and_coloured() -> None:
    seen: list[str] = []
    installed = logs.install(logging.INFO, colour=False, sink=seen.append)
    try:
        logging.getLogger("lfsplug.x").warning("low on %s", "disk")
        logging.getLogger("lfsplug.x").info("fine")
        logging.getLogger("lfsplug.x").debug("hidden")
    finally:
        logs.uninstall(installed)
    assert seen == ["lfsplug: warning: low on disk", "lfsplug: fine"]
    installed = logs.install(logging.INFO, colour=True, sink=seen.append)
    try:
        logging.getLogger("lfsplug").error("broken")
    finally:
        logs.uninstall(installed)
    assert seen[-1].startswith("\x1b[") and "lfsplug: error: broken" in seen[-1]
    # ours are gone (pytest's log capture may have handlers of its own there)
    assert not [h for h in logging.getLogger("lfsplug").handlers
                if isinstance(h, logs.SinkHandler)]


def test_parallel_failures_print_whole_blocks(lfsplugger: Lfsplugger) -> None:
    body = "for i in $(seq 1 30); do echo {name} line $i; done; sleep 0.2; exit 1"
    lfsplugger.make_tree({f"0{i}-s{i}.sh": body.format(name=f"s{i}") for i in range(1, 5)})
    result = lfsplugger.run("run", "--order", "graph", "--keep-going", "-j", "4")
    assert result.ret == 1
    lines = result.outlines
    for i in range(1, 5):
        head = lines.index(f"---- last 20 lines of s{i} ----")
        block = lines[head + 1: head + 21]
        assert block == [f"    s{i} line {n}" for n in range(11, 31)], block
        assert lines[head + 21].startswith("---- full log: ")


def test_without_the_monitor_plugin_plain_mode_works(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "sleep 0.5", "02-b.sh": "true"})
    result = lfsplugger.run("run", "-p", "no:monitor", "--heartbeat", "0.1")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["[[]0/2] still building after *: a *", "==== 2 passed in *"])
    result.stdout.no_fnmatch_line("*ETA*")


# -- the board ----------------------------------------------------------------------------------


def script(name: str, phase: str | None = None) -> Script:
    return Script(name, Path(f"/s/{name}.sh"), Path("/s"), phase=phase)


def ev(record: Record, when: float, name: str | None = None) -> Event:
    return Event(record.kind, when, record.priority, name, record)


def output(when: float, name: str, *lines: str) -> Event:
    return ev(ScriptOutput(lines), when, name)


def sampled(when: float, name: str | None, values: dict[str, float]) -> Event:
    return ev(SampleTaken(Sample(when, values, name)), when, name)


def progress(when: float, eta: float, bound: float, sbu_seconds: float) -> Event:
    return ev(Progress(0, 2, 0.0, eta, bound, sbu_seconds=sbu_seconds), when)


def alerted(when: float, kind: str, level: str, message: str) -> Event:
    return ev(AlertRaised(Alert(kind, AlertLevel(level), message, when)), when)


def retried(when: float, name: str, attempt: int, reason: str) -> Event:
    return ev(ScriptRetry(attempt, reason), when, name)


def test_board_counts_scripts_and_phases() -> None:
    board = Board(started=1000.0)
    board.begin(Plan([script("a", "cross"), script("b", "cross"), script("c", "temp"),
                      script("d")]))
    board.script_started("a", 1, 1001.0, 10.0)
    board.script_started("b", 1, 1002.0, None)
    assert board.script_finished(ScriptResult("a", Status.PASSED, cached=True)) == 1
    view = board.view(now=1010.0)
    assert (view.done, view.total, view.reused) == (1, 4, 1)
    assert view.phases == [("cross", 1, 2), ("temp", 0, 1)]
    assert [(r.name, r.expected) for r in view.rows] == [("b", None)]
    assert view.running() == [RunningInfo("b", 8.0, None)]
    assert view.elapsed == 10.0


def test_board_takes_output_samples_progress_alerts_and_retries() -> None:
    board = Board(started=1000.0)
    board.begin(Plan([script("gcc"), script("glibc")]))
    board.script_started("gcc", 1, 1001.0, 60.0)
    version = board.version
    board.apply([output(1002.0, "gcc", "a", "\x1b[1mcc -c x.c\x1b[0m"),
                 output(1002.0, "gone", "ignored")])
    assert board.version == version + 1
    board.apply([output(1002.0, "gone", "ignored")])
    assert board.version == version + 1  # nothing shown changed: no redraw wanted
    board.apply([
        sampled(1003.0, None, {"cpu_percent": 50.0}),
        sampled(1003.0, "gcc", {"cpu_percent": 180.0, "rss": 2e9}),
        progress(1003.0, 100.0, 40.0, 120.0),
        alerted(1004.0, "disk", "warn", "first"),
        alerted(1005.0, "memory", "clear", "second"),
        retried(1006.0, "gcc", 1, "flaky"),
    ])
    view = board.view(now=1013.0)
    [row] = view.rows
    assert row.last_line == "cc -c x.c"
    assert (row.cpu_percent, row.rss, row.note) == (180.0, 2e9, "retry after attempt 1")
    assert view.system == {"cpu_percent": 50.0}
    assert (view.eta, view.bound, view.sbu_seconds) == (90.0, 30.0, 120.0)  # counting down
    assert [a.message for a in view.alerts] == ["second", "first"]  # newest first
    board.apply([output(1007.0, "gcc", "x")], output=False)
    assert board.view().rows[0].last_line == "cc -c x.c"  # plain mode skips output


def test_printable_output_lines() -> None:
    assert printable("plain text") == "plain text"
    assert printable("\x1b[01;32mgreen\x1b[0m text") == "green text"
    assert printable(" 10%\r 50%\r100%") == "100%"
    assert printable("done\r") == "done"
    assert printable("a\tb\x07c") == "a   bc"
    assert printable("\x1b]0;title\x07shown") == "shown"


def test_alert_text() -> None:
    alert = Alert("disk", AlertLevel.STOP, "/mnt/lfs: 900M free", 0.0)
    assert alert_text(alert) == "disk stop: /mnt/lfs: 900M free"


# -- rendering, recorded by a rich Console --------------------------------------------------------


def rendered(board: Board, now: float, width: int = 120, height: int = 40) -> str:
    console = Console(record=True, width=width, height=height, file=io.StringIO())
    console.print(render(board.view(now=now), height=height, width=width))
    return console.export_text()


SYSTEM = {"cpu_percent": 73.0, "mem_percent": 41.0, "mem_available": 3 << 30, "load1": 2.5,
          "swap_percent": 0.0, "disk_percent:lfs": 92.0, "disk_free:lfs": 2 << 30,
          "disk_percent:sources": 50.0, "disk_free:sources": 20 << 30}


def full_board() -> Board:
    board = Board(started=1000.0)
    board.begin(Plan([script("prep", "cross"), script("gcc", "temp"), script("glibc", "temp"),
                      script("bash", "system")]))
    board.script_started("prep", 1, 1000.0, None)
    board.script_finished(ScriptResult("prep", Status.PASSED))
    board.script_started("gcc", 1, 1100.0, 300.0)
    board.script_started("glibc", 2, 1150.0, None)
    board.apply([
        output(1190.0, "gcc", "make[2]: Entering directory 'libgcc'"),
        output(1190.0, "glibc", "checking for malloc.h... yes"),
        sampled(1190.0, None, SYSTEM),
        sampled(1190.0, "gcc", {"cpu_percent": 190.0, "rss": 1.5 * (1 << 30)}),
        progress(1190.0, 3610.0, 1810.0, 130.0),
        alerted(1195.0, "disk", "warn", "lfs has 2.0G free"),
        alerted(1196.0, "overrun", "warn", "gcc runs long"),
    ])
    return board


def test_render_shows_every_part_of_the_dashboard() -> None:
    text = rendered(full_board(), now=1200.0)
    lines = text.splitlines()
    # the monitor's figures count down from the time of its event (ten seconds ago)
    assert re.match(r"\[1/4\] .* 25%  elapsed 3m20s  ETA 1h00m00s  bound 30m00s  "
                    r"1 SBU = 2m10s$", lines[0].rstrip()), lines[0]
    assert lines[1].rstrip() == "phases  cross 1/1  temp 0/2  system 0/1"
    assert re.match(r"\u25b6 gcc +1m40s / 5m00s \u2501{10} cpu 190% rss 1.5G make\[2\]: "
                    r"Entering directory 'libgcc'", lines[2]), lines[2]
    assert re.match(r"\u25b6 glibc #2 +50.0 s +checking for malloc.h... yes", lines[3]), lines[3]
    # the gauges go on to a second line, indented, rather than past the width
    assert lines[5].startswith("  disk sources "), lines[5]
    gauges = lines[4] + lines[5]
    for part in ("cpu ", " 73%", "mem ", " 41% 3.0G free", "disk lfs ", " 92% 2.0G free",
                 "disk sources ", " 50% 20.0G free", "load 2.5"):
        assert part in gauges, gauges
    assert "swap" not in gauges  # no swap in use: no gauge
    assert re.match(r"\d\d:\d\d:\d\d warn  overrun: gcc runs long", lines[6]), lines[6]
    assert re.match(r"\d\d:\d\d:\d\d warn  disk: lfs has 2.0G free", lines[7]), lines[7]
    assert len(lines) == 8


def test_render_without_a_monitor_shows_counts_and_rows_only() -> None:
    board = Board(started=1000.0)
    board.begin(Plan([script("a"), script("b")]))
    board.script_started("a", 1, 1000.0, None)
    board.apply([output(1001.0, "a", "hello")])
    lines = rendered(board, now=1005.0).splitlines()
    assert re.match(r"\[0/2\] .* 0%  elapsed 5.0 s$", lines[0].rstrip()), lines[0]
    assert re.match(r"\u25b6 a +5.0 s +hello$", lines[1].rstrip()), lines[1]
    assert len(lines) == 2


def test_render_keeps_to_the_terminal_and_cuts_long_lines() -> None:
    board = full_board()
    for i in range(30):
        board.script_started(f"extra{i}", 1, 1100.0 + i, None)
    board.apply([output(1190.0, "gcc", "x" * 500)])
    lines = rendered(board, now=1200.0, width=80, height=20).splitlines()
    assert len(lines) <= 20
    assert any(re.match(r"\.\.\. and \d+ more running", line) for line in lines)
    assert all(len(line) <= 80 for line in lines)
    assert "\u2026" in next(line for line in lines if "gcc" in line)


def test_render_marks_a_script_past_its_expected_time() -> None:
    board = Board(started=0.0)
    board.begin(Plan([script("gcc")]))
    board.script_started("gcc", 1, 0.0, 60.0)
    console = Console(record=True, width=100, force_terminal=True, color_system="standard",
                      file=io.StringIO())
    console.print(render(board.view(now=90.0)))
    assert "\x1b[31m 1m30s / 1m00s" in console.export_text(styles=True)


def wide_board() -> Board:
    """Every part of the board at its widest: swap in use, three watched directories, every
    figure of the overall line, a failure, a stop."""
    board = full_board()
    board.apply([sampled(1190.0, None, {**SYSTEM, "swap_percent": 12.0,
                                        "disk_percent:state": 20.0,
                                        "disk_free:state": 80 << 30})])
    board.script_finished(ScriptResult("bash", Status.FAILED))
    board.stopping = "bash failed"
    return board


@pytest.mark.parametrize("width", [80, 120])
def test_render_fits_80_and_120_columns_without_losing_a_gauge(width: int) -> None:
    # issue 15: the gauge line ran past 120 columns (cut: the last watched directory lost)
    lines = rendered(wide_board(), now=1200.0, width=width).splitlines()
    assert all(len(line.rstrip()) < width for line in lines), "\n".join(lines)
    board_text = "\n".join(lines)
    for part in ("ETA 1h00m00s", "bound 30m00s", "1 SBU = 2m10s", "1 failed",
                 "stopping: bash failed", "swap ", " 12%", "disk lfs ", " 2.0G free",
                 "disk sources ", " 20.0G free", "disk state ", " 80.0G free", "load 2.5"):
        assert part in board_text, board_text
    # only what a script printed is cut short, never a figure
    assert all("\u2026" not in line for line in lines if not line.startswith("\u25b6")), lines


def throttled(when: float, reason: str | None, waiting: str | None) -> Event:
    return ev(Throttled(reason, 1, waiting), when)


def chain_board(jobs: int = 2) -> Board:
    """a and b have no dependencies; c waits for a; d waits for c."""
    board = Board(started=0.0)
    board.begin(Plan([script(n) for n in "abcd"],
                     [Edge("a", "c", "depends", "test"), Edge("c", "d", "depends", "test")]),
                jobs)
    return board


def test_board_says_why_a_slot_is_idle_and_what_starts_next() -> None:
    board = chain_board()
    board.script_started("a", 1, 1.0, None)
    # the scheduler holds b back: the makes of a took every job slot of the jobserver
    board.apply([throttled(1.5, "the makes of a hold all 2 job slots of the jobserver", "b")])
    assert board.view(2.0).idle == Idle(1, "the makes of a hold all 2 job slots of the "
                                           "jobserver", ("b",))
    assert "\u25e6 1 slot idle: the makes of a hold all 2 job slots of the jobserver; next: b" \
        in rendered(board, now=2.0)
    board.apply([throttled(3.0, None, None)])
    board.script_started("b", 1, 3.0, None)
    assert board.view(3.0).idle is None  # both slots busy
    board.script_finished(ScriptResult("b", Status.PASSED))
    # c waits for a, which runs: nothing is ready
    assert board.view(4.0).idle == Idle(1, waits=("c", ("a",)))
    assert "1 slot idle: nothing ready; c waits for a" in rendered(board, now=4.0)
    board.stopping = "interrupted"
    assert board.view(4.0).idle is None  # the overall line says why nothing starts


def test_board_idle_with_a_stale_throttle_and_at_the_end() -> None:
    board = chain_board(jobs=3)
    board.script_started("a", 1, 1.0, None)
    board.apply([throttled(1.5, "available memory 100.0M is below 256.0M", "b")])
    board.script_finished(ScriptResult("b", Status.SKIPPED))  # not the throttle's script now
    assert board.view(2.0).idle == Idle(2, waits=("c", ("a",)))
    board.script_finished(ScriptResult("a", Status.PASSED))
    board.script_started("c", 1, 3.0, None)
    assert board.view(3.0).idle == Idle(2, waits=("d", ("c",)))
    board.script_finished(ScriptResult("c", Status.PASSED))
    board.script_started("d", 1, 4.0, None)
    assert board.view(4.0).idle == Idle(2)
    assert idle_text(Idle(2)) == "2 slots idle: nothing left to start"
    assert idle_text(Idle(1, ready=("x", "y", "z"))) == "1 slot idle; next: x (2 more ready)"
    assert chain_board(jobs=1).view(0.0).idle is None


def test_sizes_for_people() -> None:
    assert [size(n) for n in (512, 3 << 10, 1.5 * (1 << 30), 5 << 40)] == [
        "512B", "3.0K", "1.5G", "5.0T"]


# -- the dashboard object, on a recording console ---------------------------------------------


@contextlib.contextmanager
def dashboard_on(console: Console, board: Board,
                 clock: Callable[[], float] = time.time) -> Iterator[Dashboard]:
    # a long interval: the test redraws by hand, so nothing depends on timing
    dashboard = Dashboard(io.StringIO(), board, interval=3600, console=console, clock=clock)
    dashboard.start()
    try:
        yield dashboard
    finally:
        dashboard.stop()


def test_dashboard_redraws_only_when_something_changed() -> None:
    board = Board(started=1000.0)
    board.begin(Plan([script("a")]))
    now = [1000.2]
    console = Console(file=io.StringIO(), force_terminal=True, width=100, height=30)
    with dashboard_on(console, board, clock=lambda: now[0]) as dashboard:
        assert dashboard._changed()
        dashboard.redraw()
        assert not dashboard._changed()
        now[0] = 1000.9  # the elapsed time shown is still 0 s
        assert not dashboard._changed()
        board.apply([output(1000.9, "nobody", "x")])
        assert not dashboard._changed()  # the board did not change
        board.script_started("a", 1, 1000.9, None)
        assert dashboard._changed()
        dashboard.redraw()
        assert not dashboard._changed()
        now[0] = 1001.0  # the clock shows another second
        assert dashboard._changed()
        dashboard.redraw()
        assert dashboard.stats()["redraws"] == 3


def test_dashboard_prints_lines_above_and_restores_the_cursor() -> None:
    board = full_board()
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, height=30)
    with dashboard_on(console, board) as dashboard:
        dashboard.redraw()
        dashboard.lines([finish_line(1, 4, ScriptResult("prep", Status.PASSED))])
        dashboard.raw("lfsplug: warning: \x1b[33mlow\x1b[0m")
    raw = out.getvalue()
    assert "\x1b[?25l" in raw  # the cursor was hidden while the board was up
    assert raw.rindex("\x1b[?25h") > raw.rindex("\x1b[?25l")  # and is shown again
    assert "[1/4] passed  prep" in raw
    assert "gcc" in raw


# -- the dashboard in a real terminal -----------------------------------------------------------

TMUX = shutil.which("tmux")
needs_tmux = pytest.mark.skipif(TMUX is None, reason="tmux is not installed")

#: A stand-in for the monitor plugin, loaded with -p: at each script start a system sample, a
#: progress event with an ETA and an alert, as the monitor's contract gives them.
FAKE_MONITOR = '''
import time

import lfsplug
from lfsplug import Alert, Progress, Sample


@lfsplug.hookimpl
def lfsplug_script_start(session, script, attempt):
    now = time.time()
    session.sample(Sample(now, {"cpu_percent": 42.0, "mem_percent": 37.0,
                                "mem_available": 3 << 30, "load1": 1.5,
                                "disk_percent:lfs": 81.0, "disk_free:lfs": 5 << 30}))
    session.emit(Progress(done=0, total=3, elapsed=1.0, eta=1234.0, bound=600.0))
    session.alert(Alert("disk", "warn", f"lfs is filling up ({script.name})", now))
'''


def wait_for_go(go: Path, first: str) -> str:
    return f"echo '{first}'\nwhile [ ! -e {go} ]; do sleep 0.05; done\necho finished"


class Tmux:
    """A tmux server of the test's own (its own socket), with one pane running a command."""

    def __init__(self, where: Path, width: int = 120, height: int = 40) -> None:
        assert TMUX is not None
        self.argv = [TMUX, "-S", str(where / "tmux.sock"), "-f", "/dev/null"]
        self.width, self.height = width, height

    def __call__(self, *args: str) -> str:
        done = subprocess.run([*self.argv, *args], capture_output=True, text=True, check=True,
                              timeout=30)
        return done.stdout

    def start(self, cwd: Path, argv: list[str], env: dict[str, str]) -> None:
        """Run ``argv`` in the pane; a shell around it prints its exit status and keeps the
        pane open, so that the screen can still be read afterwards."""
        unset = " ".join(f"-u {name}" for name in ("NO_COLOR", "LFSPLUG_ADDOPTS",
                                                   "LFSPLUG_PLUGINS", "COLUMNS", "LINES"))
        assigned = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        # the shell outlives a Ctrl-C (a trap with a command is reset to the default in
        # the child, so lfsplug gets the signal as a user's build would)
        line = (f"trap true INT; env {unset} {assigned} {shlex.join(argv)}; echo EXIT=$?; "
                f"sleep 600")
        self("new-session", "-d", "-s", "t", "-x", str(self.width), "-y", str(self.height),
             "-c", str(cwd), "sh", "-c", line)

    def screen(self) -> str:
        return self("capture-pane", "-p", "-t", "t")

    def wait_for(self, *texts: str, timeout: float = 60.0) -> str:
        """The screen once every text is on it (the test fails after ``timeout`` s)."""
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(text in screen for text in texts):
                return screen
            if time.monotonic() > deadline:
                missing = [t for t in texts if t not in screen]
                pytest.fail(f"not on the screen: {missing}\n{screen}")
            time.sleep(0.1)

    def history(self) -> str:
        """Everything the pane holds, scrollback included, wrapped lines joined."""
        return self("capture-pane", "-p", "-J", "-S", "-", "-t", "t")

    def cursor_visible(self) -> bool:
        return self("display-message", "-p", "-t", "t", "#{cursor_flag}").strip() == "1"

    def close(self) -> None:
        with contextlib.suppress(subprocess.SubprocessError):
            self("kill-server")


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    server = Tmux(tmp_path)
    try:
        yield server
    finally:
        server.close()


def lfsplug_argv(*args: str) -> list[str]:
    return [sys.executable, "-m", "lfsplug", "run", *args, "--shellcheck", "off",
            "--host-check", "off"]


@needs_tmux
def test_dashboard_in_tmux_shows_rows_gauges_alerts_then_the_summary(
    lfsplugger: Lfsplugger, tmux: Tmux
) -> None:
    go = lfsplugger.path / "GO"
    lfsplugger.make_tree({
        "s/01-prep.sh": "# lfsplug: phase=tools\necho prepared",
        "s/02-gcc.sh": "# lfsplug: phase=packages\n" + wait_for_go(go, "compiling gcc/tree.c"),
        "s/03-glibc.sh": "# lfsplug: phase=packages\n" + wait_for_go(go, "compiling malloc.c"),
        "fakemon.py": FAKE_MONITOR,
    })
    # the stand-in alone gives the figures: the real monitor's would overwrite them
    tmux.start(lfsplugger.path, lfsplug_argv("s", "-p", "fakemon", "-p", "no:monitor",
                                             "--order", "graph", "-j", "2"),
               {"PYTHONPATH": str(lfsplugger.path)})
    screen = tmux.wait_for("\u25b6 gcc", "\u25b6 glibc", "compiling gcc/tree.c",
                           "compiling malloc.c")
    screen = tmux.wait_for("[1/3]", "ETA", "disk lfs", "lfs is filling up (glibc)")
    lines = screen.splitlines()
    assert "[1/3] passed  prep" in screen  # the record, above the board
    board = lines[next(i for i, line in enumerate(lines) if line.startswith("[1/3] \u2501")):]
    assert board[1].startswith("phases  tools 1/1  packages 0/2")
    rows = [line for line in board if line.startswith("\u25b6 ")]
    assert len(rows) == 2 and all(line.endswith(".c") for line in (r.rstrip() for r in rows))
    assert any(line.startswith("cpu ") and "42%" in line and "disk lfs" in line
               for line in board)
    assert not tmux.cursor_visible()
    go.touch()
    screen = tmux.wait_for("EXIT=")
    assert "EXIT=0" in screen
    assert re.search(r"^==== 3 passed in .* ====$", screen, re.M), screen
    assert "\u25b6" not in screen  # the board left the screen
    assert screen.count("lfsplug: warning: disk warn: lfs is filling up") == 3
    assert "Traceback" not in screen
    assert tmux.cursor_visible()


def monitor_installed() -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == "monitor" for ep in entry_points(group="lfsplug"))


@needs_tmux
@pytest.mark.skipif(not monitor_installed(), reason="the monitor plugin is not installed")
def test_dashboard_in_tmux_with_the_real_monitor(lfsplugger: Lfsplugger, tmux: Tmux) -> None:
    go = lfsplugger.path / "GO"
    lfsplugger.make_tree({"01-a.sh": wait_for_go(go, "sampled"), "02-b.sh": "true"})
    tmux.start(lfsplugger.path, lfsplug_argv(".", "-p", "monitor"), {})
    # the system's gauges and the script's own figures come from samples of one tick
    screen = tmux.wait_for("\u25b6 a", "sampled", "cpu ", "mem ", "disk state ", " rss ")
    row = next(line for line in screen.splitlines() if line.startswith("\u25b6 a"))
    assert re.search(r"cpu +\d+% rss [\d.]+[BKMG] sampled", row), row  # its process tree
    go.touch()
    screen = tmux.wait_for("EXIT=")
    assert "EXIT=0" in screen and re.search(r"^==== 2 passed in .* ====$", screen, re.M)
    assert tmux.cursor_visible()


@needs_tmux
def test_dashboard_in_tmux_ends_cleanly_on_ctrl_c(lfsplugger: Lfsplugger, tmux: Tmux) -> None:
    go = lfsplugger.path / "GO"  # never made: only the interrupts end the script
    lfsplugger.make_tree({"01-wait.sh": wait_for_go(go, "waiting for godot"), "02-b.sh": "true"})
    tmux.start(lfsplugger.path, lfsplug_argv("."), {})
    tmux.wait_for("\u25b6 wait", "waiting for godot")
    tmux("send-keys", "-t", "t", "C-c")
    # the first: no new script starts, this one goes on; the scheduler says so through
    # click.echo, which must land above the board, whole
    screen = tmux.wait_for("stopping: interrupted", "\u25b6 wait")
    assert re.search(r"^lfsplug: interrupted: no new script starts; waiting for 1 running "
                     r"script to finish", screen, re.M), screen
    assert screen.count("\u25b6 wait") == 1  # nothing wrote into the board
    tmux("send-keys", "-t", "t", "C-c")
    screen = tmux.wait_for("EXIT=")
    assert "EXIT=2" in screen
    assert "interrupted: running scripts were ended" in screen
    assert re.search(r"^==== 1 failed, 1 not-run in .* ====$", screen, re.M), screen
    assert "\u25b6" not in screen and "Traceback" not in screen
    assert tmux.cursor_visible()


#: A stand-in for the monitor at its widest: swap in use, three watched directories, every
#: figure of the progress line.
WIDE_MONITOR = '''
import time

import lfsplug
from lfsplug import Progress, Sample


@lfsplug.hookimpl
def lfsplug_script_start(session, script, attempt):
    session.sample(Sample(time.time(), {
        "cpu_percent": 42.0, "mem_percent": 37.0, "mem_available": 3 << 30, "load1": 1.5,
        "swap_percent": 12.0, "disk_percent:lfs": 81.0, "disk_free:lfs": 5 << 30,
        "disk_percent:sources": 40.0, "disk_free:sources": 25 << 30,
        "disk_percent:state": 20.0, "disk_free:state": 80 << 30}))
    session.emit(Progress(done=0, total=4, elapsed=1.0, eta=4000.0, bound=3000.0,
                          sbu_seconds=130.0))
'''

#: In the scripts' folder: when the scheduler skips y (left out by --only), which it does on
#: its own thread right after starting a and before trying b, a's make takes every free token
#: of the jobserver, as a ``make -jN`` does; it gives them back once GO1 exists.
TOKEN_TAKER = '''
import os
import threading
import time
from pathlib import Path

import lfsplug
from lfsplug_executor.scheduler import JOBSERVER


@lfsplug.hookimpl
def lfsplug_script_finish(session, script, result):
    if script.name != "y":
        return
    server = session.config.stash[JOBSERVER]
    fd = os.open(f"/proc/self/fd/{server.read_fd}", os.O_RDONLY | os.O_NONBLOCK)
    taken = b""
    try:
        while True:
            taken += os.read(fd, 64)
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    go = Path(__file__).parent.parent / "GO1"

    def give_back():
        while not go.exists():
            time.sleep(0.05)
        os.write(server.write_fd, taken)

    threading.Thread(target=give_back, daemon=True).start()
'''


@contextlib.contextmanager
def tmux_at(where: Path, width: int) -> Iterator[Tmux]:
    server = Tmux(where, width=width)
    try:
        yield server
    finally:
        server.close()


def board_lines(screen: str) -> list[str]:
    """The board's lines: from its progress line down."""
    lines = screen.rstrip("\n").splitlines()
    first = next(i for i, line in enumerate(lines) if re.match(r"\[\d+/\d+\] \u2501", line))
    return [line for line in lines[first:] if line.strip()]


@needs_tmux
@pytest.mark.parametrize("width", [80, 120])
def test_dashboard_in_tmux_fits_the_width_and_says_why_a_slot_is_idle(
    lfsplugger: Lfsplugger, tmp_path: Path, width: int
) -> None:
    root = lfsplugger.path
    lfsplugger.make_tree({
        "s/01-a.sh": "echo compiling a\n" + wait_for_go(root / "GO2", "compiling a"),
        "s/02-y.sh": "true",
        "s/03-b.sh": wait_for_go(root / "GO1", "compiling b"),
        "s/04-c.sh": "# lfsplug: depends=a\necho c",
        "s/lfsconf.py": TOKEN_TAKER,
        "widemon.py": WIDE_MONITOR,
    })
    with tmux_at(tmp_path, width) as tmux:
        tmux.start(root, lfsplug_argv("s", "-p", "widemon", "-p", "no:monitor", "--order",
                                      "graph", "-j", "2", "--only", "a", "--only", "b",
                                      "--only", "c"),
                   {"PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])})
        # issue 15: at -j 2 a slot sat idle while a make held the jobserver's tokens, and the
        # screen never said why
        tmux.wait_for("\u25b6 a", "disk state")
        screen = tmux.wait_for("1 slot idle: the makes of a hold all")
        board = board_lines(tmux("capture-pane", "-p", "-J", "-t", "t"))
        text = "\n".join(board)
        assert re.search(r"^\u25e6 1 slot idle: the makes of a hold all \d+ job slots of the "
                         r"jobserver; next: b$", text, re.M), text
        # every line fits, and no figure is cut off
        assert all(len(line) < width for line in board), text
        for part in ("ETA ", "bound ", "1 SBU = 2m10s", "swap ", "disk lfs ", "disk sources ",
                     "disk state ", " 80.0G free"):
            assert part in text, text
        assert all("\u2026" not in line for line in board
                   if not line.startswith(("\u25b6", "\u25e6"))), text
        (root / "GO1").touch()  # the make gives its tokens back: b starts, and ends
        screen = tmux.wait_for("1 slot idle: nothing ready; c waits for a")
        assert "\u25b6 b" not in screen
        (root / "GO2").touch()
        screen = tmux.wait_for("EXIT=")
        assert "EXIT=0" in screen
        assert re.search(r"^==== 3 passed, 1 skipped in .* ====$", screen, re.M), screen
        assert "slot idle" not in tmux.history()  # the board left no line behind


@needs_tmux
@pytest.mark.parametrize("width", [80, 120])
def test_dashboard_in_tmux_leaves_no_debris_after_ctrl_c(
    lfsplugger: Lfsplugger, tmp_path: Path, width: int
) -> None:
    # issue 15: after Ctrl-C a stale progress line stayed. The terminal echoed "^C" at the end
    # of the board's last line, which filled the width: the line wrapped, the board scrolled,
    # and its first line was left behind when the board went.
    go = lfsplugger.path / "GO"  # never made: only the interrupts end the script
    # its last line is long, and without gauges its row is the board's last line: the board
    # cuts it at the width
    lfsplugger.make_tree({"01-wait.sh": f"echo building {'x' * 300}\n"
                                        f"while [ ! -e {go} ]; do sleep 0.05; done",
                          "02-b.sh": "true"})
    with tmux_at(tmp_path, width) as tmux:
        tmux.start(lfsplugger.path, lfsplug_argv(".", "-p", "no:monitor"), {})
        tmux.wait_for("\u25b6 wait", "building xxx")
        tmux("send-keys", "-t", "t", "C-c")
        tmux.wait_for("stopping: interrupted")
        tmux("send-keys", "-t", "t", "C-c")
        screen = tmux.wait_for("EXIT=")
        assert "EXIT=2" in screen
        history = tmux.history()
        assert re.search(r"^==== 1 failed, 1 not-run in .* ====$", history, re.M), history
        assert "\u2501" not in history and "\u25b6" not in history, history  # no board line
        assert "^C" not in history, history
        assert tmux.cursor_visible()


def run_in_pty(cwd: Path, argv: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run ``argv`` with a pseudo-terminal as its standard output and error (120x40); return
    the exit status and everything it wrote, escape sequences included."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    child_env = {k: v for k, v in os.environ.items()
                 if k not in ("NO_COLOR", "LFSPLUG_ADDOPTS", "LFSPLUG_PLUGINS", "COLUMNS",
                              "LINES")}
    child_env.update(env)
    proc = subprocess.Popen(argv, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL,
                            stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 120)
        if not ready:
            proc.kill()
            break
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # EIO: every writer closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    return proc.wait(timeout=60), b"".join(chunks).decode("utf-8", "replace")


def test_dashboard_on_a_pty_hides_then_restores_the_cursor(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo building; sleep 0.5",
                          "02-b.sh": "echo no C compiler; echo giving up; exit 3"})
    code, raw = run_in_pty(lfsplugger.path, lfsplug_argv("."), {"TERM": "xterm-256color"})
    assert code == 1
    assert "\x1b[?25l" in raw and raw.rindex("\x1b[?25h") > raw.rindex("\x1b[?25l")
    plain = re.sub(r"\x1b\[[0-?]*[ -/]*[@-~]", "", raw)
    assert "\u25b6 a" in plain  # the board was drawn
    assert "[1/2] passed  a" in plain and "b: failed (" in plain
    # a failure's log tail and log path, above the board as in plain mode
    log = lfsplugger.path / ".lfsplug" / "logs" / "1" / "b.log"
    assert ("---- last 2 lines of b ----\r\n    no C compiler\r\n    giving up\r\n"
            f"---- full log: {log}\r\n") in plain
    assert re.search(r"==== 1 passed, 1 failed in .* ====", plain)
    assert "start   a" not in plain  # start lines are plain mode's


@pytest.mark.parametrize("env", [{"TERM": "dumb"}, {"TERM": "xterm", "NO_COLOR": "1"}],
                         ids=["TERM=dumb", "NO_COLOR"])
def test_plain_mode_on_a_terminal_without_colours(lfsplugger: Lfsplugger,
                                                  env: dict[str, str]) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    code, raw = run_in_pty(lfsplugger.path, lfsplug_argv("."), env)
    assert code == 0
    assert "\x1b" not in raw
    assert "[1/1] start   a\r\n[1/1] passed  a" in raw


def test_plain_option_on_a_terminal_keeps_colours(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a"})
    code, raw = run_in_pty(lfsplugger.path, lfsplug_argv(".", "--plain"), {"TERM": "xterm"})
    assert code == 0
    assert "\x1b[?25l" not in raw  # no live display
    assert "\x1b[32m[1/1] passed  a" in raw
