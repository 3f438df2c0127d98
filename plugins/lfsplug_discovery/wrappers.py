"""The commands a driver runs its scripts through, and what each says of how they run.

``sudo``/``doas`` (as root or ``-u USER``; the environment reset unless ``-E``), ``su [-] USER
[-c CMD]`` (a login shell starts clean, in the user's home), ``runuser``/``setpriv``,
``chroot DIR`` (as root, in the new root's ``/``), ``env [-i] [-u NAME] NAME=VALUE``, and those
that only run the rest of their words (``time``, ``nohup``, ``exec``, ``nice``, ``timeout``...).
:func:`unwrap` takes them off a command's words for
:class:`~lfsplug_discovery.evaluate.Evaluator`, and :func:`shell_words` reads a shell's own
options (``bash -e -x X.sh``, ``bash -c STRING``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from lfsplug_discovery.expand import State, join, unknown

__all__ = ["PLAIN_WRAPPERS", "SHELLS", "Wrapped", "shell_words", "unwrap"]

#: The shells a driver calls scripts with (by the program's base name).
SHELLS = frozenset({"bash", "sh", "dash", "ksh", "zsh", "ash", "busybox"})
#: Commands that run the rest of their words as a command, and their options taking a value.
PLAIN_WRAPPERS = {
    "time": (), "nohup": (), "exec": ("-a",), "command": (), "builtin": (), "setsid": (),
    "nice": ("-n",), "ionice": ("-c", "-n", "-p"), "stdbuf": ("-i", "-o", "-e"),
    "eatmydata": (), "unbuffer": (), "{": (), "!": (), "xargs": ("-I", "-n", "-P", "-d"),
    "timeout": ("-s", "-k", "--signal", "--kill-after"), "fakeroot": (), "caffeinate": (),
    "chronic": (), "ts": (),
}
_SUDO_VALUE = frozenset({"-u", "-g", "-C", "-D", "-h", "-p", "-r", "-t", "-U", "-T", "-R"})
_SU_VALUE = frozenset({"-s", "--shell", "-g", "--group", "-G", "--supp-group", "-w",
                       "--whitelist-environment"})
_CHROOT_VALUE = frozenset({"--userspec", "--groups"})
_SHELL_VALUE = frozenset({"-o", "-O", "+o", "+O", "--rcfile", "--init-file"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_]\w*=")


@dataclass
class Wrapped:
    """A command with its wrappers taken off: the words left, the state they run with, the
    ``-c`` string of an ``su`` (``""`` without one; None: no su), and whether ``exec``
    replaces the shell with it."""

    words: list[str]
    context: State
    su: str | None = None
    replaces: bool = False


def unwrap(words: list[str], state: State, local: dict[str, str]) -> Wrapped:
    """``words`` with their wrappers taken off; ``local`` (the command's ``NAME=VALUE``
    prefixes) gets what ``env`` and ``sudo`` set and loses what they drop."""
    wrapped = Wrapped(list(words), state)
    while wrapped.words and wrapped.su is None:
        program = os.path.basename(wrapped.words[0])
        step = _STEPS.get(program) or (_plain if program in PLAIN_WRAPPERS else None)
        if step is None:
            break
        step(wrapped, local)
    return wrapped


def shell_words(words: list[str]) -> tuple[str | None, list[str]]:
    """A shell's command line: its ``-c`` string and the words after it (``$0`` first), or
    None and the script with its arguments."""
    rest = words[1:]
    if os.path.basename(words[0]) == "busybox" and rest and rest[0] in ("sh", "ash"):
        rest = rest[1:]
    while rest and rest[0][:1] in ("-", "+"):
        option = rest.pop(0)
        if option in ("--", "-"):
            break
        if option.startswith("-") and not option.startswith("--") and "c" in option[1:]:
            return (rest[0], rest[1:]) if rest else ("", [])
        if option in _SHELL_VALUE and rest:
            rest.pop(0)
    return None, rest


def _plain(wrapped: Wrapped, local: dict[str, str]) -> None:
    words = wrapped.words
    program = os.path.basename(words[0])
    if program == "exec" and len(words) > 1:
        wrapped.replaces = True
    wrapped.words = _drop_options(words[1:], PLAIN_WRAPPERS[program],
                                  positional=1 if program == "timeout" else 0)


def _env(wrapped: Wrapped, local: dict[str, str]) -> None:
    """``env [-i] [-u NAME] [-C DIR] [NAME=VALUE]... CMD``."""
    rest, context = wrapped.words[1:], wrapped.context.copy()
    while rest:
        word = rest.pop(0)
        if word in ("-i", "-", "--ignore-environment"):
            context.reset_environment()
            local.clear()  # env -i: only what it sets goes through
        elif word in ("-u", "--unset") and rest:
            name = rest.pop(0)
            context.exported.discard(name)
            local.pop(name, None)
        elif word in ("-C", "--chdir") and rest:
            context.cwd = join(context.cwd, rest.pop(0))
        elif word.startswith("-"):
            continue
        elif _ASSIGNMENT.match(word):
            key, _, value = word.partition("=")
            local[key] = value
        else:
            rest.insert(0, word)
            break
    wrapped.words, wrapped.context = rest, context


def _sudo(wrapped: Wrapped, local: dict[str, str]) -> None:
    """``sudo``/``doas [-u USER] [-E] [-i] [NAME=VALUE]... CMD``: as root unless told; the
    environment reset (sudo's ``env_reset``) unless kept."""
    rest, context = wrapped.words[1:], wrapped.context.copy()
    user, keep, login = "root", False, False
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option == "--":
            break
        if option in _SUDO_VALUE and rest:
            value = rest.pop(0)
            user = value if option == "-u" else user
        elif option.startswith("--user="):
            user = option.split("=", 1)[1]
        keep = keep or option == "-E" or option.startswith("--preserve-env")
        login = login or option in ("-i", "--login")
    if not keep:
        context.reset_environment()
        local.clear()
    while rest and _ASSIGNMENT.match(rest[0]):
        key, _, value = rest.pop(0).partition("=")
        local[key] = value
    context.user = user
    if login:
        context.cwd = unknown("HOME")
    wrapped.words, wrapped.context = rest, context


def _runuser(wrapped: Wrapped, local: dict[str, str]) -> None:
    """``runuser -u USER -- CMD`` (the environment kept), else as ``su``."""
    words = wrapped.words
    if "-u" not in words and "--user" not in words:
        _su(wrapped, local)
        return
    at = words.index("-u") if "-u" in words else words.index("--user")
    context = wrapped.context.copy()
    context.user = words[at + 1] if at + 1 < len(words) else "root"
    rest = words[at + 2:]
    wrapped.words = rest[1:] if rest[:1] == ["--"] else rest
    wrapped.context = context


def _setpriv(wrapped: Wrapped, local: dict[str, str]) -> None:
    """``setpriv --reuid=USER ... CMD`` (the environment kept)."""
    rest, context = wrapped.words[1:], wrapped.context.copy()
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option.startswith(("--reuid=", "--ruid=", "--euid=")):
            context.user = option.split("=", 1)[1]
    wrapped.words, wrapped.context = rest, context


def _su(wrapped: Wrapped, local: dict[str, str]) -> None:
    """``su [-|-l] [USER] [-c CMD]``: a shell of USER's (a login shell starts with a clean
    environment, in the user's home)."""
    rest = wrapped.words[1:]
    user, command, login = None, "", False
    while rest:
        word = rest.pop(0)
        if word in ("-c", "--command", "--session-command") and rest:
            command = rest.pop(0)
        elif word in _SU_VALUE and rest:
            rest.pop(0)
        elif word in ("-", "-l", "--login"):
            login = True
        elif not word.startswith("-") and user is None:
            user = word
    context = wrapped.context.child(wrapped.context.script, [])
    context.vars.update(local)
    context.exported.update(local)
    context.user = user or "root"
    if login:
        context.reset_environment()
        context.cwd = unknown("HOME")
    wrapped.words, wrapped.context, wrapped.su = [], context, command


def _chroot(wrapped: Wrapped, local: dict[str, str]) -> None:
    """``chroot [--userspec=U:G] NEWROOT [CMD]``: as root, in the new root's ``/``."""
    rest, context = wrapped.words[1:], wrapped.context.copy()
    while rest and rest[0].startswith("-"):
        option = rest.pop(0)
        if option in _CHROOT_VALUE and rest:
            rest.pop(0)
        elif option.startswith("--userspec="):
            user = option.split("=", 1)[1].split(":", 1)[0]
            context.user = "root" if user == "0" else user
    if not rest:
        wrapped.words = []
        return
    context.root = rest.pop(0).rstrip("/")
    context.chroot = True
    context.user = context.user or "root"
    context.cwd = "/"  # chroot(8) starts the command in the new root's /
    context.unpack = context.unpack_dir = context.unpack_top = None
    wrapped.words, wrapped.context = rest or ["/bin/sh"], context


_STEPS: dict[str, Callable[[Wrapped, dict[str, str]], None]] = {
    "env": _env, "sudo": _sudo, "doas": _sudo, "runuser": _runuser, "setpriv": _setpriv,
    "su": _su, "chroot": _chroot,
}


def _drop_options(words: list[str], valued: tuple[str, ...], positional: int = 0) -> list[str]:
    rest = list(words)
    while rest and rest[0].startswith("-") and rest[0] != "-":
        option = rest.pop(0)
        if option == "--":
            break
        if option in valued and rest:
            rest.pop(0)
    return rest[positional:]
