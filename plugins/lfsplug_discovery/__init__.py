"""Discovery: find the build scripts under each root and read their metadata.

Layouts recognised now: numbered script files (``01-name.sh``, ``10-name``) in a directory tree,
files and directories in version order (``2-x`` before ``10-y``, as ``sort -V``), and single
script files named on the command line. Metadata: the ``# lfsplug:`` header in the first 50
lines (highest priority) and the file name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from lfsplug import MetaSource, Script, hookimpl
from lfsplug.version import version_key

if TYPE_CHECKING:
    from lfsplug.config import Config
    from lfsplug.session import Session

HEADER_LINES = 50
_HEADER = re.compile(r"^\s*#\s*lfsplug:\s?(.*)$")
# A key starts the line or follows white space that does not follow a comma, so that
# "depends=a, glibc=2.39" is one list, not a key "glibc".
_KEY = re.compile(r"(?:^|(?<=[^,\s])\s+)([A-Za-z_][A-Za-z0-9_-]*)=")
_NUMBERED = re.compile(r"^\d")
_PREFIX = re.compile(r"^\d+(?:[.\-_]\d+)*[-_. ]?")
#: Files that sit in script trees but are not scripts.
NOT_SCRIPTS = (
    ".log", ".txt", ".md", ".rst", ".patch", ".diff", ".py", ".pyc", ".toml", ".json", ".xml",
    ".html", ".orig", ".bak", ".swp", ".tar", ".gz", ".xz", ".bz2", ".zst", ".sig", ".asc", "~",
)
SKIP_DIRS = {".git", ".hg", ".svn", "__pycache__", ".lfsplug"}


def parse_header(lines: list[str]) -> tuple[dict[str, str], dict[str, int]]:
    """The ``key=value`` pairs of every ``# lfsplug:`` line, with the line each came from.

    A value runs up to the next `` key=`` on the line, so lists may have spaces after commas
    (``depends=a, b>=1 provides=c``). A key repeated on a later line overrides.
    """
    values: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, line in enumerate(lines[:HEADER_LINES], 1):
        match = _HEADER.match(line)
        if match is None:
            continue
        body = match.group(1)
        keys = list(_KEY.finditer(body))
        for i, key in enumerate(keys):
            end = keys[i + 1].start() if i + 1 < len(keys) else len(body)
            name = key.group(1).lower()
            values[name] = body[key.end():end].strip()
            where[name] = number
    return values, where


def name_from_filename(filename: str) -> str:
    """``01-hello.sh`` gives ``hello``; a name that is only a number is kept whole."""
    stem = filename[:-3] if filename.endswith(".sh") else filename
    name = _PREFIX.sub("", stem, count=1)
    return name or stem


def is_script_name(filename: str) -> bool:
    """Whether a file in a walked directory is a numbered build script."""
    return bool(_NUMBERED.match(filename)) and not filename.endswith(NOT_SCRIPTS)


def read_head(path: Path, lines: int = HEADER_LINES) -> list[str]:
    """The first lines of a file, decoded leniently (a script may not be UTF-8)."""
    try:
        with path.open("rb") as handle:
            head = [handle.readline() for _ in range(lines)]
    except OSError:
        return []
    return [raw.decode("utf-8", errors="replace").rstrip("\r\n") for raw in head if raw]


class Walker:
    """Walks one root in version order, asking ``lfsplug_ignore_path`` about each entry."""

    def __init__(self, config: Config, root: Path) -> None:
        self.config = config
        self.root = root
        self.state_dir = config.state_dir
        self.found: list[Script] = []

    def walk(self, directory: Path) -> None:
        try:
            entries = sorted(os.scandir(directory), key=lambda e: version_key(e.name))
        except OSError:
            return
        for entry in entries:
            path = Path(entry.path)
            if entry.name.startswith(".") or self._ignored(path):
                continue
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
                is_file = not is_dir and entry.is_file()
            except OSError:  # a symlink loop or a vanished entry: not a script
                continue
            if is_dir:
                if entry.name not in SKIP_DIRS and path.absolute() != self.state_dir:
                    self.walk(path)
            elif is_file and is_script_name(entry.name):
                self.add(path)

    def _ignored(self, path: Path) -> bool:
        return bool(self.config.hook.lfsplug_ignore_path(path=path, config=self.config))

    def add(self, path: Path) -> None:
        name = name_from_filename(path.name)
        script = Script(name=name, path=path.absolute(), root=self.root, index=len(self.found))
        script.origins["name"] = "file name"
        self.found.append(script)


@hookimpl(trylast=True)
def lfsplug_collect_path(path: Path, session: Session) -> list[Script] | None:
    root = path.absolute()
    walker = Walker(session.config, root if root.is_dir() else root.parent)
    if root.is_dir():
        walker.walk(root)
    elif root.is_file():
        walker.add(root)
    return walker.found


@hookimpl
def lfsplug_script_metadata(script: Script, session: Session) -> list[MetaSource] | None:
    values, lines = parse_header(read_head(script.path))
    if not values:
        return None
    return [MetaSource("# lfsplug: header", values, MetaSource.HEADER, lines)]
