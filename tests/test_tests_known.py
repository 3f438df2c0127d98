"""The known test failures: the shipped list agrees with the LFS book's chapter 8 pages (every
sentence stating a known failure is in it, every entry is still in its page, the names come
from the sentence, the packages are pages' packages), and the loader's matching and the user's
``[tests.known_failures]`` table."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from helpers import BOOK, book_pages, no_data
from lfsplug_tests.known import (
    BOOK_DATA,
    KnownFailure,
    book_known_failures,
    book_version,
    from_config,
)

# The detection rule: a sentence states a known test failure when a failure predicate has
# particular tests as its subject. General remarks ("Generally a few tests do not pass", "A few
# unexpected failures cannot always be avoided", "There should be no test failures") and
# failures of other things ("if the build fails", "the test suites ... will fail" when PTYs are
# missing) are not statements of which tests fail.
STATEMENT = re.compile("|".join((
    # "X is known to fail", "Two tests are known to fail", "... are expected to fail"
    r"\b(?:is|are)\s+(?:known|expected)\s+to\s+(?:fail|time\s+out)\b",
    # "one pgrep test may fail", "The hardlink tests will fail", "the test named X may time out"
    r"\btests?\b(?!\s+suites?\b)[^.;]*?\b(?:will|may|might|would|can|could)\s+"
    r"(?:fail|time\s+out)\b",
    # "2 tests fail in the chroot environment", "one test does not pass"
    r"\b(?:\d+|one|two|three|four|five|six|seven|eight|nine|ten|several)\s+(?:[\w:/.-]+\s+)?"
    r"tests?\s+(?:fails?|do(?:es)?\s+not\s+pass)\b",
)), re.IGNORECASE)
NUMBERS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


# -- reading the book ---------------------------------------------------------------------------

def text_of(element: Any) -> str:
    """The text of an element as it reads: comments and processing instructions dropped (their
    tails kept), the book's own entities kept as ``&name;``."""
    from lxml import etree

    parts = [element.text or ""]
    for child in element:
        if isinstance(child, etree._Entity):
            parts.append(child.text)
        elif isinstance(child.tag, str):
            parts.append(text_of(child))
        parts.append(child.tail or "")
    return "".join(parts)


def sentences(page: Path) -> list[str]:
    """The sentences of a page's paragraphs (in notes and lists too), whitespace normalised."""
    from lxml import etree

    parser = etree.XMLParser(load_dtd=False, resolve_entities=False, no_network=True)
    root = etree.parse(str(page), parser).getroot()
    found: list[str] = []
    for para in root.iter("para"):
        text = " ".join(text_of(para).split())
        found.extend(s for s in re.split(r"(?<=[.!?])\s+(?=[A-Z(])", text) if s)
    return found


def statements(page: Path) -> list[str]:
    """The sentences of a page that state a known test failure."""
    return [s for s in sentences(page) if STATEMENT.search(s)]


def product(page: Path) -> str:
    """The page's package as lfsplug names its script: ``productname``, lowercase."""
    found = re.search(r"<productname>\s*([^<]+?)\s*</productname>", page.read_text("utf-8"))
    return found.group(1).lower() if found else ""


# -- comparing ----------------------------------------------------------------------------------

def literal_parts(pattern: str) -> list[str]:
    """The literal runs of an fnmatch pattern, without leading or trailing separators."""
    return [p.strip("/: ") for p in re.split(r"[*?]|\[[^]]*\]", pattern) if p.strip("/: ")]


def entry_problems(entry: Mapping[str, Any], pages: Mapping[str, Path]) -> Iterable[str]:
    """What is wrong with one entry, given the pages by name (``chapter08/glibc.xml``)."""
    where = f"{entry.get('page')}: {entry.get('sentence')!r}"
    page = pages.get(entry.get("page", ""))
    if page is None:
        yield f"{where}: not a chapter 8 page of the book"
        return
    if entry["package"] != product(page):
        yield f"{where}: package {entry['package']!r} is not the page's {product(page)!r}"
    sentence = entry["sentence"]
    if sentence not in statements(page):
        yield f"{where}: the page no longer says so"
    for test in entry["tests"]:
        if not literal_parts(test) or not all(p in sentence for p in literal_parts(test)):
            yield f"{where}: test {test!r} is not named in the sentence"
    count = entry["count"]
    if count and not re.search(rf"\b(?:{count}|{NUMBERS[min(count, 10)]})\b", sentence, re.I):
        yield f"{where}: the sentence does not say {count}"


def disagreements(entries: list[dict[str, Any]], pages: Mapping[str, Path]) -> list[str]:
    """Every way the entries and the pages disagree: a statement of a page not in the entries,
    an entry whose page no longer says it, a test not named in its sentence, a wrong package."""
    problems = [p for entry in entries for p in entry_problems(entry, pages)]
    shipped = {(e["page"], e["sentence"]) for e in entries}
    for name, page in pages.items():
        problems += [f"{name}: {s!r} is not in {BOOK_DATA}"
                     for s in statements(page) if (name, s) not in shipped]
    return problems


def shipped() -> dict[str, Any]:
    """The shipped data file, as the package holds it."""
    files = resources.files("lfsplug_tests").joinpath("data", BOOK_DATA)
    data: dict[str, Any] = tomllib.loads(files.read_text("utf-8"))
    return data


@pytest.fixture(scope="module")
def chapter8() -> dict[str, Path]:
    """The pages chapter 8 includes, by name relative to the book (``chapter08/acl.xml``)."""
    if not (BOOK / "chapter08" / "chapter08.xml").is_file():
        pytest.skip(no_data(BOOK / "chapter08"))
    return {f"chapter08/{name}.xml": BOOK / "chapter08" / f"{name}.xml"
            for name in book_pages(8)}


# -- agreement with the book --------------------------------------------------------------------

def test_the_shipped_failures_are_the_books(chapter8: dict[str, Path]) -> None:
    assert disagreements(shipped()["failure"], chapter8) == []


def test_the_rule_finds_statements_and_not_remarks(chapter8: dict[str, Path]) -> None:
    found = {s for page in chapter8.values() for s in statements(page)}
    assert "One test, test_ssl, is known to fail in the chroot environment." in found
    assert "In addition, one pgrep test may fail in the chroot environment." in found
    remarks = [s for page in chapter8.values() for s in sentences(page)
               if re.search(r"fail|not pass", s, re.I) and s not in found]
    assert "Generally a few tests do not pass." in remarks  # glibc: says no test
    assert "If it fails, it can safely be ignored." in remarks  # openssl: the one before says
    assert any("will fail catastrophically" in s for s in remarks)  # expect: not a known failure


def test_the_book_edition_is_the_one_read(chapter8: dict[str, Path]) -> None:
    general = (BOOK / "general.ent").read_text("utf-8")
    assert re.search(r'<!ENTITY % development "INCLUDE">', general)
    relnum = re.search(r'<!ENTITY % relnum "([^"]+)">', general)
    assert relnum is not None
    assert book_version().startswith("LFS development")
    assert f"after {relnum.group(1)}" in book_version()


def test_a_sentence_left_out_of_the_data_is_found(chapter8: dict[str, Path]) -> None:
    entries = [e for e in shipped()["failure"] if e["package"] != "python"]
    assert disagreements(entries, chapter8) == [
        "chapter08/python.xml: 'One test, test_ssl, is known to fail in the chroot environment.'"
        f" is not in {BOOK_DATA}"]


def test_a_changed_page_is_found(chapter8: dict[str, Path], tmp_path: Path) -> None:
    original = chapter8["chapter08/python.xml"]
    changed = tmp_path / "python.xml"
    changed.write_text(original.read_text("utf-8").replace(
        "One test, test_ssl,", "Two tests, test_ssl and test_socket, are").replace(
        "is known to fail in the chroot", "known to fail in the chroot"), "utf-8")
    pages = {**chapter8, "chapter08/python.xml": changed}
    problems = disagreements(shipped()["failure"], pages)
    assert problems == [
        "chapter08/python.xml: 'One test, test_ssl, is known to fail in the chroot environment.'"
        ": the page no longer says so",
        "chapter08/python.xml: 'Two tests, test_ssl and test_socket, are known to fail in the "
        f"chroot environment.' is not in {BOOK_DATA}"]


def test_a_wrong_name_count_or_package_is_found(chapter8: dict[str, Path]) -> None:
    entry = next(e for e in shipped()["failure"] if e["package"] == "libelf")
    wrong = {**entry, "tests": ["dwarf_srclang_check", "run-native-test.sh"], "count": 3,
             "package": "elfutils"}
    assert list(entry_problems(wrong, chapter8)) == [
        f"chapter08/libelf.xml: {entry['sentence']!r}: package 'elfutils' is not the page's "
        "'libelf'",
        f"chapter08/libelf.xml: {entry['sentence']!r}: test 'run-native-test.sh' is not named "
        "in the sentence",
        f"chapter08/libelf.xml: {entry['sentence']!r}: the sentence does not say 3"]
    elsewhere = {**entry, "page": "chapter07/libelf.xml"}
    assert list(entry_problems(elsewhere, chapter8)) == [
        f"chapter07/libelf.xml: {entry['sentence']!r}: not a chapter 8 page of the book"]


# -- the shipped file, without the book ---------------------------------------------------------

def test_every_entry_is_complete_and_loaded() -> None:
    data = shipped()
    fields = {"package": str, "page": str, "tests": list, "count": int, "condition": str,
              "sentence": str}
    for entry in data["failure"]:
        assert {k: type(v) for k, v in entry.items()} == fields, entry
        assert entry["tests"] or entry["count"] or entry["condition"], entry
        assert entry["sentence"] == " ".join(entry["sentence"].split())
    loaded = book_known_failures()
    assert sum(map(len, loaded.values())) == len(data["failure"])
    glibc = loaded["glibc"][0]
    assert glibc == KnownFailure(
        "glibc", ("io/tst-lchmod",), 0, "in the LFS chroot environment",
        "LFS book chapter08/glibc.xml: io/tst-lchmod is known to fail in the LFS chroot "
        "environment.", "chapter08/glibc.xml")
    loaded["glibc"].clear()  # a caller's copy: the next call is whole again
    assert book_known_failures()["glibc"][0] == glibc


# -- matching -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("tests", "name", "expected"), [
    (("io/tst-lchmod",), "io/tst-lchmod", True),
    (("io/tst-lchmod",), "io/tst-lchmod2", False),
    (("io/tst-lchmod",), "tst-lchmod", False),  # a shorter name is not the test
    (("io/tst-lchmod",), "FAIL: io/tst-lchmod", True),
    (("nptl/tst-thread-affinity*",), "nptl/tst-thread-affinity-pthread", True),
    (("nptl/tst-thread-affinity*",), "nptl/tst-thread-other", False),
    (("*/tsan/*",), "c-c++-common/tsan/atomic_stack.c  -O0  output pattern test", True),
    (("*/tsan/*",), "gcc.dg/asan/tsan-like.c", False),
    (("30-test_afalg.t",), "../test/recipes/30-test_afalg.t", True),
    (("30-test_afalg.t",), "test/recipes/130-test_afalg.t", False),
    (("capabilities: binary store/restore",), "223: capabilities: binary store/restore", True),
    (("systemd:core / test-namespace",), "systemd:core /  test-namespace", True),
    (("pgrep*",), "pgrep with no arguments", True),
    (("pgrep*",), "pkill with no arguments", False),
    (("Test_SSL",), "test_ssl", False),  # names are case-sensitive
    ((), "anything", False),
])
def test_matches(tests: tuple[str, ...], name: str, expected: bool) -> None:
    assert KnownFailure("pkg", tests).matches(name) is expected


def test_book_failures_match_what_the_suites_print() -> None:
    by_package = book_known_failures()

    def known(package: str, name: str) -> bool:
        return any(f.matches(name) for f in by_package.get(package, []))

    assert known("glibc", "io/tst-lchmod")
    assert known("openssl", "test/recipes/30-test_afalg.t")
    assert known("util-linux", "hardlink: options")
    assert known("procps-ng", "ps with output flag bsdtime,cputime,etime,etimes")
    assert not known("glibc", "io/tst-open")
    assert not known("gawk", "anything")


# -- the user's table ---------------------------------------------------------------------------

def test_from_config_good_values() -> None:
    found = from_config({"glibc": ["io/tst-lchmod", "  misc/tst-ttyname "], "gcc": []})
    assert found == {
        "glibc": [KnownFailure("glibc", ("io/tst-lchmod", "misc/tst-ttyname"),
                               source="configuration [tests.known_failures] glibc")],
        "gcc": []}
    assert found["glibc"][0].matches("FAIL: misc/tst-ttyname")
    assert from_config({}) == {}


@pytest.mark.parametrize(("table", "message"), [
    ({"glibc": "io/tst-lchmod"},
     "[tests.known_failures] glibc: expected a list of test names, got 'io/tst-lchmod'"),
    ({"glibc": ["io/tst-lchmod", 3]},
     "[tests.known_failures] glibc: 3 is not a test name (a non-empty string)"),
    ({"bash": [" "]}, "[tests.known_failures] bash: ' ' is not a test name (a non-empty string)"),
    ({"tar": {"name": "x"}},
     "[tests.known_failures] tar: expected a list of test names, got {'name': 'x'}"),
    ({"": ["x"]}, "[tests.known_failures]: '' is not a package name"),
])
def test_from_config_bad_values(table: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError) as raised:
        from_config(table)
    assert str(raised.value) == message
