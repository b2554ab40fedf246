"""The Redis cache protocol without I/O: what to send, how long to wait, what a reply means.

Each operation is a generator of steps (see ``_redis_exchange``), as h11 and
httpcore's cores are: ``RedisCache`` and ``AsyncRedisCache`` only carry the
steps out; keys, payloads, the fail-open policy and the lock live here once.
``GET``, a single command on the hot path, is the exception: the drivers send
``("GET", get_text(key))`` and hand what came back to ``got`` or ``get_failed``.

The lock is ``SET lock token NX PX`` made idempotent in a script (a retried
acquire by the same token succeeds), released and renewed by compare-and-act
scripts, so a process never releases or extends a lock another one holds. A
token whose release could not be sent (the caller was cancelled mid-command)
is kept as an orphan for the driver to release at once.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from pmp_cache._keycodec import encode_key
from pmp_cache._redis_config import CacheUnavailableError, RedisCacheStats, RedisSettings
from pmp_cache._redis_lock import LockBook, claimant, current_owner
from pmp_cache._redis_tiers import ABSENT, LocalTiers
from pmp_cache._validate import check_ttl

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_cache._redis_exchange import Command, Steps

__all__ = ["RedisProtocol"]

logger = logging.getLogger("pmp_cache.redis")


_SCAN_COUNT = 500
_POLL_FIRST, _POLL_MAX = 0.002, 0.05


class RedisProtocol:
    """Keys, payloads, counters, the fail-open policy and the lock's steps, for one cache."""

    def __init__(self, settings: RedisSettings, tiers: LocalTiers) -> None:
        self.settings = settings
        self.tiers = tiers
        self.redis_errors: tuple[type[BaseException], ...] = (settings.redis.RedisError, OSError)
        self.prefix = f"{settings.namespace}:v{settings.version}:"
        self.lock_prefix = f"{settings.namespace}:v{settings.version}|lock:"
        self.clock: Callable[[], float] = time.monotonic
        self._dumps = settings.serializer.dumps
        self._loads = settings.serializer.loads
        self._down_until = 0.0
        self._healthy = True
        self.locks = LockBook(self.prefix, self.lock_prefix, settings.lock_ttl)
        # Hits served by Redis; the local tiers count their own (read by stats()).
        self.hits = self.misses = self.errors = self.rejected = 0

    # -- keys, payloads, counters -------------------------------------------------------

    def key_text(self, key: Any) -> str:
        """The Redis key of ``key``: the prefix, then the canonical text of the key."""
        return self.prefix + encode_key(key)

    def lock_text(self, key_text: str) -> str:
        """The Redis key of the lock on ``key_text``."""
        return self.locks.lock_text(key_text)

    def ttl_ms(self, ttl: float | None) -> int | None:
        """``ttl`` (``None``: the cache's) in whole milliseconds, at least 1."""
        seconds = self.settings.ttl if ttl is None else check_ttl(ttl)
        return None if seconds is None else max(1, round(seconds * 1000))

    def decode(self, key_text: str, data: bytes) -> Any:
        """The value in a stored payload, counted as a hit; ``ABSENT`` (a rejected miss)."""
        try:
            value = self._loads(data)
        except Exception as exc:  # noqa: BLE001 - any undecodable payload is a miss
            self.rejected += 1
            self.misses += 1
            logger.warning("rejected the payload stored under %r: %s", key_text, exc)
            return ABSENT
        self.hits += 1
        return value

    def stats(self) -> RedisCacheStats:
        """The counters of Redis and of the local tiers together."""
        tiers = self.tiers.stats()
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

    # -- failures -----------------------------------------------------------------------

    def skip(self, operation: str) -> bool:
        """Whether Redis is resting after a failure (fail-open only): count it and skip."""
        if self._down_until and not self.settings.strict:
            if self.clock() < self._down_until:
                self.errors += 1
                if self.settings.on_error is not None:
                    self._report(operation, None)
                return True
            self._down_until = 0.0
        return False

    def failed(
        self, operation: str, key_text: str, exc: BaseException, *, raising: bool = True
    ) -> None:
        """Count, report and log a failed command; raise ``CacheUnavailableError`` when strict."""
        self.errors += 1
        settings = self.settings
        if settings.retry_interval:
            self._down_until = self.clock() + settings.retry_interval
        if self._healthy:
            self._healthy = False
            logger.warning(
                "Redis %s %r failed (%s: %s); %s",
                operation,
                key_text,
                type(exc).__name__,
                exc,
                "raising (strict)" if settings.strict else "serving without the shared cache",
            )
        else:
            logger.debug("Redis %s %r failed again: %s", operation, key_text, exc)
        if settings.on_error is not None:
            self._report(operation, exc)
        if settings.strict and raising:
            raise CacheUnavailableError(
                f"Redis {operation} failed: {type(exc).__name__}: {exc}",
                operation=operation,
                key=key_text,
            ) from exc

    def _report(self, operation: str, exc: BaseException | None) -> None:
        """Call ``on_error``; a hook that fails is logged, never breaks the fail-open call."""
        try:
            self.settings.on_error(operation, exc)  # type: ignore[misc]
        except Exception:
            logger.exception("the on_error hook of a Redis cache failed")

    def succeeded(self) -> None:
        """After a command that reached Redis: note the recovery once."""
        if not self._healthy:
            self._healthy = True
            logger.info("Redis is reachable again; caching resumed")

    # -- operations ---------------------------------------------------------------------

    # ``GET`` is one command, so it is not a generator: a driver sends ``("GET", get_text(key))``
    # itself and hands the reply to ``got`` (or the error to ``get_failed``), which spares a
    # hit that reaches Redis the exchange of steps.

    def get_text(self, key: Any) -> str | None:
        """The Redis key to ``GET`` for ``key``; ``None`` while Redis rests (a counted miss)."""
        text = self.prefix + encode_key(key)
        if self._down_until and self.skip("GET"):
            self.misses += 1
            return None
        return text

    def got(self, key: Any, key_text: str, data: bytes | None, default: Any) -> Any:
        """What a ``GET`` reply means: the stored value (kept in the local tier) or ``default``."""
        if not self._healthy:
            self.succeeded()
        if data is None:
            self.misses += 1
            return default
        value = self.decode(key_text, data)
        if value is ABSENT:
            return default
        if self.tiers.local is not None:
            self.tiers.keep(key, value, None)
        return value

    def get_failed(self, key_text: str, exc: BaseException, default: Any) -> Any:
        """A ``GET`` that raised one of ``redis_errors``: a miss (``failed`` raises when strict)."""
        self.misses += 1
        self.failed("GET", key_text, exc)
        return default

    def set(self, key: Any, value: Any, ttl: float | None) -> Steps[None]:
        """``SET`` with ``PX``, releasing the caller's lock on ``key`` in the same round trip."""
        owner = current_owner()
        data = self._dumps(value)
        text = self.key_text(key)
        px = self.ttl_ms(ttl)
        self.tiers.keep(key, value, self.settings.ttl if ttl is None else ttl)
        locks = self.locks
        token = locks.end(text, owner)
        if self.skip("SET"):
            return
        command: Command = ("SET", text, data) if px is None else ("SET", text, data, "PX", px)
        try:
            yield command if token is None else [command, locks.release(text, token)]
        except self.redis_errors as exc:
            self.failed("SET", text, exc)
        except BaseException:
            locks.orphan(text, token)
            raise
        else:
            self.succeeded()

    def delete(self, key: Any) -> Steps[bool]:
        """``DEL`` here and in Redis: whether either held ``key``."""
        removed = self.tiers.drop(key)
        text = self.key_text(key)
        if self.skip("DEL"):
            return removed
        try:
            count = yield ("DEL", text)
        except self.redis_errors as exc:
            self.failed("DEL", text, exc)
            return removed
        self.succeeded()
        return bool(count) or removed

    def clear(self) -> Steps[None]:
        """``SCAN`` this namespace and version and ``UNLINK`` what it finds (never ``FLUSHDB``)."""
        self.tiers.clear()
        pattern = self.prefix + "*"
        if self.skip("SCAN"):
            return
        cursor = 0
        try:
            while True:
                cursor, names = yield ("SCAN", cursor, "MATCH", pattern, "COUNT", _SCAN_COUNT)
                if names:
                    yield ("UNLINK", *names)
                if not cursor:
                    break
        except self.redis_errors as exc:
            self.failed("SCAN", pattern, exc)
        else:
            self.succeeded()

    # -- the lock -----------------------------------------------------------------------

    def claim(self, key: Any, default: Any, anchor: object) -> Steps[Any]:
        """Take the lock on ``key`` for ``anchor`` (``default``) or wait for its value.

        Returns ``default`` when the caller should compute: it holds the lock,
        ``lock`` is off, the wait ran out or Redis failed.
        """
        if not self.settings.lock:
            return default
        owner = claimant(anchor)
        locks = self.locks
        text = self.key_text(key)
        token = locks.token(text, owner)
        deadline = self.clock() + self.settings.lock_wait
        pause = _POLL_FIRST
        read_value = True
        while not self.skip("LOCK"):
            locks.hold(text, owner, token)  # at stake from the moment the command is sent
            try:
                data, taken = yield locks.acquire(text, token, read_value=read_value)
            except self.redis_errors as exc:
                # Unreachable: its lock, if the command ran, expires after lock_ttl.
                locks.end(text, owner)
                self.failed("LOCK", locks.lock_text(text), exc)
                break
            except BaseException:
                # Interrupted (cancelled): the driver releases it at once.
                locks.end(text, owner)
                locks.orphan(text, token)
                raise
            self.succeeded()
            if taken:
                locks.renew_until(text, owner, self.clock())
                return default
            locks.end(text, owner)
            if data is not None:
                value = self.decode(text, data)
                if value is not ABSENT:
                    self.tiers.keep(key, value, self.settings.ttl)
                    return value
                read_value = False  # a payload this cache rejects: lock, compute over it
                continue
            remaining = deadline - self.clock()
            if remaining <= 0:
                break
            yield min(pause, remaining)
            pause = min(pause * 2, _POLL_MAX)
        return default

    def release(self, key: Any) -> Steps[None]:
        """Release the caller's lock on ``key`` if it still holds it (else nothing to send)."""
        text = self.key_text(key)
        token = self.locks.end(text, current_owner())
        if token is None:
            return
        try:
            yield self.locks.release(text, token)
        except self.redis_errors as exc:
            self.failed("UNLOCK", text, exc)
        except BaseException:
            self.locks.orphan(text, token)
            raise

    def renew(self, state: Callable[[Any], bool | None]) -> Steps[bool]:
        """Extend the locks of live owners, release those of dead ones; whether any remains.

        ``state(anchor)`` is ``True`` for a claiming thread or task still running,
        ``False`` for one that ended, ``None`` for one another driver (event loop)
        looks after. A lock is renewed for at most ten ``lock_ttl`` (then left to
        expire), so a claim never ended by ``set`` or ``release`` cannot hold a
        key forever.
        """
        commands = self.locks.renewals(state, self.clock())
        if commands:
            try:
                yield commands
            except self.redis_errors as exc:
                self.failed("RENEW", self.lock_prefix + "*", exc, raising=False)
        return self.locks.renewing

    def release_orphans(self) -> Steps[None]:
        """Release the locks left by calls interrupted mid-command (best effort)."""
        commands = self.locks.orphan_releases()
        if commands:
            try:
                yield commands
            except self.redis_errors as exc:  # they expire after lock_ttl
                logger.debug("could not release %d interrupted locks: %s", len(commands), exc)
