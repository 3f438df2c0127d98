"""What ``lfsplug list`` and ``lfsplug check`` import: start-up time is a feature (STYLE.md).

Both run as child processes under ``python -X importtime``, which names every module imported.
No timing is asserted (durations are flaky on a shared machine; benchmarks/ measures them):
these tests fail when a change makes the everyday commands import what only other commands, or
other situations, need: the dashboard, reports, the resource monitor, the book's XML reader,
the validation machinery for ``list``, the head parsers on a warm run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Never imported by list or check: heavy third-party packages (the dashboard's, the reports',
#: the monitor's) and the standard library's XML reader; nor SQLite while there
#: is no state database to read (these trees have none).
NEVER = ("rich", "jinja2", "markupsafe", "pygments", "psutil", "xml.etree", "sqlite3")
#: Plugin submodules that list and check must not import (a plugin's package itself is fine).
NEVER_SUBMODULES = (
    "lfsplug_reports.",     # report writers: run --report and lfsplug report
    "lfsplug_monitor.",     # sampling with psutil: run
    "lfsplug_terminal.board", "lfsplug_terminal.live", "lfsplug_terminal.render",  # dashboard
    "lfsplug_ordering.bookdeps",  # the book's dependencies.xml: only with --book-deps
    "lfsplug_ordering.draw", "lfsplug_ordering.command",  # lfsplug graph
    "lfsplug_hostreqs.command", "lfsplug_hostreqs.checks", "lfsplug_hostreqs.probes",
    "lfsplug_hostreqs.resources",  # lfsplug host, or a host check
    "lfsplug_state.recorder", "lfsplug_state.resume", "lfsplug_state.retention",  # run
)
#: What only check needs: list validates nothing.
VALIDATION = ("lfsplug_validation.validator", "lfsplug_validation.syntax",
              "lfsplug_validation.lint", "lfsplug_validation.shellcheck")
#: What reads a script's head: a warm run takes every head from the discovery cache.
HEAD_PARSERS = ("lfsplug_discovery.depcomments",)

SCRIPTS = {
    "01-zlib-1.3.1.sh": "#!/bin/bash\nset -e\n./configure --prefix=/usr\nmake\n",
    "02-xz.sh": "#!/bin/bash\n# Required: zlib\nset -e\nmake\n",
}


def imported(tree: Path, *args: str) -> set[str]:
    """The modules ``python -X importtime -m lfsplug ARGS`` imports."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LFSPLUG_")}
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "lfsplug", *args],
        cwd=tree, env=env, capture_output=True, text=True, check=False, timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode in (0, 6), proc.stderr[-2000:]
    names = set()
    for line in proc.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name != "package":  # the header line
                names.add(name)
    assert "lfsplug._cli" in names  # the parse worked
    return names


def forbidden(names: set[str], extra: tuple[str, ...] = ()) -> list[str]:
    def matches(name: str, rule: str) -> bool:
        if rule.endswith("."):
            return name.startswith(rule)
        return name == rule or name.startswith(rule + ".")

    rules = (*NEVER, *NEVER_SUBMODULES, *extra)
    return sorted(n for n in names if any(matches(n, r) for r in rules))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name, text in SCRIPTS.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_list_imports_only_what_it_needs(tree: Path) -> None:
    assert forbidden(imported(tree, "list", "."), VALIDATION) == []


def test_a_warm_list_does_not_import_the_head_parsers(tree: Path) -> None:
    (tree / "02-xz.sh").write_text("#!/bin/bash\nmake\n")  # no dependency comment to keep
    past = (os.stat(tree).st_mtime_ns - 3600 * 10**9,) * 2
    for script in SCRIPTS:  # older than the cache's racy window, as files usually are
        os.utime(tree / script, ns=past)
    imported(tree, "list", ".")  # cold: reads the heads and writes the cache
    names = imported(tree, "list", ".")
    assert forbidden(names, (*VALIDATION, *HEAD_PARSERS)) == []
    assert "lfsplug_discovery.layouts" in names  # the control: discovery did run


def test_check_imports_only_what_it_needs(tree: Path) -> None:
    names = imported(tree, "check", ".", "--shellcheck=off", "--host-check=off")
    assert forbidden(names) == []
    assert "lfsplug_validation.validator" in names  # the control: validation did run


def test_a_warm_check_does_not_import_the_rules(tree: Path) -> None:
    (tree / "02-xz.sh").write_text("#!/bin/bash\nmake\n")  # no dependency comment to keep
    past = (os.stat(tree).st_mtime_ns - 3600 * 10**9,) * 2
    for script in SCRIPTS:
        os.utime(tree / script, ns=past)
    args = ("check", ".", "--shellcheck=off", "--host-check=off")
    cold = imported(tree, *args)
    assert "lfsplug_validation.lint" in cold  # the control: the rules ran once
    rules = ("lfsplug_validation.lint", "lfsplug_validation.shellread",
             "lfsplug_validation.focus", "lfsplug_validation.refs",
             "lfsplug_validation.shellcheck", "lfsplug_validation.integrity")
    assert forbidden(imported(tree, *args), (*rules, *HEAD_PARSERS)) == []
