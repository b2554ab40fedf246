"""``RedisCache`` and ``AsyncRedisCache``: a cache shared by processes and machines.

redis-py is imported only when a cache is made, so ``import pmp_cache`` works
without the ``pmp-cache[redis]`` extra.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time as _time
import uuid
import weakref
from typing import TYPE_CHECKING, Any

from pmp_cache._keycodec import encode_key
from pmp_cache._lru import MISSING, LRUCache
from pmp_cache._serializers import JsonSerializer, Serializer
from pmp_cache._stats import CacheStats
from pmp_cache._validate import check_maxsize, check_ttl
from pmp_errors import ConfigurationError, PortfolioError, ValidationError

if TYPE_CHECKING:
    import redis
    import redis.asyncio

__all__ = ["AsyncRedisCache", "CacheUnavailableError", "RedisCache", "RedisCacheStats"]

logger = logging.getLogger("pmp_cache.redis")


_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_SCAN_COUNT = 500
_POLL_FIRST, _POLL_MAX = 0.002, 0.05


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


def _import_redis() -> Any:
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


def _check_decoding(client: Any) -> None:
    kwargs = getattr(getattr(client, "connection_pool", None), "connection_kwargs", {})
    if kwargs.get("decode_responses"):
        raise ConfigurationError(
            "the Redis client must return bytes: create it with decode_responses=False",
            config_key="decode_responses",
        )


class _Shared:
    """Configuration, counters, key prefix, failure handling and the local tier."""

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
    ) -> None:
        self._redis = _import_redis()
        if (url is None) == (client is None):
            raise ValidationError(
                "give exactly one of url (e.g. 'redis://localhost:6379/0') or client "
                "(an existing redis-py client)",
                field="url",
                value=url,
            )
        given_url: object = url
        if given_url is not None and not (
            isinstance(given_url, str)
            and given_url.startswith(("redis://", "rediss://", "unix://"))
        ):
            raise ValidationError(
                f"url must be a redis://, rediss:// or unix:// URL, got {url!r}",
                field="url",
                value=url,
            )
        if client is not None:
            _check_decoding(client)
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
        for flag, flag_name in ((strict, "strict"), (lock, "lock")):
            if not isinstance(flag, bool):
                raise ValidationError(
                    f"{flag_name} must be True or False, got {flag!r}", field=flag_name, value=flag
                )
        self.serializer = serializer
        self.strict = strict
        self.timeout = _check_seconds(timeout, "timeout", zero=False)
        self.retry_interval = _check_seconds(retry_interval, "retry_interval", zero=True)
        local_maxsize = check_maxsize(local_maxsize) if local_maxsize != 0 else 0
        self.local_maxsize = local_maxsize
        self.local_ttl = check_ttl(local_ttl, "local_ttl") if local_maxsize != 0 else None
        self.local: LRUCache[Any, Any] | None = (
            LRUCache(local_maxsize, self.local_ttl) if local_maxsize != 0 else None
        )
        # One more tier per cached function, for its keys ``(namespace, key)``.
        self.tiers: weakref.WeakValueDictionary[str, LRUCache[Any, Any]] = (
            weakref.WeakValueDictionary()
        )
        self._tiers_lock = threading.Lock()
        self.lock = lock
        self.lock_ttl = _check_seconds(lock_ttl, "lock_ttl", zero=False)
        self.lock_wait = _check_seconds(lock_wait, "lock_wait", zero=True)
        self.prefix = f"{self.namespace}:v{self.version}:"
        self.lock_prefix = f"{self.namespace}:v{self.version}|lock:"
        self._url = url
        self._client = client
        self._dumps = serializer.dumps
        self._loads = serializer.loads
        self._down_until = 0.0
        self._healthy = True
        self._held: dict[str, str] = {}
        # Hits served by Redis; the local tier counts its own (read by stats()).
        self.hits = self.misses = self.errors = self.rejected = 0

    # -- keys and values ----------------------------------------------------------------

    def key_text(self, key: Any) -> str:
        return self.prefix + encode_key(key)

    def lock_text(self, key_text: str) -> str:
        return self.lock_prefix + key_text[len(self.prefix) :]

    def ttl_ms(self, ttl: float | None) -> int | None:
        seconds = self.ttl if ttl is None else check_ttl(ttl)
        return None if seconds is None else max(1, round(seconds * 1000))

    def decode(self, key_text: str, data: Any, default: Any) -> Any:
        """Decode a GET reply, counting the hit or the miss (and a rejected payload)."""
        if data is None:
            self.misses += 1
            return default
        try:
            value = self._loads(data)
        except Exception as exc:  # noqa: BLE001 - any undecodable payload is a miss
            self.rejected += 1
            self.misses += 1
            logger.warning("rejected the payload stored under %r: %s", key_text, exc)
            return default
        self.hits += 1
        return value

    # -- local tiers --------------------------------------------------------------------

    def local_tier(self, namespace: str) -> LRUCache[Any, Any] | None:
        """The tier for keys ``(namespace, key)``, made on first use; ``None`` without tiers."""
        if self.local is None:
            return None
        tier = self.tiers.get(namespace)
        if tier is None:
            with self._tiers_lock:
                tier = self.tiers.get(namespace)
                if tier is None:  # pragma: no branch - else: another thread made it first
                    tier = self.tiers[namespace] = LRUCache(self.local_maxsize, self.local_ttl)
        return tier

    def route(self, key: Any) -> tuple[LRUCache[Any, Any] | None, Any]:
        """The tier holding ``key`` and the key within it."""
        local = self.local
        if local is not None and type(key) is tuple and len(key) == 2 and type(key[0]) is str:  # noqa: PLR2004 - (namespace, key)
            tier = self.tiers.get(key[0])
            if tier is not None:
                return tier, key[1]
        return local, key

    def all_tiers(self) -> list[LRUCache[Any, Any]]:
        return [] if self.local is None else [self.local, *self.tiers.values()]

    def remember(self, key: Any, value: Any, ttl: float | None) -> None:
        """Keep ``value`` in its local tier, never longer than its Redis expiry."""
        local, local_key = self.route(key)
        if local is not None:
            seconds = self.ttl if ttl is None else ttl
            local_ttl = local.ttl
            shorter = seconds is not None and local_ttl is not None and seconds < local_ttl
            local.set(local_key, value, seconds if shorter else None)

    # -- failures -----------------------------------------------------------------------

    def skip(self) -> bool:
        """Whether Redis is resting after a failure (fail-open only): count it and skip."""
        if self._down_until and not self.strict:
            if _time.monotonic() < self._down_until:
                self.errors += 1
                return True
            self._down_until = 0.0
        return False

    def failed(self, operation: str, key_text: str, exc: BaseException) -> None:
        """Count and log a failed command; raise ``CacheUnavailableError`` when strict."""
        self.errors += 1
        if self.retry_interval:
            self._down_until = _time.monotonic() + self.retry_interval
        if self._healthy:
            self._healthy = False
            logger.warning(
                "Redis %s %r failed (%s: %s); %s",
                operation,
                key_text,
                type(exc).__name__,
                exc,
                "raising (strict)" if self.strict else "serving without the shared cache",
            )
        else:
            logger.debug("Redis %s %r failed again: %s", operation, key_text, exc)
        if self.strict:
            raise CacheUnavailableError(
                f"Redis {operation} failed: {type(exc).__name__}: {exc}",
                operation=operation,
                key=key_text,
            ) from exc

    def succeeded(self) -> None:
        if not self._healthy:
            self._healthy = True
            logger.info("Redis is reachable again; caching resumed")

    @property
    def errors_types(self) -> tuple[type[BaseException], ...]:
        return (self._redis.RedisError, OSError)

    def stats(self) -> RedisCacheStats:
        tiers = [tier.stats() for tier in self.all_tiers()]
        local_hits = sum(t["hits"] for t in tiers)
        hits = self.hits + local_hits
        lookups = hits + self.misses
        return {
            "hits": hits,
            "misses": self.misses,
            "hit_rate": hits / lookups if lookups else 0.0,
            "evictions": sum(t["evictions"] for t in tiers),
            "expirations": sum(t["expirations"] for t in tiers),
            "currsize": sum(t["currsize"] for t in tiers),
            "maxsize": tiers[0]["maxsize"] if tiers else None,
            "errors": self.errors,
            "rejected": self.rejected,
            "local_hits": local_hits,
        }

    def describe(self, kind: str) -> str:
        where = self._url if self._url is not None else "<client>"
        return (
            f"{kind}({where!r}, namespace={self.namespace!r}, version={self.version!r}, "
            f"serializer={self.serializer!r}, strict={self.strict})"
        )


# ---------------------------------------------------------------------------------------


class _SharedFront:
    """What ``RedisCache`` and ``AsyncRedisCache`` read straight from their ``_Shared`` state."""

    _shared: _Shared

    @property
    def namespace(self) -> str:
        """The namespace every key of this cache lives under."""
        return self._shared.namespace

    @property
    def local(self) -> LRUCache[Any, Any] | None:
        """The in-process tier in front of Redis, or ``None``."""
        return self._shared.local

    def local_tier(self, namespace: str) -> LRUCache[Any, Any] | None:
        """The in-process tier for keys ``(namespace, key)``, or ``None`` without tiers.

        Each function cached with ``cache(backend=...)`` keeps its keys under its
        own name, in its own tier (read directly by its wrapper, so repeated hits
        cost about what an in-memory hit does); ``get``, ``set``, ``delete`` and
        ``clear`` keep every tier in step.
        """
        return self._shared.local_tier(namespace)

    def stats(self) -> RedisCacheStats:
        """Hits, misses, errors and rejected payloads seen by this process (no network)."""
        return self._shared.stats()

    def __repr__(self) -> str:
        return self._shared.describe(type(self).__name__)


class RedisCache(_SharedFront):
    """A cache in Redis shared by every process that uses the same namespace and version.

    Give a ``url`` or an existing redis-py ``client`` (made with
    ``decode_responses=False``). Keys live under ``"{namespace}:v{version}:"``;
    bump ``version`` when the cached values change shape. ``ttl`` (seconds) is
    the default expiry, enforced by Redis itself. Values are JSON unless another
    ``serializer`` (e.g. ``PickleSerializer(secret=...)``) is given; a value the
    serializer cannot encode raises ``ValidationError`` at ``set`` time.

    When Redis fails (down, timeout after ``timeout`` seconds) the cache fails
    open: ``get`` misses, ``set`` is skipped, the error is counted in
    ``stats()['errors']`` and logged, and Redis is not tried again for
    ``retry_interval`` seconds. ``strict=True`` raises ``CacheUnavailableError``
    instead. ``local_maxsize`` adds in-process LRU tiers in front of Redis whose
    entries live at most ``local_ttl`` seconds (other processes' changes can take
    that long to show): ``local`` for direct calls and one per function cached
    with ``cache(backend=...)`` (see ``local_tier``). ``lock=True`` makes
    concurrent misses in several processes compute once: the first takes a
    Redis lock (``SET NX PX``, expiring after ``lock_ttl``), the others wait up
    to ``lock_wait`` seconds for its value, then compute themselves; the
    decorators use it through ``claim`` and ``release``.

    Making one does not connect yet (needs the ``pmp-cache[redis]`` extra):

    >>> shared = RedisCache("redis://127.0.0.1:6379/0", namespace="app", ttl=300)
    >>> shared.namespace
    'app'

    Used with ``cache(backend=RedisCache(...))`` or on its own (needs a server)::

        shared = RedisCache("redis://localhost:6379/0", namespace="app", ttl=300)
        shared.set("user:1", {"name": "Ada"})
        shared.get("user:1")  # {'name': 'Ada'}
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.Redis | None = None,
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
    ) -> None:
        shared: _Shared = _Shared(
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
        )
        self._shared = shared
        redis_module = shared._redis  # noqa: SLF001 - the helper belongs to this cache
        self._owns_client = client is None
        if client is None:
            client = redis_module.Redis.from_url(
                url,
                socket_timeout=shared.timeout,
                socket_connect_timeout=shared.timeout,
                retry=redis_module.retry.Retry(redis_module.backoff.NoBackoff(), 1),
            )
        self._client: Any = client
        self._release: Any = client.register_script(_RELEASE)
        self._errors = shared.errors_types

    @property
    def client(self) -> redis.Redis:
        """The redis-py client in use."""
        return self._client  # type: ignore[no-any-return]

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value stored under ``key`` or ``default``.

        A payload that does not decode or verify is a miss (counted in
        ``stats()['rejected']``); an unreachable server is a miss counted in
        ``stats()['errors']`` (or ``CacheUnavailableError`` when strict).
        """
        shared = self._shared
        local, local_key = shared.route(key)
        if local is not None:
            value = local.get(local_key, MISSING)
            if value is not MISSING:  # counted as the local tier's own hit
                return value
        text = shared.key_text(key)
        if shared.skip():
            shared.misses += 1
            return default
        try:
            data = self._client.get(text)
        except self._errors as exc:
            shared.misses += 1
            shared.failed("GET", text, exc)
            return default
        if not shared._healthy:  # noqa: SLF001
            shared.succeeded()
        value = shared.decode(text, data, MISSING)
        if value is MISSING:
            return default
        if local is not None:
            local.set(local_key, value)
        return value

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (``None``: the cache's ``ttl``).

        Raises ``ValidationError`` when the serializer cannot encode ``value``.
        Also releases this process's lock on ``key`` (see ``lock=``).
        """
        shared = self._shared
        data = shared._dumps(value)  # noqa: SLF001
        text = shared.key_text(key)
        px = shared.ttl_ms(ttl)
        shared.remember(key, value, ttl)
        token = shared._held.pop(text, None)  # noqa: SLF001
        if shared.skip():
            return
        try:
            if token is None:
                self._client.set(text, data, px=px)
            else:
                with self._client.pipeline(transaction=False) as pipe:
                    pipe.set(text, data, px=px)
                    self._release(keys=[shared.lock_text(text)], args=[token], client=pipe)
                    pipe.execute()
        except self._errors as exc:
            shared.failed("SET", text, exc)
        else:
            shared.succeeded()

    def delete(self, key: Any) -> bool:
        """Remove ``key`` here and in Redis; report whether it was stored."""
        shared = self._shared
        local, local_key = shared.route(key)
        removed = local.delete(local_key) if local is not None else False
        text = shared.key_text(key)
        if shared.skip():
            return removed
        try:
            count = self._client.delete(text)
        except self._errors as exc:
            shared.failed("DEL", text, exc)
            return removed
        shared.succeeded()
        return bool(count) or removed

    def clear(self) -> None:
        """Remove every key of this namespace and version (SCAN + UNLINK, never FLUSHDB)."""
        shared = self._shared
        for tier in shared.all_tiers():
            tier.clear()
        pattern = shared.prefix + "*"
        if shared.skip():
            return
        try:
            batch: list[bytes] = []
            for name in self._client.scan_iter(match=pattern, count=_SCAN_COUNT):
                batch.append(name)
                if len(batch) >= _SCAN_COUNT:
                    self._client.unlink(*batch)
                    batch.clear()
            if batch:
                self._client.unlink(*batch)
        except self._errors as exc:
            shared.failed("SCAN", pattern, exc)
        else:
            shared.succeeded()

    def claim(self, key: Any, default: Any = None) -> Any:
        """Before computing a missing ``key``: with ``lock=True``, take its lock or wait.

        Returns ``default`` when the caller should compute (it took the lock,
        ``lock`` is off, the wait ran out or Redis failed) and the stored value
        when another process stored it while this one waited. ``set`` releases
        the lock; call ``release`` if the computation fails.
        """
        shared = self._shared
        if not shared.lock:
            return default
        text = shared.key_text(key)
        lock_text = shared.lock_text(text)
        token = uuid.uuid4().hex
        deadline = _time.monotonic() + shared.lock_wait
        pause = _POLL_FIRST
        while not shared.skip():
            try:
                with self._client.pipeline(transaction=False) as pipe:
                    pipe.get(text)
                    pipe.set(lock_text, token, nx=True, px=round(shared.lock_ttl * 1000))
                    data, taken = pipe.execute()
            except self._errors as exc:
                shared.failed("LOCK", lock_text, exc)
                break
            shared.succeeded()
            if data is not None:
                if taken:
                    self._release(keys=[lock_text], args=[token])
                value = shared.decode(text, data, MISSING)
                if value is not MISSING:
                    shared.remember(key, value, None)
                    return value
            if taken:
                shared._held[text] = token  # noqa: SLF001
                break
            remaining = deadline - _time.monotonic()
            if remaining <= 0:
                break
            _time.sleep(min(pause, remaining))
            pause = min(pause * 2, _POLL_MAX)
        return default

    def release(self, key: Any) -> None:
        """Give up this process's lock on ``key`` (after a failed computation)."""
        shared = self._shared
        text = shared.key_text(key)
        token = shared._held.pop(text, None)  # noqa: SLF001
        if token is None:
            return
        try:
            self._release(keys=[shared.lock_text(text)], args=[token])
        except self._errors as exc:
            shared.failed("UNLOCK", text, exc)

    def close(self) -> None:
        """Close the connections of a client this cache created from ``url``."""
        if self._owns_client:
            self._client.close()


# ---------------------------------------------------------------------------------------


class AsyncRedisCache(_SharedFront):
    """The asyncio twin of ``RedisCache`` (redis.asyncio); the same options and behaviour.

    ``get``, ``set``, ``delete``, ``clear``, ``claim`` and ``release`` are
    coroutines; ``stats`` is not. Made from a ``url``, it keeps one client per
    event loop, so it works across ``asyncio.run`` calls; call ``aclose`` at the
    end of each loop that used it.

    >>> AsyncRedisCache("redis://127.0.0.1:6379/0", namespace="app").namespace
    'app'

    With a server::

        shared = AsyncRedisCache("redis://localhost:6379/0", namespace="app")
        await shared.set("user:1", {"name": "Ada"})
        await shared.get("user:1")  # {'name': 'Ada'}
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        client: redis.asyncio.Redis | None = None,
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
    ) -> None:
        self._shared = _Shared(
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
        )
        self._given: Any = client
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Any] = (
            weakref.WeakKeyDictionary()
        )
        self._clients_lock = threading.Lock()
        self._errors = self._shared.errors_types

    def _client(self) -> Any:
        given = self._given
        if given is not None:
            return given
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            redis_module = self._shared._redis  # noqa: SLF001
            with self._clients_lock:
                client = self._clients[loop] = redis_module.asyncio.Redis.from_url(
                    self._shared._url,  # noqa: SLF001
                    socket_timeout=self._shared.timeout,
                    socket_connect_timeout=self._shared.timeout,
                    retry=redis_module.asyncio.retry.Retry(redis_module.backoff.NoBackoff(), 1),
                )
        return client

    async def get(self, key: Any, default: Any = None) -> Any:
        """Return the value stored under ``key`` or ``default`` (see ``RedisCache.get``)."""
        shared = self._shared
        local, local_key = shared.route(key)
        if local is not None:
            value = local.get(local_key, MISSING)
            if value is not MISSING:  # counted as the local tier's own hit
                return value
        text = shared.key_text(key)
        if shared.skip():
            shared.misses += 1
            return default
        try:
            data = await self._client().get(text)
        except self._errors as exc:
            shared.misses += 1
            shared.failed("GET", text, exc)
            return default
        if not shared._healthy:  # noqa: SLF001
            shared.succeeded()
        value = shared.decode(text, data, MISSING)
        if value is MISSING:
            return default
        if local is not None:
            local.set(local_key, value)
        return value

    async def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` (see ``RedisCache.set``)."""
        shared = self._shared
        data = shared._dumps(value)  # noqa: SLF001
        text = shared.key_text(key)
        px = shared.ttl_ms(ttl)
        shared.remember(key, value, ttl)
        token = shared._held.pop(text, None)  # noqa: SLF001
        if shared.skip():
            return
        client = self._client()
        try:
            if token is None:
                await client.set(text, data, px=px)
            else:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.set(text, data, px=px)
                    await self._release(client, shared.lock_text(text), token, pipe)
                    await pipe.execute()
        except self._errors as exc:
            shared.failed("SET", text, exc)
        else:
            shared.succeeded()

    async def _release(self, client: Any, lock_text: str, token: str, pipe: Any = None) -> Any:
        script = client.register_script(_RELEASE)
        return await script(keys=[lock_text], args=[token], client=pipe)

    async def delete(self, key: Any) -> bool:
        """Remove ``key`` here and in Redis; report whether it was stored."""
        shared = self._shared
        local, local_key = shared.route(key)
        removed = local.delete(local_key) if local is not None else False
        text = shared.key_text(key)
        if shared.skip():
            return removed
        try:
            count = await self._client().delete(text)
        except self._errors as exc:
            shared.failed("DEL", text, exc)
            return removed
        shared.succeeded()
        return bool(count) or removed

    async def clear(self) -> None:
        """Remove every key of this namespace and version (``SCAN``, never ``FLUSHDB``)."""
        shared = self._shared
        for tier in shared.all_tiers():
            tier.clear()
        pattern = shared.prefix + "*"
        if shared.skip():
            return
        client = self._client()
        try:
            batch: list[bytes] = []
            async for name in client.scan_iter(match=pattern, count=_SCAN_COUNT):
                batch.append(name)
                if len(batch) >= _SCAN_COUNT:
                    await client.unlink(*batch)
                    batch.clear()
            if batch:
                await client.unlink(*batch)
        except self._errors as exc:
            shared.failed("SCAN", pattern, exc)
        else:
            shared.succeeded()

    async def claim(self, key: Any, default: Any = None) -> Any:
        """Take the Redis lock for a missing ``key`` or wait for its value (as ``RedisCache``)."""
        shared = self._shared
        if not shared.lock:
            return default
        text = shared.key_text(key)
        lock_text = shared.lock_text(text)
        token = uuid.uuid4().hex
        deadline = _time.monotonic() + shared.lock_wait
        pause = _POLL_FIRST
        client = self._client()
        while not shared.skip():
            try:
                async with client.pipeline(transaction=False) as pipe:
                    pipe.get(text)
                    pipe.set(lock_text, token, nx=True, px=round(shared.lock_ttl * 1000))
                    data, taken = await pipe.execute()
            except self._errors as exc:
                shared.failed("LOCK", lock_text, exc)
                break
            shared.succeeded()
            if data is not None:
                if taken:
                    await self._release(client, lock_text, token)
                value = shared.decode(text, data, MISSING)
                if value is not MISSING:
                    shared.remember(key, value, None)
                    return value
            if taken:
                shared._held[text] = token  # noqa: SLF001
                break
            remaining = deadline - _time.monotonic()
            if remaining <= 0:
                break
            await asyncio.sleep(min(pause, remaining))
            pause = min(pause * 2, _POLL_MAX)
        return default

    async def release(self, key: Any) -> None:
        """Give up this process's lock on ``key`` (after a failed computation)."""
        shared = self._shared
        text = shared.key_text(key)
        token = shared._held.pop(text, None)  # noqa: SLF001
        if token is None:
            return
        try:
            await self._release(self._client(), shared.lock_text(text), token)
        except self._errors as exc:
            shared.failed("UNLOCK", text, exc)

    async def aclose(self) -> None:
        """Close the client this cache made for the running event loop (not a given one)."""
        if self._given is None:
            client = self._clients.pop(asyncio.get_running_loop(), None)
            if client is not None:
                await client.aclose()
