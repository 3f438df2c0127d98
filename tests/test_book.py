"""lfsplug-book (contrib/lfsplug-book): building from the LFS book's XML itself.

On the real book of the shared data folder (LFS development after 12.3): every page of
chapters 4 to 10 with commands becomes a script in book order; names, versions, tarballs,
checksums and patches are the book's (read here straight from its ``.ent`` files); nodump
screens are not run; who runs each script and where; the book's dependencies order chapter 8;
exporting and building the folder is building the book; placeholders stop the build until set;
``-p no:book`` takes the plugin away.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from importlib.metadata import entry_points
from pathlib import Path

import pytest

import lfsplug
from helpers import BOOK as SHARED_BOOK
from helpers import no_data
from lfsplug import Session
from lfsplug.testing import Lfsplugger

pytest.importorskip("lfsplug_book")
pytest.importorskip("lxml")

VALUES = """
host_check = "off"
[book]
kernel_config = "kernel-config"
[book.values]
timezone = "Europe/Paris"
paper_size = "A4"
locale = "en_US.UTF-8"
hostname = "lfs"
domain = "example.org"
ip = "10.0.2.9"
interface = "eth0"
nameserver1 = "10.0.2.3"
nameserver2 = "8.8.8.8"
root_device = "sda2"
swap_device = "sda3"
root_fstype = "ext4"
"""


@pytest.fixture(scope="module")
def book_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if not (SHARED_BOOK / "index.xml").is_file():
        pytest.skip(no_data(SHARED_BOOK))
    target = tmp_path_factory.mktemp("books") / "lfs-book"
    shutil.copytree(SHARED_BOOK, target, ignore=shutil.ignore_patterns(".lfsplug"))
    return target


@pytest.fixture
def book(book_copy: Path, lfsplugger: Lfsplugger) -> Iterator[Path]:
    """The book, with lfsplug.toml beside it (the values its placeholders need)."""
    (lfsplugger.path / "kernel-config").write_text("# CONFIG_MODULES is not set\n")
    lfsplugger.make_config(VALUES)
    yield book_copy


def listed(lfsplugger: Lfsplugger, *args: str | Path) -> list[dict[str, object]]:
    result = lfsplugger.run("list", *args, "--json", "--state-dir", lfsplugger.path / "state")
    assert result.ret == 0, result.errlines[-5:]
    scripts: list[dict[str, object]] = json.loads("\n".join(result.outlines))["scripts"]
    return scripts


def entities(book: Path) -> dict[str, str]:
    """``<!ENTITY name "value">`` of packages.ent and patches.ent (outside comments), with
    ``&version;`` references resolved: an independent reading of the book's figures."""
    found: dict[str, str] = {}
    for name in ("packages.ent", "patches.ent"):
        text = re.sub(r"<!--.*?-->", "", (book / name).read_text(), flags=re.S)
        found.update(re.findall(r'<!ENTITY\s+([\w.-]+)\s+"([^"]*)">', text))

    def expand(value: str, depth: int = 0) -> str:
        return re.sub(r"&([\w.-]+);", lambda m: expand(found[m.group(1)], depth + 1)
                      if m.group(1) in found and depth < 10 else m.group(0), value)

    return {key: expand(value) for key, value in found.items()}


def pages_of(book: Path, chapter: int) -> list[str]:
    """The files the chapter includes (commented-out includes are not pages)."""
    text = (book / f"chapter{chapter:02d}" / f"chapter{chapter:02d}.xml").read_text()
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return re.findall(r'href="([^"]+)\.xml"', text)


def has_commands(page: Path, init: str = "sysv") -> bool:
    text = re.sub(r"<!--.*?-->", "", page.read_text(), flags=re.S)
    revision = re.search(r'<sect1[^>]*\srevision="(\w+)"', text)
    if revision and revision.group(1) != init:
        return False
    return bool(re.search(r"<screen(?![^>]*nodump)[^>]*>\s*<userinput(?:\s[^>]*)?>(?!chroot)",
                          text))


def test_every_page_with_commands_is_a_script_in_book_order(book: Path,
                                                             lfsplugger: Lfsplugger) -> None:
    scripts = listed(lfsplugger, book)
    paths = [Path(str(s["path"])) for s in scripts]
    for chapter in range(5, 9):  # the package chapters: every page with a command
        files = [book / f"chapter{chapter:02d}" / f"{name}.xml"
                 for name in pages_of(book, chapter)]
        wanted = [re.search(r'dbhtml filename="([^"]+)\.html"', f.read_text()).group(1)
                  for f in files if has_commands(f)]
        got = [p for p in paths if p.parent.name == f"chapter{chapter:02d}"]
        assert [re.sub(r"^\d+-", "", p.name) for p in got] == \
            [w for w in wanted if w != "stripping"], chapter  # stripping: [book] strip
        assert [p.name[:3] for p in got] == sorted(p.name[:3] for p in got)
    names = [s["name"] for s in scripts]
    assert names[:4] == ["creatingminlayout", "addinguser", "settingenvironment",
                         "binutils-pass1"]
    assert names.index("changingowner") < names.index("kernfs") < names.index("creatingdirs")
    assert [s["phase"] for s in scripts if s["name"] == "gcc-pass2"] == ["temp"]
    assert {s["phase"] for s in scripts if str(s["path"]).split("/")[-2] == "chapter09"} == \
        {"config"}
    assert Path(str(scripts[-1]["path"])).parent.name == "chapter10"


def test_versions_tarballs_checksums_and_patches_are_the_books(book: Path,
                                                               lfsplugger: Lfsplugger) -> None:
    ents = entities(book)
    urls = {value.rsplit("/", 1)[-1]: key[:-4] for key, value in ents.items()
            if key.endswith("-url")}
    # a URL may start with an entity of general.ent (&downloads-root;lfs-bootscripts-...)
    urls = {re.sub(r"^&[\w.-]+;", "", name): key for name, key in urls.items()}
    checked = 0
    for script in listed(lfsplugger, book):
        text = Path(str(script["path"])).read_text()
        unpack = re.search(r"unpack=(\S+)", text)
        if unpack is None:
            continue
        tarball = unpack.group(1)
        package = urls[tarball]  # the tarball is one packages.ent names
        assert script["version"] == ents[f"{package}-version"], script["name"]
        md5 = ents[f"{package}-md5"]
        if re.fullmatch(r"[0-9a-f]{32}", md5):
            assert f"# {tarball}: md5 {md5}" in text, script["name"]
        for patch in re.findall(r"\.\./([\w.+-]+\.patch)", text):
            key = next(k for k, v in ents.items() if v == patch and k.endswith("-patch"))
            assert f"# {patch}: md5 {ents[key + '-md5']}" in text
        checked += 1
    assert checked > 90
    folder = next((lfsplugger.path / "state" / "book").iterdir())
    wget = (folder / "wget-list").read_text().split()
    assert f"https://sourceware.org/pub/binutils/releases/binutils-{ents['binutils-version']}" \
           f".tar.xz" in wget
    assert f"{ents['glibc-fhs-patch-md5']}  {ents['glibc-fhs-patch']}" in \
        (folder / "md5sums").read_text().splitlines()


def test_nodump_screens_are_not_run(book: Path, lfsplugger: Lfsplugger) -> None:
    scripts = {s["name"]: Path(str(s["path"])).read_text() for s in listed(lfsplugger, book)}
    assert "passwd lfs" not in scripts["addinguser"]  # asks for a password
    assert "su - lfs" not in scripts["addinguser"]
    assert "make menuconfig" not in scripts["kernel"]
    assert "make localedata/install-locales" not in scripts["glibc@chapter08"]  # locale-full
    assert "localedef -i en_US -f UTF-8 en_US.UTF-8" in scripts["glibc@chapter08"]  # test set
    assert not any(line.startswith("chroot ") for text in scripts.values()
                   for line in text.splitlines())


def test_user_and_chroot_per_chapter(book: Path, lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("-c", lfsplugger.path / "lfsplug.toml", "run", book, "--dry-run",
                            "--state-dir", lfsplugger.path / "state", "--lfs",
                            lfsplugger.path / "lfs")
    assert result.ret == 0, result.errlines[-5:]
    commands: dict[str, str] = {}
    name = None
    for line in result.outlines:
        started = re.match(r"\[\s*\d+/\d+\]\s+run\s+(\S+)", line)
        if started:
            name = started.group(1)
        elif name and line.strip().startswith("$ ") and name not in commands:
            commands[name] = line.strip()[2:]
    assert len(commands) == 127
    assert "setpriv --reuid=lfs" in commands["binutils-pass1"]
    assert "setpriv --reuid=lfs" in commands["gcc-pass2"]
    assert "setpriv --reuid=lfs" in commands["settingenvironment"]  # lfs's own start-up files
    for host_root in ("changingowner", "kernfs", "addinguser"):
        assert commands[host_root].startswith("bash "), commands[host_root]
    for inside in ("creatingdirs", "gettext@chapter07", "gcc", "network", "kernel"):
        assert "chroot " in commands[inside].split(" -- ")[0], commands[inside]


def test_chapter_8_is_ordered_by_dependencies_xml(book: Path, lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("graph", book, "--format", "json")
    graph = json.loads("\n".join(result.outlines))
    edges = {(e["before"], e["after"]) for e in graph["edges"]}
    assert ("gmp", "mpfr") in edges and ("mpfr", "mpc") in edges
    assert ("readline", "bash@chapter08") in edges
    assert ("zlib", "bzip2") not in edges  # no sequence edges in chapter 8: graph order
    assert ("binutils-pass1", "gcc-pass1") in edges  # chapters 5-7 keep the book's sequence


def test_export_then_list_is_the_books_plan(book: Path, lfsplugger: Lfsplugger) -> None:
    out = lfsplugger.path / "exported"
    result = lfsplugger.run("book", "export", book, out)
    assert result.ret == 0, result.errlines
    assert result.outlines[0] == f"wrote 127 scripts of {book} (sysv) to {out}"
    assert (out / "chapter05" / "501-binutils-pass1").is_file()
    direct = listed(lfsplugger, book)
    exported = listed(lfsplugger, out)

    def plan(scripts: list[dict[str, object]]) -> list[tuple[object, ...]]:
        return [(s["name"], s["version"], s["phase"], s["depends"],
                 Path(str(s["path"])).relative_to(Path(str(s["path"])).parents[1]))
                for s in scripts]

    assert plan(exported) == plan(direct)
    again = lfsplugger.run("book", "export", book, lfsplugger.path / "state")
    assert again.ret == 4 and "not empty and not written by lfsplug book export" in \
        again.errlines[-1]


def test_placeholders_stop_the_build_until_set(book: Path, lfsplugger: Lfsplugger) -> None:
    (lfsplugger.path / "lfsplug.toml").unlink()
    result = lfsplugger.run("check", book, "--state-dir", lfsplugger.path / "state",
                            "--host-check", "off", "--json")
    findings = json.loads("\n".join(result.outlines))["findings"]
    marks = {(Path(f["path"]).name, f["message"].split("set ")[-1]) for f in findings
             if f["code"] == "LFS010"}
    assert ("803-glibc", "[book.values] timezone (for <xxx>))") in marks
    assert ("861-groff", "[book.values] paper_size (for <paper_size>))") in marks
    assert ("1002-kernel", "[book] kernel_config (the kernel's .config))") in marks
    assert result.ret == 6
    lfsplugger.make_config(VALUES)
    fixed = lfsplugger.run("-c", lfsplugger.path / "lfsplug.toml", "check", book,
                           "--state-dir", lfsplugger.path / "state", "--json")
    codes = {f["code"] for f in json.loads("\n".join(fixed.outlines))["findings"]}
    assert not codes & {"LFS001", "LFS010"}
    glibc = next((lfsplugger.path / "state" / "book").glob("*/chapter08/803-glibc"))
    assert "ln -sfv /usr/share/zoneinfo/Europe/Paris /etc/localtime" in glibc.read_text()


@pytest.mark.parametrize(("tests", "gcc", "bash"), [
    ("none", False, False), ("critical", True, False), ("all", True, True)])
def test_test_suites_run_as_chosen_and_never_hide_a_failure(
        book: Path, lfsplugger: Lfsplugger, tests: str, gcc: bool, bash: bool) -> None:
    scripts = {s["name"]: Path(str(s["path"])).read_text()
               for s in listed(lfsplugger, book, "--book-tests", tests)}
    assert ("\n{ make -k check\n} || lfsplug_test_failed $?" in scripts["binutils"]) is gcc
    assert ("\n# make -k check\n" in scripts["binutils"]) is not gcc
    runs_bash = 'su -s /usr/bin/expect tester << "EOF"' in scripts["bash@chapter08"] and \
        "{ su -s /usr/bin/expect" in scripts["bash@chapter08"]
    assert runs_bash is bash


def test_a_failed_test_suite_is_said_and_the_script_goes_on(tmp_path: Path) -> None:
    from lxml import etree

    from lfsplug_book.pages import Block, Page
    from lfsplug_book.render import Choices, render

    blocks = [Block(etree.fromstring(f"<userinput>{text}</userinput>"), remap)
              for text, remap in (("make check", "test"), ("grep '^FAIL:' log", "test"),
                                  ("echo installed", "install"))]
    page = Page(8, "system", 18, "ch-system-binutils", "binutils", "chapter08", "Binutils",
                blocks)
    text, missing = render(page, Choices(tests="critical"), "sysv, x86_64")
    script = tmp_path / "binutils"
    script.write_text(text.replace("make -k check", "(exit 2)"))
    (tmp_path / "log").write_text("PASS: all\n")
    import subprocess

    done = subprocess.run(["bash", str(script)], cwd=tmp_path, capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0 and missing == []
    assert done.stderr == "lfsplug: test suite failed (exit 2): make check\n"  # grep: no FAIL
    assert done.stdout == "installed\n"


def test_sysv_and_systemd_are_two_books(book: Path, lfsplugger: Lfsplugger) -> None:
    sysv = {s["name"] for s in listed(lfsplugger, book)}
    systemd = {s["name"] for s in listed(lfsplugger, book, "--book-init", "systemd")}
    assert {"sysvinit", "bootscripts", "sysklogd"} <= sysv - systemd
    assert {"systemd", "dbus"} <= systemd - sysv


def test_a_broken_book_is_one_line_naming_file_and_line(book: Path,
                                                        lfsplugger: Lfsplugger) -> None:
    broken = lfsplugger.path / "broken-book"
    shutil.copytree(book, broken, ignore=shutil.ignore_patterns(".lfsplug"))
    page = broken / "chapter06" / "m4.xml"
    page.write_text(page.read_text().replace("</sect1info>", "</sect1inf>", 1))
    result = lfsplugger.run("list", broken, "--state-dir", lfsplugger.path / "state")
    assert result.ret == 4
    assert re.fullmatch(rf"lfsplug: {re.escape(str(page))}:\d+: .*sect1inf.*", result.errlines[-1])


OLD_BOOK = {
    "index.xml": """<?xml version="1.0"?>
<!DOCTYPE book [ <!ENTITY % general-entities SYSTEM "general.ent"> %general-entities; ]>
<book><part>
<chapter id="chapter-temporary-tools" xreflabel="Chapter 5"><?dbhtml dir="chapter05"?>
  <sect1 id="ch-tools-m4"><?dbhtml filename="m4.html"?><title>M4</title>
    <sect1info condition="script"><productname>m4</productname>
      <productnumber>&m4-version;</productnumber><address>&m4-url;</address></sect1info>
    <sect2 role="installation">
      <screen><userinput remap="configure">./configure --prefix=/tools</userinput></screen>
      <screen><userinput remap="make">make</userinput></screen>
      <screen role="nodump"><userinput>make menuconfig</userinput></screen>
      <screen><userinput remap="install">make install</userinput></screen>
    </sect2></sect1>
</chapter>
<chapter id="chapter-building-system" xreflabel="Chapter 6"><?dbhtml dir="chapter06"?>
  <sect1 id="ch-system-binutils"><?dbhtml filename="binutils.html"?><title>Binutils</title>
    <sect2 role="installation">
      <screen><userinput remap="test">make check</userinput></screen>
    </sect2></sect1>
</chapter>
</part></book>
""",
    "general.ent": '<!ENTITY % packages-entities SYSTEM "packages.ent"> %packages-entities;\n',
    "packages.ent": '<!ENTITY m4-version "1.4.10">\n'
                    '<!ENTITY m4-url "https://example.org/m4-&m4-version;.tar.bz2">\n',
}


def test_an_older_book_is_read_by_its_chapter_ids(lfsplugger: Lfsplugger) -> None:
    """LFS before 10.0: chapter 5 built the temporary tools in /tools, chapter 6 the system.
    Phases come from the chapters' ids, not from today's chapter numbers."""
    for name, text in OLD_BOOK.items():
        (lfsplugger.path / "old-book" / name).parent.mkdir(exist_ok=True)
        (lfsplugger.path / "old-book" / name).write_text(text)
    scripts = listed(lfsplugger, lfsplugger.path / "old-book")
    assert [(s["name"], s["phase"], s["version"], Path(str(s["path"])).name)
            for s in scripts] == [("m4", "temp", "1.4.10", "501-m4"),
                                  ("binutils", "system", None, "601-binutils")]
    m4, binutils = (Path(str(s["path"])).read_text() for s in scripts)
    assert "unpack=m4-1.4.10.tar.bz2" in m4 and "make menuconfig" not in m4
    assert "\nmake -j1 install\n" in m4
    assert "{ make -k check" in binutils  # chapter 6 is this book's system: critical tests run


def test_the_plugin_is_its_own_distribution_and_can_be_blocked(
        book: Path, lfsplugger: Lfsplugger) -> None:
    found = [e for e in entry_points(group="lfsplug") if e.name == "book"]
    assert [(e.value, e.dist.name if e.dist else None) for e in found] == \
        [("lfsplug_book", "lfsplug-book")]
    blocked = lfsplugger.run("-p", "no:book", "list", book, "--state-dir",
                             lfsplugger.path / "state")
    assert blocked.ret == 5  # the book's folder holds no scripts of its own
    assert not (lfsplugger.path / "state" / "book").exists()


def test_the_books_scripts_carry_the_books_known_test_failures(book: Path,
                                                                lfsplugger: Lfsplugger) -> None:
    """The tests plugin's hook, answered by the book plugin for its own scripts (also with the
    tests plugin's generic [tests] book_known_failures off)."""
    found: dict[str, list[object]] = {}

    class Ask:
        @lfsplug.hookimpl
        def lfsplug_collection_finish(self, session: Session) -> None:
            for script in session.scripts:
                if script.name in ("glibc@chapter08", "glibc@chapter05", "tar@chapter08", "zlib"):
                    answers = session.hook.lfsplug_known_test_failures(
                        script=script, config=session.config)
                    found[script.name] = [k for a in answers for k in a or ()]

    lfsplugger.make_config(VALUES + "[tests]\nbook_known_failures = false\n")
    result = lfsplugger.run("list", book, "--state-dir", lfsplugger.path / "state",
                            plugins=[Ask()])
    assert result.ret == 0, result.errlines[-5:]
    glibc = found["glibc@chapter08"]
    assert glibc and all("chapter08/glibc.xml" in k.source for k in glibc)  # type: ignore[attr-defined]
    assert found["tar@chapter08"] and found["zlib"] == []
    assert found["glibc@chapter05"] == []  # chapter 8's statements, not the cross glibc's
