"""Integrity: the source files the scripts need are there, and match their checksums.

The book downloads every tarball and patch into ``$LFS/sources`` together with ``md5sums`` (the
``md5sum -c`` format: ``<hash>  <file>``); ``sha256sums`` works the same way. This module reads
those files, hashes what they list (caching each file's digests by path, size and modification
time, since the sources of a whole LFS build are hundreds of megabytes), and matches the result
against the source files each script names (lint finds those: ``tar -xf ../gcc-13.2.0.tar.xz``,
``$PKG.tar.gz`` with ``PKG`` set above it, ``patch -i ../x.patch``, jhalfs ``PACKAGE``/
``VERSION``).

Findings: INT001 the sources directory is missing (once, as info); INT002 a script names a file
that is not there; INT003 it names a file whose checksum does not match; INT004 a file listed in
a checksum file does not match, and no script names it; INT006 a checksum line is malformed.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import re
import stat
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfsplug import Finding, Severity
from lfsplug_validation.cache import atomic_write_json, read_json
from lfsplug_validation.records import PLUGIN, Ref

__all__ = ["DigestCache", "Sources", "verify_sources"]

SUMS_FILES = {"md5sums": "md5", "MD5SUMS": "md5", "sha256sums": "sha256",
              "SHA256SUMS": "sha256"}
_LENGTHS = {"md5": 32, "sha256": 64}
_SUM_LINE = re.compile(r"^([0-9a-fA-F]+) [ *](.+)$")
CHUNK = 1 << 20
FORMAT = 1
SPARE_ENTRIES = 5000


@dataclass(frozen=True)
class SumEntry:
    """One line of a checksum file."""

    algorithm: str
    digest: str
    name: str
    file: Path
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass
class Sources:
    """What the sources directory holds: its files and the checksums listed for them."""

    directory: Path
    exists: bool = False
    files: dict[str, os.stat_result] = field(default_factory=dict)
    sums: dict[str, list[SumEntry]] = field(default_factory=dict)
    malformed: list[tuple[Path, int, str]] = field(default_factory=list)

    @classmethod
    def scan(cls, directory: Path) -> Sources:
        """Index the regular files at the top of ``directory`` and read its checksum files."""
        found = cls(directory, directory.is_dir())
        if not found.exists:
            return found
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return found
        for entry in entries:
            try:
                info = entry.stat()
            except OSError:
                continue
            if stat.S_ISREG(info.st_mode):
                found.files[entry.name] = info
        for name, algorithm in SUMS_FILES.items():
            if name in found.files:
                found._read_sums(directory / name, algorithm)
        return found

    def _read_sums(self, path: Path, algorithm: str) -> None:
        try:
            text = path.read_bytes().decode("utf-8", errors="replace")
        except OSError as exc:
            self.malformed.append((path, 0, f"cannot be read: {exc.strerror}"))
            return
        for number, raw in enumerate(text.split("\n"), 1):
            line = raw.rstrip("\r")
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            match = _SUM_LINE.match(line)
            if match is None or len(match.group(1)) != _LENGTHS[algorithm]:
                self.malformed.append((path, number, f"not '<{algorithm}>  <file>': {line[:60]}"))
                continue
            name = match.group(2).strip().rsplit("/", 1)[-1]
            entry = SumEntry(algorithm, match.group(1).lower(), name, path, number)
            self.sums.setdefault(name, []).append(entry)

    def matching(self, ref: Ref) -> list[str]:
        """The file names a reference stands for (a pattern may match several)."""
        if not ref.pattern:
            return [ref.name] if ref.name in self.files else []
        if set(ref.name) & set("*?["):  # a glob (unpack=hello-*.tar.gz)
            return sorted(n for n in self.files if fnmatch.fnmatchcase(n, ref.name))
        stem = ref.name
        return sorted(n for n in self.files
                      if n.startswith((f"{stem}.tar", f"{stem}.tgz", f"{stem}.zip")))


class DigestCache:
    """Digests of source files by (path, size, mtime), in ``cache/sources.json``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        data = read_json(path)
        files = data.get("files") if isinstance(data, dict) and data.get("format") == FORMAT \
            else None
        self.entries: dict[str, Any] = files if isinstance(files, dict) else {}
        self.used: set[str] = set()
        self.dirty = False

    def lookup(self, path: Path, info: os.stat_result, algorithm: str) -> str | None:
        entry = self.entries.get(str(path))
        if (isinstance(entry, list) and len(entry) == 3 and entry[0] == info.st_size
                and entry[1] == info.st_mtime_ns and isinstance(entry[2], dict)):
            self.used.add(str(path))
            value = entry[2].get(algorithm)
            return value if isinstance(value, str) else None
        return None

    def store(self, path: Path, info: os.stat_result, digests: dict[str, str]) -> None:
        entry = self.entries.get(str(path))
        known: dict[str, str] = {}
        if (isinstance(entry, list) and len(entry) == 3 and entry[0] == info.st_size
                and entry[1] == info.st_mtime_ns and isinstance(entry[2], dict)):
            known = dict(entry[2])
        known.update(digests)
        self.entries[str(path)] = [info.st_size, info.st_mtime_ns, known]
        self.used.add(str(path))
        self.dirty = True

    def save(self) -> str | None:
        """Write the file if it changed; the reason as text if it could not be written."""
        if not self.dirty:
            return None
        spare = [p for p in self.entries if p not in self.used][-SPARE_ENTRIES:]
        keep = {p: self.entries[p] for p in [*spare, *sorted(self.used)]}
        try:
            atomic_write_json(self.path, {"format": FORMAT, "files": keep})
        except OSError as exc:
            return f"{exc.strerror or exc}"
        self.dirty = False
        return None


def _hash_file(path: Path, algorithms: Iterable[str]) -> dict[str, str] | str:
    """The digests of ``path``, or the reason it could not be read."""
    hashers = {a: hashlib.new(a) for a in algorithms}
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                for hasher in hashers.values():
                    hasher.update(chunk)
    except OSError as exc:
        return str(exc.strerror or exc)
    return {a: h.hexdigest() for a, h in hashers.items()}


def _mismatches(sources: Sources, cache: DigestCache,
                workers: int) -> dict[str, list[tuple[SumEntry, str]]]:
    """For each listed file present in the directory whose digest differs: (entry, why)."""
    todo: dict[str, set[str]] = {}
    actual: dict[tuple[str, str], str] = {}
    for name, entries in sources.sums.items():
        info = sources.files.get(name)
        if info is None:
            continue
        for entry in entries:
            known = cache.lookup(sources.directory / name, info, entry.algorithm)
            if known is None:
                todo.setdefault(name, set()).add(entry.algorithm)
            else:
                actual[(name, entry.algorithm)] = known
    names = sorted(todo)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        hashed = list(pool.map(lambda n: _hash_file(sources.directory / n, todo[n]), names))
    failed: dict[str, str] = {}
    for name, result in zip(names, hashed, strict=True):
        if isinstance(result, str):
            failed[name] = result
            continue
        cache.store(sources.directory / name, sources.files[name], result)
        actual.update(((name, a), d) for a, d in result.items())
    bad: dict[str, list[tuple[SumEntry, str]]] = {}
    for name, entries in sources.sums.items():
        for entry in entries:
            if name in failed:
                bad.setdefault(name, []).append((entry, f"it cannot be read: {failed[name]}"))
            elif (got := actual.get((name, entry.algorithm))) and got != entry.digest:
                bad.setdefault(name, []).append(
                    (entry, f"its {entry.algorithm} is {got}, {entry.where} says {entry.digest}"))
    return bad


def _finding(code: str, severity: Severity, message: str, path: str | None,
             line: int | None, *, hint: str) -> Finding:
    return Finding(code, severity, message, path, line, hint, PLUGIN)


def verify_sources(sources: Sources, refs: dict[str, list[Ref]], cache: DigestCache,
                   workers: int) -> list[Finding]:
    """Findings for the sources directory and the files each script (by path) names."""
    where = sources.directory
    if not sources.exists:
        return [_finding("INT001", Severity.INFO,
                         f"the sources directory {where} does not exist: source files and "
                         f"checksums were not verified", None, None,
                         hint="download the sources there (the book's chapter 3), or point "
                         "--sources (or --lfs) at them")]
    findings = [_finding("INT006", Severity.WARNING, f"malformed checksum line: {why}",
                         str(path), line or None,
                         hint="each line is '<hash>  <file name>', as md5sum writes it")
                for path, line, why in sources.malformed]
    bad = _mismatches(sources, cache, workers)
    named: set[str] = set()
    for script, script_refs in refs.items():
        for ref in script_refs:
            names = sources.matching(ref)
            named.update(names)
            shown = f"{ref.name}.tar*" if ref.pattern else ref.name
            if not names and ref.required:
                findings.append(_finding(
                    "INT002", Severity.ERROR, f"{shown} is not in {where}", script, ref.line,
                    hint=f"download {shown} into {where} (or point --sources at your sources)"))
            for name in names:
                for entry, why in bad.get(name, []):
                    findings.append(_finding(
                        "INT003", Severity.ERROR, f"{name} in {where} does not match: {why}",
                        script, ref.line, hint=f"download {name} again and check it with "
                        f"{entry.algorithm}sum -c {entry.file.name}"))
    for name, problems in bad.items():
        if name not in named:
            findings.extend(_finding(
                "INT004", Severity.WARNING, f"{name} does not match its checksum: {why}",
                str(entry.file), entry.line, hint=f"download {name} again (no script names it)")
                for entry, why in problems)
    return findings
