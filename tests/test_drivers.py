"""Drivers (issue 10): discovery follows a collection's own driver scripts, statically.

Each test builds a small tree, runs ``lfsplug list --json`` / ``list --why`` / ``check --json``
in process and checks what a user sees: the scripts in build order, the metadata each driver
call gives (user, chroot, env, unpack, workdir) with the driver's line, and the DISC04x
findings. The property test at the end compares lfsplug's order with the order bash itself
runs random small drivers in.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import findings, listed
from lfsplug.testing import Lfsplugger

#: Driver tests are about discovery: no host checks, and validation (bash -n, lint) has tests
#: of its own.
QUIET = "no:hostreqs,no:validation"


@pytest.fixture(autouse=True)
def _only_discovery(request: pytest.FixtureRequest) -> None:
    if "lfsplugger" in request.fixturenames:
        request.getfixturevalue("lfsplugger").setenv("LFSPLUG_PLUGINS", QUIET)


# -- helpers ------------------------------------------------------------------------------------


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    """Write ``files`` under ``root`` exactly as given (no ``#!`` added); a file whose text
    starts with ``#!`` is made executable, as a collection's scripts are."""
    for rel, content in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        target.write_bytes(data)
        if data.startswith(b"#!"):
            target.chmod(0o755)
    return root


def driver(text: str) -> str:
    """A driver script: ``#!/bin/bash`` and ``text`` (so that line N of ``text`` is line N+1)."""
    return "#!/bin/bash\n" + text.strip("\n") + "\n"


def stubs(*paths: str) -> dict[str, str]:
    """Build scripts, each with a ``#!`` line and one command."""
    return {path: f"#!/bin/bash\necho {Path(path).stem}\n" for path in paths}


def order(lfsplugger: Lfsplugger, *args: str, root: Path | None = None) -> list[str]:
    """The paths ``lfsplug list --json`` builds, in plan order, relative to the tree."""
    base = (root or lfsplugger.path).resolve()
    scripts = listed(lfsplugger.run("list", "--json", *args))
    return [Path(s["path"]).resolve().relative_to(base).as_posix() for s in scripts]


def scripts_of(lfsplugger: Lfsplugger, *args: str) -> dict[str, dict[str, Any]]:
    """The scripts of ``lfsplug list --json``, by relative path."""
    base = lfsplugger.path.resolve()
    return {Path(s["path"]).resolve().relative_to(base).as_posix(): s
            for s in listed(lfsplugger.run("list", "--json", *args))}


_WHY = re.compile(r"^(\w+) = (.*?)    from (.*)$")


def why(lfsplugger: Lfsplugger, name: str, *args: str) -> dict[str, tuple[str, str]]:
    """What ``lfsplug list --why NAME`` says of each metadata key: ``{key: (value, source)}``."""
    result = lfsplugger.run("list", "--why", name, *args)
    assert result.ret == 0, result.outlines + result.errlines
    found = {}
    for line in result.outlines:
        match = _WHY.match(line.strip())
        if match:
            found[match.group(1)] = (match.group(2), match.group(3))
    return found


def disc(lfsplugger: Lfsplugger, *args: str, codes: tuple[str, ...] = ("DISC04",)
         ) -> list[tuple[str, str | None, int | None]]:
    """The discovery findings of ``lfsplug check --json`` whose code starts with one of
    ``codes``: ``(code, path relative to the tree, line)``, sorted."""
    result = lfsplugger.run("check", "--json", *args)
    assert "Traceback" not in "\n".join(result.outlines + result.errlines)
    base = lfsplugger.path.resolve()
    found = []
    for finding in findings(result):
        if finding["code"].startswith(codes):
            path = finding["path"]
            rel = None if path is None else (
                Path(path).resolve().relative_to(base).as_posix()
                if Path(path).resolve().is_relative_to(base) else path)
            found.append((finding["code"], rel, finding["line"]))
    return sorted(found, key=lambda f: (f[0], f[1] or "", f[2] or 0))


# -- call forms ---------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    pytest.param("bash scripts/b.sh\nsh scripts/a.sh", id="bash-and-sh"),
    pytest.param("./scripts/b.sh\n./scripts/a.sh", id="run-by-path"),
    pytest.param('DIR=$(dirname "$0")\nbash "$DIR"/scripts/b.sh\nbash "$DIR/scripts/a.sh"',
                 id="dirname-of-0"),
    pytest.param('DIR=$(cd "$(dirname "$0")" && pwd)\nbash "$DIR/scripts/b.sh"\n'
                 '"$DIR"/scripts/a.sh', id="cd-dirname-pwd"),
    pytest.param('DIR=${BASH_SOURCE%/*}\nbash "$DIR/scripts/b.sh"\nbash $DIR/scripts/a.sh',
                 id="bash-source-trimmed"),
    pytest.param('DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
                 'bash "${DIR}/scripts/b.sh"\nbash "${DIR}"/scripts/a.sh', id="bash-source-0"),
    pytest.param("source scripts/b.sh\n. scripts/a.sh", id="source-and-dot"),
    pytest.param("time { bash scripts/b.sh ; }\ntime bash scripts/a.sh", id="time"),
    pytest.param("bash -e -x scripts/b.sh\nbash -ex scripts/a.sh", id="shell-options"),
    pytest.param("bash scripts/b.sh\nexec ./scripts/a.sh", id="exec-at-the-end"),
    pytest.param("bash scripts/b.sh 2>&1 | tee b.log\nbash scripts/a.sh >a.log 2>&1",
                 id="pipe-and-redirection"),
    pytest.param("bash scripts/b.sh || exit 1\nbash scripts/a.sh && echo done",
                 id="or-exit-and-and"),
    pytest.param("if ! bash scripts/b.sh; then\n  echo failed; exit 1\nfi\n"
                 "if bash scripts/a.sh; then echo ok; fi", id="call-as-if-condition"),
    pytest.param("( cd scripts && bash b.sh )\nbash scripts/a.sh", id="subshell-cd"),
    pytest.param("cd scripts\nbash ./b.sh\ncd ..\nbash scripts/a.sh", id="cd-and-back"),
    pytest.param("S=scripts\nfor p in b a; do bash $S/$p.sh; done", id="variable-slash-variable"),
    pytest.param('S=scripts\np=b; bash ${S}/$p.sh; p=a; bash "$S"/$p.sh',
                 id="braced-and-quoted-before-variable"),
])
def test_call_forms(lfsplugger: Lfsplugger, text: str) -> None:
    write(lfsplugger.path, {"run.sh": driver(text),
                            **stubs("scripts/a.sh", "scripts/b.sh", "scripts/c.sh")})
    assert order(lfsplugger) == ["scripts/b.sh", "scripts/a.sh"]
    assert disc(lfsplugger) == [("DISC040", "scripts/c.sh", None), ("DISC043", "run.sh", None)]


def test_a_driver_is_no_build_step_and_its_scripts_need_no_shebang(
        lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": driver("bash b.sh\nsource ./a.sh"),
                            "a.sh": "echo a\n", "b.sh": "echo b\n"})
    assert order(lfsplugger) == ["b.sh", "a.sh"]
    # bash X.sh and source X.sh need no #! line: no DISC023 for either
    assert disc(lfsplugger, codes=("DISC",)) == [("DISC043", "run.sh", None)]


# -- wrappers: as whom, in the chroot -----------------------------------------------------------


WRAPPED = driver("""
sudo bash scripts/a.sh
sudo -u lfs bash scripts/b.sh
su lfs -c "bash scripts/c.sh"
su - lfs -c 'bash scripts/d.sh'
chroot "$LFS" /usr/bin/env -i HOME=/root PATH=/usr/bin /bin/bash --login /sources/scripts/e.sh
chroot "$LFS" /usr/bin/env -i HOME=/root TERM="$TERM" /bin/bash -l -c "bash /sources/scripts/f.sh"
chroot "$LFS" /usr/bin/env -i HOME=/root /bin/bash --login <<"EOF"
cd /sources
bash scripts/g.sh
EOF
bash scripts/h.sh
""")


def test_wrappers_say_as_whom_and_where(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": WRAPPED, **stubs(*(f"scripts/{c}.sh" for c in "abcdefgh"))})
    assert order(lfsplugger) == [f"scripts/{c}.sh" for c in "abcdefgh"]
    expected = {"a": ("root", 2), "b": ("lfs", 3), "c": ("lfs", 4), "d": ("lfs", 5),
                "e": ("root", 6), "f": ("root", 7), "g": ("root", 10)}
    for name, (user, line) in expected.items():
        meta = why(lfsplugger, name)
        assert meta["user"] == (user, f"driver run.sh:{line}"), name
        assert ("chroot" in meta) == (name in "efg"), name
    for name, line in (("e", 6), ("f", 7), ("g", 10)):
        assert why(lfsplugger, name)["chroot"] == ("True", f"driver run.sh:{line}")
    assert "user" not in why(lfsplugger, "h")


def test_chroot_environment_is_what_env_i_sets(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": "#!/bin/bash\nexport SOURCES=/sources\n" + WRAPPED[12:],
                            **stubs(*(f"scripts/{c}.sh" for c in "abcdefgh"))})
    env_e = why(lfsplugger, "e")["env"]
    assert env_e == ("{'HOME': '/root', 'PATH': '/usr/bin'}", "driver run.sh:7")
    assert why(lfsplugger, "g")["env"][0] == "{'HOME': '/root'}"
    # su keeps the exported variables; sudo resets them, and su - starts a login shell
    assert "SOURCES" not in why(lfsplugger, "a").get("env", ("",))[0]
    assert "SOURCES" not in why(lfsplugger, "b").get("env", ("",))[0]
    assert why(lfsplugger, "c")["env"] == ("{'SOURCES': '/sources'}", "driver run.sh:5")
    assert "SOURCES" not in why(lfsplugger, "d").get("env", ("",))[0]
    assert why(lfsplugger, "h")["env"] == ("{'SOURCES': '/sources'}", "driver run.sh:13")


def test_env_i_drops_exported_variables(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("export FOO=bar\nenv -i HOME=/root bash a.sh\nenv BAZ=1 bash b.sh\n"
                         "sudo -E bash c.sh\nsudo LOG=x bash d.sh"),
        **stubs("a.sh", "b.sh", "c.sh", "d.sh"),
    })
    assert order(lfsplugger) == ["a.sh", "b.sh", "c.sh", "d.sh"]
    assert why(lfsplugger, "a")["env"] == ("{'HOME': '/root'}", "driver run.sh:3")
    assert why(lfsplugger, "b")["env"] == ("{'BAZ': '1', 'FOO': 'bar'}", "driver run.sh:4")
    assert why(lfsplugger, "c")["env"] == ("{'FOO': 'bar'}", "driver run.sh:5")
    assert why(lfsplugger, "d")["env"] == ("{'LOG': 'x'}", "driver run.sh:6")


# -- loops --------------------------------------------------------------------------------------


def test_loops_over_words_variables_arrays_globs_and_lists(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
for p in a b; do ./s/$p.sh; done
LIST="c d"
for p in $LIST; do bash s/$p.sh; done
PKGS=(e f)
PKGS+=(g)
for p in "${PKGS[@]}"; do bash "s/$p.sh"; done
for s in ch5/*.sh; do bash "$s"; done
while read -r script pkg; do
  bash "s/$script.sh" "$pkg"
done < build_order.txt
cat list | while read p; do bash s/$p.sh; done
for p in $(cat list2); do bash s/$p.sh; done
for p in $(< list3); do bash s/$p.sh; done
while read -r p; do
  bash s/$p.sh
done <<EOF
# inline
q
r
EOF
INLINE="t"
while read p; do bash s/$p.sh; done <<< "$INLINE"
for s in $(ls ch6); do bash ch6/$s; done
"""),
        "build_order.txt": "# script package\n\nh pkg-h\n  i pkg-i # note\n",
        "list": "j\n# not k\nk\n", "list2": "l\nm\n", "list3": "n # comment\no\n",
        **stubs(*(f"s/{c}.sh" for c in "abcdefghijklmnoqrtz")),
        **stubs("ch5/01-p.sh", "ch5/02-q.sh", "ch6/10-y.sh", "ch6/9-x.sh"),
    })
    expected = [f"s/{c}.sh" for c in "abcdefg"] + ["ch5/01-p.sh", "ch5/02-q.sh"] + [
        f"s/{c}.sh" for c in "hijklmnoqrt"] + ["ch6/10-y.sh", "ch6/9-x.sh"]  # ls: by name
    assert order(lfsplugger) == expected
    assert disc(lfsplugger) == [("DISC040", "s/z.sh", None), ("DISC043", "run.sh", None)]


# -- nested drivers, functions, case, if --------------------------------------------------------


NESTED = {
    "build.sh": driver("""
export SOURCES=/sources
SCRIPTS=$(dirname "$0")/scripts
build() { bash "$SCRIPTS/$1.sh"; }
start=${1:-1}
case $start in
  1) bash phase1/run.sh ;&
  2) bash phase2/run.sh ;&
  3) build gcc
     build glibc ;;
  4) build never ;;
esac
# bash scripts/old.sh
if [ -d /tools ]; then
  bash scripts/yes.sh
else
  bash scripts/no.sh
fi
"""),
    "phase1/run.sh": driver('cd "$(dirname "$0")"\nbash gcc.sh\nbash b.sh'),
    "phase2/run.sh": driver("case \"$1\" in\n  c) bash c.sh ;;\n  *) bash $(dirname $0)/c.sh;"
                            " bash $(dirname $0)/gcc.sh ;;\nesac"),
    **stubs("phase1/gcc.sh", "phase1/b.sh", "phase2/c.sh", "phase2/gcc.sh"),
    **stubs(*(f"scripts/{n}.sh" for n in ("gcc", "glibc", "never", "old", "yes", "no"))),
}


def test_nested_drivers_functions_resume_points_and_branches(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, NESTED)
    assert order(lfsplugger) == [
        "phase1/gcc.sh", "phase1/b.sh", "phase2/c.sh", "phase2/gcc.sh", "scripts/gcc.sh",
        "scripts/glibc.sh", "scripts/yes.sh", "scripts/no.sh"]
    assert disc(lfsplugger) == [
        ("DISC040", "scripts/never.sh", None), ("DISC040", "scripts/old.sh", None),
        ("DISC043", "build.sh", None)]


def test_nested_calls_are_reported_at_the_top_driver(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, NESTED)
    # a call in a phase driver, and one in a function: at the line of the top driver's call
    assert why(lfsplugger, "c")["env"] == ("{'SOURCES': '/sources'}", "driver build.sh:8")
    assert why(lfsplugger, "glibc")["env"][1] == "driver build.sh:10"
    assert why(lfsplugger, "gcc@scripts")["env"][1] == "driver build.sh:9"


def test_phase_drivers_before_the_top_driver_in_tree_order(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver('DIR=$(cd "$(dirname "$0")" && pwd)\n"$DIR"/blfs/run.sh\n'
                         'bash "$DIR/lfs/run.sh"'),
        "blfs/run.sh": driver('cd "$(dirname "$0")"\nfor p in wget make-ca; do bash $p.sh; done'),
        "lfs/run.sh": driver('for s in "$(dirname "$0")"/a.*.sh; do bash "$s"; done'),
        **stubs("blfs/make-ca.sh", "blfs/wget.sh", "lfs/a.05.sh", "lfs/a.06.sh"),
    })
    assert order(lfsplugger) == ["blfs/wget.sh", "blfs/make-ca.sh", "lfs/a.05.sh", "lfs/a.06.sh"]
    assert disc(lfsplugger) == [("DISC043", "run.sh", None)]


def test_a_package_built_three_times_gets_qualified_names(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, NESTED)
    scripts = scripts_of(lfsplugger)
    assert [(s["name"], s["package"]) for s in scripts.values() if s["package"] == "gcc"] == [
        ("gcc@phase1", "gcc"), ("gcc@phase2", "gcc"), ("gcc@scripts", "gcc")]


def test_case_dispatcher_offers_each_item(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "build.sh": driver("""
case "$1" in
  toolchain) bash b.sh; bash a.sh ;;
  system) bash d.sh ;;
  *) echo "usage: $0 toolchain|system"; exit 1 ;;
esac
"""),
        **stubs("a.sh", "b.sh", "c.sh", "d.sh"),
    })
    assert order(lfsplugger) == ["b.sh", "a.sh", "d.sh"]
    assert disc(lfsplugger) == [("DISC040", "c.sh", None), ("DISC043", "build.sh", None)]


def test_resume_point_from_the_first_argument(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
start=${1:-1}
case $start in
  1) bash one.sh ;&
  2) bash two.sh ;&
  3) bash three.sh ;&
esac
bash four.sh
"""),
        **stubs("one.sh", "two.sh", "three.sh", "four.sh"),
    })
    assert order(lfsplugger) == ["one.sh", "two.sh", "three.sh", "four.sh"]


def test_exit_stops_the_driver_where_it_surely_runs(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
[ -f done ] && exit 0
if [ -z "$LFS" ]; then echo "LFS?"; exit 1; fi
bash a.sh
bash b.sh
exit 0
bash c.sh
"""),
        **stubs("a.sh", "b.sh", "c.sh"),
    })
    assert order(lfsplugger) == ["a.sh", "b.sh"]
    assert disc(lfsplugger) == [("DISC040", "c.sh", None), ("DISC043", "run.sh", None)]


def test_exec_replaces_the_driver(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("bash a.sh\n[ -n \"$RESUME\" ] && exec ./b.sh\nexec ./c.sh\nbash d.sh"),
        **stubs("a.sh", "b.sh", "c.sh", "d.sh"),
    })
    assert order(lfsplugger) == ["a.sh", "b.sh", "c.sh"]
    assert disc(lfsplugger) == [("DISC040", "d.sh", None), ("DISC043", "run.sh", None)]


def test_exit_in_a_called_script_ends_only_that_script(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("bash phase/run.sh\n( bash b.sh; exit 0 )\nbash c.sh"),
        "phase/run.sh": driver('cd "$(dirname "$0")"\nbash ../a.sh\nexit 0\nbash ../z.sh'),
        **stubs("a.sh", "b.sh", "c.sh", "z.sh"),
    })
    assert order(lfsplugger) == ["a.sh", "b.sh", "c.sh"]


def test_conditions_known_statically_choose_the_branch(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
MODE=chroot
if [ "$MODE" = host ]; then
  bash host.sh
elif [ "$MODE" = chroot ]; then
  bash chroot.sh
else
  bash other.sh
fi
[ -n "$MODE" ] && bash yes.sh
[ -z "$MODE" ] && bash no.sh
[[ $MODE == ch* ]] || bash never.sh
if [ -f /etc/lfs-release ]; then bash maybe.sh; fi
test "$MODE" != host && exit 0
bash after.sh
"""),
        **stubs(*(f"{n}.sh" for n in ("host", "chroot", "other", "yes", "no", "never",
                                       "maybe", "after"))),
    })
    # a test of the machine (-f) is not known: its branch is followed
    assert order(lfsplugger) == ["chroot.sh", "yes.sh", "maybe.sh"]
    assert [path for code, path, _ in disc(lfsplugger) if code == "DISC040"] == [
        "after.sh", "host.sh", "never.sh", "no.sh", "other.sh"]


def test_break_and_continue(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
for p in a skip b stop c; do
  [ "$p" = skip ] && continue
  case $p in stop) break ;; esac
  bash $p.sh
done
while read -r p; do
  if [[ $p == x* ]]; then continue; fi
  bash $p.sh
done < list.txt
"""),
        "list.txt": "xa\nd\n",
        **stubs("a.sh", "b.sh", "c.sh", "d.sh", "skip.sh", "stop.sh", "xa.sh"),
    })
    assert order(lfsplugger) == ["a.sh", "b.sh", "d.sh"]


def test_a_typical_driver_with_a_main_function(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
exec > >(tee -a build.log) 2>&1
set -e
trap 'echo failed' ERR
[ "$(id -u)" -eq 0 ] || { echo "run me as root"; exit 1; }
run_script() {
  local s=$1
  echo "Running $s"
  bash "$s" || { echo failed; exit 1; }
}
main() {
  while IFS= read -r script; do
    run_script "s/$script"
  done < list.txt
  for f in s/[x-z]*.sh; do run_script "$f"; done
  run_script "s/$(basename "$0" .sh)-post.sh"
}
main "$@"
exit 0
bash s/never.sh
"""),
        "list.txt": "a.sh\nb.sh\n",
        **stubs(*(f"s/{n}.sh" for n in ("a", "b", "x", "y", "run-post", "never"))),
    })
    assert order(lfsplugger) == ["s/a.sh", "s/b.sh", "s/x.sh", "s/y.sh", "s/run-post.sh"]
    assert disc(lfsplugger) == [("DISC040", "s/never.sh", None), ("DISC043", "run.sh", None)]


# -- libraries ----------------------------------------------------------------------------------


def test_sourced_libraries_are_neither_steps_nor_unreached(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
source ./lfs.conf
. "$(dirname "$0")/config.sh"
. ./functions.sh
for pkg in $PACKAGES; do
  bash "$SCRIPTS/$pkg.sh"
done
"""),
        "lfs.conf": "# where things are\nSCRIPTS=$(dirname \"$0\")/scripts\n",
        "config.sh": "PACKAGES=\"m4 bash\"\nexport MAKEFLAGS=-j4\n",
        "functions.sh": "log() {\n  echo \"$@\" >> build.log\n}\n",
        **stubs("scripts/m4.sh", "scripts/bash.sh"),
    })
    assert order(lfsplugger) == ["scripts/m4.sh", "scripts/bash.sh"]
    assert disc(lfsplugger, codes=("DISC",)) == [("DISC043", "run.sh", None)]


def test_an_unsourced_library_is_not_built(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("bash a.sh"),
        "functions.sh": "#!/bin/bash\nlog() { echo \"$@\"; }\nLOG=/tmp/log\n",
        "more.sh": "#!/bin/bash\nsay() {\necho \"$@\"\n}\n",  # a body not indented
        **stubs("a.sh"),
    })
    assert order(lfsplugger) == ["a.sh"]
    assert disc(lfsplugger) == [("DISC043", "run.sh", None)]


# -- environment, unpack, workdir ---------------------------------------------------------------


def test_exports_reach_the_scripts_and_lfs_stays_symbolic(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
export LFS=/mnt/lfs
export SOURCES=$LFS/sources
export LOGS="${LFS}/logs"
export STAMP=$(date +%s)
NOT_EXPORTED=1
: ${TOOLS:=/tools}
export TOOLS
bash scripts/a.sh
"""),
        **stubs("scripts/a.sh"),
    })
    env, source = why(lfsplugger, "a")["env"]
    assert source == "driver run.sh:9"
    # $LFS is lfsplug's (--lfs); what the driver computes at run time is not known
    assert env == "{'LOGS': '${LFS}/logs', 'SOURCES': '${LFS}/sources', 'TOOLS': '/tools'}"


def test_unpack_and_workdir_from_the_driver(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
SCRIPTS=$(cd "$(dirname "$0")" && pwd)/scripts
SOURCES=$LFS/sources
cd $SOURCES
for pkg in m4 bash; do
  tar xf "$SOURCES/$pkg"-*.tar.*
  cd $pkg-*/
  bash $SCRIPTS/$pkg.sh
  cd ..
  rm -rf $pkg-*/
done
tar -xf gcc-13.2.0.tar.xz
cd gcc-13.2.0
mkdir -v build
cd build
bash $SCRIPTS/gcc.sh
cd $LFS/sources
pushd /tmp/elsewhere
bash $SCRIPTS/other.sh
popd
bash $SCRIPTS/here.sh
"""),
        **stubs(*(f"scripts/{n}.sh" for n in ("m4", "bash", "gcc", "other", "here"))),
    })
    assert order(lfsplugger) == [f"scripts/{n}.sh" for n in ("m4", "bash", "gcc", "other",
                                                              "here")]
    m4 = why(lfsplugger, "m4")
    assert m4["unpack"] == ("${LFS}/sources/m4-*.tar.*", "driver run.sh:8")
    assert "workdir" not in m4  # run in the unpacked top directory
    assert why(lfsplugger, "bash")["unpack"][0] == "${LFS}/sources/bash-*.tar.*"
    gcc = why(lfsplugger, "gcc")
    assert gcc["unpack"] == ("gcc-13.2.0.tar.xz", "driver run.sh:16")
    assert gcc["workdir"] == ("build", "driver run.sh:16")
    other = why(lfsplugger, "other")
    assert "unpack" not in other
    assert other["workdir"] == ("/tmp/elsewhere", "driver run.sh:19")
    here = why(lfsplugger, "here")
    assert "unpack" not in here
    assert here["workdir"] == ("${LFS}/sources", "driver run.sh:21")


def test_tarball_named_by_a_variable_the_list_names(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "install.sh": driver("""
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/packages.sh"
BUILD_DIR=/sources/build
while read -r script var _; do
  tarball=$(basename "${!var}")
  dir=${tarball%.tar.*}
  tar -xf "/sources/$tarball" -C "$BUILD_DIR"
  pushd "$BUILD_DIR/$dir"
  bash "$HERE/scripts/$script.sh"
  popd
done < "$HERE/packages.lst"
"""),
        "packages.sh": "PKG_SHADOW=https://example.invalid/shadow-4.13.tar.xz\n"
                       "PKG_SUDO=https://example.invalid/sudo-1.9.14p3.tar.gz\n",
        "packages.lst": "shadow PKG_SHADOW\nsudo PKG_SUDO\n",
        **stubs("scripts/shadow.sh", "scripts/sudo.sh"),
    })
    assert order(lfsplugger) == ["scripts/shadow.sh", "scripts/sudo.sh"]
    assert why(lfsplugger, "sudo")["unpack"] == ("/sources/sudo-1.9.14p3.tar.gz",
                                                 "driver install.sh:10")
    assert "workdir" not in why(lfsplugger, "sudo")


def test_zero_is_the_path_the_driver_gives(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "build.sh": driver('chroot "$LFS" /usr/bin/env -i HOME=/root /bin/bash --login -c '
                           '"bash /sources/phases/final/run.sh"'),
        "final/run.sh": driver('DIR=$(dirname "$0")\ncd "$DIR/../.."\n"$DIR"/glibc.sh'),
        "lib/paths.sh": 'TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)\n',
        "other.sh": driver('. "$(dirname "$0")/lib/paths.sh"\ncd "$TOP"\nbash final/zlib.sh'),
        **stubs("final/glibc.sh", "final/zlib.sh"),
    })
    assert order(lfsplugger) == ["final/glibc.sh", "final/zlib.sh"]
    # in the chroot, $0 is the chroot's path: the script runs in its /sources
    assert why(lfsplugger, "glibc")["workdir"] == ("/sources", "driver build.sh:2")
    # BASH_SOURCE in a sourced file is that file: TOP is the tree, where zlib.sh runs
    assert why(lfsplugger, "zlib")["workdir"] == (str(lfsplugger.path.resolve()),
                                                  "driver other.sh:4")


def test_a_later_package_is_not_run_in_an_earlier_tarball(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
cd /sources
tar xf m4-1.4.19.tar.xz
cd m4-1.4.19
bash /src/scripts/m4.sh
cd ..
pushd gcc-13.2.0/build
bash /src/scripts/gcc.sh
"""),
        **stubs("scripts/m4.sh", "scripts/gcc.sh"),
    })
    assert why(lfsplugger, "m4")["unpack"] == ("m4-1.4.19.tar.xz", "driver run.sh:5")
    gcc = why(lfsplugger, "gcc")
    assert "unpack" not in gcc
    assert gcc["workdir"] == ("/sources/gcc-13.2.0/build", "driver run.sh:8")


# -- resolution and settings --------------------------------------------------------------------


def test_a_path_under_lfs_finds_the_tree_file_by_suffix(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("bash $LFS/sources/scripts/x.sh\nbash /mnt/lfs/sources/scripts/y.sh"),
        **stubs("scripts/x.sh", "scripts/y.sh", "other/x.sh"),
    })
    assert order(lfsplugger) == ["scripts/x.sh", "scripts/y.sh"]


def test_a_computed_name_is_a_warning_and_the_rest_fill_in(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver('bash scripts/c.sh\npick() { echo b; }\nbash "scripts/$(pick)".sh\n'
                         "bash scripts/d.sh"),
        **stubs("scripts/a.sh", "scripts/b.sh", "scripts/c.sh", "scripts/d.sh"),
    })
    # a and b fill in by tree order: a first (nothing before it), b right after a
    assert order(lfsplugger) == ["scripts/a.sh", "scripts/b.sh", "scripts/c.sh", "scripts/d.sh"]
    result = lfsplugger.run("check", "--json")
    [warning] = [f for f in findings(result) if f["code"] == "DISC041"]
    assert (warning["severity"], warning["line"]) == ("warning", 4)
    assert "$(pick)" in warning["message"]
    assert Path(warning["path"]).name == "run.sh"
    assert not [f for f in findings(result) if f["code"] == "DISC040"]


TWO_DRIVERS = {
    "run.sh": driver("for p in a b c d e; do bash scripts/$p.sh; done"),
    "from-d.sh": driver("bash scripts/d.sh\nbash scripts/e.sh"),
    **stubs(*(f"scripts/{c}.sh" for c in "abcdef")),
}


def test_an_alternative_driver_is_noted_not_followed(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, TWO_DRIVERS)  # from-d.sh comes first in tree order
    assert order(lfsplugger) == [f"scripts/{c}.sh" for c in "abcde"]
    assert disc(lfsplugger) == [("DISC040", "scripts/f.sh", None),
                                ("DISC043", "run.sh", None), ("DISC044", "from-d.sh", None)]


def test_driver_option_names_the_driver_to_follow(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, TWO_DRIVERS)
    assert order(lfsplugger, "--driver", "from-d.sh") == ["scripts/d.sh", "scripts/e.sh"]
    assert ("DISC043", "from-d.sh", None) in disc(lfsplugger, "--driver", "from-d.sh")


def test_driver_outside_the_tree(lfsplugger: Lfsplugger) -> None:
    tree = lfsplugger.path / "tree"
    write(tree, stubs("scripts/a.sh", "scripts/b.sh", "scripts/c.sh"))
    write(lfsplugger.path, {"drive.sh": driver(
        "bash $LFS/sources/scripts/c.sh\nbash $LFS/sources/scripts/a.sh")})
    assert order(lfsplugger, "tree", "--driver", "drive.sh", root=tree) == [
        "scripts/c.sh", "scripts/a.sh"]
    assert ("DISC040", "tree/scripts/b.sh", None) in disc(lfsplugger, "tree", "--driver",
                                                          "drive.sh")


@pytest.mark.parametrize(("args", "toml"), [
    pytest.param(("--driver", "none"), None, id="driver-none"),
    pytest.param((), "[discovery]\ndrivers = false\n", id="drivers-false"),
])
def test_drivers_can_be_turned_off(lfsplugger: Lfsplugger, args: tuple[str, ...],
                                   toml: str | None) -> None:
    write(lfsplugger.path, {"run.sh": driver("bash b.sh\nbash a.sh"), **stubs("a.sh", "b.sh")})
    if toml is not None:
        lfsplugger.make_config(toml)
    assert order(lfsplugger, *args) == ["a.sh", "b.sh", "run.sh"]
    assert not disc(lfsplugger, *args)


def test_unreached_build_fills_in_by_tree_order(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": driver("bash c.sh\nbash a.sh"),
                            **stubs("a.sh", "b.sh", "c.sh")})
    lfsplugger.make_config('[discovery]\nunreached = "build"\n')
    assert order(lfsplugger) == ["c.sh", "a.sh", "b.sh"]
    assert disc(lfsplugger) == [("DISC043", "run.sh", None)]


def test_two_entry_points_in_tree_order(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "1-host/prepare.sh": driver("bash x.sh\nbash y.sh"),
        "2-system/build.sh": driver("bash w.sh\nbash z.sh"),
        **stubs("1-host/x.sh", "1-host/y.sh", "2-system/z.sh", "2-system/w.sh"),
    })
    assert order(lfsplugger) == ["1-host/x.sh", "1-host/y.sh", "2-system/w.sh", "2-system/z.sh"]
    assert disc(lfsplugger) == [("DISC043", "1-host/prepare.sh", None),
                                ("DISC043", "2-system/build.sh", None)]


# -- what a script is ---------------------------------------------------------------------------


def test_what_a_driver_may_run(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("""
bash plain.sh
./scripts/binutils
./zones/127.0.0
bash scripts/config-notes
bash scripts/05-fix.patch
"""),
        "plain.sh": "echo no shebang, no exec bit\n",
        "scripts/binutils": "#!/bin/sh\n./configure && make\n",
        "zones/127.0.0": "$TTL 86400\n@ IN SOA localhost. root.localhost. (\n 1 ; serial\n)\n",
        "scripts/config-notes": "remember to patch gcc\n",
        "scripts/05-fix.patch": "--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n",
        "README": "how to build\n",
    })
    assert order(lfsplugger) == ["plain.sh", "scripts/binutils"]
    assert "Traceback" not in "\n".join(lfsplugger.run("check").outlines)


def test_without_a_driver_a_zone_file_is_skipped_with_a_finding(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "named/127.0.0": "$TTL 86400\n@ IN SOA localhost. root.localhost. (\n 1 ; serial\n)\n",
        "named/01-bind.sh": "#!/bin/bash\nmake\n",
        "functions.sh": "say() { echo \"$@\"; }\n",
        "notes.txt": "notes\n", "fix.patch": "--- a\n+++ b\n",
    })
    assert order(lfsplugger) == ["named/01-bind.sh"]
    assert disc(lfsplugger, codes=("DISC042",)) == [("DISC042", "named/127.0.0", None)]


# -- no driver: natural and stage order ---------------------------------------------------------


@pytest.mark.parametrize(("first", "second"), [
    ("ch2", "ch10"), ("c14.20.04", "c14.21.01"), ("6.5", "6.48"), ("phase2", "phase10"),
    ("prepare", "build"), ("toolchain", "system"), ("chapter9", "chapter10"),
])
def test_natural_and_stage_order_without_a_driver(lfsplugger: Lfsplugger, first: str,
                                                   second: str) -> None:
    write(lfsplugger.path, stubs(f"{second}/y.sh", f"{first}/x.sh"))
    assert order(lfsplugger) == [f"{first}/x.sh", f"{second}/y.sh"]


# -- robustness ---------------------------------------------------------------------------------


def _no_traceback(lfsplugger: Lfsplugger, *args: str) -> None:
    for command in (("list", "--json"), ("check", "--json")):
        result = lfsplugger.run(*command, *args)
        text = "\n".join(result.outlines + result.errlines)
        assert "Traceback" not in text and "failed in hook" not in text, text


def test_a_driver_that_calls_itself(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": driver("bash a.sh\nbash run.sh\n./run.sh\nbash b.sh"),
                            **stubs("a.sh", "b.sh")})
    assert order(lfsplugger) == ["a.sh", "b.sh"]
    _no_traceback(lfsplugger)


def test_two_drivers_that_call_each_other(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("bash a.sh\nbash other.sh\nbash c.sh"),
        "other.sh": driver("bash run.sh\nbash b.sh"),
        **stubs("a.sh", "b.sh", "c.sh"),
    })
    # neither is called by a third: the first in tree order is the entry point, and a call
    # back into a driver being followed is not followed again
    assert order(lfsplugger) == ["a.sh", "c.sh", "b.sh"]
    assert disc(lfsplugger) == [("DISC043", "other.sh", None)]
    _no_traceback(lfsplugger)


def test_a_very_long_word_list(lfsplugger: Lfsplugger) -> None:
    words = " ".join(["a", "b", "c"] * 4000 + ["d"])
    write(lfsplugger.path, {"run.sh": driver(f"for p in {words}; do bash $p.sh; done"),
                            **stubs("a.sh", "b.sh", "c.sh", "d.sh")})
    assert order(lfsplugger) == ["a.sh", "b.sh", "c.sh", "d.sh"]


def test_nested_loops_too_long_to_follow_stop_with_a_warning(lfsplugger: Lfsplugger) -> None:
    words = " ".join(f"w{i}" for i in range(300))
    write(lfsplugger.path, {
        "run.sh": driver(f"for x in {words}; do\n  for y in {words}; do\n    bash a.sh\n"
                         f"  done\ndone\nbash b.sh"),
        **stubs("a.sh", "b.sh"),
    })
    assert order(lfsplugger) == ["a.sh", "b.sh"]
    assert [code for code, *_ in disc(lfsplugger)] == ["DISC041", "DISC043"]


def test_a_driver_with_a_syntax_error(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": driver("bash a.sh\nif [ -d x ; then\nbash b.sh\n"),
                            **stubs("a.sh", "b.sh", "c.sh")})
    _no_traceback(lfsplugger)
    assert order(lfsplugger)[0] == "a.sh"
    found = disc(lfsplugger)
    assert ("DISC041", "run.sh", 3) in found


def test_a_binary_driver_is_no_driver(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": b"#!/bin/bash\n\x00\x01\x02bash b.sh\n",
                            **stubs("a.sh", "b.sh")})
    _no_traceback(lfsplugger)
    # no driver; and a binary named like a build script is an error (exit 6, issue 12)
    assert disc(lfsplugger, codes=("DISC021",)) == [("DISC021", "run.sh", None)]
    assert lfsplugger.run("list").ret == 6


def test_an_unreadable_driver(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": driver("bash b.sh"), **stubs("a.sh", "b.sh")})
    (lfsplugger.path / "run.sh").chmod(0)
    if os.access(lfsplugger.path / "run.sh", os.R_OK):
        pytest.skip("this user reads any file (root)")
    _no_traceback(lfsplugger)
    assert disc(lfsplugger, codes=("DISC020",)) == [("DISC020", "run.sh", None)]
    assert lfsplugger.run("list").ret == 6  # a build step would be missing (issue 12)


def test_a_call_to_a_directory(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {"run.sh": driver("bash a.sh\nbash dir.sh\n./scripts\nbash b.sh"),
                            **stubs("a.sh", "b.sh", "scripts/c.sh")})
    (lfsplugger.path / "dir.sh").mkdir()
    _no_traceback(lfsplugger)
    assert order(lfsplugger) == ["a.sh", "b.sh", "scripts/c.sh"]
    assert ("DISC041", "run.sh", 3) in disc(lfsplugger)


def test_a_list_read_from_a_fifo_does_not_hang(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver("while read p; do bash $p.sh; done < pipe\n"
                         "for p in $(cat pipe); do bash $p.sh; done\nbash a.sh"),
        **stubs("a.sh"),
    })
    os.mkfifo(lfsplugger.path / "pipe")
    assert order(lfsplugger) == ["a.sh"]


def test_names_with_spaces(lfsplugger: Lfsplugger) -> None:
    write(lfsplugger.path, {
        "run.sh": driver('bash "my scripts/b c.sh"\nfor s in "my scripts"/0*.sh; do bash "$s";'
                         " done\n./my\\ scripts/a\\ b.sh"),
        **stubs("my scripts/b c.sh", "my scripts/01 x.sh", "my scripts/02 y.sh",
                "my scripts/a b.sh"),
    })
    assert order(lfsplugger) == ["my scripts/b c.sh", "my scripts/01 x.sh", "my scripts/02 y.sh",
                                 "my scripts/a b.sh"]


# -- the truth: what bash runs ------------------------------------------------------------------


NAMES = ("a", "b", "c", "d", "e")
PATTERNS = ("1", "2", "3", "a", "b", "*", "a|c", "[bd]")
CONDITIONS = ('[ "$p" = a ]', '[ "$p" != b ]', '[ -z "$p" ]', "[[ $p == [bc] ]]", "true",
              "false", "! false", "test 1 -lt 2", '[ -n "$p" ] && [ "$p" != e ]')

_call = st.builds(lambda form, name: form.format(name), st.sampled_from(
    ["bash {}.sh", "sh {}.sh", "./{}.sh", "build {}", "bash ./{}.sh 2>&1 | cat"]),
    st.sampled_from(NAMES))
_each = st.builds(lambda names: " ".join(["each", *names]),
                  st.lists(st.sampled_from(NAMES), min_size=1, max_size=3))
#: a call; now and then a jump (break and continue outside a loop do nothing)
_leaf = st.integers(0, 15).flatmap(lambda i: st.just(("exit 0", "break", "continue")[i])
                                   if i < 3 else _each if i == 3 else _call)


def _indent(lines: list[str]) -> list[str]:
    return [f"  {line}" for text in lines for line in text.split("\n")]


def _loop(body: list[str], names: list[str]) -> str:
    inner = _indent(["bash $p.sh", *body])
    return "\n".join([f"for p in {' '.join(names)}; do", *inner, "done"])


def _case(subject: str, items: list[tuple[str, list[str], str]]) -> str:
    lines = [f"case {subject} in"]
    for pattern, body, end in items:
        lines.extend([f"  {pattern})", *_indent(_indent(body)), f"    {end}"])
    return "\n".join([*lines, "esac"])


def _if(arms: list[tuple[str, list[str]]], otherwise: list[str]) -> str:
    lines: list[str] = []
    for number, (condition, body) in enumerate(arms):
        lines.extend([f"{'elif' if number else 'if'} {condition}; then", *_indent(body or [":"])])
    if otherwise:
        lines.extend(["else", *_indent(otherwise)])
    return "\n".join([*lines, "fi"])


def _nested(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    body = st.lists(inner, max_size=3)
    condition = st.sampled_from(CONDITIONS)
    return st.one_of(
        st.builds(_loop, body, st.lists(st.sampled_from(NAMES), min_size=1, max_size=4)),
        st.builds(_case, st.sampled_from(["1", "2", "3", "$p"]), st.lists(
            st.tuples(st.sampled_from(PATTERNS), body, st.sampled_from([";;", ";&", ";;&"])),
            min_size=1, max_size=4)),
        st.builds(_if, st.lists(st.tuples(condition, body), min_size=1, max_size=3), body),
        st.builds("{} {} {}".format, condition, st.sampled_from(["&&", "||"]), _leaf),
    )


_drivers = st.lists(st.recursive(_leaf, _nested, max_leaves=10), min_size=1, max_size=6)


def _run_with_bash(tree: Path, log: Path) -> list[str]:
    """The scripts the driver runs, in order, each once: what bash itself does."""
    subprocess.run(["bash", "run.sh"], cwd=tree, check=False, capture_output=True,
                   timeout=30, stdin=subprocess.DEVNULL)
    ran = log.read_text().split() if log.exists() else []
    return list(dict.fromkeys(ran))


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(statements=_drivers)
def test_lfsplug_follows_a_driver_as_bash_runs_it(lfsplugger: Lfsplugger,
                                                  statements: list[str]) -> None:
    tree = Path(tempfile.mkdtemp(dir=lfsplugger.path))
    log = tree.parent / f"{tree.name}.log"
    # p is set: a variable the driver never sets may come from the user's environment
    text = ('p=0\nbuild() { bash "$1.sh"; }\neach() { for q in "$@"; do build "$q"; done; }\n'
            + "\n".join(statements))
    files: dict[str, str | bytes] = {"run.sh": driver(text)}
    for name in NAMES:
        files[f"{name}.sh"] = f"#!/bin/sh\necho {name} >> '{log}'\n"
    write(tree, files)
    truth = _run_with_bash(tree, log)
    if not truth:
        return  # a driver that runs nothing is no driver: the walk order stands
    result = lfsplugger.run("list", "--json", str(tree))
    got = [Path(s["path"]).stem for s in listed(result)]
    assert got == truth, text


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
@pytest.mark.parametrize("lister", [
    'for f in $(ls ch/*.sh | sort); do bash "$f"; done',
    'for f in $(ls ch/*.sh | sort -r); do bash "$f"; done',
    "find ch -name '*.sh' | sort | while read -r f; do bash \"$f\"; done",
    "find ch -type f -name '*.sh' | sort -V | while read -r f; do bash \"$f\"; done",
    "ls ch | grep '\\.sh$' | grep -v skip | while read -r f; do bash ch/$f; done",
    "for f in $(find ch -maxdepth 1 -name '*.sh' | sort | head -n 3); do bash $f; done",
    'grep -v "^#" order.txt | sort -V | uniq | while read s; do bash ch/$s.sh; done',
], ids=["ls-sort", "ls-sort-r", "find-sort", "find-sort-V", "ls-grep", "find-head",
        "grep-sort-uniq"])
def test_list_making_pipelines_as_bash_runs_them(lfsplugger: Lfsplugger, lister: str) -> None:
    """A driver that makes its list with ls, find, sort, grep, uniq, head: lfsplug's order is
    the one the real driver, run with stubs, gives."""
    tree = Path(tempfile.mkdtemp(dir=lfsplugger.path))
    log = tree.parent / f"{tree.name}.log"
    names = ["1-a", "2-b", "10-c", "3-skip", "20-d"]
    files: dict[str, str | bytes] = {
        "run.sh": driver(lister),
        "order.txt": "# the order\n10-c\n2-b\n2-b\n1-a\n",
        **{f"ch/{n}.sh": f"#!/bin/sh\necho ch/{n}.sh >> '{log}'\n" for n in names},
    }
    write(tree, files)
    truth = _run_with_bash(tree, log)
    assert truth, "the driver ran nothing"
    got = [Path(s["path"]).relative_to(tree.resolve()).as_posix()
           for s in listed(lfsplugger.run("list", "--json", str(tree)))]
    assert got == truth  # and run.sh is found as the driver, not taken for a build step


def test_a_generic_script_in_a_package_directory_is_named_by_it(lfsplugger: Lfsplugger) -> None:
    """``pkgs/gcc/build.sh``: the directory names the package; built twice, it is qualified
    like any other name, not a duplicate."""
    write(lfsplugger.path, {
        "run.sh": driver("for p in $(cat order); do (cd pkgs/$p && bash build.sh); done\n"
                         "bash final/gcc/build.sh\nbash final/zlib-1.3.1/install"),
        "order": "binutils\ngcc\n",
        **stubs("pkgs/binutils/build.sh", "pkgs/gcc/build.sh", "final/gcc/build.sh",
                "final/zlib-1.3.1/install"),
    })
    scripts = scripts_of(lfsplugger)
    assert [(s["name"], s["package"], s["version"]) for s in scripts.values()] == [
        ("binutils", "binutils", None), ("gcc@pkgs", "gcc", None), ("gcc@final", "gcc", None),
        ("zlib", "zlib", "1.3.1")]
    assert why(lfsplugger, "binutils")["name"] == ("binutils", "directory binutils")
    assert not disc(lfsplugger, codes=("DISC001", "ORD005"))


def test_a_listing_outside_the_tree_is_not_read(lfsplugger: Lfsplugger) -> None:
    """``find /usr ...`` in a driver: lfsplug walks no directory but the tree's; the call it
    feeds cannot be resolved (DISC041 at its line) and the tree order fills in."""
    write(lfsplugger.path, {
        "run.sh": driver("bash s/a.sh\nfor f in $(find /usr -name '*.sh'); do bash \"$f\"; done"),
        **stubs("s/a.sh", "s/b.sh"),
    })
    assert order(lfsplugger) == ["s/a.sh", "s/b.sh"]
    assert disc(lfsplugger, codes=("DISC041",)) == [("DISC041", "run.sh", 3)]
