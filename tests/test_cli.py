"""The command line: global options, exit codes, configuration precedence, bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

import lfsplug
from lfsplug._cli import preparse
from lfsplug._model import UsageError
from lfsplug.testing import Lfsplugger

TWO = {"01-a.sh": "echo a", "02-b.sh": "echo b"}


def test_version(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("--version")
    assert result.ret == 0
    assert result.outlines == [f"lfsplug {lfsplug.__version__}"]


def test_help_lists_commands_and_global_options(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("--help")
    assert result.ret == 0
    text = "\n".join(result.outlines)
    for word in ("run", "list", "check", "plugins", "--trace-config", "--debug", "-p NAME"):
        assert word in text


def test_run_help_has_plugin_options(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("run", "--help")
    assert result.ret == 0
    text = "\n".join(result.outlines)
    for option in ("--state-dir", "--keep-going", "--timeout", "--order", "--lfs"):
        assert option in text


def test_no_command_prints_help_with_usage_exit(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run()
    assert result.ret == 4
    assert any("Usage:" in line for line in result.outlines)


def test_unknown_option_is_a_usage_error(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    result = lfsplugger.run("run", "--no-such-option")
    assert result.ret == 4
    assert len(result.errlines) == 1
    assert result.errlines[0].startswith("lfsplug: error: No such option")
    assert "--no-such-option" in result.errlines[0]


def test_unknown_command(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("bulid")
    assert result.ret == 4
    assert "bulid" in result.errlines[-1]


def test_missing_path(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("run", "does-not-exist")
    assert result.ret == 4
    assert result.errlines == ["lfsplug: path not found: does-not-exist"]


def test_state_dir_that_is_a_file(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({**TWO, "state.txt": "not a directory"})
    result = lfsplugger.run("run", ".", "--state-dir", "state.txt")
    assert result.ret == 4
    assert result.errlines == ["lfsplug: --state-dir state.txt: not a directory"]


def test_tree_without_scripts_exits_5(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"README.md": "no scripts here"})
    for command in ("run", "list", "check"):
        result = lfsplugger.run(command)
        assert result.ret == 5, command
        assert result.errlines[-1].startswith("lfsplug: no scripts found under")


def test_run_builds_a_tree(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.statuses() == {"a": "passed", "b": "passed"}
    assert (lfsplugger.path / ".lfsplug/logs/a.log").read_text().startswith("a\n")


def test_failing_script_exit_1_names_script_and_log(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-bad.sh": "echo broken >&2\nexit 7",
                          "03-c.sh": "echo c"})
    result = lfsplugger.run("run")
    assert result.ret == 1
    log = lfsplugger.path / ".lfsplug/logs/1/bad.log"  # run 1's
    result.stdout.fnmatch_lines([
        "*failed  bad*exit status 7*",
        "*broken",
        f"*full log: {log}",
        "bad: failed (exit status 7) — see .lfsplug/logs/1/bad.log",  # class unknown: not said
        "==== 1 passed, 1 failed, 1 not-run in *",
    ])
    assert result.statuses()["c"] == "not-run"


def test_plugin_option_may_stand_anywhere(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    for args in (["-p", "no:terminal", "run"], ["run", "-p", "no:terminal"],
                 ["run", ".", "-pno:terminal"]):
        result = lfsplugger.run(*args)
        assert result.ret == 0, args
        assert result.outlines == [], args


def test_preparse_stops_at_double_dash() -> None:
    pre = preparse(["run", "-p", "x", "--", "-p", "y"])
    assert pre.plugins == ["x"]
    assert pre.rest == ["run", "--", "-p", "y"]


def test_preparse_missing_value() -> None:
    with pytest.raises(UsageError, match="-p needs a value"):
        preparse(["run", "-p"])


def test_config_file_values_and_precedence(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-env.sh": 'echo "LFS=$LFS"'})
    lfsplugger.make_config('lfs = "/from/file"\n')
    lfsplugger.run("run")
    log = lfsplugger.path / ".lfsplug/logs/env.log"
    assert "LFS=/from/file" in log.read_text()
    lfsplugger.setenv("LFSPLUG_ADDOPTS", "--lfs /from/addopts")
    lfsplugger.run("run")
    assert "LFS=/from/addopts" in log.read_text()
    lfsplugger.run("run", "--lfs", "/from/cli")
    assert "LFS=/from/cli" in log.read_text()


def test_addopts_drops_options_of_other_commands(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    lfsplugger.setenv("LFSPLUG_ADDOPTS", "--keep-going --timeout 30")
    assert lfsplugger.run("list").ret == 0  # list has neither option


def test_addopts_unknown_option(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    lfsplugger.setenv("LFSPLUG_ADDOPTS", "--bogus")
    result = lfsplugger.run("run")
    assert result.ret == 4
    assert result.errlines == ["lfsplug: LFSPLUG_ADDOPTS: unknown option '--bogus'"]


def test_pyproject_tool_section(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-env.sh": 'echo "LFS=$LFS"'})
    (lfsplugger.path / "pyproject.toml").write_text('[tool.lfsplug]\nlfs = "/from/pyproject"\n')
    assert lfsplugger.run("run").ret == 0
    assert "LFS=/from/pyproject" in (lfsplugger.path / ".lfsplug/logs/env.log").read_text()


def test_config_file_found_in_first_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"tree/01-env.sh": 'echo "LFS=$LFS"',
                          "tree/lfsplug.toml": 'lfs = "/from/tree"'})
    assert lfsplugger.run("run", "tree").ret == 0
    assert "LFS=/from/tree" in (lfsplugger.path / "tree/.lfsplug/logs/env.log").read_text()


def test_explicit_config_file(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({**TWO, "other.toml": "keep_going = true\nbogus = 1\n"})
    result = lfsplugger.run("-c", "other.toml", "run")
    assert result.ret == 4
    assert result.errlines[0].startswith(f"lfsplug: {lfsplugger.path / 'other.toml'}:2: unknown "
                                         "key 'bogus'")
    assert lfsplugger.run("-c", "missing.toml", "run").errlines == [
        "lfsplug: -c missing.toml: configuration file not found"]


@pytest.mark.parametrize(("toml", "error"), [  # error: a pattern for what follows "FILE:"
    pytest.param("# comment\ntimeout = \"soon\"\n", r"2: timeout: 'soon' is not a positive number of seconds", id="not-a-number"),
    pytest.param('lfs = ["/a", "/b"]\n',
                 re.escape("1: lfs: expected a single value, not list ['/a', '/b']"),
                 id="list-for-a-single-value-option"),
])
def test_config_file_bad_value_names_file_and_line(lfsplugger: Lfsplugger, toml: str,
                                                   error: str) -> None:
    lfsplugger.make_tree(TWO)
    lfsplugger.make_config(toml)
    result = lfsplugger.run("run")
    assert result.ret == 4
    where = re.escape(f"lfsplug: {lfsplugger.path / 'lfsplug.toml'}:")
    assert re.fullmatch(where + error, result.errlines[0]), result.errlines[0]


def test_config_file_invalid_toml(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    lfsplugger.make_config("jobs = = 3\n")
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert result.errlines[0] == (f"lfsplug: {lfsplugger.path / 'lfsplug.toml'}:1: invalid TOML: "
                                  f"Invalid value (column 8)")


def test_config_file_plugins_and_env(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-env.sh": 'echo "FOO=$FOO"'})
    lfsplugger.make_config('plugins = ["no_such_plugin_xyz"]\n')
    result = lfsplugger.run("run")
    assert result.ret == 4
    assert "unknown plugin 'no_such_plugin_xyz' (config)" in result.errlines[0]
    lfsplugger.make_config('[env]\nFOO = "bar"\n')
    assert lfsplugger.run("run").ret == 0
    assert "FOO=bar" in (lfsplugger.path / ".lfsplug/logs/env.log").read_text()


def test_plugins_json_lists_builtins_with_hooks(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("plugins", "--json")
    assert result.ret == 0
    rows = {row["name"]: row for row in json.loads("\n".join(result.outlines))["plugins"]}
    for name in ("discovery", "validation", "ordering", "executor", "terminal"):
        assert rows[name]["module"] == f"lfsplug_{name}"
        assert rows[name]["version"] == lfsplug.__version__
        assert rows[name]["hooks"], name
    assert "lfsplug_run_plan" in rows["executor"]["hooks"]
    assert "lfsplug_collect_path" in rows["discovery"]["hooks"]


def test_plugins_text(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("plugins")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["discovery * [[]builtin[]] lfsplug_discovery",
                                 "    lfsplug_collect_path"])


def test_blocking_the_executor_is_a_clear_error(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    result = lfsplugger.run("run", "-p", "no:executor")
    assert result.ret == 4
    assert "executor plugin blocked" in result.errlines[-1]


def test_check_and_list_with_errors_exit_6(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "if then fi", "02-b.sh": "# lfsplug: depends=nothing\n"})
    assert lfsplugger.run("check").ret == 6
    assert lfsplugger.run("list").ret == 6
    result = lfsplugger.run("run")
    assert result.ret == 6
    assert not (lfsplugger.path / ".lfsplug/logs").exists()


def test_shell_completion(lfsplugger: Lfsplugger) -> None:
    env = {**os.environ, "_LFSPLUG_COMPLETE": "bash_source"}
    proc = subprocess.run([sys.executable, "-m", "lfsplug"], env=env, capture_output=True,
                          text=True, check=False)
    assert proc.returncode == 0
    assert "_lfsplug_completion" in proc.stdout
    env.update(_LFSPLUG_COMPLETE="bash_complete", COMP_WORDS="lfsplug ru", COMP_CWORD="1")
    proc = subprocess.run([sys.executable, "-m", "lfsplug"], env=env, capture_output=True,
                          text=True, check=False)
    assert "plain,run" in proc.stdout.split()


def test_real_command_as_subprocess(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    result = lfsplugger.run_subprocess("run")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["*passed  a*", "*passed  b*", "==== 2 passed in *"])


def test_blocked_plugins_keys_warn_and_blocked_plugins_are_not_listed(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree(TWO)
    lfsplugger.make_config("keep_going = true\n")
    result = lfsplugger.run("run", "-p", "no:executor", "--json")
    assert result.ret == 4  # --json is no run option; the config key is the executor's
    result = lfsplugger.run("plugins", "-p", "no:executor", "--json")
    assert result.ret == 0
    names = [p["name"] for p in json.loads("\n".join(result.outlines))["plugins"]]
    assert "executor" not in names
    assert result.errlines == [f"lfsplug: warning: {lfsplugger.path / 'lfsplug.toml'}:1: "
                               "unknown key 'keep_going' ignored (its plugin may be blocked)"]


def test_ignore_errors_runs_past_validation_but_not_ordering(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "if then fi"})
    result = lfsplugger.run("run", "--ignore-errors")
    assert result.ret == 1  # it ran: a passed, b failed in bash
    assert result.statuses() == {"a": "passed", "b": "failed"}
    result.stderr.fnmatch_lines(["*02-b.sh:2: error SYN001: *syntax error*"])
    lfsplugger.make_tree({"02-b.sh": "# lfsplug: depends=b"})
    assert lfsplugger.run("run", "--ignore-errors").ret == 6


def test_config_file_of_the_real_path_wins_over_an_option_value(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"sd/lfsplug.toml": 'lfs = "/from/sd"',
                          "scripts/01-env.sh": 'echo "LFS=$LFS"',
                          "scripts/lfsplug.toml": 'lfs = "/from/scripts"'})
    result = lfsplugger.run("run", "--state-dir", "sd", "scripts")
    assert result.ret == 0, result.errlines
    assert "LFS=/from/scripts" in (lfsplugger.path / "sd/logs/env.log").read_text()


def test_addopts_may_carry_plugin_options(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    lfsplugger.setenv("LFSPLUG_ADDOPTS", "-p no:terminal --keep-going")
    result = lfsplugger.run("run")
    assert (result.ret, result.outlines) == (0, [])
    lfsplugger.setenv("LFSPLUG_ADDOPTS", "")
    lfsplugger.setenv("LFSPLUG_PLUGINS", "no:terminal")
    result = lfsplugger.run("run")
    assert (result.ret, result.outlines) == (0, [])


def test_help_shows_real_defaults(lfsplugger: Lfsplugger) -> None:
    text = " ".join(" ".join(lfsplugger.run("run", "--help").outlines).split())
    assert "[default: sequence]" in text
    assert "(order)" not in text


def test_reports_from_a_plugin(lfsplugger: Lfsplugger) -> None:
    from pathlib import Path

    class Csv:
        @lfsplug.hookimpl
        def lfsplug_report_formats(self) -> list[str]:
            return ["csv"]

        @lfsplug.hookimpl
        def lfsplug_write_report(self, session: object, format: str, path: Path) -> bool | None:
            if format != "csv":
                return None
            rows = [f"{r.name},{r.status}" for r in session.results.values()]  # type: ignore[attr-defined]
            path.write_text("\n".join(rows) + "\n")
            return True

    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "exit 1"})
    result = lfsplugger.run("run", "--report", "csv:out/r.csv", plugins=[Csv()])
    assert result.ret == 1
    assert (lfsplugger.path / "out/r.csv").read_text() == "a,passed\nb,failed\n"
    assert result.errlines[-1] == "lfsplug: wrote the csv report to out/r.csv"
    bad = lfsplugger.run("run", "-p", "no:reports", "--report", "pdf:x.pdf", plugins=[Csv()])
    assert (bad.ret, bad.errlines) == (4, ["lfsplug: --report pdf:x.pdf: unknown format 'pdf' "
                                           "(known: csv)"])
    assert lfsplugger.run("run", "--report", "csv", plugins=[Csv()]).ret == 4


def test_no_scripts_says_why_when_discovery_knows(lfsplugger: Lfsplugger) -> None:
    (lfsplugger.path / "01-tool.sh").write_bytes(b"\x7fELF\x00\x00binary")
    result = lfsplugger.run("run")
    assert result.ret == 6  # a binary named like a build script is an error (DISC021)
    assert "binary" in result.errlines[0]
    assert result.errlines[-1].startswith("lfsplug: no scripts found under")


def test_run_prints_errors_and_warnings_not_info(lfsplugger: Lfsplugger) -> None:
    class Notes:
        @lfsplug.hookimpl
        def lfsplug_validate_script(self, script: lfsplug.Script) -> list[lfsplug.Finding]:
            sev = lfsplug.Severity
            return [lfsplug.Finding("NOTE001", sev.INFO, "just so you know", str(script.path)),
                    lfsplug.Finding("NOTE002", sev.WARNING, "look at this", str(script.path))]

    lfsplugger.make_tree({"01-a.sh": "echo a"})
    result = lfsplugger.run("run", "-p", "no:validation", "-p", "no:hostreqs", plugins=[Notes()])
    assert result.ret == 0
    assert result.errlines == ["01-a.sh: warning NOTE002: look at this"]  # info: check shows


# -- help: sections by plugin, the common options first, values as a person writes them -------
def help_sections(lines: list[str]) -> dict[str, list[str]]:
    """``--help``'s sections: title -> the flags of its options, in order."""
    sections: dict[str, list[str]] = {}
    title = None
    for line in lines:
        if line and not line.startswith(" ") and line.endswith(":"):
            title = line[:-1]
            sections[title] = []
        elif title and line.startswith("  -"):
            sections[title].append(line.split()[0].rstrip(","))
    return sections


def test_run_help_groups_options_by_plugin_common_first(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("run", "--help")
    assert result.ret == 0
    sections = help_sections(result.outlines)
    titles = list(sections)
    assert titles[0] == "Common options"
    assert sections["Common options"][:6] == ["-j", "--keep-going", "--dry-run", "--only",
                                              "--from", "--until"]
    assert sections["Common options"][-1] == "-h"
    assert titles[1] == "General options" and "--timeout" in sections["General options"]
    for plugin, flag in (("validation", "--shellcheck"), ("terminal", "--plain"),
                         ("ordering", "--order"), ("monitor", "--sample-interval"),
                         ("executor", "--min-free-memory"), ("recovery", "--retries")):
        assert flag in sections[f"Plugin {plugin}"]
    flags = [flag for shown in sections.values() for flag in shown]
    assert len(flags) == len(set(flags))  # each option once
    assert "--only" not in sections["Plugin executor"]


def test_help_shows_sizes_and_durations_as_written(lfsplugger: Lfsplugger) -> None:
    text = " ".join(" ".join(lfsplugger.run("run", "--help").outlines).split())
    assert "runs [default: 256M]" in text  # --min-free-memory: not 268435456
    assert "[default: 5G]" in text
    assert "(0: never) [default: 1m]" in text  # --heartbeat: 60 seconds
    assert "every S seconds [default: 1s]" in text  # --sample-interval
    assert not re.search(r"default: \d{5,}", text)


def test_a_duration_is_read_as_help_shows_it(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(TWO)
    assert lfsplugger.run("run", "--heartbeat", "1m", "--sample-interval", "1s").ret == 0


def test_a_command_with_few_options_has_one_section(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("status", "--help")
    assert list(help_sections(result.outlines)) == ["Options"]


# -- completion of script names and report formats ---------------------------------------------
def complete(lfsplugger: Lfsplugger, shell: str, line: str, **env: str) -> list[str]:
    """What ``lfsplug`` offers in ``shell`` for the command line ``line`` (the last word is
    being completed), as the shell's completion script asks it."""
    words = line.split(" ")
    cword = words[-1] if shell == "fish" else str(len(words) - 1)
    result = lfsplugger.run_subprocess(env={"_LFSPLUG_COMPLETE": f"{shell}_complete",
                                            "COMP_WORDS": line, "COMP_CWORD": cword, **env})
    assert (result.ret, result.errlines) == (0, [])
    if shell == "bash" or all("," in item for item in result.outlines):  # fish before click 8.4
        return [item.split(",", 1)[1].split("\t")[0] for item in result.outlines]
    return result.outlines[1::3]  # zsh, fish: type, value, help; a line each


NAMED = {"scripts/01-host-check.sh": "echo host", "scripts/02-binutils-pass1.sh": "echo b",
         "scripts/03-gcc-pass1.sh": "echo g"}


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_script_names_complete_before_any_build(lfsplugger: Lfsplugger, shell: str) -> None:
    lfsplugger.make_tree(NAMED)
    assert complete(lfsplugger, shell, "lfsplug run scripts --only ") == [
        "host-check", "binutils-pass1", "gcc-pass1"]
    assert complete(lfsplugger, shell, "lfsplug run scripts --from b") == ["binutils-pass1"]
    assert not (lfsplugger.path / "scripts/.lfsplug/state.db").exists()  # nothing recorded


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_script_names_complete_from_the_last_build(lfsplugger: Lfsplugger, shell: str) -> None:
    lfsplugger.make_tree(NAMED)
    assert lfsplugger.run("run", "scripts", "--shellcheck", "off").ret == 0
    (lfsplugger.path / "scripts/03-gcc-pass1.sh").unlink()  # the last build's names: quick
    for line in ("lfsplug log ", "lfsplug run --force ", "lfsplug run scripts --until "):
        assert complete(lfsplugger, shell, line) == ["host-check", "binutils-pass1",
                                                     "gcc-pass1"], line
    assert complete(lfsplugger, shell, "lfsplug log g") == ["gcc-pass1"]


def test_report_formats_complete(lfsplugger: Lfsplugger) -> None:
    formats = ["html", "json", "junit", "sbu", "trace"]
    assert complete(lfsplugger, "bash", "lfsplug report ") == formats
    assert complete(lfsplugger, "bash", "lfsplug report j") == ["json", "junit"]
    assert complete(lfsplugger, "zsh", "lfsplug run --report ") == [f"{f}:" for f in formats]


def test_completion_in_a_broken_tree_offers_nothing_and_says_why(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_config("no_such_key = 1\n")
    result = lfsplugger.run_subprocess(env={"_LFSPLUG_COMPLETE": "bash_complete",
                                            "COMP_WORDS": "lfsplug run --only ", "COMP_CWORD": "3"})
    assert (result.ret, result.outlines) == (4, [])
    assert len(result.errlines) == 1 and "unknown key 'no_such_key'" in result.errlines[0]
    lfsplugger.make_config("")
    (lfsplugger.path / "01-a.sh").write_text("#!/bin/bash\n# lfsplug: depends=nothing\n")
    assert complete(lfsplugger, "bash", "lfsplug log ") == ["a"]  # discovered, errors and all
