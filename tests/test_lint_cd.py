"""LFS009: a ``cd``/``pushd`` into a variable that nothing sets, found before the build.

Scripts of real collections rely on their driver (``cd $PKGDIR`` after it unpacked the
package). lfsplug runs each script itself, so a variable that neither the script, the files it
sources, nor the environment lfsplug gives it (the clean environment, the driver's exports in
``script.env``, ``[env]``, ``PKGDIR`` with ``unpack=``, ``lfsplug_script_env``) sets is a
warning at the ``cd``'s line. Lines count the shebang ``make_tree`` adds as line 1.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lfsplug
import lfsplug_shell
from helpers import findings
from lfsplug import Config, Script, Session
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_validation.cdenv import ALWAYS_SET
from lfsplug_validation.cdvars import cd_uses, shell_facts
from lfsplug_validation.syntaxtree import ScriptTree

CODE = "LFS009"
#: Discovery builds every script, whatever drivers it finds (these trees have none to follow).
BUILD_ALL = '[discovery]\nunreached = "build"\n'


def check(lfsplugger: Lfsplugger, *args: str, plugins: tuple[object, ...] = ()) -> RunResult:
    """``lfsplug check --json`` with shellcheck off and hostreqs blocked."""
    return lfsplugger.run("-p", "no:hostreqs", "check", "--json", "--shellcheck=off", *args,
                          plugins=plugins)


def unset_cds(result: RunResult) -> list[tuple[str, int, str]]:
    """(file name, line, message) of every LFS009 finding."""
    return sorted((Path(f["path"]).name, f["line"], f["message"])
                  for f in findings(result) if f["code"] == CODE)


def lines_of(result: RunResult, name: str = "01-a.sh") -> list[int]:
    return [line for file, line, _ in unset_cds(result) if file == name]


def one_script(lfsplugger: Lfsplugger, body: str, *extra: tuple[str, str]) -> None:
    lfsplugger.make_tree({"01-a.sh": "set -e\n" + body, **dict(extra)})
    lfsplugger.make_config(BUILD_ALL)


# -- what trips it, and what it says ------------------------------------------------------------


def test_cd_into_a_variable_nothing_sets_is_a_warning_at_its_line(lfsplugger: Lfsplugger) -> None:
    one_script(lfsplugger, "PACKAGE=binutils\ncd $PKGDIR\nmake install")
    result = check(lfsplugger)
    assert result.ret == 0  # a warning: check passes, run would start
    [finding] = [f for f in findings(result) if f["code"] == CODE]
    assert (finding["severity"], finding["line"]) == ("warning", 4)
    assert finding["message"] == ("cd $PKGDIR: PKGDIR is set neither by the script nor by its "
                                  "environment; bash would cd to $HOME")
    for fix in ("[env]", "unpack=", "workdir=", "${PKGDIR:?}", "driver"):
        assert fix in finding["hint"]


@pytest.mark.parametrize(("line", "says"), [
    ("cd $X", "bash would cd to $HOME"),
    ("cd ${X}", "bash would cd to $HOME"),
    ('cd "$X"/build', "bash would cd to /build instead"),
    ("cd $X/$Y", "X and Y are set neither"),
    ("cd $X/$Y", "bash would cd to / instead"),
    ('cd "$X"', 'bash would stay in the directory it is in (cd "" does nothing)'),
    ("pushd $X > /dev/null", "pushd with no directory swaps the top two directories"),
    ("cd -P -- $X", "bash would cd to $HOME"),
    ("cd ${X%/}", "bash would cd to $HOME"),
    ("cd ${X[0]}", "bash would cd to $HOME"),
    ("builtin cd $X", "bash would cd to $HOME"),
    ("cd $HOME/$X", "bash would cd to $HOME/ instead"),
    ("(cd $X && make install)", "bash would cd to $HOME"),
    ("cd \\\n  $X", "bash would cd to $HOME"),
    ("f() { cd $X; }", "bash would cd to $HOME"),
])
def test_forms_that_trip_it(lfsplugger: Lfsplugger, line: str, says: str) -> None:
    one_script(lfsplugger, line)
    [(_, at, message)] = unset_cds(check(lfsplugger))
    assert at == 3
    assert says in message


@pytest.mark.parametrize("line", [
    "cd ${X:-/usr/src}", "cd ${X-/usr/src}", "cd ${X:=/usr/src}", "cd ${X:?set X first}",
    "cd ${X?}", "cd ${X:+$X}", "cd ${#X}", "cd ${!X}",        # they handle an unset X
    'cd "$(dirname "$0")"', "cd $(mktemp -d)", "cd `pwd`",    # command substitutions
    'cd "$1"', "cd $@", "cd ${10}", 'cd "$*"', "cd $?",      # positional, special
    "cd $LFS/sources", 'cd "$HOME"', "cd $OLDPWD", "cd $PWD/build", "cd $LFS_TGT",
    "cd $MAKEFLAGS", "cd $PATH", "cd $TERM", "cd $LC_ALL", "cd $CONFIG_SITE",
    "cd '$X'", "cd \\$X", "# cd $X", "echo cd $X", 'echo "cd $X"',  # no expansion, no cd
    "cat > notes << EOF\ncd $X\nEOF", "cd -", "cd", "cd ..", "cd build",
])
def test_forms_that_do_not(lfsplugger: Lfsplugger, line: str) -> None:
    one_script(lfsplugger, line)
    assert unset_cds(check(lfsplugger)) == []


# -- what the script sets itself ----------------------------------------------------------------


@pytest.mark.parametrize("sets", [
    "X=/usr/src", "export X=/usr/src", "declare -x X=/usr/src", "readonly X=/usr/src",
    "typeset X=/usr/src", "f() { local X=/usr/src; cd $X; }", "X+=/usr/src",
    "X=(/usr/src /opt)", "X[0]=/usr/src", "declare -a X=(/usr/src)",
    "read -r X < dir.txt", "IFS=: read -r A X B <<< 'a:b:c'", "for X in a b; do :; done",
    "select X in a b; do break; done", "while getopts ab: X; do :; done",
    "mapfile -t X < dirs.txt", "printf -v X '%s' /usr/src", ": ${X:=/usr/src}",
    "for ((X = 0; X < 1; X++)); do :; done",
])
@pytest.mark.parametrize("where", ["before", "after"])
def test_a_variable_the_script_sets_anywhere_is_fine(
        lfsplugger: Lfsplugger, sets: str, where: str) -> None:
    cd = "cd $X"
    one_script(lfsplugger, f"{sets}\n{cd}" if where == "before" else f"{cd}\n{sets}")
    assert unset_cds(check(lfsplugger)) == []


def test_only_the_variables_nothing_sets_are_named(lfsplugger: Lfsplugger) -> None:
    one_script(lfsplugger, "SRC=/usr/src\ncd $SRC/$PKG\ncd $LFS/$PKG\nexport PKG2\ncd $PKG2")
    got = unset_cds(check(lfsplugger))
    assert [(line, message.split(":")[0]) for _, line, message in got] == [
        (4, "cd $SRC/$PKG"), (5, "cd $LFS/$PKG"), (7, "cd $PKG2")]
    assert "PKG is set neither" in got[0][2]
    assert "bash would cd to $SRC/ instead" in got[0][2]  # SRC is set: shown as a variable
    assert "PKG2 is set neither" in got[2][2]  # export without a value sets nothing


# -- files the script sources -------------------------------------------------------------------


class GivenScripts:
    """Discovery replaced: exactly these scripts (relative to the tree), whatever they hold
    (discovery reads a script that sources a file of the tree as a driver: not what is tested
    here)."""

    def __init__(self, *names: str) -> None:
        self.names = names

    @lfsplug.hookimpl
    def lfsplug_collect_path(self, path: Path) -> list[Script]:
        return [Script(Path(n).stem, path / n, path, i) for i, n in enumerate(self.names)]


def check_given(lfsplugger: Lfsplugger, *names: str, root: Path | None = None) -> RunResult:
    """Validate exactly ``names`` under ``root`` (by default the tree)."""
    return lfsplugger.run("-p", "no:hostreqs", "-p", "no:discovery", "check", "--json",
                          "--shellcheck=off", str(root or lfsplugger.path),
                          plugins=[GivenScripts(*names)])


def test_a_variable_a_sourced_file_sets_is_fine(
        lfsplugger: Lfsplugger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tree = lfsplugger.make_tree({
        "scripts/01-a.sh": "set -e\nsource ./conf/vars.conf\ncd $PKGDIR",
        "scripts/02-b.sh": "set -e\n. conf/vars.conf\ncd $SRCDIR",         # nested
        "scripts/03-c.sh": 'set -e\n. "$(dirname "$0")/conf/vars.conf"\ncd $PKGDIR',
        "scripts/04-d.sh": "set -e\n. conf/vars.conf\ncd $NOWHERE",         # not set there
        "scripts/conf/vars.conf": "PKGDIR=/usr/src/pkg\n. conf/more.conf\n",
        "scripts/conf/more.conf": "export SRCDIR=/usr/src\n. ./conf/vars.conf  # a cycle\n",
    })
    names = ("01-a.sh", "02-b.sh", "03-c.sh", "04-d.sh")
    # checked from elsewhere: sourced files are found beside the script, not in the cwd
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = check_given(lfsplugger, *names, root=tree / "scripts")
    assert [(name, line) for name, line, _ in unset_cds(result)] == [("04-d.sh", 4)]

    (tree / "scripts" / "conf" / "more.conf").write_text("export OTHER=/usr/src\n")
    result = check_given(lfsplugger, *names, root=tree / "scripts")  # scripts: from the cache
    assert [(name, line) for name, line, _ in unset_cds(result)] == [
        ("02-b.sh", 4), ("04-d.sh", 4)]  # what their sourced files say: read again


@pytest.mark.parametrize("source", [
    ". ./missing.conf", "source $CONFDIR/vars.conf", 'source "$HOME/.lfsrc"', ". ~/.lfsrc",
])
def test_a_sourced_file_lfsplug_cannot_read_may_set_anything(
        lfsplugger: Lfsplugger, source: str) -> None:
    lfsplugger.make_tree({"01-a.sh": f"set -e\n{source}\ncd $PKGDIR"})
    assert unset_cds(check_given(lfsplugger, "01-a.sh")) == []


def test_a_sourced_path_is_expanded_from_the_environment(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "set -e\n. $CONFDIR/vars.conf\ncd $PKGDIR\ncd $OTHER",
                          "conf/vars.conf": "PKGDIR=/usr/src/pkg"})
    lfsplugger.make_config(f'[env]\nCONFDIR = "{lfsplugger.path / "conf"}"\n')
    # OTHER only: vars.conf was found through [env], read, and does not set it
    assert lines_of(check_given(lfsplugger, "01-a.sh")) == [5]


# -- the environment lfsplug gives the script ---------------------------------------------------


class DriverExports:
    """What discovery does for a script its driver runs: ``script.env`` from the exports."""

    def __init__(self, **env: str) -> None:
        self.env = env

    @lfsplug.hookimpl
    def lfsplug_collection_modifyscripts(self, session: Session, config: Config,
                                         scripts: list[Script]) -> None:
        for script in scripts:
            script.env.update(self.env)


def test_the_driver_exports_set_it(lfsplugger: Lfsplugger) -> None:
    one_script(lfsplugger, "cd $PKGDIR\ncd $SOURCES")
    assert lines_of(check(lfsplugger, plugins=(DriverExports(PKGDIR="/p"),))) == [4]
    assert lines_of(check(lfsplugger, plugins=(DriverExports(PKGDIR="/p", SOURCES="/s"),))) == []


def test_the_configuration_env_sets_it_and_a_change_is_seen(lfsplugger: Lfsplugger) -> None:
    one_script(lfsplugger, "cd $PKGDIR")
    assert lines_of(check(lfsplugger)) == [3]
    lfsplugger.make_config(BUILD_ALL + '[env]\nPKGDIR = "/usr/src/pkg"\n')
    assert lines_of(check(lfsplugger)) == []  # the cached result is not reused as it was
    lfsplugger.make_config(BUILD_ALL)
    assert lines_of(check(lfsplugger)) == [3]


def test_unpack_sets_pkgdir_and_nothing_else(lfsplugger: Lfsplugger) -> None:
    one_script(lfsplugger, "# lfsplug: unpack=binutils-2.44.tar.xz\ncd $PKGDIR\ncd $BUILDDIR")
    assert lines_of(check(lfsplugger)) == [5]


def test_an_lfsconf_script_env_sets_it(lfsplugger: Lfsplugger) -> None:
    one_script(lfsplugger, "cd $PKGDIR")
    lfsplugger.make_lfsconf(
        "import lfsplug\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_script_env(script, env, config):\n"
        "    env['PKGDIR'] = '/usr/src/' + script.name\n")
    assert lines_of(check(lfsplugger)) == []


# -- silencing, and the cache -------------------------------------------------------------------


def test_it_is_silenced_like_any_other_code(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-quiet.sh": "# lfsplug: disable=LFS009\ncd $PKGDIR",
                          "02-loud.sh": "cd $PKGDIR || exit 1"})
    lfsplugger.make_config(BUILD_ALL)
    assert [name for name, _, _ in unset_cds(check(lfsplugger))] == ["02-loud.sh"]
    lfsplugger.make_config('disable = ["LFS009"]\n' + BUILD_ALL)
    assert unset_cds(check(lfsplugger)) == []


def cached_lint(lfsplugger: Lfsplugger) -> dict[str, Any]:
    data = json.loads((lfsplugger.path / ".lfsplug" / "cache" / "validation.json").read_text())
    entries: dict[str, Any] = data["sections"]["lint"]["entries"]
    return entries


def test_a_warm_check_parses_nothing_and_says_the_same(
        lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed: list[bytes] = []
    real = lfsplug_shell.parse

    def spy(data: bytes) -> Any:
        parsed.append(data)
        return real(data)

    monkeypatch.setattr(lfsplug_shell, "parse", spy)
    lfsplugger.make_tree({
        "01-a.sh": "set -e\ncd $PKGDIR",
        "02-b.sh": "set -e\ncd $PKGDIR",                  # the same content: parsed once
        "03-c.sh": "set -e\nPKG=x-1.0\ncd $LFS/sources\ntar xf $PKG.tar.xz\ncd $PKG",
        "04-d.sh": "set -e\ncd build\nmake",
    })
    lfsplugger.make_config(BUILD_ALL)
    first = check(lfsplugger)
    assert len(parsed) == 1  # 03-c: every cd's variable is assigned or always set
    assert [(n, line) for n, line, _ in unset_cds(first)] == [("01-a.sh", 3), ("02-b.sh", 3)]
    parsed.clear()
    second = check(lfsplugger)
    assert parsed == []
    assert unset_cds(second) == unset_cds(first)


def test_a_malformed_cached_cd_is_checked_again(lfsplugger: Lfsplugger) -> None:
    one_script(lfsplugger, "cd $PKGDIR")
    expected = unset_cds(check(lfsplugger))
    cache = lfsplugger.path / ".lfsplug" / "cache" / "validation.json"
    data = json.loads(cache.read_text())
    for entry in data["sections"]["lint"]["entries"].values():
        entry["c"] = [[3, "cd", "cd $PKGDIR", "yes", "not parts"]]
    cache.write_text(json.dumps(data))
    assert unset_cds(check(lfsplugger)) == expected
    assert all(e["c"][0][3] is False for e in cached_lint(lfsplugger).values())


# -- the quick look before parsing hides nothing the parser would find -------------------------

#: Lines a script may hold: cd forms, ways to set the variables, and text that mentions them.
LINES = [
    "cd $A", 'cd "$B"/build', "cd ${C}", "cd $A/$B", "pushd $C > /dev/null", "cd ${A:-/x}",
    "cd $LFS/$B", "cd \\\n  $C", "(cd $A && make)", "cd -- \"$B\"",
    "A=/usr/src", "export B=/opt", "read -r C", "for A in x y; do :; done", ": ${B:=/y}",
    "local C=/z", "echo $A $B $C", "# cd $A", "cat > f << EOF\ncd $B\nEOF", "make install",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(LINES), max_size=8))
def test_the_quick_look_hides_no_finding(lines: list[str]) -> None:
    data = ("#!/bin/bash\n" + "\n".join(lines) + "\n").encode()
    facts = shell_facts(ScriptTree(data))  # what a parse says, with no look at the text first
    unset = {name for cd in facts.cds for _, name in cd.parts
             if name and name not in facts.sets and name not in ALWAYS_SET}
    uses, _ = cd_uses(ScriptTree(data))
    assert {name for use in uses for name in use.names} == unset
