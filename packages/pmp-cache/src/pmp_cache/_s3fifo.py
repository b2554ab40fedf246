"""``S3FIFOCache``: ``LRUCache``'s mapping with the S3-FIFO eviction policy (see _policy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pmp_cache._lru import LRUCache

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["S3FIFOCache", "memory_store"]

K = TypeVar("K")
V = TypeVar("V")


class S3FIFOCache(LRUCache[K, V]):
    """``LRUCache``'s mapping with the scan-resistant S3-FIFO eviction policy.

    New entries wait in a small FIFO (a tenth of ``maxsize``); those read while
    there move on to the main FIFO, the others leave first, so one pass over many
    keys (a scan) cannot flush the entries in steady use. A hit only marks the key
    read (no reordering). Everything else (TTL, stats, ``on_event``, thread
    safety) is as for ``LRUCache``; iteration and ``popitem`` follow the main
    FIFO's order rather than recency. ``cache(policy="s3fifo")`` stores in one.

    >>> c: S3FIFOCache[int, int] = S3FIFOCache(maxsize=10)
    >>> c[0] = 0
    >>> c.get(0)  # now marked read: it survives the scan below
    0
    >>> for k in range(1, 100):
    ...     c[k] = k
    >>> 0 in c, len(c), c.POLICY
    (True, 10, 's3fifo')
    """

    __slots__ = ()
    POLICY: ClassVar[str] = "s3fifo"


def memory_store(
    policy: str,
    maxsize: int | None,
    ttl: float | None,
    *,
    timer: Callable[[], float] | None = None,
    on_event: Callable[[str, Any], object] | None = None,
) -> LRUCache[Any, Any]:
    """A cached function's in-memory store under ``policy`` (already checked)."""
    kind = LRUCache if policy == "lru" else S3FIFOCache
    return kind(maxsize, ttl, timer=timer, on_event=on_event)
