"""The discovery plugin: which files are scripts, in what order, with what names and metadata."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import lfsplug
from helpers import BOOK, book_pages, findings, listed, no_data, plan_names, why_lines
from lfsplug._config import KEYS
from lfsplug._kinds import version_key
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_discovery.depcomments import STOPWORDS, parse_dependency_comments
from lfsplug_discovery.names import order_key, parse_filename


@pytest.fixture(autouse=True)
def _no_host_checks(request: pytest.FixtureRequest) -> None:
    """These tests are about discovery: a tree with a chapter05/ directory is the cross phase,
    for which the hostreqs plugin checks the host; this host is not an LFS host."""
    if "lfsplugger" in request.fixturenames:
        request.getfixturevalue("lfsplugger").setenv("LFSPLUG_PLUGINS", "no:hostreqs")


def checked(result: RunResult) -> list[dict[str, Any]]:
    """The findings of a ``check --json`` run that discovery, metadata and ordering make (what
    validation and hostreqs say about the same trees is for their own tests)."""
    return [f for f in findings(result) if f["code"].startswith(("DISC", "META", "ORD"))]


# -- which files, in what order ---------------------------------------------------------------


@pytest.mark.parametrize(("tree", "args", "expected"), [
    pytest.param({
        "10-y.sh": "true", "2-x.sh": "true", "6.48-b.sh": "true", "6.5-a.sh": "true",
        "1-w.sh": "true",
    }, (), ["w", "x", "a", "b", "y"], id="numbered-files-in-version-order"),
    pytest.param({
        "chapter10/01-late.sh": "true",
        "chapter5/02-second.sh": "true",
        "chapter5/01-first.sh": "true",
        "chapter6/01-middle.sh": "true",
    }, (), ["first", "second", "middle", "late"], id="directories-walked-in-version-order"),
    pytest.param({
        "10-config/01-fstab.sh": "true",
        "5-cross/01-binutils-pass1.sh": "true",
        "6.5-temp/01-m4.sh": "true",
        "6.48-temp/01-ncurses.sh": "true",
    }, (), ["binutils-pass1", "m4", "ncurses", "fstab"], id="directories-ordered-like-sort-v"),
    pytest.param({
        "01-real.sh": "true",
        "README.md": "# how to build",
        "notes.txt": "remember the patches",
        "helper.sh": "say() { echo \"$@\"; }\nLOG=/tmp/log",
        "02-notes.txt": "numbered, but not a script",
        "03-fix.patch": "--- a\n+++ b\n",
    }, (), ["real"], id="libraries-notes-and-patches-are-not-scripts"),
    pytest.param({
        "01-visible.sh": "true",
        ".02-hidden.sh": "true",
        ".drafts/03-draft.sh": "true",
        ".lfsplug/04-stale.sh": "true",
        ".git/05-hook.sh": "true",
    }, (), ["visible"], id="hidden-files-and-directories-are-skipped"),
    pytest.param({"01-real.sh": "true", "state/01-junk.sh": "true"}, ("--state-dir", "state"),
                 ["real"], id="state-directory-is-skipped-even-when-not-hidden"),
    pytest.param({"build.sh": "echo built"}, ("build.sh",), ["build"],
                 id="single-unnumbered-file-as-path"),
])
def test_which_files_in_what_order(lfsplugger: Lfsplugger, tree: dict[str, str],
                                   args: tuple[str, ...], expected: list[str]) -> None:
    lfsplugger.make_tree(tree)
    assert plan_names(lfsplugger, *args) == expected


def test_run_follows_discovery_order(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter10/1-c.sh": "echo c >> ../order.txt",
        "chapter5/10-b.sh": "echo b >> ../order.txt",
        "chapter5/2-a.sh": "echo a >> ../order.txt",
    })
    result = lfsplugger.run("run", "-p", "no:chroot")  # no lfs user, no chroot here
    assert result.ret == 0
    assert (lfsplugger.path / "order.txt").read_text().split() == ["a", "b", "c"]


def test_state_directory_is_not_rediscovered_after_a_run(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo b"})
    assert lfsplugger.run("run").ret == 0
    assert (lfsplugger.path / ".lfsplug" / "logs" / "a.log").is_file()
    assert plan_names(lfsplugger) == ["a", "b"]


def test_single_script_file_as_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "touch a.ran", "02-b.sh": "touch b.ran"})
    assert plan_names(lfsplugger, "02-b.sh") == ["b"]
    result = lfsplugger.run("run", "02-b.sh")
    assert result.ret == 0
    assert result.statuses() == {"b": "passed"}
    assert (lfsplugger.path / "b.ran").exists()
    assert not (lfsplugger.path / "a.ran").exists()


# -- names and header metadata ------------------------------------------------------------------


@pytest.mark.parametrize(("filename", "name"), [
    ("01-hello.sh", "hello"),
    ("10-y", "y"),
    ("6.5-binutils-pass1.sh", "binutils-pass1"),
    ("005_linux-headers.sh", "linux-headers"),
])
def test_name_from_file_name(lfsplugger: Lfsplugger, filename: str, name: str) -> None:
    lfsplugger.make_tree({filename: "true"})
    assert plan_names(lfsplugger) == [name]


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
    assert plan_names(lfsplugger) == ["bar"]
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


def test_one_package_built_twice_gets_two_qualified_names(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"phase2/gcc.sh": "true", "phase4/gcc.sh": "true",
                          "phase4/glibc.sh": "# lfsplug: depends=gcc", "same/05-m4.sh": "true",
                          "same/12-m4.sh": "true"})
    scripts = by_name(listed(lfsplugger.run("list", "--json")))
    assert list(scripts) == ["gcc@phase2", "gcc@phase4", "glibc", "m4@05", "m4@12"]
    assert {s["package"] for s in scripts.values()} == {"gcc", "m4", "glibc"}
    assert scripts["gcc@phase4"]["provides"] == ["gcc"]
    # the nearest earlier build of gcc, not the first, and no cycle through the later one
    assert "after gcc@phase4: depends (phase4/glibc.sh: depends= from # lfsplug: header " \
           "line 2)" in why_lines(lfsplugger, "glibc", "--order", "graph")
    check = lfsplugger.run("check", "--json")
    assert check.ret == 0
    assert not {"DISC001", "ORD005"} & {f["code"] for f in checked(check)}


def test_two_scripts_named_alike_by_their_headers(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"chapter5/01-gcc.sh": "# lfsplug: name=gcc",
                          "chapter6/07-gcc.sh": "# lfsplug: name=gcc\ntouch ran"})
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
    assert plan_names(lfsplugger) == ["latin1"]
    assert lfsplugger.run("check").ret == 0
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.statuses() == {"latin1": "passed"}


def test_empty_script(lfsplugger: Lfsplugger) -> None:
    (lfsplugger.path / "01-empty.sh").write_bytes(b"")
    lfsplugger.make_tree({"02-next.sh": "echo next"})
    assert plan_names(lfsplugger) == ["empty", "next"]
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
    assert plan_names(lfsplugger) == ["a", "b"]
    result = lfsplugger.run("run", "-p", "no:chroot")
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
    assert plan_names(lfsplugger) == ["a", "c"]
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.statuses() == {"a": "passed", "c": "passed"}
    assert not (lfsplugger.path / "tests.ran").exists()
    assert not (lfsplugger.path / ".lfsplug" / "logs" / "tests.log").exists()


# ==============================================================================================
# Layouts as LFS builders have them
# ==============================================================================================


def by_name(scripts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in scripts}


def discovery_findings(result: RunResult, root: Path) -> list[tuple[str, str, str, int | None]]:
    """The discovery and metadata findings of ``check --json``: (code, severity, path, line),
    paths relative to ``root`` (other plugins' findings are theirs to test)."""
    found = []
    for f in checked(result):
        if f["code"].startswith(("DISC", "META")):
            path = os.path.relpath(f["path"], root) if f["path"] else ""
            found.append((f["code"], f["severity"], path, f["line"]))
    return sorted(found, key=lambda f: (f[2], f[3] or 0, f[0]))


def scriptlet(package: str | None = None, version: str | None = None, *extra: str) -> str:
    """A scriptlet as jhalfs writes it: bash, hashing off, errexit, then the page's commands."""
    lines = ["#!/bin/bash", "set +h", "set -e", ""]
    if package:
        lines += ["cd $PKGDIR", f"PACKAGE={package}"]
    if version:
        lines.append(f"VERSION={version}")
    lines += [*extra, "", "exit"]
    return "\n".join(lines)


# A jhalfs lfs-commands/ tree, modelled on the book's chapters 4 to 10 (chapterNN.xml include
# lists): pages numbered by chapter, a user insertion (107-1-cracklib style) and jhalfs' logs/.
JHALFS = {
    "lfs-commands/chapter04/401-creatingminlayout": scriptlet(None, None, "mkdir -pv $LFS/etc"),
    "lfs-commands/chapter04/402-addinguser": scriptlet(None, None, "groupadd lfs"),
    "lfs-commands/chapter05/501-binutils-pass1": scriptlet("binutils", "2.44",
                                                           "../configure --prefix=$LFS/tools"),
    "lfs-commands/chapter05/502-gcc-pass1": scriptlet('"gcc"', '"14.2.0"'),
    "lfs-commands/chapter05/503-linux-headers": scriptlet("linux", "6.13.4"),
    "lfs-commands/chapter05/504-glibc": scriptlet("glibc", "2.41"),
    "lfs-commands/chapter05/505-libstdc++": scriptlet("gcc", "14.2.0"),
    "lfs-commands/chapter06/601-m4": scriptlet("m4", "1.4.19"),
    "lfs-commands/chapter06/617-binutils-pass2": scriptlet("binutils", "2.44"),
    "lfs-commands/chapter06/618-gcc-pass2": scriptlet("gcc", "14.2.0"),
    "lfs-commands/chapter07/701-changingowner": scriptlet(),
    "lfs-commands/chapter07/704-chroot": scriptlet(),
    "lfs-commands/chapter08/802-man-pages": scriptlet("man-pages", "6.12"),
    "lfs-commands/chapter08/804-glibc": scriptlet("glibc", "2.41"),
    "lfs-commands/chapter08/812-m4": scriptlet("m4", "1.4.19"),
    "lfs-commands/chapter08/825-shadow": scriptlet("shadow", "4.17.3"),
    "lfs-commands/chapter08/825-1-cracklib": scriptlet("cracklib", "2.10.3"),
    "lfs-commands/chapter08/826-gcc": scriptlet("gcc", "14.2.0"),
    "lfs-commands/chapter08/899-stripping": scriptlet(),
    "lfs-commands/chapter08/8100-cleanup": scriptlet(),
    "lfs-commands/chapter09/902-bootscripts": scriptlet("lfs-bootscripts", "20250225"),
    "lfs-commands/chapter10/1002-fstab": scriptlet(),
    "lfs-commands/chapter10/1003-kernel": scriptlet("linux", "6.13.4"),
    "logs/501-binutils-pass1": "make[1]: Leaving directory '/mnt/lfs/sources/binutils'",
    "test-logs/501-binutils-pass1": "=== binutils tests ===",
}


def test_jhalfs_tree_in_book_order(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(JHALFS)
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [s["name"] for s in scripts] == [
        "creatingminlayout", "addinguser",
        "binutils-pass1", "gcc-pass1", "linux-headers", "glibc@chapter05", "libstdc++",
        "m4@chapter06", "binutils-pass2", "gcc-pass2",
        "changingowner", "chroot",
        "man-pages", "glibc@chapter08", "m4@chapter08", "shadow", "cracklib", "gcc", "stripping", "cleanup",
        "bootscripts", "fstab", "kernel",
    ]
    phases = {s["name"]: s["phase"] for s in scripts}
    assert phases["addinguser"] == "host"
    assert phases["gcc-pass1"] == phases["glibc@chapter05"] == "cross"
    assert phases["gcc-pass2"] == phases["m4@chapter06"] == "temp"
    assert phases["chroot"] == "chroot-temp"
    assert phases["cracklib"] == phases["cleanup"] == "system"
    assert phases["bootscripts"] == phases["kernel"] == "config"
    assert all(s["path"].count("/logs/") == 0 for s in scripts)


def test_jhalfs_variables_give_version_and_what_a_pass_provides(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(JHALFS)
    scripts = by_name(listed(lfsplugger.run("list", "--json")))
    assert scripts["binutils-pass1"]["version"] == "2.44"
    assert scripts["gcc-pass1"]["version"] == "14.2.0"  # quoted in the scriptlet
    assert scripts["bootscripts"]["version"] == "20250225"
    assert scripts["binutils-pass1"]["provides"] == ["binutils"]
    assert scripts["gcc-pass2"]["provides"] == ["gcc"]
    # libstdc++ is built from gcc's tarball, which does not make it gcc
    assert scripts["libstdc++"]["provides"] == []
    assert scripts["linux-headers"]["provides"] == []
    assert why_lines(lfsplugger, "binutils-pass1")[2:] == [
        "name = binutils-pass1    from file name",
        "phase = cross    from directory chapter05 (book chapter 5)",
        "provides = binutils    from variable PACKAGE= line 6",
        "version = 2.44    from variable VERSION= line 7",
        "after addinguser: sequence (sequence)",
        "before gcc-pass1: sequence (sequence)",
    ]


def test_jhalfs_pages_built_twice_are_told_apart_by_chapter(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(JHALFS)
    scripts = by_name(listed(lfsplugger.run("list", "--json")))
    assert scripts["glibc@chapter05"]["provides"] == ["glibc"]
    assert scripts["m4@chapter06"]["provides"] == ["m4"]
    assert scripts["glibc@chapter08"]["provides"] == ["glibc"]
    assert scripts["m4@chapter08"]["package"] == "m4"
    lines = why_lines(lfsplugger, "m4@chapter06")
    assert "name = m4@chapter06    from file name and directory (m4 is built 2 times: " \
           "lfs-commands/chapter06/601-m4, lfs-commands/chapter08/812-m4)" in lines
    check = lfsplugger.run("check", "--json")
    assert check.ret == 0
    assert "DISC001" not in {f["code"] for f in checked(check)}


def test_jhalfs_registry_seen_by_other_plugins(lfsplugger: Lfsplugger) -> None:
    class Probe:
        """A plugin that asks the registry what another plugin (say, the chroot plugin) would."""

        seen: dict[str, Any] = {}

        @lfsplug.hookimpl
        def lfsplug_collection_finish(self, session: Any) -> None:
            registry = session.registry
            self.seen = {
                "binutils": [s.name for s in registry.providers("binutils")],
                "gcc": [s.name for s in registry.providers("gcc")],
                "glibc": [s.name for s in registry.providers("glibc")],
                "cross": [s.name for s in registry.by_phase("cross")],
                "phases": registry.phases,
                "kernel": registry.get("kernel").version if "kernel" in registry else None,
            }

    lfsplugger.make_tree(JHALFS)
    probe = Probe()
    assert lfsplugger.run("list", plugins=[probe]).ret == 0
    assert probe.seen["binutils"] == ["binutils-pass1", "binutils-pass2"]
    assert probe.seen["gcc"] == ["gcc-pass1", "gcc-pass2", "gcc"]
    assert probe.seen["glibc"] == ["glibc@chapter05", "glibc@chapter08"]
    assert probe.seen["cross"] == [
        "binutils-pass1", "gcc-pass1", "linux-headers", "glibc@chapter05", "libstdc++",
    ]
    assert probe.seen["phases"] == ["host", "cross", "temp", "chroot-temp", "system", "config"]
    assert probe.seen["kernel"] == "6.13.4"


@pytest.mark.skipif(not BOOK.is_dir(), reason=no_data(BOOK))
def test_whole_book_as_jhalfs_writes_it(lfsplugger: Lfsplugger) -> None:
    tree, expected = {}, []
    for chapter in range(4, 11):
        pages = [p for p in book_pages(chapter) if not p.startswith(("introduction", "about"))]
        for number, page in enumerate(pages, 1):
            tree[f"lfs-commands/chapter{chapter:02d}/{chapter}{number:02d}-{page}"] = scriptlet()
            expected.append(page)
    lfsplugger.make_tree(tree)
    scripts = listed(lfsplugger.run("list", "--json"))
    assert len(scripts) == len(expected) > 120
    assert len({s["name"] for s in scripts}) == len(scripts)
    bare = [s["name"].partition("@")[0] for s in scripts]
    assert bare == expected
    assert [s["package"] for s in scripts] == [re.sub(r"-pass\d$", "", p) for p in expected]
    names_ = [s["name"] for s in scripts]
    assert names_.index("binutils-pass1") < names_.index("gcc-pass1") < names_.index(
        "glibc@chapter05") < names_.index("glibc@chapter08")
    assert {"glibc@chapter05", "m4@chapter06", "bash@chapter06", "perl@chapter07",
            "perl@chapter08", "udev@chapter09"} <= set(names_)


def test_blfs_tool_scripts_run_dependencies_first(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "blfs_root/scripts/1010-z-cracklib": "#!/bin/bash\nset -e\nPACKAGE=cracklib-2.10.3.tar.xz",
        "blfs_root/scripts/1008-z-libpwquality": "#!/bin/bash\nset -e",
        "blfs_root/scripts/1010-y-python3": "#!/bin/bash\nset -e\nVERSION=3.13.2",
        "blfs_root/scripts/1008-y-linux-pam": "#!/bin/bash\nset -e",
    })
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [s["name"] for s in scripts] == ["linux-pam", "libpwquality", "python3", "cracklib"]
    assert {s["phase"] for s in scripts} == {"blfs"}
    assert by_name(scripts)["cracklib"]["version"] == "2.10.3"
    assert "phase = blfs    from jhalfs BLFS script name (1010-z-)" in why_lines(
        lfsplugger, "cracklib")


def test_jhalfs_variable_forms(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter08/801-a": "#!/bin/bash\nexport VERSION='1.2.3'",
        "chapter08/802-b": "#!/bin/bash\ndeclare -x VERSION=\"4.5\"  # the book's version",
        "chapter08/803-c": "#!/bin/bash\nVERSION=$(cat ../version)\nPACKAGE=c-$VERSION",
        "chapter08/804-d": "#!/bin/bash\n  VERSION=6.7; export VERSION",
        "chapter08/805-e": "#!/bin/bash\nVERSION=1.0\nVERSION=2.0",
        "chapter08/806-f-9.9": "#!/bin/bash\nPACKAGE=f-8.8.tar.gz",
    })
    versions = {s["name"]: s["version"] for s in listed(lfsplugger.run("list", "--json"))}
    assert versions == {"a": "1.2.3", "b": "4.5", "c": None, "d": "6.7", "e": "1.0", "f": "8.8"}


# -- numbered script files ---------------------------------------------------------------------


def test_numbered_tree_with_versions_in_file_names(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "05-binutils-2.44-pass1.sh": "true",
        "06-gcc-14.2.0-pass1.sh": "true",
        "10-m4-1.4.19.sh": "true",
        "11-ncurses-6.4-20230520.sh": "true",
        "12-openssh-9.1p1.sh": "true",
        "13-bc-2.5.1a.sh": "true",
        "14-python-3.0.0-rc1.sh": "true",
        "15-iana-etc-20250407.sh": "true",
        "16-XML-Parser-2.47.sh": "true",
    })
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["version"]) for s in scripts] == [
        ("binutils-pass1", "2.44"), ("gcc-pass1", "14.2.0"), ("m4", "1.4.19"),
        ("ncurses", "6.4-20230520"), ("openssh", "9.1p1"), ("bc", "2.5.1a"),
        ("python", "3.0.0-rc1"), ("iana-etc", "20250407"), ("xml-parser", "2.47"),
    ]
    assert by_name(scripts)["gcc-pass1"]["provides"] == ["gcc"]
    assert "version = 14.2.0    from file name" in why_lines(lfsplugger, "gcc-pass1")


def test_dotted_section_prefixes_in_version_order(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "6.48-y.sh": "true", "6.5-x.sh": "true", "6.10-w.sh": "true", "5.3-v.sh": "true",
        "8.2-u.sh": "true", "a.05.03.GCC-13.2.0-Pass1.sh": "true",
        "a.05.02.Binutils-2.41-Pass1.sh": "true",
    })
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [s["name"] for s in scripts] == [
        "v", "x", "w", "y", "u", "binutils-pass1", "gcc-pass1",
    ]
    gcc = by_name(scripts)["gcc-pass1"]
    assert (gcc["version"], gcc["phase"], gcc["provides"]) == ("13.2.0", "cross", ["gcc"])
    assert [s["phase"] for s in scripts[:5]] == ["cross", "temp", "temp", "temp", "system"]
    assert "phase = temp    from file name prefix 6.5 (book chapter 6)" in why_lines(
        lfsplugger, "x")


@pytest.mark.parametrize(("directory", "phase"), [
    ("chapter05", "cross"), ("chapter5", "cross"), ("ch5", "cross"), ("ch-06", "temp"),
    ("CHAPTER07", "chroot-temp"), ("chap08", "system"), ("chapter10", "config"),
    ("05-cross", "cross"), ("cross-toolchain", "cross"), ("06_temp_tools", "temp"),
    ("7-chroot", "chroot-temp"), ("08-system", "system"), ("09-config", "config"),
    ("blfs", "blfs"), ("blfs-12.3", "blfs"), ("02-host", "host"),
    ("05-stuff", None), ("extras", None), ("chapter12", None),
])
def test_phase_from_directory(lfsplugger: Lfsplugger, directory: str, phase: str | None) -> None:
    lfsplugger.make_tree({f"{directory}/01-pkg.sh": "true"})
    [script] = listed(lfsplugger.run("list", "--json"))
    assert script["phase"] == phase


def test_nearest_telling_directory_gives_the_phase(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter08/extra/01-a.sh": "true",
        "chapter08/blfs/01-b.sh": "true",
        "chapter08/6.5-c.sh": "true",
    })
    phases = {s["name"]: s["phase"] for s in listed(lfsplugger.run("list", "--json"))}
    assert phases == {"c": "temp", "a": "system", "b": "blfs"}


def test_chapter_directory_given_as_the_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"lfs-commands/chapter05/501-binutils-pass1": scriptlet()})
    [script] = listed(lfsplugger.run("list", "--json", "lfs-commands/chapter05"))
    assert script["phase"] == "cross"


def test_config_phases_override_the_layout(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter05/01-a.sh": "true",
        "chapter05/02-b.sh": "# lfsplug: phase=special",
        "extras/01-c.sh": "true",
        "extras/02-d.sh": "true",
    })
    lfsplugger.make_config(
        "[discovery.phases]\n"
        '"extras/02-*" = "system"\n'
        '"extras" = "blfs"\n'
        '"chapter05/01-a.sh" = "host"\n'
    )
    phases = {s["name"]: s["phase"] for s in listed(lfsplugger.run("list", "--json"))}
    assert phases == {"a": "host", "b": "special", "c": "blfs", "d": "system"}
    assert "phase = blfs    from [discovery.phases] 'extras' in lfsplug.toml line 3" in why_lines(
        lfsplugger, "c")


# -- list files --------------------------------------------------------------------------------


BUILD_ORDER = """\
# Build order for the cross toolchain (chapter 5 of the book)

binutils-pass1.sh
gcc-pass1            # by script name: gcc-13.2.0-pass1.sh
linux-headers.sh
  glibc.sh
"""


def test_list_file_gives_the_order(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "build_order.txt": BUILD_ORDER,
        "glibc.sh": "true",
        "linux-headers.sh": "true",
        "gcc-13.2.0-pass1.sh": "true",
        "binutils-pass1.sh": "true",
    })
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [s["name"] for s in scripts] == ["binutils-pass1", "gcc-pass1", "linux-headers", "glibc"]
    assert scripts[1]["version"] == "13.2.0"
    check = lfsplugger.run("check", "--json")
    assert check.ret == 0
    assert discovery_findings(check, lfsplugger.path) == []


def test_list_file_missing_script_is_an_error_with_file_and_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "build_order.txt": "binutils-pass1.sh\n# next\ngcc-pass1.sh\n",
        "binutils-pass1.sh": "true",
    })
    check = lfsplugger.run("check", "--json")
    assert check.ret == 6
    [finding] = [f for f in checked(check) if f["code"] == "DISC010"]
    assert finding["severity"] == "error"
    assert Path(finding["path"]).name == "build_order.txt"
    assert finding["line"] == 3
    assert "gcc-pass1.sh" in finding["message"]
    result = lfsplugger.run("list")
    assert result.ret == 6
    result.stderr.fnmatch_lines(["build_order.txt:3: error DISC010: 'gcc-pass1.sh' is listed*"])
    assert lfsplugger.run("run").ret == 6


def test_scripts_the_list_leaves_out_are_not_built(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "build_order.txt": "01-a.sh\n03-c.sh\n",
        "01-a.sh": "true",
        "02-b.sh": "touch b.ran",
        "03-c.sh": "true",
        "helper.sh": "echo sourced",
        "README.md": "notes",
        "old/01-x.sh": "touch x.ran",
    })
    assert plan_names(lfsplugger) == ["a", "c"]
    check = lfsplugger.run("check", "--json")
    assert check.ret == 0
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC011", "info", "02-b.sh", None),
        ("DISC011", "info", "helper.sh", None),
        ("DISC011", "info", "old", None),
    ]
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert result.statuses() == {"a": "passed", "c": "passed"}
    assert not (lfsplugger.path / "b.ran").exists()


def test_list_file_entries_directories_duplicates_and_escapes(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "build_order.txt": (
            "chapter06/\n"
            "chapter05/01-first.sh\n"
            "chapter05/01-first.sh\n"
            "../outside.sh\n"
            "/etc/passwd\n"
        ),
        "chapter05/01-first.sh": "true",
        "chapter06/02-b.sh": "true",
        "chapter06/01-a.sh": "true",
    })
    check = lfsplugger.run("check", "--json")
    assert check.ret == 6
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC012", "warning", "build_order.txt", 3),
        ("DISC013", "error", "build_order.txt", 4),
        ("DISC013", "error", "build_order.txt", 5),
    ]
    lfsplugger.make_tree({"build_order.txt": "chapter06/\nchapter05/01-first.sh\n"})
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["phase"]) for s in scripts] == [
        ("a", "temp"), ("b", "temp"), ("first", "cross"),
    ]


def test_list_file_name_from_config(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "order.lst": "b.sh\na.sh\n",
        "build_order.txt": "not the list any more",
        "a.sh": "true",
        "b.sh": "true",
    })
    lfsplugger.make_config('[discovery]\nlist_file = "order.lst"\n')
    assert plan_names(lfsplugger) == ["b", "a"]


def test_list_file_given_as_the_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "ch9/build_order.txt": "# chapter 9, in the order I want\nnetwork.sh\nclock.sh\n",
        "ch9/clock.sh": "true",
        "ch9/network.sh": "true",
        "ch9/extra.sh": "true",
    })
    scripts = listed(lfsplugger.run("list", "--json", "ch9/build_order.txt"))
    assert [(s["name"], s["phase"]) for s in scripts] == [("network", "config"),
                                                          ("clock", "config")]


def test_unreadable_list_file_builds_nothing_of_its_directory(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"sub/01-x.sh": "true", "01-a.sh": "true"})
    (lfsplugger.path / "sub" / "build_order.txt").write_bytes(b"01-x.sh\n\0\x01binary")
    check = lfsplugger.run("check", "--json")
    assert check.ret == 6
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC014", "error", "sub/build_order.txt", None),
    ]
    assert plan_names(lfsplugger, "--order", "sequence", "01-a.sh") == ["a"]


# -- dependency comments -------------------------------------------------------------------------


BLFS_SCRIPTS = {
    "01-icu-76.1.sh": "# Required by: libxml2\n./configure",
    "02-libxml2-2.13.6.sh": "# Dependencies Required: none\n# Recommended: ICU\n./configure",
    "03-libxslt-1.1.42.sh": (
        "# Dependencies Required: libxml2>=2.13\n# Optional (for tests): valgrind"
    ),
    "04-docbook-xsl.sh": (
        "# Depends: libxml2,\n"
        "#          libxslt\n"
        "# Recommended: docbook-xml, which (runtime)\n"
    ),
    "05-gtk-doc.sh": (
        "# REQUIRED: docbook-xsl libxslt (>= 1.1)\n"
        "# Required (runtime): which\n"
        "# Optional: fop or dblatex\n"
    ),
    "06-which.sh": "#\n# Optional: make check by hand",
}


def test_dependency_comments_become_metadata(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({f"blfs/{name}": text for name, text in BLFS_SCRIPTS.items()})
    scripts = by_name(listed(lfsplugger.run("list", "--json", "--order", "graph")))
    assert scripts["libxslt"]["depends"] == ["libxml2>=2.13"]
    assert scripts["docbook-xsl"]["depends"] == ["libxml2", "libxslt"]
    assert scripts["gtk-doc"]["depends"] == ["docbook-xsl", "libxslt>=1.1"]
    assert scripts["libxml2"]["depends"] == []
    assert why_lines(lfsplugger, "gtk-doc")[2:7] == [
        "depends = docbook-xsl, libxslt>=1.1    from dependency comment line 2",
        "name = gtk-doc    from file name",
        "optional = dblatex, fop    from dependency comment line 4",
        "phase = blfs    from directory blfs (the word 'blfs')",
        "runtime = which    from dependency comment line 3",
    ]
    assert "before = libxml2    from dependency comment line 2" in why_lines(lfsplugger, "icu")
    docbook = why_lines(lfsplugger, "docbook-xsl")
    assert "recommends = docbook-xml    from dependency comment line 4" in docbook
    assert "runtime = which    from dependency comment line 4" in docbook
    # a runtime dependency is no edge: which may be built before or after (BLFS)
    assert not [line for line in docbook if "which:" in line]
    assert "optional = valgrind    from dependency comment line 3" in why_lines(
        lfsplugger, "libxslt")


def test_dependency_comments_order_the_graph(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-gtk-doc.sh": "# Required: docbook-xsl",
        "02-docbook-xsl.sh": "# Required: libxml2",
        "03-libxml2.sh": "# Required by: icu-not-here",
        "04-icu.sh": "# Required by: libxml2",
    })
    assert plan_names(lfsplugger, "--order", "graph") == [
        "icu", "libxml2", "docbook-xsl", "gtk-doc"]


def test_dependency_comment_problems_are_findings(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "true", "02-b.sh": "true",
        "03-c.sh": (
            "# Required: the kernel must be configured first\n"
            "# Recommended: a or b\n"
            "# Required: a or b\n"
            "# Optional: foo/bar\n"
        ),
    })
    check = lfsplugger.run("check", "--json")
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC031", "info", "03-c.sh", 2),
        ("DISC032", "info", "03-c.sh", 4),
        ("DISC030", "warning", "03-c.sh", 5),
    ]
    assert listed(lfsplugger.run("list", "--json"))[2]["depends"] == []


def test_header_wins_over_every_other_source(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter05/01-glibc.sh": "true",
        "chapter05/02-zlib.sh": "true",
        "chapter05/05-gcc-13.2.0-pass1.sh": (
            "# lfsplug: version=14.2.0 phase=temp depends=glibc\n"
            "# Required: zlib\n"
            "VERSION=13.1.0\n"
        ),
    })
    lfsplugger.make_config('[discovery.phases]\n"chapter05" = "cross"\n')
    gcc = listed(lfsplugger.run("list", "--json"))[2]
    assert (gcc["version"], gcc["phase"], gcc["depends"]) == ("14.2.0", "temp", ["glibc"])
    assert why_lines(lfsplugger, "gcc-pass1")[2:7] == [
        "depends = glibc    from # lfsplug: header line 2",
        "name = gcc-pass1    from file name",
        "phase = temp    from # lfsplug: header line 2",
        "provides = gcc    from file name",
        "version = 14.2.0    from # lfsplug: header line 2",
    ]


def test_header_name_of_a_pass_build_provides_the_package(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-bu.sh": "# lfsplug: name=binutils-pass2"})
    [script] = listed(lfsplugger.run("list", "--json"))
    assert script["provides"] == ["binutils"]
    assert "provides = binutils    from pass build binutils-pass2" in why_lines(
        lfsplugger, "binutils-pass2")


# -- mixed layouts -------------------------------------------------------------------------------


def test_mixed_layouts_in_one_tree(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "1-lfs/lfs-commands/chapter05/501-binutils-pass1": scriptlet("binutils", "2.44"),
        "1-lfs/lfs-commands/chapter05/502-gcc-pass1": scriptlet("gcc", "14.2.0"),
        "1-lfs/lfs-commands/chapter08/804-glibc": scriptlet("glibc", "2.41"),
        "1-lfs/logs/501-binutils-pass1": "a log, not a script",
        "2-blfs/build_order.txt": "05-cracklib-2.10.3.sh\nwhich.sh\n",
        "2-blfs/05-cracklib-2.10.3.sh": "# Required: glibc\n# Required by: which",
        "2-blfs/which.sh": "true",
        "3-mine/6.5-hello-1.0.sh": "echo hello",
        "3-mine/10-world.sh": "# lfsplug: phase=custom",
    })
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["version"], s["phase"]) for s in scripts] == [
        ("binutils-pass1", "2.44", "cross"),
        ("gcc-pass1", "14.2.0", "cross"),
        ("glibc", "2.41", "system"),
        ("cracklib", "2.10.3", "blfs"),
        ("which", None, "blfs"),
        ("hello", "1.0", "temp"),
        ("world", None, "custom"),
    ]
    check = lfsplugger.run("check", "--json", "-p", "no:chroot")
    assert check.ret == 0
    assert discovery_findings(check, lfsplugger.path) == []


def test_list_text_shows_version_phase_and_dependencies(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter05/5.2-binutils-2.44-pass1.sh": "true",
        "chapter05/5.5-glibc-2.41.sh": "# Required: binutils",
    })
    result = lfsplugger.run("list")
    assert result.ret == 0
    result.stdout.re_match_lines([
        r"1  binutils-pass1 +2\.44 +cross +chapter05/5\.2-binutils-2\.44-pass1\.sh$",
        r"2  glibc +2\.41 +cross +chapter05/5\.5-glibc-2\.41\.sh  \(depends: binutils\)$",
    ])


def test_long_first_lines_are_read_up_to_line_50(lfsplugger: Lfsplugger) -> None:
    long_line = "# " + "x" * 400 + "\n"
    lfsplugger.make_tree({
        "01-long.sh": long_line * 47 + "VERSION=1.2\n# lfsplug: phase=cross\n",
        "02-crlf.sh": "# lfsplug: version=3.4 phase=temp\r\n# Required: long\r\nexit 0\r\n",
    })
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["version"], s["phase"]) for s in scripts] == [("1.2", "cross"), ("3.4", "temp")]
    assert scripts[1]["depends"] == ["long"]


# ==============================================================================================
# Bad input: handled, or skipped with a finding that says why; never a traceback
# ==============================================================================================


def write(lfsplugger: Lfsplugger, rel: str | bytes, data: bytes, mode: int = 0o755) -> None:
    target = os.path.join(os.fsencode(lfsplugger.path), os.fsencode(rel))
    with open(target, "wb") as handle:
        handle.write(data)
    os.chmod(target, mode)


def test_binary_file_is_skipped_with_a_finding(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    write(lfsplugger, "02-compiled", b"\x7fELF\x02\x01\x01\0\0\0\0\0" + bytes(range(256)))
    assert lfsplugger.run("list").ret == 6  # a build step would be missing
    check = lfsplugger.run("check", "--json")
    assert check.ret == 6
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC021", "error", "02-compiled", None),
    ]
    assert lfsplugger.run("run", "--ignore-errors").ret == 0


def test_non_utf8_script_is_read_leniently(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger, "01-latin1.sh", b"#!/bin/bash\n# caf\xe9\n# lfsplug: version=1.0\n"
                                      b"VERSION=2.0\xff\necho ok\n")
    [script] = listed(lfsplugger.run("list", "--json"))
    assert (script["name"], script["version"]) == ("latin1", "1.0")
    check = lfsplugger.run("check", "--json")
    assert discovery_findings(check, lfsplugger.path) == [("DISC025", "info", "01-latin1.sh", None)]


def test_empty_script_is_an_info(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger, "01-empty.sh", b"")
    check = lfsplugger.run("check", "--json")
    assert check.ret == 0
    assert discovery_findings(check, lfsplugger.path) == [("DISC022", "info", "01-empty.sh", None)]


def test_script_without_shebang_warns_and_still_runs(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger, "01-plain.sh", b"# lfsplug: version=1\necho plain > plain.out\n")
    check = lfsplugger.run("check", "--json")
    assert check.ret == 0
    assert discovery_findings(check, lfsplugger.path) == [("DISC023", "warning", "01-plain.sh", 1)]
    result = lfsplugger.run("run")
    assert result.ret == 0
    assert (lfsplugger.path / "plain.out").read_text() == "plain\n"


def test_shebang_of_another_interpreter_and_byte_order_mark(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger, "01-py.sh", b"#!/usr/bin/env python3\nprint('hi')\n")
    write(lfsplugger, "02-bom.sh", b"\xef\xbb\xbf#!/bin/bash\necho hi\n")
    write(lfsplugger, "03-env.sh", b"#!/usr/bin/env bash\necho hi\n")
    write(lfsplugger, "04-sh.sh", b"#!/tools/bin/sh -e\necho hi\n")
    assert plan_names(lfsplugger) == ["py", "bom", "env", "sh"]
    check = lfsplugger.run("check", "--json")
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC024", "warning", "01-py.sh", 1),
        ("DISC028", "warning", "02-bom.sh", 1),
    ]
    [py] = [f for f in checked(check) if f["code"] == "DISC024"]
    assert "python3" in py["message"]


def test_findings_silenced_by_the_header_and_the_config(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger, "01-plain.sh", b"# lfsplug: disable=DISC023\necho plain\n")
    write(lfsplugger, "02-empty.sh", b"")
    write(lfsplugger, "03-other.sh", b"echo plain\n")
    assert discovery_findings(lfsplugger.run("check", "--json"), lfsplugger.path) == [
        ("DISC022", "info", "02-empty.sh", None),
        ("DISC023", "warning", "03-other.sh", 1),
    ]
    lfsplugger.make_config('disable = ["DISC022"]\n')
    assert discovery_findings(lfsplugger.run("check", "--json"), lfsplugger.path) == [
        ("DISC023", "warning", "03-other.sh", 1),
    ]


def test_findings_about_deselected_scripts_are_dropped(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger, "01-plain.sh", b"echo no shebang\n")
    lfsplugger.make_tree({"02-b.sh": "true"})
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_collection_modifyscripts(scripts):\n"
        "    scripts[:] = [s for s in scripts if s.name != 'plain']\n"
    )
    check = lfsplugger.run("check", "--json")
    assert discovery_findings(check, lfsplugger.path) == []


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file all the same")
def test_unreadable_file_is_skipped_with_a_finding(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-secret.sh": "true"})
    (lfsplugger.path / "02-secret.sh").chmod(0)
    assert lfsplugger.run("list").ret == 6  # a build step would be missing
    check = lfsplugger.run("check", "--json")
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC020", "error", "02-secret.sh", None),
    ]


def test_file_that_cannot_be_opened_is_skipped_with_a_finding(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As root a chmod 000 file is readable, so refuse the open itself as the kernel would.
    lfsplugger.make_tree({"01-a.sh": "true", "02-secret.sh": "true"})
    real_open = os.open

    def refusing_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        if isinstance(path, str) and path.endswith("02-secret.sh"):
            raise PermissionError(13, "Permission denied", path)
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(os, "open", refusing_open)
    assert lfsplugger.run("list").ret == 6  # a build step would be missing
    check = lfsplugger.run("check", "--json")
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC020", "error", "02-secret.sh", None),
    ]
    [finding] = [f for f in checked(check) if f["code"] == "DISC020"]
    assert "Permission denied" in finding["message"]


def test_unreadable_directory_is_skipped_with_a_finding(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch
) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "chapter05/01-b.sh": "true"})
    real_scandir = os.scandir

    def refusing_scandir(path: Any = ".") -> Any:
        if isinstance(path, str) and path.endswith("chapter05"):
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", refusing_scandir)
    assert plan_names(lfsplugger) == ["a"]
    check = lfsplugger.run("check", "--json")
    assert discovery_findings(check, lfsplugger.path) == [("DISC020", "warning", "chapter05", None)]


def test_symlink_loops_and_broken_links_are_reported(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "sub/02-b.sh": "true"})
    os.symlink(".", lfsplugger.path / "loop")
    os.symlink("..", lfsplugger.path / "sub" / "up")
    os.symlink("03-self.sh", lfsplugger.path / "03-self.sh")
    os.symlink("nowhere.sh", lfsplugger.path / "04-dangling.sh")
    os.symlink("sub/02-b.sh", lfsplugger.path / "05-alias.sh")
    assert plan_names(lfsplugger) == ["a", "alias", "b"]
    check = lfsplugger.run("check", "--json")
    assert discovery_findings(check, lfsplugger.path) == [
        ("DISC026", "info", "03-self.sh", None),
        ("DISC026", "info", "04-dangling.sh", None),
        ("DISC026", "info", "loop", None),
        ("DISC026", "info", "sub/up", None),
    ]


def test_symlink_to_a_directory_outside_the_tree_is_followed(
    lfsplugger: Lfsplugger, tmp_path_factory: pytest.TempPathFactory
) -> None:
    shared = tmp_path_factory.mktemp("shared")
    (shared / "01-shared.sh").write_text("#!/bin/bash\ntrue\n")
    os.symlink(shared, shared / "again")  # a loop out there too
    lfsplugger.make_tree({"01-a.sh": "true"})
    os.symlink(shared, lfsplugger.path / "chapter08")
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["phase"]) for s in scripts] == [("a", None), ("shared", "system")]


def test_fifo_named_like_a_script_is_skipped(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    os.mkfifo(lfsplugger.path / "02-pipe.sh")
    result = lfsplugger.run_subprocess("check", "--json", timeout=30,
                                       env={"LFSPLUG_PLUGINS": "no:hostreqs"})
    assert discovery_findings(result, lfsplugger.path) == [("DISC026", "info", "02-pipe.sh", None)]


def test_file_names_with_newlines_or_bad_bytes_are_skipped(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    write(lfsplugger, "02-new\nline.sh", b"#!/bin/bash\ntrue\n")
    write(lfsplugger, b"03-caf\xe9.sh", b"#!/bin/bash\ntrue\n")
    os.mkdir(os.path.join(os.fsencode(lfsplugger.path), b"ch\xff"))
    write(lfsplugger, b"ch\xff/01-x.sh", b"#!/bin/bash\ntrue\n")
    assert lfsplugger.run("list").ret == 6  # a build step would be missing
    check = lfsplugger.run("check", "--json")
    assert check.ret == 6
    found = [f for f in checked(check) if f["code"] == "DISC027"]
    assert [f["severity"] for f in found] == ["error", "error", "warning"]  # the folder: warning
    assert all(f["path"] == str(lfsplugger.path) for f in found)
    messages = " ".join(f["message"] for f in found)
    assert "02-new\\\\nline.sh" in messages and "03-caf\\\\xe9.sh" in messages
    text = lfsplugger.run("check")  # printed as text, too, without a traceback
    assert text.ret == 6
    text.stdout.fnmatch_lines(["*error*DISC027*03-caf\\\\xe9.sh*"])
    assert lfsplugger.run("run").ret == 6
    assert lfsplugger.run("run", "--ignore-errors").ret == 0


def test_script_names_with_spaces_quotes_and_semicolons_are_not_lower_cased(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({"01-Fix It; Now.sh": "true", "02-Make-4.4.1.sh": "true"})
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["version"]) for s in scripts] == [
        ("Fix It; Now", None), ("make", "4.4.1"),
    ]


# -- configuration mistakes ---------------------------------------------------------------------


@pytest.mark.parametrize(("toml", "message"), [
    ('[discovery]\nlist_files = "x"\n', "lfsplug.toml:2: [discovery] unknown key 'list_files' "
                                         "(did you mean list_file?; known: "),
    ("[discovery]\nlist_file = 3\n", "lfsplug.toml:2: [discovery] list_file: expected a file name "
                                     "or a list of file names, got 3"),
    ('[discovery]\nlist_file = "a/b.txt"\n', "lfsplug.toml:2: [discovery] list_file: 'a/b.txt' "
                                             "must be a plain file name"),
    ('[discovery.phases]\n"chapter05" = "two words"\n', "lfsplug.toml:2: [discovery.phases] "
                                                        "chapter05: must name a phase"),
    ('[discovery]\nphases = ["cross"]\n', "lfsplug.toml:2: [discovery] phases: expected a table "
                                          "of GLOB = a phase name"),
    ('[discovery]\ndriver = "nowhere.sh"\n', "lfsplug.toml:2: [discovery] driver: the driver "),
])
def test_bad_discovery_config_is_a_usage_error(lfsplugger: Lfsplugger, toml: str,
                                               message: str) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    lfsplugger.make_config(toml)
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert message in "\n".join(result.errlines)


# ==============================================================================================
# Speed: one read of each file's head, no subprocess
# ==============================================================================================


def test_discovery_reads_each_file_once_and_runs_nothing(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch
) -> None:
    import subprocess

    from lfsplug_discovery import head, layouts

    lfsplugger.make_tree({
        f"chapter0{5 + i // 50}/{i:03d}-pkg{i}-1.{i}.sh": f"# Required: pkg{i - 1}" if i else "true"
        for i in range(200)
    })
    reads: list[str] = []
    real_read_head = head.read_head

    def counting(path: str) -> Any:
        reads.append(path)
        return real_read_head(path)

    def no_subprocess(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"discovery started a process: {args}")

    monkeypatch.setattr(layouts, "read_head", counting)
    monkeypatch.setattr(subprocess.Popen, "__init__", no_subprocess)
    result = lfsplugger.run("list", "--json")
    assert len(listed(result)) == 200
    assert len(reads) == len(set(reads)) == 200


# ==============================================================================================
# Property-based tests of the parsers
# ==============================================================================================

_word = st.from_regex(r"[a-z][a-z0-9+]{1,6}", fullmatch=True).filter(
    lambda w: not re.fullmatch(r"pass\d+", w)
)
_version = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}[a-z]?", fullmatch=True)
_number = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){0,3}", fullmatch=True)
_tail = st.sampled_from(["", "-20230520", "-rc1", "-beta2"])
_prefix = st.sampled_from(["", "01-", "005_", "6.48-", "a.05.03.", "501-", "107-1-", "10 "])
HYPOTHESIS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
                      deadline=None)


@HYPOTHESIS
@given(st.tuples(st.lists(_word, min_size=1, max_size=3), _version, _tail,
                 st.sampled_from(["", "-pass1", "-pass2"]), _prefix, st.sampled_from([".sh", ""]),
                 st.booleans()))
def test_name_and_version_from_file_name(
    case: tuple[list[str], str, str, str, str, str, bool],
) -> None:
    words, version, tail, suffix, prefix, extension, upper = case
    package = "-".join(words)
    filename = f"{prefix}{package}-{version}{tail}{suffix}{extension}"
    if upper:
        filename = filename.upper().replace(".SH", ".sh")
    parsed = parse_filename(filename)
    assert parsed.name == package + suffix
    assert parsed.version == version + tail
    assert parsed.package == (package if suffix else None)


@HYPOTHESIS
@given(st.text(st.characters(blacklist_characters="/\0"), min_size=1, max_size=40))
def test_file_name_parser_takes_anything(filename: str) -> None:
    parsed = parse_filename(filename)
    assert parsed.name
    assert "/" not in parsed.name
    if parsed.version is not None:
        assert KEYS["version"](parsed.version) == parsed.version
    order_key(filename)


@HYPOTHESIS
@given(_number, _number, _word, _word)
def test_numbered_files_sort_by_their_number_like_sort_v(a: str, b: str, x: str, y: str) -> None:
    assume(a != b)
    first, _ = sorted([f"{a}-{x}.sh", f"{b}-{y}.sh"], key=order_key)
    assert first.startswith(min(a, b, key=version_key) + "-")


_package = st.from_regex(r"[a-z][a-z0-9+._-]{0,8}", fullmatch=True).filter(
    lambda w: w not in STOPWORDS and w not in {"and", "or", "none", "nothing"}
    and not w.endswith((".", "-", "_", ":"))
)
_labels = {
    "depends": ["Required", "Dependencies Required", "Depends", "Depends on", "Requires",
                "Dependencies"],
    "recommends": ["Recommended", "Recommends"],
    "optional": ["Optional", "Suggested"],
    "before": ["Required by", "Needed by"],
}


@st.composite
def _comment(draw: st.DrawFn) -> tuple[str, dict[str, list[str]]]:
    kinds = draw(st.lists(st.sampled_from(sorted(_labels)), min_size=1, max_size=4,
                          unique=True))
    lines, expected = ["#!/bin/bash"], {}
    for kind in kinds:
        label = draw(st.sampled_from(_labels[kind]))
        label = draw(st.sampled_from([label, label.upper(), label.lower()]))
        items = draw(st.lists(_package, min_size=1, max_size=4, unique=True))
        shown = []
        for item in items:
            version = draw(st.none() | _version) if kind != "before" else None
            if version is None:
                shown.append(item)
                continue
            spelling = draw(st.sampled_from(["{}>={}", "{} >= {}", "{} (>= {})"]))
            shown.append(spelling.format(item, version))
            items[items.index(item)] = f"{item}>={version}"
        separator = draw(st.sampled_from([", ", " ", ",", " , "]))
        lines.append(f"# {label}: {separator.join(shown)}")
        expected[kind] = items
    return "\n".join([*lines, "set -e"]), expected


@HYPOTHESIS
@given(_comment())
def test_dependency_comments_round_trip(case: tuple[str, dict[str, list[str]]]) -> None:
    text, expected = case
    found = parse_dependency_comments(text)
    assert found.values == expected
    assert not found.problems
    assert sorted(found.lines.values()) == list(range(2, 2 + len(expected)))


@HYPOTHESIS
@given(st.lists(st.text(max_size=60), max_size=8))
def test_dependency_comment_parser_takes_anything(texts: list[str]) -> None:
    labels = ["# Required: ", "# Optional (for tests): ", "# Required by: ", "#   ", ""]
    text = "\n".join(label + t for label, t in zip(labels * 2, texts, strict=False))
    found = parse_dependency_comments(text)
    for key, items in found.values.items():
        KEYS.get(key, KEYS["before"])(", ".join(items))  # what the kernel gets converts


# ==============================================================================================
# The discovery cache
# ==============================================================================================

CACHE = Path(".lfsplug") / "cache" / "discovery.json"
CACHED_TREE = {
    "lfs-commands/chapter05/501-binutils-pass1": (
        "#!/bin/bash\nset -e\nPACKAGE=binutils-2.44.tar.xz\n./configure && make"),
    "lfs-commands/chapter05/502-gcc-pass1": (
        "#!/bin/bash\nexport VERSION=14.2.0\nPACKAGE=gcc-14.2.0.tar.xz\nmake"),
    "extras/build_order.txt": "10-zlib.sh\n# a comment\n05-xz.sh\n",
    "extras/05-xz.sh": "#!/bin/bash\n# Required: zlib\n# Optional (for tests): valgrind\nmake",
    "extras/10-zlib.sh": "#!/bin/sh\n# lfsplug: version=1.3.1 sbu=0.1\nmake",
    "extras/20-unlisted.sh": "make",
    "blfs/1010-z-cracklib": (
        "#!/usr/bin/env python3\n# Required: the kernel must be configured\n"
        "# Recommended: a or b, c\nPACKAGE=cracklib-2.10.3.tar.xz"),
    "blfs/1011-z-empty": "",
    "blfs/1012-z-odd": "#!/bin/bash\n# lfsplug: frobnicate=yes\n# Runtime (runtime): dbus\n",
}


def _age(root: Path, seconds: int = 3600) -> None:
    """Date every file of ``root`` back, out of the cache's racy window."""
    past = time.time_ns() - seconds * 1_000_000_000
    for path in [root, *root.rglob("*")]:
        if path.is_file():
            os.utime(path, ns=(past, past))


@pytest.fixture
def cached_tree(lfsplugger: Lfsplugger) -> Path:
    lfsplugger.make_tree(CACHED_TREE)
    lfsplugger.make_config('[discovery.phases]\n"extras" = "blfs"\n')
    _age(lfsplugger.path)
    return lfsplugger.path


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files discovery reads (its heads), run after run."""
    from lfsplug_discovery import head, layouts

    seen: list[str] = []

    def counting(path: str) -> Any:
        seen.append(os.path.basename(path))
        return head.read_head(path)

    monkeypatch.setattr(layouts, "read_head", counting)
    return seen


def _outputs(lfsplugger: Lfsplugger) -> tuple[list[str], list[str], list[str]]:
    listing = lfsplugger.run("list", "--json")
    why = lfsplugger.run("list", "--why", "cracklib")
    check = lfsplugger.run("check", "--json", "--shellcheck=off")
    assert listing.ret == why.ret == 0
    return listing.outlines, why.outlines, check.outlines


def test_warm_discovery_gives_what_cold_discovery_gives(
    lfsplugger: Lfsplugger, cached_tree: Path, reads: list[str]
) -> None:
    cold = _outputs(lfsplugger)
    assert len(reads) == 7 and (cached_tree / CACHE).is_file()  # then list --why, check: warm
    reads.clear()
    warm = _outputs(lfsplugger)
    assert reads == []  # every head came from the cache
    assert warm == cold
    findings = {f["code"] for f in json.loads("\n".join(cold[2]))["findings"]}
    assert {"DISC011", "DISC024", "DISC031", "META002", "ORD002"} <= findings


def test_list_writes_the_cache_only_when_something_changed(
    lfsplugger: Lfsplugger, cached_tree: Path
) -> None:
    lfsplugger.run("list")
    cache = cached_tree / CACHE
    written = cache.stat().st_mtime_ns
    os.utime(cache, ns=(written - 10**9, written - 10**9))
    lfsplugger.run("list")
    assert cache.stat().st_mtime_ns == written - 10**9
    (cached_tree / "extras/10-zlib.sh").unlink()  # a script gone is a change too
    (cached_tree / "extras/build_order.txt").write_text("05-xz.sh\n")
    lfsplugger.run("list")
    assert "10-zlib.sh" not in cache.read_text()


def test_an_edited_script_is_read_again(
    lfsplugger: Lfsplugger, cached_tree: Path, reads: list[str]
) -> None:
    script = cached_tree / "extras/10-zlib.sh"
    before = script.stat()
    lfsplugger.run("list")
    # The same size and the same mtime to the nanosecond: the ctime the write changes (and
    # that os.utime cannot set back) tells the edit.
    script.write_text(script.read_text().replace("1.3.1", "1.3.2"))
    os.utime(script, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert script.stat().st_size == before.st_size
    assert script.stat().st_mtime_ns == before.st_mtime_ns
    reads.clear()
    scripts = {s["name"]: s for s in listed(lfsplugger.run("list", "--json"))}
    assert reads == ["10-zlib.sh"]
    assert scripts["zlib"]["version"] == "1.3.2"


def test_an_edit_within_the_racy_window_is_read_again(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch, reads: list[str]
) -> None:
    from lfsplug_discovery import layouts

    # A coarse clock: the edit leaves size, mtime, inode and ctime as they were, so only the
    # racy rule (no trust in an entry as new as the cache) can catch it.
    monkeypatch.setattr(layouts, "stat_key", lambda info: [info.st_size, info.st_mtime_ns])
    lfsplugger.make_tree({"01-a.sh": "# lfsplug: version=1.0\ntrue", "02-b.sh": "true"})
    _age(lfsplugger.path / "02-b.sh")
    script = lfsplugger.path / "01-a.sh"
    mtime = script.stat().st_mtime_ns
    assert [s["version"] for s in listed(lfsplugger.run("list", "--json"))] == ["1.0", None]
    script.write_text("# lfsplug: version=2.0\ntrue")
    os.utime(script, ns=(mtime, mtime))
    reads.clear()
    assert [s["version"] for s in listed(lfsplugger.run("list", "--json"))] == ["2.0", None]
    assert reads == ["01-a.sh"]  # 02-b.sh is old enough to trust


def _doctor_cache(root: Path, version: str | None = None) -> None:
    """Make the cached header of 10-zlib.sh say version=6.6.6 (and set the cache's version)."""
    data = json.loads((root / CACHE).read_text())
    for path, entry in data["entries"].items():
        if path.endswith("10-zlib.sh"):
            entry[1][0]["version"] = "6.6.6"
    if version is not None:
        data["version"] = version
    (root / CACHE).write_text(json.dumps(data))


def test_the_cache_is_what_a_warm_run_reads(lfsplugger: Lfsplugger, cached_tree: Path) -> None:
    lfsplugger.run("list")
    _doctor_cache(cached_tree)
    scripts = {s["name"]: s for s in listed(lfsplugger.run("list", "--json"))}
    assert scripts["zlib"]["version"] == "6.6.6"  # the control for the two tests below


def test_a_cache_of_another_code_version_is_ignored(
    lfsplugger: Lfsplugger, cached_tree: Path
) -> None:
    lfsplugger.run("list")
    _doctor_cache(cached_tree, version="0123456789abcdef")
    scripts = {s["name"]: s for s in listed(lfsplugger.run("list", "--json"))}
    assert scripts["zlib"]["version"] == "1.3.1"
    assert json.loads((cached_tree / CACHE).read_text())["version"] != "0123456789abcdef"


@pytest.mark.parametrize("content", [
    "not json", '{"version": 1}', '[1, 2]', '{"version": "x", "entries": []}', "\0\0\0",
    "CORRUPT-ENTRIES", "CORRUPT-ORDERS",
])
def test_a_corrupt_cache_is_ignored_and_rebuilt(
    lfsplugger: Lfsplugger, cached_tree: Path, content: str
) -> None:
    cold = lfsplugger.run("list", "--json").outlines
    if content == "CORRUPT-ENTRIES":  # the right version, entries of the wrong shape
        data = json.loads((cached_tree / CACHE).read_text())
        for number, path in enumerate(data["entries"]):
            data["entries"][path] = [[1, 2], {"a": 1}, None, [[]], "x"][number % 5]
        content = json.dumps(data)
    if content == "CORRUPT-ORDERS":  # directories whose cached order names other entries
        data = json.loads((cached_tree / CACHE).read_text())
        for number, directory in enumerate(data["orders"]):
            data["orders"][directory] = [["x"], None, {}, list("abcdefgh")][number % 4]
        content = json.dumps(data)
    (cached_tree / CACHE).write_text(content)
    result = lfsplugger.run("list", "--json")
    assert result.ret == 0 and result.outlines == cold
    assert json.loads((cached_tree / CACHE).read_text())["entries"]


def test_no_cache_when_the_state_dir_cannot_be_written(
    lfsplugger: Lfsplugger, cached_tree: Path
) -> None:
    (cached_tree / ".lfsplug").write_text("a file where the folder goes")
    assert plan_names(lfsplugger)
    assert (cached_tree / ".lfsplug").is_file()


def test_lfs_inside_the_tree_is_not_searched_for_scripts(lfsplugger: Lfsplugger) -> None:
    """``$LFS`` inside the scripts' tree is the system being built, not scripts: its files are
    not found, and its absolute links (``bin -> /usr/bin``) do not lead discovery to the host's
    programs."""
    lfsplugger.make_tree({"01-a.sh": "true", "lfs/sources/02-b.sh": "true"})
    (lfsplugger.path / "lfs" / "bin").symlink_to("/usr/bin")
    result = lfsplugger.run("list", "--json", "--lfs", str(lfsplugger.path / "lfs"))
    assert result.ret == 0
    assert [s["name"] for s in json.loads("\n".join(result.outlines))["scripts"]] == ["a"]
