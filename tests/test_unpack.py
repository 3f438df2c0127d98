"""Scripts run as their collection's driver would: the driver's exports (``script.env``), the
tarball unpacked first (``unpack=``), the directory they run in (``workdir=``).

Real tarballs, made here with the real ``tar``; real runs through the in-process harness. The
header keys set ``unpack=`` and ``workdir=``; a local ``lfsconf.py`` sets ``script.env`` (and,
for the resume test, ``workdir``) as discovery will from a driver. The chroot's side is in
tests/test_chroot.py.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from lfsplug import Script
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_executor.envvars import add_driver_env, expand
from lfsplug_executor.workspace import Site, WorkspaceError, find_tarball, top_directory

QUIET = ("--shellcheck", "off", "--host-check", "off")
COMPRESS = {"tar.xz": "-J", "tar.gz": "-z"}
#: A script that says where it runs and what it sees there.
SHOW = 'echo "PWD=$(pwd)"\necho "PKGDIR=$PKGDIR"\nls\n'


def make_tarball(directory: Path, name: str, files: dict[str, str]) -> Path:
    """``directory/name`` (``.tar.xz`` or ``.tar.gz``) holding ``files`` (relative path ->
    text; a path ending in ``/`` is an empty directory), made with the real tar."""
    staging = directory / f".staging-{name}"
    for rel, text in files.items():
        target = staging / rel
        if rel.endswith("/"):
            target.mkdir(parents=True, exist_ok=True)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    flag = next(f for ext, f in COMPRESS.items() if name.endswith(ext))
    directory.mkdir(parents=True, exist_ok=True)
    members = sorted(p.name for p in staging.iterdir())
    subprocess.run(["tar", "-c", flag, "-f", str(directory / name), "-C", str(staging),
                    *members], check=True)
    shutil.rmtree(staging)
    return directory / name


def package(sources: Path, name: str = "pkg-1.0", ext: str = "tar.xz",
            extra: dict[str, str] | None = None) -> Path:
    """A package tarball in ``sources``: ``NAME/README``, ``NAME/build/`` and ``extra``."""
    files = {f"{name}/README": "read me\n", f"{name}/build/": "", **(extra or {})}
    return make_tarball(sources, f"{name}.{ext}", files)


@pytest.fixture
def lfs(lfsplugger: Lfsplugger) -> Path:
    """``$LFS`` for the run: a folder with ``sources/`` beside the script tree."""
    (lfsplugger.path / "lfs" / "sources").mkdir(parents=True)
    return lfsplugger.path / "lfs"


def run(lfsplugger: Lfsplugger, lfs: Path, *args: str) -> RunResult:
    return lfsplugger.run("run", "scripts", "--lfs", str(lfs), *QUIET, *args)


def log(lfsplugger: Lfsplugger, name: str) -> str:
    return (lfsplugger.path / "scripts" / ".lfsplug" / "logs" / f"{name}.log").read_text()


def seen(lfsplugger: Lfsplugger, name: str) -> dict[str, str]:
    """The ``KEY=value`` lines a script printed."""
    lines = log(lfsplugger, name).splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))


# -- unpack= and workdir= -------------------------------------------------------------------------


def test_a_tarball_is_unpacked_the_script_runs_inside_and_the_tree_goes_after(
    lfsplugger: Lfsplugger, lfs: Path,
) -> None:
    package(lfs / "sources")
    lfsplugger.make_tree({"scripts/01-pkg.sh": f"# lfsplug: unpack=pkg-1.0.tar.xz\n{SHOW}"})
    result = run(lfsplugger, lfs)
    assert result.ret == 0, result.outlines + result.errlines
    top = lfs / "sources" / "pkg-1.0"
    assert seen(lfsplugger, "pkg") == {"PWD": str(top), "PKGDIR": str(top)}
    text = log(lfsplugger, "pkg")
    assert "README\nbuild\n" in text
    assert f"# lfsplug: unpacking {lfs}/sources/pkg-1.0.tar.xz in {lfs}/sources\n" in text
    assert f"# lfsplug: removed {top}\n" in text
    assert text.splitlines()[-1] == "# lfsplug: exit status 0"
    assert not top.exists()  # removed after success
    assert (lfs / "sources" / "pkg-1.0.tar.xz").exists()


def test_a_gzip_tarball_by_path_with_a_workdir_inside_it(lfsplugger: Lfsplugger,
                                                          lfs: Path) -> None:
    tarballs = lfsplugger.path / "scripts" / "tarballs"
    package(tarballs, "gz-2.0", "tar.gz")
    lfsplugger.make_tree({"scripts/sub/01-gz.sh":
                          "# lfsplug: unpack=../tarballs/gz-*.tar.gz workdir=build\n"
                          f"{SHOW}touch made-here"})
    result = run(lfsplugger, lfs)
    assert result.ret == 0, result.outlines + result.errlines
    top = tarballs / "gz-2.0"  # unpacked beside the tarball, as the book does
    assert seen(lfsplugger, "gz") == {"PWD": str(top / "build"), "PKGDIR": str(top)}
    assert not top.exists()


def test_a_leftover_tree_is_removed_before_unpacking(lfsplugger: Lfsplugger, lfs: Path) -> None:
    package(lfs / "sources")
    stale = lfs / "sources" / "pkg-1.0" / "stale-from-last-time"
    stale.parent.mkdir()
    stale.write_text("old\n")
    lfsplugger.make_tree({"scripts/01-pkg.sh": "# lfsplug: unpack=pkg-1.0.tar.xz\n"
                                               "test ! -e stale-from-last-time\nls"})
    result = run(lfsplugger, lfs)
    assert result.ret == 0, log(lfsplugger, "pkg")
    assert f"# lfsplug: removed {stale.parent}, left by an earlier attempt" in log(lfsplugger,
                                                                                    "pkg")
    assert not stale.parent.exists()


def test_after_a_failure_the_tree_is_kept_and_the_result_says_where(
    lfsplugger: Lfsplugger, lfs: Path,
) -> None:
    package(lfs / "sources")
    lfsplugger.make_tree({"scripts/01-pkg.sh": "# lfsplug: unpack=pkg-1.0.tar.xz\n"
                                               "echo partial > built.o\nexit 3"})
    result = run(lfsplugger, lfs)
    assert result.ret == 1
    top = lfs / "sources" / "pkg-1.0"
    assert (top / "built.o").read_text() == "partial\n"  # kept, for inspection
    pkg = result.results["pkg"]
    assert pkg.exit_code == 3
    assert pkg.message == f"kept {top} for inspection"
    assert f"# lfsplug: kept {top} for inspection\n" in log(lfsplugger, "pkg")
    # the next attempt starts from a fresh tree
    lfsplugger.make_tree({"scripts/01-pkg.sh": "# lfsplug: unpack=pkg-1.0.tar.xz\n"
                                               "test ! -e built.o"})
    assert run(lfsplugger, lfs).ret == 0
    assert not top.exists()


@pytest.mark.parametrize(("unpack", "says"), [
    ("nothing-*.tar.xz", "no file matches {sources}/nothing-*.tar.xz"),
    ("pkg-*.tar.*", "2 files match {sources}/pkg-*.tar.*: pkg-1.0.tar.xz, pkg-2.0.tar.gz "
                    "(it needs exactly one)"),
    ("pkg-3.0.tar.xz", "no such file: {sources}/pkg-3.0.tar.xz"),
])
def test_a_tarball_that_is_not_exactly_one_file_stops_the_script(
    lfsplugger: Lfsplugger, lfs: Path, unpack: str, says: str,
) -> None:
    package(lfs / "sources", "pkg-1.0")
    package(lfs / "sources", "pkg-2.0", "tar.gz")
    lfsplugger.make_tree({"scripts/01-pkg.sh": f"# lfsplug: unpack={unpack}\ntouch ../ran",
                          "scripts/02-after.sh": "touch ../after"})
    result = run(lfsplugger, lfs)
    assert result.ret == 1
    assert result.statuses() == {"pkg": "failed", "after": "not-run"}
    message = (f"not run: 01-pkg.sh:2: unpack={unpack}: "
               + says.format(sources=lfs / "sources"))
    assert result.results["pkg"].message == message
    assert log(lfsplugger, "pkg") == f"lfsplug: {message}\n"
    assert not (lfsplugger.path / "ran").exists()
    assert sorted(p.name for p in (lfs / "sources").iterdir()) == ["pkg-1.0.tar.xz",
                                                                   "pkg-2.0.tar.gz"]
    assert "Traceback" not in "\n".join(result.outlines + result.errlines)
    result.stdout.fnmatch_lines([f"*{message}*"])


def broken_link_tarball(sources: Path) -> Path:
    """``hard-1.0.tar.xz``: lists fine, but its hard link's target is gone, so ``tar -xf``
    fails (made with the real tar: the target deleted from the archive with ``--delete``)."""
    staging = sources / ".staging-hard"
    (staging / "hard-1.0").mkdir(parents=True)
    (staging / "hard-1.0" / "a").write_text("a\n")
    (staging / "hard-1.0" / "b").hardlink_to(staging / "hard-1.0" / "a")
    plain = sources / "hard-1.0.tar"
    subprocess.run(["tar", "-cf", str(plain), "-C", str(staging), "--no-recursion",
                    "hard-1.0", "hard-1.0/a", "hard-1.0/b"], check=True)
    subprocess.run(["tar", "--delete", "-f", str(plain), "hard-1.0/a"], check=True)
    subprocess.run(["xz", str(plain)], check=True)
    shutil.rmtree(staging)
    return sources / "hard-1.0.tar.xz"


def test_a_failing_tar_is_a_failed_result_with_tars_message(lfsplugger: Lfsplugger,
                                                             lfs: Path) -> None:
    sources = lfs / "sources"
    (sources / "junk.tar.xz").write_bytes(b"this is no tarball\n" * 10)
    hard = broken_link_tarball(sources)
    lfsplugger.make_tree({"scripts/01-junk.sh": "# lfsplug: unpack=junk.tar.xz\ntouch ../ran",
                          "scripts/02-hard.sh": "# lfsplug: unpack=hard-*.tar.xz\ntouch ../ran"})
    result = run(lfsplugger, lfs, "--keep-going", "--order", "graph")
    assert result.ret == 1
    assert result.statuses() == {"junk": "failed", "hard": "failed"}
    junk = result.results["junk"].message or ""  # tar cannot even list it
    assert junk.startswith(f"not run: 01-junk.sh:2: unpack=junk.tar.xz: `tar -tf {sources}/"
                           f"junk.tar.xz` exited 2: ")
    assert "xz: (stdin): File format not recognized" in junk
    hard_message = result.results["hard"].message or ""  # tar fails while unpacking
    assert hard_message.startswith(f"not run: 02-hard.sh:2: unpack=hard-*.tar.xz: `tar -xf "
                                   f"{hard}` exited 2: tar: hard-1.0/b: Cannot hard link to")
    assert hard_message.endswith(f" (kept {sources}/hard-1.0 for inspection)")
    assert all("\n" not in m for m in (junk, hard_message))
    hard_log = log(lfsplugger, "hard")
    assert f"# lfsplug: unpacking {hard} in {sources}\n" in hard_log
    assert "Cannot hard link to" in hard_log and hard_message in hard_log
    assert not (lfsplugger.path / "ran").exists()
    assert "Traceback" not in "\n".join(result.outlines + result.errlines)


def test_a_tarball_without_one_top_directory_is_refused(lfsplugger: Lfsplugger,
                                                         lfs: Path) -> None:
    make_tarball(lfs / "sources", "flat.tar.gz", {"a.c": "", "b.c": ""})
    make_tarball(lfs / "sources", "one.tar.gz", {"README": ""})
    lfsplugger.make_tree({"scripts/01-flat.sh": "# lfsplug: unpack=flat.tar.gz\ntrue",
                          "scripts/02-one.sh": "# lfsplug: unpack=one.tar.gz\ntrue"})
    result = run(lfsplugger, lfs, "--keep-going", "--order", "graph")
    assert result.results["flat"].message == (
        f"not run: 01-flat.sh:2: unpack=flat.tar.gz: {lfs}/sources/flat.tar.gz has no single "
        f"top directory (it holds a.c, b.c)")
    assert result.results["one"].message == (
        f"not run: 02-one.sh:2: unpack=one.tar.gz: {lfs}/sources/one.tar.gz has no top "
        f"directory (it holds only README)")
    assert sorted(p.name for p in (lfs / "sources").iterdir()) == ["flat.tar.gz", "one.tar.gz"]


def test_a_missing_workdir_stops_the_script(lfsplugger: Lfsplugger, lfs: Path) -> None:
    package(lfs / "sources")
    lfsplugger.make_tree({"scripts/01-pkg.sh": "# lfsplug: unpack=pkg-1.0.tar.xz "
                                               "workdir=objdir\ntouch ../../ran",
                          "scripts/02-here.sh": "# lfsplug: workdir=$LFS/nowhere\ntrue"})
    result = run(lfsplugger, lfs, "--keep-going", "--order", "graph")
    top = lfs / "sources" / "pkg-1.0"
    assert result.results["pkg"].message == (
        f"not run: 01-pkg.sh:2: workdir=objdir: no directory {top}/objdir")
    assert result.results["here"].message == (
        f"not run: 02-here.sh:2: workdir=$LFS/nowhere: no directory {lfs}/nowhere")
    assert top.exists()  # unpacked, never run: there to look at


def test_workdir_alone_is_relative_to_the_scripts_directory(lfsplugger: Lfsplugger,
                                                             lfs: Path) -> None:
    lfsplugger.make_tree({"scripts/sub/01-w.sh": "# lfsplug: workdir=../data\npwd",
                          "scripts/data/keep.txt": ""})
    result = run(lfsplugger, lfs)
    assert result.ret == 0, result.outlines
    assert log(lfsplugger, "w").splitlines()[1] == str(lfsplugger.path / "scripts" / "data")
    assert (lfsplugger.path / "scripts" / "data" / "keep.txt").exists()  # nothing removed


# -- script.env: the driver's exports -----------------------------------------------------------

DRIVER_ENV = """\
import lfsplug


@lfsplug.hookimpl
def lfsplug_collection_modifyscripts(session, config, scripts):
    for script in scripts:
        script.env = {{{exports}}}
"""


def driver(lfsplugger: Lfsplugger, exports: str) -> None:
    """An ``lfsconf.py`` that gives every script the driver exports ``exports`` (dict items)."""
    lfsplugger.make_lfsconf(DRIVER_ENV.format(exports=exports), "scripts")


def test_driver_exports_come_after_the_book_and_before_env(lfsplugger: Lfsplugger,
                                                           lfs: Path) -> None:
    driver(lfsplugger, '"SOURCES": "${LFS}/sources", "LOGDIR": "$SOURCES/logs", '
                       '"PATH": "/driver/bin", "LFS": "/elsewhere", "BOTH": "driver", '
                       '"ODD": "x${NOT_SET}y$NOT_SET-$ ${1} $$", "PLAIN": "as is"')
    lfsplugger.make_tree({"scripts/01-env.sh": "env",
                          "scripts/lfsplug.toml": '[env]\nBOTH = "config"\n'})
    result = run(lfsplugger, lfs)
    assert result.ret == 0, result.outlines + result.errlines
    env = seen(lfsplugger, "env")
    assert env["SOURCES"] == f"{lfs}/sources"
    assert env["LOGDIR"] == f"{lfs}/sources/logs"  # an export may use an earlier one
    assert env["LFS"] == str(lfs) and env["PATH"].startswith(f"{lfs}/tools/bin:")  # the book's
    assert env["BOTH"] == "config"  # [env], the user's explicit word, wins
    assert env["ODD"] == "xy-$ ${1} $$"  # unknown: empty; anything else left alone
    assert env["PLAIN"] == "as is"


def test_a_bare_tarball_name_is_looked_up_in_sources(lfsplugger: Lfsplugger, lfs: Path) -> None:
    elsewhere = lfsplugger.path / "tarballs"
    package(elsewhere, "src-3.1")
    driver(lfsplugger, '"SOURCES": "' + str(elsewhere) + '"')
    lfsplugger.make_tree({"scripts/01-src.sh": f"# lfsplug: unpack=src-3.1.tar.xz\n{SHOW}"})
    result = run(lfsplugger, lfs)
    assert result.ret == 0, result.outlines + result.errlines
    assert seen(lfsplugger, "src")["PKGDIR"] == str(elsewhere / "src-3.1")


def test_a_dry_run_shows_the_tarball_the_directory_and_the_exports(lfsplugger: Lfsplugger,
                                                                  lfs: Path) -> None:
    package(lfs / "sources")
    driver(lfsplugger, '"SOURCES": "${LFS}/sources"')
    lfsplugger.make_tree({
        "scripts/01-pkg.sh": "# lfsplug: unpack=pkg-*.tar.xz workdir=build\ntrue",
        "scripts/02-later.sh": "# lfsplug: unpack=later-*.tar.* workdir=build\ntrue",
        "scripts/03-plain.sh": "true",
    })
    result = run(lfsplugger, lfs, "--dry-run")
    assert result.ret == 0, result.outlines + result.errlines
    sources = lfs / "sources"
    result.stdout.fnmatch_lines([
        "[[]1/3] run    pkg*",
        "         $ bash +h -e */scripts/01-pkg.sh",
        f"         unpack {sources}/pkg-1.0.tar.xz",
        f"         in {sources}/pkg-1.0/build",
        f"         + SOURCES={sources}",
        "[[]2/3] run    later*",
        f"         unpack {sources}/later-*.tar.* (no file matches {sources}/later-*.tar.*)",
        f"         in {sources}/<top directory of later-*.tar.*>/build",
        "[[]3/3] run    plain*",
        "         $ bash +h -e */scripts/03-plain.sh",
        f"         + SOURCES={sources}",
    ])
    plain = result.outlines.index(next(ln for ln in result.outlines if ln.startswith("[3/3]")))
    assert result.outlines[plain + 2] == f"         + SOURCES={sources}"  # no unpack, no in
    assert sorted(p.name for p in sources.iterdir()) == ["pkg-1.0.tar.xz"]  # nothing unpacked


def test_a_changed_unpack_or_workdir_runs_the_script_again(lfsplugger: Lfsplugger,
                                                          lfs: Path) -> None:
    package(lfs / "sources", extra={"pkg-1.0/other/": ""})
    # the header is part of the script's content: set workdir= from outside, as a driver does
    choice = lfsplugger.path / "workdir.txt"
    lfsplugger.make_lfsconf(
        "import pathlib\nimport lfsplug\n\n\n"
        "@lfsplug.hookimpl\n"
        "def lfsplug_collection_modifyscripts(session, config, scripts):\n"
        "    for script in scripts:\n"
        f"        script.workdir = pathlib.Path({str(choice)!r}).read_text()\n", "scripts")
    choice.write_text("build")
    lfsplugger.make_tree({"scripts/01-pkg.sh": "# lfsplug: unpack=pkg-1.0.tar.xz\npwd"})
    assert run(lfsplugger, lfs).ret == 0
    assert run(lfsplugger, lfs).results["pkg"].cached  # unchanged: reused
    choice.write_text("other")
    again = run(lfsplugger, lfs)
    assert again.ret == 0 and not again.results["pkg"].cached
    assert log(lfsplugger, "pkg").splitlines()[2] == str(lfs / "sources" / "pkg-1.0" / "other")


# -- the pieces ---------------------------------------------------------------------------------


def test_expand_knows_names_and_braces_only() -> None:
    env = {"A": "1", "LFS": "/mnt/lfs", "A_B": "x"}
    assert expand("${LFS}/sources", env) == "/mnt/lfs/sources"
    assert expand("$LFS/sources:$A_B$A", env) == "/mnt/lfs/sources:x1"
    assert expand("$UNSET|${UNSET}|", env) == "||"
    assert expand("$1 $$ $? ${A:-2} $(echo hi) `id` \\$A", env) == (
        "$1 $$ $? ${A:-2} $(echo hi) `id` \\1")


def test_driver_env_keeps_what_the_book_owns() -> None:
    env = {"LFS": "/mnt/lfs", "PATH": "/usr/bin", "MAKEFLAGS": "-j4"}
    add_driver_env(env, {"MAKEFLAGS": "-j1", "SOURCES": "$LFS/sources", "S2": "${SOURCES}/x"})
    assert env == {"LFS": "/mnt/lfs", "PATH": "/usr/bin", "MAKEFLAGS": "-j4",
                   "SOURCES": "/mnt/lfs/sources", "S2": "/mnt/lfs/sources/x"}


def test_paths_under_a_moved_root(tmp_path: Path) -> None:
    site = Site(root=str(tmp_path / "lfs"))
    base = tmp_path / "scripts"
    assert site.host("/sources/../../etc/x", base) == tmp_path / "lfs" / "etc" / "x"
    assert site.host("sub/x", base) == base / "sub" / "x"
    assert site.seen(tmp_path / "lfs" / "sources") == "/sources"
    assert site.seen(tmp_path / "lfs") == "/"
    assert site.seen(tmp_path / "lfsx") is None
    assert Site().seen(base) == str(base)


def test_find_tarball_in_a_chroots_sources(tmp_path: Path) -> None:
    lfs = tmp_path / "lfs"
    tarball = package(lfs / "sources", "pkg-1.0")
    script = Script("pkg", tmp_path / "pkg.sh", tmp_path, unpack="pkg-[0-9]*.tar.xz")
    # inside the chroot $LFS is unset: $LFS/sources is /sources, under the chroot's root
    assert find_tarball(script, {}, Site(root=str(lfs))) == tarball
    assert find_tarball(script, {"SOURCES": "/sources"}, Site(root=str(lfs))) == tarball
    with pytest.raises(WorkspaceError, match="no file matches /sources/pkg-"):
        find_tarball(script, {}, Site())
    assert top_directory(tarball) == top_directory(tarball, whole=False) == "pkg-1.0"


def test_members_with_dot_slash_have_their_top_directory(tmp_path: Path) -> None:
    (tmp_path / "d" / "pkg-2").mkdir(parents=True)
    (tmp_path / "d" / "pkg-2" / "f").write_text("")
    tarball = tmp_path / "dot.tar.gz"
    subprocess.run(["tar", "-czf", str(tarball), "-C", str(tmp_path / "d"), "./pkg-2"],
                   check=True)
    assert top_directory(tarball) == "pkg-2"
