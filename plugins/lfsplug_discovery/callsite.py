"""What one call of a script by a driver carries: the records the evaluator gives, and the
places a call runs in (the tarball the driver unpacked for it, the directory it went into).

A driver often unpacks a package's tarball, goes into its top directory and runs the package's
script there (``tar xf "$SOURCES/$pkg"-*.tar.*; cd $pkg-*/; bash ...``). :func:`extracted`
remembers the archive, :func:`change_dir` follows the driver's ``cd``/``pushd``/``popd`` (the
first directory entered below where the archive was unpacked is its top directory; going into
another one leaves the archive behind), and :func:`make_call` says what a script runs in:
``unpack`` and a ``workdir`` below the top directory, or the directory the driver is in.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from lfsplug_discovery.expand import (
    OWN,
    State,
    expandable,
    has_unknown,
    join,
    shown_value,
    unknown,
)

__all__ = ["Call", "Unresolved", "change_dir", "copied", "extracted", "make_call"]

_ARCHIVE = re.compile(r"\.(?:tar(?:\.\w+)?|tgz|tbz2?|txz|tlz|zip)$")


@dataclass
class Call:
    """One script a driver runs: where, how and with what."""

    #: the path of the called file (absolute, resolved in the tree)
    path: str
    #: the driver file and the line of the call in it (the outermost driver's, for --why)
    driver: str
    line: int
    #: ``bash``, ``sh``, ``source`` or ``exec`` (run by its own ``#!``)
    how: str
    user: str | None = None
    chroot: bool = False
    env: dict[str, str] = field(default_factory=dict)
    workdir: str | None = None
    unpack: str | None = None


@dataclass(frozen=True)
class Unresolved:
    """A call the driver makes whose file cannot be worked out or found (or a part of the
    driver lfsplug cannot follow)."""

    driver: str
    line: int
    text: str
    why: str


def extracted(words: list[str], state: State) -> None:
    """``tar xf ARCHIVE [-C DIR]`` (``words`` after ``tar``): remember the archive for the
    scripts run inside it."""
    flags = words[0] if words and not words[0].startswith("-") else ""
    options = [w for w in words if w.startswith("-")]
    extract = "x" in flags or any(("x" in o and not o.startswith("--")) or o in (
        "--extract", "--get") for o in options)
    archive = next((w for w in words if _ARCHIVE.search(w) or ("*" in w and ".tar" in w)),
                   None)
    if not extract or archive is None:
        return
    target = state.cwd
    if "-C" in words and words.index("-C") + 1 < len(words):
        target = join(state.cwd, words[words.index("-C") + 1])
    state.unpack = join(state.cwd, archive) if "/" in archive else archive
    state.unpack_dir = target
    state.unpack_top = None


def change_dir(words: list[str], state: State) -> None:
    """``cd``, ``pushd``, ``popd``: the new directory, and what it means for the archive."""
    command = words[0]
    target = next((w for w in words[1:] if not w.startswith("-") or w == "-"), None)
    if command == "popd":
        if state.dirs:
            state.cwd = state.dirs.pop()
    elif target is None:
        state.cwd = unknown("HOME")
    elif target != "-":
        if command == "pushd":
            state.dirs.append(state.cwd)
        state.cwd = join(state.cwd, target)
    _follow_unpack(state)


def make_call(path: str, how: str, context: State, state: State, where: tuple[str, int], *,
               local: dict[str, str]) -> Call:
    """The :class:`Call` of the script at ``path``, run as ``context`` says."""
    names = set(state.vars) if how == "source" else set(context.exported)
    values = {name: context.vars[name] for name in names if name in context.vars}
    values.update(local)
    # what only the run knows (a command's output) cannot be passed on; $LFS is lfsplug's
    env = {name: shown_value(value) for name, value in sorted(values.items())
           if name not in OWN and value != unknown(name) and expandable(value)}
    unpack, workdir = _where_in_unpack(context, path)
    return Call(path, where[0], where[1], how, context.user, context.chroot, env, workdir,
                unpack)


def _where_in_unpack(context: State, path: str) -> tuple[str | None, str | None]:
    """The tarball a call runs in (unpacked by the driver) and its directory: relative to the
    tarball's top directory, else absolute (None where it is the script's own)."""
    cwd = context.cwd
    top = _unpack_top(context)
    if top is not None and context.unpack is not None:
        inner = cwd[len(top):].strip("/")
        return shown_value(context.unpack), shown_value(inner) if inner else None
    return None, None if cwd == os.path.dirname(path) else shown_value(cwd)


def _unpack_top(state: State) -> str | None:
    """The top directory of the tarball the driver unpacked last, when the commands run in
    it (the first directory the driver went into below where it unpacked it)."""
    if state.unpack is None or state.unpack_dir is None:
        return None
    prefix = state.unpack_dir.rstrip("/") + "/"
    if not state.cwd.startswith(prefix):
        return None
    first = state.cwd[len(prefix):].split("/", 1)[0]
    if state.unpack_top not in (None, first):
        return None
    return prefix + first


def _follow_unpack(state: State) -> None:
    """After a ``cd``: the first directory entered below where the tarball was unpacked is its
    top directory; leaving for another one leaves the tarball behind."""
    if state.unpack is None or state.unpack_dir is None or state.cwd == state.unpack_dir:
        return
    top = _unpack_top(state)
    if top is None:
        state.unpack = state.unpack_dir = state.unpack_top = None
    elif state.unpack_top is None:
        state.unpack_top = top.rsplit("/", 1)[-1]


def copied(copies: list[tuple[str, list[str]]], target: str, cwd: str, root: str) -> str | None:
    """The tree file a call runs from where the driver copied it (``copies``: where each
    ``cp`` put which files of the tree), or None (``root``: the chroot the call runs in,
    where its paths are)."""
    full = target if target.startswith("/") or has_unknown(target) else join(cwd, target)
    if root and full.startswith("/"):
        full = root + full
    tail = full.rsplit("\x00", 1)[-1]
    name = os.path.basename(tail)
    for destination, sources in reversed(copies):
        where = destination.rsplit("\x00", 1)[-1].rstrip("/")
        if not where or not (tail.startswith(where + "/") or tail == where):
            continue
        match = [p for p in sources if os.path.basename(p) == name]
        if match:
            return match[0]
    return None
