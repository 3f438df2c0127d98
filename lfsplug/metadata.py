"""Merging metadata from every source into a :class:`~lfsplug.model.Script`.

Each source (the ``# lfsplug:`` header, jhalfs variables, file names...) gives raw text values
with a priority; for each key the highest priority wins and ``script.origins`` records which
source gave it (an :class:`~lfsplug.model.Origin`: the source, its file, the line), for
``lfsplug list --why``. Values are converted here, once, so that every plugin
sees typed fields; a malformed value becomes an error finding with the file and line.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from lfsplug.model import Finding, MetaSource, Requirement, Script, Severity

__all__ = ["KEYS", "apply_metadata", "split_list"]


def split_list(text: str) -> list[str]:
    """Split a comma-separated list (spaces after commas allowed; empty items dropped)."""
    return [item.strip() for item in text.split(",") if item.strip()]


def _requirements(text: str) -> list[Requirement]:
    return [Requirement.parse(item) for item in split_list(text)]


def _names(text: str) -> list[str]:
    names = split_list(text)
    for name in names:
        if any(c.isspace() for c in name) or any(c in name for c in "<>="):
            raise ValueError(f"{name!r} is not a plain name")
    return names


def _positive(text: str) -> float:
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError(f"{text!r} is not a positive number")
    return value


def _yes_no(text: str) -> bool:
    lowered = text.strip().lower()
    if lowered in ("yes", "true", "1", "on"):
        return True
    if lowered in ("no", "false", "0", "off"):
        return False
    raise ValueError(f"{text!r} is not yes or no")


def _word(text: str) -> str:
    word = text.strip()
    if not word or any(c.isspace() for c in word):
        raise ValueError(f"{text!r} is not a single word")
    return word


def _name(text: str) -> str:
    """A script name: one word that can name its log file (no ``/``, not hidden)."""
    name = _word(text)
    if "/" in name or name.startswith(".") or "\0" in name:
        raise ValueError(f"{text!r} is not a script name (no '/', not starting with '.')")
    return name


def _path(text: str) -> str:
    """A file or directory (``$VAR`` references allowed, expanded when the script runs)."""
    path = text.strip()
    if not path or "\0" in path or "\n" in path:
        raise ValueError(f"{text!r} is not a path")
    return path


def _codes(text: str) -> set[str]:
    return set(split_list(text))


#: The metadata keys of the contract (DESIGN.md) and how each is converted.
KEYS: dict[str, Callable[[str], Any]] = {
    "name": _name,
    "version": _word,
    "phase": _word,
    "depends": _requirements,
    "recommends": _requirements,
    "optional": _requirements,
    "after": _names,
    "before": _names,
    "provides": _names,
    "timeout": _positive,
    "sbu": _positive,
    "user": _word,
    "chroot": _yes_no,
    "disable": _codes,
    "unpack": _path,
    "workdir": _path,
}


def apply_metadata(script: Script, sources: Iterable[MetaSource]) -> list[Finding]:
    """Merge ``sources`` into ``script`` (highest priority per key wins); return findings."""
    chosen: dict[str, tuple[MetaSource, str]] = {}
    for source in sorted(sources, key=lambda s: -s.priority):  # stable: ties keep call order
        for key, value in source.values.items():
            chosen.setdefault(key, (source, value))
    findings: list[Finding] = []
    for key, (source, raw) in chosen.items():
        origin = source.origin(key)
        path = origin.path or str(script.path)  # a list file's value: that file's line
        convert = KEYS.get(key)
        if convert is None:
            script.meta[key] = raw
            script.origins[key] = origin
            findings.append(_unknown_key(path, key, origin.line))
            continue
        try:
            value = convert(raw)
        except ValueError as exc:
            findings.append(Finding(
                "META001", Severity.ERROR, f"bad value for {key}=: {exc}",
                path, origin.line, "see the metadata keys in docs/user-guide.md",
            ))
            continue
        setattr(script, key, value)
        script.origins[key] = origin
    return findings


def _unknown_key(path: str, key: str, line: int | None) -> Finding:
    import difflib

    close = difflib.get_close_matches(key, list(KEYS), n=1)
    hint = f"did you mean {close[0]}=?" if close else "plugins read unknown keys from script.meta"
    return Finding(
        "META002", Severity.WARNING, f"unknown metadata key {key!r}", path, line, hint
    )
