"""The refusals: findings before a build (``CHR001``...), and the same checks again just before
a script runs (for what an earlier script of the build may still fix, and behind
``--ignore-errors``), once per distinct placement that passes them.

Two checks wait for the build when the tree itself may satisfy them: a missing build user
when a script runs as root before the first one that needs the user (the book's chapter 4
creates ``lfs``), and a missing shell inside the chroot when scripts run outside it first
(chapter 6 installs bash into $LFS). Both are checked again just before the first script that
needs them, which fails (not run) with the code if still unmet.
"""

from __future__ import annotations

import os
import pwd
import shutil
from collections.abc import Callable, Sequence

from lfsplug import Finding, Script, Severity
from lfsplug_chroot.modes import Placement, lookup_user
from lfsplug_chroot.settings import Settings

__all__ = [
    "TOOLS",
    "find_tools",
    "lfs_problem",
    "lfs_problems",
    "preflight",
    "readable_by",
    "resolve_inside",
    "validate",
]

#: The programs each mode needs, found on PATH or in the sbin directories.
TOOLS = {"user": ("setpriv",), "chroot": ("chroot", "mount", "umount")}
_SBIN = "/usr/sbin:/sbin:/usr/bin:/bin"
PLUGIN = "chroot"
#: How to mend each refusal: the same words before the build and just before a script.
HINTS = {
    "CHR001": "run lfsplug as root, or set user=/chroot= or [chroot.phases] (docs/chroot.md)",
    "CHR002": "set --lfs (or lfs = in lfsplug.toml) to the LFS partition's mount point, and "
              "LFS in [env] to the same or not at all",
    "CHR003": "create it as the book's chapter 4 does (groupadd lfs; useradd -s /bin/bash -g "
              "lfs -m -k /dev/null lfs), or name another user in [chroot] user",
    "CHR004": "build the temporary tools first (the book's chapters 5 and 6), check --lfs, or "
              "set [chroot] shell to the shell inside",
    "CHR005": "install {} (util-linux or coreutils)",
    "CHR006": "keep the scripts where {0} can read them (chmod o+rx on each directory, o+r on "
              "the script), or change [chroot] user",
    "CHR007": "drop user=, or switch user inside the script (the book runs some test suites "
              "with su tester -c ...)",
}


def current_euid() -> int:
    """Who lfsplug runs as (a function, so that a test can stand in for another user)."""
    return os.geteuid()


def find_tools() -> dict[str, str]:
    """Each tool's path; the bare name for one that is missing (it fails when run)."""
    path = os.pathsep.join(p for p in (os.environ.get("PATH", ""), _SBIN) if p)
    names = {name for names in TOOLS.values() for name in names}
    return {name: shutil.which(name, path=path) or name for name in sorted(names)}


def lfs_problem(lfs: str) -> str | None:
    """Why ``$LFS`` cannot be the root of a build (empty, relative, the host's /, also through
    a link or a bind mount: the same device and inode), or None."""
    if not lfs.strip():
        return "$LFS is empty"
    if not os.path.isabs(lfs):
        return f"$LFS is a relative path ({lfs!r})"
    if os.path.realpath(lfs) == "/":
        return f"$LFS is the host's root directory ({lfs!r})"
    try:
        here, root = os.stat(lfs), os.stat("/")
    except OSError:
        return None  # not there yet: the partition is mounted later, or a script makes it
    if (here.st_dev, here.st_ino) == (root.st_dev, root.st_ino):
        return f"$LFS is the host's root directory ({lfs!r} is / mounted again)"
    return None


def lfs_problems(settings: Settings) -> str | None:
    """Why the ``$LFS`` the build uses cannot be its root: ``--lfs`` (the chroot's root and the
    mounts), then ``[env] LFS``, which the scripts get instead when it is set."""
    problem = lfs_problem(settings.lfs)
    if problem is None and settings.lfs_env is not None:
        value, where = settings.lfs_env
        found = lfs_problem(value)
        problem = found and f"{found}, set by [env] LFS at {where}"
    return problem


def resolve_inside(root: str, path: str, limit: int = 40) -> str | None:
    """Where ``path``, as seen inside ``chroot root``, is on the host: symbolic links are
    followed the way they resolve inside (an absolute target starts again from ``root``, and
    ``..`` stops at it). None when it does not exist there."""
    parts = [p for p in path.split("/") if p]
    done: list[str] = []
    while parts:
        part = parts.pop(0)
        if part in (".", ""):
            continue
        if part == "..":
            if done:
                done.pop()
            continue
        host = os.path.join(root, *done, part)
        if os.path.islink(host):
            limit -= 1
            if limit < 0:
                return None
            target = os.readlink(host)
            if target.startswith("/"):
                done = []
            parts = [p for p in target.split("/") if p] + parts
            continue
        if not os.path.lexists(host):
            return None
        done.append(part)
    return os.path.join(root, *done)


def _may(info: os.stat_result, entry: pwd.struct_passwd, groups: set[int], bits: int) -> bool:
    """Whether the permission bits (``bits`` as for others: 4 read, 1 search) allow it."""
    if entry.pw_uid == 0:
        return True
    if info.st_uid == entry.pw_uid:
        return bool(info.st_mode & (bits << 6))
    if info.st_gid in groups:
        return bool(info.st_mode & (bits << 3))
    return bool(info.st_mode & bits)


def readable_by(path: str, entry: pwd.struct_passwd) -> str | None:
    """The first directory the user cannot search, or the file it cannot read, on the way to
    ``path``; None when it can read it (permission bits only: ACLs are not read)."""
    try:
        groups = set(os.getgrouplist(entry.pw_name, entry.pw_gid))
    except OSError:
        groups = {entry.pw_gid}
    full = os.path.abspath(path)
    parts = full.split("/")[1:]
    for depth in range(len(parts) + 1):
        here = "/" + "/".join(parts[:depth])
        try:
            info = os.stat(here)
        except OSError:
            return here
        last = depth == len(parts)
        if not _may(info, entry, groups, 4 if last else 1):
            return here
    return None


def _needs_root(placement: Placement, euid: int) -> bool:
    if placement.mode in ("root", "chroot"):
        return True
    if placement.mode == "user":
        entry = lookup_user(placement.user)
        return entry is None or entry.pw_uid != euid
    return False


def _error(code: str, message: str, script: Script, *hint_args: str) -> Finding:
    """A refusal at ``script`` (at the header line that placed it, if a header did)."""
    line = script.line_of("user") or script.line_of("chroot")
    return Finding(code, Severity.ERROR, message, str(script.path), line,
                   HINTS[code].format(*hint_args), PLUGIN)


def _count(scripts: list[Script], what: str) -> str:
    more = f" and {len(scripts) - 1} more" if len(scripts) > 1 else ""
    return f"{scripts[0].name}{more} {what}"


def validate(scripts: Sequence[Script], placements: dict[str, Placement], settings: Settings,
             euid: int, tools: dict[str, str]) -> list[Finding]:
    """Every refusal for these scripts (in their layout order)."""
    findings: list[Finding] = []
    by_mode: dict[str, list[Script]] = {}
    for script in scripts:
        placement = placements[script.name]
        by_mode.setdefault(placement.mode, []).append(script)
        if placement.conflict:
            findings.append(_error(
                "CHR007", f"chroot=yes with user={placement.user}: inside the chroot scripts "
                "run as root", script))
    privileged = [s for s in scripts if _needs_root(placements[s.name], euid)]
    if privileged and euid != 0:
        findings.append(_error(
            "CHR001", _count(privileged, f"must run {placements[privileged[0].name].describe()}"
                             f" (which needs root), and lfsplug runs as uid {euid}"),
            privileged[0]))
    lfs_scripts = [s for s in scripts if placements[s.name].mode != "host"]
    problem = lfs_problems(settings) if lfs_scripts else None
    if problem:
        findings.append(_error(
            "CHR002", f"{problem}: {_count(lfs_scripts, 'would run outside a build root')}",
            lfs_scripts[0]))
    findings.extend(_missing_tools(by_mode, placements, euid, tools))
    findings.extend(_users(scripts, placements, euid))
    if not problem:
        findings.extend(_shell(scripts, placements, settings))
    return findings


def _missing_tools(by_mode: dict[str, list[Script]], placements: dict[str, Placement],
                   euid: int, tools: dict[str, str]) -> list[Finding]:
    found = []
    for mode, names in TOOLS.items():
        users = [s for s in by_mode.get(mode, []) if _needs_root(placements[s.name], euid)]
        if not users:
            continue
        where = placements[users[0].name].describe()
        for name in names:
            if not os.path.isabs(tools[name]):
                found.append(_error("CHR005", f"{name} is not installed: "
                                    + _count(users, f"must run {where}"), users[0], name))
    return found


def _before(scripts: Sequence[Script], first: Script, test: Callable[[Script], bool]) -> bool:
    """Whether a script before ``first`` (in layout order) passes ``test``."""
    return any(test(s) for s in scripts[: scripts.index(first)])


def _users(scripts: Sequence[Script], placements: dict[str, Placement],
           euid: int) -> list[Finding]:
    found = []
    firsts: dict[str, Script] = {}
    for script in scripts:
        placement = placements[script.name]
        if placement.mode == "user" and placement.user is not None:
            firsts.setdefault(placement.user, script)

    def as_root(script: Script) -> bool:
        mode = placements[script.name].mode
        return mode == "root" or (mode == "host" and euid == 0)

    for name, first in firsts.items():
        if lookup_user(name) is not None:
            found.extend(_unreadable(scripts, placements, name, euid))
            continue
        if _before(scripts, first, as_root):
            continue  # checked again before the first script that needs the user
        found.append(_error(
            "CHR003", f"user {name} does not exist: {first.name} must run as {name}", first))
    return found


def _unreadable(scripts: Sequence[Script], placements: dict[str, Placement], name: str,
                euid: int) -> list[Finding]:
    entry = lookup_user(name)
    if entry is None or entry.pw_uid == euid:
        return []
    found = []
    for script in scripts:
        placement = placements[script.name]
        if placement.mode != "user" or placement.user != name:
            continue
        denied = readable_by(str(script.path), entry)
        if denied is not None:
            what = "read" if denied == os.path.abspath(script.path) else "search"
            found.append(_error(
                "CHR006", f"user {name} cannot {what} {denied}, so it cannot run the script",
                script, name))
    return found


def _shell(scripts: Sequence[Script], placements: dict[str, Placement],
           settings: Settings) -> list[Finding]:
    inside = [s for s in scripts if placements[s.name].mode == "chroot"]
    if not inside:
        return []
    if _has_shell(settings):
        return []
    first = inside[0]
    if _before(scripts, first, lambda s: placements[s.name].mode != "chroot"):
        return []  # checked again before the first script inside the chroot
    return [_error("CHR004", f"the chroot has no {settings.shell} ({settings.lfs} has no "
                   f"executable {settings.shell.lstrip('/')}): "
                   + _count(inside, "must run inside it"), first)]


def _has_shell(settings: Settings) -> bool:
    """Whether the configured shell is an executable file inside the chroot."""
    found = resolve_inside(os.path.realpath(settings.lfs), settings.shell)
    return found is not None and os.access(found, os.X_OK) and not os.path.isdir(found)


def preflight(script: Script, placement: Placement, settings: Settings, euid: int,
              tools: dict[str, str]) -> Finding | None:
    """Why ``script`` cannot run as placed, just before it would, or None."""
    if placement.mode == "host":
        return None
    root = _needs_root(placement, euid)
    lfs = lfs_problems(settings)
    missing = ", ".join(n for n in TOOLS.get(placement.mode, ())
                        if root and not os.path.isabs(tools[n]))
    problems = (
        (placement.conflict, "CHR007", f"chroot=yes with user={placement.user} is not "
                                       "supported"),
        (root and euid != 0, "CHR001", f"must run {placement.describe()}, which needs root "
                                       f"(uid {euid})"),
        (lfs is not None, "CHR002", str(lfs)),
        (bool(missing), "CHR005", f"{missing} not installed"),
        (placement.mode == "user" and lookup_user(placement.user) is None, "CHR003",
         f"user {placement.user} does not exist"),
    )
    for failed, code, message in problems:
        if failed:
            return _error(code, message, script, missing)
    if placement.mode == "chroot" and not _has_shell(settings):
        return _error("CHR004", f"the chroot at {settings.lfs} has no executable "
                      f"{settings.shell}", script)
    return None
