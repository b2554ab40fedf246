"""``RateLimiter`` and ``AsyncRateLimiter``: thin drivers over a store's GCRA decision."""

from __future__ import annotations

import asyncio
import functools
import inspect
import operator
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

from pmp_errors import ConfigurationError, RateLimitError, ValidationError
from pmp_ratelimit._gcra import Decision, Policy
from pmp_ratelimit._memory import MemoryStore
from pmp_ratelimit._rate import Rate, RateLike, is_seconds, parse_rates

__all__ = ["AsyncRateLimiter", "AsyncStore", "RateLimiter", "Store", "next_pause"]


Admit = Callable[[str, int], Decision | None]
Decide = Callable[[str, int], Decision]


@runtime_checkable
class Store(Protocol):
    """Where a limiter keeps its state and takes its decisions (``MemoryStore``, ``RedisStore``).

    ``bind(policy)`` returns the limiter's two calls, ``admit(key, cost)`` (None when allowed
    and counted, else the refusal) and ``decide(key, cost)`` (always the ``Decision``).

    >>> from pmp_ratelimit import MemoryStore
    >>> isinstance(MemoryStore(), Store)
    True
    """

    @property
    def ticks_per_second(self) -> int:
        """The resolution of the store's clock."""

    def bind(self, policy: Policy) -> tuple[Admit, Decide]:
        """The limiter's ``admit`` and ``decide`` for *policy*."""


@runtime_checkable
class AsyncStore(Protocol):
    """A store whose decisions are awaited (``AsyncRedisStore``).

    >>> from pmp_ratelimit import AsyncRateLimiter, AsyncRedisStore
    >>> store = AsyncRedisStore("redis://127.0.0.1:6379/0")  # doctest: +SKIP
    >>> isinstance(store, AsyncStore)  # doctest: +SKIP
    True
    """

    @property
    def ticks_per_second(self) -> int:
        """The resolution of the store's clock."""

    def bind(
        self, policy: Policy
    ) -> tuple[
        Callable[[str, int], Awaitable[Decision | None]], Callable[[str, int], Awaitable[Decision]]
    ]:
        """The limiter's ``admit`` and ``decide`` for *policy*, both awaited."""


def _check_wait(wait: float) -> None:
    if not is_seconds(wait):
        msg = f"wait must be a finite number of seconds >= 0, got {wait!r}"
        raise ValidationError(msg, field="wait", value=wait)


def _check_store(store: object, example: str) -> None:
    """Refuse anything but a store instance (a URL, a class, ...) with a clear error."""
    if isinstance(store, type) or not isinstance(store, Store):
        msg = f"store must be a store such as MemoryStore() or {example}(url), got {store!r}"
        raise ConfigurationError(msg, config_key="store")


def check_key(key: object) -> str:
    """*key* as a plain str (a subclass's text alone), else raise ValidationError saying so.

    A subclass of str is limited as its text, whatever its ``__hash__`` or ``__eq__`` say, as
    it is in Redis: ``str.__str__`` copies that text into a plain str.
    """
    if type(key) is str:
        return key
    if isinstance(key, str):
        return str.__str__(key)
    msg = f"a rate-limit key must be a str (e.g. a user id or an IP address), got {key!r}"
    raise ValidationError(msg, field="key", value=key)


def next_pause(refusal: Decision, key: str, spent: float, wait: float) -> float:
    """Seconds to sleep before asking again, or raise ``RateLimitError`` past the budget."""
    if spent + refusal.retry_after > wait:
        msg = (
            f"rate limit of {refusal.limit} exceeded for key {key!r}; "
            f"retry after {refusal.retry_after:.3f} s"
        )
        raise RateLimitError(msg, retry_after=refusal.retry_after, limit=refusal.limit, key=key)
    return refusal.retry_after


class _Limiter:
    __slots__ = ("_policy", "rates")

    def __init__(self, rates: tuple[RateLike, ...], ticks_per_second: int) -> None:
        self.rates: tuple[Rate, ...] = parse_rates(rates)
        self._policy = Policy(self.rates, ticks_per_second)

    def check_request(self, key: object, cost: int = 1, *, wait: float = 0.0) -> None:
        """Raise ``ValidationError`` if ``acquire(key, cost, wait=wait)`` would refuse the input.

        >>> RateLimiter("5/second").check_request("alice", 6)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pmp_errors._core.ValidationError: cost 6 exceeds the limit 5: ...
        """
        self._checked(key, cost, wait)

    def _checked(self, key: object, cost: int, wait: float) -> tuple[str, int]:
        """The key as a plain str and the cost as a plain int, once the request is checked.

        A cost of an int subclass (an int-valued enum, say) counts as its value everywhere:
        the Redis stores send ``str(cost)``, which such a class may spell otherwise.
        """
        text = check_key(key)
        if type(cost) is not int or cost != 1:
            self._policy.check_cost(cost)
            cost = operator.index(cost)
        if type(wait) is not float or wait:
            _check_wait(wait)
        return text, cost

    def __repr__(self) -> str:
        rates = ", ".join(repr(str(rate)) for rate in self.rates)
        return f"{type(self).__name__}({rates})"


class RateLimiter(_Limiter):
    """GCRA rate limits per key, decided in this process or in Redis for many processes.

    Rates are ``Rate`` objects or strings (``"100/minute"``); with several, a request must pass
    all of them. ``acquire`` raises ``pmp_errors.RateLimitError`` (with ``retry_after`` and
    ``limit``) or, given ``wait=``, sleeps up to that many seconds for its turn; ``try_acquire``
    returns a ``Decision``. The default store is a new ``MemoryStore``.

    >>> limiter = RateLimiter("2/minute", "100/hour")
    >>> limiter.acquire("alice")
    >>> limiter.try_acquire("alice").remaining
    0
    >>> limiter.try_acquire("alice").allowed
    False
    """

    def __init__(
        self,
        *rates: RateLike,
        store: Store | None = None,
        sleep: Callable[[float], object] = time.sleep,
    ) -> None:
        if store is not None:
            _check_store(store, "RedisStore")
        self.store: Store = MemoryStore() if store is None else store
        super().__init__(rates, self.store.ticks_per_second)
        self._admit, self._decide = self.store.bind(self._policy)
        if inspect.iscoroutinefunction(self._admit):
            msg = (
                f"RateLimiter needs a sync store, got {type(self.store).__name__} whose decisions "
                "are awaited; use AsyncRateLimiter with it"
            )
            raise ConfigurationError(msg, config_key="store")
        self._sleep = sleep
        own = type(self).acquire is RateLimiter.acquire  # never inline over a subclass's acquire
        if own and isinstance(self.store, MemoryStore):  # the common call inlined, same method
            general = functools.partial(RateLimiter.acquire, self)
            fast = self.store.fast_acquire(self._policy, general)
            fast.__name__, fast.__doc__ = "acquire", RateLimiter.acquire.__doc__
            fast.__qualname__ = RateLimiter.acquire.__qualname__
            self.__dict__["acquire"] = fast

    def acquire(self, key: str, cost: int = 1, wait: float = 0.0) -> None:
        """Count one request of *cost* for *key*, or raise ``RateLimitError``.

        With ``wait=`` seconds, sleep for the turn while the total sleep stays within it.
        """
        if (
            type(key) is not str
            or type(cost) is not int
            or cost != 1
            or type(wait) is not float
            or wait
        ):
            key, cost = self._checked(key, cost, wait)
        refusal = self._admit(key, cost)
        spent = 0.0
        while refusal is not None:
            pause = next_pause(refusal, key, spent, wait)
            self._sleep(pause)
            spent += pause
            refusal = self._admit(key, cost)

    def try_acquire(self, key: str, cost: int = 1) -> Decision:
        """Decide one request of *cost* for *key* without raising; count it when allowed."""
        key, cost = self._checked(key, cost, 0.0)
        return self._decide(key, cost)


class AsyncRateLimiter(_Limiter):
    """``RateLimiter`` for asyncio: the same rates and decisions, awaited, never blocking.

    The store is a ``MemoryStore`` (the default) or an ``AsyncRedisStore``.

    >>> import asyncio
    >>> limiter = AsyncRateLimiter("5/second")
    >>> asyncio.run(limiter.try_acquire("alice")).remaining
    4
    """

    __slots__ = ("_admit", "_decide", "_sleep", "store")

    def __init__(
        self,
        *rates: RateLike,
        store: AsyncStore | MemoryStore | None = None,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if store is not None:
            _check_store(store, "AsyncRedisStore")
        self.store: AsyncStore | MemoryStore = MemoryStore() if store is None else store
        super().__init__(rates, self.store.ticks_per_second)
        self._sleep = sleep
        self._admit: Callable[[str, int], Awaitable[Decision | None] | Decision | None]
        self._decide: Callable[[str, int], Awaitable[Decision] | Decision]
        self._admit, self._decide = self.store.bind(self._policy)
        if not isinstance(self.store, MemoryStore) and not inspect.iscoroutinefunction(self._admit):
            msg = (
                f"AsyncRateLimiter needs a MemoryStore or an async store, got "
                f"{type(self.store).__name__}, whose calls would block the event loop; "
                "use its async twin (AsyncRedisStore for RedisStore)"
            )
            raise ConfigurationError(msg, config_key="store")

    async def acquire(self, key: str, cost: int = 1, wait: float = 0.0) -> None:
        """Count one request of *cost* for *key*, or raise ``RateLimitError``.

        With ``wait=`` seconds, sleep (without blocking the loop) for the turn while the total
        sleep stays within it.
        """
        if (
            type(key) is not str
            or type(cost) is not int
            or cost != 1
            or type(wait) is not float
            or wait
        ):
            key, cost = self._checked(key, cost, wait)
        refusal = self._admit(key, cost)
        if refusal is not None and not isinstance(refusal, Decision):
            refusal = await refusal
        spent = 0.0
        while refusal is not None:
            pause = next_pause(refusal, key, spent, wait)
            await self._sleep(pause)
            spent += pause
            refusal = self._admit(key, cost)
            if refusal is not None and not isinstance(refusal, Decision):
                refusal = await refusal

    async def try_acquire(self, key: str, cost: int = 1) -> Decision:
        """Decide one request of *cost* for *key* without raising; count it when allowed."""
        key, cost = self._checked(key, cost, 0.0)
        decision = self._decide(key, cost)
        if not isinstance(decision, Decision):
            decision = await decision
        return decision
