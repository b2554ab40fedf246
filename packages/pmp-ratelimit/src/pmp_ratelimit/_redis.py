"""Redis stores (``pmp-ratelimit[redis]``): one EVALSHA per decision, sync and async drivers.

Both drivers run the script of ``_script.py``: EVALSHA, and EVAL once when the server answers
NOSCRIPT (after a restart, say), which loads the script again. A connection error or timeout
is an outage, handled by the ``on_outage`` policy; redis-py reconnects on the next call, so the
limiter recovers by itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pmp_errors import ConfigurationError
from pmp_ratelimit._script import GCRA_LUA, GCRA_SHA, OutagePolicy, ScriptProtocol

if TYPE_CHECKING:
    from pmp_ratelimit._gcra import Decision, Policy

__all__ = ["AsyncRedisStore", "RedisStore"]

_PREFIX = "pmp-ratelimit:"


def _redis_errors() -> tuple[type[Exception], type[Exception], tuple[type[Exception], ...]]:
    """redis-py's NoScriptError, ResponseError and outage errors; a clear error without it."""
    try:
        from redis import exceptions
    except ImportError:
        msg = "the Redis store needs redis-py: pip install 'pmp-ratelimit[redis]'"
        raise ConfigurationError(msg, config_key="pmp-ratelimit[redis]") from None
    outages = (exceptions.ConnectionError, exceptions.TimeoutError, OSError)
    return exceptions.NoScriptError, exceptions.ResponseError, outages


class _RedisStoreBase:
    __slots__ = ("_no_script", "_outages", "_protocol", "client")

    ticks_per_second = 1_000_000  # the script works in the server's microseconds

    def __init__(self, client: Any, prefix: str, on_outage: OutagePolicy) -> None:
        self._no_script, _, self._outages = _redis_errors()
        self._protocol = ScriptProtocol(prefix, on_outage)
        self.client = client

    @property
    def errors(self) -> int:
        """How many decisions met an outage and were taken by the outage policy."""
        return self._protocol.errors

    @property
    def on_outage(self) -> OutagePolicy:
        """``"open"`` (allow while Redis is unreachable) or ``"closed"`` (refuse)."""
        return self._protocol.on_outage

    @property
    def prefix(self) -> str:
        """The start of every Redis key this store writes."""
        return self._protocol.prefix


class RedisStore(_RedisStoreBase):
    """Rate-limit state in Redis, shared by every process and machine that uses the server.

    ``client`` is a ``redis.Redis`` or a URL. Each decision is one atomic script run on the
    server's clock. While Redis is unreachable, ``on_outage="open"`` allows requests and counts
    the errors (``errors``); ``"closed"`` refuses them with ``retry_after`` of one interval of
    the slowest rate.

    >>> from pmp_ratelimit import RateLimiter, RedisStore
    >>> store = RedisStore("redis://127.0.0.1:6379/0", on_outage="open")  # doctest: +SKIP
    >>> limiter = RateLimiter("100/minute", store=store)  # doctest: +SKIP
    """

    __slots__ = ()

    def __init__(
        self, client: Any, *, prefix: str = _PREFIX, on_outage: OutagePolicy = "open"
    ) -> None:
        if isinstance(client, str):
            _redis_errors()
            import redis

            client = redis.Redis.from_url(client)
        super().__init__(client, prefix, on_outage)

    def decide(self, policy: Policy, key: str, cost: int) -> Decision:
        """Decide one request in Redis, counting it when allowed."""
        protocol = self._protocol
        args = protocol.args(policy, cost)
        name = protocol.key(policy, key)
        try:
            try:
                reply = self.client.evalsha(GCRA_SHA, 1, name, *args)
            except self._no_script:
                reply = self.client.eval(GCRA_LUA, 1, name, *args)
        except self._outages as error:
            return protocol.outage(policy, error)
        return protocol.decision(policy, reply)

    def admit(self, policy: Policy, key: str, cost: int) -> Decision | None:
        """Count an allowed request and return None, or return the refusal."""
        decision = self.decide(policy, key, cost)
        return None if decision.allowed else decision

    def close(self) -> None:
        """Close the client's connections."""
        self.client.close()


class AsyncRedisStore(_RedisStoreBase):
    """``RedisStore`` for asyncio: ``client`` is a ``redis.asyncio.Redis`` or a URL.

    >>> from pmp_ratelimit import AsyncRateLimiter, AsyncRedisStore
    >>> store = AsyncRedisStore("redis://127.0.0.1:6379/0")  # doctest: +SKIP
    >>> limiter = AsyncRateLimiter("100/minute", store=store)  # doctest: +SKIP
    """

    __slots__ = ()

    def __init__(
        self, client: Any, *, prefix: str = _PREFIX, on_outage: OutagePolicy = "open"
    ) -> None:
        if isinstance(client, str):
            _redis_errors()
            import redis.asyncio

            client = redis.asyncio.Redis.from_url(client)
        super().__init__(client, prefix, on_outage)

    async def decide(self, policy: Policy, key: str, cost: int) -> Decision:
        """Decide one request in Redis, counting it when allowed."""
        protocol = self._protocol
        args = protocol.args(policy, cost)
        name = protocol.key(policy, key)
        try:
            try:
                reply = await self.client.evalsha(GCRA_SHA, 1, name, *args)
            except self._no_script:
                reply = await self.client.eval(GCRA_LUA, 1, name, *args)
        except self._outages as error:
            return protocol.outage(policy, error)
        return protocol.decision(policy, reply)

    async def admit(self, policy: Policy, key: str, cost: int) -> Decision | None:
        """Count an allowed request and return None, or return the refusal."""
        decision = await self.decide(policy, key, cost)
        return None if decision.allowed else decision

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()
