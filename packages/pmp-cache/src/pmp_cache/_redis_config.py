"""The validated options of a Redis cache, its error type and its statistics type.

redis-py is imported here, lazily, when a cache is made, so ``import pmp_cache``
works without the ``pmp-cache[redis]`` extra.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from pmp_cache._serializers import JsonSerializer, Serializer
from pmp_cache._stats import CacheStats
from pmp_cache._validate import check_maxsize, check_ttl
from pmp_errors import ConfigurationError, PortfolioError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["CacheUnavailableError", "RedisCacheStats", "RedisSettings", "import_redis"]

_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


class RedisCacheStats(CacheStats):
    """``CacheStats`` plus what a shared cache adds.

    >>> sorted(set(RedisCacheStats.__annotations__) - set(CacheStats.__annotations__))
    ['errors', 'local_hits', 'rejected']

    ``errors`` counts operations that could not reach Redis (served as misses
    unless the cache is strict); ``rejected`` counts stored payloads that did not
    decode or verify (served as misses, never unpickled); ``local_hits`` counts
    hits served by the in-process tiers (included in ``hits``). ``currsize``,
    ``evictions`` and ``expirations`` sum over those tiers and ``maxsize`` is the
    capacity of each (``0``/``None`` without them): the server's own size is not
    counted.
    """

    errors: int
    rejected: int
    local_hits: int


class CacheUnavailableError(PortfolioError, ConnectionError):
    """A strict shared cache could not reach its server.

    Also a ``ConnectionError``. ``operation`` names the command, ``key`` the key.

    >>> CacheUnavailableError("Redis GET failed", operation="GET", key="k").context["operation"]
    'GET'
    """

    status = 503
    title = "Cache unavailable"


def import_redis() -> Any:
    """redis-py, or ``ConfigurationError`` naming the extra to install."""
    try:
        import redis
        import redis.asyncio
        import redis.asyncio.retry
        import redis.backoff
        import redis.retry
    except ImportError:
        raise ConfigurationError(
            "the Redis cache backend needs redis-py: pip install 'pmp-cache[redis]'",
            config_key="pmp-cache[redis]",
        ) from None
    return redis


def _check_name(value: object, name: str) -> str:
    text = str(value) if type(value) is int and value >= 0 else value
    if isinstance(text, str) and _NAME.fullmatch(text):
        return text
    raise ValidationError(
        f"{name} must be a non-empty str of letters, digits, '_', '.' or '-' "
        f"(or an int >= 0 for version), got {value!r}",
        field=name,
        value=value,
    )


def _check_seconds(value: object, name: str, *, zero: bool) -> float:
    if (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (value >= 0 if zero else value > 0)
    ):
        return float(value)
    bound = ">= 0" if zero else "> 0"
    raise ValidationError(
        f"{name} must be a number of seconds {bound}, got {value!r}", field=name, value=value
    )


def _check_flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(
            f"{name} must be True or False, got {value!r}", field=name, value=value
        )
    return value


def _check_url(url: object, client: object) -> None:
    if (url is None) == (client is None):
        raise ValidationError(
            "give exactly one of url (e.g. 'redis://localhost:6379/0') or client "
            "(an existing redis-py client)",
            field="url",
            value=url,
        )
    if url is not None and not (
        isinstance(url, str) and url.startswith(("redis://", "rediss://", "unix://"))
    ):
        raise ValidationError(
            f"url must be a redis://, rediss:// or unix:// URL, got {url!r}", field="url", value=url
        )
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
    if kwargs.get("decode_responses"):
        raise ConfigurationError(
            "the Redis client must return bytes: create it with decode_responses=False",
            config_key="decode_responses",
        )


class RedisSettings:
    """Every option of ``RedisCache``/``AsyncRedisCache``, checked once, read by the rest."""

    __slots__ = (
        "client",
        "local_maxsize",
        "local_ttl",
        "lock",
        "lock_ttl",
        "lock_wait",
        "namespace",
        "on_error",
        "redis",
        "retry_interval",
        "serializer",
        "strict",
        "timeout",
        "ttl",
        "url",
        "version",
    )

    def __init__(
        self,
        url: str | None,
        client: object,
        *,
        namespace: str,
        version: int | str,
        ttl: float | None,
        serializer: Serializer | None,
        strict: bool,
        timeout: float,
        retry_interval: float,
        local_maxsize: int | None,
        local_ttl: float,
        lock: bool,
        lock_ttl: float,
        lock_wait: float,
        on_error: Callable[[str, BaseException | None], object] | None = None,
    ) -> None:
        self.redis = import_redis()
        _check_url(url, client)
        self.url = url
        self.client = client
        self.namespace = _check_name(namespace, "namespace")
        self.version = _check_name(version, "version")
        self.ttl = check_ttl(ttl)
        if serializer is None:
            serializer = JsonSerializer()
        elif not isinstance(serializer, Serializer):
            raise ValidationError(
                f"serializer must have dumps(value) -> bytes and loads(bytes), got {serializer!r}",
                field="serializer",
                value=serializer,
            )
        self.serializer = serializer
        self.strict = _check_flag(strict, "strict")
        self.lock = _check_flag(lock, "lock")
        self.timeout = _check_seconds(timeout, "timeout", zero=False)
        self.retry_interval = _check_seconds(retry_interval, "retry_interval", zero=True)
        self.local_maxsize = check_maxsize(local_maxsize) if local_maxsize != 0 else 0
        self.local_ttl = check_ttl(local_ttl, "local_ttl") if self.local_maxsize != 0 else None
        self.lock_ttl = _check_seconds(lock_ttl, "lock_ttl", zero=False)
        self.lock_wait = _check_seconds(lock_wait, "lock_wait", zero=True)
        if on_error is not None and not callable(on_error):
            raise ValidationError(
                f"on_error must be a callable (operation, exc) or None, got {on_error!r}",
                field="on_error",
                value=on_error,
            )
        self.on_error = on_error

    def client_options(self, *, asynchronous: bool) -> dict[str, Any]:
        """Keyword arguments for a client made from ``url``: timeouts, one quick retry."""
        retry = self.redis.asyncio.retry.Retry if asynchronous else self.redis.retry.Retry
        return {
            "socket_timeout": self.timeout,
            "socket_connect_timeout": self.timeout,
            "retry": retry(self.redis.backoff.NoBackoff(), 1),
        }

    def describe(self, kind: str) -> str:
        """The ``repr`` of a cache of class ``kind``."""
        where = self.url if self.url is not None else "<client>"
        return (
            f"{kind}({where!r}, namespace={self.namespace!r}, version={self.version!r}, "
            f"serializer={self.serializer!r}, strict={self.strict})"
        )
