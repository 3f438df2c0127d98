"""Kinds of setting values, text helpers and version order: what plugins use through ``lfsplug``.

A :class:`Kind` says how a setting's values are read from the configuration file and the
command line. The kernel's kinds: ``bool``, ``int`` (:func:`integer`), ``float``
(:func:`number`), ``str`` (:func:`string`), ``Path``, enums and :func:`choice`,
:func:`seconds`, :func:`size`, :func:`list_of` and :func:`table_of`.

:func:`format_duration` and :func:`format_size` write values for people; :func:`expand_variables`
fills the ``$NAME`` references of metadata values and driver variables.

Versions (:func:`version_key`, :func:`compare`, :func:`satisfies`) order as ``sort -V`` does
(GNU ``filevercmp``, the Debian ``verrevcmp`` algorithm): a string splits into alternating runs
of non-digits and digits. Non-digit runs compare character by character with ``~`` before the
end of the run, the end before letters, and letters before any other character; digit runs
compare as numbers. So ``6.5`` < ``6.48``, ``1.4.10`` > ``1.4.9``, ``2.5.1a`` > ``2.5.1`` and
``1.0~rc1`` < ``1.0``. Strings that compare equal that way (``1.01`` and ``1.1``) are ordered by
their plain text, as sort does. Like ``sort -V``, file names compare without their suffixes
first (``x.sh`` before ``x.1``, ``a.tar.gz`` before ``a-1.tar.gz``: a suffix is a run of
``.letters`` at the end), and ``.``, then ``..``, then other names starting with a dot come
before all other names. :func:`extract` finds a version in a program's output.
"""

from __future__ import annotations

import enum
import math
import operator
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Generic, TypeVar, cast

__all__ = [
    "BOOL", "PATH", "STRING", "EntryError", "Kind", "byte_size", "choice", "compare",
    "expand_variables", "format_duration", "format_size", "integer", "kind_of", "list_of",
    "number", "satisfies", "seconds", "show_value", "size", "string", "table_of", "version_key",
]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class EntryError(ValueError):
    """A bad entry of a table-valued setting: the kernel names the entry's own line."""

    def __init__(self, entry: str, message: str) -> None:
        super().__init__(message)
        self.entry = entry


@dataclass(frozen=True, eq=False)
class Kind(Generic[T_co]):
    """How a setting's values are read, from the configuration file and from the command line.

    A plugin makes its own for a structured value: ``Kind("a disk rule", parse_rules)``.

    :param name: what a value is, for the reference and messages (``a whole number from 1 up``).
    :param parse: a TOML value (str, int, float, bool, list or dict) to the setting's value;
        raises ValueError with a message that says what was expected and what was given.
    :param text: a command-line word to the value (default: ``parse`` of the word).
    :param metavar: how ``--help`` shows a value when the setting gives no metavar.
    :param choices: the only values allowed, for ``--help`` and the reference.
    :param flag: an option without a value (a boolean).
    :param item: for a list, the kind of one item: the option may be repeated.
    :param table: a table of entries (``[chroot.phases]``): never an option.
    :param anchored: a relative path is taken from the configuration file's directory when it
        is written there, from the current directory on the command line.
    :param show: a value as the reference and ``--help`` show it (default: as TOML).
    """

    name: str
    parse: Callable[[object], T_co]
    text: Callable[[str], T_co] | None = None
    metavar: str = "VALUE"
    choices: tuple[str, ...] = ()
    flag: bool = False
    item: Kind[Any] | None = None
    table: bool = False
    anchored: bool = False
    show: Callable[[Any], str] | None = None

    def word(self, text: str) -> T_co:
        """The value of a command-line word; ValueError if it is not one."""
        return self.text(text) if self.text is not None else self.parse(text)

    def shown(self, value: object) -> str:
        """``value`` as the reference shows it."""
        if value is None:
            return "(none)"
        return self.show(value) if self.show is not None else show_value(value)


def show_value(value: object) -> str:
    """A value written as in a TOML file: ``true``, ``"text"``, ``["a", "b"]``, ``{ a = 1 }``."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | Path):
        return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(show_value(v) for v in value) + "]"
    if isinstance(value, dict):
        inner = ", ".join(f"{k} = {show_value(v)}" for k, v in value.items())
        return "{ " + inner + " }" if inner else "{}"
    return str(value)


# -- the kinds --------------------------------------------------------------------------------
def _as_number(raw: object) -> float | None:
    """A TOML number, or a string that is one (as on the command line); None otherwise."""
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        return float(raw)
    try:
        return float(raw.strip()) if isinstance(raw, str) else None
    except ValueError:
        return None


def _bounds(low: float | None, high: float | None, above: float | None) -> str:
    if above is not None:
        return f" above {above:g}" + (f" and up to {high:g}" if high is not None else "")
    if low is not None and high is not None:
        return f" from {low:g} to {high:g}"
    if low is not None:
        return f" from {low:g} up"
    return f" up to {high:g}" if high is not None else ""


def _within(value: float, low: float | None, high: float | None, above: float | None) -> bool:
    return (math.isfinite(value) and (low is None or value >= low)
            and (high is None or value <= high) and (above is None or value > above))


def _note(note: str) -> str:
    return f" ({note})" if note else ""


def _single(parse: Callable[[object], T]) -> Callable[[object], T]:
    """``parse``, but a list or a table where one value belongs says so first."""

    def single(raw: object) -> T:
        if isinstance(raw, list | dict):
            raise ValueError(f"expected a single value, not {type(raw).__name__} {raw!r}")
        return parse(raw)

    return single


def integer(low: int | None = None, high: int | None = None, *, note: str = "") -> Kind[int]:
    """A whole number, within ``low`` and ``high`` when given; ``note`` is said in brackets
    after the range (``0: no limit``)."""
    name = f"a whole number{_bounds(low, high, None)}{_note(note)}"

    def parse(raw: object) -> int:
        value = _as_number(raw)
        if value is None or not value.is_integer() or not _within(value, low, high, None):
            raise ValueError(f"expected {name}, got {raw!r}")
        return int(value)

    return Kind(name, _single(parse), metavar="N")


def number(low: float | None = None, high: float | None = None, *, above: float | None = None,
           note: str = "") -> Kind[float]:
    """A number (whole or not): from ``low``, up to ``high``, or strictly ``above``."""
    name = f"a number{_bounds(low, high, above)}{_note(note)}"

    def parse(raw: object) -> float:
        value = _as_number(raw)
        if value is None or not _within(value, low, high, above):
            raise ValueError(f"expected {name}, got {raw!r}")
        return value

    return Kind(name, _single(parse), metavar="NUMBER")


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_PART = r"(\d+(?:\.\d*)?|\.\d+)\s*([smhd])"
_DURATION = re.compile(rf"\s*(?:{_PART}\s*)+", re.I)


def _duration(raw: object) -> float | None:
    """Seconds from a number, or from a string such as ``"90"``, ``"90s"``, ``"1h30m"``."""
    value = _as_number(raw)
    if value is not None or not isinstance(raw, str) or not _DURATION.fullmatch(raw):
        return value
    return sum(float(n) * _UNITS[u.lower()] for n, u in re.findall(_PART, raw, re.I))


def seconds(low: float = 0.0, high: float | None = None, *, positive: bool = False,
            note: str = "") -> Kind[float]:
    """A duration in seconds: a number, or a string with units (``"90s"``, ``"10m"``,
    ``"1h30m"``, ``"2d"``); from ``low`` (or above zero when ``positive``) up to ``high``."""
    floor, above = (None, 0.0) if positive else (low, None)
    bounds = _bounds(floor, high, above)
    name = f"a number of seconds{bounds}{_note(note)}"

    def parse(raw: object) -> float:
        value = _duration(raw)
        if value is None or not _within(value, floor, high, above):
            if positive and high is None:
                raise ValueError(f"{raw!r} is not a positive number of seconds")
            raise ValueError(f"expected {name}, got {raw!r}")
        return value

    return Kind(f"a duration in seconds{bounds}{_note(note)}", _single(parse), metavar="S")


_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def byte_size(text: str) -> int:
    """A size in bytes, with an optional K, M, G or T (powers of 1024; ``KiB``/``KB`` spellings
    and a final ``B`` are accepted): ``2G``, ``512M``, ``0``."""
    value = str(text).strip().upper().removesuffix("B").removesuffix("I")
    unit = value[-1:] if value[-1:] in ("K", "M", "G", "T") else ""
    amount = _as_number(value[:len(value) - len(unit)])
    if amount is None or not 0 <= amount < math.inf:
        raise ValueError(f"{text!r} is not a size (a number, optionally with K, M, G or T)")
    return int(amount * _SIZE_UNITS[unit])


def _show_size(value: object) -> str:
    number_ = int(cast(int, value))
    for unit in ("T", "G", "M", "K"):
        if number_ and number_ % _SIZE_UNITS[unit] == 0:
            return f'"{number_ // _SIZE_UNITS[unit]}{unit}"'
    return str(number_)


def size(*, note: str = "") -> Kind[int]:
    """A size in bytes: a whole number, or a string with K, M, G or T (``"2G"``)."""

    def parse(raw: object) -> int:
        if isinstance(raw, int) and not isinstance(raw, bool) and raw >= 0:
            return raw
        if isinstance(raw, str | float) and not isinstance(raw, bool):
            return byte_size(str(raw))
        raise ValueError(f"{raw!r} is not a size (a number, optionally with K, M, G or T)")

    name = 'a size in bytes, or with K, M, G or T ("512M", "2G")' + _note(note)
    return Kind(name, _single(parse), metavar="SIZE", show=_show_size)


def _one_of(members: dict[str, T], *accepted: type) -> Kind[T]:
    """One of ``members``, named by its key (a value of one of the ``accepted`` types)."""

    def parse(raw: object) -> T:
        found = members.get(str(raw)) if isinstance(raw, accepted) else None
        if found is None:
            raise ValueError(f"{raw!r} is not one of {', '.join(members)}")
        return found

    return Kind(f"one of {', '.join(members)}", _single(parse), choices=tuple(members))


def choice(*values: str) -> Kind[str]:
    """One of ``values`` (``choice("sequence", "graph")``)."""
    return _one_of({value: value for value in values}, str)


def string(*, empty: bool = True) -> Kind[str]:
    """A string; with ``empty=False``, one that is not empty (nor only blanks)."""
    name = "a string" if empty else "a non-empty string"

    def parse(raw: object) -> str:
        if not isinstance(raw, str) or not (empty or raw.strip()):
            raise ValueError(f"expected {name}, got {raw!r}")
        return raw

    return Kind(name, _single(parse), metavar="TEXT")


def _bool(raw: object) -> bool:
    if not isinstance(raw, bool):
        raise ValueError(f"expected true or false, got {raw!r}")
    return raw


def _path(raw: object) -> Path:
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"expected a path, got {raw!r}")
    return Path(raw).expanduser()


BOOL: Kind[bool] = Kind("true or false", _single(_bool), flag=True)
STRING = string()
PATH: Kind[Path] = Kind("a path", _single(_path), metavar="PATH", anchored=True)


def list_of(item: type[T] | Kind[T], *, single: bool = False) -> Kind[list[T]]:
    """A list of ``item`` values; on the command line the option is repeated. With ``single``,
    one value alone stands for a list of one."""
    each = kind_of(item)
    name = f"a list of {_plural(each.name)}" + (f", or {each.name}" if single else "")

    def parse(raw: object) -> list[T]:
        if single and not isinstance(raw, list):
            raw = [raw]
        if not isinstance(raw, list):
            raise ValueError(f"expected {name}, got {raw!r}")
        values = []
        for number_, value in enumerate(raw, 1):
            try:
                values.append(each.parse(value))
            except ValueError as exc:
                raise ValueError(f"item {number_}: {exc}") from None
        return values

    def show(values: list[T]) -> str:
        return "[" + ", ".join(each.shown(v) for v in values) + "]"

    return Kind(name, parse, text=lambda word: [each.word(word)], metavar=each.metavar,
                choices=each.choices, item=each, show=show)


def _plural(name: str) -> str:
    """``a string`` -> ``strings``, ``a whole number from 1 up`` -> ``whole numbers from 1
    up``: good enough for what the kinds are named."""
    words = name.split(" ", 1)
    if words[0] not in ("a", "an") or len(words) == 1:
        return f"values ({name})"
    head, _, rest = words[1].partition(" from ")
    head = head if head.endswith("s") else head + "s"
    return head + (f" from {rest}" if rest else "")


def table_of(value: type[T] | Kind[T], *, key: Callable[[str], str] | None = None,
             entry: str = "NAME") -> Kind[dict[str, T]]:
    """A table of ``entry = value`` (``[chroot.phases]``, or ``phases = { a = "b" }``), in file
    order. ``key`` checks (and may normalise) each entry's name; it raises ValueError."""
    each = kind_of(value)
    name = f"a table of {entry} = {each.name}"

    def parse(raw: object) -> dict[str, T]:
        if not isinstance(raw, dict):
            raise ValueError(f"expected {name}, got {raw!r}")
        values: dict[str, T] = {}
        for entry_name, entry_value in raw.items():
            try:
                name_ = key(str(entry_name)) if key is not None else str(entry_name)
                values[name_] = each.parse(entry_value)
            except ValueError as exc:
                raise EntryError(str(entry_name), str(exc)) from None
        return values

    return Kind(name, parse, table=True)


def kind_of(of_type: type[T] | Kind[T]) -> Kind[T]:
    """The kind that reads values of ``of_type``: a :class:`Kind` itself, ``bool``, ``int``,
    ``float``, ``str``, ``Path``, an :class:`enum.Enum`, ``list[X]`` or ``dict[str, X]``."""
    if isinstance(of_type, Kind):
        return of_type
    origin, args = typing.get_origin(of_type), typing.get_args(of_type)
    if origin is list and len(args) == 1:
        return cast(Kind[T], list_of(args[0]))
    if origin is dict and len(args) == 2 and args[0] is str:
        return cast(Kind[T], table_of(args[1]))
    simple: dict[object, Kind[Any]] = {bool: BOOL, int: integer(), float: number(),
                                       str: STRING, Path: PATH}
    if of_type in simple:
        return cast(Kind[T], simple[of_type])
    if isinstance(of_type, type) and issubclass(of_type, enum.Enum):
        return cast(Kind[T], _one_of({str(m.value): m for m in of_type}, str, int))
    raise TypeError(f"no kind of setting reads {of_type!r}: give a Kind")


# -- text helpers -----------------------------------------------------------------------------
_REFERENCE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def expand_variables(text: str, value: Callable[[str], str | None]) -> str:
    """``text`` with each ``$NAME``/``${NAME}`` replaced by ``value(NAME)``; a reference whose
    value is None stays as written. Nothing else is expanded: no commands, no defaults."""
    if "$" not in text:
        return text

    def replace(match: re.Match[str]) -> str:
        found = value(match.group(1) or match.group(2))
        return match.group() if found is None else found

    return _REFERENCE.sub(replace, text)


def format_duration(seconds: float | None) -> str:
    """``-`` for unknown, ``42.0 s`` under a minute, then ``3m07s`` and ``2h05m09s``."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m{secs:02d}s" if hours else f"{minutes}m{secs:02d}s"


def format_size(count: float) -> str:
    """Bytes for people, in powers of 1024: ``512 B``, ``1.5 GiB`` (negative sizes too)."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if abs(count) < 1024:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1024
    return f"{count:.1f} TiB"


# -- version order ----------------------------------------------------------------------------
_RUNS = re.compile(r"(\D*)(\d*)")
_SUFFIX = re.compile(r"(?:\.[A-Za-z~][A-Za-z0-9~]*)*$")
_DOTTED = re.compile(r"(?<![\w.])\d+(?:\.\d+)+[a-z]?\d*")
_PLAIN = re.compile(r"(?<![\w.])\d+[a-z]?\d*(?![\w.])")
_END: tuple[int, ...] = (0,)
#: Alternating (non-digit run as character weights, digit run as a number) pairs.
Parts = tuple[tuple[tuple[int, ...], int], ...]


def _weight(char: str) -> int:
    if char == "~":
        return -1
    if char.isascii() and char.isalpha():
        return ord(char)
    return ord(char) + 256


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
        if letters or digits:
            weights = tuple(_weight(c) for c in letters) + _END
            parts.append((weights, int(digits) if digits else 0))
    parts.append((_END, 0))  # the end of the string, so that "1.0~" sorts before "1.0"
    return tuple(parts)


def compare(a: str, b: str) -> int:
    """-1, 0 or 1 as ``a`` sorts before, with or after ``b`` under ``sort -V``."""
    ka, kb = version_key(a), version_key(b)
    return (ka > kb) - (ka < kb)


_OPERATORS: dict[str, Callable[[Parts, Parts], bool]] = {
    ">=": operator.ge, ">": operator.gt, "=": operator.eq, "==": operator.eq,
    "<=": operator.le, "<": operator.lt,
}


def satisfies(version: str, op: str, required: str) -> bool:
    """Whether ``version`` meets ``op required`` (``>=``, ``>``, ``=``, ``<=``, ``<``), by
    version order alone: ``1.01`` equals ``1.1`` here."""
    check = _OPERATORS.get(op)
    if check is None:
        raise ValueError(f"unknown version operator {op!r}")
    return check(_parts(version), _parts(required))


def extract(text: str) -> str | None:
    """The first version-looking token in ``text``: a dotted one if there is any
    (``m4 (GNU M4) 1.4.19`` gives ``1.4.19``, not the ``4`` of ``M4``), else a plain number."""
    match = _DOTTED.search(text) or _PLAIN.search(text)
    return match.group(0) if match else None
