"""Building the plan: edges checked, cycles reported or broken, phase barriers, levels, and the
critical path.

The steps, each on the graph the step before left:

1. Edges that name no script are left out (another plugin narrowed the scripts); a
   self-dependency is an error (``ORD004``), or a warning when the edge is soft (``ORD007``).
2. With phase barriers, an edge from a script of a later phase to one of an earlier phase
   contradicts them: an error reported as the cycle it makes with the barrier (``ORD005``),
   or, when the edge is soft, a warning and no edge (``ORD007``).
3. Cycles: a cycle of hard edges is an error, one finding per strongly connected component with
   its shortest cycle as a path and each edge's origin (``ORD005``). A cycle with a soft edge
   (``optional``/``test`` weaker than ``recommends``/``runtime``) is broken at its weakest edge,
   preferring one that goes against the layout's order, with a warning that says which
   (``ORD007``).
4. Phase barriers (when any phase is in graph order: a sequence already orders everything):
   the scripts of each phase that nothing in their phase waits for (its sinks)
   before those of the next phase that wait for nothing in theirs (its sources), so no script
   of a later phase starts before an earlier phase is done. Sinks x sources edges are exact;
   when that product is large (wide phases in graph order), one script, the shortest of them,
   serves as a hub (sinks -> hub -> sources), which keeps the edges linear in the scripts and
   every edge between real scripts, at the cost of that one short script's parallelism.
5. Kahn's order (ties by layout position), levels, the critical path by expected duration.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lfsplug import Edge, Finding, Plan, Script, Severity, StashKey
from lfsplug_ordering.durations import Durations, expected_durations
from lfsplug_ordering.edges import relpath
from lfsplug_ordering.graph import (
    Succ,
    levels,
    longest_path,
    shortest_cycle,
    strongly_connected,
    topological_order,
)
from lfsplug_ordering.layout import Layout, barriers_apply
from lfsplug_ordering.settings import Settings

if TYPE_CHECKING:
    from lfsplug import Session

__all__ = ["PHASE", "PLAN_INFO", "STRENGTH", "PlanInfo", "build_plan", "strength"]

#: Edge strength by kind; kinds not listed (depends, sequence, phase, a plugin's) are hard (3).
STRENGTH = {"optional": 0, "test": 0, "recommends": 1, "runtime": 1, "after": 2, "before": 2}
HARD = 3
#: Edges weaker than this are soft: a cycle may be broken there.
SOFT_BELOW = 2
PHASE = "phase"
ARROW = " → "
#: Up to this many sinks x sources, a barrier links every pair (exact parallelism).
BARRIER_EXACT = 256


def strength(kind: str) -> int:
    """How much an edge of ``kind`` binds: 0 (optional) to 3 (hard)."""
    return STRENGTH.get(kind, HARD)


@dataclass
class PlanInfo:
    """What a :class:`~lfsplug._model.Plan` does not hold and ``lfsplug graph`` draws."""

    durations: dict[str, float] = field(default_factory=dict)
    estimated: dict[str, bool] = field(default_factory=dict)
    unit: str = ""
    phases: dict[str, str | None] = field(default_factory=dict)
    #: soft edges left out to break cycles
    dropped: list[Edge] = field(default_factory=list)


PLAN_INFO = StashKey[PlanInfo]()


class _Builder:
    """The graph of one plan on layout positions, and the steps that check and complete it."""

    def __init__(self, session: Session, layout: Layout, edges: list[Edge]) -> None:
        self.session = session
        self.layout = layout
        self.scripts = layout.scripts
        self.succ: Succ = [{} for _ in self.scripts]
        self.kept: list[tuple[int, int, Edge]] = []
        self.dropped: set[tuple[int, int]] = set()
        self.failed = False
        self._by_pair: dict[tuple[int, int], list[Edge]] | None = None
        self._undo: list[tuple[int, int, int | None]] = []
        self.barrier_edges: list[Edge] = []
        self._load(edges)

    # -- 1. edges --------------------------------------------------------------------------

    def _load(self, edges: list[Edge]) -> None:
        """Edges into ``succ`` by position (the strongest kind per pair); self-loops reported."""
        position = self.layout.position
        succ, keep = self.succ, self.kept.append
        binds: dict[str, int] = {}
        for edge in edges:
            u = position.get(edge.before)
            v = position.get(edge.after)
            if u is None or v is None:
                continue  # a script another plugin left out (--only, an lfsconf.py)
            if u == v:
                self._self_loop(edge, u)
                continue
            bind = binds.get(edge.kind)
            if bind is None:
                bind = binds[edge.kind] = strength(edge.kind)
            targets = succ[u]
            if targets.get(v, -1) < bind:
                targets[v] = bind
            keep((u, v, edge))

    def _self_loop(self, edge: Edge, u: int) -> None:
        script = self.scripts[u]
        path, line = self._where(edge)
        if strength(edge.kind) < SOFT_BELOW:
            self.session.add_finding(Finding(
                "ORD007", Severity.WARNING,
                f"{script.name} {edge.kind} on itself: ignored", path, line,
                f"the edge comes from {edge.origin}",
            ))
            return
        self.failed = True
        self.session.add_finding(Finding(
            "ORD004", Severity.ERROR, f"{script.name} depends on itself ({edge.kind})",
            path, line, f"remove {script.name} from its own {edge.kind}= ({edge.origin})",
        ))

    def _where(self, edge: Edge) -> tuple[str, int | None]:
        """The file (and line) that declared ``edge``: a script's header, or the script."""
        name = edge.before if edge.kind == "before" else edge.after
        script = self.scripts[self.layout.position[name]]
        own = edge.origin.startswith(f"{relpath(script)}: ")
        return str(script.path), script.line_of(edge.kind) if own else None

    def edges_between(self, u: int, v: int) -> list[Edge]:
        """The edges from ``u`` to ``v`` (indexed on first use: only findings need it)."""
        if self._by_pair is None:
            self._by_pair = {}
            for a, b, edge in self.kept:
                self._by_pair.setdefault((a, b), []).append(edge)
        return self._by_pair.get((u, v), [])

    def _strongest(self, u: int, v: int) -> Edge:
        return max(self.edges_between(u, v), key=lambda e: strength(e.kind))

    def _hop(self, u: int, v: int) -> str:
        edge = self._strongest(u, v)
        return f"{self.scripts[u].name}{ARROW}{self.scripts[v].name} ({edge.kind}: {edge.origin})"

    def _drop(self, u: int, v: int) -> None:
        del self.succ[u][v]
        self.dropped.add((u, v))

    # -- 2. against the phase order ---------------------------------------------------------

    def check_phases(self) -> None:
        """Edges that run a later phase's script before an earlier phase's: cycles with the
        barriers when hard (an error), dropped with a warning when soft."""
        rank = self.layout.rank
        if len(rank) < 2:
            return
        node = [rank[p] for p in self.layout.phases]
        backward = [(u, v) for u, targets in enumerate(self.succ) for v in targets
                    if node[u] > node[v]]
        for u, v in backward:
            if self.succ[u][v] >= SOFT_BELOW:
                self._report_against_phases(u, v)
            else:
                self._drop_against_phases(u, v)

    def _barrier_name(self, first: str | None, then: str | None) -> str:
        return f"phase barrier {first}{ARROW}{then}"

    def _report_against_phases(self, u: int, v: int) -> None:
        self.failed = True
        a, b = self.scripts[u], self.scripts[v]
        later, earlier = self.layout.phases[u], self.layout.phases[v]
        hops = [self._hop(u, v),
                f"{b.name}{ARROW}{a.name} ({PHASE}: {self._barrier_name(earlier, later)})"]
        edge = self._strongest(u, v)
        path, line = self._where(edge)
        self.session.add_finding(Finding(
            "ORD005", Severity.ERROR,
            f"dependency cycle: {a.name}{ARROW}{b.name}{ARROW}{a.name} ({a.name} is in phase "
            f"{later}, which runs after {earlier})", path, line, "; ".join(hops),
        ))

    def _drop_against_phases(self, u: int, v: int) -> None:
        a, b = self.scripts[u], self.scripts[v]
        later, earlier = self.layout.phases[u], self.layout.phases[v]
        edge = self._strongest(u, v)
        path, line = self._where(edge)
        self._drop(u, v)
        self.session.add_finding(Finding(
            "ORD007", Severity.WARNING,
            f"{b.name} ({earlier}) {edge.kind} on {a.name}, which phase {later} builds after "
            f"{earlier} is done: ignored", path, line, f"the edge comes from {edge.origin}",
        ))

    # -- 3. cycles -------------------------------------------------------------------------

    def resolve_cycles(self) -> bool:
        """Report the cycles of hard edges, or break those with soft ones; False when the
        graph has a cycle of hard edges."""
        order = topological_order(self.succ)
        if len(order) == len(self.scripts):
            return not self.failed
        done = set(order)
        stuck = [u for u in range(len(self.scripts)) if u not in done]
        hard = [c for c in strongly_connected(stuck, self.succ, SOFT_BELOW) if len(c) > 1]
        if hard:
            self.failed = True
            for component in hard:
                self._report_cycle(shortest_cycle(component[0], set(component), self.succ,
                                                  SOFT_BELOW))
            return False
        work = [c for c in strongly_connected(stuck, self.succ) if len(c) > 1]
        while work:
            component = work.pop()
            cycle = shortest_cycle(component[0], set(component), self.succ)
            self._break(cycle)
            work.extend(c for c in strongly_connected(component, self.succ) if len(c) > 1)
        return not self.failed

    def _path(self, cycle: list[int]) -> str:
        return ARROW.join(self.scripts[u].name for u in cycle)

    def _report_cycle(self, cycle: list[int]) -> None:
        first = self.scripts[cycle[0]]
        hops = [self._hop(u, v) for u, v in itertools.pairwise(cycle)]
        line = None
        for u, v in itertools.pairwise(cycle):  # the line where the first script takes part
            path, found = self._where(self._strongest(u, v))
            if path == str(first.path) and found is not None:
                line = found
                break
        self.session.add_finding(Finding(
            "ORD005", Severity.ERROR, f"dependency cycle: {self._path(cycle)}",
            str(first.path), line, "; ".join(hops),
        ))

    def _break(self, cycle: list[int]) -> None:
        pairs = list(itertools.pairwise(cycle))
        # weakest first; among equals, one that goes against the layout's order
        u, v = min(pairs, key=lambda p: (self.succ[p[0]][p[1]], p[0] < p[1]))
        hops = [self._hop(a, b) for a, b in pairs]
        kinds = ", ".join(sorted({e.kind for e in self.edges_between(u, v)}))
        edge = self._strongest(u, v)
        path, line = self._where(edge)
        self._drop(u, v)
        self.session.add_finding(Finding(
            "ORD007", Severity.WARNING,
            f"dependency cycle {self._path(cycle)} broken at the weakest edge: "
            f"{self.scripts[u].name}{ARROW}{self.scripts[v].name} ({kinds}) is ignored",
            path, line, "; ".join(hops),
        ))

    # -- 4. phase barriers -----------------------------------------------------------------

    def barriers(self, durations: Durations) -> list[Edge]:
        """Link each phase's sinks to the next phase's sources; the new edges."""
        groups = self.layout.groups()
        if len(groups) < 2:
            return []
        phase = self.layout.phases
        inner_succ = [False] * len(self.scripts)
        inner_pred = [False] * len(self.scripts)
        for u, targets in enumerate(self.succ):
            for v in targets:
                if phase[v] == phase[u]:
                    inner_succ[u] = inner_pred[v] = True
        edges: list[Edge] = []
        for (first, members), (then, following) in itertools.pairwise(groups):
            sinks = [u for u in members if not inner_succ[u]]
            sources = [v for v in following if not inner_pred[v]]
            origin = self._barrier_name(first, then)
            for u, v in _barrier_pairs(sinks, sources, durations.values):
                had = self.succ[u].get(v)
                if had is None:  # else two sequenced phases: the sequence links them already
                    edges.append(Edge(self.scripts[u].name, self.scripts[v].name, PHASE, origin))
                self._undo.append((u, v, had))
                self.succ[u][v] = HARD
        return edges

    def remove_barriers(self) -> None:
        """Take the barrier edges out again (to resolve cycles without them)."""
        for u, v, before in reversed(self._undo):
            if before is None:
                del self.succ[u][v]
            else:
                self.succ[u][v] = before
        self._undo.clear()
        self.barrier_edges = []

    # -- the plan --------------------------------------------------------------------------

    def order(self, durations: Durations, barriers: bool) -> list[int]:
        """Kahn's order with the barriers in place, or [] when the graph cannot be ordered."""
        if barriers:
            self.check_phases()
        if self.failed:  # a self-dependency, or an edge against the phases: report cycles too
            self.resolve_cycles()
            return []
        # the usual case first: no cycle, so one pass of Kahn's with the barriers in place
        self.barrier_edges = self.barriers(durations) if barriers else []
        order = topological_order(self.succ)
        if len(order) == len(self.scripts):
            return order
        self.remove_barriers()  # which scripts are a phase's sinks depends on the cycles
        if not self.resolve_cycles():
            return []
        self.barrier_edges = self.barriers(durations) if barriers else []
        order = topological_order(self.succ)
        if len(order) != len(self.scripts):  # barriers only ever go forward
            raise AssertionError("phase barriers made a cycle")
        return order

    def plan_edges(self) -> list[Edge]:
        dropped = self.dropped
        if not dropped:
            return [edge for _, _, edge in self.kept]
        return [edge for u, v, edge in self.kept if (u, v) not in dropped]

    def dropped_edges(self) -> list[Edge]:
        return [edge for u, v, edge in self.kept if (u, v) in self.dropped]


def _barrier_pairs(
    sinks: list[int], sources: list[int], weight: list[float]
) -> list[tuple[int, int]]:
    if len(sinks) * len(sources) <= max(BARRIER_EXACT, 4 * (len(sinks) + len(sources))):
        return [(u, v) for u in sinks for v in sources]
    hub = min([*sinks, *sources], key=lambda u: (weight[u], u))
    if hub in sinks:
        return [(u, hub) for u in sinks if u != hub] + [(hub, v) for v in sources]
    return [(u, hub) for u in sinks] + [(hub, v) for v in sources if v != hub]


def build_plan(
    session: Session, scripts: list[Script], edges: list[Edge], settings: Settings
) -> Plan:
    """The plan for ``scripts`` under ``edges``; ordering errors go to ``session.add_finding``
    and leave a plan in layout order with no levels."""
    layout = Layout(scripts)
    mode = settings.label(layout.order)
    builder = _Builder(session, layout, edges)
    durations = expected_durations(scripts, session.config)
    order = builder.order(durations, barriers_apply(
        {phase: settings.mode_of(phase) for phase in layout.order}))
    expected = {s.name: d for s, d in zip(scripts, durations.values, strict=True)}
    session.stash[PLAN_INFO] = PlanInfo(
        expected,
        {s.name: e for s, e in zip(scripts, durations.estimated, strict=True)},
        durations.unit,
        {s.name: p for s, p in zip(scripts, layout.phases, strict=True)},
        builder.dropped_edges(),
    )
    if builder.failed:
        return Plan(list(scripts), builder.plan_edges(), [], [], mode, expected)
    level = levels(order, builder.succ)
    by_level: list[list[str]] = [[] for _ in range(max(level, default=-1) + 1)]
    for u in order:
        by_level[level[u]].append(scripts[u].name)
    critical = longest_path(order, builder.succ, durations.values)
    return Plan([scripts[u] for u in order], builder.plan_edges() + builder.barrier_edges,
                by_level, [scripts[u].name for u in critical], mode, expected)
