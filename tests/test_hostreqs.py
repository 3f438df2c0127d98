"""The hostreqs plugin: the book's host requirements in ``check``, ``run`` and ``lfsplug host``.

Most tests build a fake host: a folder of small ``#!/bin/sh`` programs that print what real
tools print (and odd things real hosts print), made the whole of ``PATH``. The real machine is
checked too, for whatever it has: no traceback, every requirement reported once.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from helpers import BOOK, findings, no_data
from lfsplug._kinds import compare
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_hostreqs import book
from lfsplug_hostreqs.resources import GIB, memory_total
from lfsplug_hostreqs.versions import extract_version, kernel_version

#: Findings that depend on the machine under the fake tools (its kernel, its /dev/pts).
MACHINE_CODES = {"HOST005", "HOST006"}
STATUSES = ("OK", "TOO OLD", "MISSING", "BROKEN", "UNKNOWN", "WRONG", "LOW", "TOO LOW")
ROW = re.compile(rf"^({'|'.join(STATUSES)})( \(disabled\))?\s+(\S+(?: \S+)*)\s{{2,}}")
CROSS = {"01-binutils-pass1.sh": "# lfsplug: phase=cross\necho building"}
PLAIN = {"01-hello.sh": "echo hello"}

#: What a healthy host prints for ``--version`` (first lines of real tools, odd ones included).
HEALTHY = {
    "sort": "sort (GNU coreutils) 9.1\nCopyright (C) 2022 Free Software Foundation, Inc.",
    "bash": "GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)",
    "ld": "GNU ld (GNU Binutils for Debian) 2.40",
    "bison": "bison (GNU Bison) 3.8.2",
    "diff": "diff (GNU diffutils) 3.8",
    "find": "find (GNU findutils) 4.9.0",
    "gawk": "GNU Awk 5.2.1, API 3.2, PMA Avon 8-g1, (GNU MPFR 4.2.0, GNU MP 6.2.1)",
    "gcc": "gcc (Debian 12.2.0-14+deb12u1) 12.2.0",
    "g++": "g++ (Debian 12.2.0-14+deb12u1) 12.2.0",
    "grep": "GNU grep 2.5.1a",
    "gzip": "gzip 1.12",
    "m4": "m4 (GNU M4) 1.4.19",
    "make": "GNU Make 4.3\nBuilt for x86_64-pc-linux-gnu",
    "patch": "GNU patch 2.7.6",
    "perl": "\nThis is perl 5, version 36, subversion 0 (v5.36.0) built for x86_64-linux-gnu",
    "python3": "Python 3.11.7",
    "sed": "sed (GNU sed) 4.4.1-ubuntu2",
    "tar": "tar (GNU tar) 1.34",
    "texi2any": "texi2any (GNU texinfo) 7.0.2",
    "xz": "xz (XZ Utils) 5.4.1\nliblzma 5.4.1",
    "awk": "GNU Awk 5.2.1, API 3.2",
    "yacc": "bison (GNU Bison) 3.8.2",
    "sh": "GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)",
}


class FakeHost:
    """A folder of fake tools as the whole PATH, an $LFS folder, and the [hostreqs] table."""

    def __init__(self, lfsplugger: Lfsplugger, bindir: Path, lfs: Path) -> None:
        # The fakes run with PATH holding nothing but themselves: name real helpers by path
        # (looked up before the fixture sets PATH).
        self.cat, self.sleep = shutil.which("cat"), shutil.which("sleep")
        assert self.cat and self.sleep, "cat and sleep are needed to make fake tools"
        self.lfsplugger = lfsplugger
        self.bindir = bindir
        self.lfs = lfs
        #: machine-independent thresholds: only the tests about resources set them
        self.keys: dict[str, Any] = {
            "sh": str(bindir / "sh"), "min_disk_gb": 0, "recommended_disk_gb": 0,
            "min_inodes": 0, "recommended_inodes": 0, "min_memory_gb": 0,
            "recommended_memory_gb": 0, "recommended_cores": 0,
        }
        self.top: dict[str, Any] = {"lfs": str(lfs)}
        for command, output in HEALTHY.items():
            self.tool(command, output)
        self.compiler(works=True)

    def script(self, command: str, body: str) -> Path:
        path = self.bindir / command
        path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
        path.chmod(0o755)
        return path

    def tool(self, command: str, output: str, status: int = 0) -> Path:
        """A fake ``command`` that prints ``output`` (for any arguments) and exits ``status``."""
        return self.script(command, f"{self.cat} <<'EOF'\n{output}\nEOF\nexit {status}")

    def compiler(self, works: bool) -> None:
        """A fake g++ that answers --version and builds (or fails to build) from stdin."""
        build = f"{self.cat} >/dev/null; exit 0" if works else (
            f"{self.cat} >/dev/null; echo \"g++: fatal error: cannot execute 'cc1plus'\"; exit 1")
        self.script("g++", f'if [ "$1" = --version ]; then echo "{HEALTHY["g++"]}"; exit 0; '
                           f"fi\n{build}")

    def remove(self, command: str) -> None:
        (self.bindir / command).unlink()

    def write_config(self) -> None:
        lines = [f"{k} = {json.dumps(v)}" for k, v in self.top.items()]
        lines += ["", "[hostreqs]", *(f"{k} = {json.dumps(v)}" for k, v in self.keys.items())]
        self.lfsplugger.make_config("\n".join(lines) + "\n")

    def run(self, *args: str, tree: dict[str, str] | None = None) -> RunResult:
        self.lfsplugger.make_tree(CROSS if tree is None else tree)
        self.write_config()
        return self.lfsplugger.run("-p", "no:chroot", *args)  # phases, but no privilege checks

    def check(self, *args: str, tree: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
        """``check --json``: the host findings by code (one per code in these tests)."""
        result = self.run("check", "--json", *args, tree=tree)
        found = host_findings(result)
        assert len(found) == len({f["code"] for f in found}), found
        return {f["code"]: f for f in found}


@pytest.fixture
def fakehost(lfsplugger: Lfsplugger, tmp_path_factory: pytest.TempPathFactory,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHost]:
    bindir = tmp_path_factory.mktemp("fakebin")
    host = FakeHost(lfsplugger, bindir, tmp_path_factory.mktemp("lfs"))
    monkeypatch.setenv("PATH", str(bindir))
    yield host


def host_findings(result: RunResult) -> list[dict[str, Any]]:
    """The HOST findings of ``check --json``, leaving out those that depend on the machine."""
    return [f for f in findings(result)
            if f["code"].startswith("HOST") and f["code"] not in MACHINE_CODES]


def table(result: RunResult) -> dict[str, str]:
    """``lfsplug host``'s rows: requirement -> status; a requirement twice fails the test."""
    rows: dict[str, str] = {}
    for line in result.outlines:
        match = ROW.match(line)
        if match:
            assert match.group(3) not in rows, f"{match.group(3)} reported twice"
            rows[match.group(3)] = match.group(1) + (match.group(2) or "")
    return rows


def requirement_names(lfs: str) -> list[str]:
    return [*(f"{t.name} ({t.command})" for t in book.TOOLS), "Linux Kernel", "UNIX 98 PTY",
            *(f"{a.command} is {a.expected}" for a in book.ALIASES), "C++ compiler works",
            f"disk space at {lfs}", f"inodes at {lfs}", "memory", "CPU cores"]


# -- the table is the book's -------------------------------------------------------------------


def _book_text(name: str) -> str:
    path = BOOK / name
    if not path.is_file():
        pytest.skip(no_data(path))
    return html.unescape(path.read_text(encoding="utf-8"))


def test_tool_table_matches_every_ver_check_line_of_the_book() -> None:
    text = _book_text("chapter02/hostreqs.xml")
    lines = re.findall(r'^ver_check\s+("[^"]+"|\S+)\s+(\S+)\s+(\S+)', text, re.M)
    assert len(lines) >= 20
    in_book = [(name.strip('"'), command, minimum) for name, command, minimum in lines]
    assert in_book == [(t.name, t.command, t.minimum) for t in book.TOOLS]


def test_kernel_minimum_matches_the_min_kernel_entity() -> None:
    entities = _book_text("general.ent")
    [minimum] = re.findall(r'<!ENTITY\s+min-kernel\s+"([^"]+)"', entities)
    assert minimum == book.MIN_KERNEL
    assert re.search(r"^ver_kernel &min-kernel;", BOOK.joinpath(
        "chapter02/hostreqs.xml").read_text(encoding="utf-8"), re.M)


def test_alias_checks_and_hardware_figures_match_the_book() -> None:
    text = _book_text("chapter02/hostreqs.xml")
    aliases = re.findall(r"^alias_check\s+(\S+)\s+(\S+)\s*$", text, re.M)
    assert aliases == [(a.command, a.expected) for a in book.ALIASES]
    assert "at least\n     four cores" in text and book.RECOMMENDED_CORES == 4
    assert f"at least {book.RECOMMENDED_MEMORY_GB:g} GB of memory" in text
    partition = " ".join(_book_text("chapter02/creatingpartition.xml").split())
    assert f"around {book.MIN_DISK_GB:g} gigabytes (GB)" in partition
    assert f"A {book.RECOMMENDED_DISK_GB:g} GB partition" in partition


def test_book_version_is_the_one_of_the_data() -> None:
    readme = BOOK.parent / "README.md"
    if not readme.is_file():
        pytest.skip(no_data(readme))
    assert "commit 6a04e24, 2025-05-24" in readme.read_text(encoding="utf-8")
    assert "6a04e24" in book.BOOK_VERSION and "2025-05-24" in book.BOOK_VERSION


# -- version extraction ------------------------------------------------------------------------


@pytest.mark.parametrize(("output", "version"), [
    ("GNU Make 4.3", "4.3"),
    ("GNU grep 2.5.1a", "2.5.1a"),
    ("sed (GNU sed) 4.4.1-ubuntu2", "4.4.1"),
    ("sort (GNU coreutils) 9.1", "9.1"),
    ("Python 3.11.7", "3.11.7"),
    ("Python 3.13.0rc1", "3.13.0rc1"),
    ("gcc (Debian 12.2.0-14+deb12u1) 12.2.0", "12.2.0"),
    # the book's first-match search takes the crosstool-NG and the program-name versions
    ("gcc (crosstool-NG 1.25.0) 12.2.0", "12.2.0"),
    ("gcc-4.8 (Ubuntu 4.8.5-4ubuntu8) 4.8.5", "4.8.5"),
    ("gcc (GCC) 14.2.1 20240912 (Red Hat 14.2.1-3)", "14.2.1"),
    ("GNU bash, version 5.2.15(1)-release (x86_64-pc-linux-gnu)", "5.2.15"),
    ("GNU Awk 5.2.1, API 3.2, PMA Avon 8-g1, (GNU MPFR 4.2.0, GNU MP 6.2.1)", "5.2.1"),
    ("\nThis is perl 5, version 36, subversion 0 (v5.36.0) built for x86_64-linux", "5.36.0"),
    ("GNU ld version 2.30-119.el8", "2.30"),
    ("m4 (GNU M4) 1.4.19+dfsg", "1.4.19"),
    ("texi2any (GNU texinfo) 7.0.2\n\nCopyright (C) 2022", "7.0.2"),
    ("foo: no version here\nLicense GPL-2.0 or later", None),
    ("Copyright 2023", None),
    ("", None),
    ("gawk: garbage\x00\xff", None),
])
def test_odd_version_strings(output: str, version: str | None) -> None:
    assert extract_version(output) == version


_NAMES = st.from_regex(r"[a-z][a-z0-9+]{0,8}(-[0-9]{1,2}(\.[0-9]{1,2})?)?", fullmatch=True)
_PKG = st.text(st.characters(codec="ascii", categories=("L", "N", "Zs", "Pd"),
                             include_characters=".+~:"), max_size=30)
_PARTS = st.lists(st.integers(0, 999), min_size=2, max_size=4)
_LETTER = st.sampled_from(["", "a", "b", "rc1", "p2"])
_SUFFIX = st.sampled_from(["", "-1", "-ubuntu2", "-14+deb12u1", "+dfsg", "~rc1", "_p20240210",
                           "(1)-release", ".el8"])
_TRAILER = st.sampled_from(["", " 20240912", " (Red Hat 9.9.9-1)", ", API 3.2",
                            "\nCopyright (C) 2022 Free Software Foundation, Inc.",
                            "\nLicense GPL-2.0+"])


@st.composite
def version_lines(draw: st.DrawFn) -> tuple[str, str]:
    """A ``NAME (PKG) X.Y.Z-suffix`` first line (with what may follow it) and its version."""
    version = ".".join(map(str, draw(_PARTS))) + draw(_LETTER)
    line = f"{draw(_NAMES)} ({draw(_PKG)}) {version}{draw(_SUFFIX)}{draw(_TRAILER)}"
    return line, version


@given(version_lines())
def test_name_pkg_version_suffix(case: tuple[str, str]) -> None:
    line, version = case
    assert extract_version(line) == version
    # what the comparison then sees is ordered like the version itself (sort -V)
    assert compare(extract_version(line) or "", version) == 0


@given(st.text(max_size=200))
def test_any_output_gives_a_version_from_it_or_none(output: str) -> None:
    found = extract_version(output)
    assert found is None or (found[0].isdigit() and found in output and "." in found)


@given(st.from_regex(r"[A-Za-z][A-Za-z ]{0,20}", fullmatch=True), _PARTS)
def test_agrees_with_the_books_search_on_plain_lines(words: str, parts: list[int]) -> None:
    line = f"{words.strip() or 'tool'} {'.'.join(map(str, parts))}"
    books = re.search(r"[0-9]+\.[0-9.]+[a-z]*", line)
    assert books is not None
    assert extract_version(line) == books.group(0)


@pytest.mark.parametrize(("release", "version"), [
    ("6.8.0-31-generic", "6.8.0"), ("5.15.167.4-microsoft-standard-WSL2", "5.15.167.4"),
    ("4.19.0", "4.19.0"), ("custom", None),
])
def test_kernel_release(release: str, version: str | None) -> None:
    assert kernel_version(release) == version


# -- the real machine --------------------------------------------------------------------------


def test_real_host_reports_every_requirement_once(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("host", "--lfs", str(lfsplugger.path))
    text = "\n".join(result.outlines + result.errlines)
    assert "Traceback" not in text
    rows = table(result)
    assert list(rows) == requirement_names(str(lfsplugger.path))
    errors = [line for line in result.outlines if line.startswith("error ")]
    assert result.ret == (6 if errors else 0), text
    assert result.outlines[-1].startswith(f"{len(rows) - len(errors)} of {len(rows)} "
                                          f"requirements met: {len(errors)} error(s)")


def test_real_host_json_and_check_agree(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(PLAIN)
    host = lfsplugger.run("host", "--json")
    data = json.loads("\n".join(host.outlines))
    assert data["book"] == book.BOOK_VERSION
    names = [r["name"] for r in data["requirements"]]
    assert names == requirement_names("/mnt/lfs")
    assert all(r["status"] in STATUSES for r in data["requirements"])
    from_host = sorted(r["finding"]["code"] for r in data["requirements"] if r["finding"])
    check = lfsplugger.run("check", "--json", "--host-check", "on")
    from_check = sorted(f["code"] for f in findings(check) if f["code"].startswith("HOST"))
    assert from_check == from_host
    has_error = any(r["finding"] and r["finding"]["severity"] == "error"
                    for r in data["requirements"])
    assert host.ret == (6 if has_error else 0)


def test_real_cxx_compiler_builds_a_program(lfsplugger: Lfsplugger) -> None:
    if shutil.which("g++") is None:
        pytest.skip("no g++ on PATH")
    data = json.loads("\n".join(lfsplugger.run("host", "--json").outlines))
    [row] = [r for r in data["requirements"] if r["name"] == "C++ compiler works"]
    assert row["status"] == "OK", row


# -- a fake host -------------------------------------------------------------------------------


def test_healthy_fake_host_has_no_findings(fakehost: FakeHost) -> None:
    assert fakehost.check() == {}
    result = fakehost.run("host")
    rows = table(result)
    assert set(rows) == set(requirement_names(str(fakehost.lfs)))
    assert {name: s for name, s in rows.items() if s != "OK"
            and name not in ("Linux Kernel", "UNIX 98 PTY")} == {}
    result.stdout.fnmatch_lines(["OK*Grep (grep)*2.5.1a*>= 2.5.1a",
                                 "OK*Make (make)*4.3*>= 4.0",
                                 "OK*Perl (perl)*5.36.0*>= 5.8.8",
                                 "OK*Sed (sed)*4.4.1*>= 4.1.5"])


def test_missing_old_garbage_and_failing_tools(fakehost: FakeHost) -> None:
    fakehost.remove("texi2any")
    fakehost.tool("gawk", "gawk 3.1")
    fakehost.tool("m4", "m4: frobnicated beyond repair")
    fakehost.tool("xz", "xz: error while loading shared libraries: liblzma.so.5", status=127)
    found = fakehost.check()
    assert set(found) == {"HOST001", "HOST002", "HOST003", "HOST004"}
    missing = found["HOST001"]
    assert missing["severity"] == "error"
    assert all(word in missing["message"] for word in ("Texinfo", "texi2any", "5.0"))
    assert "install Texinfo 5.0 or later" in missing["hint"]
    assert found["HOST002"]["severity"] == "error"
    assert "Gawk 3.1" in found["HOST002"]["message"] and "4.0.1" in found["HOST002"]["message"]
    assert "/usr/bin/awk should be a link to gawk" in found["HOST002"]["hint"]
    assert found["HOST003"]["severity"] == "error"
    assert "status 127" in found["HOST003"]["message"]
    assert "liblzma.so.5" in found["HOST003"]["message"]
    assert found["HOST004"]["severity"] == "warning"
    assert "m4: frobnicated beyond repair" in found["HOST004"]["message"]

    result = fakehost.run("host")
    assert result.ret == 6
    result.stdout.fnmatch_lines([
        "TOO OLD*Gawk (gawk)*3.1*>= 4.0.1",
        "UNKNOWN*M4 (m4)*",
        "MISSING*Texinfo (texi2any)*-*>= 5.0",
        "BROKEN*Xz (xz)*",
        "error*HOST001*Texinfo not found*",
        "*hint: install Texinfo*",
    ])


def test_tool_that_hangs_or_floods_is_a_finding_in_bounded_time(fakehost: FakeHost) -> None:
    fakehost.script("bison", f"{fakehost.sleep} 30")
    fakehost.script("diff", "while :; do echo 'diff diff diff diff diff diff'; done")
    fakehost.keys["version_timeout"] = 1
    started = time.monotonic()
    found = fakehost.run("check", "--json")
    assert time.monotonic() - started < 10
    messages = [f["message"] for f in host_findings(found) if f["code"] == "HOST003"]
    assert any("Bison" in m and "did not finish within 1 s" in m for m in messages), messages
    assert any("Diffutils" in m and "printed more than 64 KiB" in m for m in messages), messages


def test_tools_are_asked_in_parallel(fakehost: FakeHost) -> None:
    for command in ("sort", "bash", "ld", "bison", "diff", "find"):
        fakehost.script(command, f"{fakehost.sleep} 1; echo '{HEALTHY[command]}'")
    started = time.monotonic()
    assert fakehost.check() == {}
    assert time.monotonic() - started < 4.5  # six seconds one after the other


@pytest.mark.parametrize(("command", "output", "status", "words"), [
    ("sh", "/bin/sh: 0: Illegal option --", 2, ["sh", "not Bash", "Illegal option"]),
    ("awk", "mawk 1.3.4 20200120", 0, ["awk", "not GNU", "mawk"]),
    ("yacc", "yacc - 2.0 20221106", 0, ["yacc", "not Bison"]),
])
def test_alias_that_is_not_the_gnu_program(fakehost: FakeHost, command: str, output: str,
                                           status: int, words: list[str]) -> None:
    fakehost.tool(command, output, status)
    found = fakehost.check()
    assert set(found) == {"HOST007"}
    assert found["HOST007"]["severity"] == "error"
    assert all(word in found["HOST007"]["message"] for word in words)
    fakehost.run("host").stdout.fnmatch_lines([f"WRONG*{command} is *"])


def test_sh_is_read_from_the_configured_path_through_links(fakehost: FakeHost) -> None:
    dash = fakehost.tool("dash", "dash: 0: Illegal option --", status=2)
    link = fakehost.bindir / "sh-link"
    link.symlink_to(dash)
    fakehost.keys["sh"] = str(link)
    found = fakehost.check()
    assert f"{link} -> {dash}" in found["HOST007"]["message"]
    assert "/bin/sh should be a symbolic or hard link to bash" in found["HOST007"]["hint"]


def test_missing_yacc(fakehost: FakeHost) -> None:
    fakehost.remove("yacc")
    found = fakehost.check()
    assert "yacc not found" in found["HOST007"]["message"]


def test_cxx_compiler_that_cannot_build(fakehost: FakeHost) -> None:
    fakehost.compiler(works=False)
    found = fakehost.check()
    assert set(found) == {"HOST008"}
    assert "cannot execute 'cc1plus'" in found["HOST008"]["message"]
    assert "C++ compiler" in found["HOST008"]["hint"]
    fakehost.run("host").stdout.fnmatch_lines(["BROKEN*C++ compiler works*"])


# -- disk, inodes, memory, kernel --------------------------------------------------------------


def _statvfs(free_gb: float, free_inodes: int, total_inodes: int = 4_000_000) -> Any:
    frsize = 4096
    blocks = int(free_gb * 10**9 / frsize)
    return os.statvfs_result((frsize, frsize, blocks * 2, blocks, blocks, total_inodes,
                              free_inodes, free_inodes, 0, 255))


@pytest.mark.parametrize(("free_gb", "inodes", "expected"), [
    (5, 2_000_000, {"HOST009": "error"}),
    (20, 2_000_000, {"HOST010": "warning"}),
    (50, 2_000_000, {}),
    (50, 100_000, {"HOST011": "error"}),
    (50, 500_000, {"HOST012": "warning"}),
    (5, 100_000, {"HOST009": "error", "HOST011": "error"}),
])
def test_disk_space_and_inodes_at_lfs(fakehost: FakeHost, monkeypatch: pytest.MonkeyPatch,
                                      free_gb: float, inodes: int,
                                      expected: dict[str, str]) -> None:
    monkeypatch.setattr(os, "statvfs", lambda path: _statvfs(free_gb, inodes))
    fakehost.keys.update(min_disk_gb=10, recommended_disk_gb=30, min_inodes=300_000,
                         recommended_inodes=1_000_000)
    found = fakehost.check()
    assert {code: f["severity"] for code, f in found.items()} == expected
    if "HOST009" in found:
        assert f"only {free_gb:.1f} GB free at {fakehost.lfs}" in found["HOST009"]["message"]


def test_disk_thresholds_are_configurable(fakehost: FakeHost,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "statvfs", lambda path: _statvfs(5, 2_000_000))
    fakehost.keys.update(min_disk_gb=4, recommended_disk_gb=6)
    assert set(fakehost.check()) == {"HOST010"}


def test_file_system_without_an_inode_limit(fakehost: FakeHost,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "statvfs", lambda path: _statvfs(50, 0, total_inodes=0))
    fakehost.keys.update(min_inodes=300_000, recommended_inodes=1_000_000)
    assert fakehost.check() == {}
    fakehost.run("host").stdout.fnmatch_lines(["OK*inodes at *no fixed limit*"])


def test_lfs_that_does_not_exist_is_a_warning(fakehost: FakeHost) -> None:
    fakehost.top["lfs"] = str(fakehost.lfs / "not-mounted")
    result = fakehost.run("check", "--json")
    [finding] = host_findings(result)
    assert finding["code"] == "HOST015" and finding["severity"] == "warning"
    assert "not-mounted" in finding["message"]
    assert result.ret == 0  # a warning does not make the tree invalid


def test_lfs_option_on_the_command_line(fakehost: FakeHost) -> None:
    other = fakehost.lfs / "elsewhere"
    other.mkdir()
    rows = table(fakehost.run("host", "--lfs", str(other)))
    assert rows[f"disk space at {other}"] == "OK"


def _memory_gib() -> float:
    return memory_total()[0] / GIB


@pytest.mark.parametrize(("minimum", "recommended", "expected"), [
    (10_000, 10_000, {"HOST013": "error"}),
    (0, 10_000, {"HOST014": "warning"}),
    (0, 0, {}),
])
def test_memory_against_configured_thresholds(fakehost: FakeHost, minimum: int,
                                              recommended: int,
                                              expected: dict[str, str]) -> None:
    assert _memory_gib() < 9_000  # the thresholds above are beyond any machine
    fakehost.keys.update(min_memory_gb=minimum, recommended_memory_gb=recommended)
    found = fakehost.check()
    assert {code: f["severity"] for code, f in found.items()} == expected
    if expected:
        assert f"{_memory_gib():.1f} GiB of memory" in next(iter(found.values()))["message"]


def test_cores_below_the_recommendation_are_information(fakehost: FakeHost) -> None:
    fakehost.keys["recommended_cores"] = 10_000
    found = fakehost.check()
    assert {code: f["severity"] for code, f in found.items()} == {"HOST016": "info"}


@pytest.mark.parametrize(("release", "code", "severity"), [
    ("4.19.0-27-amd64", "HOST005", "error"),
    ("custom-kernel", "HOST004", "warning"),
    ("6.1.0-13-amd64", None, None),
])
def test_kernel(fakehost: FakeHost, monkeypatch: pytest.MonkeyPatch, release: str,
                code: str | None, severity: str | None) -> None:
    real = os.uname()
    fake = os.uname_result((real.sysname, real.nodename, release, real.version, real.machine))
    monkeypatch.setattr(os, "uname", lambda: fake)
    result = fakehost.run("check", "--json")
    kernel = [f for f in findings(result) if f["code"] in ("HOST004", "HOST005")]
    assert [(f["code"], f["severity"]) for f in kernel] == ([(code, severity)] if code else [])
    if code == "HOST005":
        assert "4.19.0" in kernel[0]["message"] and book.MIN_KERNEL in kernel[0]["message"]


# -- when the host is checked ------------------------------------------------------------------


@pytest.mark.parametrize(("mode", "tree", "checked"), [
    ("auto", CROSS, True),
    ("auto", {"01-gcc.sh": "# lfsplug: phase=temp"}, True),
    ("auto", {"01-bash.sh": "# lfsplug: phase=chroot-temp"}, True),
    ("auto", {"01-zlib.sh": "# lfsplug: phase=system"}, False),
    ("auto", PLAIN, False),
    ("on", PLAIN, True),
    ("off", CROSS, False),
])
def test_host_check_modes(fakehost: FakeHost, mode: str, tree: dict[str, str],
                          checked: bool) -> None:
    fakehost.remove("bison")
    result = fakehost.run("check", "--json", "--host-check", mode, tree=tree)
    assert bool(host_findings(result)) is checked
    assert result.ret == (6 if checked else 0)


def test_host_check_from_the_configuration_file(fakehost: FakeHost) -> None:
    fakehost.remove("bison")
    fakehost.top["host_check"] = "off"
    assert fakehost.check() == {}
    fakehost.top["host_check"] = "on"
    assert set(fakehost.check(tree=PLAIN)) == {"HOST001"}


def test_run_refuses_on_an_unmet_requirement_and_runs_with_the_check_off(
    fakehost: FakeHost, tmp_path_factory: pytest.TempPathFactory,
) -> None:
    marker = tmp_path_factory.mktemp("out") / "ran"
    fakehost.remove("bison")
    tree = {"01-binutils-pass1.sh": f"# lfsplug: phase=cross\ntouch {marker}"}
    refused = fakehost.run("run", tree=tree)
    assert refused.ret == 6
    refused.stderr.fnmatch_lines(["host: *error* HOST001: Bison not found*"])
    assert not marker.exists()
    ran = fakehost.run("run", "--host-check", "off", tree=tree)
    assert ran.ret == 0, ran.errlines
    assert marker.exists()


def test_disabled_codes_are_silenced(fakehost: FakeHost) -> None:
    fakehost.remove("bison")
    fakehost.top["disable"] = ["HOST001"]
    assert fakehost.check() == {}
    result = fakehost.run("host")
    assert result.ret == 0
    assert table(result)["Bison (bison)"] == "MISSING (disabled)"


def test_blocking_the_plugin(fakehost: FakeHost) -> None:
    fakehost.remove("bison")
    fakehost.lfsplugger.make_tree(CROSS)
    result = fakehost.lfsplugger.run("-p", "no:hostreqs", "check", "--json")
    assert [f for f in findings(result) if f["code"].startswith("HOST")] == []
    assert fakehost.lfsplugger.run("-p", "no:hostreqs", "host").ret == 4


# -- documentation ---------------------------------------------------------------------------


def test_every_finding_code_is_documented() -> None:
    plugin = Path(book.__file__).parent
    used = set()
    for module in plugin.glob("*.py"):
        used |= set(re.findall(r'"(HOST\d{3})"', module.read_text(encoding="utf-8")))
    page = (Path(__file__).resolve().parents[1] / "docs" / "hostreqs.md").read_text("utf-8")
    documented = set(re.findall(r"^\| (HOST\d{3}) \|", page, re.M))
    assert used == documented
    assert f"| `{book.MIN_KERNEL}` " in page or f"{book.MIN_KERNEL} (`min-kernel`)" in page
    for tool in book.TOOLS:
        assert f"| {tool.name} | `{tool.command} --version` | {tool.minimum} |" in page


# -- configuration errors ----------------------------------------------------------------------


@pytest.mark.parametrize(("key", "value", "words"), [
    ("min_disk", "10", ["unknown key 'min_disk'", "known: awk"]),
    ("min_disk_gb", '"ten"', ["min_disk_gb: expected a number"]),
    ("min_inodes", "1.5", ["min_inodes: expected a whole number"]),
    ("version_timeout", "0", ["[hostreqs] version_timeout: 0 is not a positive number of "
                              "seconds"]),
    ("sh", "5", ["sh: expected a string"]),
    ("recommended_disk_gb", "5", ["[hostreqs] recommended_disk_gb: recommended_disk_gb (5) is "
                                  "below min_disk_gb (10)"]),
    # the recommendation is the default: the line written, the minimum's, is named
    ("min_disk_gb", "100", ["[hostreqs] min_disk_gb: recommended_disk_gb (30) is below "
                            "min_disk_gb (100)"]),
])
def test_bad_hostreqs_keys_are_usage_errors(lfsplugger: Lfsplugger, key: str, value: str,
                                            words: list[str]) -> None:
    lfsplugger.make_tree(PLAIN)
    lfsplugger.make_config(f'host_check = "auto"\n\n[hostreqs]\ncxx = "g++"\n{key} = {value}\n')
    result = lfsplugger.run("check")
    assert result.ret == 4
    [line] = [line for line in result.errlines if "lfsplug.toml" in line]
    assert "lfsplug.toml:5:" in line
    assert all(word in line for word in words), line


@pytest.mark.e2e
def test_entry_point_and_real_command(lfsplugger: Lfsplugger) -> None:
    plugins = lfsplugger.run_subprocess("plugins", "--json")
    rows = {p["name"]: p for p in json.loads("\n".join(plugins.outlines))["plugins"]}
    assert rows["hostreqs"]["module"] == "lfsplug_hostreqs"
    assert "lfsplug_addcommands" in rows["hostreqs"]["hooks"]
    # the per-command object that holds the decision, registered in lfsplug_configure
    assert {"lfsplug_collection_finish", "lfsplug_validate_host"} <= set(
        rows["hostreqs-check"]["hooks"])
    host = lfsplugger.run_subprocess("host")
    assert host.ret in (0, 6)
    assert "Traceback" not in "\n".join(host.errlines)
    assert host.outlines[-1].endswith("info") and "requirements met" in host.outlines[-1]
