"""The storage core behind ``LRUCache`` and every cached function's in-memory store.

``Store`` holds the entries (an ``OrderedDict`` from least to most recently
used; ``key -> (value, deadline)`` once any entry has a deadline), the lock
behind every write and the counters, and does the steps every reader and
writer shares: lookup, insert-and-evict (expired entries first), expiry and
removal. ``LRUCache`` puts the mapping API on it; the decorators use the same
steps through ``internals()``.
"""

from __future__ import annotations

import sys
import time as _time
from collections import OrderedDict
from itertools import repeat
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from pmp_cache._mutex import Mutex, holding, new_mutex
from pmp_cache._policy import UNMARKED, S3Fifo, check_policy
from pmp_cache._steps import LRU_STEPS, make_steps
from pmp_cache._validate import check_hook, check_maxsize, check_timer, check_ttl

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "INF",
    "MISSING",
    "Counters",
    "Internals",
    "Store",
    "TimedDict",
    "internals",
    "od_get",
    "od_move_to_end",
    "od_popitem",
    "restore",
]

INF = float("inf")


class _Missing:
    """Sentinel type for "no entry"; never stored by callers."""

    __slots__ = ()


MISSING: Any = _Missing()

_TICKED = ("hits", "misses", "evictions")  # counted by ticks too: see Counters

# ``OrderedDict`` methods called as functions: ``od_get(data, key, default)`` is about
# 15 ns faster than ``data.get(key, default)`` on CPython 3.11 (and no slower on
# 3.13), where the method lookup on an OrderedDict instance is never specialised.
od_get = OrderedDict.get
od_move_to_end = OrderedDict.move_to_end
od_popitem = OrderedDict.popitem


class Counters:
    """A cache's statistics counters, also counted by the decorators' generated code.

    Counts changed under the cache's lock (evictions, expirations) are exact;
    hits and misses are counted without one (see ``LRUCache.stats``).

    The generated wrappers count hits, misses and evictions with
    ``next(ticks[name])``: an ``itertools.repeat`` counts down in C and returns
    ``None``, where ``hits += 1`` makes a new int and frees the old one (about 100
    instructions less per count on CPython 3.11). ``total(name)`` adds the ticks
    to the attribute of that name.
    """

    __slots__ = ("bases", "evictions", "expirations", "hits", "misses", "next_expiry", "ticks")

    def __init__(self) -> None:
        self.hits = self.misses = self.evictions = self.expirations = 0
        self.ticks = {name: repeat(None, sys.maxsize) for name in _TICKED}
        self.bases = dict.fromkeys(_TICKED, sys.maxsize)  # each tick's length at zero
        # No entry expires before this time: a lower bound, so a full cache knows when
        # it must look for expired entries before evicting a live one (see _sweep).
        self.next_expiry = -INF

    def total(self, name: str) -> int:
        """The count ``name`` (``"hits"``, ``"misses"`` or ``"evictions"``) with its ticks.

        >>> counts = Counters()
        >>> counts.hits += 1
        >>> next(counts.ticks["hits"])
        >>> counts.total("hits")
        2
        """
        counted: int = getattr(self, name)
        return counted + self.bases[name] - self.ticks[name].__length_hint__()

    def zero(self) -> None:
        """Reset every count (the ticks count on down from where they are)."""
        self.hits = self.misses = self.evictions = self.expirations = 0
        for name, ticks in self.ticks.items():
            self.bases[name] = ticks.__length_hint__()


class TimedDict(OrderedDict[Any, Any]):
    """The store of a cache with deadlines: ``key -> (value, deadline)``.

    Its type tells readers how to read an entry, so a cache switching to timed
    entries (first ``set(ttl=...)``) is never read half-converted.
    """

    __slots__ = ()


class Store:
    """Entries, lock and counters of one cache, and the steps on them (see the module)."""

    __slots__ = (
        "__weakref__",
        "_counts",
        "_data",
        "_hit_ticks",
        "_hook",
        "_lock",
        "_marks",
        "_maxsize",
        "_miss_ticks",
        "_plain_limit",
        "_policy",
        "_timer",
        "_ttl",
    )

    _data: OrderedDict[Any, Any]
    POLICY: ClassVar[str] = "lru"

    def __init__(
        self,
        maxsize: int | None,
        ttl: float | None,
        timer: Callable[[], float] | None,
        on_event: Callable[[str, Any], object] | None,
        data: OrderedDict[Any, Any] | None = None,
    ) -> None:
        """Check the settings and start empty, or with ``data`` (already in this store's form).

        The class's ``POLICY`` names the eviction policy (see _policy).
        """
        checked = check_maxsize(maxsize)
        check_hook(on_event)
        self._hook = on_event
        self._maxsize = sys.maxsize if checked is None else checked
        # An unbounded store never evicts: it needs no policy's bookkeeping.
        lru = check_policy(self.POLICY) == "lru" or self._maxsize == sys.maxsize
        self._policy = None if lru else S3Fifo(self._maxsize)
        # What a hit marks under a policy other than LRU (LRU's own step is inlined, see _lru);
        # an unbounded S3FIFOCache has no policy, and its hits mark nothing.
        self._marks = UNMARKED if self._policy is None else self._policy.visited
        self._ttl = check_ttl(ttl)
        check_timer(timer)
        self._timer = timer
        if data is None:
            data = OrderedDict() if self._ttl is None else TimedDict()
        self._set_data(data)
        if self._policy is not None:
            for key in data:
                self._policy.admit(data, key)
        self._lock = new_mutex()
        self._counts = Counters()
        # ``get`` counts with these (see Counters); ``zero`` keeps the same iterators.
        self._hit_ticks = self._counts.ticks["hits"]
        self._miss_ticks = self._counts.ticks["misses"]

    def _internals_of(self) -> Internals:
        """This store's ``Internals`` (called as ``internals(store)``)."""
        return Internals(
            data=self._data,
            lock=self._lock,
            counts=self._counts,
            timed=type(self._data) is TimedDict,
            touch=self._data.move_to_end if self._policy is None else self._policy.touch,
            lru=self._policy is None,
            maxsize=self._maxsize,
            ttl=self._ttl,
            timer=self._timer,
            insert=self._insert,
            make_room=self._make_room,
            drop_expired=self._drop_expired,
            peek_or_drop=self._peek_or_drop,
            take=self._take,
            empty=self._empty,
            hook=self._hook,
        )

    def _set_data(self, data: OrderedDict[Any, Any]) -> None:
        """Install the store; ``__setitem__`` inlines the plain bounded LRU case only."""
        self._data = data
        plain = type(data) is not TimedDict and self._policy is None
        self._plain_limit = self._maxsize if plain else 0

    def _now(self) -> float:
        timer = self._timer
        return _time.monotonic() if timer is None else timer()

    def _peek_or_drop(self, key: Any) -> Any:
        """The live value for ``key`` like ``peek``; else ``MISSING``, with no entry left.

        An expired entry is dropped (and counted), so a caller that then stores
        ``key`` knows it is new: what a cached function's miss path relies on.
        """
        data = self._data
        entry = data.get(key, MISSING)
        if entry is MISSING or type(data) is not TimedDict:
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
            self._forget(key)
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

    def _live_items(self) -> list[tuple[Any, Any]]:
        """Snapshot of the live entries, least recently used first."""
        items = self._snapshot()
        if type(self._data) is TimedDict:
            now = self._now()
            return [(k, e[0]) for k, e in items if e[1] > now]
        return items

    if TYPE_CHECKING:

        def _insert(self, key: Any, value: Any, ttl: float | None) -> None: ...
        def _make_room(self, now: float) -> None: ...

    else:
        _insert, _make_room = make_steps("Store", LRU_STEPS, TimedDict)

    def _sweep(self, now: float) -> list[Any]:
        """Drop every expired entry, counted as expirations, and return their keys.

        The caller holds the lock.
        Also resets ``Counters.next_expiry``: entries stored later with the default TTL
        expire at ``now + ttl`` or after (the clock is monotonic), and ``_insert``
        lowers it for shorter per-item TTLs.
        """
        data = self._data
        soonest = INF if self._ttl is None else now + self._ttl
        dead = []
        for key, entry in self._snapshot():
            deadline = entry[1]
            if deadline <= now:
                dead.append(key)
            elif deadline < soonest:
                soonest = deadline
        for key in dead:
            del data[key]
            self._forget(key)
            if self._hook is not None:
                self._hook("expiration", key)
        self._counts.expirations += len(dead)
        self._counts.next_expiry = soonest
        return dead

    def _make_timed(self) -> None:
        with holding(self._lock):
            if type(self._data) is not TimedDict:
                self._set_data(TimedDict((k, (v, INF)) for k, v in self._snapshot()))

    def _drop_expired(self, key: Any, entry: object) -> None:
        """Remove ``key`` if it still holds the expired ``entry``, counting it once."""
        lock = self._lock
        lock.get()
        try:
            if self._data.get(key, MISSING) is entry:  # pragma: no branch - else: a racing reader
                del self._data[key]
                self._forget(key)
                self._counts.expirations += 1
                if self._hook is not None:
                    self._hook("expiration", key)
        finally:
            lock.put(None)

    def _take(self, key: Any) -> Any:
        """Remove ``key`` and return its live value or ``MISSING``; the caller holds the lock."""
        self._forget(key)
        data = self._data
        entry = data.pop(key, MISSING)
        if entry is MISSING or type(data) is not TimedDict:
            return entry
        if entry[1] <= self._now():
            self._counts.expirations += 1
            if self._hook is not None:
                self._hook("expiration", key)
            return MISSING
        return entry[0]

    def _forget(self, key: Any) -> None:
        """Tell the policy that ``key`` left by other means than eviction (lock held).

        LRU keeps nothing beside the entries; see ``S3FIFOCache`` for a policy that does.
        """

    def _clear(self) -> None:
        """Drop every entry; the caller holds the lock."""
        self._data.clear()

    def _empty(self) -> None:
        """Drop every entry and zero the counters; the caller holds the lock."""
        self._clear()
        self._counts.zero()


class Internals(NamedTuple):
    """What a cached function uses of the ``Store`` it owns: state and lock-held steps.

    ``insert``, ``make_room``, ``take`` and ``empty`` expect the caller to hold
    ``lock``; ``maxsize`` is ``sys.maxsize`` when unbounded.
    """

    data: OrderedDict[Any, Any]
    lock: Mutex
    counts: Counters
    timed: bool
    touch: Callable[[Any], object]  # a hit's bookkeeping: move_to_end for LRU
    lru: bool  # the inlined insert-and-evict is LRU's
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


def internals(cache: Store) -> Internals:
    """The ``Internals`` of ``cache`` (whose entries must not switch to deadlines later)."""
    return Store._internals_of(cache)  # noqa: SLF001 - the class of this module


def restore(
    cls: type[Store],
    maxsize: int | None,
    ttl: float | None,
    timer: Callable[[], float] | None,
    entries: list[tuple[Any, Any, float | None]],
) -> Any:
    """Rebuild a pickled cache of class ``cls``; remaining lifetimes restart from the new clock.

    ``entries`` are ``(key, value, seconds left or None)``, least recently used first.
    """
    data: OrderedDict[Any, Any]
    if ttl is None and all(remaining is None for _, _, remaining in entries):
        data = OrderedDict((key, value) for key, value, _ in entries)
    else:
        now = _time.monotonic() if timer is None else timer()
        data = TimedDict(
            (key, (value, now + (INF if remaining is None else remaining)))
            for key, value, remaining in entries
        )
    new = cls.__new__(cls)
    Store.__init__(new, maxsize, ttl, timer, None, data)
    return new
