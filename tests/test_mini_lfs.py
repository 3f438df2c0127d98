"""End to end: examples/mini-lfs builds real GNU packages from their tarballs with ``-j 2``.

One build (about 4 to 5 minutes on two cores, test suites included) is shared by the tests of
this module, which run in file order: the programs run from ``$LFS``, the reports parse, a second
run does nothing, an edited script runs again with its dependents. The tarballs come from
``examples/mini-lfs/sources/`` (``.ci/run`` fills it with ``fetch-from-debian.sh``), else from
Debian's source packages into a temporary directory; where neither works the module skips.
"""

from __future__ import annotations

import html.parser
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).parent.parent / "examples" / "mini-lfs"
BUILD_TIMEOUT = 1800
SCRIPTS = ["host-check", "layout", "cross-hello", "m4", "libtasn1", "hello", "sed", "grep",
           "gawk", "diffutils", "tasn1-demo", "smoke-test"]
PASSED = re.compile(r"^\[\s*\d+/\d+\]\s+passed\s+(\S+)", re.MULTILINE)


def tarball_names() -> list[str]:
    lines = (EXAMPLE / "sources" / "md5sums").read_text().splitlines()
    return [line.split(None, 1)[1].strip() for line in lines if line.strip()]


def md5sums_ok(directory: Path) -> bool:
    if not all((directory / name).is_file() for name in tarball_names()):
        return False
    check = subprocess.run(["md5sum", "-c", "--status", str(EXAMPLE / "sources" / "md5sums")],
                           cwd=directory, check=False)
    return check.returncode == 0


def find_sources(tmp: Path) -> Path:
    """A directory holding every tarball of the example, matching its md5sums, or skip."""
    if md5sums_ok(EXAMPLE / "sources"):
        return EXAMPLE / "sources"
    if shutil.which("apt-get") is None or os.geteuid() != 0:
        pytest.skip("examples/mini-lfs/sources/ lacks the tarballs and the Debian fetch needs "
                    "apt-get and root: run examples/mini-lfs/fetch-from-debian.sh")
    dest = tmp / "debian-sources"
    fetch = subprocess.run([str(EXAMPLE / "fetch-from-debian.sh"), str(dest)], check=False,
                           capture_output=True, text=True, timeout=600)
    if fetch.returncode != 0 or not md5sums_ok(dest):
        why = (fetch.stderr.strip().splitlines() or ["no message"])[-1]
        pytest.skip(f"examples/mini-lfs/sources/ lacks the tarballs and the Debian fetch "
                    f"failed: {why}")
    return dest


@dataclass
class Build:
    tree: Path
    lfs: Path
    reports: Path
    first: subprocess.CompletedProcess[str]
    home: dict[str, str]  # the environment of the index of builds the first run is in


def copy_tree(sources: Path, tree: Path) -> None:
    """The example without its state and tarballs, with the tarballs in its cache (sources/)."""
    shutil.copytree(EXAMPLE, tree, ignore=shutil.ignore_patterns(
        ".lfsplug", "__pycache__", "*.tar.*", "*.part"))
    for name in tarball_names():
        shutil.copy2(sources / name, tree / "sources" / name)


def lfsplug(*args: str | Path, cwd: Path, timeout: float = BUILD_TIMEOUT,
            env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LFSPLUG_")},
           **(env or {})}
    return subprocess.run([sys.executable, "-m", "lfsplug", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=timeout, check=False,
                          stdin=subprocess.DEVNULL)


def said(proc: subprocess.CompletedProcess[str]) -> str:
    return f"exit {proc.returncode}\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Build]:
    if shutil.which("cc") is None or shutil.which("make") is None:
        pytest.skip("mini-lfs compiles GNU packages: no cc or make on this host")
    tmp = tmp_path_factory.mktemp("mini-lfs")
    sources = find_sources(tmp)
    # the user's index of builds (what `lfsplug status` finds from elsewhere): this module's own
    # (each test has one of its own too: conftest.py)
    home = {"XDG_STATE_HOME": str(tmp / "state-home")}
    tree, lfs, reports = tmp / "mini-lfs", tmp / "lfs", tmp / "reports"
    copy_tree(sources, tree)
    reports.mkdir()
    first = lfsplug("run", tree, "--lfs", lfs, "-j", "2", "--plain",
                    "--report", f"html:{reports / 'build.html'}",
                    "--report", f"junit:{reports / 'build.xml'}",
                    "--report", f"sbu:{reports / 'build.sbu'}", cwd=tmp, env=home)
    yield Build(tree, lfs, reports, first, home)


def test_builds_with_two_jobs(build: Build) -> None:
    assert build.first.returncode == 0, said(build.first)
    assert "==== 12 passed in " in build.first.stdout
    assert "copied hello-2.10.tar.gz from the cache" in build.first.stderr
    cross = next((build.tree / ".lfsplug" / "logs").rglob("cross-hello.log")).read_text()
    if shutil.which("aarch64-linux-gnu-gcc") is None:
        assert "SKIPPED cross stage: no aarch64-linux-gnu-gcc on this host" in cross
    else:
        assert "cross stage: built hello for aarch64-linux-gnu" in cross
    # every package's tree was removed after its pass: only tarballs remain in $LFS/sources
    leftovers = [p.name for p in (build.lfs / "sources").iterdir() if p.is_dir()]
    assert leftovers == [], leftovers


def run_lfs(build: Build, program: str, *args: str, stdin: str = "") -> str:
    path = build.lfs / program
    assert path.is_file(), f"{path} was not installed"
    done = subprocess.run([str(path), *args], input=stdin, capture_output=True, text=True,
                          timeout=30, check=False)
    assert done.returncode in (0, 1), done
    return done.stdout


def test_programs_run_from_lfs(build: Build, tmp_path: Path) -> None:
    assert build.first.returncode == 0, said(build.first)
    assert run_lfs(build, "usr/bin/hello") == "Hello, world!\n"
    assert run_lfs(build, "tools/bin/m4", stdin="define(`X', `mini')X-lfs\n") == "mini-lfs\n"
    assert run_lfs(build, "usr/bin/sed", "s/lfs/LFS/", stdin="mini lfs\n") == "mini LFS\n"
    assert run_lfs(build, "usr/bin/grep", "-c", "^b", stdin="a\nbb\nb\nc\n") == "2\n"
    total = run_lfs(build, "usr/bin/gawk", "{ s += $1 * $2 } END { print s }",
                    stdin="1 2\n3 4\n")
    assert total == "14\n"
    (tmp_path / "a").write_text("one\ntwo\n")
    (tmp_path / "b").write_text("one\nthree\n")
    diff = run_lfs(build, "usr/bin/diff", "-u", str(tmp_path / "a"), str(tmp_path / "b"))
    assert "-two\n+three\n" in diff
    demo = run_lfs(build, "usr/bin/tasn1-demo")
    assert demo == "libtasn1 4.19.0: DER length of 300 = 82 01 2c\n"


def test_reports_exist_and_parse(build: Build) -> None:
    assert build.first.returncode == 0, said(build.first)
    run, *packages = ET.parse(build.reports / "build.xml").getroot().findall("testsuite")
    cases = run.iter("testcase")
    assert sorted(c.get("name", "") for c in cases) == sorted(SCRIPTS)
    assert not list(run.iter("failure"))
    # the packages' own test suites (make check), read by the tests plugin, each test a case
    suites = {s.get("name"): s for s in packages}
    assert {f"{p}: test suite" for p in ("diffutils", "grep", "sed", "gawk", "libtasn1")} \
        <= set(suites)
    for suite in suites.values():
        assert int(suite.get("tests", "0")) > 0 and suite.findall("testcase")
    for package in ("diffutils", "grep", "sed", "gawk", "libtasn1"):  # and the summary says so
        assert re.search(rf"^{package}: tests: \d+ passed", build.first.stdout, re.M), package
    page = (build.reports / "build.html").read_text()
    parser = html.parser.HTMLParser()
    parser.feed(page)
    parser.close()
    assert page.lstrip().lower().startswith("<!doctype html") and "gawk" in page
    sbu = (build.reports / "build.sbu").read_text()
    assert "diffutils" in sbu and "libtasn1" in sbu


def test_second_run_does_nothing(build: Build) -> None:
    assert build.first.returncode == 0, said(build.first)
    again = lfsplug("run", build.tree, "--lfs", build.lfs, "-j", "2", "--plain",
                    cwd=build.tree.parent, timeout=300)
    assert again.returncode == 0, said(again)
    reused = [line for line in again.stdout.splitlines() if "(unchanged, from an earlier" in line]
    assert len(reused) == len(SCRIPTS), said(again)


def test_edited_script_runs_again_with_its_dependents(build: Build) -> None:
    assert build.first.returncode == 0, said(build.first)
    script = build.tree / "chapter08" / "801-hello.sh"
    script.write_text(script.read_text() + "# edited by the test\n")
    again = lfsplug("run", build.tree, "--lfs", build.lfs, "-j", "2", "--plain",
                    cwd=build.tree.parent, timeout=600)
    assert again.returncode == 0, said(again)
    ran = {m.group(1) for m in map(PASSED.match, again.stdout.splitlines())
           if m and "(unchanged" not in m.string}
    assert ran == {"hello", "smoke-test"}, said(again)
    assert run_lfs(build, "usr/bin/hello") == "Hello, world!\n"


def test_status_log_and_report_from_where_the_run_was_started(build: Build,
                                                              tmp_path: Path) -> None:
    """README's quick start runs ``lfsplug run examples/mini-lfs`` from the repository: the
    commands after it, from there, find that build without naming it."""
    assert build.first.returncode == 0, said(build.first)
    where = build.tree.parent
    status = lfsplug("status", cwd=where, timeout=120, env=build.home)
    assert status.returncode == 0, said(status)
    shown = set(re.findall(r"^\s*(?:\d+\s+)?([\w-]+)\s+passed\b", status.stdout, re.MULTILINE))
    assert shown >= set(SCRIPTS), said(status)
    log = lfsplug("log", "gawk", cwd=where, timeout=120, env=build.home)
    assert log.returncode == 0 and "# lfsplug: exit status 0" in log.stdout, said(log)
    assert "checking for gcc" in log.stdout, said(log)
    page = tmp_path / "again.html"
    report = lfsplug("report", f"html:{page}", cwd=where, timeout=120, env=build.home)
    assert report.returncode == 0, said(report)
    assert "diffutils" in page.read_text()


def corrupt_copy(build: Build, tmp_path: Path) -> tuple[Path, Path]:
    """A fresh tree whose grep tarball is corrupted in the cache and at its only URL."""
    tree, lfs = tmp_path / "tree", tmp_path / "lfs"
    shutil.copytree(build.tree, tree, ignore=shutil.ignore_patterns(".lfsplug", "__pycache__"))
    bad = tree / "sources" / "grep-3.8.tar.xz"
    data = bytearray(bad.read_bytes())
    data[1000] ^= 0xFF
    bad.write_bytes(bytes(data))
    wget = tree / "sources" / "wget-list"
    wget.write_text(wget.read_text().replace("https://ftp.gnu.org/gnu/grep/grep-3.8.tar.xz",
                                             bad.as_uri()))
    return tree, lfs


def test_corrupted_tarball_stops_the_build_before_anything_runs(
        build: Build, tmp_path: Path) -> None:
    tree, lfs = corrupt_copy(build, tmp_path)
    run = lfsplug("run", tree, "--lfs", lfs, "-j", "2", "--plain", cwd=tmp_path, timeout=300)
    assert run.returncode == 1, said(run)
    assert "grep-3.8.tar.xz failed: " in run.stderr and "md5 mismatch" in run.stderr, said(run)
    assert "nothing was built" in run.stderr
    assert not PASSED.search(run.stdout) and not (lfs / "usr" / "bin").exists(), said(run)


def test_check_fails_on_the_corrupted_unpack_tarball(build: Build, tmp_path: Path) -> None:
    """The tarball a script names with ``unpack=`` is a source file it names: a corrupted one
    is an error at the script (INT003), not only a warning about the checksum file."""
    tree, lfs = corrupt_copy(build, tmp_path)
    check = lfsplug("check", tree, "--lfs", lfs, "--sources", tree / "sources",
                    "-p", "no:sources", cwd=tmp_path, timeout=120)
    assert check.returncode == 6 and "INT003" in check.stdout, said(check)
    assert "grep-3.8.tar.xz in " in check.stdout and " does not match" in check.stdout, \
        said(check)
