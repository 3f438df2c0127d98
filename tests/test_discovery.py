"""The discovery plugin: which files are scripts, in what order, with what names and metadata."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from lfsplug.testing import Lfsplugger, RunResult


def listed(result: RunResult) -> list[dict[str, Any]]:
    """The scripts of a ``list --json`` run, checking that it succeeded."""
    assert result.ret == 0, result.outlines + result.errlines
    data = json.loads("\n".join(result.outlines))
    scripts: list[dict[str, Any]] = data["scripts"]
    return scripts


def names(lfsplugger: Lfsplugger, *args: str) -> list[str]:
    """The names ``lfsplug list --json ARGS`` shows, in plan order."""
    return [s["name"] for s in listed(lfsplugger.run("list", "--json", *args))]


def checked(result: RunResult) -> list[dict[str, Any]]:
    """The findings of a ``check --json`` run."""
    findings: list[dict[str, Any]] = json.loads("\n".join(result.outlines))["findings"]
    return findings


# -- which files, in what order ---------------------------------------------------------------


def test_numbered_files_in_version_order(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "10-y.sh": "true", "2-x.sh": "true", "6.48-b.sh": "true", "6.5-a.sh": "true",
        "1-w.sh": "true",
    })
    assert names(lfsplugger) == ["w", "x", "a", "b", "y"]


def test_directories_walked_in_version_order(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter10/01-late.sh": "true",
        "chapter5/02-second.sh": "true",
        "chapter5/01-first.sh": "true",
        "chapter6/01-middle.sh": "true",
    })
    assert names(lfsplugger) == ["first", "second", "middle", "late"]


def test_run_follows_discovery_order(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter10/1-c.sh": "echo c >> ../order.txt",
        "chapter5/10-b.sh": "echo b >> ../order.txt",
        "chapter5/2-a.sh": "echo a >> ../order.txt",
    })
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert (lfsplugger.path / "order.txt").read_text().split() == ["a", "b", "c"]


def test_files_without_a_number_are_not_scripts(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-real.sh": "true",
        "README.md": "# how to build",
        "notes.txt": "remember the patches",
        "helper.sh": "echo I am sourced by others",
        "02-notes.txt": "numbered, but not a script",
        "03-fix.patch": "--- a\n+++ b\n",
    })
    assert names(lfsplugger) == ["real"]


def test_hidden_files_and_directories_are_skipped(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-visible.sh": "true",
        ".02-hidden.sh": "true",
        ".drafts/03-draft.sh": "true",
        ".lfsplug/04-stale.sh": "true",
        ".git/05-hook.sh": "true",
    })
    assert names(lfsplugger) == ["visible"]


def test_state_directory_is_skipped_even_when_not_hidden(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-real.sh": "true", "state/01-junk.sh": "true"})
    assert names(lfsplugger, "--state-dir", "state") == ["real"]


def test_state_directory_is_not_rediscovered_after_a_run(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    assert lfsplugger.run("run").ret == 0
    assert (lfsplugger.path / ".lfsplug" / "logs" / "a.log").is_file()
    assert names(lfsplugger) == ["a", "b"]


def test_single_script_file_as_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "touch a.ran", "02-b.sh": "touch b.ran"})
    assert names(lfsplugger, "02-b.sh") == ["b"]
    result = lfsplugger.run("run", "02-b.sh")
    assert result.ret == 0
    assert result.statuses() == {"b": "passed"}
    assert (lfsplugger.path / "b.ran").exists()
    assert not (lfsplugger.path / "a.ran").exists()


def test_single_unnumbered_file_as_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"build.sh": "echo built"})
    assert names(lfsplugger, "build.sh") == ["build"]


# -- names and header metadata ------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "name"), [
    ("01-hello.sh", "hello"),
    ("10-y", "y"),
    ("6.5-binutils-pass1.sh", "binutils-pass1"),
    ("005_linux-headers.sh", "linux-headers"),
])
def test_name_from_file_name(lfsplugger: Lfsplugger, filename: str, name: str) -> None:
    lfsplugger.make_tree({filename: "true"})
    assert names(lfsplugger) == [name]


def test_header_metadata(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-glibc.sh": "# lfsplug: version=2.40",
        "02-linux-headers.sh": "true",
        "03-bu.sh": (
            "# build binutils, first pass\n"
            "# lfsplug: name=binutils-pass1 version=2.44 phase=cross\n"
            "# lfsplug: depends=linux-headers, glibc>=2.39 provides=binutils timeout=3600 sbu=1\n"
            "echo building\n"
        ),
    })
    scripts = listed(lfsplugger.run("list", "--json"))
    binutils = scripts[2]
    assert binutils["name"] == "binutils-pass1"
    assert binutils["version"] == "2.44"
    assert binutils["phase"] == "cross"
    assert binutils["depends"] == ["linux-headers", "glibc>=2.39"]
    assert binutils["provides"] == ["binutils"]


def test_header_lists_with_and_without_spaces(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "true", "02-b.sh": "true", "03-c.sh": "true",
        "04-x.sh": "# lfsplug: depends=a,b ,  c provides=p1,  p2 ,p3",
    })
    x = listed(lfsplugger.run("list", "--json"))[3]
    assert x["depends"] == ["a", "b", "c"]
    assert x["provides"] == ["p1", "p2", "p3"]


def test_header_requirement_with_equals_operator_after_a_space(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-glibc.sh": "# lfsplug: version=2.39",
        "02-linux.sh": "true",
        "03-gcc.sh": "# lfsplug: depends=linux, glibc=2.39 phase=cross",
    })
    check = lfsplugger.run("check", "--json")
    assert [f["code"] for f in checked(check)] == []
    gcc = listed(lfsplugger.run("list", "--json"))[2]
    assert gcc["depends"] == ["linux", "glibc=2.39"]
    assert gcc["phase"] == "cross"


def test_header_key_on_a_later_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-tool.sh": "# lfsplug: name=tool\nset -e\n\n# lfsplug: version=1.2.3\necho hi",
    })
    tool = listed(lfsplugger.run("list", "--json"))[0]
    assert (tool["name"], tool["version"]) == ("tool", "1.2.3")


def test_header_is_read_up_to_line_50_only(lfsplugger: Lfsplugger) -> None:
    filler = "true\n" * 48  # lines 2..49 (line 1 is the shebang)
    lfsplugger.make_tree({
        "01-at50.sh": filler + "# lfsplug: version=50",
        "02-at51.sh": filler + "true\n# lfsplug: version=51",
    })
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [s["version"] for s in scripts] == ["50", None]


def test_header_name_wins_over_file_name(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-foo.sh": "# lfsplug: name=bar"})
    assert names(lfsplugger) == ["bar"]
    result = lfsplugger.run("list", "--why", "bar")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "bar: position 1 of 1*", "*name = bar*from # lfsplug: header line 2",
    ])
    assert lfsplugger.run("list", "--why", "foo").ret == 4


def test_list_json_shape(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-linux-headers.sh": "# lfsplug: version=6.10 phase=cross",
        "02-glibc.sh": "# lfsplug: depends=linux-headers provides=libc",
        "chapter5/01-sub.sh": "true",
    })
    result = lfsplugger.run("list", "--json")
    scripts = listed(result)
    keys = {"name", "version", "path", "phase", "depends", "provides", "order"}
    assert all(keys <= set(s) for s in scripts)
    assert [s["order"] for s in scripts] == [1, 2, 3]
    assert scripts[0] == {**scripts[0], "name": "linux-headers", "version": "6.10",
                          "phase": "cross", "depends": [], "provides": []}
    assert scripts[1] == {**scripts[1], "name": "glibc", "version": None, "phase": None,
                          "depends": ["linux-headers"], "provides": ["libc"]}
    paths = [Path(s["path"]) for s in scripts]
    expected = ["01-linux-headers.sh", "02-glibc.sh", "chapter5/01-sub.sh"]
    assert [p.resolve() for p in paths] == [(lfsplugger.path / e).resolve() for e in expected]


def test_list_why_names_the_source_of_each_field(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-glibc.sh": "true",
        "02-gcc.sh": "# lfsplug: version=14.2\n# lfsplug: depends=glibc phase=final",
    })
    result = lfsplugger.run("list", "--why", "gcc")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "gcc: position 2 of 2*",
        "*path*02-gcc.sh",
    ])
    text = "\n".join(result.outlines)
    assert "depends = glibc    from # lfsplug: header line 3" in text
    assert "name = gcc    from file name" in text
    assert "phase = final    from # lfsplug: header line 3" in text
    assert "version = 14.2    from # lfsplug: header line 2" in text


def test_header_name_must_not_be_a_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"sub/01-a.sh": "# lfsplug: name=../../escaped\necho hi"})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    [finding] = checked(result)
    assert (finding["code"], finding["line"]) == ("META001", 2)
    lfsplugger.run("run", "sub")
    assert not list(lfsplugger.path.rglob("escaped.log"))


# -- errors and warnings ------------------------------------------------------------------------


def test_two_scripts_with_one_name(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"chapter5/01-gcc.sh": "true", "chapter6/07-gcc.sh": "touch ran"})
    for command in ("list", "check", "run"):
        result = lfsplugger.run(command)
        assert result.ret == 6, command
        text = "\n".join(result.outlines + result.errlines)
        assert "DISC001" in text, command
        assert "chapter5/01-gcc.sh" in text, command
        assert "chapter6/07-gcc.sh" in text, command
    assert not (lfsplugger.path / "chapter6" / "ran").exists()


def test_bad_header_value_is_an_error_with_file_and_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-slow.sh": "# about\n# lfsplug: timeout=abc"})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    [finding] = checked(result)
    assert finding["code"] == "META001"
    assert finding["severity"] == "error"
    assert Path(finding["path"]).name == "02-slow.sh"
    assert finding["line"] == 3
    assert "timeout" in finding["message"]
    result = lfsplugger.run("list")
    assert result.ret == 6
    result.stderr.fnmatch_lines(["02-slow.sh:3: error META001*timeout*"])


def test_unknown_header_key_warns_with_a_hint(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-glibc.sh": "true", "02-gcc.sh": "# lfsplug: depend=glibc"})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 0
    [finding] = checked(result)
    assert finding["code"] == "META002"
    assert finding["severity"] == "warning"
    assert finding["line"] == 2
    assert "depend" in finding["message"]
    assert "did you mean depends=" in finding["hint"]
    text = lfsplugger.run("check")
    assert text.ret == 0
    text.stdout.fnmatch_lines([
        "02-gcc.sh", "*2*warning*META002*depend*", "*hint: did you mean depends=?",
    ])


# -- awkward files ------------------------------------------------------------------------------


def test_file_names_with_spaces_quotes_and_semicolons(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-semi;touch INJECTED;.sh": "echo semi ran",
        "02-it's a \"quoted\" name.sh": "echo quoted ran",
        "03-$(touch SUBST).sh": "echo subst ran",
    })
    assert lfsplugger.run("check").ret == 0
    result = lfsplugger.run("run")
    assert result.ret == 0, result.outlines
    result.assert_outcomes(passed=3)
    logs = lfsplugger.path / ".lfsplug" / "logs"
    assert (logs / "semi;touch INJECTED;.log").read_text().startswith("semi ran\n")
    assert (logs / "it's a \"quoted\" name.log").read_text().startswith("quoted ran\n")
    assert (logs / "$(touch SUBST).log").read_text().startswith("subst ran\n")
    assert not list(lfsplugger.path.rglob("INJECTED"))
    assert not list(lfsplugger.path.rglob("SUBST"))


def test_non_utf8_script(lfsplugger: Lfsplugger) -> None:
    script = lfsplugger.path / "01-latin1.sh"
    script.write_bytes(
        b"#!/bin/bash\n# lfsplug: version=1.0\n# caf\xe9 cr\xe8me\necho \xff\xfe ok\n"
    )
    script.chmod(0o755)
    assert names(lfsplugger) == ["latin1"]
    assert lfsplugger.run("check").ret == 0
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.statuses() == {"latin1": "passed"}


def test_empty_script(lfsplugger: Lfsplugger) -> None:
    (lfsplugger.path / "01-empty.sh").write_bytes(b"")
    lfsplugger.make_tree({"02-next.sh": "echo next"})
    assert names(lfsplugger) == ["empty", "next"]
    assert lfsplugger.run("check").ret == 0
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.statuses() == {"empty": "passed", "next": "passed"}


def test_directory_symlink_loop_neither_hangs_nor_crashes(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "sub/02-b.sh": "true"})
    os.symlink(".", lfsplugger.path / "loop")
    os.symlink("..", lfsplugger.path / "sub" / "up")
    result = lfsplugger.run_subprocess("list", "--json", timeout=30)
    assert [s["name"] for s in listed(result)] == ["a", "b"]


def test_self_referencing_symlinks_neither_hang_nor_crash(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-b.sh": "true"})
    os.symlink("03-loop.sh", lfsplugger.path / "03-loop.sh")
    os.symlink("ping", lfsplugger.path / "pong")
    os.symlink("pong", lfsplugger.path / "ping")
    result = lfsplugger.run_subprocess("list", "--json", timeout=30)
    assert result.ret == 0, result.errlines
    assert [s["name"] for s in listed(result)] == ["a", "b"]


# -- local plugins ------------------------------------------------------------------------------


def test_lfsconf_ignore_path_skips_a_directory(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "true",
        "drafts/01-wip.sh": "touch wip.ran",
        "chapter5/01-b.sh": "true",
    })
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_ignore_path(path, config):\n"
        "    return True if path.name == 'drafts' else None\n"
    )
    assert names(lfsplugger) == ["a", "b"]
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert set(result.statuses()) == {"a", "b"}
    assert not (lfsplugger.path / "drafts" / "wip.ran").exists()


def test_lfsconf_collection_modifyscripts_deselects_a_script(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "true", "02-tests.sh": "touch tests.ran", "03-c.sh": "true",
    })
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_collection_modifyscripts(session, config, scripts):\n"
        "    scripts[:] = [s for s in scripts if s.name != 'tests']\n"
    )
    assert names(lfsplugger) == ["a", "c"]
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.statuses() == {"a": "passed", "c": "passed"}
    assert not (lfsplugger.path / "tests.ran").exists()
    assert not (lfsplugger.path / ".lfsplug" / "logs" / "tests.log").exists()
