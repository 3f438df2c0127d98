"""Ordering: edges from the layout's sequence and the metadata, and a deterministic plan.

``--order sequence`` (the default, as jhalfs builds) chains every script after the one before
it; ``--order graph`` keeps only declared edges (``depends``, ``recommends``, ``optional``,
``after``, ``before``). Dependencies resolve by script name or by what scripts ``provide``.
Missing providers, unmet versions, self-dependencies and cycles become findings (exit 6).
"""

from __future__ import annotations

import heapq
import itertools
from typing import TYPE_CHECKING

from lfsplug import Edge, Finding, Plan, Requirement, Script, Severity, hookimpl
from lfsplug.registry import ScriptRegistry
from lfsplug.version import satisfies

if TYPE_CHECKING:
    from lfsplug.config import Config, OptionParser
    from lfsplug.session import Session

ORDERS = ("sequence", "graph")
#: Edges whose kind is soft: a missing target is only information.
SOFT = {"recommends", "optional", "after", "before"}


@hookimpl
def lfsplug_addoption(parser: OptionParser) -> None:
    parser.addoption(
        "--order", commands=("run", "list", "check", "graph"), choices=ORDERS,
        default="sequence",
        help="sequence: each script after the one before it (as jhalfs); graph: only declared "
             "dependencies",
    )


def _origin(script: Script, key: str) -> str:
    return f"{script.relpath}: {key}= from {script.origins.get(key, 'metadata')}"


def _requirement_edges(
    session: Session, script: Script, kind: str, reqs: list[Requirement],
    providers: ScriptRegistry,
) -> list[Edge]:
    edges = []
    for req in reqs:
        found = providers.providers(req.name)
        line = _line(script, kind)
        if not found:
            severity = Severity.ERROR if kind == "depends" else Severity.INFO
            session.add_finding(Finding(
                "ORD001" if kind == "depends" else "ORD002", severity,
                f"{kind} on {req}, which no script provides", str(script.path), line,
                "add a script that provides it, or fix the name",
            ))
            continue
        for provider in found:
            if req.op and req.version and kind == "depends":
                have = provider.version
                if have is None or not satisfies(have, req.op, req.version):
                    session.add_finding(Finding(
                        "ORD003", Severity.ERROR,
                        f"needs {req}, but {provider.name} is version {have or 'unknown'}",
                        str(script.path), line, f"update {provider.relpath} or the requirement",
                    ))
            edges.append(Edge(provider.name, script.name, kind, _origin(script, kind)))
    return edges


def _line(script: Script, key: str) -> int | None:
    origin = script.origins.get(key, "")
    tail = origin.rsplit(" line ", 1)
    return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else None


@hookimpl(trylast=True)
def lfsplug_script_edges(session: Session, scripts: list[Script]) -> list[Edge] | None:
    edges: list[Edge] = []
    if session.config.getoption("order", "sequence") == "sequence":
        edges.extend(Edge(a.name, b.name, "sequence", "sequence")
                     for a, b in itertools.pairwise(scripts))
    providers = ScriptRegistry(scripts)  # the scripts given, which a plugin may have narrowed
    for script in scripts:
        for kind in ("depends", "recommends", "optional"):
            edges.extend(_requirement_edges(session, script, kind, getattr(script, kind),
                                            providers))
        for name in script.after:
            edges.extend(Edge(p.name, script.name, "after", _origin(script, "after"))
                         for p in providers.providers(name))
        for name in script.before:
            edges.extend(Edge(script.name, p.name, "before", _origin(script, "before"))
                         for p in providers.providers(name))
    return edges


def topological_order(
    scripts: list[Script], preds: dict[str, set[str]]
) -> tuple[list[Script], set[str]]:
    """Kahn's algorithm, ties broken by layout order; returns the order and the nodes left in
    cycles (empty when there is none)."""
    by_name = {s.name: s for s in scripts}
    waiting = {name: len(p) for name, p in preds.items()}
    succs: dict[str, list[str]] = {name: [] for name in preds}
    for name, before in preds.items():
        for b in before:
            succs[b].append(name)
    ready = [(by_name[n].index, n) for n, count in waiting.items() if count == 0]
    heapq.heapify(ready)
    order: list[Script] = []
    while ready:
        _, name = heapq.heappop(ready)
        order.append(by_name[name])
        for succ in succs[name]:
            waiting[succ] -= 1
            if waiting[succ] == 0:
                heapq.heappush(ready, (by_name[succ].index, succ))
    return order, {n for n, count in waiting.items() if count > 0}


def find_cycle(nodes: set[str], preds: dict[str, set[str]]) -> list[str]:
    """One cycle among ``nodes`` as a path ``[a, b, ..., a]`` (a waits for b waits for ...)."""
    start = min(nodes)
    path, seen = [start], {start: 0}
    node = start
    while True:
        node = min(p for p in preds[node] if p in nodes)
        if node in seen:
            cycle = [*path[seen[node]:], node]
            return list(reversed(cycle))
        seen[node] = len(path)
        path.append(node)


def _cycle_finding(cycle: list[str], edges: list[Edge], scripts: dict[str, Script]) -> Finding:
    hops = []
    for a, b in itertools.pairwise(cycle):
        edge = next((e for e in edges if e.before == a and e.after == b), None)
        hops.append(f"{a} → {b} ({edge.kind}: {edge.origin})" if edge else f"{a} → {b}")
    first = scripts[cycle[0]]
    return Finding("ORD005", Severity.ERROR, "dependency cycle: " + " → ".join(cycle),
                   str(first.path), None, "; ".join(hops))


def _durations(scripts: list[Script], config: Config) -> dict[str, float]:
    known: dict[str, float] = {}
    for script in scripts:
        value = config.hook.lfsplug_expected_duration(script=script, config=config)
        if value is None and script.sbu is not None:
            value = script.sbu
        if value is not None:
            known[script.name] = float(value)
    average = sum(known.values()) / len(known) if known else 1.0
    return {s.name: known.get(s.name, average) for s in scripts}


def critical_path(order: list[Script], preds: dict[str, set[str]],
                  durations: dict[str, float]) -> list[str]:
    """The longest chain of dependencies by expected duration."""
    finish: dict[str, float] = {}
    via: dict[str, str | None] = {}
    for script in order:
        best = max(preds[script.name], key=lambda p: finish[p], default=None)
        finish[script.name] = durations[script.name] + (finish[best] if best else 0.0)
        via[script.name] = best
    if not finish:
        return []
    node: str | None = max(finish, key=lambda n: finish[n])
    path = []
    while node is not None:
        path.append(node)
        node = via[node]
    return path[::-1]


@hookimpl(trylast=True)
def lfsplug_build_plan(session: Session, scripts: list[Script], edges: list[Edge]) -> Plan:
    by_name = {s.name: s for s in scripts}
    preds: dict[str, set[str]] = {s.name: set() for s in scripts}
    for edge in edges:
        if edge.before == edge.after:  # toposort would drop these silently: report them
            session.add_finding(Finding(
                "ORD004", Severity.ERROR, f"{edge.after} depends on itself ({edge.kind})",
                str(by_name[edge.after].path), _line(by_name[edge.after], edge.kind),
                f"remove {edge.after} from its own {edge.kind}=",
            ))
        elif edge.before in preds and edge.after in preds:
            preds[edge.after].add(edge.before)
    order, stuck = topological_order(scripts, preds)
    mode = str(session.config.getoption("order", "sequence"))
    if stuck:
        session.add_finding(_cycle_finding(find_cycle(stuck, preds), edges, by_name))
        return Plan(list(scripts), edges, [], [], mode)
    level: dict[str, int] = {}
    for script in order:
        level[script.name] = 1 + max((level[p] for p in preds[script.name]), default=-1)
    levels: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for script in order:
        levels[level[script.name]].append(script.name)
    path = critical_path(order, preds, _durations(order, session.config))
    return Plan(order, edges, levels, path, mode)
