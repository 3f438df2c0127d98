"""Security: who could change a script before it runs as root.

A build runs as root, so anyone who can write a script (or replace it, through a directory on
its path) can run commands as root. These are errors:

* SEC001: the script is world-writable;
* SEC002: a directory on its path is world-writable without the sticky bit (``/tmp`` has the
  bit, so a script below ``/tmp/x`` is fine unless ``/tmp/x`` itself is open to all);
* SEC003: the script is owned by neither the user running lfsplug nor root.

Directories are checked along the path as given and along the resolved path (a symlink in an
open directory can be swapped, and so can the file it points to); each directory is looked at
once per run.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from lfsplug_validation.records import Issue

__all__ = ["SecurityChecker"]


def _user(uid: int) -> str | None:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (KeyError, ImportError):
        return None


def _owner(uid: int) -> str:
    name = _user(uid)
    return f"{name} (uid {uid})" if name else f"uid {uid}"


class SecurityChecker:
    """Checks scripts' modes and owners; remembers the directories it has looked at."""

    def __init__(self) -> None:
        self.uid = os.getuid()
        self._dirs: dict[str, bool] = {}  # directory -> open to all without the sticky bit
        self._chains: dict[str, list[str]] = {}
        self._resolved: dict[str, str] = {}
        self._plain: dict[str, list[str]] = {}  # directory -> open dirs of a non-link script

    def _open_dir(self, directory: str) -> bool:
        known = self._dirs.get(directory)
        if known is None:
            try:
                mode = os.stat(directory).st_mode
                known = bool(mode & stat.S_IWOTH) and not mode & stat.S_ISVTX
            except OSError:
                known = False
            self._dirs[directory] = known
        return known

    def _chain(self, directory: str) -> list[str]:
        """The open directories from ``directory`` up to ``/`` (cached per directory)."""
        known = self._chains.get(directory)
        if known is None:
            parent = os.path.dirname(directory)
            above = self._chain(parent) if parent != directory else []
            known = [directory, *above] if self._open_dir(directory) else above
            self._chains[directory] = known
        return known

    def _open_dirs(self, path: Path, link: bool | None) -> list[str]:
        """The open directories above ``path`` (read-only: shared by the scripts of a
        directory that are not links)."""
        text = str(path)
        given = os.path.dirname(text if os.path.isabs(text) else os.path.abspath(text))
        if link is False:
            known = self._plain.get(given)
            if known is None:
                known = self._plain[given] = self._dirs_of(path, given, False)
            return known
        return self._dirs_of(path, given, link)

    def _dirs_of(self, path: Path, given: str, link: bool | None) -> list[str]:
        found = list(self._chain(given))
        resolved = self._resolved.get(given)
        if resolved is None:
            resolved = self._resolved[given] = os.path.realpath(given)
        targets = [resolved]
        if os.path.islink(path) if link is None else link:
            targets.append(os.path.dirname(os.path.realpath(path)))
        for target in targets:
            found.extend(d for d in self._chain(target) if d not in found)
        return found

    def check(self, path: Path, info: os.stat_result, link: bool | None = None) -> list[Issue]:
        """The security issues of the script at ``path``, whose ``stat`` is ``info``; ``link``
        says whether the path is a symbolic link, when the caller knows (None: look)."""
        issues = []
        if info.st_mode & stat.S_IWOTH:
            issues.append(Issue(
                "SEC001", "error", None,
                f"the script is world-writable (mode {stat.filemode(info.st_mode)}): anyone "
                f"can change what the build runs as root",
                f"chmod o-w {path}",
            ))
        for directory in self._open_dirs(path, link):
            issues.append(Issue(
                "SEC002", "error", None,
                f"the directory {directory} is world-writable without the sticky bit: anyone "
                f"can replace the script the build runs as root",
                f"chmod o-w {directory} (or chmod +t {directory} for a shared directory)",
            ))
        if info.st_uid not in (self.uid, 0):
            issues.append(Issue(
                "SEC003", "error", None,
                f"the script is owned by {_owner(info.st_uid)}, neither you nor root: its "
                f"owner can change what the build runs as root",
                f"chown {_user(self.uid) or self.uid} {path} (after reading it)",
            ))
        return issues
