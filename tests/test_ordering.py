"""The ordering plugin: edges from every source, sequence, graph and per-phase order, phase
barriers, the book's dependencies, requirements, versions, cycles, the graph command, and
properties of the plan on random graphs."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lfsplug
from helpers import BOOK, REPORTS, book_pages, findings, no_data, plan_names, why_lines
from lfsplug import Edge, Origin, Requirement, Script
from lfsplug.testing import Lfsplugger, RunResult
from lfsplug_ordering import graph as algo  # the algorithms, for their properties

ARROW = " → "
needs_book = pytest.mark.skipif(not (BOOK / "appendices" / "dependencies.xml").is_file(),
                                reason=no_data(BOOK / "appendices" / "dependencies.xml"))


def codes(result: RunResult) -> list[str]:
    return sorted(f["code"] for f in findings(result))


def ran_in_order(lfsplugger: Lfsplugger) -> list[str]:
    """What the scripts wrote to ``order.txt`` (each appends its name when it runs)."""
    return (lfsplugger.path / "order.txt").read_text().split()


def record(name: str, header: str = "") -> str:
    """A script body that appends ``name`` to order.txt, under an optional header."""
    return (f"# lfsplug: {header}\n" if header else "") + f"echo {name} >> order.txt"


def cycle_in(message: str) -> list[str]:
    """The path of a ``dependency cycle: a → b → a`` message."""
    assert "dependency cycle: " in message, message
    return message.split("dependency cycle: ", 1)[1].split(ARROW)


# -- sequence and graph order -------------------------------------------------------------------


def test_sequence_order_follows_discovery(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "chapter10/1-z.sh": "echo z >> ../order.txt",
        "chapter5/2-b.sh": "echo b >> ../order.txt",
        "chapter5/10-a.sh": "echo a >> ../order.txt",
    })
    assert plan_names(lfsplugger) == ["b", "a", "z"]
    # chapter5 is the book's cross toolchain: this host need not meet its requirements
    result = lfsplugger.run("run", "--order", "sequence", "--host-check", "off", "-p", "no:chroot")
    assert result.ret == 0
    assert ran_in_order(lfsplugger) == ["b", "a", "z"]


def test_graph_order_follows_declared_edges(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-app.sh": record("app", "depends=libfoo"),
        "02-foo.sh": record("foo", "provides=libfoo after=base"),
        "03-base.sh": record("base"),
        "04-prep.sh": record("prep", "before=base"),
    })
    assert plan_names(lfsplugger, "--order", "graph") == ["prep", "base", "foo", "app"]
    result = lfsplugger.run("run", "--order", "graph")
    assert result.ret == 0
    assert ran_in_order(lfsplugger) == ["prep", "base", "foo", "app"]


def test_graph_order_keeps_discovery_order_between_independent_scripts(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({
        "01-c.sh": "true", "02-a.sh": "# lfsplug: depends=b", "03-b.sh": "true", "04-d.sh": "true",
    })
    assert plan_names(lfsplugger, "--order", "graph") == ["c", "b", "a", "d"]


def test_sequence_depends_on_a_later_script_is_a_cycle(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-gcc.sh": "# lfsplug: depends=glibc\ntouch gcc.ran", "02-glibc.sh": "touch glibc.ran",
    })
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    [finding] = findings(result)
    assert finding["code"] == "ORD005"
    path = cycle_in(finding["message"])
    assert path[0] == path[-1]
    assert set(path) == {"gcc", "glibc"}
    assert "sequence" in finding["hint"] and "depends" in finding["hint"]

    run = lfsplugger.run("run")
    assert run.ret == 6
    run.stderr.fnmatch_lines([f"*ORD005*dependency cycle: *{ARROW}*{ARROW}*"])
    assert not list(lfsplugger.path.glob("*.ran"))
    assert lfsplugger.run("list").ret == 6


def test_graph_cycle_is_a_path_with_the_origin_of_each_edge(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "# lfsplug: depends=b",
        "02-b.sh": "true\n# lfsplug: after=a",
        "03-free.sh": "true",
    })
    result = lfsplugger.run("check", "--order", "graph", "--json")
    assert result.ret == 6
    [finding] = findings(result)
    assert finding["code"] == "ORD005"
    assert cycle_in(finding["message"]) in (["a", "b", "a"], ["b", "a", "b"])
    hops = finding["hint"].split("; ")
    assert len(hops) == 2
    assert any(h.startswith(f"b{ARROW}a (depends: 01-a.sh: depends= from # lfsplug: header "
                            "line 2") for h in hops), hops
    assert any(h.startswith(f"a{ARROW}b (after: 02-b.sh: after= from # lfsplug: header "
                            "line 3") for h in hops), hops
    text = lfsplugger.run("check", "--order", "graph")
    text.stdout.fnmatch_lines(["01-a.sh", "*error*ORD005*dependency cycle: *", "*hint: *"])
    [hint] = [line for line in text.outlines if "hint: " in line]
    assert "depends=" in hint and "after=" in hint


def test_longer_cycle_is_a_closed_path_of_real_edges(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "# lfsplug: depends=c",
        "02-b.sh": "# lfsplug: depends=a",
        "03-c.sh": "# lfsplug: depends=b",
        "04-d.sh": "# lfsplug: depends=a",  # waits on the cycle, but is not in it
    })
    result = lfsplugger.run("check", "--order", "graph", "--json")
    assert result.ret == 6
    [finding] = findings(result)
    path = cycle_in(finding["message"])
    assert len(path) == 4 and path[0] == path[-1]
    assert set(path) == {"a", "b", "c"}
    waits_for = {"a": "c", "b": "a", "c": "b"}
    hops = list(itertools.pairwise(path))
    forward = all(waits_for[after] == before for before, after in hops)
    backward = all(waits_for[before] == after for before, after in hops)
    assert forward or backward, path


@pytest.mark.parametrize("order", ["sequence", "graph"])
def test_self_dependency(lfsplugger: Lfsplugger, order: str) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "02-gcc.sh": "# lfsplug: depends=gcc"})
    result = lfsplugger.run("check", "--order", order, "--json")
    assert result.ret == 6
    [finding] = findings(result)
    assert finding["code"] == "ORD004"
    assert Path(finding["path"]).name == "02-gcc.sh"
    assert finding["line"] == 2
    assert "gcc" in finding["message"]
    assert lfsplugger.run("run", "--order", order).ret == 6


def test_self_dependency_through_provides(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "# lfsplug: provides=cc after=cc"})
    result = lfsplugger.run("check", "--order", "graph", "--json")
    assert result.ret == 6
    assert codes(result) == ["ORD004"]


# -- requirements -------------------------------------------------------------------------------


def test_missing_required_dependency(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "# lfsplug: depends=glibc\ntouch ran"})
    for order in ("sequence", "graph"):
        result = lfsplugger.run("check", "--order", order, "--json")
        assert result.ret == 6
        [finding] = findings(result)
        assert (finding["code"], finding["severity"], finding["line"]) == ("ORD001", "error", 2)
        assert "glibc" in finding["message"]
    run = lfsplugger.run("run")
    assert run.ret == 6
    run.stderr.fnmatch_lines(["01-gcc.sh:2: error ORD001*glibc*"])
    assert not (lfsplugger.path / "ran").exists()


@pytest.mark.parametrize("kind", ["recommends", "optional"])
def test_missing_soft_dependency_is_information(lfsplugger: Lfsplugger, kind: str) -> None:
    lfsplugger.make_tree({"01-gcc.sh": f"# lfsplug: {kind}=valgrind\ntouch ran"})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 0
    [finding] = findings(result)
    assert (finding["code"], finding["severity"]) == ("ORD002", "info")
    assert "valgrind" in finding["message"]
    run = lfsplugger.run("run")
    assert run.ret == 0
    assert (lfsplugger.path / "ran").exists()


def test_present_soft_dependency_orders_in_graph_mode(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-gcc.sh": "# lfsplug: recommends=valgrind", "02-valgrind.sh": "true",
        "03-x.sh": "# lfsplug: optional=gcc",
    })
    assert plan_names(lfsplugger, "--order", "graph") == ["valgrind", "gcc", "x"]


def test_unmet_version_requirement(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-glibc.sh": "# lfsplug: version=2.38",
        "02-gcc.sh": "# lfsplug: depends=glibc>=2.39",
    })
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    [finding] = findings(result)
    assert finding["code"] == "ORD003"
    assert finding["line"] == 2
    assert Path(finding["path"]).name == "02-gcc.sh"
    assert "glibc>=2.39" in finding["message"] and "2.38" in finding["message"]
    assert lfsplugger.run("run").ret == 6


@pytest.mark.parametrize(("have", "need"), [
    ("2.39", ">=2.39"), ("2.40", ">2.39"), ("2.10", ">=2.9"), ("6.10.5", "<6.11"),
    ("1.0", "=1.0"), ("2.9", "<=2.10"),
    # as sort -V compares them
    ("1.4.19", ">1.4.10"), ("2.5.1a", ">2.5.1"), ("6.4-20230520", ">6.4"),
    ("6.4-20230520", "<6.4-20240101"), ("9.1p1", ">9.1"), ("9.1p1", "<9.2"),
])
def test_met_version_requirement(lfsplugger: Lfsplugger, have: str, need: str) -> None:
    lfsplugger.make_tree({
        "01-glibc.sh": f"# lfsplug: version={have}",
        "02-gcc.sh": f"# lfsplug: depends=glibc{need}",
    })
    result = lfsplugger.run("check", "--json")
    assert result.ret == 0, findings(result)
    assert findings(result) == []


@pytest.mark.parametrize(("have", "need"), [
    ("1.4.10", ">=1.4.19"), ("2.5.1", ">=2.5.1a"), ("6.4", ">=6.4-20230520"), ("9.1", ">9.1"),
])
def test_unmet_version_requirements_compare_like_sort_v(
    lfsplugger: Lfsplugger, have: str, need: str,
) -> None:
    lfsplugger.make_tree({"01-m4.sh": f"# lfsplug: version={have}",
                          "02-gcc.sh": f"# lfsplug: depends=m4{need}",
                          "03-x.sh": f"# lfsplug: recommends=m4{need}"})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    assert sorted((f["code"], f["severity"], f["message"]) for f in findings(result)) == [
        ("ORD003", "error", f"needs m4{need}, but m4 is version {have}"),
        ("ORD003", "info", f"recommends m4{need}, but m4 is version {have}"),
    ]


def test_version_requirement_on_a_script_without_version(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-glibc.sh": "true", "02-gcc.sh": "# lfsplug: depends=glibc>=2.39"})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 6
    assert codes(result) == ["ORD003"]


def test_dependent_waits_for_every_provider(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-gcc.sh": "# lfsplug: depends=binutils\n"
                     "test -f pass1.done\ntest -f pass2.done\necho gcc >> order.txt",
        "02-binutils-pass1.sh": "# lfsplug: provides=binutils\ntouch pass1.done\n"
                                "echo binutils-pass1 >> order.txt",
        "03-binutils-pass2.sh": "# lfsplug: provides=binutils after=binutils-pass1\n"
                                "touch pass2.done\necho binutils-pass2 >> order.txt",
    })
    expected = ["binutils-pass1", "binutils-pass2", "gcc"]
    assert plan_names(lfsplugger, "--order", "graph") == expected
    result = lfsplugger.run("run", "--order", "graph")
    assert result.ret == 0, result.outlines
    assert ran_in_order(lfsplugger) == expected
    why = lfsplugger.run("list", "--order", "graph", "--why", "gcc")
    why.stdout.fnmatch_lines(["*after binutils-pass1: depends (01-gcc.sh: depends=*",
                              "*after binutils-pass2: depends (01-gcc.sh: depends=*"])


def test_list_why_shows_edges_with_their_origins(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-linux.sh": "true",
        "02-glibc.sh": "# lfsplug: version=2.40\n# lfsplug: depends=linux before=gcc",
        "03-gcc.sh": "true",
    })
    result = lfsplugger.run("list", "--why", "glibc")
    assert result.ret == 0
    result.stdout.fnmatch_lines([
        "glibc: position 2 of 3 (sequence order)",
        "*after linux: sequence (sequence)",
        "*after linux: depends (02-glibc.sh: depends= from # lfsplug: header line 3)",
    ])
    text = "\n".join(result.outlines)
    assert "before gcc: before (02-glibc.sh: before= from # lfsplug: header line 3)" in text
    graph = lfsplugger.run("list", "--order", "graph", "--why", "glibc")
    graph.stdout.fnmatch_lines(["glibc: position 2 of 3 (graph order)"])
    graph.stdout.no_fnmatch_line("*: sequence (sequence)")


def test_disable_silences_ordering_findings(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "# lfsplug: recommends=nothing disable=ORD002",
        "02-b.sh": "# lfsplug: optional=nothing",
    })
    result = lfsplugger.run("check", "--json")
    assert [Path(f["path"]).name for f in findings(result)] == ["02-b.sh"]
    lfsplugger.make_config('disable = ["ORD002"]\n')
    result = lfsplugger.run("check", "--json")
    assert result.ret == 0
    assert findings(result) == []


# -- helpers for the sections below --------------------------------------------------------------


def graph_json(
    lfsplugger: Lfsplugger, *args: str, plugins: Sequence[object] = (),
) -> dict[str, Any]:
    """``lfsplug graph --format json`` (exit 0 expected)."""
    result = lfsplugger.run("graph", "--format", "json", *args, plugins=plugins)
    assert result.ret == 0, result.outlines + result.errlines
    data: dict[str, Any] = json.loads("\n".join(result.outlines))
    return data


def reachable(edges: Iterable[tuple[str, str]]) -> dict[str, set[str]]:
    """Every node each node leads to (transitive closure of before -> after)."""
    succ: dict[str, set[str]] = {}
    for a, b in edges:
        succ.setdefault(a, set()).add(b)
    closure: dict[str, set[str]] = {}
    for start in list(succ):
        seen, todo = set(), [start]
        while todo:
            for nxt in succ.get(todo.pop(), ()):
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        closure[start] = seen
    return closure


def pairs(data: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["before"], e["after"]) for e in data["edges"]]


class Inject:
    """A plugin that hands the session ready-made scripts (no files): fast random graphs."""

    def __init__(self, scripts: list[Script], edges: list[Edge] | None = None) -> None:
        self.scripts = scripts
        self.edges = edges or []

    @lfsplug.hookimpl
    def lfsplug_collect_path(self, path: Path) -> list[Script]:
        return self.scripts

    @lfsplug.hookimpl
    def lfsplug_script_edges(self) -> list[Edge]:
        return self.edges


# -- every edge names where it comes from --------------------------------------------------------


def test_every_metadata_edge_names_its_file_and_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "true",
        "02-b.sh": "true",
        "03-c.sh": "# lfsplug: version=1.0\n# lfsplug: depends=a recommends=b\n"
                   "# lfsplug: optional=d after=e before=f",
        "04-d.sh": "true", "05-e.sh": "true", "06-f.sh": "true",
    })
    lines = why_lines(lfsplugger, "c", "--order", "graph")
    assert lines[0] == "c: position 5 of 6 (graph order)"
    origin = "03-c.sh: {}= from # lfsplug: header line {}"
    for expected in (f"after a: depends ({origin.format('depends', 3)})",
                     f"after b: recommends ({origin.format('recommends', 3)})",
                     f"after d: optional ({origin.format('optional', 4)})",
                     f"after e: after ({origin.format('after', 4)})",
                     f"before f: before ({origin.format('before', 4)})"):
        assert expected in lines
    data = graph_json(lfsplugger, "--order", "graph")
    assert all(re.search(r"\.sh: \w+= from .* line \d+$", e["origin"]) for e in data["edges"])


def test_dependency_comments_name_their_line_too(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-libxml2.sh": "true",
                          "02-libxslt.sh": "# Some notes\n# Required: libxml2"})
    assert ("after libxml2: depends (02-libxslt.sh: depends= from dependency comment line 3)"
            in why_lines(lfsplugger, "libxslt", "--order", "graph"))


def test_edges_from_another_plugin_order_the_plan(lfsplugger: Lfsplugger) -> None:
    class Mirror:
        @lfsplug.hookimpl
        def lfsplug_script_edges(self) -> list[Edge]:
            return [Edge("z", "a", "mirror", "mirror plugin: z feeds a"),
                    Edge("gone", "a", "mirror", "mirror plugin: a deselected script")]

    lfsplugger.make_tree({"01-a.sh": "true", "02-z.sh": "true"})
    result = lfsplugger.run("list", "--json", "--order", "graph", plugins=[Mirror()])
    assert [s["name"] for s in json.loads("\n".join(result.outlines))["scripts"]] == ["z", "a"]
    why = lfsplugger.run("list", "--order", "graph", "--why", "a", plugins=[Mirror()])
    why.stdout.fnmatch_lines(["*after z: mirror (mirror plugin: z feeds a)"])
    why.stdout.no_fnmatch_line("*gone*")


def test_a_self_dependency_from_another_plugin_names_its_origin(lfsplugger: Lfsplugger) -> None:
    class Loop:
        @lfsplug.hookimpl
        def lfsplug_script_edges(self) -> list[Edge]:
            return [Edge("a", "a", "mirror", "mirror plugin rule 7")]

    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("check", "--json", plugins=[Loop()])
    assert result.ret == 6
    [finding] = findings(result)
    assert finding["code"] == "ORD004"
    assert "mirror plugin rule 7" in finding["hint"]


# -- providers -----------------------------------------------------------------------------------


def test_unrelated_providers_of_a_dependency_are_ambiguous(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-gcc.sh": "# lfsplug: provides=cc", "02-clang.sh": "# lfsplug: provides=cc",
        "03-app.sh": "# lfsplug: depends=cc\ntouch ran",
    })
    for command in ("check", "list", "run"):
        assert lfsplugger.run(command).ret == 6, command
    assert not (lfsplugger.path / "ran").exists()
    [finding] = findings(lfsplugger.run("check", "--json"))
    assert (finding["code"], finding["severity"], finding["line"]) == ("ORD006", "error", 2)
    assert Path(finding["path"]).name == "03-app.sh"
    assert finding["message"] == ("depends on cc, which 2 unrelated scripts provide: "
                                  "gcc (01-gcc.sh), clang (02-clang.sh)")
    run = lfsplugger.run("run")
    run.stderr.fnmatch_lines(["03-app.sh:2: error ORD006: depends on cc, which 2 unrelated*"])


def test_providers_nobody_depends_on_are_no_error(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "# lfsplug: provides=cc",
                          "02-clang.sh": "# lfsplug: provides=cc",
                          "03-app.sh": "# lfsplug: after=cc"})
    assert lfsplugger.run("check", "--json").ret == 0
    assert plan_names(lfsplugger, "--order", "graph") == ["gcc", "clang", "app"]


def test_a_pass_build_waits_for_the_builds_of_its_own_phase_and_before(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({
        "chapter05/501-binutils-pass1": "true",
        "chapter06/601-binutils-pass2": "# lfsplug: depends=binutils",
        "chapter06/602-gcc-pass2": "# lfsplug: depends=binutils",
        "chapter08/801-binutils": "true",
        "chapter08/802-gcc": "# lfsplug: depends=binutils",
    })
    def waits_for(name: str) -> list[str]:
        return sorted(line.split(":")[0].split()[1] for line in
                      why_lines(lfsplugger, name, "--order", "graph")
                      if line.startswith("after ") and ": depends (" in line)

    assert waits_for("binutils-pass2") == ["binutils-pass1"]  # itself excluded
    assert waits_for("gcc-pass2") == ["binutils-pass2"]  # the nearest earlier build
    assert waits_for("gcc") == ["binutils"]
    assert lfsplugger.run("check", "--json", "--host-check", "off", "-p", "no:chroot").ret == 0


def test_a_dependency_built_only_in_a_later_phase_is_a_cycle_through_the_barrier(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({
        "chapter05/501-gcc-pass1": "# lfsplug: depends=zlib",
        "chapter08/801-zlib": "true",
    })
    result = lfsplugger.run("check", "--json", "--order", "graph", "--host-check", "off",
                            "-p", "no:chroot")
    assert result.ret == 6
    [finding] = findings(result)
    assert finding["code"] == "ORD005"
    assert finding["message"] == ("dependency cycle: zlib → gcc-pass1 → zlib (zlib is in phase "
                                  "system, which runs after cross)")
    assert "phase barrier cross → system" in finding["hint"]
    assert (Path(finding["path"]).name, finding["line"]) == ("501-gcc-pass1", 2)


def test_a_soft_dependency_on_a_later_phase_is_ignored_with_a_warning(
    lfsplugger: Lfsplugger,
) -> None:
    lfsplugger.make_tree({
        "chapter05/501-gcc-pass1": "# lfsplug: recommends=zlib",
        "chapter08/801-zlib": "true",
    })
    result = lfsplugger.run("check", "--json", "--order", "graph", "--host-check", "off",
                            "-p", "no:chroot")
    assert result.ret == 0
    [finding] = findings(result)
    assert (finding["code"], finding["severity"]) == ("ORD007", "warning")
    assert finding["message"] == ("gcc-pass1 (cross) recommends on zlib, which phase system "
                                  "builds after cross is done: ignored")


# -- modes, per phase, and phase barriers ------------------------------------------------------


LFS_TREE = {
    "chapter05/501-binutils-pass1": "echo binutils-pass1 >> ../order.txt",
    "chapter05/502-gcc-pass1": "echo gcc-pass1 >> ../order.txt",
    "chapter08/801-zlib": "echo zlib >> ../order.txt",
    "chapter08/802-bzip2": "echo bzip2 >> ../order.txt",
    "chapter08/803-file": "# lfsplug: depends=zlib\necho file >> ../order.txt",
    "chapter09/901-network": "echo network >> ../order.txt",
    "chapter09/902-clock": "echo clock >> ../order.txt",
}


def levels_of(lfsplugger: Lfsplugger, *args: str) -> list[list[str]]:
    levels: list[list[str]] = graph_json(lfsplugger, *args)["levels"]
    return levels


def test_sequence_chains_every_script_with_no_barrier_edges(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(LFS_TREE)
    data = graph_json(lfsplugger)
    assert data["mode"] == "sequence"
    assert [len(level) for level in data["levels"]] == [1] * 7
    assert {e["kind"] for e in data["edges"]} == {"sequence", "depends"}


def test_graph_order_keeps_phases_apart_with_barriers(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(LFS_TREE)
    data = graph_json(lfsplugger, "--order", "graph")
    assert data["levels"] == [["binutils-pass1", "gcc-pass1"], ["zlib", "bzip2"], ["file"],
                              ["network", "clock"]]
    barriers = {(e["before"], e["after"]): e["origin"] for e in data["edges"]
                if e["kind"] == "phase"}
    assert barriers == {
        ("binutils-pass1", "zlib"): "phase barrier cross → system",
        ("binutils-pass1", "bzip2"): "phase barrier cross → system",
        ("gcc-pass1", "zlib"): "phase barrier cross → system",
        ("gcc-pass1", "bzip2"): "phase barrier cross → system",
        ("bzip2", "network"): "phase barrier system → config",
        ("bzip2", "clock"): "phase barrier system → config",
        ("file", "network"): "phase barrier system → config",
        ("file", "clock"): "phase barrier system → config",
    }
    assert "after gcc-pass1: phase (phase barrier cross → system)" in why_lines(
        lfsplugger, "zlib", "--order", "graph")


def test_per_phase_order_from_the_configuration(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(LFS_TREE)
    lfsplugger.make_config('[ordering]\nphases = { system = "graph", config = "graph" }\n')
    data = graph_json(lfsplugger)
    assert data["mode"] == "mixed"
    assert data["levels"] == [["binutils-pass1"], ["gcc-pass1"], ["zlib", "bzip2"], ["file"],
                              ["network", "clock"]]
    result = lfsplugger.run("run", "--host-check", "off", "-p", "no:chroot")
    assert result.ret == 0, result.outlines
    ran = ran_in_order(lfsplugger)
    assert ran[:2] == ["binutils-pass1", "gcc-pass1"]
    assert set(ran[2:5]) == {"zlib", "bzip2", "file"} and ran.index("zlib") < ran.index("file")
    assert set(ran[5:]) == {"network", "clock"}


def test_order_on_the_command_line_overrides_every_phase(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(LFS_TREE)
    lfsplugger.make_config('order = "graph"\n[ordering]\nphases = { cross = "sequence" }\n')
    # the file: cross as the table says, the other phases as its order says
    assert graph_json(lfsplugger)["levels"][:3] == [["binutils-pass1"], ["gcc-pass1"],
                                                    ["zlib", "bzip2"]]
    data = graph_json(lfsplugger, "--order", "sequence")
    assert data["mode"] == "sequence"
    assert [len(level) for level in data["levels"]] == [1] * 7
    lfsplugger.make_config('[ordering]\nphases = { cross = "sequence" }\n')
    assert graph_json(lfsplugger, "--order", "graph")["levels"][0] == [
        "binutils-pass1", "gcc-pass1"]
    # typed as the file says it, it is still typed: every phase in that order
    lfsplugger.make_config('order = "graph"\n[ordering]\nphases = { cross = "sequence" }\n')
    assert graph_json(lfsplugger, "--order", "graph")["levels"][0] == [
        "binutils-pass1", "gcc-pass1"]
    lfsplugger.setenv("LFSPLUG_ADDOPTS", "--order graph")
    assert graph_json(lfsplugger)["levels"][0] == ["binutils-pass1", "gcc-pass1"]


def test_two_sequenced_phases_are_linked_by_the_sequence(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(LFS_TREE)
    lfsplugger.make_config('[ordering]\nphases = { config = "graph" }\n')
    lines = why_lines(lfsplugger, "zlib")
    assert "after gcc-pass1: sequence (sequence)" in lines
    assert not [line for line in lines if ": phase (" in line]


def test_graph_order_puts_a_misplaced_phase_in_its_place(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"1-system/01-zlib.sh": "# lfsplug: phase=system",
                          "2-cross/01-binutils-pass1.sh": "# lfsplug: phase=cross"})
    assert plan_names(lfsplugger) == ["zlib", "binutils-pass1"]  # sequence: as laid out
    assert plan_names(lfsplugger, "--order", "graph") == ["binutils-pass1", "zlib"]


def test_a_script_without_phase_goes_with_its_neighbours(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "00-setup.sh": "true",
        "chapter05/01-binutils-pass1.sh": "true",
        "chapter08/01-zlib.sh": "true",
        "zz/01-tidy.sh": "true",
    })
    data = graph_json(lfsplugger, "--order", "graph")
    ordered = {n["name"]: (n["phase"], n["ordered_with"]) for n in data["nodes"]}
    assert ordered["setup"] == (None, "cross")
    assert ordered["tidy"] == (None, "system")
    assert data["levels"] == [["setup", "binutils-pass1"], ["zlib", "tidy"]]


def test_wide_phases_meet_through_one_hub(lfsplugger: Lfsplugger) -> None:
    tree = {f"chapter05/5{i:02d}-c{i:02d}": "true" for i in range(20)}
    tree.update({f"chapter06/6{i:02d}-t{i:02d}": "true" for i in range(20)})
    lfsplugger.make_tree(tree)
    data = graph_json(lfsplugger, "--order", "graph")
    barrier = [(e["before"], e["after"]) for e in data["edges"] if e["kind"] == "phase"]
    assert len(barrier) == 39  # not 20 x 20
    after = reachable(pairs(data))
    for c, t in itertools.product(range(20), range(20)):
        assert f"t{t:02d}" in after.get(f"c{c:02d}", set())


@pytest.mark.parametrize(("config", "message"), [
    ('[ordering]\nphase = { system = "graph" }\n',
     r"lfsplug.toml:2: \[ordering\] unknown key 'phase' \(did you mean phases\?; known: "
     r"book_revision, phases\)"),
    ('[ordering]\nphases = { system = "graph", blfs = "paralel" }\n',
     r"lfsplug.toml:2: \[ordering.phases\] blfs: 'paralel' is not one of sequence, graph"),
    ('[ordering]\nphases = "graph"\n',
     r"lfsplug.toml:2: \[ordering\] phases: expected a table of PHASE = "),
    ('# mine\n[ordering.phases]\nsystem = "graph"\n"bad phase" = "graph"\n',
     r"lfsplug.toml:4: \[ordering.phases\] bad phase: 'bad phase' is not a phase name"),
    ('[ordering]\nbook_revision = "openrc"\n',
     r"lfsplug.toml:2: \[ordering\] book_revision: 'openrc' is not one of auto, sysv, "
     r"systemd"),
    ('book_deps = "nowhere/dependencies.xml"\n',
     r"lfsplug.toml:1: book_deps: no such file: .*nowhere/dependencies.xml"),
    ('order = "random"\n', r"lfsplug.toml:1: order: 'random' is not one of sequence, graph"),
])
def test_configuration_mistakes_are_usage_errors(
    lfsplugger: Lfsplugger, config: str, message: str,
) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    lfsplugger.make_config(config)
    for command in ("list", "check", "graph"):
        result = lfsplugger.run(command)
        assert result.ret == 4, (command, result.errlines)
        assert any(re.search(message, line) for line in result.errlines), result.errlines


def test_a_phase_the_tree_does_not_have_is_a_warning(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"chapter08/801-zlib": "true"})
    lfsplugger.make_config('[ordering]\nphases = { sytem = "graph" }\n')
    result = lfsplugger.run("check", "--json", "--host-check", "off", "-p", "no:chroot")
    assert result.ret == 0
    [finding] = findings(result)
    assert (finding["code"], finding["severity"], finding["line"]) == ("ORD008", "warning", 2)
    assert "'sytem'" in finding["message"] and "system" in finding["message"]


def test_book_deps_option_must_name_a_file(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true"})
    result = lfsplugger.run("list", "--book-deps", "missing.xml")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["lfsplug: --book-deps: no such file: */missing.xml"])
    (lfsplugger.path / "book").mkdir()
    result = lfsplugger.run("list", "--book-deps", "book")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*holds no appendices/dependencies.xml*"])


def test_book_deps_that_are_not_xml_name_the_line(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "true", "deps.txt": "<appendix>\n<para>\n</appendix>\n"})
    result = lfsplugger.run("list", "--book-deps", "deps.txt")
    assert result.ret == 4
    result.stderr.fnmatch_lines(["*deps.txt:3: not valid XML: mismatched tag*"])


# -- the book's dependencies ---------------------------------------------------------------------

#: An excerpt in the shape of the LFS book's appendices/dependencies.xml (the book's text is
#: CC BY-NC-SA 2.0, its instructions MIT; see appendices/license.xml there), trimmed and with
#: the lists changed to exercise every case: entities from general.ent (undefined here) and from
#: the internal subset (with markup), init-system phrases, every list kind, a list id with the
#: book's own typo (tar-befors), a page whose title differs from its id (Procps-ng, procps).
BOOK_EXCERPT = """<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE appendix PUBLIC "-//OASIS//DTD DocBook XML V4.5//EN"
  "http://www.oasis-open.org/docbook/xml/4.5/docbookx.dtd" [
  <!ENTITY % general-entities SYSTEM "../general.ent">
  %general-entities;
  <!ENTITY systemd-udev "<phrase revision='systemd'>Systemd</phrase><phrase
    revision='sysv'>Udev</phrase>">
]>
<appendix id="appendixc">
  <title>Dependencies</title>
  <bridgehead renderas="sect2" id="gcc-dep">GCC</bridgehead>
      <segmentedlist id="gcc-depends">
        <segtitle>&dependencies;</segtitle>
        <seglistitem><seg>Bash, Binutils, GCC, Glibc, and
          Procps-ng</seg></seglistitem>
      </segmentedlist>
      <segmentedlist id="gcc-rundeps">
        <segtitle>&runtime;</segtitle>
        <seglistitem><seg>Glibc</seg></seglistitem>
      </segmentedlist>
      <segmentedlist id="gcc-testdeps">
        <segtitle>&testsuites;</segtitle>
        <seglistitem><seg>DejaGNU and Expect</seg></seglistitem>
      </segmentedlist>
      <segmentedlist id="gcc-before">
        <segtitle>&before;</segtitle>
        <seglistitem><seg>Bc and &systemd-udev;</seg></seglistitem>
      </segmentedlist>
      <segmentedlist id="gcc-optdeps">
        <segtitle>&external;</segtitle>
        <seglistitem><seg><ulink url="&blfs-book;general/gdb.html">GDB</ulink> (for tests)</seg>
        </seglistitem>
      </segmentedlist>
  <bridgehead renderas="sect2" id="procps-dep">Procps-ng</bridgehead>
      <segmentedlist id="procps-depends">
        <segtitle>&dependencies;</segtitle>
        <seglistitem><seg>Glibc<phrase revision="systemd"> and Systemd</phrase></seg>
        </seglistitem>
      </segmentedlist>
  <bridgehead renderas="sect2" id="tar-dep">Tar</bridgehead>
      <segmentedlist id="tar-befors">
        <segtitle>&before;</segtitle>
        <seglistitem><seg>Glibc</seg></seglistitem>
      </segmentedlist>
  <bridgehead renderas="sect2" id="dbus-dep" revision="systemd">D-Bus</bridgehead>
      <segmentedlist id="dbus-depends" revision="systemd">
        <segtitle>&dependencies;</segtitle>
        <seglistitem><seg>Glibc</seg></seglistitem>
      </segmentedlist>
</appendix>
"""

BOOK_TREE = {
    "lfs-commands/chapter05/501-gcc-pass1": "true",
    "lfs-commands/chapter08/801-glibc": "true",
    "lfs-commands/chapter08/802-binutils": "true",
    "lfs-commands/chapter08/803-dejagnu": "true",
    "lfs-commands/chapter08/804-expect": "true",
    "lfs-commands/chapter08/805-procps": "true",
    "lfs-commands/chapter08/806-gcc": "true",
    "lfs-commands/chapter08/807-bash": "true",
    "lfs-commands/chapter08/808-bc": "true",
    "lfs-commands/chapter08/809-udev": "true",
    "lfs-commands/chapter08/810-tar": "true",
}


def make_book_tree(lfsplugger: Lfsplugger, tree: dict[str, str] = BOOK_TREE) -> None:
    """The scripts, and the excerpt as deps.xml (written as is: make_tree adds a #! line)."""
    lfsplugger.make_tree(tree)
    (lfsplugger.path / "deps.xml").write_text(BOOK_EXCERPT, encoding="utf-8")


def book_edges(data: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    return {(e["before"], e["after"], e["kind"], e["origin"]) for e in data["edges"]
            if e["origin"].startswith("deps.xml")}


def line_of_id(text: str, ident: str) -> int:
    return text[:text.index(f'id="{ident}"')].count("\n") + 1


def test_book_dependencies_become_edges_between_chapter_8_scripts(
    lfsplugger: Lfsplugger,
) -> None:
    make_book_tree(lfsplugger)
    data = graph_json(lfsplugger, "lfs-commands", "--book-deps", "deps.xml")

    def at(ident: str) -> str:
        return f"deps.xml line {line_of_id(BOOK_EXCERPT, ident)} ({ident})"

    assert book_edges(data) == {
        ("glibc", "gcc", "depends", at("gcc-depends")),
        ("binutils", "gcc", "depends", at("gcc-depends")),
        ("procps", "gcc", "depends", at("gcc-depends")),  # Procps-ng is page procps
        ("glibc", "gcc", "runtime", at("gcc-rundeps")),
        ("dejagnu", "gcc", "test", at("gcc-testdeps")),
        ("expect", "gcc", "test", at("gcc-testdeps")),
        ("gcc", "bc", "before", at("gcc-before")),
        ("gcc", "udev", "before", at("gcc-before")),  # sysv: no systemd script
        ("glibc", "procps", "depends", at("procps-depends")),
    }
    assert line_of_id(BOOK_EXCERPT, "gcc-depends") == 12
    # sequence order all the same: the book's edges agree with it
    assert data["mode"] == "sequence"


def test_book_dependencies_info_findings(lfsplugger: Lfsplugger) -> None:
    make_book_tree(lfsplugger)
    result = lfsplugger.run("check", "lfs-commands", "--json", "--book-deps", "deps.xml",
                            "--host-check", "off", "-p", "no:chroot", "--shellcheck", "off")
    assert result.ret == 0
    ours = [f for f in findings(result) if f["code"].startswith("ORD")]
    assert sorted((f["code"], f["severity"], f["line"] or 0) for f in ours) == [
        ("ORD009", "info", 0), ("ORD010", "info", line_of_id(BOOK_EXCERPT, "tar-befors"))]
    summary = next(f for f in ours if f["code"] == "ORD009")
    assert summary["message"] == (
        "the book's dependencies (sysv): 9 edges between 8 chapter 8 scripts; 1 dependency "
        "on a package built later in chapter 8 left to the temporary tools")
    assert Path(summary["path"]).name == "deps.xml"
    before = next(f for f in ours if f["code"] == "ORD010")
    assert before["message"] == ("tar-befors: the book wants tar installed before glibc, but "
                                 "the layout builds glibc first; the layout's order stands")


def test_book_dependencies_let_chapter_8_build_in_parallel(lfsplugger: Lfsplugger) -> None:
    make_book_tree(lfsplugger)
    lfsplugger.make_config('book_deps = "deps.xml"\n[ordering]\nphases = { system = "graph" }\n')
    data = graph_json(lfsplugger, "lfs-commands")
    assert data["levels"] == [
        ["gcc-pass1"],
        ["glibc", "binutils", "dejagnu", "expect", "bash", "tar"],
        ["procps"],
        ["gcc"],
        ["bc", "udev"],
    ]
    assert "after procps: depends (deps.xml line 12 (gcc-depends))" in why_lines(
        lfsplugger, "gcc", "lfs-commands")


def test_book_dependencies_for_systemd(lfsplugger: Lfsplugger) -> None:
    tree = {k: v for k, v in BOOK_TREE.items() if "udev" not in k}
    tree["lfs-commands/chapter08/809-systemd"] = "true"
    tree["lfs-commands/chapter08/811-dbus"] = "true"
    make_book_tree(lfsplugger, tree)
    edges = {(b, a, k) for b, a, k, _ in book_edges(graph_json(
        lfsplugger, "lfs-commands", "--book-deps", "deps.xml"))}
    assert {("gcc", "systemd", "before"), ("glibc", "dbus", "depends")} <= edges
    assert ("systemd", "procps", "depends") not in edges  # systemd is built after procps
    lfsplugger.make_config('[ordering]\nbook_revision = "sysv"\n')
    edges = {(b, a, k) for b, a, k, _ in book_edges(graph_json(
        lfsplugger, "lfs-commands", "--book-deps", "deps.xml"))}
    assert ("glibc", "dbus", "depends") not in edges


def test_book_dependencies_without_chapter_8(lfsplugger: Lfsplugger) -> None:
    make_book_tree(lfsplugger, {"01-a.sh": "true"})
    result = lfsplugger.run("check", "--json", "--book-deps", "deps.xml")
    [finding] = [f for f in findings(result) if f["code"].startswith("ORD")]
    assert finding["code"] == "ORD009"
    assert "no script is in phase system" in finding["message"]


def book_tree(revision: str) -> dict[str, str]:
    """The book's chapters 5 to 8 as a jhalfs tree: one scriptlet per page, book order."""
    skip = {"introduction", "pkgmgt", "aboutdebug", "stripping", "cleanup", "changingowner",
            "chroot", "kernfs", "creatingdirs", "createfiles"}
    other = {"sysv": {"markupsafe", "jinja2", "systemd", "dbus"},
             "systemd": {"udev", "sysklogd", "sysvinit"}}[revision]
    tree = {}
    for chapter in (5, 6, 7, 8):
        pages = [p for p in book_pages(chapter) if p not in skip | other]
        for number, page in enumerate(pages, 1):
            tree[f"lfs-commands/chapter0{chapter}/{chapter}{number:02d}-{page}"] = "true"
    return tree


@needs_book
@pytest.mark.parametrize("revision", ["sysv", "systemd"])
def test_the_books_own_dependencies_order_its_chapter_8(
    lfsplugger: Lfsplugger, revision: str,
) -> None:
    lfsplugger.make_tree(book_tree(revision))
    lfsplugger.make_config(f'book_deps = "{BOOK}"\n[ordering]\nphases = {{ system = "graph" }}\n')
    result = lfsplugger.run("check", "lfs-commands", "--json", "--host-check", "off",
                            "-p", "no:chroot", "--shellcheck", "off")
    assert result.ret == 0, [f for f in findings(result) if f["severity"] == "error"]
    ours = [f for f in findings(result) if f["code"].startswith("ORD")]
    assert {f["code"] for f in ours} == {"ORD009", "ORD010"}
    summary = next(f for f in ours if f["code"] == "ORD009")
    assert summary["message"].startswith(f"the book's dependencies ({revision}): ")
    # the book's four "before" entries that its own order contradicts
    contradictions = {f["message"].split(":")[0] for f in ours if f["code"] == "ORD010"}
    assert contradictions == {"coreutils-before", "ncurses-before", "sed-before"}

    data = graph_json(lfsplugger, "lfs-commands")
    text = (BOOK / "appendices" / "dependencies.xml").read_text()
    gcc = {(e["before"], e["kind"], e["origin"]) for e in data["edges"] if e["after"] == "gcc"}
    at = f"dependencies.xml line {line_of_id(text, 'gcc-depends')} (gcc-depends)"
    assert {("binutils", "depends", at), ("gmp", "depends", at), ("mpfr", "depends", at),
            ("mpc", "depends", at), ("glibc@chapter08", "depends", at)} <= gcc
    system = [n["name"] for n in data["nodes"] if n["ordered_with"] == "system"]
    system_levels = [lv for lv in data["levels"] if set(lv) <= set(system)]
    assert len(system_levels) < len(system) / 2  # chapter 8 gains real parallelism
    position = {name: i for i, name in enumerate(n["name"] for n in data["nodes"])}
    assert all(position[a] < position[b] for a, b in pairs(data))
    # the cross toolchain, the temporary tools: still one after the other
    cross = [n["name"] for n in data["nodes"] if n["ordered_with"] == "cross"]
    assert data["levels"][: len(cross)] == [[name] for name in cross]


# -- soft cycles ---------------------------------------------------------------------------------


def broken_cycle_in(message: str) -> list[str]:
    """The path of a ``dependency cycle a → b → a broken at ...`` warning."""
    match = re.match(r"dependency cycle (.+) broken at the weakest edge: ", message)
    assert match, message
    return match.group(1).split(ARROW)


def test_a_cycle_of_soft_edges_is_broken_at_the_weakest(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "# lfsplug: recommends=b\necho a >> order.txt",
        "02-b.sh": "# lfsplug: optional=a\necho b >> order.txt",
    })
    result = lfsplugger.run("check", "--json", "--order", "graph")
    assert result.ret == 0
    [finding] = findings(result)
    assert (finding["code"], finding["severity"]) == ("ORD007", "warning")
    assert finding["message"] == ("dependency cycle a → b → a broken at the weakest edge: "
                                  "a → b (optional) is ignored")
    assert (Path(finding["path"]).name, finding["line"]) == ("02-b.sh", 2)
    assert "02-b.sh: optional= from # lfsplug: header line 2" in finding["hint"]
    assert plan_names(lfsplugger, "--order", "graph") == ["b", "a"]  # b waits: recommends
    data = graph_json(lfsplugger, "--order", "graph")
    assert data["dropped"] == [{"before": "a", "after": "b", "kind": "optional",
                                "origin": "02-b.sh: optional= from # lfsplug: header line 2"}]
    assert lfsplugger.run("run", "--order", "graph").ret == 0
    assert ran_in_order(lfsplugger) == ["b", "a"]


def test_a_cycle_through_hard_and_soft_edges_loses_the_soft_one(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "# lfsplug: depends=c",
        "02-b.sh": "# lfsplug: after=a",
        "03-c.sh": "# lfsplug: recommends=b",
    })
    result = lfsplugger.run("check", "--json", "--order", "graph")
    assert result.ret == 0
    [finding] = findings(result)
    assert finding["code"] == "ORD007"
    assert finding["message"].endswith("broken at the weakest edge: b → c (recommends) is ignored")
    assert set(broken_cycle_in(finding["message"])) == {"a", "b", "c"}
    assert plan_names(lfsplugger, "--order", "graph") == ["c", "a", "b"]


def test_weakest_first_optional_then_recommends(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "# lfsplug: optional=b",
        "02-b.sh": "# lfsplug: recommends=a",
    })
    [finding] = findings(lfsplugger.run("check", "--json", "--order", "graph"))
    assert "b → a (optional) is ignored" in finding["message"]


def test_a_cycle_of_hard_edges_is_not_broken(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-a.sh": "# lfsplug: after=b", "02-b.sh": "# lfsplug: after=a"})
    result = lfsplugger.run("check", "--json", "--order", "graph")
    assert result.ret == 6
    assert codes(result) == ["ORD005"]


def test_a_soft_self_dependency_is_a_warning(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({"01-gcc.sh": "# lfsplug: provides=cc optional=cc\ntouch ran"})
    result = lfsplugger.run("check", "--json")
    assert result.ret == 0
    [finding] = findings(result)
    assert (finding["code"], finding["severity"], finding["line"]) == ("ORD007", "warning", 2)
    assert finding["message"] == "gcc optional on itself: ignored"
    assert lfsplugger.run("run").ret == 0


def test_every_cycle_is_reported_with_the_self_dependencies(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({
        "01-a.sh": "# lfsplug: depends=b", "02-b.sh": "# lfsplug: depends=a",
        "03-c.sh": "# lfsplug: depends=d", "04-d.sh": "# lfsplug: depends=c",
        "05-e.sh": "# lfsplug: depends=e",
    })
    result = lfsplugger.run("check", "--json", "--order", "graph")
    assert result.ret == 6
    assert codes(result) == ["ORD004", "ORD005", "ORD005"]
    cycles = [set(cycle_in(f["message"])) for f in findings(result) if f["code"] == "ORD005"]
    assert sorted(cycles, key=sorted) == [{"a", "b"}, {"c", "d"}]
    listed = lfsplugger.run("list", "--order", "graph")
    assert listed.ret == 6
    listed.stderr.fnmatch_lines(["01-a.sh:2: error ORD005: dependency cycle: a → b → a",
                                 "03-c.sh:2: error ORD005: dependency cycle: c → d → c",
                                 "05-e.sh:2: error ORD004: e depends on itself (depends)"])


# -- the graph command ---------------------------------------------------------------------------


GRAPH_TREE = {
    "chapter05/501-binutils-pass1": "# lfsplug: sbu=1",
    "chapter05/502-gcc-pass1": "# lfsplug: sbu=12 version=14.2.0",
    "chapter05/503-linux-headers": "# lfsplug: sbu=0.1",
    "chapter08/801-glibc": "# lfsplug: sbu=12",
    "chapter08/802-zlib": "# lfsplug: sbu=0.1 recommends=glibc",
    "chapter08/803-file": "# lfsplug: sbu=0.1",
}
GRAPH_CONFIG = '[ordering]\nphases = { system = "graph" }\n'


def test_graph_text_marks_the_critical_path_in_levels(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(GRAPH_TREE)
    lfsplugger.make_config(GRAPH_CONFIG)
    result = lfsplugger.run("graph")
    assert result.ret == 0
    assert result.outlines == [
        "mixed order: 6 scripts in 5 levels, 5 edges; scripts of one level may run at once",
        "critical path (*): binutils-pass1 → gcc-pass1 → linux-headers → glibc → zlib"
        "  [25.2 SBU of 25.3 SBU in all]",
        "level 1",
        "  * binutils-pass1  cross      1.0 SBU",
        "level 2",
        "  * gcc-pass1       cross     12.0 SBU",
        "level 3",
        "  * linux-headers   cross      0.1 SBU",
        "level 4",
        "  * glibc           system    12.0 SBU",
        "    file            system     0.1 SBU",
        "level 5",
        "  * zlib            system     0.1 SBU",
    ]


def test_graph_dot(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(GRAPH_TREE)
    lfsplugger.make_config(GRAPH_CONFIG)
    result = lfsplugger.run("graph", "--format", "dot")
    assert result.ret == 0
    lines = result.outlines
    assert lines[0] == "digraph lfsplug {" and lines[-1] == "}"
    edge = re.compile(r'^\s*"([^"]+)" -> "([^"]+)" \[(.*)\];$')
    node = re.compile(r'^\s*"([^"]+)" \[label=.*\];$')
    edges = {(m[1], m[2]): m[3] for m in map(edge.match, lines) if m}
    nodes = {m[1]: m[0] for m in map(node.match, lines) if m}
    assert set(nodes) == {"binutils-pass1", "gcc-pass1", "linux-headers", "glibc", "zlib",
                          "file"}
    assert set(edges) == {("binutils-pass1", "gcc-pass1"), ("gcc-pass1", "linux-headers"),
                          ("linux-headers", "glibc"), ("linux-headers", "file"),
                          ("glibc", "zlib")}
    assert "penwidth=2.5" in edges[("glibc", "zlib")] and "#d62728" in edges[("glibc", "zlib")]
    assert "#d62728" not in edges[("linux-headers", "file")]
    assert "style=dotted" in edges[("linux-headers", "file")]  # a barrier only
    assert "#d62728" in nodes["glibc"] and "#d62728" not in nodes["file"]
    assert 'label="gcc-pass1\\n14.2.0\\n12.0 SBU"' in nodes["gcc-pass1"]
    clusters = [line.strip() for line in lines if line.strip().startswith("label=")]
    assert clusters == ['label="cross";', 'label="system";']


def test_graph_mermaid(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(GRAPH_TREE)
    lfsplugger.make_config(GRAPH_CONFIG)
    result = lfsplugger.run("graph", "--format", "mermaid")
    assert result.ret == 0
    lines = [line.strip() for line in result.outlines]
    assert lines[0] == "flowchart LR"
    ids = {m[2]: m[1] for m in map(re.compile(r'^(n\d+)\["([^"<]+)').match, lines) if m}
    assert set(ids) == {"binutils-pass1", "gcc-pass1", "linux-headers", "glibc", "zlib", "file"}
    assert f"{ids['glibc']} ==>|recommends| {ids['zlib']}" in lines
    assert f"{ids['linux-headers']} -->|phase| {ids['file']}" in lines
    assert 'subgraph p0["cross"]' in lines and "end" in lines
    [classes] = [line for line in lines if line.startswith("class ")]
    critical = ["binutils-pass1", "gcc-pass1", "linux-headers", "glibc", "zlib"]
    assert classes == f"class {','.join(ids[n] for n in critical)} critical"
    assert any(line.startswith("classDef critical ") for line in lines)
    assert any(line.startswith("linkStyle ") for line in lines)


def test_graph_json(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree(GRAPH_TREE)
    lfsplugger.make_config(GRAPH_CONFIG)
    data = graph_json(lfsplugger)
    assert data["mode"] == "mixed" and data["unit"] == "SBU"
    assert data["critical_path"] == ["binutils-pass1", "gcc-pass1", "linux-headers", "glibc",
                                     "zlib"]
    assert data["critical_duration"] == pytest.approx(25.2)
    assert data["levels"] == [["binutils-pass1"], ["gcc-pass1"], ["linux-headers"],
                              ["glibc", "file"], ["zlib"]]
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["gcc-pass1"] == {
        "name": "gcc-pass1", "version": "14.2.0", "path": str(
            lfsplugger.path / "chapter05" / "502-gcc-pass1"),
        "phase": "cross", "ordered_with": "cross", "level": 1, "duration": 12.0,
        "estimated": False, "critical": True,
    }
    kinds = {(e["before"], e["after"]): (e["kind"], e["origin"], e["critical"])
             for e in data["edges"]}
    assert kinds[("glibc", "zlib")] == (
        "recommends", "chapter08/802-zlib: recommends= from # lfsplug: header line 2", True)
    assert kinds[("linux-headers", "file")] == ("phase", "phase barrier cross → system", False)
    assert kinds[("binutils-pass1", "gcc-pass1")] == ("sequence", "sequence", True)


def test_graph_names_are_escaped(lfsplugger: Lfsplugger) -> None:
    lfsplugger.make_tree({'01-say "hi".sh': "true", "02-b.sh": 'true'})
    dot = lfsplugger.run("graph", "--format", "dot")
    assert '  "say \\"hi\\"" -> "b" [tooltip="sequence", color="#d62728", penwidth=2.5, ' \
           'style=bold];' in dot.outlines
    mermaid = lfsplugger.run("graph", "--format", "mermaid")
    assert '  n0["say #quot;hi#quot;"]' in mermaid.outlines


def test_graph_errors_and_empty_trees(lfsplugger: Lfsplugger) -> None:
    assert lfsplugger.run("graph").ret == 5
    lfsplugger.make_tree({"01-a.sh": "# lfsplug: depends=b", "02-b.sh": "# lfsplug: depends=a"})
    result = lfsplugger.run("graph", "--format", "json")
    assert result.ret == 6
    assert result.outlines == []
    result.stderr.fnmatch_lines(["01-a.sh:2: error ORD005: dependency cycle: a → b → a"])
    bad = lfsplugger.run("graph", "--format", "svg")
    assert bad.ret == 4
    bad.stderr.fnmatch_lines(["*'svg' is not one of*"])


# -- the critical path ---------------------------------------------------------------------------


def report_seconds(report: Path) -> dict[str, float]:
    """Package -> build seconds from a jhalfs SBU report (``[gcc-pass1-14.2.0]`` blocks)."""
    seconds: dict[str, float] = {}
    name = None
    for line in report.read_text().splitlines():
        header = re.match(r"^\s*\[(.+?)(?:-[\d.]+[a-z]?\d*)?\]\s*$", line)
        if header:
            name = header.group(1)
        elif name and line.startswith("Build time in seconds is:"):
            seconds.setdefault(name, float(line.split(":")[1]))
    return seconds


@pytest.mark.skipif(not REPORTS.is_dir(), reason=no_data(REPORTS))
def test_critical_path_follows_real_build_times(lfsplugger: Lfsplugger) -> None:
    report = sorted(REPORTS.glob("*.report"))[-1]
    seconds = report_seconds(report)
    assert seconds["gcc-pass1"] > 10 * seconds["linux-headers"]

    class History:
        @lfsplug.hookimpl
        def lfsplug_expected_duration(self, script: Script) -> float | None:
            return seconds.get(script.name)

    lfsplugger.make_tree({
        "01-binutils-pass1.sh": "true",
        "02-gcc-pass1.sh": "# lfsplug: after=binutils-pass1",
        "03-linux-headers.sh": "true",
        "04-glibc.sh": "# lfsplug: after=gcc-pass1, linux-headers",
        "05-mystery.sh": "# lfsplug: after=glibc",  # not in the report: counts as average
    })
    lfsplugger.run("graph", "--order", "graph", plugins=[History()])
    result = lfsplugger.run("graph", "--order", "graph", "--format", "json",
                            plugins=[History()])
    data = json.loads("\n".join(result.outlines))
    assert data["critical_path"] == ["binutils-pass1", "gcc-pass1", "glibc", "mystery"]
    nodes = {n["name"]: n for n in data["nodes"]}
    assert nodes["gcc-pass1"]["duration"] == seconds["gcc-pass1"]
    assert nodes["mystery"]["estimated"] is True
    known = [seconds[n] for n in ("binutils-pass1", "gcc-pass1", "linux-headers", "glibc")]
    assert nodes["mystery"]["duration"] == pytest.approx(sum(known) / 4)


def test_sbu_metadata_is_scaled_to_the_seconds_history_gives(lfsplugger: Lfsplugger) -> None:
    class History:
        @lfsplug.hookimpl
        def lfsplug_expected_duration(self, script: Script) -> float | None:
            return {"a": 100.0}.get(script.name)

    lfsplugger.make_tree({"01-a.sh": "# lfsplug: sbu=1", "02-b.sh": "# lfsplug: sbu=3"})
    result = lfsplugger.run("graph", "--order", "graph", "--format", "json", plugins=[History()])
    data = json.loads("\n".join(result.outlines))
    nodes = {n["name"]: n["duration"] for n in data["nodes"]}
    assert nodes == {"a": 100.0, "b": 300.0}  # a has both: 1 SBU is 100 s here
    assert data["unit"] == "s" and data["critical_path"] == ["b"]


# -- properties ----------------------------------------------------------------------------------

KINDS = ("depends", "after", "before", "recommends", "optional")
HARD_KINDS = {"depends", "after", "before"}


def closure(n: int, arcs: set[tuple[int, int]]) -> list[set[int]]:
    """Reference reachability (at least one step) by repeated relaxation: slow and obvious."""
    reach = [{v for u, v in arcs if u == w} for w in range(n)]
    changed = True
    while changed:
        changed = False
        for w in range(n):
            more = set().union(*(reach[x] for x in reach[w])) - reach[w] if reach[w] else set()
            if more:
                reach[w] |= more
                changed = True
    return reach


def components(n: int, arcs: set[tuple[int, int]]) -> set[frozenset[int]]:
    """Reference strongly connected components with a cycle (two nodes or more)."""
    reach = closure(n, {(u, v) for u, v in arcs if u != v})
    found = {frozenset({w} | {x for x in reach[w] if w in reach[x]}) for w in range(n)}
    return {c for c in found if len(c) > 1}


random_arcs = st.integers(1, 10).flatmap(lambda n: st.tuples(
    st.just(n),
    st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.integers(0, 3)),
            max_size=3 * n),
))


@given(random_arcs)
@settings(max_examples=300, deadline=None)
def test_property_graph_algorithms(case: tuple[int, set[tuple[int, int, int]]]) -> None:
    n, raw = case
    succ: algo.Succ = [{} for _ in range(n)]
    for u, v, s in raw:
        if u != v:
            succ[u][v] = max(s, succ[u].get(v, -1))
    arcs = {(u, v) for u in range(n) for v in succ[u]}
    sccs = components(n, arcs)
    assert {frozenset(c) for c in algo.strongly_connected(range(n), succ) if len(c) > 1} == sccs
    order = algo.topological_order(succ)
    assert (len(order) == n) == (not sccs)
    place = {u: i for i, u in enumerate(order)}
    assert all(place[u] < place[v] for u, v in arcs if u in place and v in place)
    for component in sccs:
        start = min(component)
        cycle = algo.shortest_cycle(start, component, succ)
        assert cycle[0] == cycle[-1] == start
        assert all(v in succ[u] for u, v in itertools.pairwise(cycle))
        assert set(cycle) <= component
    if not sccs:
        import toposort

        expected = list(toposort.toposort({v: {u for u, w in arcs if w == v}
                                           for v in range(n)}))
        level = algo.levels(order, succ)
        assert [{v for v in range(n) if level[v] == i} for i in range(len(expected))] == expected
        path = algo.longest_path(order, succ, [1.0] * n)
        assert all(v in succ[u] for u, v in itertools.pairwise(path))
        assert len(path) == len(expected)  # unit weights: the longest path has one per level


def random_scripts(base: Path, n: int, edges: set[tuple[int, int, str]],
                   phases: list[str | None] | None = None) -> list[Script]:
    """Scripts s0..s(n-1) whose metadata declares ``edges`` as (declarer, target, kind)."""
    scripts = [Script(f"s{i}", base / f"{i:02d}-s{i}.sh", base, index=i,
                      phase=phases[i] if phases else None) for i in range(n)]
    for declarer, target, kind in sorted(edges):
        script = scripts[declarer]
        if kind in ("after", "before"):
            getattr(script, kind).append(f"s{target}")
        else:
            getattr(script, kind).append(Requirement(f"s{target}"))
        script.origins[kind] = Origin("# lfsplug: header", line=2)
    return scripts


def runs_before(declarer: int, target: int, kind: str) -> tuple[int, int]:
    """(before, after) of the edge a declaration makes."""
    return (declarer, target) if kind == "before" else (target, declarer)


ONLY_ORDERING = ("-p", "no:discovery", "-p", "no:validation", "-p", "no:hostreqs")
random_declarations = st.integers(1, 7).flatmap(lambda n: st.tuples(
    st.just(n),
    st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1), st.sampled_from(KINDS)),
            max_size=2 * n),
))


@given(random_declarations)
@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_property_every_edge_is_kept_and_every_cycle_reported(
    lfsplugger: Lfsplugger, case: tuple[int, set[tuple[int, int, str]]],
) -> None:
    n, declared = case
    scripts = random_scripts(lfsplugger.path, n, declared)
    result = lfsplugger.run("check", "--json", "--order", "graph", *ONLY_ORDERING,
                            plugins=[Inject(scripts)])
    found = findings(result)
    hard = {runs_before(*d) for d in declared if d[2] in HARD_KINDS}
    hard_loops = [d for d in declared if d[0] == d[1] and d[2] in HARD_KINDS]
    hard_sccs = components(n, hard)
    if hard_loops or hard_sccs:
        assert result.ret == 6
        assert len([f for f in found if f["code"] == "ORD004"]) == len(hard_loops)
        cycles = [cycle_in(f["message"]) for f in found if f["code"] == "ORD005"]
        assert len(cycles) == len(hard_sccs)
        for cycle in cycles:
            nodes = [int(name[1:]) for name in cycle]
            assert nodes[0] == nodes[-1]
            assert all(pair in hard for pair in itertools.pairwise(nodes))
            assert any(set(nodes) <= c for c in hard_sccs)
        return
    assert result.ret == 0, found
    data = graph_json(lfsplugger, "--order", "graph", *ONLY_ORDERING, plugins=[Inject(scripts)])
    place = {node["name"]: i for i, node in enumerate(data["nodes"])}
    dropped = {(int(e["before"][1:]), int(e["after"][1:])) for e in data["dropped"]}
    assert len([f for f in found if f["code"] == "ORD007"]) >= len(dropped) > 0 or not dropped
    for declarer, target, kind in declared:
        before, after = runs_before(declarer, target, kind)
        if before != after and (before, after) not in dropped:
            assert place[f"s{before}"] < place[f"s{after}"], (declarer, target, kind)
    assert dropped.isdisjoint(hard)  # only soft edges are ever given up
    level = {name: i for i, names in enumerate(data["levels"]) for name in names}
    assert all(level[e["before"]] < level[e["after"]] for e in data["edges"])


@given(st.integers(2, 12).flatmap(lambda n: st.tuples(
    st.lists(st.sampled_from(["cross", "temp", "system", "blfs"]), min_size=n, max_size=n),
    st.sets(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=2 * n),
    st.sampled_from(["graph", "sequence"]),
)))
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_property_phases_finish_before_the_next_one_starts(
    lfsplugger: Lfsplugger, case: tuple[list[str], set[tuple[int, int]], str],
) -> None:
    phases, arcs, system_mode = case
    rank = {"cross": 0, "temp": 1, "system": 2, "blfs": 3}
    phases = sorted(phases, key=rank.__getitem__)  # laid out in the book's phase order
    forward = {(min(a, b), max(a, b), "depends") for a, b in arcs if a != b}
    scripts = random_scripts(lfsplugger.path, len(phases), {(b, a, k) for a, b, k in forward},
                             list(phases))
    (lfsplugger.path / "lfsplug.toml").write_text(
        f'[ordering]\nphases = {{ system = "{system_mode}", blfs = "graph" }}\n')
    data = graph_json(lfsplugger, *ONLY_ORDERING, plugins=[Inject(scripts)])
    after = reachable(pairs(data))
    for a, b in itertools.combinations(range(len(phases)), 2):
        if rank[phases[a]] < rank[phases[b]]:
            assert f"s{b}" in after.get(f"s{a}", set()), (phases, a, b)
    place = {node["name"]: i for i, node in enumerate(data["nodes"])}
    assert all(place[f"s{a}"] < place[f"s{b}"] for a, b, _ in forward)
    cross = [f"s{i}" for i, p in enumerate(phases) if p in ("cross", "temp")]
    assert all(f"s{int(x[1:]) + 1}" in after.get(x, set()) for x in cross[:-1])  # a sequence
