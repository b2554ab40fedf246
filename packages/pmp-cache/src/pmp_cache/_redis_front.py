"""What ``RedisCache`` and ``AsyncRedisCache`` share: options, tiers, counters and accessors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pmp_cache._redis_config import RedisSettings
from pmp_cache._redis_protocol import RedisProtocol
from pmp_cache._redis_tiers import LocalTiers

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_cache._lru import LRUCache
    from pmp_cache._redis_config import RedisCacheStats
    from pmp_cache._serializers import Serializer

__all__ = ["RedisFront"]

ClientT = TypeVar("ClientT")


class RedisFront(Generic[ClientT]):
    """The options and in-process state of a Redis cache; its driver adds the I/O.

    ``on_error(operation, exc)``, when given, is called for every failed
    command (``exc`` the exception) and every command skipped while Redis rests
    after a failure (``exc`` ``None``): a hook for metrics, free when unused.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: ClientT | None = None,
        namespace: str = "pmp",
        version: int | str = 1,
        ttl: float | None = None,
        serializer: Serializer | None = None,
        strict: bool = False,
        timeout: float = 0.5,
        retry_interval: float = 1.0,
        local_maxsize: int | None = 0,
        local_ttl: float = 1.0,
        lock: bool = False,
        lock_ttl: float = 30.0,
        lock_wait: float = 5.0,
        on_error: Callable[[str, BaseException | None], object] | None = None,
    ) -> None:
        settings = RedisSettings(
            url,
            client,
            namespace=namespace,
            version=version,
            ttl=ttl,
            serializer=serializer,
            strict=strict,
            timeout=timeout,
            retry_interval=retry_interval,
            local_maxsize=local_maxsize,
            local_ttl=local_ttl,
            lock=lock,
            lock_ttl=lock_ttl,
            lock_wait=lock_wait,
            on_error=on_error,
        )
        self._settings = settings
        self._tiers = LocalTiers(settings.local_maxsize, settings.local_ttl)
        self._protocol = RedisProtocol(settings, self._tiers)
        self._connect()

    def _connect(self) -> None:
        """Set up the driver's client (made lazily where it must be)."""
        raise NotImplementedError

    @property
    def namespace(self) -> str:
        """The namespace every key of this cache lives under."""
        return self._settings.namespace

    @property
    def local(self) -> LRUCache[Any, Any] | None:
        """The in-process tier in front of Redis, or ``None``."""
        return self._tiers.local

    def local_tier(self, namespace: str) -> LRUCache[Any, Any] | None:
        """The in-process tier for keys ``(namespace, key)``, or ``None`` without tiers.

        Each function cached with ``cache(backend=...)`` keeps its keys under its
        own name, in its own tier (read directly by its wrapper, so repeated hits
        cost about what an in-memory hit does); ``get``, ``set``, ``delete`` and
        ``clear`` keep every tier in step.
        """
        return self._tiers.tier(namespace)

    @property
    def _shared(self) -> LocalTiers:
        # The name the tiers had before the protocol was split out; some tests read it.
        return self._tiers

    def stats(self) -> RedisCacheStats:
        """Hits, misses, errors and rejected payloads seen by this process (no network)."""
        return self._protocol.stats()

    def __repr__(self) -> str:
        return self._settings.describe(type(self).__name__)
