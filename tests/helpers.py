"""Helpers that several test modules share: what ``list``, ``list --why`` and ``check --json``
print, the LFS book's pages, and the live processes of a test's scripts. (Plugin authors get
``lfsplug.testing``; this is ours.)"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

from lfsplug.testing import Lfsplugger, RunResult

#: The shared reference data (the LFS book, jhalfs reports), beside the repository.
DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
BOOK = DATA / "lfs-book"
REPORTS = DATA / "jhalfs-sbu-reports"


def no_data(path: Path) -> str:
    """The skip reason of a test whose reference data is absent: every test names the shared
    data folder this one way (``tests/test_docs_commands.py`` checks it)."""
    return f"{path.relative_to(DATA)} is not in the shared data folder {DATA}"


def findings(result: RunResult) -> list[dict[str, Any]]:
    """The findings of a ``check --json`` run."""
    data: list[dict[str, Any]] = json.loads("\n".join(result.outlines))["findings"]
    return data


def listed(result: RunResult) -> list[dict[str, Any]]:
    """The scripts of a ``list --json`` run, checking that it succeeded."""
    assert result.ret == 0, result.outlines + result.errlines
    scripts: list[dict[str, Any]] = json.loads("\n".join(result.outlines))["scripts"]
    return scripts


def plan_names(lfsplugger: Lfsplugger, *args: str) -> list[str]:
    """The names ``lfsplug list --json ARGS`` shows, in plan order."""
    return [s["name"] for s in listed(lfsplugger.run("list", "--json", *args))]


def why_lines(lfsplugger: Lfsplugger, name: str, *args: str) -> list[str]:
    """The lines ``lfsplug list --why NAME ARGS`` prints, stripped."""
    result = lfsplugger.run("list", "--why", name, *args)
    assert result.ret == 0, result.outlines + result.errlines
    return [line.strip() for line in result.outlines]


def book_pages(chapter: int) -> list[str]:
    """The pages chapter ``chapter`` of the book includes, in its order, without ``.xml``
    (pages commented out of the include list are not built, so not listed)."""
    text = (BOOK / f"chapter{chapter:02d}" / f"chapter{chapter:02d}.xml").read_text("utf-8")
    text = re.sub(r"<!--.*?-->", "", text, flags=re.DOTALL)
    return re.findall(r'href="([^"]+)\.xml"', text)


def alive(pattern: str) -> list[tuple[int, str]]:
    """Live (not zombie) processes whose command line contains ``pattern``, from /proc."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as stat:
                data = stat.read()
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmd = handle.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if pattern in cmd and data[data.rfind(b")") + 2:][:1] != b"Z":
            found.append((int(name), cmd.strip()))
    return found
