"""``@rate_limited(limiter, key=...)``: a limit on a function, keeping its signature."""

from __future__ import annotations

import asyncio
import functools
import inspect
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from pmp_errors import ConfigurationError
from pmp_ratelimit._limiter import AsyncRateLimiter, RateLimiter, check_key, next_pause

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

__all__ = ["rate_limited"]

P = ParamSpec("P")
R = TypeVar("R")


@overload
def rate_limited(
    limiter: AsyncRateLimiter,
    *,
    key: str | Callable[..., str] | None = None,
    cost: int = 1,
    wait: float = 0.0,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Coroutine[Any, Any, R]]]: ...


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
        name = key if isinstance(key, str) else getattr(func, "__qualname__", repr(func))
        key_of = key if callable(key) else None
        is_async = inspect.iscoroutinefunction(func)
        if isinstance(limiter, AsyncRateLimiter) and not is_async:
            msg = (
                f"{name}: an AsyncRateLimiter limits coroutine functions only; "
                "use a RateLimiter for a plain function"
            )
            raise ConfigurationError(msg, config_key="limiter")

        def key_for(*args: Any, **kwargs: Any) -> str:
            return name if key_of is None else check_key(key_of(*args, **kwargs))

        if not is_async:
            assert isinstance(limiter, RateLimiter)
            sync_limiter = limiter

            @functools.wraps(func)
            def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
                sync_limiter.acquire(key_for(*args, **kwargs), cost, wait=wait)
                return func(*args, **kwargs)

            return wrapper

        @functools.wraps(func)
        async def async_wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            which = key_for(*args, **kwargs)
            if isinstance(limiter, AsyncRateLimiter):
                await limiter.acquire(which, cost, wait=wait)
            else:
                await _acquire_without_blocking(limiter, which, cost, wait)
            return await func(*args, **kwargs)

        return async_wrapper

    return decorate


async def _acquire_without_blocking(limiter: RateLimiter, key: str, cost: int, wait: float) -> None:
    """A sync limiter in a coroutine: decide now, and wait with ``asyncio.sleep``."""
    spent = 0.0
    while not (decision := limiter.try_acquire(key, cost)).allowed:
        pause = next_pause(decision, key, spent, wait)
        await asyncio.sleep(pause)
        spent += pause
