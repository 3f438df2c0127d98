"""The validation cache: results of content checks keyed by the content's hash.

One JSON file in the state directory (``cache/validation.json``) holds a section per check
(``syntax``, ``lint``, ``shellcheck``). Each section carries a *key* that says what else the
results depend on (the bash or shellcheck build, this plugin's checker version, options); a
section whose key differs from the current one is dropped whole, so upgrading bash or changing
``--lfs`` re-checks everything. Inside a section, entries map the SHA-256 of a script's bytes to
what the check found, so an unchanged tree re-checks without running anything.

The file is written atomically (a temporary file renamed over it) and only when something
changed; a missing, unreadable or corrupt file is treated as empty and rebuilt, never raised.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["RACY_NS", "FileDigests", "ResultCache", "Section", "atomic_write_json", "read_json",
           "stat_key"]

FORMAT = 1
#: A file changed this close to the moment it was read is read again next time (racy-git rule).
RACY_NS = 2_000_000_000
#: Entries not used by the current run that a section keeps, besides the used ones: enough for
#: a second tree or a branch switch, small enough that the file does not grow for ever.
SPARE_ENTRIES = 5000


def read_json(path: Path) -> Any:
    """The JSON value in ``path``, or None when it is missing, unreadable or not JSON."""
    try:
        with path.open("rb") as handle:
            return json.loads(handle.read())
    except (OSError, ValueError, RecursionError):
        return None


def atomic_write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON to ``path`` so that readers see the old file or the new one.

    Raises OSError when the directory cannot be created or written.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, separators=(",", ":"))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class Section:
    """The entries of one check, valid for one key; remembers which were used and added."""

    def __init__(self, key: str, entries: dict[str, Any]) -> None:
        self.key = key
        self.entries = entries
        self.used: set[str] = set()
        self.dirty = False

    def get(self, digest: str) -> Any:
        """The cached value for ``digest``, or None."""
        value = self.entries.get(digest)
        if value is not None:
            self.used.add(digest)
        return value

    def put(self, digest: str, value: Any) -> None:
        self.entries[digest] = value
        self.used.add(digest)
        self.dirty = True

    def discard(self, digest: str) -> None:
        """Forget an entry whose cached form turned out to be malformed."""
        if self.entries.pop(digest, None) is not None:
            self.dirty = True

    def pruned(self) -> dict[str, Any]:
        """The entries to store: the used ones last (newest), then up to SPARE_ENTRIES others."""
        spare = [d for d in self.entries if d not in self.used]
        keep = spare[-SPARE_ENTRIES:] if len(spare) > SPARE_ENTRIES else spare
        if len(keep) != len(spare):
            self.dirty = True
        out = {d: self.entries[d] for d in keep}
        out.update((d, self.entries[d]) for d in self.entries if d in self.used)
        return out


def stat_key(info: os.stat_result) -> list[int]:
    """What must not change for a file's recorded digest to stand: size, mtime, inode, ctime
    and device. An edit changes the ctime (which no one can set back), a replacement the
    inode."""
    return [info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns, info.st_dev]


class FileDigests:
    """The SHA-256 of each script's content by path, trusted while the file's stat key is
    unchanged, as git trusts its index: a warm check then hashes nothing it has hashed before.

    Kept in the ``files`` section, whose key names the user and groups reading (what could be
    read depends on who reads). A file whose mtime or ctime is within :data:`RACY_NS` of the
    moment it was read is not recorded: an edit in the same clock tick as that read could leave
    its stat key unchanged."""

    def __init__(self, section: Section) -> None:
        self.section = section

    def get(self, path: str, key: list[int]) -> str | None:
        """The recorded digest of ``path`` when its stat key is ``key``, else None."""
        entry = self.section.get(path)
        if entry is None:
            return None
        if type(entry) is not list or len(entry) != 2 or type(entry[1]) is not str:
            self.section.discard(path)
            return None
        return entry[1] if entry[0] == key else None

    def put(self, path: str, key: list[int], digest: str, read_at: int) -> None:
        """Record what ``path`` (stat key ``key``, read at ``read_at`` ns) hashed to."""
        if max(key[1], key[3]) < read_at - RACY_NS:
            self.section.put(path, [key, digest])


def reader_key() -> str:
    """The key of the ``files`` section: who reads (the uid, gid and groups)."""
    groups = ",".join(str(g) for g in sorted(set(os.getgroups())))
    return f"{os.geteuid()}:{os.getegid()}:{groups}"


class ResultCache:
    """The cache file: sections by name, loaded leniently, saved atomically when changed."""

    def __init__(self, path: Path, raw: dict[str, Any] | None = None) -> None:
        self.path = path
        self._raw: dict[str, Any] = raw or {}
        self.sections: dict[str, Section] = {}

    @classmethod
    def load(cls, path: Path) -> ResultCache:
        """Read ``path``; anything but a well-formed cache of this format gives an empty one."""
        data = read_json(path)
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return cls(path)
        sections = data.get("sections")
        return cls(path, sections if isinstance(sections, dict) else {})

    def section(self, name: str, key: str) -> Section:
        """The section ``name`` if it was stored under ``key``; else a new, empty one."""
        found = self.sections.get(name)
        if found is not None and found.key == key:
            return found
        stored = self._raw.get(name)
        valid = (isinstance(stored, dict) and stored.get("key") == key
                 and isinstance(stored.get("entries"), dict))
        section = Section(key, dict(stored["entries"]) if valid and stored else {})
        # a stale or malformed section is rewritten even when nothing new is found
        section.dirty = stored is not None and not valid
        self.sections[name] = section
        return section

    def save(self) -> str | None:
        """Write the file if a section changed; the reason as text if it could not be written."""
        overfull = any(len(s.entries) - len(s.used) > SPARE_ENTRIES
                       for s in self.sections.values())
        if not overfull and not any(s.dirty for s in self.sections.values()):
            return None
        pruned = {name: s.pruned() for name, s in self.sections.items()}
        out = {name: value for name, value in self._raw.items() if name not in self.sections}
        for name, section in self.sections.items():
            out[name] = {"key": section.key, "entries": pruned[name]}
        try:
            atomic_write_json(self.path, {"format": FORMAT, "sections": out})
        except OSError as exc:
            return f"{exc.strerror or exc}"
        for section in self.sections.values():
            section.dirty = False
        return None
