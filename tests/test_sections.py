"""Multi-package files (the discovery plugin): banners, ``script.packages``, split sections."""

from __future__ import annotations

import html
import os
import re
import time
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from helpers import BOOK, book_pages, findings, listed, no_data, plan_names, why_lines
from lfsplug import Script
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_discovery import sections
from lfsplug_discovery.sections import Banner, find_banners, read_banner, split_text


@pytest.fixture(autouse=True)
def _no_host_checks(request: pytest.FixtureRequest) -> None:
    """A chapter05/ tree is the cross phase, for which hostreqs checks the host (not an LFS
    host here): these tests are about discovery."""
    if "lfsplugger" in request.fixturenames:
        request.getfixturevalue("lfsplugger").setenv("LFSPLUG_PLUGINS", "no:hostreqs")


SPLIT = "[discovery]\nsplit_sections = true\n"
HYPOTHESIS = settings(suppress_health_check=[HealthCheck.function_scoped_fixture],
                      deadline=None, max_examples=150)

#: A chapter file as LFS builders write them: a preamble, then a banner and a block for each
#: package. Each block records that it ran, with a variable of the preamble and one that an
#: earlier block set (which a split section does not see).
CHAPTER = """\
#!/bin/bash
set -e
OUT="$LFS/built"
GREETING=hello
cd "$LFS"

# 5.2. Binutils-2.41 - Pass 1
echo "binutils-pass1 $GREETING" >> "$OUT"
touch binutils.done
LEAK=set-by-binutils

# 5.3. GCC-13.2.0 - Pass 1
echo "gcc-pass1 $GREETING ${LEAK:-unset}" >> "$OUT"
touch gcc.done

# 5.5. Glibc-2.38
echo "glibc $GREETING" >> "$OUT"
touch glibc.done
"""
CHAPTER_PATH = "chapter05/05-toolchain.sh"
SECTIONS = Path(".lfsplug") / "sections" / CHAPTER_PATH


def collected(result: RunResult) -> list[Script]:
    """The scripts of an in-process run as discovery left them (recorded hook arguments)."""
    call = result.getcalls("lfsplug_collection_finish")[0]
    scripts: list[Script] = call.session.scripts
    return scripts


# ==============================================================================================
# The recogniser: one line
# ==============================================================================================


@pytest.mark.parametrize(("line", "name", "version", "number"), [
    ("# 5.2. Binutils-2.41 - Pass 1", "binutils-pass1", "2.41", "5.2"),
    ("# 5.3. GCC-13.2.0 - Pass 1", "gcc-pass1", "13.2.0", "5.3"),
    ("#### 6.3 Ncurses-6.4 ####", "ncurses", "6.4", "6.3"),
    ("# ===== gcc-13.2.0 (pass 2) =====", "gcc-pass2", "13.2.0", None),
    ("## Chapter 8.5: Glibc-2.39", "glibc", "2.39", "8.5"),
    ("# --- m4-1.4.19 ---", "m4", "1.4.19", None),
    ("#----- Bash-5.2.21 -----", "bash", "5.2.21", None),
    ("# m4-1.4.19", "m4", "1.4.19", None),
    ("    # 6.3. Ncurses-6.4-20230520", "ncurses", "6.4-20230520", "6.3"),
    ("# 5.4. Linux-6.4.12 API Headers", "linux-api-headers", "6.4.12", "5.4"),
    ("# 5.6. Libstdc++ from GCC-13.2.0", "libstdc++", "13.2.0", "5.6"),
    ("# 8.44. XML::Parser-2.46", "xml-parser", "2.46", "8.44"),
    ("# 8.42. Less-643", "less", "643", "8.42"),
    ("# 8.4. Iana-Etc-20250407", "iana-etc", "20250407", "8.4"),
    ("# === Building binutils-2.41 ===", "binutils", "2.41", None),
    ("# gcc-13.2.0-pass1", "gcc-pass1", "13.2.0", None),
    ("# Section 6.17: Binutils-2.41, Pass 2", "binutils-pass2", "2.41", "6.17"),
    ("# 5.2 - Binutils-2.41 - Pass 1\r", "binutils-pass1", "2.41", "5.2"),
])
def test_banner_spellings(line: str, name: str, version: str, number: str | None) -> None:
    assert read_banner(line, 7) == Banner(7, name, version, number)


@pytest.mark.parametrize("line", [
    "# Fix a bug",
    "# Build with -O2",
    "# Required: libxml2",
    "# Required: libxml2-2.12.5",
    "# Dependencies Required: libxml2-2.12.5",
    "#!/bin/bash",
    "echo '# 5.2. Binutils-2.41'",
    "make  # 5.2. Binutils-2.41",
    "# gcc-13.2.0.tar.xz",
    "# patch -Np1 -i ../bash-5.2.21-upstream_fixes-1.patch",
    "# cd gcc-13.2.0",
    "# === step-2 ===",
    "# Copied from gcc-13.2.0",
    "# gcc-13.2.0 fails its test suite here",
    "# gcc-13.2.0 is built",
    "# TODO: bump to gcc-14.1.0",
    "# lfsplug: name=binutils-pass1 version=2.44",
    "# Version 2.41",
    "PACKAGE=binutils-2.41",
    "# 8.1. Introduction",
    "# 8.85. Stripping",
    "# See https://www.linuxfromscratch.org/lfs/view/12.1/chapter08/gcc-13.2.0.html",
    "# 2024-01-05",
    "#",
    "",
])
def test_ordinary_lines_are_not_banners(line: str) -> None:
    assert read_banner(line) is None


# -- properties ---------------------------------------------------------------------------------

#: (``ch5``, ``sect12``: a banner reads ``# ch5-gcc-13.2`` as section 5's gcc, as it must for
#: collections that number their banners that way, so no generated name starts a banner so.)
_name_part = st.from_regex(r"[a-z][a-z0-9]{1,7}", fullmatch=True).filter(
    lambda w: not re.fullmatch(r"pass\d*|from|v\d+|(?:chapter|chap|ch|section|sect|sec)\d+", w))
_package = st.builds(lambda a, b: a if b is None else f"{a}-{b}", _name_part,
                     st.none() | st.from_regex(r"[a-z]{2,6}", fullmatch=True).filter(
                         lambda w: w not in ("pass", "from")))
_version = st.from_regex(r"[0-9]{1,2}\.[0-9]{1,3}(\.[0-9]{1,3})?", fullmatch=True)
_section = st.from_regex(r"[1-9][0-9]?\.[1-9][0-9]?", fullmatch=True)
#: Banner spellings: (template, whether it carries the section number, how it writes a pass).
_STYLES = [
    ("# {number}. {Name}-{version}{pass_}", True, " - Pass {n}"),
    ("#### {number} {Name}-{version}{pass_} ####", True, " - Pass {n}"),
    ("## Chapter {number}: {Name}-{version}{pass_}", True, " (pass {n})"),
    ("# ===== {name}-{version}{pass_} =====", False, " (pass {n})"),
    ("# --- {name}-{version}{pass_} ---", False, " pass {n}"),
    ("#----- {Name}-{version}{pass_} -----", False, " - Pass {n}"),
    ("# {name}-{version}{pass_}", False, "-pass{n}"),
]


@st.composite
def banners(draw: st.DrawFn) -> tuple[str, str, str, str | None]:
    """A banner line in one of the spellings, with the name, version and section number it
    names."""
    name, version, number = draw(_package), draw(_version), draw(_section)
    template, numbered, pass_form = draw(st.sampled_from(_STYLES))
    n = draw(st.none() | st.integers(1, 3))
    pass_ = "" if n is None else pass_form.format(n=n)
    line = template.format(number=number, Name=name.capitalize(), name=name, version=version,
                           pass_=pass_)
    expected = name if n is None else f"{name}-pass{n}"
    return line, expected, version, number if numbered else None


@HYPOTHESIS
@given(banners())
def test_every_spelling_of_a_banner_is_read(banner: tuple[str, str, str, str | None]) -> None:
    line, name, version, number = banner
    assert read_banner(line) == Banner(1, name, version, number)


_PROSE = ["fix", "a", "bug", "build", "with", "-O2", "the", "Required:", "libxml2", "make",
          "install", "see", "chapter", "section", "note", "pass", "from", "gcc", "binutils",
          "run", "tests", "configure", "--prefix=/usr", "and", "or", "(runtime)", "-", ":"]


@HYPOTHESIS
@given(st.lists(st.sampled_from(_PROSE), min_size=1, max_size=8),
       st.none() | st.tuples(_package, _version), st.sampled_from(["# ", "#", "  # ", "\t#  "]))
def test_prose_comments_are_never_banners(words: list[str], package: tuple[str, str] | None,
                                          marker: str) -> None:
    """Ordinary comments, even those that name a package with its version after other words
    (``# fix gcc-13.2.0``), name no banner. (A section number or decoration before it makes a
    banner: ``# 2.41 gcc-13.2.0``, ``## Install gcc-13.2.0``, so those are not generated.)"""
    text = " ".join(words)
    if package is not None:
        text += f" {package[0]}-{package[1]}"
    assert read_banner(marker + text) is None


@HYPOTHESIS
@given(st.text(alphabet=st.characters(blacklist_characters="\n"), max_size=80))
def test_lines_that_are_not_comments_are_never_banners(line: str) -> None:
    assume(not line.lstrip().startswith("#"))
    assert read_banner(line) is None


_COMMANDS = ["make", "make check", "./configure --prefix=/usr", "cd ..", "rm -rf build",
             "mkdir -v build", 'echo "done"', "sed -i 's/x/y/' Makefile", "make install"]
_LINES = [*_COMMANDS, "", "# Fix a bug", "# Build with -O2", "# Required: libxml2",
          "# the test suite is known to fail"]


@st.composite
def chapter_files(draw: st.DrawFn) -> tuple[bytes, list[tuple[int, str]]]:
    """A multi-package file (preamble, then blocks under banners of any spelling), with the
    line and name of each banner."""
    lines = ["#!/bin/bash", "set -e", 'OUT="$LFS/built"', "cd $LFS/sources",
             *draw(st.lists(st.sampled_from(_LINES), max_size=4))]
    expected = []
    for line, name, _, _ in draw(st.lists(banners(), min_size=2, max_size=6)):
        lines += ["", line]
        expected.append((len(lines), name))
        # a command right after it: a bare banner stands apart from other comments
        lines += [draw(st.sampled_from(_COMMANDS)), *draw(st.lists(st.sampled_from(_LINES),
                                                                      max_size=5))]
    newline = draw(st.sampled_from(["\n", "\r\n"]))  # bash chokes on \r; the reading must not
    end = newline if draw(st.booleans()) else ""
    return (newline.join(lines) + end).encode(), expected


@HYPOTHESIS
@given(chapter_files())
def test_a_files_banners_are_found_and_it_splits_back_into_itself(
    chapter: tuple[bytes, list[tuple[int, str]]]
) -> None:
    data, expected = chapter
    found = find_banners(data)
    assert [(b.line, b.name) for b in found] == expected
    preamble, blocks = split_text(data, found)
    assert preamble + b"".join(block for _, block in blocks) == data
    for banner, (_, block) in zip(found, blocks, strict=True):
        assert read_banner(block.split(b"\n", 1)[0].decode()) is not None
        assert banner.line > 1


# -- files --------------------------------------------------------------------------------------


def test_a_list_of_packages_in_a_comment_is_not_banners() -> None:
    data = (b"#!/bin/bash\n# Required:\n#   libxml2-2.12.5\n#   libxslt-1.1.39\n"
            b"# Recommended:\n# docbook-xml-4.5\n\n# itstool-2.0.7\n# (runtime)\nmake\n")
    assert find_banners(data) == []


def test_bare_banners_count_where_they_stand_alone() -> None:
    data = b"#!/bin/bash\nset -e\n\n# m4-1.4.19\nmake\n\n# bison-3.8.2\nmake\n"
    assert [(b.line, b.name) for b in find_banners(data)] == [(4, "m4"), (7, "bison")]


def test_one_banner_lists_its_package_only_when_numbered_like_a_book_section() -> None:
    [banner] = find_banners(b"#!/bin/bash\n# 8.29. GCC-14.2.0\nmake\n")
    assert (banner.name, banner.version, banner.number) == ("gcc", "14.2.0", "8.29")
    assert find_banners(b"#!/bin/bash\n# ===== gcc-14.2.0 =====\nmake\n") == []
    assert find_banners(b"#!/bin/bash\n# 3. m4-1.4.19\nmake\n") == []


def test_banners_inside_functions_loops_and_here_documents_do_not_count() -> None:
    data = b"""#!/bin/bash
# 5.2. Binutils-2.41 - Pass 1
build() {
# 5.3. GCC-13.2.0 - Pass 1
  make
}
cat > notes << "EOF"
# 5.4. M4-1.4.19
EOF
for x in a b; do
  # 5.5. Ncurses-6.4
  echo $x
done
# 5.6. Bash-5.2.21
make
"""
    assert [b.line for b in find_banners(data)] == [2, 14]


def test_a_banner_the_parser_cannot_place_still_counts() -> None:
    """tree-sitter-bash misreads ``PAGE=<paper_size> ./configure`` (valid bash, from the book's
    groff page); the banner after it is still one."""
    data = (b"#!/bin/bash\n# 8.63. Groff-1.23.0\nPAGE=<paper_size> ./configure --prefix=/usr\n"
            b"make\n# 8.64. GRUB-2.12\nmake\n")
    assert [b.name for b in find_banners(data)] == ["groff", "grub"]


# ==============================================================================================
# The real LFS book
# ==============================================================================================

#: How banners name the book's pages whose product name differs from the title's package.
ALIASES = {"gcc-libstdc++": "libstdc++", "linux-headers": "linux-api-headers",
           "dbus": "d-bus", "bootscripts": "lfs-bootscripts", "kernel": "linux"}
needs_book = pytest.mark.skipif(not BOOK.is_dir(), reason=no_data(BOOK))


@cache
def _entities() -> dict[str, str]:
    found: dict[str, str] = {}
    for name in ("general.ent", "packages.ent"):
        text = re.sub(r"<!--.*?-->", "", (BOOK / name).read_text("utf-8"), flags=re.DOTALL)
        found.update(re.findall(r'<!ENTITY\s+([\w.+-]+)\s+"([^"]*)"', text))
    return found


def _resolve(text: str) -> str:
    for _ in range(6):  # entities defined by entities (linux-version)
        text = re.sub(r"&([\w.+-]+);", lambda m: _entities().get(m[1], m[0]), text)
    return html.unescape(text)


def _page(chapter: int, page: str) -> tuple[str, str | None, str]:
    """A book page's title, its product name when it builds a package whose version the title
    names, and its commands."""
    text = (BOOK / f"chapter{chapter:02d}" / f"{page}.xml").read_text("utf-8")
    title = re.search(r"<title>([^<]*)</title>", text)
    assert title is not None
    product = re.search(r"<productname>([^<]*)</productname>", text)
    builds = product is not None and re.search(r"-&[\w-]+-version;", title[1]) is not None
    commands = [_resolve(re.sub(r"<[^>]+>", "", m[1]))
                for m in re.finditer(r"<userinput[^>]*>(.*?)</userinput>", text, re.DOTALL)]
    name = ALIASES.get(product[1].lower(), product[1].lower()) if builds and product else None
    return _resolve(title[1]), name, "\n".join(commands)


def _chapter_file(chapter: int) -> tuple[str, list[str]]:
    """The chapter as one file, ``# 5.2. Binutils-2.44 - Pass 1`` before each page's commands,
    and the packages it builds in order."""
    lines = ["#!/bin/bash", "set -e", "cd $LFS/sources", ""]
    packages = []
    for number, page in enumerate(book_pages(chapter), 1):
        title, name, commands = _page(chapter, page)
        lines += [f"# {chapter}.{number}. {title}", commands, ""]
        if name is not None:
            packages.append(name)
    return "\n".join(lines), packages


@needs_book
def test_the_books_chapters_as_files_list_their_packages(lfsplugger: Lfsplugger) -> None:
    expected = {}
    for chapter in range(5, 11):
        text, packages = _chapter_file(chapter)
        lfsplugger.make_tree({f"{chapter:02d}-chapter{chapter:02d}.sh": text})
        # chapters 9 and 10 build one package each (bootscripts, the kernel): not multi-package
        # one package: listed too, its banner being numbered like a book section
        expected[f"chapter{chapter:02d}"] = packages
    shown = {s["name"]: s["packages"] for s in listed(lfsplugger.run("list", "--json"))}
    assert shown == expected
    assert shown["chapter05"] == ["binutils-pass1", "gcc-pass1", "linux-api-headers", "glibc",
                                  "libstdc++"]
    assert len(shown["chapter08"]) == 82 and "grub" in shown["chapter08"]


@needs_book
def test_the_books_pages_as_scripts_are_not_multi_package(lfsplugger: Lfsplugger) -> None:
    """One script per page, as jhalfs writes them: none has two banners."""
    for chapter in range(2, 11):
        for number, page in enumerate(book_pages(chapter), 1):
            path = BOOK / f"chapter{chapter:02d}" / f"{page}.xml"
            if path.is_file():
                script = "#!/bin/bash\nset -e\n" + _page(chapter, page)[2] + "\n"
                assert find_banners(script.encode()) == [], f"{chapter}.{number} {page}"
    lfsplugger.make_tree({f"chapter08/{800 + n}-{page}": _page(8, page)[2]
                          for n, page in enumerate(book_pages(8), 1)})
    assert {tuple(s["packages"]) for s in listed(lfsplugger.run("list", "--json"))} == {()}


@needs_book
def test_the_books_chapters_split_into_one_script_per_package(lfsplugger: Lfsplugger) -> None:
    files, built = {}, {}
    for chapter in (5, 6, 7, 8):
        files[f"{chapter:02d}-chapter{chapter:02d}.sh"], built[chapter] = _chapter_file(chapter)
    lfsplugger.make_tree(files)
    lfsplugger.make_config(SPLIT)
    # a package built in two chapters is named after each file's number, as discovery names
    # every package built twice (NAME@WHERE)
    times = Counter(name for names in built.values() for name in names)
    expected = [name if times[name] == 1 else f"{name}@{chapter:02d}"
                for chapter in (5, 6, 7, 8) for name in built[chapter]]
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [s["name"] for s in scripts] == expected
    assert expected[:5] == ["binutils-pass1", "gcc-pass1", "linux-api-headers", "glibc@05",
                            "libstdc++"]
    assert "glibc@08" in expected and "m4@06" in expected and "m4@08" in expected
    assert [s["phase"] for s in scripts][:6] == ["cross"] * 5 + ["temp"]
    assert all(s["packages"] == [] for s in scripts)
    glibc = (lfsplugger.path / ".lfsplug/sections/05-chapter05.sh/glibc.sh").read_text()
    assert glibc.startswith("#!/bin/bash\nset -e\ncd $LFS/sources\n")
    assert "# 5.5. Glibc-2.41\n" in glibc and "../configure" in glibc
    assert "# 5.4." not in glibc and "# 5.6." not in glibc


# ==============================================================================================
# Through the command line
# ==============================================================================================


def test_list_shows_what_a_multi_package_file_builds(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER, "chapter05/06-single.sh": "# Fix a bug\nmake"})
    result = lfsplugger.run("list")
    assert result.ret == 0
    result.stdout.re_match_lines([
        r"1  toolchain\s+-\s+cross\s+chapter05/05-toolchain.sh$",
        r"   builds: binutils-pass1, gcc-pass1, glibc$",
        r"2  single\s+-\s+cross\s+chapter05/06-single.sh$",
    ])
    assert len(result.outlines) == 3
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["packages"]) for s in scripts] == [
        ("toolchain", ["binutils-pass1", "gcc-pass1", "glibc"]), ("single", [])]
    assert not (lfsplugger.path / ".lfsplug" / "sections").exists()  # not split by default


ORDINARY = {
    "blfs/01-libxslt.sh": ("# Optional: libxml2-2.12.5\n# Optional (for tests): "
                           "docbook-xml-4.5, docbook-xsl-nons-1.79.2\n./configure\nmake"),
    "blfs/02-gtk.sh": ("# Optional:\n#   at-spi2-core-2.50.0\n#   gdk-pixbuf-2.42.10\n"
                       "#   libepoxy-1.5.10\nmake"),
    "blfs/03-fix.sh": ("# Fix a bug\nsed -i 's/x/y/' x.c\n# Build with -O2\nmake\n"
                       "# gcc-13.2.0 needs this\nmake install"),
    "blfs/04-tarballs.sh": ("# sources:\n# gcc-13.2.0.tar.xz\n# mpfr-4.2.1.tar.xz\n"
                            "tar xf gcc-13.2.0.tar.xz"),
    "blfs/05-one.sh": "# ===== Bash-5.2.21 =====\n./configure\nmake",
}


def test_ordinary_scripts_build_no_listed_packages(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(ORDINARY)
    lfsplugger.make_config(SPLIT)
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["packages"]) for s in scripts] == [
        ("libxslt", []), ("gtk", []), ("fix", []), ("tarballs", []), ("one", [])]
    assert not (lfsplugger.path / ".lfsplug" / "sections").exists()


def test_banners_are_read_only_in_files_whose_head_may_hold_one(lfsplugger: Lfsplugger) -> None:
    """A file whose first 50 lines hold neither a banner nor a heading is not read whole."""
    late = "\n".join(["make"] * 60 + ["# 5.2. M4-1.4.19", "make", "# 5.3. Bison-3.8.2", "make"])
    headed = "# 5.1. Introduction\n" + late
    lfsplugger.make_tree({"01-late.sh": late, "02-headed.sh": headed})
    scripts = listed(lfsplugger.run("list", "--json"))
    assert [(s["name"], s["packages"]) for s in scripts] == [("late", []),
                                                             ("headed", ["m4", "bison"])]


def test_split_sections_make_one_script_per_package(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"chapter05/01-first.sh": "true", CHAPTER_PATH: CHAPTER,
                          "chapter05/09-last.sh": "true"})
    lfsplugger.make_config(SPLIT)
    result = lfsplugger.run("list")
    assert result.ret == 0, result.errlines
    result.stdout.re_match_lines([
        r"1  first\s+-\s+cross\s+chapter05/01-first.sh$",
        r"2  binutils-pass1\s+2.41\s+cross\s+\.lfsplug/sections/chapter05/05-toolchain.sh/"
        r"binutils-pass1.sh$",
        r"3  gcc-pass1\s+13.2.0\s+cross\s+\.lfsplug/sections/.*/gcc-pass1.sh$",
        r"4  glibc\s+2.38\s+cross\s+\.lfsplug/sections/.*/glibc.sh$",
        r"5  last\s+-\s+cross\s+chapter05/09-last.sh$",
    ])
    source = lfsplugger.path / CHAPTER_PATH
    by_name = {s.name: s for s in collected(result)}
    gcc = by_name["gcc-pass1"]
    assert gcc.origins["name"] == gcc.origins["version"]
    assert str(gcc.origins["name"]) == f"banner line 12 of {CHAPTER_PATH}"
    assert gcc.line_of("name") is None  # a line of the chapter's file, not of the section
    assert gcc.meta["section_of"] == f"{source}:12-15"
    assert by_name["glibc"].meta["section_of"] == f"{source}:16-18"
    assert gcc.provides == ["gcc"] and by_name["glibc"].provides == ["toolchain"]
    assert gcc.workdir is None  # it runs where the executor runs a script: its directory
    assert (lfsplugger.path / SECTIONS / "gcc-pass1.sh").read_text() == (
        '#!/bin/bash\nset -e\nOUT="$LFS/built"\nGREETING=hello\ncd "$LFS"\n\n'
        f"# split by lfsplug from {CHAPTER_PATH}: edit that file, not this one\n"
        '# 5.3. GCC-13.2.0 - Pass 1\necho "gcc-pass1 $GREETING ${LEAK:-unset}" >> "$OUT"\n'
        "touch gcc.done\n\n")
    assert "  name = gcc-pass1    from banner line 12 of chapter05/05-toolchain.sh" in [
        f"  {line}" for line in why_lines(lfsplugger, "gcc-pass1")]


def test_sections_keep_the_files_place_and_order_in_graph_order(
    lfsplugger: Lfsplugger
) -> None:
    lfsplugger.make_tree({
        "chapter05/01-setup.sh": "# lfsplug: name=setup\ntrue",
        CHAPTER_PATH: "# lfsplug: depends=setup\n" + CHAPTER.split("\n", 1)[1],
        "chapter05/09-after.sh": "# lfsplug: depends=toolchain\ntrue",
    })
    lfsplugger.make_config(SPLIT)
    assert plan_names(lfsplugger, "--order", "graph") == [
        "setup", "binutils-pass1", "gcc-pass1", "glibc", "after"]
    why = why_lines(lfsplugger, "binutils-pass1", "--order", "graph")
    assert any(line.startswith("after setup:") for line in why)
    why = why_lines(lfsplugger, "glibc", "--order", "graph")
    assert "after = gcc-pass1    from the order of the sections of " + CHAPTER_PATH in why


def test_split_section_files_are_rewritten_only_when_they_change(
    lfsplugger: Lfsplugger
) -> None:
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER})
    lfsplugger.make_config(SPLIT)
    assert lfsplugger.run("list").ret == 0
    files = {p.name: p.stat().st_mtime_ns for p in (lfsplugger.path / SECTIONS).iterdir()}
    assert sorted(files) == ["binutils-pass1.sh", "gcc-pass1.sh", "glibc.sh"]
    time.sleep(0.01)
    assert lfsplugger.run("list").ret == 0
    assert {p.name: p.stat().st_mtime_ns for p in (lfsplugger.path / SECTIONS).iterdir()} == files
    # one block edited: that section's file alone is written again
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER.replace("touch gcc.done", "touch gcc.ok")})
    assert lfsplugger.run("list").ret == 0
    now = {p.name: p.stat().st_mtime_ns for p in (lfsplugger.path / SECTIONS).iterdir()}
    assert [name for name in files if now[name] != files[name]] == ["gcc-pass1.sh"]
    # a package dropped from the file: its section file goes
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER.split("# 5.5.", maxsplit=1)[0]})
    assert plan_names(lfsplugger) == ["binutils-pass1", "gcc-pass1"]
    assert sorted(p.name for p in (lfsplugger.path / SECTIONS).iterdir()) == [
        "binutils-pass1.sh", "gcc-pass1.sh"]


def test_old_sections_are_removed(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER, "chapter06/06-temp.sh": CHAPTER})
    lfsplugger.make_config(SPLIT)
    assert plan_names(lfsplugger) == [  # packages built twice: named after their directories
        "binutils-pass1@chapter05", "gcc-pass1@chapter05", "glibc@chapter05",
        "binutils-pass1@chapter06", "gcc-pass1@chapter06", "glibc@chapter06"]
    top = lfsplugger.path / ".lfsplug" / "sections"
    assert (top / "chapter06/06-temp.sh").is_dir() and (top / CHAPTER_PATH).is_dir()
    (lfsplugger.path / "chapter06/06-temp.sh").unlink()  # gone: its sections go
    assert lfsplugger.run("list").ret == 0
    assert not (top / "chapter06").exists()  # nor the directory it leaves empty
    lfsplugger.make_config("")  # split_sections off: the file runs whole, its sections go
    assert plan_names(lfsplugger) == ["toolchain"]
    assert not (top / CHAPTER_PATH).exists()


def test_one_package_twice_in_one_file_is_named_by_its_place(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER + "\n# 8.5. Glibc-2.38\ntrue\n"})
    lfsplugger.make_config(SPLIT)
    assert plan_names(lfsplugger) == ["binutils-pass1", "gcc-pass1", "glibc@1", "glibc@2"]
    assert sorted(p.name for p in (lfsplugger.path / SECTIONS).iterdir()) == [
        "binutils-pass1.sh", "gcc-pass1.sh", "glibc.2.sh", "glibc.sh"]
    why = why_lines(lfsplugger, "glibc@2")
    assert (f"name = glibc@2    from banner line 20 of {CHAPTER_PATH} and place in build order "
            f"(glibc is built 2 times: banner line 16 of {CHAPTER_PATH}, banner line 20 of "
            f"{CHAPTER_PATH})") in why
    assert "phase = system    from banner line 20 of chapter05/05-toolchain.sh (book chapter 8)" \
        in why


def test_a_file_with_unpack_is_not_split(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({CHAPTER_PATH: "# lfsplug: unpack=binutils-2.41.tar.xz\n" + CHAPTER})
    lfsplugger.make_config(SPLIT)
    assert plan_names(lfsplugger) == ["toolchain"]
    codes = [(f["code"], f["severity"]) for f in findings(
        lfsplugger.run("check", "--json", "--shellcheck=off", "--privileges", "off"))]
    assert ("DISC051", "info") in codes


def test_sections_that_cannot_be_written_leave_the_file_whole(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER, "not-a-dir.txt": "x"})
    lfsplugger.make_config(SPLIT)
    state = "not-a-dir.txt/state"  # below a file: not even root can make it
    assert plan_names(lfsplugger, "--state-dir", state) == ["toolchain"]
    result = lfsplugger.run("check", "--json", "--shellcheck=off", "--privileges", "off",
                            "--state-dir", state)
    found = [f for f in findings(result) if f["code"] == "DISC050"]
    assert len(found) == 1 and found[0]["severity"] == "warning"
    assert "it runs as one script" in found[0]["message"]


def test_a_warm_run_reads_no_file_for_banners(lfsplugger: Lfsplugger,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER, **ORDINARY})
    past = time.time_ns() - 3600 * 10**9
    for path in lfsplugger.path.rglob("*.sh"):
        os.utime(path, ns=(past, past))
    cold = lfsplugger.run("list", "--json")
    assert (lfsplugger.path / ".lfsplug" / "cache" / "sections.json").is_file()

    def refuse(path: str) -> list[Banner]:
        raise AssertionError(f"read {path} again")

    real = sections._read_banners
    monkeypatch.setattr(sections, "_read_banners", refuse)
    assert lfsplugger.run("list", "--json").outlines == cold.outlines
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER + "# 5.9. Xz-5.4.6\ntrue\n"})  # changed: read
    monkeypatch.setattr(sections, "_read_banners", real)
    assert listed(lfsplugger.run("list", "--json"))[0]["packages"][-1] == "xz"


@pytest.mark.parametrize(("value", "shown"), [('"yes"', "'yes'"), ("1", "1")])
def test_split_sections_must_be_a_boolean(lfsplugger: Lfsplugger, value: str,
                                          shown: str) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    lfsplugger.make_config(f"[discovery]\nsplit_sections = {value}\n")
    result = lfsplugger.run("list")
    assert result.ret == 4
    assert (f"lfsplug.toml:2: [discovery] split_sections: expected true or false, got {shown}"
            in "\n".join(result.errlines))


# ==============================================================================================
# A real build of a split chapter file
# ==============================================================================================


def _reused(result: RunResult) -> dict[str, bool]:
    return {name: r.cached for name, r in result.results.items()}


@pytest.mark.e2e
def test_a_split_chapter_runs_each_section_in_order_and_resumes_per_section(
    lfsplugger: Lfsplugger, tmp_path_factory: pytest.TempPathFactory
) -> None:
    lfs = tmp_path_factory.mktemp("lfs")
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER})
    lfsplugger.make_config(SPLIT)
    run = ("run", "--privileges", "off", "--lfs", str(lfs), "--shellcheck", "off")
    first = lfsplugger.run(*run)
    assert first.ret == 0, first.outlines + first.errlines
    assert first.statuses() == dict.fromkeys(["binutils-pass1", "gcc-pass1", "glibc"], "passed")
    # in order, each with the preamble's variables; what a block set stays in its section
    assert (lfs / "built").read_text().splitlines() == [
        "binutils-pass1 hello", "gcc-pass1 hello unset", "glibc hello"]
    assert {p.name for p in lfs.glob("*.done")} == {"binutils.done", "gcc.done", "glibc.done"}
    logs = lfsplugger.path / ".lfsplug" / "logs"
    assert {p.name for p in logs.glob("*.log")} == {"binutils-pass1.log", "gcc-pass1.log",
                                                    "glibc.log"}
    again = lfsplugger.run(*run)
    assert again.ret == 0 and _reused(again) == dict.fromkeys(again.results, True)
    assert len((lfs / "built").read_text().splitlines()) == 3
    # the last block edited: that package alone builds again
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER.replace("touch glibc.done",
                                                        "touch glibc.done glibc.again")})
    third = lfsplugger.run(*run)
    assert _reused(third) == {"binutils-pass1": True, "gcc-pass1": True, "glibc": False}
    assert (lfs / "glibc.again").exists()
    # a middle block edited: it builds again, and what comes after it (it may use it)
    lfsplugger.make_tree({CHAPTER_PATH: CHAPTER.replace("touch gcc.done", "touch gcc.again")})
    fourth = lfsplugger.run(*run)
    assert _reused(fourth) == {"binutils-pass1": True, "gcc-pass1": False, "glibc": False}
    assert (lfs / "built").read_text().splitlines()[3:] == [
        "glibc hello", "gcc-pass1 hello unset", "glibc hello"]


@pytest.mark.e2e
def test_a_section_runs_in_the_files_workdir(lfsplugger: Lfsplugger,
                                             tmp_path_factory: pytest.TempPathFactory) -> None:
    lfs = tmp_path_factory.mktemp("lfs")
    lfsplugger.make_tree({
        CHAPTER_PATH: ("# lfsplug: workdir=build\n\n# 5.2. M4-1.4.19\npwd > \"$LFS/m4\"\n\n"
                       "# 5.3. Bison-3.8.2\npwd > \"$LFS/bison\"\n"),
        "chapter05/build/.keep": "",
    })
    lfsplugger.make_config(SPLIT)
    result = lfsplugger.run("run", "--privileges", "off", "--lfs", str(lfs), "--shellcheck",
                            "off")
    assert result.ret == 0, result.outlines + result.errlines
    where = str(lfsplugger.path / "chapter05" / "build")
    assert (lfs / "m4").read_text().strip() == (lfs / "bison").read_text().strip() == where
