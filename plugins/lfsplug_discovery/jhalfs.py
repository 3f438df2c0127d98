"""Names for jhalfs trees, where the book builds one package in several chapters.

jhalfs writes one scriptlet per book page and names it after the page: ``chapter06/606-m4`` and
``chapter08/812-m4`` are both ``m4``, as ``chapter05/505-glibc`` and ``chapter08/805-glibc`` are
both ``glibc``. A hand-written tree with two scripts of one name is a mistake to fix (DISC001);
a generated tree is not the user's to edit, so discovery tells them apart: the script of the
``system`` phase (chapter 8) keeps the package's name, or else the last one does, and each other
one gets its phase appended (``m4-temp``, ``glibc-cross``) and still provides the package.
"""

from __future__ import annotations

from lfsplug import Script

__all__ = ["qualify_duplicates"]


def _keeper(group: list[Script]) -> Script:
    """The script that keeps the bare name: the final system's build, else the last one."""
    return next((s for s in group if s.phase == "system"), group[-1])


def qualify_duplicates(scripts: list[Script]) -> None:
    """Rename, in place, jhalfs scripts that share a name but not a phase (see module doc)."""
    groups: dict[str, list[Script]] = {}
    for script in scripts:
        if script.meta.get("layout") == "jhalfs" and script.origins.get("name") == "file name":
            groups.setdefault(script.name, []).append(script)
    taken = {s.name for s in scripts}
    for name, group in groups.items():
        phases = [s.phase for s in group]
        if len(group) < 2 or None in phases or len(set(phases)) < len(phases):
            continue  # no phase, or two in one phase: a real duplicate, reported as DISC001
        keeper = _keeper(group)
        for script in group:
            qualified = f"{name}-{script.phase}"
            if script is keeper or qualified in taken:
                continue
            script.name = qualified
            script.origins["name"] = (f"file name and phase ({name} is also "
                                      f"{keeper.relpath})")
            if name not in script.provides:
                script.provides.append(name)
                script.origins.setdefault("provides", script.origins["name"])
            taken.add(qualified)
