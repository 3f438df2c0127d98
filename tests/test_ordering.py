"""The ordering plugin: sequence and graph order, requirements, versions, cycles, explanations."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest

from lfsplug.testing import Lfsplugger, RunResult

ARROW = " → "


def findings(result: RunResult) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads("\n".join(result.outlines))["findings"]
    return data


def codes(result: RunResult) -> list[str]:
    return sorted(f["code"] for f in findings(result))


def plan_names(lfsplugger: Lfsplugger, *args: str) -> list[str]:
    result = lfsplugger.run("list", "--json", *args)
    assert result.ret == 0, result.outlines + result.errlines
    return [s["name"] for s in json.loads("\n".join(result.outlines))["scripts"]]


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
    result = lfsplugger.run("run", "--order", "sequence", "--host-check", "off")
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
])
def test_met_version_requirement(lfsplugger: Lfsplugger, have: str, need: str) -> None:
    lfsplugger.make_tree({
        "01-glibc.sh": f"# lfsplug: version={have}",
        "02-gcc.sh": f"# lfsplug: depends=glibc{need}",
    })
    result = lfsplugger.run("check", "--json")
    assert result.ret == 0, findings(result)
    assert findings(result) == []


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
