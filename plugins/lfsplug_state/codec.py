"""Event records as JSON, as the ``payload`` column of ``state.db``'s events keeps them.

A record is stored as :meth:`lfsplug.Record.to_data` gives it and read back by the class of
its kind (:func:`lfsplug.record_class`, so a plugin's own kinds round-trip like the
kernel's): by the class's own :meth:`~lfsplug.Record.from_data` where its stored form differs
from its fields (``ScriptOutput``, ``AlertRaised``), else field by field, each value checked
and converted by the field's annotation. A field may be a JSON scalar, an enumeration, a tuple,
a list, a dict with string keys, a dataclass made of those, or ``X | None``. Stored data of a
kind no loaded plugin defines, or that no longer fits its class, comes back as a
:class:`lfsplug.RawRecord` holding it as it was.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, Union

from lfsplug import RawRecord, Record, record_class

__all__ = ["record_from_data", "record_from_json", "record_to_json"]


def record_to_json(record: Record) -> str:
    """``record`` as JSON text, as an event is stored."""
    return json.dumps(record.to_data(), separators=(",", ":"))


def record_from_json(kind: str, text: str | None) -> Record:
    """The record of an event of ``kind`` from the JSON text :func:`record_to_json` wrote
    (None or empty: no data; text that is not a JSON object: a :class:`~lfsplug.RawRecord`)."""
    if not text:
        return record_from_data(kind, None)
    try:
        data = json.loads(text)
    except ValueError:
        return RawRecord({"text": text})
    return record_from_data(kind, data) if isinstance(data, dict) else RawRecord({"data": data})


def record_from_data(kind: str, data: Mapping[str, Any] | None) -> Record:
    """The record of an event of ``kind`` from its JSON data: an instance of the kind's class,
    else (an unknown kind, data that does not fit) a :class:`~lfsplug.RawRecord` of ``data``.

    NotImplementedError if the class has a field of a type JSON cannot hold (a programming
    error of the class's)."""
    data = data if data is not None else {}
    cls = record_class(kind)
    if cls is not None:
        try:
            record = cls.from_data(data)
            return record if record is not None else _dataclass_decoder(cls)(data)
        except (KeyError, TypeError, ValueError):
            pass
    return RawRecord(dict(data))


# -- decoding by the fields' types ---------------------------------------------------------------
Decode = Callable[[Any], Any]


_DECODERS: dict[object, Decode] = {}


def _dataclass_decoder(cls: type) -> Decode:
    """A function that makes a ``cls`` (a dataclass) from a JSON object, checking and
    converting each field by its annotation; built once per class."""
    decoder = _DECODERS.get(cls)
    if decoder is None:
        hints = typing.get_type_hints(cls)
        fields = [(f.name, _decoder(hints[f.name]),
                   f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING)
                  for f in dataclasses.fields(cls) if f.init]

        def decoder(data: Any) -> Any:
            if not isinstance(data, Mapping):
                raise TypeError(f"expected an object, not {data!r}")
            values = {}
            for name, decode, required in fields:
                if name in data:
                    values[name] = decode(data[name])
                elif required:
                    raise KeyError(name)
            return cls(**values)

        _DECODERS[cls] = decoder
    return decoder


def _decoder(hint: Any) -> Decode:
    """A function that checks and converts a JSON value to the type ``hint``."""
    if hint is Any or hint is object:
        return _same
    origin = typing.get_origin(hint)
    make = _GENERICS.get(origin) if origin is not None else None
    if make is not None:
        return make(origin, typing.get_args(hint))
    if origin is None and isinstance(hint, type):
        decode = _SCALARS.get(hint)
        if decode is not None:
            return decode
        if issubclass(hint, enum.Enum):
            return hint
        if dataclasses.is_dataclass(hint):
            return _dataclass_decoder(hint)
    raise NotImplementedError(f"a record field cannot be of type {hint!r}")


def _generic_sequence(origin: object, args: tuple[Any, ...]) -> Decode:
    if origin is tuple and args and (len(args) != 2 or args[1] is not Ellipsis):
        return _fixed_tuple([_decoder(arg) for arg in args])
    return _sequence(_decoder(args[0]) if args else _same, tuple if origin is tuple else list)


def _same(value: Any) -> Any:
    return value


def _exactly(kind: type) -> Decode:
    def decode(value: Any) -> Any:
        if type(value) is not kind:
            raise TypeError(f"expected {kind.__name__}, not {value!r}")
        return value
    return decode


def _number(value: Any) -> float:
    if type(value) not in (int, float):
        raise TypeError(f"expected a number, not {value!r}")
    return float(value)


def _union(options: list[Decode]) -> Decode:
    def decode(value: Any) -> Any:
        for option in options:
            try:
                return option(value)
            except (KeyError, TypeError, ValueError):
                continue
        raise ValueError(f"{value!r} fits none of the field's types")
    return decode


def _one_of(allowed: tuple[Any, ...]) -> Decode:
    def decode(value: Any) -> Any:
        if value not in allowed:
            raise ValueError(f"{value!r} is not one of {allowed!r}")
        return value
    return decode


def _sequence(item: Decode, make: type) -> Decode:
    def decode(value: Any) -> Any:
        if not isinstance(value, list):
            raise TypeError(f"expected an array, not {value!r}")
        return make(item(element) for element in value)
    return decode


def _fixed_tuple(items: list[Decode]) -> Decode:
    def decode(value: Any) -> Any:
        if not isinstance(value, list) or len(value) != len(items):
            raise TypeError(f"expected an array of {len(items)}, not {value!r}")
        return tuple(item(element) for item, element in zip(items, value, strict=True))
    return decode


def _mapping(item: Decode) -> Decode:
    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, not {value!r}")
        return {key: item(element) for key, element in value.items()}
    return decode


_SCALARS: dict[type, Decode] = {type(None): _exactly(type(None)), bool: _exactly(bool),
                                int: _exactly(int), float: _number, str: _exactly(str)}


_GENERICS: dict[object, Callable[[object, tuple[Any, ...]], Decode]] = {
    Union: lambda _o, args: _union([_decoder(arg) for arg in args]),
    types.UnionType: lambda _o, args: _union([_decoder(arg) for arg in args]),
    Literal: lambda _o, args: _one_of(args),
    tuple: _generic_sequence, list: _generic_sequence, Sequence: _generic_sequence,
    dict: lambda _o, args: _mapping(_decoder(args[1]) if args else _same),
    Mapping: lambda _o, args: _mapping(_decoder(args[1]) if args else _same),
}
