"""The shared machinery behind one cached function: keys, single flight, clear, stats."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import TYPE_CHECKING, Any

from pmp_cache._errors import ReentrantCallError, UnhashableArgumentError
from pmp_cache._keys import argument_forms, bound_key, make_key, unhashable_error
from pmp_cache._lru import MISSING, LRUCache
from pmp_cache._stats import CacheInfo, CacheStats

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable

    from pmp_cache._backend import CacheBackend

__all__ = ["Core", "Flight"]


class Flight:
    """One computation in progress in a thread; waiters block on ``done``."""

    __slots__ = ("done", "error", "generation", "owner", "stale", "value")

    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.owner = threading.get_ident()
        self.done: threading.Event | None = None  # made by the first waiter, under the lock
        self.value: Any = MISSING
        self.error: Exception | None = None
        self.stale = False


class _AsyncFlight:
    """One computation in progress on an event loop, shared by its waiters."""

    __slots__ = ("loop", "stale", "task", "waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task[Any] | None = None
        self.waiters = 0
        self.stale = False


class Core:
    """State of one cached function (or of one instance's cached method).

    ``store`` is the in-memory ``LRUCache`` the fast wrappers read directly, or
    ``None`` when a ``backend`` is used through its protocol. Hits never take
    the lock; misses take it only to register or finish a flight.
    """

    __slots__ = (
        "backend",
        "bound_keys",
        "flights",
        "func",
        "generation",
        "key",
        "lock",
        "namespace",
        "signature_of",
        "skip",
        "store",
        "ttl",
        "typed",
    )

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        maxsize: int | None,
        ttl: float | None,
        typed: bool,
        key: Callable[..., Hashable] | None,
        timer: Callable[[], float] | None,
        backend: CacheBackend | None,
        signature_of: Callable[..., Any] | None = None,
        skip: int = 0,
    ) -> None:
        self.func = func
        self.signature_of = func if signature_of is None else signature_of
        self.skip = skip
        self.typed = typed
        self.key = key
        self.ttl = ttl
        self.backend = backend
        self.store: LRUCache[Any, Any] | None = (
            LRUCache(maxsize, ttl, timer=timer) if backend is None else None
        )
        name = getattr(self.signature_of, "__qualname__", repr(self.signature_of))
        self.namespace = f"{getattr(self.signature_of, '__module__', '?')}.{name}"
        # One lock for the flights and the store, so a miss takes it twice in all.
        self.lock = threading.Lock() if self.store is None else self.store._lock  # noqa: SLF001
        self.flights: dict[Any, Any] = {}
        self.generation = 0
        self.bound_keys = False  # set when a generated wrapper keys by bound arguments

    # -- keys -------------------------------------------------------------------------

    def make_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The key for a call, including the namespace when a shared backend is used."""
        key = make_key(args, kwargs, self.typed) if self.key is None else self.key(*args, **kwargs)
        return key if self.backend is None else (self.namespace, key)

    def check_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """After a key lookup failed with ``TypeError``: raise an error naming the culprit.

        Raises ``UnhashableArgumentError`` naming the argument (or the ``key=``
        result) when one cannot be hashed; returns when the cause lies elsewhere.
        """
        error = unhashable_error(self.signature_of, args, kwargs, self.skip)
        if error is not None:
            raise error
        if self.key is not None:
            try:
                made = self.key(*args, **kwargs)
                hash(made)
            except TypeError:
                if "made" not in locals():
                    return  # the key= function itself failed: its own error stands
                raise UnhashableArgumentError(
                    f"the key= function of {self.namespace}() returned an unhashable "
                    f"{type(made).__name__}; return a hashable value such as a tuple",
                    field="key",
                    value=made,
                ) from None

    # -- storage ----------------------------------------------------------------------

    def _peek(self, key: Any) -> Any:
        if self.store is not None:
            return self.store.peek(key, MISSING)
        assert self.backend is not None
        return self.backend.get(key, MISSING)

    def _put(self, key: Any, value: Any) -> None:
        """Store a computed value; the caller holds the lock."""
        if self.store is not None:
            self.store._insert(key, value, None)  # noqa: SLF001 - the lock is shared
        else:
            assert self.backend is not None
            self.backend.set(key, value, self.ttl)

    # -- sync miss path ---------------------------------------------------------------
    # The wrapper calls ``begin``, then the function itself, then ``finish`` or ``fail``:
    # two stack frames per level of recursion, as few as the function allows.

    def begin(self, key: Any) -> Any:
        """Own a new flight for ``key`` (returned), or wait for the running one's value.

        Registering takes no lock (``dict.setdefault`` is atomic); only waiters
        and finishing owners take it, so they cannot miss each other.
        """
        store = self.store
        while True:
            value = self._peek(key) if store is None else store.peek(key, MISSING)
            if value is not MISSING:
                return value
            flight = Flight(self.generation)
            current: Flight = self.flights.setdefault(key, flight)
            if current is flight:
                return flight
            if current.owner == flight.owner:
                raise ReentrantCallError(
                    f"{self.namespace}() called itself with the arguments it is "
                    "computing; this would wait for itself forever",
                    function=self.namespace,
                )
            done: threading.Event | None = None
            with self.lock:
                if self.flights.get(key) is current:  # still running: wait for it
                    done = current.done
                    if done is None:
                        done = current.done = threading.Event()
            if done is not None:
                done.wait()
            if current.error is not None:
                raise current.error
            if current.value is not MISSING:
                return current.value
            # The owner was interrupted (KeyboardInterrupt, SystemExit...): try again.

    def finish(self, key: Any, flight: Flight, value: Any) -> None:
        """Store the owner's value unless a clear() or invalidate() came since it started."""
        with self.lock:
            if self.flights.get(key) is flight:
                del self.flights[key]
            if flight.generation == self.generation and not flight.stale:
                if self.store is not None:
                    self.store._insert(key, value, None)  # noqa: SLF001 - the lock is shared
                else:
                    self._put(key, value)
            flight.value = value
            if flight.done is not None:
                flight.done.set()

    def fail(self, key: Any, flight: Flight, error: BaseException) -> None:
        """Hand the owner's exception to the waiters; nothing is stored."""
        with self.lock:
            if self.flights.get(key) is flight:
                del self.flights[key]
            if isinstance(error, Exception):
                flight.error = error
            if flight.done is not None:
                flight.done.set()

    # -- async miss path --------------------------------------------------------------

    async def amiss(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Await a missing value computed once per key and event loop.

        The work runs in its own task that every caller awaits through
        ``asyncio.shield``: cancelling one caller leaves the others waiting;
        when the last waiter is cancelled the work is cancelled too.
        """
        loop = asyncio.get_running_loop()
        flight = self.flights.get(key)
        if flight is None or flight.loop is not loop:
            flight = _AsyncFlight(loop)
            flight.task = task = loop.create_task(self._acompute(flight, key, args, kwargs))
            self.flights[key] = flight
            task.add_done_callback(lambda t: self._afinish(flight, key, t))
        elif flight.task is asyncio.current_task():
            raise ReentrantCallError(
                f"{self.namespace}() awaited itself with the arguments it is computing; "
                "this would wait for itself forever",
                function=self.namespace,
            )
        shared = flight.task
        assert shared is not None
        flight.waiters += 1
        try:
            return await asyncio.shield(shared)
        finally:
            flight.waiters -= 1
            if not flight.waiters and not shared.done():
                shared.cancel()

    async def _acompute(
        self, flight: _AsyncFlight, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        generation = self.generation
        awaitable: Awaitable[Any] = self.func(*args, **kwargs)
        value = await awaitable
        with self.lock:
            if generation == self.generation and not flight.stale:
                self._put(key, value)
        return value

    def _afinish(self, flight: _AsyncFlight, key: Any, task: asyncio.Task[Any]) -> None:
        if self.flights.get(key) is flight:
            del self.flights[key]
        if not task.cancelled():
            task.exception()  # retrieved here so an unawaited failure is not reported as lost

    # -- management -------------------------------------------------------------------

    def clear(self) -> None:
        """Drop every entry and reset the counters; computations in flight are not stored."""
        with self.lock:
            self.generation += 1
            for flight in self.flights.values():
                flight.stale = True
            self.flights.clear()
            if self.store is not None:
                self.store._data.clear()  # noqa: SLF001 - the store is private to this function
                self.store._reset_stats()  # noqa: SLF001
            else:
                assert self.backend is not None
                self.backend.clear()

    def invalidate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Drop the entry for these arguments, however they are passed; report if one was."""
        if self.bound_keys:
            bound = inspect.signature(self.signature_of).bind(
                *((None,) * self.skip), *args, **kwargs
            )
            bound.apply_defaults()
            keys = [bound_key(list(bound.arguments.values())[self.skip :], typed=self.typed)]
        else:
            forms = argument_forms(self.signature_of, args, kwargs, self.skip)
            keys = [self.make_key(form_args, form_kwargs) for form_args, form_kwargs in forms]
        removed = False
        with self.lock:
            for key in keys:
                flight = self.flights.pop(key, None)
                if flight is not None:
                    flight.stale = True
                if self.store is not None:
                    removed = self.store._take(key) is not MISSING or removed  # noqa: SLF001
                else:
                    assert self.backend is not None
                    removed = self.backend.delete(key) or removed
        return removed

    def stats(self) -> CacheStats:
        """The counters of the store (or backend)."""
        target = self.store if self.store is not None else self.backend
        assert target is not None
        return target.stats()

    def info(self) -> CacheInfo:
        """``functools``-style ``(hits, misses, maxsize, currsize)``."""
        stats = self.stats()
        return CacheInfo(stats["hits"], stats["misses"], stats["maxsize"], stats["currsize"])
