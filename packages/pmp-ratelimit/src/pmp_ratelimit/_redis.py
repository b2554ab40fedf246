"""Redis stores (``pmp-ratelimit[redis]``): one EVALSHA per decision, sync and async drivers.

Both drivers run the script of ``_script.py``: EVALSHA, and EVAL once when the server answers
NOSCRIPT (after a restart, say), which loads the script again. A connection error or timeout
is an outage, handled by the ``on_outage`` policy; redis-py reconnects on the next call, so the
limiter recovers by itself.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, ClassVar

from pmp_errors import ConfigurationError, ValidationError
from pmp_ratelimit._script import OutagePolicy, ScriptProtocol, script_for

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pmp_ratelimit._gcra import Decision, Policy

__all__ = ["AsyncRedisStore", "RedisStore"]

_PREFIX = "pmp-ratelimit:"
_LONGEST = 2**52  # microseconds: with the server's time added, Lua's doubles stay exact


def _redis_errors() -> tuple[
    type[Exception], type[Exception], tuple[type[Exception], ...], tuple[type[Exception], ...]
]:
    """redis-py's NoScriptError, ResponseError, outage errors and full-pool error (if it has one).

    A full connection pool (``MaxConnectionsError``, a ``ConnectionError``) is the client's own
    limit, not an outage: it reaches the caller, so that ``on_outage="open"`` never lets a
    crowd of concurrent calls past the limit (see ``_pool_empty``). Without redis-py, a clear
    error naming the extra.
    """
    try:
        from redis import exceptions
    except ImportError:
        msg = "the Redis store needs redis-py: pip install 'pmp-ratelimit[redis]'"
        raise ConfigurationError(msg, config_key="pmp-ratelimit[redis]") from None
    outages = (exceptions.ConnectionError, exceptions.TimeoutError, OSError)
    full = getattr(exceptions, "MaxConnectionsError", None)
    pool_full: tuple[type[Exception], ...] = () if full is None else (full,)
    return exceptions.NoScriptError, exceptions.ResponseError, outages, pool_full


# what redis-py's pools say, in a plain ConnectionError, when they have no connection to give:
# a BlockingConnectionPool past its timeout, and a full ConnectionPool before MaxConnectionsError
_POOL_EMPTY = frozenset({"No connection available.", "Too many connections"})


def _pool_empty(error: Exception, pool_full: tuple[type[Exception], ...]) -> bool:
    """True when *error* is the client's pool out of connections, which is never an outage."""
    return isinstance(error, pool_full) or str(error) in _POOL_EMPTY


class _RedisStoreBase:
    __slots__ = ("_no_script", "_outages", "_pool_full", "_protocol", "_refused", "client")

    ticks_per_second = 1_000_000  # the script works in the server's microseconds
    _awaited: ClassVar[bool] = False  # whether the client's calls are awaited
    _twin: ClassVar[str] = "AsyncRedisStore"  # the store for the other kind of client

    def __init__(
        self, client: Any, *, prefix: str = _PREFIX, on_outage: OutagePolicy = "open"
    ) -> None:
        self._no_script, self._refused, self._outages, self._pool_full = _redis_errors()
        self._protocol = ScriptProtocol(prefix, on_outage)
        self.client = self._client(client)

    @staticmethod
    def _connect(url: str) -> Any:
        raise NotImplementedError

    @classmethod
    def _client(cls, client: Any) -> Any:
        """*client*, or a client for the URL *client*: refused now if it could never work."""
        name = cls.__name__
        if isinstance(client, str):
            try:
                return cls._connect(client)
            except ValueError as error:  # redis-py's word on a URL it cannot read
                msg = f"{name} cannot use the URL {client!r}: {error}"
                raise ConfigurationError(msg, config_key="client") from None
        execute = getattr(client, "execute_command", None)
        if not callable(execute) or not callable(getattr(client, "evalsha", None)):
            msg = f"{name} needs a redis-py client or a URL ('redis://host:6379/0'), got {client!r}"
            raise ConfigurationError(msg, config_key="client")
        if inspect.iscoroutinefunction(execute) is not cls._awaited:
            kind = "an asyncio" if not cls._awaited else "a blocking"
            msg = f"{name} cannot use {kind} client ({client!r}); use {cls._twin} with it"
            raise ConfigurationError(msg, config_key="client")
        return client

    def _script(self, policy: Policy) -> tuple[str, tuple[bytes, ...], str, str]:
        """The key prefix, the ARGV of a full answer at cost 1, the Lua source and its SHA1."""
        for rate, window in zip(policy.rates, policy.windows, strict=True):
            if window > _LONGEST:
                msg = (
                    f"rate {rate} is too long for Redis, whose scripts count in doubles: "
                    f"at most {_LONGEST // 1_000_000 // 86400 // 365} years per period"
                )
                raise ValidationError(msg, field="rate", value=str(rate))
        lua, sha = script_for(policy)
        return self._protocol.key_prefix(policy), self._protocol.args(1), lua, sha

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

    @staticmethod
    def _connect(url: str) -> Any:
        import redis

        return redis.Redis.from_url(url)

    def bind(
        self, policy: Policy
    ) -> tuple[Callable[[str, int], Decision | None], Callable[[str, int], Decision]]:
        """The limiter's ``admit`` and ``decide`` for *policy*: one EVALSHA each."""
        protocol, client, no_script, refused, outages, pool_full = (
            self._protocol, self.client, self._no_script, self._refused, self._outages,
            self._pool_full,
        )  # fmt: skip
        prefix, full_one, lua, sha = self._script(policy)
        evalsha, outage = client.evalsha, protocol.outage

        def run(key: str, args: tuple[bytes, ...]) -> Any:
            name = prefix + key if key.isascii() else protocol.name(prefix + key)
            try:
                try:
                    return evalsha(sha, 1, name, *args)
                except no_script:
                    return client.eval(lua, 1, name, *args)
            except outages as error:
                if _pool_empty(error, pool_full):
                    raise  # the client's own limit: not an outage
                return outage(policy, error)
            except refused as error:
                raise protocol.server_error(prefix + key, error) from None

        def decide(key: str, cost: int) -> Decision:
            args = full_one if cost == 1 else protocol.args(cost)
            return protocol.decision(policy, run(key, args))

        def admit(key: str, cost: int) -> Decision | None:
            args = () if cost == 1 else protocol.args(cost)  # none: a bare 1 when allowed
            return protocol.refusal(policy, run(key, args))

        return admit, decide

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
    _awaited = True
    _twin = "RedisStore"

    @staticmethod
    def _connect(url: str) -> Any:
        import redis.asyncio

        return redis.asyncio.Redis.from_url(url)

    def bind(
        self, policy: Policy
    ) -> tuple[
        Callable[[str, int], Awaitable[Decision | None]], Callable[[str, int], Awaitable[Decision]]
    ]:
        """The limiter's ``admit`` and ``decide`` for *policy*: one EVALSHA each, awaited."""
        protocol, client, no_script, refused, outages, pool_full = (
            self._protocol, self.client, self._no_script, self._refused, self._outages,
            self._pool_full,
        )  # fmt: skip
        prefix, full_one, lua, sha = self._script(policy)
        evalsha, outage = client.evalsha, protocol.outage

        async def run(key: str, args: tuple[bytes, ...]) -> Any:
            name = prefix + key if key.isascii() else protocol.name(prefix + key)
            try:
                try:
                    return await evalsha(sha, 1, name, *args)
                except no_script:
                    return await client.eval(lua, 1, name, *args)
            except outages as error:
                if _pool_empty(error, pool_full):
                    raise  # the client's own limit: not an outage
                return outage(policy, error)
            except refused as error:
                raise protocol.server_error(prefix + key, error) from None

        async def decide(key: str, cost: int) -> Decision:
            args = full_one if cost == 1 else protocol.args(cost)
            return protocol.decision(policy, await run(key, args))

        async def admit(key: str, cost: int) -> Decision | None:
            args = () if cost == 1 else protocol.args(cost)  # none: a bare 1 when allowed
            return protocol.refusal(policy, await run(key, args))

        return admit, decide

    async def aclose(self) -> None:
        """Close the client's connections."""
        await self.client.aclose()
