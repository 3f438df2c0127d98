"""Edges the scripts declare: ``depends``, ``recommends``, ``optional``, ``after``, ``before``.

A name resolves to the scripts that provide it: by their name, or by ``provides`` (virtual
names; ``binutils-pass1`` and ``binutils-pass2`` both provide ``binutils``). When several do:

* a script never waits for itself when another provider exists (``binutils-pass2`` with
  ``depends=binutils`` means the build before it);
* providers in the dependent's own phase or an earlier one are preferred (a chapter 6 script
  that needs ``m4`` uses ``m4-temp``, not the chapter 8 ``m4`` built after it); ``before``
  prefers its own phase or a later one;
* the dependent waits for every provider left: with phase barriers that is the same as waiting
  for the last of them, and it is the only safe reading when they share a phase;
* for ``depends``, providers that are not builds of one package (two unrelated scripts that
  both say ``provides=cc``) are ambiguous: an error (``ORD006``), since nothing says which one
  the dependent was written for. Builds of one package are the script named like it, its pass
  builds (``NAME-passN``), its builds of other phases (``NAME-temp``, as discovery names them)
  and scripts whose jhalfs ``PACKAGE=`` names it.

Every edge remembers its origin: ``02-gcc.sh: depends= from # lfsplug: header line 3``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from lfsplug import Edge, Finding, Requirement, Script, Severity, satisfies
from lfsplug_ordering.layout import Layout

__all__ = ["REQUIREMENT_KINDS", "builds_of", "declared_edges", "origin_of", "relpath"]

REQUIREMENT_KINDS = ("depends", "recommends", "optional")


def relpath(script: Script) -> str:
    """``script.relpath``, by string when the path is below the root (10,000 scripts: the
    ``Path.relative_to`` of the property is the slow part of making their edges)."""
    path, root = str(script.path), str(script.root)
    if path.startswith(root) and path[len(root):len(root) + 1] == "/":
        return path[len(root) + 1:]
    return script.relpath


def origin_of(script: Script, key: str) -> str:
    """Where ``script`` declares ``key``: its file, and the source and line of the value."""
    return f"{relpath(script)}: {key}= from {script.origins.get(key, 'metadata')}"


@lru_cache(maxsize=4096)
def _satisfies(version: str, op: str, required: str) -> bool:
    """:func:`lfsplug._kinds.satisfies`, remembered: many scripts ask the same question."""
    return satisfies(version, op, required)


def builds_of(script: Script, name: str) -> bool:
    """Whether ``script`` is a build of package ``name`` (itself, a pass, another phase's)."""
    own = script.name
    if name in (own, script.package) or script.meta.get("package") == name:
        return True
    return bool(script.phase) and own == f"{name}-{script.phase}"


class _Resolver:
    """Resolves the names one script declares to the scripts that provide them."""

    def __init__(self, layout: Layout, report: Callable[[Finding], None]) -> None:
        self.layout = layout
        self.report = report
        self.scripts = layout.scripts
        self.providers: dict[str, list[int]] = {}
        for i, script in enumerate(self.scripts):
            self.providers.setdefault(script.name, []).append(i)
            for name in dict.fromkeys(script.provides):
                if name != script.name:
                    self.providers.setdefault(name, []).append(i)

    def candidates(self, i: int, name: str, later: bool = False) -> list[int]:
        """The providers of ``name`` that script ``i`` should be ordered against."""
        found = self.providers.get(name, [])
        if len(found) < 2:
            return found
        found = [j for j in found if j != i] or found
        if len(found) > 1 and all(builds_of(self.scripts[j], name) for j in found):
            # builds of one package (passes, rebuilds): the nearest earlier one in build
            # order (for "before", the nearest later one), so that no rebuild makes a cycle
            near = ([j for j in found if j > i] if later else [j for j in found if j < i])
            if near:
                return [min(near)] if later else [max(near)]
        rank = self.layout.rank
        mine = rank[self.layout.phase(i)]
        if later:
            preferred = [j for j in found if rank[self.layout.phase(j)] >= mine]
        else:
            preferred = [j for j in found if rank[self.layout.phase(j)] <= mine]
        return preferred or found

    def requirement(self, i: int, kind: str, req: Requirement, origin: str) -> list[Edge]:
        script = self.scripts[i]
        found = self.candidates(i, req.name)
        if not found:
            self._missing(script, kind, req)
            return []
        if kind == "depends" and len(found) > 1:
            self._ambiguity(script, req, found)
        if req.op and req.version:
            self._version(script, kind, req, self.scripts[max(found)])
        return [Edge(self.scripts[j].name, script.name, kind, origin) for j in found]

    def _missing(self, script: Script, kind: str, req: Requirement) -> None:
        hard = kind == "depends"
        self.report(Finding(
            "ORD001" if hard else "ORD002", Severity.ERROR if hard else Severity.INFO,
            f"{kind} on {req}, which no script provides", str(script.path),
            script.line_of(kind), "add a script that provides it, or fix the name",
        ))

    def _ambiguity(self, script: Script, req: Requirement, found: list[int]) -> None:
        providers = [self.scripts[j] for j in found]
        if all(builds_of(p, req.name) for p in providers):
            return
        names = ", ".join(f"{p.name} ({p.relpath})" for p in providers)
        self.report(Finding(
            "ORD006", Severity.ERROR,
            f"depends on {req.name}, which {len(providers)} unrelated scripts provide: {names}",
            str(script.path), script.line_of("depends"),
            f"depend on the script you mean by its name, or keep provides={req.name} on one "
            "script only",
        ))

    def _version(self, script: Script, kind: str, req: Requirement, provider: Script) -> None:
        assert req.op is not None and req.version is not None
        have = provider.version
        if have is not None and _satisfies(have, req.op, req.version):
            return
        hard = kind == "depends"
        self.report(Finding(
            "ORD003", Severity.ERROR if hard else Severity.INFO,
            f"{'needs' if hard else kind} {req}, but {provider.name} is version "
            f"{have or 'unknown'}",
            str(script.path), script.line_of(kind),
            f"update {provider.relpath} or the requirement",
        ))


def declared_edges(layout: Layout, report: Callable[[Finding], None]) -> list[Edge]:
    """Every edge the scripts' metadata declares; problems go to ``report`` as findings.

    A missing ``after``/``before`` target is no finding: those say "if it is built at all".
    """
    resolver = _Resolver(layout, report)
    providers = resolver.providers
    names = [s.name for s in layout.scripts]
    edges: list[Edge] = []
    add = edges.append
    for i, script in enumerate(layout.scripts):
        for kind in REQUIREMENT_KINDS:
            reqs: list[Requirement] = getattr(script, kind)
            if reqs:
                origin = origin_of(script, kind)
                for req in reqs:
                    found = providers.get(req.name)
                    if found is not None and len(found) == 1 and req.op is None:
                        add(Edge(names[found[0]], script.name, kind, origin))  # the usual case
                    else:
                        edges.extend(resolver.requirement(i, kind, req, origin))
        if script.after:
            origin = origin_of(script, "after")
            for name in script.after:
                edges.extend(Edge(layout.scripts[j].name, script.name, "after", origin)
                             for j in resolver.candidates(i, name))
        if script.before:
            origin = origin_of(script, "before")
            for name in script.before:
                edges.extend(Edge(script.name, layout.scripts[j].name, "before", origin)
                             for j in resolver.candidates(i, name, later=True))
    return edges
