"""The argv and the environment of a script that runs as another user or inside the chroot.

Both wrap what the other plugins decided: the command is the executor's (``bash +h -e FILE``,
or whatever answered ``lfsplug_script_command``) put behind ``setpriv`` or ``chroot``; the
environment is the one every ``lfsplug_script_env`` implementation shaped, adjusted for where
the script runs. Never a shell string: each name is one argv word, and a directory to start in
is an argument of a fixed shell text (:func:`start_in`).
"""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Mapping

from lfsplug import Script, expand_variables
from lfsplug_chroot.modes import Placement, lookup_user
from lfsplug_chroot.settings import Settings

__all__ = ["CHROOT_PS1", "HOST_ONLY", "START_IN", "chroot_env", "inside_name", "start_in",
           "user_env", "wrap_command"]

#: The book's prompt inside the chroot.
CHROOT_PS1 = "(lfs chroot) \\u:\\w\\$ "
#: Variables of the host's build environment that the book's chroot environment does not
#: have (chapter 7 enters it with ``env -i``): dropped unless ``[env]`` sets them.
HOST_ONLY = ("LFS", "LFS_TGT", "CONFIG_SITE", "LC_ALL")
_JOBS = re.compile(r"(?:^|\s)(-j\s*\d+)(?:\s|$)")
#: The shell text that starts a command inside the chroot in a directory (``chroot`` changes
#: to its ``/``): the directory is its first argument, the command the rest, so that no path
#: is ever read as shell text.
START_IN = 'cd "$1" || exit; shift; exec "$@"'
#: ``$NAME`` and ``${NAME}``: the references the executor expands in a driver's exports.


def inside_name(script: Script) -> str:
    """The file name of the script's copy inside the chroot."""
    safe = script.name.replace("/", "_").lstrip(".") or "_"
    return f"{safe}.sh"


def _inside_argv(argv: list[str], script: Script, settings: Settings) -> list[str]:
    """The command as it runs inside the chroot: the script's path is its copy's, and the
    executor's ``bash`` is the configured shell (with the configured options, if any)."""
    host_path = str(script.path)
    copy = posixpath.join(settings.script_dir, inside_name(script))
    inside = [copy if word == host_path else word for word in argv]
    if inside and inside[0] == "bash":
        inside[0] = settings.shell
        if settings.shell_options is not None and copy in inside:
            inside = [settings.shell, *settings.shell_options, *inside[inside.index(copy):]]
    return inside


def wrap_command(argv: list[str], script: Script, placement: Placement, settings: Settings,
                 *, euid: int, tools: dict[str, str]) -> list[str]:
    """``argv`` run where ``placement`` says; unchanged on the host as the current user."""
    if placement.mode == "chroot":
        return [tools["chroot"], settings.lfs, *_inside_argv(argv, script, settings)]
    if placement.mode == "user":
        entry = lookup_user(placement.user)
        if entry is not None and entry.pw_uid == euid:
            return argv  # lfsplug already runs as that user, as the book's chapter 5 has it
        uid = str(entry.pw_uid) if entry else str(placement.user)
        gid = str(entry.pw_gid) if entry else str(placement.user)
        return [tools["setpriv"], f"--reuid={uid}", f"--regid={gid}", "--init-groups", "--",
                *argv]
    return argv


def start_in(argv: list[str], directory: str, settings: Settings,
             tools: dict[str, str]) -> list[str] | None:
    """The chroot command ``argv`` (as :func:`wrap_command` made it) started in ``directory``
    (a path inside the chroot), through the chroot's shell; None for a command that another
    plugin made, which is left as it is."""
    prefix = [tools["chroot"], settings.lfs]
    if argv[:2] != prefix or len(argv) < 3:
        return None
    return [*prefix, settings.shell, "-c", START_IN, "lfsplug-start", directory, *argv[2:]]


def _expand(text: str, env: Mapping[str, str]) -> str:
    """``$NAME``/``${NAME}`` replaced from ``env`` (empty when unset), as the executor does."""
    return expand_variables(text, lambda name: env.get(name, ""))


def _driver_inside(env: dict[str, str], host: Mapping[str, str], driver: Mapping[str, str],
                   kept: set[str]) -> None:
    """The driver's exports expanded again against the chroot's environment (inside, ``$LFS``
    is unset: ``${LFS}/sources`` is ``/sources``). A variable in ``kept``, or one that a plugin
    changed after the executor added it (it no longer has its value on the host), stays."""
    for name, value in driver.items():
        if name in kept or "$" not in value:
            continue
        if env.get(name) == _expand(value, host):
            env[name] = _expand(value, env)


def _jobs(makeflags: str | None) -> str:
    """The ``-jN`` of MAKEFLAGS (the book sets TESTSUITEFLAGS to the same), else all CPUs."""
    found = _JOBS.search(makeflags or "")
    return found.group(1).replace(" ", "") if found else f"-j{os.cpu_count() or 1}"


def chroot_env(env: dict[str, str], settings: Settings, configured: dict[str, str],
               driver: Mapping[str, str] | None = None) -> None:
    """Make ``env`` the book's chroot environment (chapter 7: ``HOME=/root``, ``TERM``, ``PS1``,
    ``PATH=/usr/bin:/usr/sbin``, ``MAKEFLAGS``, ``TESTSUITEFLAGS``), in place.

    What other plugins and ``lfsconf.py`` added is kept; the host-only variables of the build
    environment go; the exports of the collection's driver (``driver``: ``script.env``) that
    refer to variables are expanded again against this environment; ``[env]``
    (``configured``) still wins, and ``[chroot.env]`` wins over all.
    """
    host = dict(env)
    book = {
        "HOME": "/root",
        "TERM": env.get("TERM", "dumb"),
        "PS1": CHROOT_PS1,
        "PATH": "/usr/bin:/usr/sbin",
        "MAKEFLAGS": env.get("MAKEFLAGS") or _jobs(None),
        "TESTSUITEFLAGS": _jobs(env.get("MAKEFLAGS")),
    }
    for key in HOST_ONLY:
        if key not in configured:
            env.pop(key, None)
    for key, value in book.items():
        if key not in configured:
            env[key] = value
    _driver_inside(env, host, driver or {}, {*configured, *book, *HOST_ONLY})
    env.update(settings.env)


def user_env(env: dict[str, str], placement: Placement, configured: dict[str, str]) -> None:
    """As the build user, ``HOME`` is that user's (the book's ``lfs`` has ``/home/lfs``)."""
    entry = lookup_user(placement.user)
    if entry is not None and "HOME" not in configured:
        env["HOME"] = entry.pw_dir
