"""lfsplug_book's scripts against jhalfs's (tests/book_jhalfs.py, a transcription of lfs.xsl):
the same pages, and the same commands page by page, but for the differences listed in
:data:`DELIBERATE`.

Compared after normalisation: each line stripped, blank lines dropped, jhalfs's test suffix
(``>> $TEST_LOG 2>&1 || true``) removed, lfsplug's test wrapper (``{ CMD`` ...
``} || lfsplug_test_failed ...``) unwrapped.
"""

from __future__ import annotations

import difflib
import functools

import pytest

pytest.importorskip("lfsplug_book")

from book_jhalfs import PARAMS, TEST_SUFFIX, scripts
from helpers import BOOK, no_data
from lfsplug_book.generate import plan
from lfsplug_book.render import Choices, render
from lfsplug_book.source import Book, Profile, load

ARCH = "x86_64"
#: jhalfs's testsuite levels and lfsplug's --book-tests for each.
TESTS = {0: "none", 1: "critical", 3: "all"}
#: jhalfs's defaults under lfsplug's [book.values] names.
VALUES = {"timezone": PARAMS["timezone"], "paper_size": PARAMS["page"],
          "locale": PARAMS["lang"], "hostname": PARAMS["hostname"],
          "domain": PARAMS["domain"], "ip": PARAMS["ip"], "interface": PARAMS["interface"],
          "nameserver1": PARAMS["nameserver1"], "nameserver2": PARAMS["nameserver2"],
          "gateway": PARAMS["gateway"], "prefix": str(PARAMS["prefix"]),
          "broadcast": PARAMS["broadcast"], "keymap": PARAMS["keymap"], "font": PARAMS["font"],
          "utc": "0" if PARAMS["local"] == "y" else "1",
          "hardware_clock": "LOCAL" if PARAMS["local"] == "y" else "UTC",
          "log_level": str(PARAMS["log-level"])}
#: Pages whose commands differ from jhalfs's on purpose: "chapterNN/NNN-name" (in every run)
#: or "INIT:TESTSUITE:chapterNN/NNN-name" (in that run only) -> why.
_STRIPPING = ("jhalfs runs the page with every strip command commented out (strip=n); "
              "lfsplug leaves the optional page out, or with [book] strip runs it whole")
_HOSTS = "/etc/hosts: lfsplug gives <192.168.1.2> the ip value; jhalfs leaves it to edit"
DELIBERATE: dict[str, str] = {
    "chapter08/834-bash": "the expect here-document's 'spawn make tests' is its text: lfsplug "
                          "does not rewrite it to make -k",
    **{f"sysv:{t}:chapter08/881-stripping": _STRIPPING for t in TESTS},
    **{f"systemd:{t}:chapter08/880-stripping": _STRIPPING for t in TESTS},
    **{f"sysv:{t}:chapter09/903-network": _HOSTS for t in TESTS},
}
#: Lines of diff shown per differing page.
SHOWN = 8

pytestmark = pytest.mark.skipif(not BOOK.is_dir(), reason=no_data(BOOK))


@functools.lru_cache(maxsize=2)
def _book(init: str) -> Book:
    return load(BOOK, Profile(init, ARCH))


def normalise(text: str) -> list[str]:
    """The command lines that count: stripped, not blank, without either tool's test frame."""
    # a placeholder left unset: jhalfs's **EDITME<xxx>EDITME**, lfsplug's <xxx> under a mark
    text = text.replace("**EDITME", "").replace("EDITME**", "")
    lines = [line.strip() for line in text.split("\n")
             if not line.startswith("# This block must be edited")]
    lines = [line.removesuffix(TEST_SUFFIX.strip()).rstrip() for line in lines]
    kept: list[str] = []
    for line in lines:
        if line.startswith("} || lfsplug_test_failed"):
            opened = max((i for i, x in enumerate(kept) if x.startswith("{ ")), default=None)
            if opened is not None:
                kept[opened] = kept[opened][2:].strip()
            continue
        kept.append(line)
    return [line for line in kept if line]


def _lfsplug(book: Book, tests: str) -> dict[str, str]:
    """Each script lfsplug_book writes: its command part (from the first blank line on)."""
    # strip=True: lfsplug leaves the optional stripping page out unless asked for it
    choices = Choices(tests=tests, strip=True, values=VALUES, kernel_config="../kernel-config")
    chosen, _ = plan(book, choices, "test")
    found = {}
    for page, name in chosen:
        text, _ = render(page, choices, f"{book.profile.init}, {ARCH}")
        found[name] = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    return found


def _diff(expected: list[str], got: list[str]) -> str:
    lines = list(difflib.unified_diff(expected, got, "jhalfs", "lfsplug", n=1, lineterm=""))
    shown = lines[2:2 + SHOWN]
    more = len(lines) - 2 - len(shown)
    return "\n".join(f"    {line}" for line in shown) + (f"\n    ... {more} more" if more > 0
                                                          else "")


@pytest.mark.parametrize("init", ["sysv", "systemd"])
@pytest.mark.parametrize("testsuite", sorted(TESTS))
def test_book_matches_jhalfs(init: str, testsuite: int) -> None:
    book = _book(init)
    oracle = dict(scripts(book.root, testsuite))
    ours = _lfsplug(book, TESTS[testsuite])
    problems = []
    only_jhalfs = sorted(set(oracle) - set(ours))
    only_lfsplug = sorted(set(ours) - set(oracle))
    if only_jhalfs or only_lfsplug:
        problems.append(f"pages only jhalfs writes: {only_jhalfs}\n"
                        f"pages only lfsplug_book writes: {only_lfsplug}")
    differing = {}
    for path in sorted(set(oracle) & set(ours)):
        expected, got = normalise(oracle[path]), normalise(ours[path])
        if expected != got:
            differing[path] = _diff(expected, got)
    run = f"{init}:{testsuite}:"
    explained = {key.removeprefix(run) for key in DELIBERATE
                 if ":" not in key or key.startswith(run)}
    unexplained = {p: d for p, d in differing.items() if p not in explained}
    stale = sorted(explained - set(differing))
    if unexplained:
        problems.append(f"{len(unexplained)} pages differ from jhalfs ({init}, testsuite "
                        f"{testsuite}, lfsplug tests={TESTS[testsuite]}):\n"
                        + "\n".join(f"  {p}:\n{d}" for p, d in unexplained.items()))
    if stale:
        problems.append(f"DELIBERATE lists pages that no longer differ: {stale}")
    assert not problems, "\n".join(problems)
