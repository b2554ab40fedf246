"""``LRUCache``: a thread-safe LRU mapping with optional (per-item) TTL and statistics."""

from __future__ import annotations

import sys
import time as _time
from collections import OrderedDict
from collections.abc import (
    Callable,
    ItemsView,
    Iterator,
    Mapping,
    MutableMapping,
    ValuesView,
)
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, TypeVar, cast, overload

from pmp_cache._mutex import Mutex, holding, new_mutex
from pmp_cache._validate import check_hook, check_maxsize, check_timer, check_ttl

if TYPE_CHECKING:
    from typing_extensions import Self

    from pmp_cache._stats import CacheStats

__all__ = ["MISSING", "Counters", "Internals", "LRUCache", "internals"]

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")

_INF = float("inf")


class _Missing:
    """Sentinel type for "no entry"; never stored by callers."""

    __slots__ = ()


MISSING: Any = _Missing()

# ``OrderedDict`` methods called as functions: ``_od_get(data, key, default)`` is about
# 15 ns faster than ``data.get(key, default)`` on CPython 3.11 (and no slower on
# 3.13), where the method lookup on an OrderedDict instance is never specialised.
_od_get = OrderedDict.get
_od_move_to_end = OrderedDict.move_to_end
_od_popitem = OrderedDict.popitem


class Counters:
    """A cache's statistics counters, also counted by the decorators' generated code.

    Counts changed under the cache's lock (evictions, expirations) are exact;
    hits and misses are counted without one (see ``LRUCache.stats``).
    """

    __slots__ = ("evictions", "expirations", "hits", "misses", "next_expiry")

    def __init__(self) -> None:
        self.hits = self.misses = self.evictions = self.expirations = 0
        # No entry expires before this time: a lower bound, so a full cache knows when
        # it must look for expired entries before evicting a live one (see _sweep).
        self.next_expiry = -_INF


class _TimedDict(OrderedDict[Any, Any]):
    """The store of a cache with deadlines: ``key -> (value, deadline)``.

    Its type tells readers how to read an entry, so a cache switching to timed
    entries (first ``set(ttl=...)``) is never read half-converted.
    """

    __slots__ = ()


class _ItemsView(ItemsView[K, V]):
    """Items of the live entries; reading them changes neither recency nor stats."""

    _mapping: LRUCache[K, V]

    def __iter__(self) -> Iterator[tuple[K, V]]:
        return iter(self._mapping._live_items())  # noqa: SLF001 - the view belongs to the cache


class _ValuesView(ValuesView[V]):
    """Values of the live entries; reading them changes neither recency nor stats."""

    _mapping: LRUCache[Any, V]

    def __iter__(self) -> Iterator[V]:
        return (value for _, value in self._mapping._live_items())  # noqa: SLF001 - as above


class LRUCache(MutableMapping[K, V], Generic[K, V]):
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

    __slots__ = (
        "__weakref__",
        "_counts",
        "_data",
        "_hook",
        "_lock",
        "_maxsize",
        "_plain_limit",
        "_timer",
        "_ttl",
    )

    _data: OrderedDict[Any, Any]

    def __init__(
        self,
        maxsize: int | None = 128,
        ttl: float | None = None,
        *,
        timer: Callable[[], float] | None = None,
        on_event: Callable[[str, Any], object] | None = None,
    ) -> None:
        checked = check_maxsize(maxsize)
        check_hook(on_event)
        self._hook = on_event
        self._maxsize = sys.maxsize if checked is None else checked
        self._ttl = check_ttl(ttl)
        check_timer(timer)
        self._timer = timer
        self._set_data(OrderedDict() if self._ttl is None else _TimedDict())
        self._lock = new_mutex()
        self._counts = Counters()

    def _set_data(self, data: OrderedDict[Any, Any]) -> None:
        """Install the store; ``__setitem__`` inlines the plain bounded case only."""
        self._data = data
        plain = type(data) is not _TimedDict
        self._plain_limit = self._maxsize if plain else 0

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

    def _now(self) -> float:
        timer = self._timer
        return _time.monotonic() if timer is None else timer()

    # -- reads ----------------------------------------------------------------------

    def _lookup(self, key: Any) -> Any:
        """Return the live value (touching recency, counting a hit) or ``MISSING``."""
        data = self._data
        entry = data.get(key, MISSING)
        if entry is not MISSING:
            if type(data) is _TimedDict:
                if entry[1] <= self._now():
                    self._drop_expired(key, entry)
                    self._counts.misses += 1
                    return MISSING
                entry = entry[0]
            try:  # noqa: SIM105 - contextlib.suppress would cost a context manager per hit
                data.move_to_end(key)
            except KeyError:  # pragma: no cover - another thread evicted it since the read
                pass
            self._counts.hits += 1
            return entry
        self._counts.misses += 1
        return MISSING

    @overload
    def get(self, key: K, default: None = None) -> V | None: ...
    @overload
    def get(self, key: K, default: V | T) -> V | T: ...
    def get(self, key: K, default: object = None) -> object:
        """Return the value for ``key`` (marking it recently used) or ``default``.

        Counts a hit or a miss; never calls ``__missing__``.

        >>> LRUCache[str, int]().get("nope", 0)
        0
        """
        # Same steps as _lookup, inlined: this is the hot path. The methods are called
        # through the class (see _od_get) because CPython 3.11 cannot specialise
        # ``data.get`` on an OrderedDict, whose instances may have a ``__dict__``.
        data = self._data
        entry = _od_get(data, key, MISSING)
        if entry is MISSING:
            self._counts.misses += 1
            return default
        if type(data) is _TimedDict:
            timer = self._timer
            if entry[1] <= (_time.monotonic() if timer is None else timer()):
                self._drop_expired(key, entry)
                self._counts.misses += 1
                return default
            entry = entry[0]
        try:  # noqa: SIM105 - contextlib.suppress would cost a context manager per hit
            _od_move_to_end(data, key)
        except KeyError:  # pragma: no cover - another thread evicted it since the read
            pass
        self._counts.hits += 1
        return entry

    def __getitem__(self, key: K) -> V:
        value = self._lookup(key)
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
        if type(data) is _TimedDict:
            return entry[0] if entry[1] > self._now() else default
        return entry

    def __contains__(self, key: object) -> bool:
        return self.peek(cast("K", key), MISSING) is not MISSING

    def _peek_or_drop(self, key: Any) -> Any:
        """The live value for ``key`` like ``peek``; else ``MISSING``, with no entry left.

        An expired entry is dropped (and counted), so a caller that then stores
        ``key`` knows it is new: what a cached function's miss path relies on.
        """
        data = self._data
        entry = data.get(key, MISSING)
        if entry is MISSING or type(data) is not _TimedDict:
            return entry
        lock = self._lock
        lock.get()
        try:
            entry = data.get(key, MISSING)
            if entry is MISSING:  # pragma: no cover - a racing reader dropped it meanwhile
                return MISSING
            if entry[1] > self._now():
                return entry[0]
            del data[key]
            self._counts.expirations += 1
            if self._hook is not None:
                self._hook("expiration", key)
            return MISSING
        finally:
            lock.put(None)

    def _snapshot(self) -> list[tuple[Any, Any]]:
        """All stored ``(key, entry)`` pairs, least recently used first.

        Lock-free readers reorder entries; copying in one C call is almost always
        atomic, and is simply retried when a reader slipped in.
        """
        while True:
            try:
                return list(self._data.items())
            except RuntimeError:  # noqa: PERF203  # pragma: no cover - a reader moved an entry meanwhile
                continue

    def _live_items(self) -> list[tuple[K, V]]:
        """Snapshot of the live entries, least recently used first."""
        items = self._snapshot()
        if type(self._data) is _TimedDict:
            now = self._now()
            return [(k, e[0]) for k, e in items if e[1] > now]
        return items

    def __iter__(self) -> Iterator[K]:
        return iter([key for key, _ in self._live_items()])

    def __len__(self) -> int:
        data = self._data
        if type(data) is _TimedDict:  # count the live entries; dropping them is expire()'s job
            now = self._now()
            return sum(1 for _, entry in self._snapshot() if entry[1] > now)
        return len(data)

    def items(self) -> ItemsView[K, V]:
        """A view of the live ``(key, value)`` pairs; does not touch recency or stats."""
        return _ItemsView(self)

    def values(self) -> ValuesView[V]:
        """A view of the live values; does not touch recency or stats."""
        return _ValuesView(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LRUCache):
            return dict(self._live_items()) == dict(other._live_items())
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
            if type(self._data) is not _TimedDict:
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
                    evicted = _od_popitem(data, False)  # noqa: FBT003 - see above
                    self._counts.evictions += 1
                    if self._hook is not None:
                        self._hook("eviction", evicted[0])
                data[key] = value
        finally:
            lock.put(None)

    def _insert(self, key: Any, value: Any, ttl: float | None) -> None:
        """Store an entry, evicting first so the size never exceeds ``maxsize``.

        The caller holds the lock. ``ttl=None`` means the cache's default. An
        evicted entry that had already expired counts as an expiration.
        """
        data = self._data
        maxsize = self._maxsize
        timed = type(data) is _TimedDict
        now = 0.0
        if timed:
            timer = self._timer
            now = _time.monotonic() if timer is None else timer()
        if len(data) >= maxsize and key not in data:
            if not maxsize:  # nothing fits: the new entry is evicted at once
                self._counts.evictions += 1
                if self._hook is not None:
                    self._hook("eviction", key)
                return
            self._make_room(now)
        if timed:
            if ttl is None:
                ttl = self._ttl
            deadline = _INF if ttl is None else now + ttl
            self._counts.next_expiry = min(self._counts.next_expiry, deadline)
            data[key] = (value, deadline)
        else:
            data[key] = value
        data.move_to_end(key)

    def _make_room(self, now: float) -> None:
        """Free a slot in a full cache: expired entries first, else the LRU one.

        The caller holds the lock. ``now`` is only read for a cache with deadlines.
        """
        data = self._data
        timed = type(data) is _TimedDict
        if timed and now >= self._counts.next_expiry:
            self._sweep(now)
        while len(data) >= self._maxsize:
            key, entry = _od_popitem(data, False)  # noqa: FBT003 - see __setitem__
            kind = "expiration" if timed and entry[1] <= now else "eviction"
            if kind == "eviction":
                self._counts.evictions += 1
            else:
                self._counts.expirations += 1
            if self._hook is not None:
                self._hook(kind, key)

    def _sweep(self, now: float) -> None:
        """Drop every expired entry, counted as expirations; the caller holds the lock.

        Also resets ``Counters.next_expiry``: entries stored later with the default TTL
        expire at ``now + ttl`` or after (the clock is monotonic), and ``_insert``
        lowers it for shorter per-item TTLs.
        """
        data = self._data
        soonest = _INF if self._ttl is None else now + self._ttl
        dead = []
        for key, entry in self._snapshot():
            deadline = entry[1]
            if deadline <= now:
                dead.append(key)
            elif deadline < soonest:
                soonest = deadline
        for key in dead:
            del data[key]
            if self._hook is not None:
                self._hook("expiration", key)
        self._counts.expirations += len(dead)
        self._counts.next_expiry = soonest

    def _make_timed(self) -> None:
        with holding(self._lock):
            if type(self._data) is not _TimedDict:
                self._set_data(_TimedDict((k, (v, _INF)) for k, v in self._snapshot()))

    def _drop_expired(self, key: Any, entry: object) -> None:
        """Remove ``key`` if it still holds the expired ``entry``, counting it once."""
        lock = self._lock
        lock.get()
        try:
            if self._data.get(key, MISSING) is entry:  # pragma: no branch - else: a racing reader
                del self._data[key]
                self._counts.expirations += 1
                if self._hook is not None:
                    self._hook("expiration", key)
        finally:
            lock.put(None)

    def _take(self, key: Any) -> Any:
        """Remove ``key`` and return its live value or ``MISSING``; the caller holds the lock."""
        data = self._data
        entry = data.pop(key, MISSING)
        if entry is MISSING or type(data) is not _TimedDict:
            return entry
        if entry[1] <= self._now():
            self._counts.expirations += 1
            if self._hook is not None:
                self._hook("expiration", key)
            return MISSING
        return entry[0]

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
            timed = type(data) is _TimedDict
            now = self._now() if timed else 0.0
            while data:
                key, entry = data.popitem(last=False)
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
                if type(data) is not _TimedDict:
                    return entry
                if entry[1] > self._now():
                    return entry[0]
            self._insert(key, default, None)
            return default

    def clear(self) -> None:
        """Remove every entry (statistics are kept)."""
        with holding(self._lock):
            self._data.clear()

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
            if type(data) is not _TimedDict:
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
        hits, misses = self._counts.hits, self._counts.misses
        lookups = hits + misses
        return {
            "hits": hits,
            "misses": misses,
            "hit_rate": hits / lookups if lookups else 0.0,
            "evictions": self._counts.evictions,
            "expirations": self._counts.expirations,
            "currsize": currsize,
            "maxsize": self.maxsize,
        }

    def _empty(self) -> None:
        """Drop every entry and zero the counters; the caller holds the lock."""
        self._data.clear()
        counts = self._counts
        counts.hits = counts.misses = counts.evictions = counts.expirations = 0

    # -- copy and pickle ------------------------------------------------------------

    def copy(self) -> Self:
        """Return a shallow copy with the same entries, order, deadlines and settings.

        >>> c = LRUCache[str, int]()
        >>> c["a"] = 1
        >>> c.copy() == c
        True
        """
        new = self._empty_like()
        with holding(self._lock):
            new._set_data(type(self._data)(self._snapshot()))  # noqa: SLF001 - same class
        return new

    __copy__ = copy

    def _empty_like(self) -> Self:
        new = type(self).__new__(type(self))
        LRUCache.__init__(new, self.maxsize, self._ttl, timer=self._timer, on_event=self._hook)
        return new

    def __reduce__(self) -> tuple[Any, ...]:
        data = self._data
        if type(data) is _TimedDict:
            now = self._now()
            entries = [(k, v, d - now) for k, (v, d) in self._snapshot() if d > now]
        else:
            entries = [(k, v, None) for k, v in self._snapshot()]
        return (_restore, (type(self), self.maxsize, self._ttl, self._timer, entries))


def _restore(
    cls: type[LRUCache[Any, Any]],
    maxsize: int | None,
    ttl: float | None,
    timer: Callable[[], float] | None,
    entries: list[tuple[Any, Any, float | None]],
) -> LRUCache[Any, Any]:
    """Rebuild a pickled cache; remaining lifetimes restart from the new clock."""
    new = cls.__new__(cls)
    LRUCache.__init__(new, maxsize, ttl, timer=timer)
    if any(remaining is not None for _, _, remaining in entries):
        new._make_timed()  # noqa: SLF001 - rebuilding our own state
    data = new._data  # noqa: SLF001
    timed = type(data) is _TimedDict
    now = new._now() if timed else 0.0  # noqa: SLF001
    for key, value, remaining in entries:
        data[key] = (value, now + (_INF if remaining is None else remaining)) if timed else value
    return new


class Internals(NamedTuple):
    """What a cached function uses of the ``LRUCache`` it owns: state and lock-held steps.

    ``insert``, ``make_room``, ``take`` and ``empty`` expect the caller to hold
    ``lock``; ``maxsize`` is ``sys.maxsize`` when unbounded.
    """

    data: OrderedDict[Any, Any]
    lock: Mutex
    counts: Counters
    timed: bool
    maxsize: int
    ttl: float | None
    timer: Callable[[], float] | None
    insert: Callable[[Any, Any, float | None], None]
    make_room: Callable[[float], None]
    drop_expired: Callable[[Any, object], None]
    peek_or_drop: Callable[[Any], Any]
    take: Callable[[Any], Any]
    empty: Callable[[], None]
    hook: Callable[[str, Any], object] | None


def internals(cache: LRUCache[Any, Any]) -> Internals:
    """The ``Internals`` of ``cache`` (whose entries must not switch to deadlines later)."""
    c = cache
    return Internals(
        data=c._data,  # noqa: SLF001 - this module's own class
        lock=c._lock,  # noqa: SLF001
        counts=c._counts,  # noqa: SLF001
        timed=type(c._data) is _TimedDict,  # noqa: SLF001
        maxsize=c._maxsize,  # noqa: SLF001
        ttl=c._ttl,  # noqa: SLF001
        timer=c._timer,  # noqa: SLF001
        insert=c._insert,  # noqa: SLF001
        make_room=c._make_room,  # noqa: SLF001
        drop_expired=c._drop_expired,  # noqa: SLF001
        peek_or_drop=c._peek_or_drop,  # noqa: SLF001
        take=c._take,  # noqa: SLF001
        empty=c._empty,  # noqa: SLF001
        hook=c._hook,  # noqa: SLF001
    )
