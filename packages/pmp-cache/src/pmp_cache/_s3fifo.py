"""``S3FIFOCache``: ``LRUCache``'s mapping with the S3-FIFO eviction policy (see _policy)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from pmp_cache._getter import make_get
from pmp_cache._lru import MISSING, LRUCache
from pmp_cache._policy import S3_STEPS
from pmp_cache._steps import make_steps
from pmp_cache._store import TimedDict

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["S3FIFOCache", "memory_store"]

K = TypeVar("K")
V = TypeVar("V")

# S3-FIFO's step on a hit: mark the key read (a store into the policy's ``visited``).
_S3FIFO_TOUCH = """\
    self._marks[key] = None"""


class S3FIFOCache(LRUCache[K, V]):
    """``LRUCache``'s mapping with the scan-resistant S3-FIFO eviction policy.

    New entries wait in a small FIFO (a fiftieth of ``maxsize``); when the cache
    is full, its oldest entry stays only if seen more often lately than the main
    FIFO's next victim (a frequency sketch, as TinyLFU's), and the main FIFO gives
    entries read since their last turn another one, so one pass over many keys
    (a scan) cannot flush the entries in steady use. A hit only marks the key
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

    if not TYPE_CHECKING:  # typed as LRUCache.get
        get = make_get(_S3FIFO_TOUCH, "S3FIFOCache", "marking it read")

    def __getitem__(self, key: K) -> V:
        value = S3FIFOCache.get(self, key, MISSING)  # not self.get: a subclass's may differ
        if value is MISSING:
            return self.__missing__(key)
        return cast("V", value)

    # -- the store's lock-held steps under S3-FIFO (LRU's run no policy check) ---------

    if not TYPE_CHECKING:  # typed as Store's
        _insert, _make_room = make_steps("S3FIFOCache", S3_STEPS, TimedDict)

    def _forget(self, key: Any) -> None:
        if self._policy is not None:
            self._policy.forget(key)

    def _clear(self) -> None:
        super()._clear()
        if self._policy is not None:
            self._policy.clear()


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
