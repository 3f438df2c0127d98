"""Failure documents (the reports plugin's ``failures/NAME-RUN-ATTEMPT.md`` and ``.json``) and
redaction (``lfsplug.redact_text`` and friends) everywhere lfsplug shows an environment: the
documents, every report, ``--dry-run``, the ``--debug`` log and the terminal.

The class and the place of a failure come from an ``lfsconf.py`` that implements
``lfsplug_classify_failure`` as the recovery plugin does (``-p no:recovery`` keeps that plugin
out where it is installed): these tests check what is written of them, not how they are found.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

import lfsplug
from lfsplug import (
    redact,
    redact_env,
    redact_text,
    secret_name,
    secret_values,
)
from lfsplug.testing import Lfsplugger
from lfsplug_reports.failures import Tried, markdown

RUN = ("run", "scripts", "--plain", "--shellcheck", "off", "--host-check", "off",
       "-p", "no:chroot", "-p", "no:monitor", "-p", "no:recovery")
SECRETS = ("s3cret", "hunter2", "zzsecretzz")
CONFIG = ('[env]\nAPI_TOKEN = "s3cret"\n'
          'MIRROR = "https://bob:hunter2@example.com/sources"\n')
TREE = {
    # prints its secrets, as a careless script would: its log tail holds them
    "scripts/01-gcc.sh": "# lfsplug: name=gcc\n"
                         "echo \"fetching from $MIRROR with $API_TOKEN\"\n"
                         "echo 'foo.c:1: undefined reference to `bar`'\n"
                         "exit 2\n",
    "scripts/02-glibc.sh": "# lfsplug: name=glibc depends=gcc\necho never\n",
    "scripts/03-bash.sh": "# lfsplug: name=bash depends=glibc\necho never\n",
}
LFSCONF = '''
import lfsplug

@lfsplug.hookimpl
def lfsplug_classify_failure(session, script, result):
    result.failed_command, result.failed_line, result.failed_step = "make -j4", 4, "make"
    return lfsplug.FailureClass("link-error", "link error: undefined reference", False,
                                ("foo.c:1: undefined reference to `bar`",),
                                fix="add the missing library to the link line")

@lfsplug.hookimpl
def lfsplug_recover(session, script, result, failure):
    if result.attempts < 2:
        return lfsplug.Recovery("retry", "once more, alone", delay=0.0,
                                env={"MAKEFLAGS": "-j1", "RETRY_TOKEN": "zzsecretzz"},
                                exclusive=True)
    return None
'''


def build(lfsplugger: Lfsplugger, *extra: str) -> tuple[lfsplug.testing.RunResult, Path]:
    lfsplugger.make_tree(TREE)
    lfsplugger.make_config(CONFIG)
    lfsplugger.make_lfsconf(LFSCONF)
    result = lfsplugger.run(*RUN, *extra)
    return result, lfsplugger.path / "scripts" / ".lfsplug" / "failures"


def assert_no_secret(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} shown in {where}"


# -- the documents -----------------------------------------------------------------------------


def test_each_failed_attempt_has_a_document_with_everything(lfsplugger: Lfsplugger) -> None:
    result, folder = build(lfsplugger, "--order", "graph")
    assert result.ret == 1
    assert sorted(p.name for p in folder.iterdir()) == [
        "gcc-1-1.json", "gcc-1-1.md", "gcc-1-2.json", "gcc-1-2.md"]
    first = json.loads((folder / "gcc-1-1.json").read_text())
    doc = json.loads((folder / "gcc-1-2.json").read_text())
    assert (doc["format"], doc["script"], doc["run"], doc["attempt"]) == (
        "lfsplug-failure", "gcc", "1", 2)
    assert first["final"] is False and doc["final"] is True
    assert doc["failure_class"] == "link-error"
    assert doc["class_reason"] == "link error: undefined reference"
    assert doc["evidence"] == ["foo.c:1: undefined reference to `bar`"]
    assert (doc["failed_command"], doc["failed_line"], doc["failed_step"]) == (
        "make -j4", 4, "make")
    assert (doc["exit_code"], doc["signal"]) == (2, None)
    assert doc["log_tail"] == ["fetching from https://bob:***@example.com/sources with ***",
                               "foo.c:1: undefined reference to `bar`"]
    assert doc["log"].endswith("gcc.2.log")
    assert doc["duration_s"] > 0 and "utime" in doc["resources"]
    assert doc["command"][-1].endswith("01-gcc.sh") and doc["cwd"].endswith("scripts")
    env = doc["environment"]
    assert env["API_TOKEN"] == "***" and env["RETRY_TOKEN"] == "***"
    assert env["MIRROR"] == "https://bob:***@example.com/sources"
    assert env["MAKEFLAGS"] == "-j1" and env["LFS"] == "/mnt/lfs"
    # what was tried: attempt 1 was retried alone with -j1; after attempt 2 nothing was decided
    assert doc["tried"] == [{"attempt": 1, "failure_class": "link-error", "action": "retry",
                             "reason": "once more, alone", "delay": 0.0,
                             "env": {"MAKEFLAGS": "-j1", "RETRY_TOKEN": "***"},
                             "exclusive": True}]
    assert doc["decision"]["action"] is None
    assert first["decision"]["action"] == "retry" and first["tried"] == []
    assert doc["usual_fix"] == "add the missing library to the link line"
    assert doc["resume"] == ("lfsplug -p no:chroot -p no:monitor -p no:recovery run scripts "
                             "--host-check off --order graph --plain --shellcheck off")
    md = (folder / "gcc-1-2.md").read_text()
    for text in ("# gcc: failed (link-error), run 1, attempt 2",
                 "- class: link-error (link error: undefined reference)",
                 "- failed command (line 4, make): `make -j4`", "- ended: exit status 2",
                 "## Evidence", "## Log tail (last 2 lines)", "## What lfsplug tried",
                 "- attempt 1 (link-error): retry with MAKEFLAGS=-j1 RETRY_TOKEN=***, alone "
                 "(once more, alone)", "- attempt 2, this one (link-error): no plugin "
                 "decided a recovery: the failure stands", "## The usual fix", "API_TOKEN=***",
                 "MIRROR=https://bob:***@example.com/sources", "## Resume", doc["resume"]):
        assert text in md, text
    for path in folder.iterdir():
        assert_no_secret(path.read_text(), path.name)
    result.stdout.fnmatch_lines(["failure documents: 2 in scripts/.lfsplug/failures"])


def test_a_script_killed_by_a_signal_is_documented_so(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"scripts/01-oom.sh": "echo building; kill -KILL $$"})
    result = lfsplugger.run(*RUN)
    assert result.ret == 1
    [path] = (lfsplugger.path / "scripts" / ".lfsplug" / "failures").glob("oom-1-1.json")
    doc = json.loads(path.read_text())
    assert (doc["signal"], doc["failure_class"], doc["log_tail"]) == (9, None, ["building"])
    # nothing classified it, nothing decided
    assert doc["decision"]["action"] is None and doc["usual_fix"] is None
    md = path.with_suffix(".md").read_text()
    assert "# oom: failed (unclassified), run 1, attempt 1" in md
    assert "- ended: killed by signal 9" in md


def test_without_the_state_plugin_the_run_is_named_by_its_start(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"scripts/01-bad.sh": "exit 3"})
    result = lfsplugger.run(*RUN, "-p", "no:state")
    assert result.ret == 1
    [path] = (lfsplugger.path / "scripts" / ".lfsplug" / "failures").glob("bad-*-1.md")
    label = path.name.removeprefix("bad-").removesuffix("-1.md")
    assert len(label) == len("20260101-120000") and label[8] == "-", label


def test_a_passing_or_reused_script_has_no_document(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"scripts/01-ok.sh": "true"})
    assert lfsplugger.run(*RUN).ret == 0
    assert lfsplugger.run(*RUN).ret == 0
    assert not (lfsplugger.path / "scripts" / ".lfsplug" / "failures").exists()


def test_a_document_that_cannot_be_written_is_said_and_the_build_goes_on(
        lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"scripts/01-bad.sh": "exit 3", "scripts/.lfsplug/failures": ""})
    result = lfsplugger.run(*RUN)
    assert result.ret == 1
    result.stderr.fnmatch_lines(["lfsplug: warning: cannot write the failure document *"])


def test_markdown_fences_hold_any_backticks() -> None:
    doc = {"script": "x", "failure_class": None, "class_reason": None, "run": "1",
           "attempt": 1, "final": True,
           "signal": None, "exit_code": 1, "message": None, "path": "/s/x.sh",
           "failed_command": "echo `date`", "failed_line": None, "failed_step": None,
           "duration_s": None, "resources": {}, "log": None, "evidence": [],
           "log_tail": ["```", "a ```` b"], "tried_text": [], "decision_text": None,
           "decision": None, "usual_fix": None, "command": None, "cwd": None,
           "environment": {}, "resume": "lfsplug run"}
    text = markdown(doc)
    assert "- failed command: `` echo `date` ``" in text
    assert "`````\n```\na ```` b\n`````" in text


def test_tried_text() -> None:
    tried = Tried(1, "oom", "retry", "out of memory", 5.0, {"MAKEFLAGS": "-j1"}, True)
    assert tried.text() == "attempt 1 (oom): retry after 5 s with MAKEFLAGS=-j1, alone " \
                           "(out of memory)"
    assert Tried(2, None).text() == "attempt 2 (unclassified): no plugin decided a " \
                                    "recovery: the failure stands"


# -- redaction everywhere ----------------------------------------------------------------------


def test_no_secret_in_any_report_or_the_debug_log(lfsplugger: Lfsplugger) -> None:
    out = lfsplugger.path / "out"
    out.mkdir()
    reports = {fmt: out / f"report.{fmt}" for fmt in ("json", "junit", "html", "trace", "sbu")}
    args = [a for fmt, path in reports.items() for a in ("--report", f"{fmt}:{path}")]
    debug = out / "debug.log"
    debug.write_text("old\n")
    debug.chmod(0o644)  # an old log that others could read: it is made private
    result, _folder = build(lfsplugger, f"--debug={debug}", *args)
    assert result.ret == 1
    for fmt, path in reports.items():
        assert_no_secret(path.read_text(), f"the {fmt} report")
    report = json.loads(reports["json"].read_text())
    [gcc] = [s for s in report["scripts"] if s["name"] == "gcc"]
    assert (gcc["failure_class"], gcc["failed_command"], gcc["failed_line"]) == (
        "link-error", "make -j4", 4)
    [retry] = [e for e in report["events"] if e["kind"] == "script-retry"]
    assert retry["payload"]["env"] == {"MAKEFLAGS": "-j1", "RETRY_TOKEN": "***"}
    assert "fetching from https://bob:***@example.com/sources with ***" in \
        reports["junit"].read_text()
    log = debug.read_text()
    assert "API_TOKEN': '***'" in log and "lfsplug_run_script" in log
    assert_no_secret(log, "the debug log")
    assert stat.S_IMODE(debug.stat().st_mode) == 0o600


def test_junit_failure_type_is_the_class(lfsplugger: Lfsplugger) -> None:
    path = lfsplugger.path / "report.xml"
    result, _folder = build(lfsplugger, "--report", f"junit:{path}")
    assert result.ret == 1
    import xml.etree.ElementTree as ET

    [failure] = ET.parse(path).getroot().iter("failure")
    assert failure.get("type") == "link-error"
    assert "failed command (line 4): make -j4" in (failure.text or "")


def test_the_report_command_redacts_too(lfsplugger: Lfsplugger) -> None:
    build(lfsplugger)
    path = lfsplugger.path / "again.json"
    result = lfsplugger.run("report", f"json:{path}", "--state-dir", "scripts/.lfsplug",
                            "-p", "no:recovery")
    assert result.ret == 0, result.errlines
    assert_no_secret(path.read_text(), "lfsplug report json")


def test_dry_run_hides_secrets(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TREE)
    lfsplugger.make_config(CONFIG)
    result = lfsplugger.run(*RUN, "--dry-run")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*+ API_TOKEN=[*][*][*]",
                                 "*+ MIRROR=https://bob:[*][*][*]@example.com/sources"])
    assert_no_secret("\n".join(result.outlines + result.errlines), "the dry run")


def test_the_terminal_hides_secrets_in_a_log_tail(lfsplugger: Lfsplugger) -> None:
    result, _folder = build(lfsplugger, "-v")  # -v: every line the scripts print, too
    assert result.ret == 1
    result.stdout.fnmatch_lines(["    fetching from https://bob:[*][*][*]@example.com/sources "
                                 "with [*][*][*]"])
    assert_no_secret("\n".join(result.outlines + result.errlines), "the terminal")


# -- the functions -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["API_TOKEN", "db_password", "MySecret", "SSH_KEY_FILE",
                                  "AWS_CREDENTIALS", "github-token"])
def test_secret_names(name: str) -> None:
    assert secret_name(name)


@pytest.mark.parametrize("name", ["PATH", "MAKEFLAGS", "LFS", "HOME", "SOURCES"])
def test_other_names(name: str) -> None:
    assert not secret_name(name)


@pytest.mark.parametrize(("text", "shown"), [
    ("export API_TOKEN=s3cret", "export API_TOKEN=***"),
    ("API_TOKEN='a b' make", "API_TOKEN='***' make"),
    ('DB_PASSWORD = "pw"', 'DB_PASSWORD = "***"'),
    ("curl --api-key=abc https://x", "curl --api-key=*** https://x"),
    ("git clone https://bob:hunter2@example.com/r.git", "git clone https://bob:***@example.com/r.git"),
    ("ftp://:tok@host/", "ftp://:***@host/"),
    ("{'API_TOKEN': 's3cret', 'PATH': '/bin'}", "{'API_TOKEN': '***', 'PATH': '/bin'}"),
    ('{"MY_SECRET": "a\\"b", "X": "1"}', '{"MY_SECRET": "***", "X": "1"}'),
    ("https://example.com/path?x=1 and user@host", "https://example.com/path?x=1 and user@host"),
    ("PATH=/usr/bin MAKEFLAGS=-j4", "PATH=/usr/bin MAKEFLAGS=-j4"),
])
def test_redact_text(text: str, shown: str) -> None:
    assert redact_text(text) == shown


def test_redact_text_hides_known_values_wherever_they_are() -> None:
    assert redact_text("token is s3cret, 1 is 1", ["s3cret", "1"]) == "token is ***, 1 is 1"


def test_redact_env_and_secret_values() -> None:
    env = {"API_TOKEN": "s3cret", "MIRROR": "https://u:hunter2@h/", "X": "1", "EMPTY_KEY": ""}
    assert redact_env(env) == {"API_TOKEN": "***", "MIRROR": "https://u:***@h/", "X": "1",
                               "EMPTY_KEY": ""}
    assert secret_values(env) == ["s3cret", "hunter2"]
    assert redact({"env": env, "lines": ["s3cret!"], "n": 3}, ["s3cret"]) == {
        "env": {"API_TOKEN": "***", "MIRROR": "https://u:***@h/", "X": "1", "EMPTY_KEY": ""},
        "lines": ["***!"], "n": 3}


def test_redacting_a_long_text_is_quick() -> None:
    import time

    text = "a" * 1_000_000 + " KEY" * 50_000 + "_" * 100_000 + " {'PATH': '/bin'}" * 20_000
    started = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - started < 5

