"""How values become bytes for a shared store: JSON by default, signed pickle on request."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import pickle
from typing import Any, Protocol, runtime_checkable

from pmp_errors import DataProcessingError, ValidationError

__all__ = ["JsonSerializer", "PayloadRejectedError", "PickleSerializer", "Serializer"]


class PayloadRejectedError(DataProcessingError):
    """A stored payload could not be decoded or its signature did not verify.

    Cache backends treat it as a miss and count it in ``stats()['rejected']``;
    the payload is never unpickled.

    >>> PayloadRejectedError("bad signature", step="verify").step
    'verify'
    """


@runtime_checkable
class Serializer(Protocol):
    """Turns cached values into bytes and back.

    ``dumps`` raises ``pmp_errors.ValidationError`` for a value it cannot store
    faithfully; ``loads`` raises ``PayloadRejectedError`` for bytes it does not
    trust or cannot read.

    >>> isinstance(JsonSerializer(), Serializer)
    True
    """

    def dumps(self, value: Any) -> bytes:
        """Encode ``value``."""
        ...

    def loads(self, data: bytes) -> Any:
        """Decode bytes made by ``dumps``."""
        ...


_JSON_SCALARS = (str, int, float, bool, type(None))
_NO_KEY = object()


def _json_problem(value: Any, path: str) -> str | None:
    """Describe the first part of ``value`` that JSON would not give back unchanged."""
    kind = type(value)
    if kind in _JSON_SCALARS:
        finite = kind is not float or math.isfinite(value)
        return None if finite else f"{path} is {value!r}, which JSON cannot represent"
    if kind is list:
        parts: list[tuple[str, Any]] = [(f"{path}[{i}]", item) for i, item in enumerate(value)]
    elif kind is dict:
        bad = next((name for name in value if type(name) is not str), _NO_KEY)
        if bad is not _NO_KEY:
            return f"{path} has the non-str key {bad!r} ({type(bad).__name__})"
        parts = [(f"{path}[{name!r}]", item) for name, item in value.items()]
    else:
        return f"{path} is a {kind.__name__}, which JSON would not give back as one"
    return next(
        (problem for at, item in parts if (problem := _json_problem(item, at)) is not None), None
    )


class JsonSerializer:
    """Values as JSON: dicts with str keys, lists, str, int, finite float, bool, None.

    Anything that would come back different (a tuple as a list, ``1`` keys as
    ``"1"``, a subclass as its base) is refused at ``dumps`` time with a
    ``ValidationError`` naming the offending part, so a cached result always
    equals the computed one. The bytes are plain UTF-8 JSON, readable by any client.

    >>> s = JsonSerializer()
    >>> s.dumps({"id": 1, "tags": ["a"]})
    b'{"id":1,"tags":["a"]}'
    >>> s.loads(b'{"id":1}')
    {'id': 1}
    """

    __slots__ = ()

    def dumps(self, value: Any) -> bytes:
        """Encode ``value`` as compact JSON, or raise ``ValidationError`` naming what JSON loses."""
        problem = _json_problem(value, "value")
        if problem is not None:
            raise ValidationError(
                f"cannot cache {type(value).__name__} as JSON: {problem}; return JSON types "
                "(dict with str keys, list, str, int, float, bool, None) or use "
                "PickleSerializer(secret=...)",
                field="value",
                value=value,
            )
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()

    def loads(self, data: bytes) -> Any:
        """Decode JSON bytes; anything else raises ``PayloadRejectedError``."""
        try:
            return json.loads(data)
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
            raise PayloadRejectedError(
                f"stored payload is not JSON ({exc})", step="json", size=len(data)
            ) from None

    def __repr__(self) -> str:
        return "JsonSerializer()"


_PICKLE_TAG = b"pmp1"
_DIGEST = hashlib.sha256
_DIGEST_SIZE = _DIGEST().digest_size
_MIN_SECRET = 16


class PickleSerializer:
    """Any picklable value, every payload HMAC-SHA256 signed with ``secret``.

    ``loads`` verifies the signature (in constant time) before unpickling;
    a payload that does not verify is rejected and never unpickled. Share the
    secret only with processes you trust to run code in yours: whoever holds it
    can make payloads this process will unpickle. ``secret`` must be at least 16 bytes.

    >>> s = PickleSerializer(secret=b"0123456789abcdef")
    >>> s.loads(s.dumps((1, {2, 3})))
    (1, {2, 3})
    """

    __slots__ = ("_key", "_protocol")

    def __init__(self, secret: bytes, *, protocol: int = pickle.HIGHEST_PROTOCOL) -> None:
        raw: object = secret
        if not isinstance(raw, bytes) or len(raw) < _MIN_SECRET:
            size = f" of length {len(raw)}" if isinstance(raw, bytes) else ""
            raise ValidationError(
                f"secret must be bytes of length >= {_MIN_SECRET} (e.g. os.urandom(32)), "
                f"got {type(raw).__name__}{size}",
                field="secret",
            )
        if type(protocol) is not int or not 2 <= protocol <= pickle.HIGHEST_PROTOCOL:  # noqa: PLR2004
            raise ValidationError(
                f"protocol must be an int from 2 to {pickle.HIGHEST_PROTOCOL}, got {protocol!r}",
                field="protocol",
                value=protocol,
            )
        self._key = secret
        self._protocol = protocol

    def _sign(self, body: bytes) -> bytes:
        return hmac.new(self._key, body, _DIGEST).digest()

    def dumps(self, value: Any) -> bytes:
        """Pickle and sign ``value``; an unpicklable one raises ``ValidationError``."""
        try:
            body = pickle.dumps(value, self._protocol)
        except Exception as exc:
            raise ValidationError(
                f"cannot cache {type(value).__name__}: it does not pickle ({exc})",
                field="value",
                value=value,
            ) from exc
        return _PICKLE_TAG + self._sign(body) + body

    def loads(self, data: bytes) -> Any:
        """Verify the signature, then unpickle; a payload that does not verify is rejected."""
        start = len(_PICKLE_TAG)
        if not data.startswith(_PICKLE_TAG) or len(data) < start + _DIGEST_SIZE:
            raise PayloadRejectedError(
                "stored payload is not a signed pickle; not unpickled", step="verify"
            )
        signature, body = data[start : start + _DIGEST_SIZE], data[start + _DIGEST_SIZE :]
        if not hmac.compare_digest(signature, self._sign(body)):
            raise PayloadRejectedError(
                "stored payload's signature does not verify; not unpickled", step="verify"
            )
        return pickle.loads(body)  # noqa: S301 - the payload was signed with our secret

    def __repr__(self) -> str:
        return f"PickleSerializer(secret=<{len(self._key)} bytes>, protocol={self._protocol})"
