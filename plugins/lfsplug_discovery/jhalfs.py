"""Names for packages built more than once, as every LFS tree builds them.

The book builds many packages twice or more: ``glibc`` in chapters 5 and 8, ``m4``, ``bash``,
``coreutils``... as temporary tools in chapter 6 and again in 8; hand-written trees do the same
with ``phase2/gcc.sh`` and ``phase4/gcc.sh``, and jhalfs names both scriptlets after the page.
That is normal, not a mistake: each occurrence gets a qualified, stable name, ``NAME@WHERE``,
and provides the bare ``NAME`` (so ``depends=gcc`` finds it; ordering takes the nearest earlier
build). ``WHERE`` is, in this order of preference:

* the directory that tells the occurrences apart (the first one, from the root, in which their
  paths differ): ``m4@chapter06`` and ``m4@chapter08``, ``gcc@phase2`` and ``gcc@phase4``;
* else their file names' number prefixes: ``gcc@05`` and ``gcc@12``;
* else their place among the occurrences, in build order: ``gcc@1``, ``gcc@2``.

Names from file names, directories and content are qualified alike; two scripts whose headers
both say ``name=gcc``, or one file reached twice, are a real collision (``DISC001``).
"""

from __future__ import annotations

from lfsplug import Origin, Script

__all__ = ["qualify_duplicates"]


def _directories(script: Script) -> list[str]:
    return script.relpath.split("/")[:-1]


def _qualifiers(group: list[Script]) -> tuple[list[str], str]:
    """The ``WHERE`` of each script of a group, and what it is (for ``--why``)."""
    paths = [_directories(s) for s in group]
    depth = min(len(p) for p in paths)
    for i in range(max(len(p) for p in paths)):
        here = [p[i] if i < len(p) else "" for p in paths]
        if len(set(here)) > 1:
            if "" not in here and len(set(here)) == len(here):
                return here, "directory"
            break
        if i >= depth:
            break
    from lfsplug_discovery.names import parse_filename

    numbers = [parse_filename(s.path.name).number or "" for s in group]
    if "" not in numbers and len(set(numbers)) == len(numbers):
        return numbers, "file number"
    return [str(n) for n in range(1, len(group) + 1)], "place in build order"


def qualify_duplicates(scripts: list[Script]) -> None:
    """Rename, in place, the scripts that share a name from their file names (see module)."""
    groups: dict[str, list[Script]] = {}
    for script in scripts:
        origin = script.origins.get("name")
        if origin is None or not origin.source.startswith("# lfsplug: header"):
            groups.setdefault(script.name, []).append(script)
    taken = {s.name for s in scripts}
    for name, group in groups.items():
        if len(group) < 2 or len({str(s.path) for s in group}) < len(group):
            continue  # one file reached twice is a real collision (DISC001)
        qualifiers, what = _qualifiers(group)
        others = ", ".join(s.relpath for s in group)
        for script, where in zip(group, qualifiers, strict=True):
            qualified = f"{name}@{where}"
            if qualified in taken:
                continue
            script.name = qualified
            script.origins["name"] = script.origins.get("name", Origin("file name")).noted(
                f" and {what} ({name} is built {len(group)} times: {others})")
            if name not in script.provides:
                script.provides.append(name)
                script.origins.setdefault("provides", script.origins["name"])
            taken.add(qualified)
