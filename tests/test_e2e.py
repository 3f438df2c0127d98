"""End to end: the real ``lfsplug`` command on the shipped example and on a failing tree."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from lfsplug.testing import Lfsplugger

pytestmark = pytest.mark.e2e
EXAMPLE = Path(__file__).parent.parent / "examples" / "hello"


@pytest.mark.skipif(shutil.which("cc") is None, reason="the example compiles C: no cc installed")
def test_example_builds(lfsplugger: Lfsplugger, tmp_path: Path) -> None:
    tree = tmp_path / "hello"
    shutil.copytree(EXAMPLE, tree, ignore=shutil.ignore_patterns(".lfsplug"))
    lfs = tmp_path / "lfs"
    result = lfsplugger.run_subprocess("run", tree, "--lfs", lfs)
    assert result.ret == 0, result.outlines + result.errlines
    result.stdout.fnmatch_lines(["*[[]4/4[]] passed  test-hello*", "==== 4 passed in *"])
    assert (lfs / "usr/bin/hello").is_file()
    log = (tree / ".lfsplug/logs/test-hello.log").read_text()
    assert "Hello from a script built by lfsplug" in log
    listing = lfsplugger.run_subprocess("list", tree, "--json")
    scripts = json.loads("\n".join(listing.outlines))["scripts"]
    assert [s["name"] for s in scripts] == ["host-check", "prepare", "hello", "test-hello"]
    assert scripts[2]["version"] == "1.0" and scripts[2]["provides"] == ["greeter"]
    assert scripts[3]["depends"] == ["greeter>=1.0"]


def test_failure_then_fix(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "echo a", "02-b.sh": "echo about to fail; false; echo no",
                          "03-c.sh": "echo c"})
    result = lfsplugger.run_subprocess("run")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*failed  b*exit status 1*", "    about to fail",
                                 "*full log: */.lfsplug/logs/1/b.log"])
    lfsplugger.make_tree({"02-b.sh": "echo fixed"})
    result = lfsplugger.run_subprocess("run")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["==== 3 passed in *"])
