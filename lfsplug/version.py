"""Version strings compared the way ``sort -V`` compares them.

GNU sort's version order (``filevercmp``, the Debian ``verrevcmp`` algorithm) splits a string
into alternating runs of non-digits and digits. Non-digit runs compare character by character
with ``~`` before the end of the run, the end before letters, and letters before any other
character; digit runs compare as numbers. So ``6.5`` < ``6.48``, ``1.4.10`` > ``1.4.9``,
``2.5.1a`` > ``2.5.1`` and ``1.0~rc1`` < ``1.0``. Strings that compare equal that way
(``1.01`` and ``1.1``) are ordered by their plain text, as sort does.

Like ``sort -V`` it compares file names without their suffixes first (``x.sh`` before ``x.1``,
``a.tar.gz`` before ``a-1.tar.gz``: a suffix is a run of ``.letters`` at the end), and puts
``.``, then ``..``, then other names starting with a dot before all other names.
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = ["compare", "satisfies", "version_key"]

_RUNS = re.compile(r"(\D*)(\d*)")
_END: tuple[int, ...] = (0,)
#: Alternating (non-digit run as character weights, digit run as a number) pairs.
Parts = tuple[tuple[tuple[int, ...], int], ...]


def _weight(char: str) -> int:
    if char == "~":
        return -1
    if char.isascii() and char.isalpha():
        return ord(char)
    return ord(char) + 256


_SUFFIX = re.compile(r"(?:\.[A-Za-z~][A-Za-z0-9~]*)*$")


@lru_cache(maxsize=65_536)
def version_key(text: str) -> tuple[int, Parts, Parts, str]:
    """A sort key that orders strings as ``sort -V`` does."""
    if text in ("", ".", ".."):
        return (("", ".", "..").index(text), (), (), text)
    # the suffix may take a hidden name whole (".A" is all suffix, so it sorts before ".0")
    match = _SUFFIX.search(text)  # matches at the end at least
    prefix = text[: match.start()] if match else text
    return (3 if text.startswith(".") else 4, _parts(prefix), _parts(text), text)


def _parts(text: str) -> Parts:
    """``verrevcmp``'s order as a tuple: (non-digit run weights, digit run value) pairs."""
    parts: list[tuple[tuple[int, ...], int]] = []
    for letters, digits in _RUNS.findall(text):
        if not letters and not digits:
            continue
        weights = tuple(_weight(c) for c in letters) + _END
        parts.append((weights, int(digits) if digits else 0))
    parts.append((_END, 0))  # the end of the string, so that "1.0~" sorts before "1.0"
    return tuple(parts)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b`` under ``sort -V``."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


def _version_only(a: str, b: str) -> int:
    """Compare by version order alone (``1.01`` equals ``1.1``), for requirements."""
    ka, kb = _parts(a), _parts(b)
    return (ka > kb) - (ka < kb)


def satisfies(version: str, op: str, required: str) -> bool:
    """Whether ``version`` meets ``op required`` (``>=``, ``>``, ``=``, ``<=``, ``<``)."""
    order = _version_only(version, required)
    checks = {
        ">=": order >= 0, ">": order > 0, "=": order == 0, "==": order == 0,
        "<=": order <= 0, "<": order < 0,
    }
    if op not in checks:
        raise ValueError(f"unknown version operator {op!r}")
    return checks[op]


_DOTTED = re.compile(r"(?<![\w.])\d+(?:\.\d+)+[a-z]?\d*")
_PLAIN = re.compile(r"(?<![\w.])\d+[a-z]?\d*(?![\w.])")


def extract(text: str) -> str | None:
    """The first version-looking token in ``text``: a dotted one if there is any
    (``m4 (GNU M4) 1.4.19`` gives ``1.4.19``, not the ``4`` of ``M4``), else a plain number."""
    match = _DOTTED.search(text) or _PLAIN.search(text)
    return match.group(0) if match else None
