"""Drawing a plan: Graphviz dot, Mermaid, plain text and JSON, the critical path marked.

Several edges between two scripts (the sequence and a ``depends``, say) are drawn as one, their
kinds listed; ``--format json`` keeps every edge with its origin.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from typing import Any

from lfsplug import Plan
from lfsplug_ordering.plan import PHASE, SOFT_BELOW, PlanInfo, strength
from lfsplug_ordering.settings import FORMATS

__all__ = ["FORMATS", "render"]

ARROW = " → "
RED = "#d62728"


class _View:
    """What every format needs: the merged edges, the critical path, durations."""

    def __init__(self, plan: Plan, info: PlanInfo) -> None:
        self.plan = plan
        self.info = info
        self.critical = set(plan.critical_path)
        self.critical_pairs = set(itertools.pairwise(plan.critical_path))
        self.pairs: dict[tuple[str, str], list[str]] = {}
        for edge in plan.edges:
            kinds = self.pairs.setdefault((edge.before, edge.after), [])
            if edge.kind not in kinds:
                kinds.append(edge.kind)
        self.level = {name: i for i, names in enumerate(plan.levels) for name in names}

    def phase(self, name: str) -> str | None:
        return self.info.phases.get(name)

    def groups(self) -> list[tuple[str | None, list[str]]]:
        """The scripts by the phase they are ordered with, in plan order."""
        groups: dict[str | None, list[str]] = {}
        for script in self.plan.scripts:
            groups.setdefault(self.phase(script.name), []).append(script.name)
        return list(groups.items())

    def duration(self, name: str) -> str:
        """``905 s``, ``~74 s`` (a guess: the average), ``1.2 SBU``, or "" when unknown."""
        unit = self.info.unit
        value = self.info.durations.get(name)
        if not unit or value is None:
            return ""
        mark = "~" if self.info.estimated.get(name) else ""
        shown = f"{value:.1f}" if unit == "SBU" or value < 10 else f"{value:,.0f}"
        return f"{mark}{shown} {unit}"

    def total(self, names: list[str]) -> str:
        unit = self.info.unit
        value = sum(self.info.durations.get(n, 0.0) for n in names)
        if not unit:
            return ""
        return f"{value:.1f} {unit}" if unit == "SBU" or value < 10 else f"{value:,.0f} {unit}"

    def title(self) -> str:
        plan = self.plan
        return (f"{plan.mode} order: {len(plan.scripts)} scripts in {len(plan.levels)} levels, "
                f"{len(self.pairs)} edges")


# -- dot -----------------------------------------------------------------------------------------


def _q(text: str) -> str:
    """A dot string: quoted, with quotes and backslashes escaped."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _dot_label(*parts: str) -> str:
    escaped = [p.replace("\\", "\\\\").replace('"', '\\"') for p in parts if p]
    return '"' + "\\n".join(escaped) + '"'


def to_dot(view: _View) -> str:
    lines = [
        "digraph lfsplug {",
        f"  graph [rankdir=LR, labelloc=t, label={_q(view.title())}];",
        '  node [shape=box, style=rounded, fontname="Helvetica"];',
        '  edge [color="#777777"];',
    ]
    scripts = {s.name: s for s in view.plan.scripts}
    for number, (phase, names) in enumerate(view.groups()):
        indent = "    " if phase is not None else "  "
        if phase is not None:
            lines.append(f"  subgraph {_q(f'cluster_{number}')} {{")
            lines.append(f"    label={_q(phase)};")
        for name in names:
            attrs = [f"label={_dot_label(name, scripts[name].version or '', view.duration(name))}"]
            if name in view.critical:
                attrs.append(f'color="{RED}", fontcolor="{RED}", penwidth=2.5, '
                             'style="rounded,bold"')
            lines.append(f"{indent}{_q(name)} [{', '.join(attrs)}];")
        if phase is not None:
            lines.append("  }")
    for (before, after), kinds in view.pairs.items():
        attrs = [f"tooltip={_q(', '.join(kinds))}"]
        if (before, after) in view.critical_pairs:
            attrs.append(f'color="{RED}", penwidth=2.5, style=bold')
        elif all(strength(k) < SOFT_BELOW for k in kinds):
            attrs.append("style=dashed")
        elif kinds == [PHASE]:
            attrs.append("style=dotted")
        lines.append(f"  {_q(before)} -> {_q(after)} [{', '.join(attrs)}];")
    lines.append("}")
    return "\n".join(lines)


# -- mermaid -------------------------------------------------------------------------------------


def _m(text: str) -> str:
    """Mermaid label text: quotes and angle brackets as entity codes."""
    return text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;")


def to_mermaid(view: _View) -> str:
    ids = {s.name: f"n{i}" for i, s in enumerate(view.plan.scripts)}
    lines = ["flowchart LR"]
    for number, (phase, names) in enumerate(view.groups()):
        indent = "    " if phase is not None else "  "
        if phase is not None:
            lines.append(f'  subgraph p{number}["{_m(phase)}"]')
        for name in names:
            extra = view.duration(name)
            label = _m(name) + (f"<br/>{_m(extra)}" if extra else "")
            lines.append(f'{indent}{ids[name]}["{label}"]')
        if phase is not None:
            lines.append("  end")
    critical_links = []
    for number, ((before, after), kinds) in enumerate(view.pairs.items()):
        shown = [k for k in kinds if k != "sequence"]
        label = f"|{_m(', '.join(shown))}|" if shown else ""
        if (before, after) in view.critical_pairs:
            arrow = "==>"
            critical_links.append(str(number))
        elif all(strength(k) < SOFT_BELOW for k in kinds):
            arrow = "-.->"
        else:
            arrow = "-->"
        lines.append(f"  {ids[before]} {arrow}{label} {ids[after]}")
    lines.append(f"  classDef critical stroke:{RED},stroke-width:3px,color:{RED}")
    if view.critical:
        lines.append("  class " + ",".join(ids[n] for n in view.plan.critical_path)
                     + " critical")
    if critical_links:
        lines.append(f"  linkStyle {','.join(critical_links)} stroke:{RED},stroke-width:3px")
    return "\n".join(lines)


# -- text ----------------------------------------------------------------------------------------


def to_text(view: _View) -> str:
    plan = view.plan
    lines = [f"{view.title()}; scripts of one level may run at once"]
    if plan.critical_path:
        every = [s.name for s in plan.scripts]
        total = view.total(plan.critical_path)
        lines.append(f"critical path (*): {ARROW.join(plan.critical_path)}"
                     + (f"  [{total} of {view.total(every)} in all]" if total else ""))
    width = max((len(s.name) for s in plan.scripts), default=0)
    phase_width = max((len(s.phase or "-") for s in plan.scripts), default=1)
    scripts = {s.name: s for s in plan.scripts}
    for number, names in enumerate(plan.levels, 1):
        lines.append(f"level {number}")
        for name in names:
            mark = "*" if name in view.critical else " "
            phase = scripts[name].phase or "-"
            row = f"  {mark} {name:<{width}}  {phase:<{phase_width}}  {view.duration(name):>10}"
            lines.append(row.rstrip())
    return "\n".join(lines)


# -- json ----------------------------------------------------------------------------------------


def to_json(view: _View) -> str:
    plan, info = view.plan, view.info
    data: dict[str, Any] = {
        "mode": plan.mode,
        "unit": info.unit,
        "nodes": [
            {
                "name": s.name, "version": s.version, "path": str(s.path), "phase": s.phase,
                "ordered_with": view.phase(s.name), "level": view.level.get(s.name),
                "duration": info.durations.get(s.name),
                "estimated": info.estimated.get(s.name, True),
                "critical": s.name in view.critical,
            }
            for s in plan.scripts
        ],
        "edges": [
            {"before": e.before, "after": e.after, "kind": e.kind, "origin": e.origin,
             "critical": (e.before, e.after) in view.critical_pairs}
            for e in plan.edges
        ],
        "dropped": [{"before": e.before, "after": e.after, "kind": e.kind, "origin": e.origin}
                    for e in info.dropped],
        "levels": plan.levels,
        "critical_path": plan.critical_path,
        "critical_duration": sum(info.durations.get(n, 0.0) for n in plan.critical_path),
    }
    return json.dumps(data, indent=2)


_RENDERERS: dict[str, Callable[[_View], str]] = {
    "text": to_text, "dot": to_dot, "mermaid": to_mermaid, "json": to_json,
}


def render(fmt: str, plan: Plan, info: PlanInfo) -> str:
    """The plan drawn in ``fmt`` (one of :data:`FORMATS`)."""
    return _RENDERERS[fmt](_View(plan, info))
