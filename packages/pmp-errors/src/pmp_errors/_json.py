"""Convert arbitrary Python values into bounded, deterministic JSON-safe data."""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import decimal
import enum
import itertools
import math
import uuid
from collections import deque
from collections.abc import Mapping
from pathlib import PurePath
from typing import TypeAlias

__all__ = ["JSONValue", "safe_repr", "to_jsonable"]

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
"""Any value that ``json.dumps(..., allow_nan=False)`` accepts."""

MAX_DEPTH = 12
MAX_ITEMS = 200
MAX_STR = 2000
MAX_REPR = 200
MAX_INT_BITS = 2000
"""Longer ints render as hex strings: ``json.dumps`` refuses ints of more digits than
``sys.get_int_max_str_digits()`` (at least 640, about 2126 bits) allows."""

_SCALARS = (bool, int, str, type(None))


def safe_repr(value: object, limit: int = MAX_REPR) -> str:
    """Return ``repr(value)`` cut to *limit* characters; never raises.

    >>> safe_repr("x" * 500, limit=10)
    "'xxxxx...[+496]"
    """
    try:
        text = repr(value)  # raises TypeError itself when __repr__ returns a non-str
    except Exception:  # noqa: BLE001 - a failing __repr__ must not escape
        return f"<unrepresentable {_type_name(value)} object>"
    return _cut(text, limit)


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return f"{text[: limit - 4]}...[+{len(text) - limit + 4}]"


def _type_name(value: object) -> str:
    cls = type(value)
    return f"{cls.__module__}.{cls.__qualname__}"


def _key(key: object) -> str:  # noqa: PLR0911 - one return per key kind reads best
    if isinstance(key, str):
        return _cut(str.__str__(key), MAX_STR)
    if key is None:
        return "null"
    if isinstance(key, bool):
        return "true" if key else "false"
    if isinstance(key, enum.Enum):
        return _key(key.value)
    if isinstance(key, int):
        return str(_int(key))
    if isinstance(key, float):
        return repr(float(key)) if math.isfinite(key) else _float(key)
    return safe_repr(key)


def _int(value: int) -> int | str:
    number = int.__int__(value)  # the plain int, whatever a subclass overrides
    if number.bit_length() <= MAX_INT_BITS:
        return number
    return _cut(hex(number), MAX_STR)


def _unique(name: str, taken: dict[str, JSONValue]) -> str:
    """Keep keys that became equal strings (``1`` and ``"1"``) apart: ``"1"``, ``"1#2"``."""
    if name not in taken:
        return name
    suffix = 2
    while f"{name}#{suffix}" in taken:
        suffix += 1
    return f"{name}#{suffix}"


def _float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


def to_jsonable(value: object) -> JSONValue:
    """Return a JSON-safe copy of *value*; deterministic and never raises.

    Obvious forms are kept (datetimes as ISO 8601, decimals and UUIDs as strings,
    sets as sorted lists, enums as their value); non-finite floats become the
    strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``, ints longer than 2000 bits
    a hex string; cycles, very deep and very large structures are cut with a
    marker; anything else becomes a bounded repr. Keys become strings; keys that
    become the same string are all kept, the later ones with a ``#2``, ``#3`` suffix.

    >>> import datetime
    >>> to_jsonable({"at": datetime.date(2024, 1, 2), (1, 2): {3}})
    {'at': '2024-01-02', '(1, 2)': [3]}
    """
    return _convert(value, 0, set())


def _convert(value: object, depth: int, path: set[int]) -> JSONValue:  # noqa: C901, PLR0911, PLR0912
    try:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, enum.Enum):
            return _convert(value.value, depth + 1, path)
        if isinstance(value, int):
            return _int(value)
        if isinstance(value, float):
            return float(value) if math.isfinite(value) else _float(value)
        if isinstance(value, str):
            return _cut(str.__str__(value), MAX_STR)
        if isinstance(value, dt.datetime | dt.date | dt.time):
            return value.isoformat()
        if isinstance(value, dt.timedelta):
            return value.total_seconds()
        if isinstance(value, decimal.Decimal | uuid.UUID | PurePath):
            return str(value)
        if isinstance(value, bytes | bytearray | memoryview):
            raw = bytes(value[: MAX_STR // 2])
            try:
                return raw.decode("utf-8")
            except UnicodeDecodeError:
                return "base64:" + base64.b64encode(raw).decode("ascii")
        if depth >= MAX_DEPTH:
            return f"<depth limit: {_type_name(value)}>"
        marker = id(value)
        if marker in path:
            return f"<cycle: {_type_name(value)}>"
        path.add(marker)
        try:
            return _container(value, depth, path)
        finally:
            path.discard(marker)
    except Exception:  # noqa: BLE001 - conversion of hostile objects must not escape
        return safe_repr(value)


def _container(value: object, depth: int, path: set[int]) -> JSONValue:
    if isinstance(value, BaseException):
        from pmp_errors._chain import exception_to_dict

        return exception_to_dict(value, _depth=depth + 1)  # type: ignore[return-value]
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS:
                out[_unique("<truncated>", out)] = f"{len(value) - MAX_ITEMS} more items"
                break
            out[_unique(_key(key), out)] = _convert(item, depth + 1, path)
        return out
    if isinstance(value, set | frozenset):
        items = [_convert(item, depth + 1, path) for item in list(value)[:MAX_ITEMS]]
        items.sort(key=repr)
        return _mark(items, len(value))
    if isinstance(value, list | tuple | deque):
        items = [_convert(item, depth + 1, path) for item in itertools.islice(value, MAX_ITEMS)]
        return _mark(items, len(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _convert(getattr(value, f.name), depth + 1, path)
            for f in dataclasses.fields(value)
        }
    return safe_repr(value)


def _mark(items: list[JSONValue], total: int) -> list[JSONValue]:
    if total > MAX_ITEMS:
        items.append(f"<truncated: {total - MAX_ITEMS} more items>")
    return items
