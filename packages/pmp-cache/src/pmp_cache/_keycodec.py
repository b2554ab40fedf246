"""How cache keys become the text of keys in a shared store such as Redis.

The text is the same in every process and on every machine, so processes
share entries. A ``str`` key is used as is (unless it starts with ``~``);
other keys become ``~`` followed by a canonical form in which equal values
that share an in-memory entry (``1``, ``1.0`` and ``True``) share one text.
Very long texts are replaced by ``~#`` and their SHA-256.

>>> encode_key("user:1"), encode_key(1), encode_key(1.0), encode_key(("a", 2.5))
('user:1', '~1', '~1', '~("a",2.5)')
"""

from __future__ import annotations

import enum
import hashlib
import json
from typing import TYPE_CHECKING, Any

from pmp_cache._keys import _KeywordMark
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["encode_key"]

_MAX_TEXT = 400
_dumps = json.dumps


_STR_TEXTS: dict[str, str] = {}  # texts of short strs seen, such as function names
_STR_TEXTS_MAX = 1024
_SHORT = 100


def _canon_str(value: str) -> str:
    text = _STR_TEXTS.get(value)
    if text is not None:
        return text
    # The same text json.dumps(value, ensure_ascii=False) makes, without its cost.
    if value.isprintable() and '"' not in value and "\\" not in value:
        text = '"' + value + '"'
    else:
        text = _dumps(value, ensure_ascii=False)
    if len(value) <= _SHORT:
        if len(_STR_TEXTS) >= _STR_TEXTS_MAX:
            _STR_TEXTS.clear()
        _STR_TEXTS[value] = text
    return text


def _canon_float(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _canon_tuple(value: tuple[Any, ...]) -> str:
    if len(value) == 2:  # noqa: PLR2004 - (function name, key): the decorators' keys
        first, second = value
        return "(" + _canon(first) + "," + _canon(second) + ")"
    return "(" + ",".join([_canon(item) for item in value]) + ")"


_CANON: dict[type, Callable[[Any], str]] = {
    str: _canon_str,
    int: str,
    float: _canon_float,
    tuple: _canon_tuple,
    bool: lambda value: "1" if value else "0",
    type(None): lambda _: "null",
}


def _canon(value: Any) -> str:
    canon = _CANON.get(type(value))
    return _canon_other(value) if canon is None else canon(value)


def _canon_other(value: Any) -> str:
    if isinstance(value, _KeywordMark):
        return "*"
    if isinstance(value, bytes):
        return "b" + _dumps(value.hex())
    if isinstance(value, frozenset):
        return "{" + ",".join(sorted(_canon(item) for item in value)) + "}"
    if isinstance(value, type):
        return f"<{value.__module__}.{value.__qualname__}>"
    if isinstance(value, enum.Enum):
        return f"<{type(value).__module__}.{type(value).__qualname__}.{value.name}>"
    raise ValidationError(
        f"cannot use a {type(value).__name__} in a shared cache key: its text would differ "
        "between processes; use str, int, float, bool, None, bytes, tuples or frozensets "
        "of them, enum members or types, or give the decorator a key= function",
        field="key",
        value=value,
    )


def encode_key(key: Any) -> str:
    """Return the shared-store text for ``key`` (see the module docstring).

    Raises ``pmp_errors.ValidationError`` naming the key when a part of it has
    no text that is the same in every process (e.g. a plain object).
    """
    if type(key) is str and not key.startswith("~"):
        text: str = key
    else:
        text = "~" + _canon(key)
    if len(text) > _MAX_TEXT:
        return "~#" + hashlib.sha256(text.encode()).hexdigest()
    return text
