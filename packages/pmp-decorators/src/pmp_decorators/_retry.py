"""Retry a failing call with capped exponential backoff and jitter (sync and async)."""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from pmp_decorators._callables import (
    is_async_callable,
    refuse_async_sleep,
    refuse_bare_use,
    refuse_generator,
    refuse_uncallable,
)
from pmp_decorators._retry_drivers import wrap_async, wrap_sync
from pmp_decorators._retry_policy import Jitter, Policy

if TYPE_CHECKING:
    import random
    from collections.abc import Awaitable, Coroutine

    from pmp_decorators._retry_policy import RetryState

__all__ = ["async_retry", "retry"]

P = ParamSpec("P")
R = TypeVar("R")

Exceptions = type[BaseException] | tuple[type[BaseException], ...] | Callable[[Exception], object]
"""What ``exceptions=`` accepts: classes to retry, or a predicate on the exception."""


_GENERATOR_ADVICE = "retry the code that iterates it instead"


def _bind(policy: Policy, func: Callable[..., Any], decorator: str) -> Policy:
    """A copy of ``policy`` named after ``func`` (one decorator may wrap many functions)."""
    refuse_uncallable(func, decorator)
    refuse_generator(func, decorator, _GENERATOR_ADVICE)
    bound = copy.copy(policy)
    bound.name = getattr(func, "__qualname__", None) or repr(func)
    return bound


def retry(
    max_attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    exceptions: Exceptions | None = None,
    *,
    max_delay: float | None = None,
    deadline: float | None = None,
    jitter: Jitter = "full",
    rng: random.Random | None = None,
    retry_after: Callable[[BaseException], float | None] | None = None,
    retry_if_result: Callable[[Any], object] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    on_give_up: Callable[[RetryState], object] | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry a function (plain or ``async def``) when it fails with a retryable exception.

    What is retried: by default every ``Exception`` except programming errors
    (``TypeError``, ``AttributeError``, ``NameError``, ``AssertionError`` and
    ``pmp_errors.ValidationError``, which includes ``TypeValidationError``), which
    pass straight through, also inside an exception group; ``exceptions`` names
    the classes to retry instead (``exceptions=Exception`` retries everything), or is
    a predicate called with the exception (``lambda e: getattr(e, "status", 0) >= 500``).
    ``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit`` and
    ``asyncio.CancelledError`` are never retried, even when ``BaseException`` is
    listed, nor is an exception group carrying one.

    How long to wait: the pause before retry *n* is based on ``delay * backoff **
    (n - 1)`` seconds, capped at ``max_delay``. ``jitter`` spreads the pauses of many
    clients: ``"full"`` (the default) waits a uniform random time between 0 and that
    pause; ``"decorrelated"`` waits a uniform time between ``delay`` and three times
    the previous pause (ignoring ``backoff``), capped at ``max_delay``; ``None`` waits
    exactly the exponential pause; a number adds uniform ``[0, jitter]`` seconds. Random
    draws come from ``rng`` when given (seed it in tests). ``retry_after(exc)`` may
    return the seconds a failure asks to wait (a ``Retry-After`` header), or ``None``;
    a ``pmp_errors.RateLimitError`` asks for its ``retry_after``. The pause is at
    least what was asked, even beyond ``max_delay``; a pause that would be endless
    gives up instead. ``deadline`` (seconds from the start of the call, read on
    ``clock``) is a total budget: no pause would end at or after it.

    On giving up the last exception itself is raised, with one note saying how many
    attempts were made. ``retry_if_result(result)`` returning true retries a returned
    value too; when attempts run out the last result is returned. ``on_retry(state)``
    runs before each pause, ``on_give_up(state)`` before giving up, each with a fresh
    :class:`RetryState`. ``sleep`` (may be async for coroutine functions only; an
    async sleep for a plain function is refused) and ``clock`` replace ``time.sleep``
    / ``asyncio.sleep`` and ``time.monotonic``;
    :func:`set_retry_testing` turns every pause off. Bad configuration raises
    ``pmp_errors.ValidationError`` here, not at call time, and so does a generator
    function. An object whose ``__call__`` is ``async def`` is retried as a coroutine
    function. A plain function whose first returned value is awaitable raises
    ``pmp_errors.ValidationError`` (only the creation of the awaitable would be retried):
    declare it ``async def``, or use :func:`async_retry`, which awaits what it returns.
    Methods work, also with ``retry`` above ``@classmethod``/``@staticmethod``.

    >>> calls = []
    >>> @retry(max_attempts=3, delay=0.0, exceptions=(OSError,))
    ... def fetch():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise ConnectionError("flaky")
    ...     return "data"
    >>> fetch(), len(calls)
    ('data', 3)
    """
    refuse_bare_use(max_attempts, "retry", "max_attempts")
    policy = Policy(**locals())  # exactly the arguments above, checked there

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        if isinstance(func, staticmethod | classmethod):  # placed above @staticmethod/@classmethod
            return type(func)(decorate(func.__func__))
        bound = _bind(policy, func, "retry")
        if is_async_callable(func):
            wrapper: Callable[P, R] = wrap_async(bound, func)
        else:
            refuse_async_sleep(policy.sleep, f"{bound.name} is a plain function")
            wrapper = wrap_sync(bound, func)
        return _update_wrapper(wrapper, func)

    return decorate


def _update_wrapper(wrapper: Callable[P, R], func: object) -> Callable[P, R]:
    """``functools.update_wrapper``, also for a callable object (it copies what exists)."""
    return functools.update_wrapper(wrapper, cast("Callable[..., Any]", func))


def async_retry(
    max_attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    exceptions: Exceptions | None = None,
    *,
    max_delay: float | None = None,
    deadline: float | None = None,
    jitter: Jitter = "full",
    rng: random.Random | None = None,
    retry_after: Callable[[BaseException], float | None] | None = None,
    retry_if_result: Callable[[Any], object] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    on_give_up: Callable[[RetryState], object] | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Retry a coroutine function (or any callable returning an awaitable).

    The explicit async form of :func:`retry`, with the same arguments and rules; the
    result is always a coroutine function.

    >>> import asyncio
    >>> @async_retry(max_attempts=5, delay=0.0)
    ... async def ping():
    ...     return "pong"
    >>> asyncio.run(ping())
    'pong'
    """
    refuse_bare_use(max_attempts, "async_retry", "max_attempts")
    policy = Policy(**locals())  # exactly the arguments above, checked there

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        if isinstance(func, staticmethod | classmethod):  # placed above @staticmethod/@classmethod
            return type(func)(decorate(func.__func__))
        wrapper: Callable[P, Coroutine[Any, Any, R]] = wrap_async(
            _bind(policy, func, "async_retry"), func
        )
        return _update_wrapper(wrapper, func)

    return decorate
