"""``@rate_limited(limiter, key=...)``: a limit on a function, keeping its signature."""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import TYPE_CHECKING, Any, ParamSpec, Protocol, TypeVar, overload

from pmp_errors import ConfigurationError
from pmp_ratelimit._limiter import AsyncRateLimiter, RateLimiter, check_key, next_pause

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Coroutine

__all__ = ["AsyncDecorator", "rate_limited"]

P = ParamSpec("P")
R = TypeVar("R")
G = TypeVar("G", bound="AsyncIterator[Any]")


class AsyncDecorator(Protocol):
    """What ``rate_limited`` returns for an ``AsyncRateLimiter``, keeping signatures.

    It limits coroutine functions and async generator functions (before their first item).
    """

    @overload
    def __call__(
        self, func: Callable[P, Awaitable[R]], /
    ) -> Callable[P, Coroutine[Any, Any, R]]: ...

    @overload
    def __call__(self, func: Callable[P, G], /) -> Callable[P, G]: ...


@overload
def rate_limited(
    limiter: AsyncRateLimiter,
    *,
    key: str | Callable[..., str] | None = None,
    cost: int = 1,
    wait: float = 0.0,
) -> AsyncDecorator: ...


@overload
def rate_limited(
    limiter: RateLimiter,
    *,
    key: str | Callable[..., str] | None = None,
    cost: int = 1,
    wait: float = 0.0,
) -> Callable[[Callable[P, R]], Callable[P, R]]: ...


def rate_limited(
    limiter: RateLimiter | AsyncRateLimiter,
    *,
    key: str | Callable[..., str] | None = None,
    cost: int = 1,
    wait: float = 0.0,
) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Limit calls of a function: each call first acquires ``cost`` from *limiter* for a key.

    ``key`` is a fixed string, or a function called with the call's arguments that returns the
    key (a user id, say); without it every call shares the function's qualified name. Calls over
    the limit raise ``pmp_errors.RateLimitError``, or wait up to ``wait`` seconds for their turn.
    Sync functions take a ``RateLimiter``; coroutine functions take either kind, and wait
    without blocking the event loop.

    >>> from pmp_ratelimit import RateLimiter, rate_limited
    >>> @rate_limited(RateLimiter("2/minute"), key=lambda user: user)
    ... def send(user: str) -> str:
    ...     return f"sent to {user}"
    >>> send("alice"), send("alice"), send("bob")
    ('sent to alice', 'sent to alice', 'sent to bob')
    >>> send("alice")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    pmp_errors._core.RateLimitError: rate limit of 2 exceeded for key 'alice'; retry after ... s
    """
    if not isinstance(limiter, RateLimiter | AsyncRateLimiter):
        msg = f"rate_limited needs a RateLimiter or AsyncRateLimiter, got {limiter!r}"
        raise ConfigurationError(msg, config_key="limiter")
    if key is not None and not callable(key):
        check_key(key)
    limiter.check_request("", cost, wait=wait)

    def decorate(func: Callable[P, Any]) -> Callable[P, Any]:
        if isinstance(func, classmethod | staticmethod | property) or not callable(func):
            msg = (
                f"rate_limited decorates a function, got {func!r}; put @rate_limited "
                "under @classmethod, @staticmethod or @property, next to the function"
            )
            raise ConfigurationError(msg, config_key="func")
        name = key if isinstance(key, str) else getattr(func, "__qualname__", repr(func))
        key_of = key if callable(key) else None

        def key_for(*args: Any, **kwargs: Any) -> str:
            return name if key_of is None else check_key(key_of(*args, **kwargs))

        if inspect.iscoroutinefunction(func) or inspect.isasyncgenfunction(func):
            return _limit_async(func, limiter, key_for, cost, wait)
        if isinstance(limiter, AsyncRateLimiter):
            msg = (
                f"{name}: an AsyncRateLimiter limits coroutine and async generator functions "
                "only; use a RateLimiter for a plain function"
            )
            raise ConfigurationError(msg, config_key="limiter")
        sync_limiter = limiter

        @functools.wraps(func)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            sync_limiter.acquire(key_for(*args, **kwargs), cost, wait=wait)
            return func(*args, **kwargs)

        return wrapper

    return decorate


def _limit_async(
    func: Callable[P, Any],
    limiter: RateLimiter | AsyncRateLimiter,
    key_for: Callable[..., str],
    cost: int,
    wait: float,
) -> Callable[P, Any]:
    """Wrap a coroutine function or an async generator function; waits never block the loop."""

    async def acquire(which: str) -> None:
        if isinstance(limiter, AsyncRateLimiter):
            await limiter.acquire(which, cost, wait=wait)
        else:
            await _acquire_without_blocking(limiter, which, cost, wait)

    if inspect.isasyncgenfunction(func):
        return _limit_generator(func, acquire, key_for)

    @functools.wraps(func)
    async def coroutine(*args: P.args, **kwargs: P.kwargs) -> Any:
        await acquire(key_for(*args, **kwargs))
        return await func(*args, **kwargs)

    return coroutine


def _limit_generator(
    func: Callable[P, Any], acquire: Callable[[str], Awaitable[None]], key_for: Callable[..., str]
) -> Callable[P, Any]:
    """Wrap an async generator function: acquire before the first item, then pass everything on."""

    @functools.wraps(func)
    async def generator(*args: P.args, **kwargs: P.kwargs) -> AsyncGenerator[Any, Any]:
        await acquire(key_for(*args, **kwargs))
        inner: AsyncGenerator[Any, Any] = func(*args, **kwargs)
        try:  # the items out; what is sent or thrown in, in
            item = await anext(inner)
            while True:
                try:
                    sent = yield item
                except GeneratorExit:  # noqa: PERF203 - each throw goes on to the generator
                    raise
                except BaseException as error:  # noqa: BLE001 - passed on to the generator
                    item = await inner.athrow(error)
                else:
                    item = await inner.asend(sent)
        except StopAsyncIteration:
            return
        finally:
            await inner.aclose()

    return generator


async def _acquire_without_blocking(limiter: RateLimiter, key: str, cost: int, wait: float) -> None:
    """A sync limiter in a coroutine: decide now, and wait with ``asyncio.sleep``."""
    spent = 0.0
    while not (decision := limiter.try_acquire(key, cost)).allowed:
        pause = next_pause(decision, key, spent, wait)
        await asyncio.sleep(pause)
        spent += pause
