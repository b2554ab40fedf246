"""Rate limiting with GCRA: per key, in this process or in Redis for many machines.

>>> from pmp_ratelimit import RateLimiter
>>> limiter = RateLimiter("5/minute", "1000/hour")
>>> limiter.acquire("alice")  # raises pmp_errors.RateLimitError when over a limit
>>> limiter.try_acquire("alice").remaining
3
"""

from __future__ import annotations

from pmp_ratelimit._decorator import rate_limited
from pmp_ratelimit._gcra import Decision
from pmp_ratelimit._limiter import AsyncRateLimiter, AsyncStore, RateLimiter, Store
from pmp_ratelimit._memory import MemoryStore
from pmp_ratelimit._rate import Rate
from pmp_ratelimit._redis import AsyncRedisStore, RedisStore

__all__ = [
    "AsyncRateLimiter",
    "AsyncRedisStore",
    "AsyncStore",
    "Decision",
    "MemoryStore",
    "Rate",
    "RateLimiter",
    "RedisStore",
    "Store",
    "rate_limited",
]


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("pmp-ratelimit")
    msg = f"module {__name__!r} has no attribute {name!r}"
    raise AttributeError(msg)
