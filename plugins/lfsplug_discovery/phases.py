"""Phases: which part of the build a script belongs to, from where it sits in the tree.

The book's chapters are the phases (LFS 12.x numbering): 2 to 4 prepare the ``host``, 5 builds
the ``cross`` toolchain, 6 the ``temp`` tools, 7 the ``chroot-temp`` tools inside the chroot, 8
the ``system``, 9 to 11 ``config``ure it; BLFS is ``blfs``. A script's phase comes from, most
specific first: its own dotted prefix (``6.5-x.sh`` is chapter 6), jhalfs' BLFS marker
(``1010-z-name``), then the nearest directory that names a chapter (``chapter05``, ``ch5``,
``chap-05``) or a phase in words (``cross``, ``05-cross``, ``temp-tools``, ``blfs``...).
Directories that are only numbered (``05-stuff``) say nothing: a plain sequence number is not
a chapter. ``[discovery.phases]`` in the configuration and ``phase=`` in the header override
all of this.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from functools import lru_cache

from lfsplug_discovery.names import FileName

__all__ = [
    "CHAPTER_PHASES",
    "PhaseRule",
    "directory_phase",
    "is_chapter_dir",
    "layout_phase",
    "rule_phase",
    "stage_rank",
    "stage_word",
]

CHAPTER_PHASES = {
    2: "host", 3: "host", 4: "host", 5: "cross", 6: "temp", 7: "chroot-temp", 8: "system",
    9: "config", 10: "config", 11: "config",
}
#: Directory names (lower-cased, ``_`` and spaces as ``-``, number prefix removed) and phases.
WORDS = {
    "host": "host", "prepare": "host", "preparation": "host",
    "cross": "cross", "cross-toolchain": "cross", "cross-tools": "cross", "crosstools": "cross",
    "toolchain": "cross", "cross-compile": "cross",
    "temp": "temp", "temporary": "temp", "temp-tools": "temp", "temptools": "temp",
    "temporary-tools": "temp", "cross-temp": "temp", "cross-temp-tools": "temp",
    "chroot": "chroot-temp", "chroot-temp": "chroot-temp", "chroot-tools": "chroot-temp",
    "chroot-temp-tools": "chroot-temp",
    "system": "system", "final-system": "system", "base-system": "system",
    "config": "config", "configuration": "config", "system-config": "config",
    "sysconfig": "config", "bootable": "config", "boot": "config",
    "blfs": "blfs", "beyond": "blfs",
}
_CHAPTER_DIR = re.compile(r"^(?:chapter|chap|ch)[-_ .]?0*(\d{1,2})$", re.IGNORECASE)
_NUMBER_PREFIX = re.compile(r"^\d+(?:[._]\d+)*[-_. ]+")


def is_chapter_dir(name: str) -> bool:
    """Whether a directory is named after a book chapter (``chapter05``, ``ch5``)."""
    return bool(_CHAPTER_DIR.match(name))


@lru_cache(maxsize=4096)
def directory_phase(name: str) -> tuple[str, str] | None:
    """The phase a directory's name gives, with why: ``("cross", "book chapter 5")``."""
    chapter = _CHAPTER_DIR.match(name)
    if chapter:
        number = int(chapter.group(1))
        phase = CHAPTER_PHASES.get(number)
        return (phase, f"book chapter {number}") if phase else None
    word = _NUMBER_PREFIX.sub("", name).lower().replace("_", "-").replace(" ", "-")
    if word in WORDS:
        return WORDS[word], f"the word {word!r}"
    if word.startswith("blfs"):
        return "blfs", "the word 'blfs'"
    return None


def layout_phase(directories: tuple[str, ...], filename: FileName) -> tuple[str, str] | None:
    """The phase and its source description for a script in ``directories`` (root first)."""
    if filename.chapter is not None and filename.chapter in CHAPTER_PHASES:
        return (CHAPTER_PHASES[filename.chapter],
                f"file name prefix {filename.number} (book chapter {filename.chapter})")
    if filename.marker is not None:
        return "blfs", f"jhalfs BLFS script name ({filename.number}-{filename.marker}-)"
    return _directories_phase(directories)


@lru_cache(maxsize=4096)
def _directories_phase(directories: tuple[str, ...]) -> tuple[str, str] | None:
    """The phase the nearest telling directory gives (cached: scripts share directories)."""
    for directory in reversed(directories):
        found = directory_phase(directory)
        if found:
            return found[0], f"directory {directory} ({found[1]})"
    return None


@dataclass(frozen=True)
class PhaseRule:
    """One ``"glob" = "phase"`` line of ``[discovery.phases]``; ``line`` is its file line."""

    glob: str
    phase: str
    line: int | None = None

    def matches(self, relpath: str) -> bool:
        """Whether the glob matches the path or one of its directories (``*`` crosses ``/``)."""
        if fnmatch.fnmatchcase(relpath, self.glob):
            return True
        parts = relpath.split("/")
        return any(fnmatch.fnmatchcase("/".join(parts[:i]), self.glob)
                   for i in range(1, len(parts)))


def rule_phase(rules: list[PhaseRule], relpaths: list[str]) -> PhaseRule | None:
    """The first rule (in file order) that matches any of ``relpaths``."""
    for rule in rules:
        if any(rule.matches(path) for path in relpaths):
            return rule
    return None


#: Where a directory or file named for a stage of the build goes among unnumbered names:
#: preparing the host first, then the toolchain, the temporary tools, the chroot, the system,
#: its configuration, and what goes beyond; other names in the middle, by natural order.
_STAGES = {
    "prepare": 0, "preparation": 0, "host": 0, "setup": 0, "init": 0, "pre": 0, "prereq": 0,
    "prerequisites": 0, "download": 0, "sources": 0, "toolchain": 1, "cross": 1, "tools": 1,
    "cross-toolchain": 1, "temp": 2, "temporary": 2, "temp-tools": 2, "chroot": 3,
    "build": 4, "system": 4, "base": 4, "final": 4, "final-system": 4, "packages": 4,
    "config": 5, "configure": 5, "configuration": 5, "post": 5, "finish": 5, "boot": 5,
    "bootable": 5, "kernel": 5, "blfs": 6, "extra": 6, "extras": 6, "optional": 6,
}
_NEUTRAL = 4


def _stage(name: str) -> int | None:
    stem = name.lower().removesuffix(".sh").removesuffix(".bash")
    return _STAGES.get(stem, _STAGES.get(stem.replace("_", "-")))


def stage_word(name: str) -> bool:
    """Whether a name says a stage of the build (``prepare``, ``tools``, ``build``...)."""
    return _stage(name) is not None


def stage_rank(name: str) -> int:
    """The rank of an unnumbered name that names a stage (``prepare`` before ``build``)."""
    rank = _stage(name)
    return _NEUTRAL if rank is None else rank
