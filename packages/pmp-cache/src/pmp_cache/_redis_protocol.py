"""The Redis cache protocol without I/O: what to send, how long to wait, what a reply means.

Each operation is a generator of steps (see ``_redis_exchange``), as h11 and
httpcore's cores are: ``RedisCache`` and ``AsyncRedisCache`` only carry the
steps out; keys, payloads, the fail-open policy and the lock live here once.

The lock is ``SET lock token NX PX`` made idempotent in a script (a retried
acquire by the same token succeeds), released and renewed by compare-and-act
scripts, so a process never releases or extends a lock another one holds. A
token whose release could not be sent (the caller was cancelled mid-command)
is kept as an orphan for the driver to release at once.
"""

from __future__ import annotations

import logging
import time
import uuid
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from pmp_cache._keycodec import encode_key
from pmp_cache._redis_config import CacheUnavailableError, RedisCacheStats, RedisSettings
from pmp_cache._redis_tiers import ABSENT, LocalTiers
from pmp_cache._validate import check_ttl

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_cache._redis_exchange import Command, Steps

__all__ = ["RedisProtocol"]

logger = logging.getLogger("pmp_cache.redis")


# KEYS: value, lock. ARGV: token, px, "1" to return a stored value instead of locking.
_ACQUIRE = """
if ARGV[3] == '1' then
  local value = redis.call('get', KEYS[1])
  if value then return {value, 0} end
end
local holder = redis.call('get', KEYS[2])
if holder == ARGV[1] then
  redis.call('pexpire', KEYS[2], ARGV[2])
  return {false, 1}
end
if holder then return {false, 0} end
redis.call('set', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {false, 1}
"""
_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""
_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""
_SCAN_COUNT = 500
_POLL_FIRST, _POLL_MAX = 0.002, 0.05
_RENEW_AT_MOST = 10  # times lock_ttl


class _Owner:
    """Who holds a lock: the thread or task that claimed it, and the work it starts.

    Kept in a context variable, so a task made by the claiming task after the
    claim (``asyncio.wait_for`` on 3.10/3.11, ``gather``, ``create_task``) ends
    the claim as the claimer would; another thread or task never does.
    """

    __slots__ = ("anchor",)

    def __init__(self, anchor: object) -> None:
        self.anchor = anchor


_OWNER: ContextVar[_Owner | None] = ContextVar("pmp_cache_redis_lock_owner", default=None)


def _claimant(anchor: object) -> _Owner:
    """The owner for a claim made by ``anchor`` (the current thread or task)."""
    owner = _OWNER.get()
    if owner is None or owner.anchor is not anchor:
        owner = _Owner(anchor)
        _OWNER.set(owner)
    return owner


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
        self._lock_px = max(1, round(settings.lock_ttl * 1000))
        self._down_until = 0.0
        self._healthy = True
        # Locks this process holds, by (key text, owner).
        self._held: dict[tuple[str, _Owner | None], str] = {}
        # The held locks still renewed, each until a deadline (a forgotten claim ends).
        self._renewing: dict[tuple[str, _Owner | None], float] = {}
        self._orphans: list[tuple[str, str]] = []
        # Hits served by Redis; the local tiers count their own (read by stats()).
        self.hits = self.misses = self.errors = self.rejected = 0

    # -- keys, payloads, counters -------------------------------------------------------

    def key_text(self, key: Any) -> str:
        """The Redis key of ``key``: the prefix, then the canonical text of the key."""
        return self.prefix + encode_key(key)

    def lock_text(self, key_text: str) -> str:
        """The Redis key of the lock on ``key_text``."""
        return self.lock_prefix + key_text[len(self.prefix) :]

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

    def get(self, key: Any, default: Any) -> Steps[Any]:
        """``GET``: the stored value (kept in the local tier) or ``default``."""
        text = self.prefix + encode_key(key)
        if self._down_until and self.skip("GET"):
            self.misses += 1
            return default
        try:
            data = yield ("GET", text)
        except self.redis_errors as exc:
            self.misses += 1
            self.failed("GET", text, exc)
            return default
        if not self._healthy:
            self.succeeded()
        if data is None:
            self.misses += 1
            return default
        value = self.decode(text, data)
        if value is ABSENT:
            return default
        if self.tiers.local is not None:
            self.tiers.keep(key, value, None)
        return value

    def set(self, key: Any, value: Any, ttl: float | None) -> Steps[None]:
        """``SET`` with ``PX``, releasing the caller's lock on ``key`` in the same round trip."""
        owner = _OWNER.get()
        data = self._dumps(value)
        text = self.key_text(key)
        px = self.ttl_ms(ttl)
        self.tiers.keep(key, value, self.settings.ttl if ttl is None else ttl)
        token = self._end_claim(text, owner)
        if self.skip("SET"):
            return
        command: Command = ("SET", text, data) if px is None else ("SET", text, data, "PX", px)
        try:
            yield command if token is None else [command, self._release(text, token)]
        except self.redis_errors as exc:
            self.failed("SET", text, exc)
        except BaseException:
            self._orphan(text, token)
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
        owner = _claimant(anchor)
        text = self.key_text(key)
        lock_text = self.lock_text(text)
        held = (text, owner)
        token = self._held.get(held) or uuid.uuid4().hex
        deadline = self.clock() + self.settings.lock_wait
        pause = _POLL_FIRST
        read = "1"
        while not self.skip("LOCK"):
            self._held[held] = token  # at stake from the moment the command is sent
            try:
                data, taken = yield (
                    "EVAL",
                    _ACQUIRE,
                    2,
                    text,
                    lock_text,
                    token,
                    self._lock_px,
                    read,
                )
            except self.redis_errors as exc:
                self._end_claim(
                    text, owner
                )  # unreachable: its lock, if taken, expires after lock_ttl
                self.failed("LOCK", lock_text, exc)
                break
            except BaseException:
                self._end_claim(text, owner)  # interrupted: the driver releases it at once
                self._orphan(text, token)
                raise
            self.succeeded()
            if taken:
                renew_for = _RENEW_AT_MOST * self.settings.lock_ttl
                self._renewing[held] = self.clock() + renew_for
                return default
            self._end_claim(text, owner)
            if data is not None:
                value = self.decode(text, data)
                if value is not ABSENT:
                    self.tiers.keep(key, value, self.settings.ttl)
                    return value
                read = "0"  # a payload this cache rejects: lock and compute over it
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
        token = self._end_claim(text, _OWNER.get())
        if token is None:
            return
        try:
            yield self._release(text, token)
        except self.redis_errors as exc:
            self.failed("UNLOCK", text, exc)
        except BaseException:
            self._orphan(text, token)
            raise

    @property
    def has_locks(self) -> bool:
        """Whether a lock held here is still renewed (its claim not yet ended)."""
        return bool(self._renewing)

    def renew(self, state: Callable[[Any], bool | None]) -> Steps[bool]:
        """Extend the locks of live owners, release those of dead ones; whether any remains.

        ``state(anchor)`` is ``True`` for a claiming thread or task still running,
        ``False`` for one that ended, ``None`` for one another driver (event loop)
        looks after. A
        lock is renewed for at most ten ``lock_ttl`` (then left to expire), so a
        claim never ended by ``set`` or ``release`` cannot hold a key forever.
        """
        commands: list[Command] = []
        now = self.clock()
        for held, until in list(self._renewing.items()):
            alive = None if held[1] is None else state(held[1].anchor)
            if alive is None:
                continue
            text, token = held[0], self._held.get(held)
            if token is None or not alive or now > until:
                self._renewing.pop(held, None)
            if token is not None and not alive:
                self._held.pop(held, None)
                commands.append(self._release(text, token))
            elif token is not None and now <= until:
                commands.append(("EVAL", _RENEW, 1, self.lock_text(text), token, self._lock_px))
        if commands:
            try:
                yield commands
            except self.redis_errors as exc:
                self.failed("RENEW", self.lock_prefix + "*", exc, raising=False)
        return bool(self._renewing)

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: a third of ``lock_ttl``."""
        return self.settings.lock_ttl / 3

    @property
    def orphaned(self) -> bool:
        """Whether some lock could not be released by the call that held it."""
        return bool(self._orphans)

    def release_orphans(self) -> Steps[None]:
        """Release the locks left by calls interrupted mid-command (best effort)."""
        commands: list[Command] = []
        while self._orphans:
            text, token = self._orphans.pop()
            commands.append(self._release(text, token))
        if commands:
            try:
                yield commands
            except self.redis_errors as exc:  # they expire after lock_ttl
                logger.debug("could not release %d interrupted locks: %s", len(commands), exc)

    def _end_claim(self, text: str, owner: _Owner | None) -> str | None:
        self._renewing.pop((text, owner), None)
        return self._held.pop((text, owner), None)

    def _release(self, text: str, token: str) -> Command:
        return ("EVAL", _RELEASE, 1, self.lock_text(text), token)

    def _orphan(self, text: str | None, token: str | None) -> None:
        if text and token is not None:
            self._orphans.append((text, token))
