"""The source files a script names: what the integrity checks look for in the sources directory.

Read from the commands of a script (:mod:`lfsplug_validation.shellread`): any word whose file
name ends like a source archive or a patch (``../gcc-13.2.0.tar.xz``, ``$LFS/sources/x.patch``,
``--file=y.tar.gz``), with ``$VAR`` and ``${VAR}`` expanded from the script's own simple
assignments above it (``PKG=zlib-1.3`` then ``tar xf $PKG.tar.gz``); a name still holding a ``$``
or a glob is left alone. Downloads (``wget``, ``curl``), messages (``echo``, ``printf``),
removals (``rm``), archives being created (``tar -c``) and redirection targets do not count.
jhalfs-style ``PACKAGE=name`` and ``VERSION=1.2`` without a file name stand for
``name-1.2.tar*``.
"""

from __future__ import annotations

import os
import re

from lfsplug_validation.records import Ref
from lfsplug_validation.shellread import Command, all_assignments, unquote

__all__ = ["source_refs"]

_SOURCE_FILE = re.compile(
    r"[\w+.-]+\.(?:tar(?:\.(?:gz|xz|bz2|zst|lz|lzma|Z))?|tgz|tbz2?|txz|tlz|zip|patch)")
_VARIABLE = re.compile(r"\$\{(\w+)(?::?[-=]([^}]*))?\}|\$(\w+)")
_LONG_OPTION = re.compile(r"^--?[\w-]+=")
_REDIRECT_ALONE = re.compile(r"\d*(?:>>?|&>>?|>\|)")
#: Commands whose arguments name files that need not exist yet (LFS sources, INT002).
NOT_SOURCES = frozenset(["wget", "curl", "echo", "printf", "rm"])


def _expand(text: str, known: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(3)
        if name in known:
            return known[name]
        default = match.group(2)
        return default if default is not None else match.group(0)

    return _VARIABLE.sub(replace, text)


def _source_name(value: str) -> str | None:
    base = _LONG_OPTION.sub("", value).rsplit("/", 1)[-1]
    return base if _SOURCE_FILE.fullmatch(base) else None


def _is_tar_create(cmd: Command) -> bool:
    if os.path.basename(cmd.name) != "tar":
        return False
    for index, word in enumerate(cmd.words[1:], 1):
        if word == "--create" or (re.fullmatch(r"-?[A-Za-z]+", word) and "c" in word
                                  and (word.startswith("-") or index == 1)):
            return True
    return False


def source_refs(cmds: list[Command]) -> list[Ref]:
    """The source files (tarballs, patches) the commands name, with the first line of each."""
    known: dict[str, str] = {}
    where: dict[str, Command] = {}
    refs: dict[str, Ref] = {}

    def note(value: str, cmd: Command) -> None:
        name = _source_name(value)
        if name is not None and name not in refs:
            refs[name] = Ref(name, cmd.number)

    for cmd in cmds:
        for name, value in all_assignments(cmd):
            known[name] = _expand(unquote(value), known)
            where[name] = cmd
            note(known[name], cmd)
        if os.path.basename(cmd.name) in NOT_SOURCES or _is_tar_create(cmd):
            continue
        words = iter(cmd.words[1:])
        for word in words:
            if _REDIRECT_ALONE.fullmatch(word):
                next(words, None)  # the redirection's target is written, not read
            elif "://" not in word and not re.match(r"\d*>", word):
                note(_expand(unquote(word), known), cmd)
    package, version = known.get("PACKAGE", ""), known.get("VERSION", "")
    if package and version and re.fullmatch(r"[\w+.-]+", package + version):
        stem = f"{package}-{version}"
        if _source_name(package) is None and not any(r.startswith(stem) for r in refs):
            refs[stem] = Ref(stem, where["PACKAGE"].number, pattern=True)
    return list(refs.values())
