"""Exceptions raised by pmp-cache, each also a built-in exception users already catch."""

from __future__ import annotations

from pmp_errors import PortfolioError, ValidationError

__all__ = ["ReentrantCallError", "UnhashableArgumentError"]


class UnhashableArgumentError(ValidationError, TypeError):
    """A cached function got an argument that cannot be part of a cache key.

    It is both a ``pmp_errors.ValidationError`` and a ``TypeError`` (what
    ``functools.lru_cache`` raises), so either ``except`` clause catches it.
    ``field`` names the argument, ``value`` holds it; nothing was called or stored.

    >>> from pmp_cache import cache
    >>> @cache
    ... def total(items: list[int]) -> int:
    ...     return sum(items)
    >>> try:
    ...     total([1, 2])
    ... except TypeError as e:
    ...     e.field
    'items'
    """


class ReentrantCallError(PortfolioError, RuntimeError):
    """A cached function called itself with the key it is computing.

    Waiting for itself would deadlock, so the inner call fails instead.
    Recursion on *other* keys (``fib(n - 1)``) is fine.

    >>> from pmp_cache import cache
    >>> @cache
    ... def loop(n: int) -> int:
    ...     return loop(n)
    >>> try:
    ...     loop(1)
    ... except RuntimeError as e:
    ...     type(e).__name__
    'ReentrantCallError'
    """
