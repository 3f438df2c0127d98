"""The layout's sequence and its phases: who comes where, and in which part of the build.

When any phase is in graph order, phases run one after the other, in the book's order
(``host``, ``cross``, ``temp``, ``chroot-temp``, ``system``, ``config``, ``blfs``, then any
other phase in the order it first appears); when every phase is in sequence order, the layout's
sequence is followed as it is. A script without a phase belongs, for ordering, to the phase of
the script before it in the layout (the first phased script's, at the start): a
``00-setup.sh`` in front of ``chapter05/`` is part of the cross toolchain's run, not an orphan
to be placed anywhere.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from lfsplug import Edge, Script

__all__ = ["BOOK_PHASES", "SEQUENCE", "Layout", "barriers_apply", "sequence_edges"]

BOOK_PHASES = ("host", "cross", "temp", "chroot-temp", "system", "config", "blfs")
#: The origin (and kind) of an edge from the layout's sequence.
SEQUENCE = "sequence"


class Layout:
    """The scripts in layout order, with each one's position and phase for ordering."""

    def __init__(self, scripts: Sequence[Script]) -> None:
        self.scripts = list(scripts)
        #: name -> position in the layout (the first of two scripts of one name: DISC001)
        self.position: dict[str, int] = {}
        for i, script in enumerate(self.scripts):
            self.position.setdefault(script.name, i)
        self.phases: list[str | None] = _effective_phases(self.scripts)
        present = list(dict.fromkeys(self.phases))
        known: list[str | None] = [p for p in BOOK_PHASES if p in present]
        #: the phases present, in the order they run
        self.order: list[str | None] = known + [p for p in present if p not in BOOK_PHASES]
        self.rank: dict[str | None, int] = {p: i for i, p in enumerate(self.order)}

    def __len__(self) -> int:
        return len(self.scripts)

    def phase(self, i: int) -> str | None:
        """The phase script ``i`` is ordered with."""
        return self.phases[i]

    def groups(self) -> list[tuple[str | None, list[int]]]:
        """Each phase with its scripts' positions, in the order phases run."""
        members: dict[str | None, list[int]] = {p: [] for p in self.order}
        for i, phase in enumerate(self.phases):
            members[phase].append(i)
        return [(p, members[p]) for p in self.order]


def _effective_phases(scripts: list[Script]) -> list[str | None]:
    current = next((s.phase for s in scripts if s.phase), None)
    phases: list[str | None] = []
    for script in scripts:
        if script.phase:
            current = script.phase
        phases.append(current)
    return phases


def barriers_apply(modes: dict[str | None, str]) -> bool:
    """Whether phases are kept apart by barriers: when any phase is in graph order.

    When every phase is in sequence order, the layout's sequence is the whole truth, as jhalfs
    builds it: each script already waits for the one before it, and a layout that lists a
    phase out of the book's order is followed as it is, not rearranged.
    """
    return any(mode != SEQUENCE for mode in modes.values())


def sequence_edges(layout: Layout, modes: dict[str | None, str]) -> list[Edge]:
    """Each script after the one before it, within every phase whose mode is ``sequence``.

    With every phase in sequence, that is the layout's order from first to last. Otherwise the
    phases run in the book's order; two sequenced phases in a row are linked last to first
    (that link is their barrier), and a barrier next to a graph phase is added when the plan
    is built, since it depends on every edge.
    """
    scripts = layout.scripts
    if not barriers_apply(modes):
        return [Edge(a.name, b.name, SEQUENCE, SEQUENCE) for a, b in itertools.pairwise(scripts)]
    edges: list[Edge] = []
    groups = layout.groups()
    for phase, members in groups:
        if modes.get(phase) == SEQUENCE:
            edges.extend(Edge(scripts[a].name, scripts[b].name, SEQUENCE, SEQUENCE)
                         for a, b in itertools.pairwise(members))
    for (first, done), (then, following) in itertools.pairwise(groups):
        if modes.get(first) == modes.get(then) == SEQUENCE:
            edges.append(Edge(scripts[done[-1]].name, scripts[following[0]].name, SEQUENCE,
                              SEQUENCE))
    return edges
