"""What the tree needs: the book's ``wget-list`` and checksum files, and the tarballs the scripts
unpack (``unpack=``), as :class:`Need` records (a file name, the directory it goes to, the URLs
it comes from and its checksums).

A ``wget-list`` has one URL per line; the file's name is the last part of the URL's path. A
checksum file has ``HASH  FILE`` lines (``md5sum``'s format, as the book's ``md5sums``): a hash
of 32 hex digits is an MD5, of 64 a SHA-256, whatever the file is called. Blank lines and lines
starting with ``#`` are skipped in both; any other line that does not parse is a usage error at
its file and line (exit 4).
"""

from __future__ import annotations

import fnmatch
import glob
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from lfsplug import BOOK_ENV, UsageError, expand_variables

if TYPE_CHECKING:
    from lfsplug import Config, Script

__all__ = ["ALGORITHMS", "Need", "Sum", "read_sums", "read_wget_list", "script_needs"]

#: A hash's length in hex digits, and the algorithm it is.
ALGORITHMS = {32: "md5", 64: "sha256"}
#: The checksum files read from the sources directory when there (as the validation plugin).
SUMS_FILES = ("md5sums", "MD5SUMS", "sha256sums", "SHA256SUMS")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://\S+$")
_SUM = re.compile(r"^([0-9a-fA-F]+) [ *](.+)$")
_GLOB = frozenset("*?[")


@dataclass(frozen=True)
class Sum:
    """A checksum a file must have, and where it was read (``md5sums:12``)."""

    algorithm: str
    digest: str
    where: str


@dataclass
class Need:
    """One file the tree needs: ``name`` in ``directory``, from ``urls`` (in order), with the
    checksums listed for it; ``why`` says who needs it (``wget-list:3``, a script's
    ``unpack=``)."""

    name: str
    directory: Path
    urls: list[str] = field(default_factory=list)
    sums: list[Sum] = field(default_factory=list)
    why: str = ""

    @property
    def path(self) -> Path:
        return self.directory / self.name


def _lines(path: Path, what: str) -> Iterable[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if line and not line.startswith("#"):
            yield number, line


def url_name(url: str) -> str:
    """The file a URL names: the last part of its path, unquoted."""
    return unquote(urlsplit(url).path.rstrip("/").rpartition("/")[2])


def read_wget_list(path: Path) -> list[tuple[str, str, str]]:
    """The ``(name, url, where)`` of each line of a wget-list, in order."""
    found = []
    for number, line in _lines(path, "wget-list"):
        if not _URL.match(line):
            raise UsageError(f"{path}:{number}: not a URL: {line!r} (a wget-list has one URL "
                             f"per line)")
        name = url_name(line)
        if not name or name in (".", ".."):
            raise UsageError(f"{path}:{number}: {line}: the URL names no file")
        found.append((name, line, f"{path.name}:{number}"))
    return found


def read_sums(path: Path) -> dict[str, list[Sum]]:
    """The checksums of a checksum file, by file name."""
    sums: dict[str, list[Sum]] = {}
    for number, line in _lines(path, "checksum file"):
        match = _SUM.match(line)
        algorithm = ALGORITHMS.get(len(match[1])) if match else None
        if match is None or algorithm is None:
            raise UsageError(f"{path}:{number}: expected `HASH  FILE` with an MD5 (32 hex "
                             f"digits) or SHA-256 (64) hash, got {line!r}")
        name = os.path.basename(match[2].strip())
        sums.setdefault(name, []).append(Sum(algorithm, match[1].lower(), f"{path}:{number}"))
    return sums


def host_env(script: Script, config: Config) -> dict[str, str]:
    """The variables ``unpack=`` is expanded with, on the host: ``$LFS``, the driver's exports,
    ``[env]`` (as the executor builds the environment)."""
    env = {"LFS": config.lfs}
    for name, value in script.env.items():
        if name not in BOOK_ENV:
            env[name] = expand_variables(value, lambda n: env.get(n, ""))
    env.update(config.env)
    return env


def script_needs(scripts: Iterable[Script], config: Config,
                 listed: Mapping[str, list[str]]) -> tuple[list[Need], list[str]]:
    """The ``unpack=`` tarballs of ``scripts`` that are not there, each with the URLs of the
    wget-list's file of that name (``listed``: name -> URLs); and the lines saying which glob
    matched no listed file (it cannot be fetched: its name is not known)."""
    needs: list[Need] = []
    unknown: list[str] = []
    for script in scripts:
        if script.unpack is None:
            continue
        env = host_env(script, config)
        value = expand_variables(script.unpack, lambda n, e=env: e.get(n, ""))  # type: ignore[misc]
        line = script.line_of("unpack")
        why = f"{script.relpath}:{line}" if line else script.relpath
        why += f" unpack={script.unpack}"
        if "/" in value:
            path = script.path.parent / value
            directory, pattern = path.parent, path.name
        else:
            directory = Path(env.get("SOURCES") or f"{env['LFS']}/sources")
            pattern = value
        directory = Path(os.path.normpath(directory))
        if not pattern.strip():
            continue  # the executor says so when it runs
        if _GLOB & set(pattern):
            if glob.glob(os.path.join(glob.escape(str(directory)), pattern)):
                continue
            names = sorted(n for n in listed if fnmatch.fnmatchcase(n, pattern))
            if not names:
                unknown.append(f"{why}: no file matches {directory / pattern}, and no file of "
                               f"the wget-list does: its name is not known")
                continue
            pattern = names[-1]
        if not (directory / pattern).is_file():
            needs.append(Need(pattern, directory, list(listed.get(pattern, ())), why=why))
    return needs, unknown
