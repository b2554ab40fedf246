"""``RedisCache``: the blocking driver of the Redis cache protocol (redis-py)."""

from __future__ import annotations

import asyncio
import logging
import threading
import time as _time
from typing import TYPE_CHECKING, Any, TypeVar

from pmp_cache._redis_exchange import drive
from pmp_cache._redis_front import RedisFront
from pmp_cache._redis_tiers import ABSENT
from pmp_errors import ConfigurationError

if TYPE_CHECKING:
    import redis

    from pmp_cache._redis_exchange import Step, Steps

__all__ = ["RedisCache"]

T = TypeVar("T")

logger = logging.getLogger("pmp_cache.redis")


def _thread_state(owner: object) -> bool | None:
    """For lock renewal: whether the thread that claimed a lock still runs."""
    return owner.is_alive() if isinstance(owner, threading.Thread) else None


class RedisCache(RedisFront["redis.Redis"]):
    """A cache in Redis shared by every process that uses the same namespace and version.

    Give a ``url`` or an existing redis-py ``client`` (made with
    ``decode_responses=False``). Keys live under ``"{namespace}:v{version}:"``;
    bump ``version`` when the cached values change shape. ``ttl`` (seconds) is
    the default expiry, enforced by Redis itself. Values are JSON unless another
    ``serializer`` (e.g. ``PickleSerializer(secret=...)``) is given; a value the
    serializer cannot encode raises ``ValidationError`` at ``set`` time.

    When Redis fails (down, timeout after ``timeout`` seconds) the cache fails
    open: ``get`` misses, ``set`` is skipped, the error is counted in
    ``stats()['errors']`` (and passed to ``on_error``) and logged, and Redis is
    not tried again for ``retry_interval`` seconds. ``strict=True`` raises
    ``CacheUnavailableError`` instead. ``local_maxsize`` adds in-process LRU
    tiers in front of Redis whose entries live at most ``local_ttl`` seconds
    (other processes' changes can take that long to show): ``local`` for direct
    calls and one per function cached with ``cache(backend=...)`` (see
    ``local_tier``). ``lock=True`` makes concurrent misses in several processes
    compute once: the first takes a Redis lock (``SET NX PX`` with a token,
    expiring after ``lock_ttl``, renewed while the claiming thread runs, for at
    most ten ``lock_ttl``), the
    others wait up to ``lock_wait`` seconds for its value, then compute
    themselves; the decorators use it through ``claim`` and ``release``. A lock
    is released only by the thread that claimed it. ``claim`` waits by sleeping,
    so it refuses to run inside an event loop: use ``AsyncRedisCache`` there.

    Making one does not connect yet (needs the ``pmp-cache[redis]`` extra):

    >>> shared = RedisCache("redis://127.0.0.1:6379/0", namespace="app", ttl=300)
    >>> shared.namespace
    'app'

    Used with ``cache(backend=RedisCache(...))`` or on its own (needs a server)::

        shared = RedisCache("redis://localhost:6379/0", namespace="app", ttl=300)
        shared.set("user:1", {"name": "Ada"})
        shared.get("user:1")  # {'name': 'Ada'}
    """

    def _connect(self) -> None:
        settings = self._settings
        client: Any = settings.client
        self._owns_client = client is None
        if client is None:
            options = settings.client_options(asynchronous=False)
            client = settings.redis.Redis.from_url(settings.url, **options)
        self._client: Any = client
        self._keeper: threading.Thread | None = None
        self._keeper_lock = threading.Lock()

    @property
    def client(self) -> redis.Redis:
        """The redis-py client in use."""
        return self._client  # type: ignore[no-any-return]

    def _execute(self, step: Step) -> Any:
        if type(step) is tuple:
            return self._client.execute_command(*step)
        if type(step) is list:
            with self._client.pipeline(transaction=False) as pipe:
                for command in step:
                    pipe.execute_command(*command)
                return pipe.execute()
        _time.sleep(step)  # type: ignore[arg-type]
        return None

    def _run(self, steps: Steps[T]) -> T:
        try:
            return drive(steps, self._execute)
        finally:
            self._release_orphans()

    def _release_orphans(self) -> None:
        if self._protocol.locks.orphaned:  # interrupted (KeyboardInterrupt) holding a lock
            drive(self._protocol.release_orphans(), self._execute)

    def get(self, key: Any, default: Any = None) -> Any:
        """Return the value stored under ``key`` or ``default``.

        A payload that does not decode or verify is a miss (counted in
        ``stats()['rejected']``); an unreachable server is a miss counted in
        ``stats()['errors']`` (or ``CacheUnavailableError`` when strict).
        """
        value = self._tiers.read(key)
        if value is not ABSENT:  # counted as the local tier's own hit
            return value
        protocol = self._protocol
        text = protocol.get_text(key)
        if text is None:
            return default
        try:
            data = self._client.execute_command("GET", text)
        except protocol.redis_errors as exc:
            return protocol.get_failed(text, exc, default)
        finally:
            self._release_orphans()
        return protocol.got(key, text, data, default)

    def set(self, key: Any, value: Any, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds (``None``: the cache's ``ttl``).

        Raises ``ValidationError`` when the serializer cannot encode ``value``.
        Also releases this thread's lock on ``key`` (see ``lock=``).
        """
        self._run(self._protocol.set(key, value, ttl))

    def delete(self, key: Any) -> bool:
        """Remove ``key`` here and in Redis; report whether it was stored."""
        return self._run(self._protocol.delete(key))

    def clear(self) -> None:
        """Remove every key of this namespace and version (SCAN + UNLINK, never FLUSHDB)."""
        self._run(self._protocol.clear())

    def claim(self, key: Any, default: Any = None) -> Any:
        """Before computing a missing ``key``: with ``lock=True``, take its lock or wait.

        Returns ``default`` when the caller should compute (it took the lock,
        ``lock`` is off, the wait ran out or Redis failed) and the stored value
        when another process stored it while this one waited. ``set`` releases
        the lock; call ``release`` if the computation fails. Raises
        ``ConfigurationError`` inside a running event loop, which its waiting
        would block: use ``AsyncRedisCache`` there.
        """
        if self._settings.lock and _in_event_loop():
            raise ConfigurationError(
                "RedisCache(lock=True).claim would block the running event loop while it "
                "waits for another process's lock: use AsyncRedisCache with async_cache",
                config_key="lock",
            )
        protocol = self._protocol
        value = self._run(protocol.claim(key, default, threading.current_thread()))
        if protocol.locks.renewing:
            self._start_keeper()
        return value

    def release(self, key: Any) -> None:
        """Give up this thread's lock on ``key`` (after a failed computation)."""
        self._run(self._protocol.release(key))

    def _start_keeper(self) -> None:
        with self._keeper_lock:
            if self._keeper is None:
                self._keeper = threading.Thread(
                    target=self._keep, name="pmp-cache-redis-locks", daemon=True
                )
                self._keeper.start()

    def _keep(self) -> None:
        """Renew held locks every third of ``lock_ttl``; end when none is held."""
        protocol = self._protocol
        try:
            while True:
                _time.sleep(protocol.locks.renew_every)
                with self._keeper_lock:  # a claim checks for a keeper under this lock too
                    if not protocol.locks.renewing:
                        self._keeper = None
                        return
                try:
                    self._run(protocol.renew(_thread_state))
                except Exception:  # e.g. the client closed under it: try again next time
                    logger.debug("renewing Redis locks failed", exc_info=True)
        except BaseException:
            with self._keeper_lock:
                self._keeper = None  # the next claim starts another
            raise

    def close(self) -> None:
        """Close the connections of a client this cache created from ``url``."""
        if self._owns_client:
            self._client.close()


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True
