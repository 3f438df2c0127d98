"""LFS009, the environment's half: is a variable a script ``cd``s into set where it runs?

:mod:`.cdvars` finds, in a script's bytes, each ``cd``/``pushd`` into variables the script never
sets (cached by content hash with the rest of lint). Whether lfsplug's environment sets them
depends on more than those bytes: the script's record (``script.env``, the variables its
driver exports; ``PKGDIR`` when ``script.unpack`` makes the executor unpack a tarball), the
configuration's ``[env]``, every ``lfsplug_script_env`` implementation, and the files the
script sources. So this half runs on every check, only for the few scripts that have such a
``cd``, and is never cached: a changed ``[env]``, driver or sourced file counts at once.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import BOOK_ENV, expand_variables
from lfsplug_validation.records import CdUse, Issue, Sourced

if TYPE_CHECKING:
    from lfsplug import Config, Script
    from lfsplug_validation.cdvars import ShellFacts

__all__ = ["ALWAYS_SET", "CODE", "CdEnvironment"]

CODE = "LFS009"
#: The executor's clean environment (the book's ``env -i`` settings), as every script gets it.
CLEAN_ENV = BOOK_ENV
#: What bash itself sets in a non-interactive shell (``OLDPWD`` once a ``cd`` ran).
SHELL_SET = frozenset([
    "PWD", "OLDPWD", "HOME", "PATH", "SHELL", "SHLVL", "IFS", "PS4", "UID", "EUID", "PPID",
    "GROUPS", "HOSTNAME", "HOSTTYPE", "MACHTYPE", "OSTYPE", "RANDOM", "SRANDOM", "SECONDS",
    "LINENO", "OPTIND", "OPTERR", "DIRSTACK", "PIPESTATUS", "FUNCNAME", "BASH", "BASHOPTS",
    "BASHPID", "BASH_ARGC", "BASH_ARGV", "BASH_ARGV0", "BASH_COMMAND", "BASH_LINENO",
    "BASH_SOURCE", "BASH_SUBSHELL", "BASH_VERSINFO", "BASH_VERSION", "EPOCHREALTIME",
    "EPOCHSECONDS", "SHELLOPTS",
])
ALWAYS_SET = CLEAN_ENV | SHELL_SET
#: The directory of the running script, as scripts write it (``$(dirname "$0")``, ``${0%/*}``).
_SCRIPT_DIR = re.compile(r"""\$\(\s*dirname\s+"?\$\{?(?:0|BASH_SOURCE(?:\[0\])?)\}?"?\s*\)"""
                         r"""|\$\{(?:0|BASH_SOURCE(?:\[0\])?)%/\*\}""")
_QUOTING = re.compile(r"""\\(.)|['"]""", re.S)
#: Sourced files read for one script at most (a chain of includes, not a library).
MAX_SOURCED = 32
#: Larger sourced files are not read (nor trusted to set anything).
SOURCED_LIMIT = 1 << 20


class CdEnvironment:
    """Checks the ``cd`` of scripts against the environment lfsplug gives each one; the files
    scripts source are read once per check, however many scripts source them."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._files: dict[Path, ShellFacts | None] = {}

    def issues(self, script: Script, cds: list[CdUse], sources: list[Sourced]) -> list[Issue]:
        """An LFS009 issue for each ``cd`` of ``script`` into a variable nothing sets."""
        if CODE in script.disable or CODE in self.config.disabled_codes:
            return []  # silenced: no need to ask the other plugins
        missing = {name for cd in cds for name in cd.names}
        values = {**self.config.env, **script.env}
        missing -= values.keys()
        if script.unpack:
            missing.discard("PKGDIR")  # the executor sets it to the unpacked directory
        if missing:
            values = {**self._script_env(script), **values}
            missing -= values.keys()
        if missing and sources:
            sourced = self._sourced_names(script, sources, values)
            if sourced is None:
                return []  # a sourced file lfsplug cannot read may set anything
            missing -= sourced
        return [_issue(cd, [n for n in cd.names if n in missing])
                for cd in cds if not missing.isdisjoint(cd.names)]

    def _script_env(self, script: Script) -> dict[str, str]:
        """The environment the ``lfsplug_script_env`` implementations give ``script`` (the
        executor's clean one, ``[env]``, the chroot's...), as a run would shape it."""
        env: dict[str, str] = {}
        self.config.hook.lfsplug_script_env(script=script, env=env, config=self.config)
        return env

    def _sourced_names(self, script: Script, sources: list[Sourced],
                       values: dict[str, str]) -> set[str] | None:
        """What the files ``script`` sources set (and the files they source), or None when one
        of them cannot be found or read."""
        base = script.path.parent
        names: set[str] = set()
        queue = [(base, s.path) for s in sources]
        seen: set[Path] = set()
        while queue:
            including, word = queue.pop(0)
            path = _resolve(word, base, including, values)
            if path is not None and path in seen:
                continue
            if path is None or len(seen) == MAX_SOURCED:
                return None  # not found, or more files than a chain of includes has
            seen.add(path)
            facts = self._read(path)
            if facts is None:
                return None
            names |= facts.sets
            queue.extend((path.parent, s.path) for s in facts.sources)
        return names

    def _read(self, path: Path) -> ShellFacts | None:
        if path not in self._files:
            self._files[path] = _read_facts(path)
        return self._files[path]


def _read_facts(path: Path) -> ShellFacts | None:
    """What the file at ``path`` sets and sources; None if it cannot be read or is too big."""
    try:
        with path.open("rb") as handle:
            data = handle.read(SOURCED_LIMIT + 1)
    except OSError:
        return None
    if len(data) > SOURCED_LIMIT or b"\0" in data:
        return None
    # the parser: only for sourced files
    from lfsplug_validation.cdvars import shell_facts
    from lfsplug_validation.syntaxtree import ScriptTree

    return shell_facts(ScriptTree(data))


def _resolve(word: str, base: Path, including: Path, values: dict[str, str]) -> Path | None:
    """The file a ``source WORD`` reads: variables expanded from ``values``, a relative path
    taken from the script's directory (or else the including file's); None if unknown."""
    text = _SCRIPT_DIR.sub(lambda _: str(base), word)
    for _ in range(4):  # values may refer to others: ${LFS}/sources
        text = expand_variables(text, values.get)
    text = _QUOTING.sub(lambda m: m.group(1) or "", text)
    if not text or "$" in text or "`" in text or text.startswith("~"):
        return None
    candidates = [Path(text)] if os.path.isabs(text) else [d / text for d in (base, including)]
    found = next((path for path in candidates if path.is_file()), None)
    # one name for one file, however it is reached (./a, ../x/a, a link): includes may loop
    return Path(os.path.realpath(found)) if found is not None else None


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _outcome(cd: CdUse, unset: list[str]) -> str:
    """What bash does with the ``cd`` when ``unset`` are unset."""
    target = "".join(text for text, name in cd.parts if name not in unset)
    if target:
        return f"bash would {cd.command} to {target} instead"
    if cd.quoted:
        return f'bash would stay in the directory it is in ({cd.command} "" does nothing)'
    if cd.command == "pushd":
        return "pushd with no directory swaps the top two directories of its stack, or fails"
    return "bash would cd to $HOME"


def _issue(cd: CdUse, unset: list[str]) -> Issue:
    verb = "is" if len(unset) == 1 else "are"
    first = unset[0]
    return Issue(
        CODE, "warning", cd.line,
        f"{cd.shown}: {_names(unset)} {verb} set neither by the script nor by its "
        f"environment; {_outcome(cd, unset)}",
        f"set {first} for the script: in the driver that runs it or in [env] of lfsplug.toml; "
        f"or let lfsplug unpack the package and enter its directory (unpack= and workdir= in "
        f"the header); or write ${{{first}:?}} so that the script stops when it is unset",
    )
