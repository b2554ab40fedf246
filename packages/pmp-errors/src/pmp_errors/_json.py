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
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import PurePath
from typing import TypeAlias

__all__ = ["JSONValue", "Walk", "convert", "safe_repr", "safe_str", "to_jsonable"]

JSONValue: TypeAlias = "bool | int | float | str | list[JSONValue] | dict[str, JSONValue] | None"
"""Any value that ``json.dumps(..., allow_nan=False)`` accepts."""

MAX_DEPTH = 12
MAX_ITEMS = 200
MAX_STR = 2000
MAX_REPR = 200
MAX_NODES = 10_000
"""How many values one rendering converts in all; the rest is cut with a marker.

Without it a small structure that shares its parts (``a = [a] * 6``, eleven times
over) would unfold into billions of values."""
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


def safe_str(value: object) -> str:
    """Return ``str(value)`` cut to ``MAX_STR`` characters, or its safe repr if that raises.

    >>> safe_str(ValueError("bad"))
    'bad'
    """
    if isinstance(value, str):
        return _cut(str.__str__(value), MAX_STR)
    try:
        text = str(value)
    except Exception:  # noqa: BLE001 - a failing __str__ must not escape
        return safe_repr(value)
    return _cut(str.__str__(text), MAX_STR)


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


def _bytes(value: bytes | bytearray | memoryview) -> str:
    limit = MAX_STR // 2
    view = memoryview(value)
    if view.ndim != 1 or view.itemsize != 1:  # e.g. a view of an array('i'): its bytes
        view = memoryview(view.tobytes())
    raw = bytes(view[:limit])
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = "base64:" + base64.b64encode(raw).decode("ascii")
    return f"{text}...[+{view.nbytes - limit} bytes]" if view.nbytes > limit else text


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
    a hex string; cycles, very deep and very large structures (also those that
    share their parts many times over) are cut with a marker; anything else
    becomes a bounded repr. Keys become strings; keys that become the same
    string are all kept, the later ones with a ``#2``, ``#3`` suffix.

    >>> import datetime
    >>> to_jsonable({"at": datetime.date(2024, 1, 2), (1, 2): {3}})
    {'at': '2024-01-02', '(1, 2)': [3]}
    """
    return convert(value, 0, Walk())


ErrorRenderer: TypeAlias = "Callable[[BaseException, int, Walk], JSONValue]"


class Walk:
    """The state of one rendering: the ids on the current path, and the budget left.

    ``errors`` renders the exceptions found on the way; by default, their full record.
    """

    __slots__ = ("errors", "left", "path")

    def __init__(
        self, errors: Callable[[BaseException, int, Walk], JSONValue] | None = None
    ) -> None:
        self.left = MAX_NODES
        self.path: set[int] = set()
        self.errors = errors


def convert(value: object, depth: int, walk: Walk) -> JSONValue:  # noqa: C901, PLR0911, PLR0912
    """Convert *value* found at *depth* as part of *walk* (see :func:`to_jsonable`)."""
    walk.left -= 1
    if walk.left < 0:
        return "<size limit>"
    try:
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, enum.Enum):
            return convert(value.value, depth + 1, walk)
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
            return _bytes(value)
        if depth >= MAX_DEPTH:
            return f"<depth limit: {_type_name(value)}>"
        marker = id(value)
        if marker in walk.path:
            return f"<cycle: {_type_name(value)}>"
        walk.path.add(marker)
        try:
            return _container(value, depth, walk)
        finally:
            walk.path.discard(marker)
    except Exception:  # noqa: BLE001 - conversion of hostile objects must not escape
        return safe_repr(value)


def _container(value: object, depth: int, walk: Walk) -> JSONValue:
    if isinstance(value, BaseException):
        return (walk.errors or _record)(value, depth, walk)
    if isinstance(value, Mapping):
        out: dict[str, JSONValue] = {}
        for index, (key, item) in enumerate(value.items()):
            if index >= MAX_ITEMS or walk.left <= 0:
                out[_unique("<truncated>", out)] = f"{len(value) - index} more items"
                break
            # a key is a str: an error as a key shows nothing of its own where errors are guarded
            name = "<error>" if walk.errors and isinstance(key, BaseException) else _key(key)
            out[_unique(name, out)] = convert(item, depth + 1, walk)
        return out
    if isinstance(value, set | frozenset):
        # all of them, then sorted, then cut: which items are kept must not depend on hashing
        items = [convert(item, depth + 1, walk) for item in _within_budget(value, walk)]
        items.sort(key=repr)
        return _mark(items[:MAX_ITEMS], len(value))
    if isinstance(value, list | tuple | deque):
        items = [
            convert(item, depth + 1, walk)
            for item in _within_budget(itertools.islice(value, MAX_ITEMS), walk)
        ]
        return _mark(items, len(value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: convert(getattr(value, f.name), depth + 1, walk)
            for f in dataclasses.fields(value)
        }
    return safe_repr(value)


def _record(exc: BaseException, depth: int, walk: Walk) -> JSONValue:
    from pmp_errors._chain import describe

    return describe(exc, depth, walk)  # type: ignore[return-value]


def _within_budget(items: Iterable[object], walk: Walk) -> Iterator[object]:
    for item in items:
        if walk.left <= 0:
            return
        yield item


def _mark(items: list[JSONValue], total: int) -> list[JSONValue]:
    if total > len(items):
        items.append(f"<truncated: {total - len(items)} more items>")
    return items
