"""Where and as whom each script runs: its *placement*.

Most specific first: the script's own header (``user=``, ``chroot=``), then ``[chroot.scripts]``
(by name; the book's ``changingowner`` and ``kernfs`` pages run as root on the host), then
``[chroot.phases]`` (by phase; the book's defaults in :data:`~.settings.DEFAULT_PHASES`).

The header's two keys combine so: ``chroot=yes`` is the chroot (as root); ``user=root`` is
root, inside the chroot if the phase runs there, else on the host; ``user=NAME`` is that user
on the host; ``chroot=no`` alone keeps the phase's mode, except that a chroot phase becomes
root on the host.
"""

from __future__ import annotations

import pwd
from dataclasses import dataclass

from lfsplug import Script
from lfsplug_chroot.settings import Settings

__all__ = ["Placement", "lookup_user", "resolve"]


@dataclass(frozen=True)
class Placement:
    """A script's mode (``host``, ``root``, ``user``, ``chroot``), the user it runs as (None:
    whoever runs lfsplug) and why (``"phase cross"``, ``"header user=root"``...)."""

    mode: str
    user: str | None
    why: str

    @property
    def conflict(self) -> bool:
        """``chroot=yes`` with a user other than root: not supported."""
        return self.mode == "chroot" and self.user not in (None, "root")

    def describe(self) -> str:
        if self.mode == "chroot":
            return "inside the chroot"
        if self.mode == "user":
            return f"as user {self.user}"
        return "as root" if self.mode == "root" else "on the host"


#: Accounts found, by name. Only found ones are kept: a missing user may be created by a script
#: of the build (the book's chapter 4), and one that exists stays for the build. A look-up
#: reads the password database through NSS, which cost a quarter of a millisecond per script.
_FOUND: dict[str, pwd.struct_passwd] = {}


def lookup_user(name: str | None) -> pwd.struct_passwd | None:
    """The password entry of ``name`` (a name or a number), None if there is none."""
    if name is None:
        return None
    entry = _FOUND.get(name)
    if entry is not None:
        return entry
    try:
        entry = pwd.getpwuid(int(name)) if name.isdigit() else pwd.getpwnam(name)
    except (KeyError, OverflowError):
        return None
    _FOUND[name] = entry
    return entry


def _base(script: Script, settings: Settings) -> Placement:
    by_name = settings.script_mode(script.name)
    mode, why = by_name if by_name is not None else settings.phase_mode(script.phase)
    user = {"user": settings.user, "root": "root", "chroot": "root"}.get(mode)
    return Placement(mode, user, why)


def resolve(script: Script, settings: Settings) -> Placement:
    """The placement of ``script``: header, then ``[chroot.scripts]``, then the phase."""
    base = _base(script, settings)
    user, chroot = script.user, script.chroot
    if chroot is True:
        return Placement("chroot", user or "root", "header chroot=yes")
    if user == "root":
        inside = chroot is None and base.mode == "chroot"
        return Placement("chroot" if inside else "root", "root",
                         f"header user=root ({base.why})" if inside else "header user=root")
    if user is not None:
        return Placement("user", user, f"header user={user}")
    if chroot is False and base.mode == "chroot":
        return Placement("root", "root", f"header chroot=no ({base.why} runs as root)")
    if chroot is False:
        return Placement(base.mode, base.user, f"header chroot=no ({base.why})")
    return base
