"""Names and versions from a script's content and from the package lists beside the scripts.

Variables (``PKG=gcc-13.2.0``, ``PKGNAME=``/``PKGVER=``...), the first tarball a script unpacks,
the first source directory it enters, and ``packages.sh``/``packages.csv``/``wget-list``/
``md5sums`` files; the priorities between them and the file name; ``lfsplug list --why`` naming
the source and line of each value; the cache; bad package lists.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import BOOK, findings, listed, no_data, why_lines
from lfsplug._config import KEYS
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_discovery.head import shell_variables, unpack_commands
from lfsplug_discovery.names import archive_package, directory_package, is_generic_name
from lfsplug_discovery.pkglists import list_version, packages_near, parse_package_list


@pytest.fixture(autouse=True)
def _no_host_checks(request: pytest.FixtureRequest) -> None:
    """A chapter05/ tree is the cross phase, which the hostreqs plugin checks the host for."""
    if "lfsplugger" in request.fixturenames:
        request.getfixturevalue("lfsplugger").setenv("LFSPLUG_PLUGINS", "no:hostreqs")


def write(root: Path, files: dict[str, str | bytes]) -> None:
    """Write files as given (``make_tree`` would give a package list a ``#!`` line)."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")


def versions(lfsplugger: Lfsplugger, *args: str) -> dict[str, str | None]:
    """Each listed script's name and version."""
    return {s["name"]: s["version"] for s in listed(lfsplugger.run("list", "--json", *args))}


def origin(lfsplugger: Lfsplugger, name: str, key: str, *args: str) -> str:
    """The ``--why`` line of one key: ``KEY = VALUE    from SOURCE``."""
    return next(line for line in why_lines(lfsplugger, name, *args)
                if line.startswith(f"{key} = "))


def list_findings(result: RunResult, root: Path) -> list[tuple[str, str, int | None]]:
    """The package-list findings of ``check --json``: (code, path, line)."""
    return sorted((f["code"], os.path.relpath(f["path"], root), f["line"])
                  for f in findings(result) if f["code"] in ("DISC060", "DISC061", "DISC062"))


# ==============================================================================================
# Variables
# ==============================================================================================


@pytest.mark.parametrize(("content", "name", "version", "why"), [
    pytest.param('export PKG="proftpd-1.3.8b"', "proftpd", "1.3.8b",
                 "version = 1.3.8b    from variable PKG= line 2", id="export-PKG-quoted"),
    pytest.param("PKG=gcc-13.2.0", "gcc", "13.2.0",
                 "version = 13.2.0    from variable PKG= line 2", id="PKG"),
    pytest.param("PACKAGE=https://example.invalid/zlib-1.3.1.tar.xz", "zlib", "1.3.1",
                 "version = 1.3.1    from variable PACKAGE= line 2", id="PACKAGE-url"),
    pytest.param("PKGNAME=gcc\nPKGVER=13.2.0", "gcc", "13.2.0",
                 "version = 13.2.0    from variable PKGVER= line 3", id="PKGNAME-PKGVER"),
    pytest.param("PKG_NAME=gcc; PKG_VERSION=13.2.0", "gcc", "13.2.0",
                 "version = 13.2.0    from variable PKG_VERSION= line 2", id="one-line"),
    pytest.param("readonly VER='13.2.0'\nPKG=gcc", "gcc", "13.2.0",
                 "version = 13.2.0    from variable VER= line 2", id="VER"),
    pytest.param("NAME=gcc-13.2.0", "gcc", "13.2.0",
                 "version = 13.2.0    from variable NAME= line 2", id="NAME-with-version"),
    pytest.param("P=gcc-13.2.0", "gcc", "13.2.0",
                 "version = 13.2.0    from variable P= line 2", id="P-with-version"),
    pytest.param("pkgname=gcc\npkgver=13.2.0", "gcc", "13.2.0",
                 "version = 13.2.0    from variable pkgver= line 3", id="PKGBUILD-style"),
])
def test_variables_name_a_generic_script_and_give_its_version(
    lfsplugger: Lfsplugger, content: str, name: str, version: str, why: str
) -> None:
    lfsplugger.make_tree({"01-build.sh": f"#!/bin/bash\n{content}\nmake\n"})
    assert versions(lfsplugger) == {name: version}
    assert why in why_lines(lfsplugger, name)


@pytest.mark.parametrize("content", [
    "NAME=mybox",                    # too common a word to name a package without a version
    "P=/usr",
    "PKG=$1",                        # not literal
    "PKG=${NAME}-${VERSION}",
    "VERSION=$(cat version)",
    "# PKG=gcc-13.2.0",              # a comment
    "TMP=gcc-13.2.0",                # not a package variable (P= is inside it)
    'PKG="two words"',
])
def test_what_is_not_a_package_variable(lfsplugger: Lfsplugger, content: str) -> None:
    lfsplugger.make_tree({"01-build.sh": f"#!/bin/bash\n{content}\n"})
    assert versions(lfsplugger) == {"build": None}


def test_version_variable_beats_the_version_in_a_name_variable(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "PKG=gcc-13.2.0\nVERSION=13.2.1\n"})
    assert versions(lfsplugger) == {"gcc": "13.2.1"}
    assert origin(lfsplugger, "gcc", "version") == \
        "version = 13.2.1    from variable VERSION= line 3"


def test_the_first_name_variable_counts(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01.sh": "PKGNAME=gcc\nPACKAGE=binutils-2.41\n"})
    assert versions(lfsplugger) == {"gcc": None}  # binutils' version is not gcc's
    assert origin(lfsplugger, "gcc", "name") == "name = gcc    from variable PKGNAME= line 2"


# ==============================================================================================
# Tarballs and source directories
# ==============================================================================================


@pytest.mark.parametrize(("content", "why"), [
    pytest.param("tar xf binutils-2.41.tar.xz", "tarball binutils-2.41.tar.xz line 2", id="xf"),
    pytest.param("cd $LFS/sources\ntar -xJf ../binutils-2.41.tar.xz",
                 "tarball ../binutils-2.41.tar.xz line 3", id="dash-xJf-relative"),
    pytest.param('tar xvf "$SOURCES/binutils-2.41.tar.xz" -C /tmp',
                 "tarball $SOURCES/binutils-2.41.tar.xz line 2", id="in-a-path"),
    pytest.param("tar -C /tmp --extract --file=/src/binutils-2.41.tar.xz",
                 "tarball /src/binutils-2.41.tar.xz line 2", id="long-options"),
    pytest.param("xzcat binutils-2.41.tar.xz | tar xf -",
                 "tarball binutils-2.41.tar.xz line 2", id="piped-in"),
    pytest.param("xz -dc binutils-2.41.tar.xz 2>/dev/null | tar x",
                 "tarball binutils-2.41.tar.xz line 2", id="piped-in-redirected"),
    pytest.param("tar --no-same-owner -xf \\\n    binutils-2.41.tar.xz",
                 "tarball binutils-2.41.tar.xz line 3", id="continued-line"),
    pytest.param("tar tf gcc-1.0.tar.xz\ntar xf binutils-2.41.tar.xz",
                 "tarball binutils-2.41.tar.xz line 3", id="a-listing-is-no-extraction"),
    pytest.param("cd binutils-2.41 && cd ../gcc-13.2.0", "cd into binutils-2.41 line 2",
                 id="cd-first-wins"),
    pytest.param("cd $SRC/binutils-2.41", "cd into $SRC/binutils-2.41 line 2", id="cd-path"),
    pytest.param("cd $LFS/sources\ncd build\ncd ../binutils-2.41/build",
                 "cd into ../binutils-2.41/build line 4", id="cd-into-the-build-dir"),
    pytest.param("pushd binutils-2.41 > /dev/null", "pushd into binutils-2.41 line 2",
                 id="pushd"),
])
def test_tarball_and_directory_give_the_version(lfsplugger: Lfsplugger, content: str,
                                                why: str) -> None:
    lfsplugger.make_tree({"05-binutils-pass1.sh": f"#!/bin/bash\n{content}\n"})
    assert versions(lfsplugger) == {"binutils-pass1": "2.41"}
    assert origin(lfsplugger, "binutils-pass1", "version") == f"version = 2.41    from {why}"


@pytest.mark.parametrize("content", [
    pytest.param("# tar xf gcc-13.2.0.tar.xz\n# cd gcc-13.2.0", id="comments"),
    pytest.param("cat > notes << EOF\ntar xf gcc-13.2.0.tar.xz\ncd gcc-13.2.0\nEOF",
                 id="a-heredoc"),
    pytest.param("echo tar xf gcc-13.2.0.tar.xz cd gcc-13.2.0", id="an-echo"),
    pytest.param("tar xf $PKG.tar.xz\ncd $PKG\ntar xf ../mpfr-4.2.1.tar.xz",
                 id="the-first-extraction-is-not-literal"),
    pytest.param("tar cf backup-1.0.tar /etc\ncd build", id="no-extraction-no-source-dir"),
    pytest.param("tar xf gcc-*.tar.xz\ncd gcc-*/", id="globs"),
])
def test_what_names_no_tarball_or_source_directory(lfsplugger: Lfsplugger, content: str) -> None:
    lfsplugger.make_tree({"05-build.sh": f"#!/bin/bash\n{content}\n"})
    assert versions(lfsplugger) == {"build": None}


def test_heads_without_a_candidate_are_not_parsed(
    lfsplugger: Lfsplugger, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    import lfsplug_shell

    parsed: list[bytes] = []
    real = lfsplug_shell.parse

    def counting(source: bytes) -> Any:
        if sys._getframe(1).f_code.co_name == "unpack_commands":  # not the drivers' reading
            parsed.append(source)
        return real(source)

    monkeypatch.setattr(lfsplug_shell, "parse", counting)
    lfsplugger.make_tree({
        "chapter05/501-binutils-pass1": "cd $PKGDIR\nPACKAGE=binutils\nVERSION=2.44\n",
        "chapter05/502-gcc-pass1": "tar -xf $PKG.tar.xz\ncd $PKG\nmkdir build; cd build\n",
        "chapter05/503-glibc": "tar xf glibc-2.41.tar.xz\n",
    })
    assert versions(lfsplugger) == {"binutils-pass1": "2.44", "gcc-pass1": None, "glibc": "2.41"}
    assert len(parsed) == 1 and b"glibc-2.41" in parsed[0]


# ==============================================================================================
# Names of scripts whose file names name no package
# ==============================================================================================


@pytest.mark.parametrize("filename", [
    "01.sh", "2-1.sh", "05-build.sh", "06-install.sh", "07-compile", "08-step3.sh",
    "09-stage-2.sh", "10-ch05.sh", "11-script.sh", "12-run.sh", "a.05.03.sh",
])
def test_generic_file_names_take_the_package_from_the_content(lfsplugger: Lfsplugger,
                                                              filename: str) -> None:
    lfsplugger.make_tree({f"chapter05/{filename}": "tar xf ../gcc-13.2.0.tar.xz\ncd gcc-13.2.0\n"})
    assert versions(lfsplugger) == {"gcc": "13.2.0"}
    assert why_lines(lfsplugger, "gcc")[2:5] == [
        "name = gcc    from tarball ../gcc-13.2.0.tar.xz line 2",
        "phase = cross    from directory chapter05 (book chapter 5)",
        "version = 13.2.0    from tarball ../gcc-13.2.0.tar.xz line 2",
    ]


def test_generic_file_names_listed_or_given_as_path(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "book/build_order.txt": "ch05.sh\nc14.20.04.sh\nbuild.sh\n",
        "book/ch05.sh": "PKG=binutils-2.41\n",
        "book/c14.20.04.sh": "cd /usr/src/linux-6.7.4\n",
        "book/build.sh": "pushd m4-1.4.19\n",
    })
    assert versions(lfsplugger, "book") == {"binutils": "2.41", "linux": "6.7.4", "m4": "1.4.19"}
    assert versions(lfsplugger, "book/build.sh") == {"m4": "1.4.19"}


def test_a_generic_file_name_gives_no_version_when_the_content_names_the_package(
    lfsplugger: Lfsplugger
) -> None:
    # "ch05-03" reads as a name and a version ("03"), but it is a section label
    lfsplugger.make_tree({"build_order.txt": "ch05-03.sh\nch05-04.sh\n",
                          "ch05-03.sh": "PKG=zlib\n", "ch05-04.sh": "true\n"})
    assert versions(lfsplugger) == {"zlib": None, "ch05": "04"}


def test_a_generic_file_name_without_content_names_stays(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01.sh": "true", "02-build.sh": "cd build\nmake", "2-1.sh": "true"})
    assert set(versions(lfsplugger)) == {"01", "build", "2-1"}


def test_real_names_are_never_replaced(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter05/501-binutils-pass1": "cd $PKGDIR\nPACKAGE=binutils\nVERSION=2.44\n",
        "chapter05/505-libstdc++": "cd $PKGDIR\nPACKAGE=gcc\nVERSION=14.2.0\n",
        "chapter05/06-libstdcxx.sh": "tar xf gcc-14.2.0.tar.xz\ncd gcc-14.2.0\n",
        "chapter05/07-make.sh": "tar xf make-4.4.1.tar.gz\n",
        "chapter05/08-c.sh": "PKG=gcc-14.2.0\n",
    })
    scripts = {s["name"]: s for s in listed(lfsplugger.run("list", "--json"))}
    assert {n: s["version"] for n, s in scripts.items()} == {
        "binutils-pass1": "2.44", "libstdc++": "14.2.0", "libstdcxx": "14.2.0",
        "make": "4.4.1", "c": "14.2.0",
    }
    assert scripts["binutils-pass1"]["provides"] == ["binutils"]
    assert scripts["libstdc++"]["provides"] == scripts["libstdcxx"]["provides"] == []


def test_a_header_name_wins_over_a_generic_file_name(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01.sh": "# lfsplug: name=gcc-pass1\ntar xf gcc-13.2.0.tar.xz\n"})
    assert versions(lfsplugger) == {"gcc-pass1": "13.2.0"}
    assert origin(lfsplugger, "gcc-pass1", "name") == "name = gcc-pass1    from # lfsplug: " \
                                                      "header line 2"


def test_two_generic_scripts_building_one_package_are_two_builds(lfsplugger: Lfsplugger) -> None:
    # a package built twice is normal however its scripts are named: no DISC001
    lfsplugger.make_tree({"01.sh": "tar xf gcc-13.2.0.tar.xz", "02.sh": "tar xf gcc-13.2.0.tar.xz"})
    check = lfsplugger.run("check", "--json")
    assert "DISC001" not in {f["code"] for f in findings(check)}
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["package"]) for s in scripts] == [("gcc@01", "gcc"), ("gcc@02", "gcc")]


# ==============================================================================================
# Package lists
# ==============================================================================================


PACKAGES_SH = """\
# the versions this build uses
GCC_VERSION=13.2.0
export BINUTILS_VER=2.41
PKG_GLIBC=https://example.invalid/glibc-2.39.tar.xz
M4_VER="1.4.19"
M4_URL=https://example.invalid/m4-${M4_VER}.tar.xz
XML_PARSER_VERSION=2.47
download() { wget "$1"; }
"""


@pytest.mark.parametrize(("name", "text", "expected"), [
    pytest.param("packages.sh", PACKAGES_SH, {"gcc": ("13.2.0", 2), "binutils": ("2.41", 3),
                                              "glibc": ("2.39", 4), "m4": ("1.4.19", 5),
                                              "xml-parser": ("2.47", 7)}, id="packages.sh"),
    pytest.param("packages.csv", "Name,Version,URL\ngcc,13.2.0,\nbinutils,,"
                 "https://example.invalid/binutils-2.41.tar.xz\nXML-Parser,2.47,\n",
                 {"gcc": ("13.2.0", 2), "binutils": ("2.41", 3), "xml-parser": ("2.47", 4)},
                 id="csv-with-header"),
    pytest.param("packages.csv", "# no header\ngcc;13.2.0\nbinutils;2.41;core\n",
                 {"gcc": ("13.2.0", 2), "binutils": ("2.41", 3)}, id="csv-without-header"),
    pytest.param("wget-list", "https://example.invalid/gcc-13.2.0.tar.xz\n"
                 "https://example.invalid/bash-5.2.21-upstream_fixes-1.patch\n\n"
                 "https://example.invalid/tcl8.6.13-src.tar.gz\n",
                 {"gcc": ("13.2.0", 1), "tcl": ("8.6.13", 4)}, id="wget-list"),
    pytest.param("wget-list-sysv", "https://example.invalid/Python-3.12.2.tar.xz\n",
                 {"python": ("3.12.2", 1)}, id="wget-list-sysv"),
    pytest.param("md5sums", "590765dee95907dbc3c856f7255bd669  gcc-13.2.0.tar.xz\n"
                 "227043ec2f6ca03c0948df5517f9c927  bzip2-1.0.8-install_docs-1.patch\n",
                 {"gcc": ("13.2.0", 1)}, id="md5sums"),
])
def test_package_list_forms(name: str, text: str, expected: dict[str, tuple[str, int]]) -> None:
    entries, problems = parse_package_list(name, text)
    assert problems == []
    found: dict[str, tuple[str, int]] = {}
    for entry in entries:  # the first line that names a package gives it
        found.setdefault(entry.package, (entry.version, entry.line))
    assert found == expected


def test_a_package_list_gives_versions_nothing_closer_gives(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "lfs/chapter05/01-binutils-pass1.sh": "cd $LFS/sources",
        "lfs/chapter05/02-gcc-pass1.sh": "true",
        "lfs/chapter05/03-m4-1.4.18.sh": "true",       # the file name is closer
        "lfs/chapter05/04-glibc.sh": "VERSION=2.40",   # the script is closer
        "lfs/chapter05/05-xml-parser.sh": "true",
        "lfs/chapter05/06-zlib.sh": "true",             # in no list
        "lfs/chapter05/07.sh": "PKG=gcc",               # the package its content names
    })
    write(lfsplugger.path, {"lfs/packages.sh": PACKAGES_SH})
    assert versions(lfsplugger, "lfs") == {
        "binutils-pass1": "2.41", "gcc-pass1": "13.2.0", "m4": "1.4.18", "glibc": "2.40",
        "xml-parser": "2.47", "zlib": None, "gcc": "13.2.0",
    }
    assert origin(lfsplugger, "gcc-pass1", "version", "lfs") == \
        "version = 13.2.0    from package list packages.sh line 2"
    assert origin(lfsplugger, "xml-parser", "version", "lfs") == \
        "version = 2.47    from package list packages.sh line 7"


def test_the_nearest_package_list_wins_up_to_the_root(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "tree/chapter05/01-gcc.sh": "true",
        "tree/chapter05/02-m4.sh": "true",
        "tree/chapter06/01-gcc.sh": "# lfsplug: name=gcc-temp\n",
    })
    write(lfsplugger.path, {
        "wget-list": "https://example.invalid/zlib-1.3.1.tar.xz\n",  # above the root
        "tree/wget-list": "https://example.invalid/gcc-13.2.0.tar.xz\n"
                          "https://example.invalid/m4-1.4.19.tar.xz\n",
        "tree/chapter05/md5sums": "590765dee95907dbc3c856f7255bd669  gcc-14.1.0.tar.xz\n",
    })
    assert versions(lfsplugger, "tree") == {"gcc": "14.1.0", "m4": "1.4.19",
                                            "gcc-temp": "13.2.0"}
    assert origin(lfsplugger, "gcc", "version", "tree") == \
        "version = 14.1.0    from package list chapter05/md5sums line 1"
    assert origin(lfsplugger, "gcc-temp", "version", "tree") == \
        "version = 13.2.0    from package list wget-list line 1"


def test_in_one_directory_packages_sh_comes_first(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "true"})
    write(lfsplugger.path, {
        "wget-list": "https://example.invalid/gcc-13.1.0.tar.xz\n",
        "packages.csv": "name,version\ngcc,13.2.0\n",
        "packages.sh": "GCC_VERSION=13.2.1\n",
    })
    assert versions(lfsplugger) == {"gcc": "13.2.1"}
    (lfsplugger.path / "packages.sh").unlink()
    assert versions(lfsplugger) == {"gcc": "13.2.0"}


@pytest.mark.skipif(not BOOK.is_dir(), reason=no_data(BOOK))
@pytest.mark.parametrize("kind", ["wget-list", "md5sums"])
def test_the_book_packages_read_back_from_its_lists(tmp_path: Path, kind: str) -> None:
    book = _book_packages()
    if kind == "wget-list":
        text = "".join(f"{url}\n" for _, _, url, _ in book)
    else:
        text = "".join(f"{md5}  {url.rsplit('/', 1)[1]}\n" for _, _, url, md5 in book)
    write(tmp_path, {kind: text})
    noted: list[tuple[Any, ...]] = []

    def note(*finding: Any, **where: Any) -> None:
        noted.append(finding)

    packages = packages_near(str(tmp_path), str(tmp_path), {}, note)
    read = {name: list_version([name], packages) for name, _, _, _ in book}
    wrong = {name: (version, read[name]) for name, version, _, _ in book
             if read[name] is None or read[name][0] != version}  # type: ignore[index]
    assert noted == []
    # tzdata2025b glues a version without a dot to its name; the book names its entity
    # systemd-man for systemd-man-pages, and writes udev-lfs' version with its name
    assert set(wrong) == {"tzdata", "systemd-man", "udev-lfs"}, wrong
    assert len(book) > 80


def _book_packages() -> list[tuple[str, str, str, str]]:
    """(entity name, version, URL, md5) of each tarball in the book's packages.ent, every host
    replaced by example.invalid."""
    text = (BOOK / "packages.ent").read_text("utf-8")
    entities = dict(re.findall(r'<!ENTITY\s+([\w.+-]+)\s+"([^"]*)">', text))

    def resolve(value: str) -> str:
        for _ in range(5):
            value = re.sub(r"&([\w.+-]+);", lambda m: entities.get(m.group(1), "/"), value)
        return value

    found = []
    for key, url in entities.items():
        name = key.removesuffix("-url")
        if key.endswith("-url") and f"{name}-version" in entities and f"{name}-md5" in entities:
            path = re.sub(r"^(?:\w+://[^/]*)?/*", "", resolve(url))
            # lfs-bootscripts' md5 is a placeholder in the book's source
            if re.search(r"\.(tar\.\w+|tgz)$", path) and re.fullmatch(
                    r"[0-9a-f]{32}", entities[f"{name}-md5"]):
                found.append((name, resolve(entities[f"{name}-version"]),
                              f"https://example.invalid/{path}", entities[f"{name}-md5"]))
    return found


# ==============================================================================================
# Priorities
# ==============================================================================================


@pytest.mark.parametrize("case", [
    pytest.param(("01-gcc.sh", "# lfsplug: version=9.9\nVERSION=1.0\ntar xf gcc-2.0.tar.xz",
                 "3.0", "9.9", "# lfsplug: header line 2"), id="header-over-all"),
    pytest.param(("01-gcc-5.0.sh", "PKGVER=1.0\ntar xf gcc-2.0.tar.xz", "3.0", "1.0",
                 "variable PKGVER= line 2"), id="variable-over-file-name"),
    pytest.param(("01-gcc-5.0.sh", "tar xf gcc-2.0.tar.xz\ncd gcc-2.5", "3.0", "5.0",
                 "file name"), id="file-name-over-tarball"),
    pytest.param(("01-gcc.sh", "cd gcc-2.5\ntar xf gcc-2.0.tar.xz", "3.0", "2.0",
                 "tarball gcc-2.0.tar.xz line 3"), id="tarball-over-directory"),
    pytest.param(("01-gcc.sh", "cd gcc-2.5", "3.0", "2.5", "cd into gcc-2.5 line 2"),
                 id="directory-over-package-list"),
    pytest.param(("01-gcc.sh", "true", "3.0", "3.0", "package list packages.csv line 2"),
                 id="package-list-last"),
])
def test_version_priorities(lfsplugger: Lfsplugger,
                            case: tuple[str, str, str, str, str]) -> None:
    filename, content, listed, version, source = case
    lfsplugger.make_tree({filename: content})
    write(lfsplugger.path, {"packages.csv": f"name,version\ngcc,{listed}\n"})
    assert versions(lfsplugger) == {"gcc": version}
    assert origin(lfsplugger, "gcc", "version") == f"version = {version}    from {source}"


def test_name_priorities(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01.sh": "cd zlib-1.3.1\ntar xf xz-5.4.6.tar.xz\nPKG=bzip2-1.0.8\n",
        "02.sh": "cd zlib-1.3.1\ntar xf xz-5.4.6.tar.xz\n",
        "03.sh": "cd zlib-1.3.1\n",
    })
    assert versions(lfsplugger) == {"bzip2": "1.0.8", "xz": "5.4.6", "zlib": "1.3.1"}
    assert origin(lfsplugger, "bzip2", "name") == "name = bzip2    from variable PKG= line 4"


# ==============================================================================================
# The cache, and bad package lists
# ==============================================================================================


CONTENT_TREE = {
    "lfs/chapter05/01.sh": "tar -xJf ../gcc-13.2.0.tar.xz\ncd gcc-13.2.0\n",
    "lfs/chapter05/02-binutils-pass1.sh": "cd $LFS/sources\n",
    "lfs/chapter05/03-build.sh": 'export PKG="glibc-2.39"\n',
    "lfs/chapter06/04-m4.sh": "pushd $SRC/m4-1.4.19\n",
}


def _age(root: Path) -> None:
    past = time.time_ns() - 3600 * 1_000_000_000
    for path in root.rglob("*"):
        if path.is_file():
            os.utime(path, ns=(past, past))


def test_a_warm_run_gives_what_a_cold_run_gives(lfsplugger: Lfsplugger,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from lfsplug_discovery import layouts

    lfsplugger.make_tree(CONTENT_TREE)
    write(lfsplugger.path, {"lfs/packages.sh": "BINUTILS_VERSION=2.41\n"})
    _age(lfsplugger.path)
    reads: list[str] = []
    real = layouts.read_head

    def counting(path: str) -> Any:
        reads.append(path)
        return real(path)

    monkeypatch.setattr(layouts, "read_head", counting)

    def outputs() -> tuple[list[str], ...]:
        return tuple(lfsplugger.run("list", *args).outlines for args in (
            ("--json",), ("--why", "gcc"), ("--why", "binutils-pass1"), ("--why", "m4")))

    cold = outputs()
    assert len(reads) == 4
    cache = json.loads((lfsplugger.path / ".lfsplug/cache/discovery.json").read_text())
    assert any(entry[1] and entry[1][-1] for entry in cache["entries"].values())  # commands
    reads.clear()
    warm = outputs()
    assert reads == [] and warm == cold
    assert [(s["name"], s["version"]) for s in json.loads("\n".join(warm[0]))["scripts"]] == [
        ("gcc", "13.2.0"), ("binutils-pass1", "2.41"), ("glibc", "2.39"), ("m4", "1.4.19")]
    # package lists are read on every run: an edited list shows at once
    write(lfsplugger.path, {"lfs/packages.sh": "BINUTILS_VERSION=2.42\n"})
    assert versions(lfsplugger)["binutils-pass1"] == "2.42"
    assert reads == []


def test_an_edited_tarball_line_is_read_again(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01.sh": "tar xf gcc-13.2.0.tar.xz\n"})
    _age(lfsplugger.path)
    assert versions(lfsplugger) == {"gcc": "13.2.0"}
    lfsplugger.make_tree({"01.sh": "tar xf gcc-14.1.0.tar.xz\n"})
    assert versions(lfsplugger) == {"gcc": "14.1.0"}


def test_bad_package_lists_are_findings(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"a/01-gcc.sh": "true", "b/01-m4.sh": "true", "c/01-xz.sh": "true",
                          "d/01-zlib.sh": "true"})
    write(lfsplugger.path, {
        "a/packages.csv": "name,version\ngcc,13.2.0\n,1.0\nbad name,1\nm4,\n"
                          "gcc,14.1.0\n",
        "a/md5sums": "not a checksum line\n",
        "b/wget-list": b"\0\x01\x02binary",
        "b/packages.csv": "a,b,c\n1,2,3\n",
        "c/wget-list": "https://example.invalid/xz-5.4.6.tar.xz  and more words\n",
        "d/wget-list": "https://example.invalid/zlib-1.3.1.tar.xz\n" * 30_000,  # over 1 MB
    })
    (lfsplugger.path / "d" / "md5sums").mkdir()  # a directory is no list: quietly nothing
    check = lfsplugger.run("check", "--json")
    assert list_findings(check, lfsplugger.path) == [
        ("DISC060", "b/wget-list", None),
        ("DISC060", "d/wget-list", None),
        ("DISC061", "a/md5sums", 1),
        ("DISC061", "a/packages.csv", 3),
        ("DISC061", "a/packages.csv", 4),
        ("DISC061", "a/packages.csv", 5),
        ("DISC061", "b/packages.csv", 1),
        ("DISC061", "c/wget-list", 1),
        ("DISC062", "a/packages.csv", 6),
    ]
    assert versions(lfsplugger) == {"gcc": "13.2.0", "m4": None, "xz": None, "zlib": None}
    messages = {f["message"] for f in findings(check) if f["code"] == "DISC062"}
    assert messages == {"gcc 14.1.0 here, but 13.2.0 at line 2: 13.2.0 is used"}


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 file all the same")
def test_an_unreadable_package_list_is_a_finding(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "true"})
    write(lfsplugger.path, {"wget-list": "https://example.invalid/gcc-13.2.0.tar.xz\n"})
    (lfsplugger.path / "wget-list").chmod(0)
    try:
        check = lfsplugger.run("check", "--json")
        assert list_findings(check, lfsplugger.path) == [("DISC060", "wget-list", None)]
    finally:
        (lfsplugger.path / "wget-list").chmod(0o644)


# ==============================================================================================
# Property-based tests of the parsers
# ==============================================================================================

HYPOTHESIS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
                      deadline=None)
_word = st.from_regex(r"[a-z][a-z0-9+]{1,6}", fullmatch=True).filter(
    lambda w: not re.fullmatch(r"pass\d+", w))
_name = st.lists(_word, min_size=1, max_size=3).map("-".join)
_version = st.from_regex(r"[0-9]{1,3}(\.[0-9]{1,3}){1,3}[a-z]?", fullmatch=True)
_archive = st.sampled_from([".tar.xz", ".tar.gz", ".tar.bz2", ".tgz", ".tar.zst", ".tar"])
_where = st.sampled_from(["", "../", "/sources/", "$LFS/sources/", "${SRC}/",
                          "https://example.invalid/pub/"])


@HYPOTHESIS
@given(_where, _name, _version, st.sampled_from(["", "-20230520", "-rc1"]), _archive)
def test_tarball_names_round_trip(where: str, name: str, version: str, tail: str,
                                  archive: str) -> None:
    assert archive_package(f"{where}{name}-{version}{tail}{archive}") == (name, version + tail)
    assert directory_package(f"{where}{name}-{version}{tail}/build") == (name, version + tail)


@HYPOTHESIS
@given(st.text(max_size=60))
def test_name_readers_take_anything(text: str) -> None:
    for found in (archive_package(text), directory_package(text)):
        if found is not None:
            assert KEYS["name"](found[0]) == found[0]
            if found[1] is not None:
                assert KEYS["version"](found[1]) == found[1]
    is_generic_name(text)


_label = st.one_of(
    st.from_regex(r"[0-9]{1,3}([-._][0-9]{1,3}){0,3}", fullmatch=True),
    st.from_regex(r"(ch|chap|chapter|c|sec|section|part)[-_.]?[0-9]{1,3}([._-][0-9]{1,3}){0,2}",
                  fullmatch=True),
    st.from_regex(r"(build|install|compile|script|run|main|step|stage|package|pkg)"
                  r"([-_]?[0-9]{1,2})?", fullmatch=True),
    st.from_regex(r"[a-z]\.[0-9]{2}\.[0-9]{2}", fullmatch=True),
)


@HYPOTHESIS
@given(_label)
def test_labels_and_generic_words_name_no_package(label: str) -> None:
    assert is_generic_name(label)


@pytest.mark.parametrize("name", [
    "gcc", "binutils-pass1", "linux-api-headers", "libstdc++", "m4", "make", "c", "xz",
    "tcl", "build-gcc", "install-info", "stage1-gcc", "runc", "chapel", "package-manager",
    "creatingminlayout", "bootscripts", "Fix It; Now",
])
def test_package_names_are_not_generic(name: str) -> None:
    assert not is_generic_name(name)


_packages = st.dictionaries(_name, _version, min_size=1, max_size=6)


def _rendered(kind: str, packages: dict[str, str]) -> str:
    if kind == "packages.sh":  # a variable per package when its name can make one
        return "".join(f"{n.upper().replace('-', '_')}_VERSION={v}\n" if re.fullmatch(
            r"[a-z0-9-]+", n) else f"PKG_{i}=https://example.invalid/{n}-{v}.tar.xz\n"
            for i, (n, v) in enumerate(packages.items()))
    if kind == "packages.csv":
        return "name,version,url\n" + "".join(f"{n},{v},\n" for n, v in packages.items())
    if kind == "md5sums":
        return "".join(f"{'0' * 32}  {n}-{v}.tar.xz\n" for n, v in packages.items())
    return "".join(f"https://example.invalid/{n}-{v}.tar.xz\n" for n, v in packages.items())


@HYPOTHESIS
@given(st.sampled_from(["packages.sh", "packages.csv", "wget-list", "md5sums"]), _packages)
def test_package_lists_round_trip(kind: str, packages: dict[str, str]) -> None:
    entries, problems = parse_package_list(kind, _rendered(kind, packages))
    assert problems == []
    assert {e.package: e.version for e in entries} == packages


@HYPOTHESIS
@given(st.sampled_from(["packages.sh", "packages.csv", "wget-list", "md5sums"]),
       st.text(max_size=200))
def test_package_list_parser_takes_anything(kind: str, text: str) -> None:
    entries, problems = parse_package_list(kind, text)
    for entry in entries:
        assert KEYS["name"](entry.package) == entry.package
        assert KEYS["version"](entry.version) == entry.version
    assert all(problem.line >= 1 for problem in problems)


_tar = st.sampled_from(["tar xf {}", "tar -xJf {}", "tar xvf {} -C /tmp", "tar --extract -f {}",
                        "xzcat {} | tar xf -", "tar -x --file={}"])


@HYPOTHESIS
@given(_tar, _where, _name, _version, st.sampled_from(["cd {}", "pushd {}", "cd {}/build"]))
def test_commands_round_trip(tar: str, where: str, name: str, version: str, cd: str) -> None:
    archive = f"{where}{name}-{version}.tar.xz"
    text = f"#!/bin/bash\nset -e\n{tar.format(archive)}\n{cd.format(f'{name}-{version}')}\n"
    found = unpack_commands(text)
    assert found["tar"] == (archive, 3)
    word = cd.split(maxsplit=1)[0]
    assert directory_package(found[word][0]) == (name, version) and found[word][1] == 4


@HYPOTHESIS
@given(st.text(max_size=200))
def test_command_reader_takes_anything(text: str) -> None:
    for value, line in unpack_commands("tar xf a-1.0.tar.gz\n" + text).values():
        assert line >= 1 and value


def test_characters_that_crash_the_parser_are_replaced() -> None:
    # tree-sitter-bash 0.25 crashes, now and then, on "{" before a character of the upper
    # planes (found by the test above): a crash would take lfsplug down with it
    text = "tar xf a-1.0.tar.gz\n\u00c3{\U0010003c}\ncd \U000e0000-1.0\n{\U00080000"
    for _ in range(50):
        assert unpack_commands(text) == {"tar": ("a-1.0.tar.gz", 1)}


_assignment = st.sampled_from(["{}={}", "export {}={}", '{}="{}"', "readonly {}='{}'",
                               "  {}={}  # set by hand", "X=1; {}={}"])


@HYPOTHESIS
@given(_assignment, st.sampled_from(["PKG", "PKGNAME", "PKGVER", "VERSION", "PACKAGE"]),
       _name, st.integers(0, 5))
def test_variables_round_trip(form: str, variable: str, value: str, before: int) -> None:
    text = "\n".join(["#!/bin/bash", *["make"] * before, form.format(variable, value)])
    assert shell_variables(text)[variable] == (value, before + 2)
