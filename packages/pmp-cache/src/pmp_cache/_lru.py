"""``LRUCache``: a thread-safe LRU mapping with optional (per-item) TTL and statistics."""

from __future__ import annotations

import sys
from collections.abc import Callable, ItemsView, Iterator, Mapping, MutableMapping, ValuesView
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast, overload

from pmp_cache._getter import LRU_TOUCH, make_get
from pmp_cache._mutex import holding
from pmp_cache._store import MISSING, Store, TimedDict, od_popitem
from pmp_cache._store import restore as _restore  # also the name older pickles refer to
from pmp_cache._validate import check_ttl
from pmp_cache._views import LiveItemsView, LiveValuesView

if TYPE_CHECKING:
    from typing_extensions import Self

    from pmp_cache._stats import CacheStats

__all__ = ["MISSING", "LRUCache"]  # MISSING also for the Redis backend

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


class LRUCache(Store, MutableMapping[K, V], Generic[K, V]):
    """A bounded mapping that drops the least recently used entry, with optional TTL.

    ``maxsize=None`` means unbounded. With ``ttl`` (seconds) every entry expires
    that long after it was set (``set(key, value, ttl=...)`` overrides it per
    entry, also on a cache made without ``ttl``); an entry is expired once
    ``now >= deadline`` and from then on invisible to reads, ``len`` and
    iteration. ``now`` comes from ``timer`` if given, else from
    ``time.monotonic`` looked up at each call (so it can be patched in tests).

    ``on_event(kind, key)`` is told of every entry that leaves by size
    (``"eviction"``) or age (``"expiration"``), with the cache's lock held: it
    must not use the cache (count, log or queue the event).

    Reads take no lock; writes take one, so threads may share a cache.
    Iteration walks a snapshot, least recently used first.

    >>> cache: LRUCache[str, int] = LRUCache(maxsize=2, ttl=3600)
    >>> cache.set("a", 1)
    >>> cache["b"] = 2
    >>> cache.get("a")
    1
    >>> cache["c"] = 3  # evicts "b", the least recently used
    >>> list(cache), cache.stats()["evictions"]
    (['a', 'c'], 1)
    """

    __slots__ = ()

    def __init__(
        self,
        maxsize: int | None = 128,
        ttl: float | None = None,
        *,
        timer: Callable[[], float] | None = None,
        on_event: Callable[[str, Any], object] | None = None,
    ) -> None:
        Store.__init__(self, maxsize, ttl, timer, on_event)

    # -- configuration -------------------------------------------------------------

    @property
    def maxsize(self) -> int | None:
        """The most entries the cache holds (``None``: unbounded)."""
        return None if self._maxsize == sys.maxsize else self._maxsize

    @property
    def ttl(self) -> float | None:
        """The default time to live in seconds (``None``: entries do not expire)."""
        return self._ttl

    @property
    def currsize(self) -> int:
        """The number of live entries (expired ones are not counted, nor dropped)."""
        return len(self)

    # -- reads ----------------------------------------------------------------------

    if TYPE_CHECKING:

        @overload
        def get(self, key: K, default: None = None) -> V | None: ...
        @overload
        def get(self, key: K, default: V | T) -> V | T: ...
        def get(self, key: K, default: object = None) -> object: ...

    else:
        get = make_get(LRU_TOUCH, "LRUCache", "marking it recently used")

    def __getitem__(self, key: K) -> V:
        value = LRUCache.get(self, key, MISSING)  # not self.get: a subclass's may differ
        if value is MISSING:
            return self.__missing__(key)
        return cast("V", value)

    def __missing__(self, key: K) -> V:
        """Called by ``cache[key]`` on a miss; raises ``KeyError`` unless overridden.

        A subclass may compute, store and return a value, as with cachetools:

        >>> class Squares(LRUCache[int, int]):
        ...     def __missing__(self, key: int) -> int:
        ...         self[key] = key * key
        ...         return key * key
        >>> Squares()[4]
        16
        """
        raise KeyError(key)

    @overload
    def peek(self, key: K, default: None = None) -> V | None: ...
    @overload
    def peek(self, key: K, default: V | T) -> V | T: ...
    def peek(self, key: K, default: object = None) -> object:
        """Return the live value for ``key`` or ``default`` without touching recency or stats.

        >>> c = LRUCache[str, int]()
        >>> c["a"] = 1
        >>> c.peek("a"), c.stats()["hits"]
        (1, 0)
        """
        data = self._data
        entry = data.get(key, MISSING)
        if entry is MISSING:
            return default
        if type(data) is TimedDict:
            return entry[0] if entry[1] > self._now() else default
        return entry

    def __contains__(self, key: object) -> bool:
        return self.peek(cast("K", key), MISSING) is not MISSING

    def __iter__(self) -> Iterator[K]:
        return iter([key for key, _ in self._live_items()])

    def __len__(self) -> int:
        data = self._data
        if type(data) is TimedDict:  # count the live entries; dropping them is expire()'s job
            now = self._now()
            return sum(1 for _, entry in self._snapshot() if entry[1] > now)
        return len(data)

    def items(self) -> ItemsView[K, V]:
        """A view of the live ``(key, value)`` pairs; does not touch recency or stats."""
        return LiveItemsView(self)

    def values(self) -> ValuesView[V]:
        """A view of the live values; does not touch recency or stats."""
        return LiveValuesView(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LRUCache):
            return dict(self._live_items()) == dict(other.items())
        if isinstance(other, Mapping):
            return dict(self._live_items()) == dict(other.items())
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # a mutable mapping is unhashable

    def __repr__(self) -> str:
        return f"{type(self).__name__}({dict(self._live_items())!r}, maxsize={self.maxsize})"

    # -- writes ---------------------------------------------------------------------

    def set(self, key: K, value: V, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` (most recently used), evicting the LRU entry if full.

        ``ttl`` overrides the cache's default time to live for this entry.

        >>> c = LRUCache[str, int](ttl=60)
        >>> c.set("token", 1, ttl=5)
        """
        if ttl is not None:
            ttl = check_ttl(ttl)
            if type(self._data) is not TimedDict:
                self._make_timed()
        if ttl is None:
            LRUCache.__setitem__(self, key, value)  # not self[...]: a subclass's may call set
            return
        with holding(self._lock):
            self._insert(key, value, ttl)

    def __setitem__(self, key: K, value: V) -> None:
        # The plain case of _insert, inlined: this is the hot path. ``acquire()`` and
        # ``put(None)`` cost a third of what ``with`` does (see Mutex); a new key needs no
        # move_to_end; the evicted item lives on in ``evicted`` until the lock is
        # released, so whatever its finalizer does never runs under the lock.
        lock = self._lock
        lock.get()
        try:
            data = self._data
            limit = self._plain_limit  # 0: timed entries or maxsize 0, see _insert
            if not limit or key in data:
                self._insert(key, value, None)
            else:
                if len(data) >= limit:
                    # Positional False: a keyword costs ~25 ns more per call.
                    evicted = od_popitem(data, False)  # noqa: FBT003 - see above
                    self._counts.evictions += 1
                    if self._hook is not None:
                        self._hook("eviction", evicted[0])
                data[key] = value
        finally:
            lock.put(None)

    def delete(self, key: K) -> bool:
        """Remove ``key``; return whether a live entry was removed.

        >>> c = LRUCache[str, int]()
        >>> c["a"] = 1
        >>> c.delete("a"), c.delete("a")
        (True, False)
        """
        with holding(self._lock):
            return self._take(key) is not MISSING

    def __delitem__(self, key: K) -> None:
        if not self.delete(key):
            raise KeyError(key)

    @overload
    def pop(self, key: K) -> V: ...
    @overload
    def pop(self, key: K, default: V | T) -> V | T: ...
    def pop(self, key: K, default: object = MISSING) -> object:
        """Remove ``key`` and return its value, or ``default``; ``KeyError`` without one.

        >>> LRUCache[str, int]().pop("a", None) is None
        True
        """
        with holding(self._lock):
            value = self._take(key)
        if value is MISSING:
            if default is MISSING:
                raise KeyError(key)
            return default
        return value

    def popitem(self) -> tuple[K, V]:
        """Remove and return the least recently used live ``(key, value)`` pair.

        >>> c = LRUCache[str, int]()
        >>> c.update(a=1, b=2)
        >>> c.popitem()
        ('a', 1)
        """
        with holding(self._lock):
            data = self._data
            timed = type(data) is TimedDict
            now = self._now() if timed else 0.0
            while data:
                key, entry = data.popitem(last=False)
                self._forget(key)
                if not timed:
                    return key, entry
                if entry[1] > now:
                    return key, entry[0]
                self._counts.expirations += 1
                if self._hook is not None:
                    self._hook("expiration", key)
        msg = f"popitem(): {type(self).__name__} is empty"
        raise KeyError(msg)

    @overload
    def setdefault(self: LRUCache[K, T | None], key: K, default: None = None) -> T | None: ...
    @overload
    def setdefault(self, key: K, default: V) -> V: ...
    def setdefault(self, key: K, default: object = None) -> object:
        """Return the live value for ``key``, storing ``default`` first if there is none.

        Atomic: threads racing on one key all get the one value stored.

        >>> c = LRUCache[str, int]()
        >>> c.setdefault("a", 1), c.setdefault("a", 2)
        (1, 1)
        """
        with holding(self._lock):
            data = self._data
            entry = data.get(key, MISSING)
            if entry is not MISSING:
                if type(data) is not TimedDict:
                    return entry
                if entry[1] > self._now():
                    return entry[0]
            self._insert(key, default, None)
            return default

    def clear(self) -> None:
        """Remove every entry (statistics are kept)."""
        with holding(self._lock):
            self._clear()

    def expire(self) -> int:
        """Drop every expired entry now; return how many were dropped.

        >>> now = [0.0]
        >>> c = LRUCache[str, int](ttl=10, timer=lambda: now[0])
        >>> c["a"] = 1
        >>> now[0] = 10.0
        >>> c.expire(), len(c)
        (1, 0)
        """
        with holding(self._lock):
            data = self._data
            if type(data) is not TimedDict:
                return 0
            before = self._counts.expirations
            self._sweep(self._now())
            return self._counts.expirations - before

    # -- statistics -----------------------------------------------------------------

    def stats(self) -> CacheStats:
        """Return hits, misses, hit rate, evictions, expirations, size and capacity.

        >>> c = LRUCache[str, int]()
        >>> c["a"] = 1
        >>> _ = c.get("a"), c.get("b")
        >>> c.stats()["hit_rate"]
        0.5
        """
        currsize = len(self)
        hits, misses = self._counts.total("hits"), self._counts.total("misses")
        lookups = hits + misses
        return {
            "hits": hits,
            "misses": misses,
            "hit_rate": hits / lookups if lookups else 0.0,
            "evictions": self._counts.total("evictions"),
            "expirations": self._counts.expirations,
            "currsize": currsize,
            "maxsize": self.maxsize,
        }

    # -- copy and pickle ------------------------------------------------------------

    def copy(self) -> Self:
        """Return a shallow copy with the same entries, order, deadlines and settings.

        >>> c = LRUCache[str, int]()
        >>> c["a"] = 1
        >>> c.copy() == c
        True
        """
        with holding(self._lock):
            data = type(self._data)(self._snapshot())
        new = type(self).__new__(type(self))
        Store.__init__(new, self.maxsize, self._ttl, self._timer, self._hook, data)
        return new

    __copy__ = copy

    def __reduce__(self) -> tuple[Any, ...]:
        data = self._data
        if type(data) is TimedDict:
            now = self._now()
            entries = [(k, v, d - now) for k, (v, d) in self._snapshot() if d > now]
        else:
            entries = [(k, v, None) for k, v in self._snapshot()]
        return (_restore, (type(self), self.maxsize, self._ttl, self._timer, entries))
