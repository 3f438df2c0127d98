"""Which build ``status``, ``log``, ``report`` and ``graph`` are about without a PATH: found as
pytest finds its rootdir (upward from the current directory), else the last build run (the
per-user index ``$XDG_STATE_HOME/lfsplug/builds``, which ``run`` writes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lfsplug.testing import Lfsplugger

REPO = Path(__file__).resolve().parent.parent
TREE = {"examples/hello/lfsplug.toml": "", "examples/hello/01-a.sh": "echo a from a",
        "examples/hello/02-b.sh": "echo b"}
RUN = ("run", "--shellcheck", "off")


def index(lfsplugger: Lfsplugger) -> list[str]:
    path = Path(os.environ["XDG_STATE_HOME"], "lfsplug", "builds")
    return path.read_text().splitlines()


@pytest.fixture
def built(lfsplugger: Lfsplugger) -> Lfsplugger:
    """``lfsplug run examples/hello`` done, from the root of a repository."""
    lfsplugger.make_tree(TREE)
    assert lfsplugger.run(*RUN, "examples/hello").ret == 0
    return lfsplugger


def test_status_from_the_repository_root_uses_the_last_build_run(built: Lfsplugger) -> None:
    result = built.run("status")
    assert result.ret == 0
    assert result.errlines == [
        "lfsplug: using the build in examples/hello/.lfsplug (the last one run)"]
    assert result.outlines[-1] == "2 scripts: 2 passed"


def test_status_log_report_and_graph_take_the_path_run_took(built: Lfsplugger) -> None:
    status = built.run("status", "examples/hello")
    assert status.ret == 0 and status.errlines == []
    assert status.outlines[-1] == "2 scripts: 2 passed"
    log = built.run("log", "a", "examples/hello")
    assert log.ret == 0 and "a from a" in log.outlines
    report = built.run("report", "json:out.json", "examples/hello")
    assert report.ret == 0
    assert [s["name"] for s in json.loads(Path("out.json").read_text())["scripts"]] == ["a", "b"]
    graph = built.run("graph", "examples/hello")
    assert graph.ret == 0 and any("a" in line for line in graph.outlines)


def test_log_report_and_graph_without_path(built: Lfsplugger) -> None:
    said = "lfsplug: using the build in examples/hello/.lfsplug (the last one run)"
    log = built.run("log", "a")
    assert log.ret == 0 and "a from a" in log.outlines and log.errlines == [said]
    report = built.run("report", "json")
    assert report.ret == 0 and report.errlines[0] == said
    assert Path("examples/hello/.lfsplug/reports/run-1.json").is_file()
    graph = built.run("graph")
    assert graph.ret == 0 and graph.errlines == [said]
    assert graph.outlines[0].startswith("sequence order: 2 scripts")


def test_status_below_the_tree_finds_it_upward(built: Lfsplugger) -> None:
    os.chdir("examples/hello/.lfsplug/logs")
    result = built.run("status")
    assert result.ret == 0
    assert result.errlines == [
        f"lfsplug: using the build in {built.path / 'examples/hello/.lfsplug'} (found above the "
        f"current directory)"]


def test_the_nearest_tree_wins_over_the_last_one_run(built: Lfsplugger) -> None:
    built.make_tree({"other/01-c.sh": "echo c", "other/lfsplug.toml": ""})
    os.chdir("other")  # a tree never built: its own state, not the last build's
    result = built.run("status")
    assert result.ret == 4
    assert result.errlines == [
        f"lfsplug: no build recorded in {built.path / 'other/.lfsplug'} (no state.db): "
        f"lfsplug run records one; --state-dir DIR reads another"]
    os.chdir("..")
    assert built.run(*RUN, "other").ret == 0
    assert built.run("status").errlines == [
        "lfsplug: using the build in other/.lfsplug (the last one run)"]


def test_run_writes_one_line_per_build_newest_last(built: Lfsplugger) -> None:
    built.make_tree({"other/01-c.sh": "echo c"})
    hello = built.path / "examples/hello"
    assert index(built) == [f"{hello}/.lfsplug\t{hello}"]
    assert built.run(*RUN, "other").ret == 0
    assert built.run(*RUN, "examples/hello").ret == 0
    assert index(built) == [f"{built.path}/other/.lfsplug\t{built.path}/other",
                            f"{hello}/.lfsplug\t{hello}"]
    assert built.run(*RUN, "other", "--dry-run").ret == 0  # a dry run builds nothing
    assert index(built)[-1] == f"{hello}/.lfsplug\t{hello}"


def test_a_build_whose_state_is_gone_is_passed_over(built: Lfsplugger) -> None:
    built.make_tree({"other/01-c.sh": "echo c"})
    assert built.run(*RUN, "other").ret == 0
    shutil.rmtree("other")
    assert built.run("status").errlines == [
        "lfsplug: using the build in examples/hello/.lfsplug (the last one run)"]


def test_state_dir_given_is_used_as_given(built: Lfsplugger) -> None:
    result = built.run("status", "--state-dir", "nowhere")
    assert result.ret == 4
    assert result.errlines[0].startswith(f"lfsplug: no build recorded in {built.path}/nowhere ")


def test_status_help_says_what_is_true(lfsplugger: Lfsplugger) -> None:
    result = lfsplugger.run("status", "--help")
    assert result.ret == 0
    assert result.outlines[0] == "Usage: lfsplug status [OPTIONS] [PATH]..."
    text = "".join("".join(result.outlines).split())  # as wrapped: at spaces and hyphens
    said = ("Without PATH: the build of the nearest directory, from here upward, with a "
            ".lfsplug/state.db or an lfsplug.toml; else the last build run (listed in "
            f"{os.environ['XDG_STATE_HOME']}/lfsplug/builds).")
    assert "".join(said.split()) in text


@pytest.mark.skipif(shutil.which("cc") is None, reason="the example builds C: no cc here")
def test_the_readme_tour_runs_from_the_repository_root(tmp_path: Path) -> None:
    """The README's commands, as written, from the root of a copy of the repository."""
    shutil.copytree(REPO / "examples/hello", tmp_path / "examples/hello",
                    ignore=shutil.ignore_patterns(".lfsplug"))
    toml = tmp_path / "examples/hello/lfsplug.toml"
    toml.write_text(toml.read_text().replace("/tmp/lfsplug-example/lfs", str(tmp_path / "lfs")))
    env = {**os.environ, "XDG_STATE_HOME": str(tmp_path / "state")}
    for name in ("LFSPLUG_ADDOPTS", "LFSPLUG_PLUGINS", "LFSPLUG_DISABLE_PLUGIN_AUTOLOAD"):
        env.pop(name, None)

    def lfsplug(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lfsplug", *args], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300, check=False)

    assert lfsplug("run", "examples/hello").returncode == 0
    said = "lfsplug: using the build in examples/hello/.lfsplug (the last one run)\n"
    status = lfsplug("status")
    assert (status.returncode, status.stderr) == (0, said)
    assert status.stdout.splitlines()[-1] == "4 scripts: 4 passed"
    named = lfsplug("status", "examples/hello")
    assert (named.returncode, named.stderr, named.stdout) == (0, "", status.stdout)
    log = lfsplug("log", "hello")
    assert (log.returncode, log.stderr) == (0, said)
    report = lfsplug("report", "html:build.html")
    assert report.returncode == 0 and (tmp_path / "build.html").is_file()
    assert lfsplug("graph").returncode == 0
