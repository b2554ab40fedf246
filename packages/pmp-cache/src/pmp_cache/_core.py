"""The shared machinery behind one cached function: keys, single flight, clear, stats."""

from __future__ import annotations

import asyncio
import inspect
import threading
from typing import TYPE_CHECKING, Any

from pmp_cache._errors import ReentrantCallError, UnhashableArgumentError
from pmp_cache._keys import argument_forms, bound_key, make_key, unhashable_error
from pmp_cache._lru import MISSING, Internals, LRUCache, internals
from pmp_cache._mutex import holding, new_mutex
from pmp_cache._reentry import COMPUTING, TOKEN, waits_for_itself
from pmp_cache._stats import CacheInfo, CacheStats
from pmp_errors import ConfigurationError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable

    from pmp_cache._backend import AsyncCacheBackend, CacheBackend

__all__ = ["DONE", "ERROR", "OWNER", "VALUE", "Core", "new_flight"]


# A computation in progress in a thread (a "flight") is a list, the cheapest object
# to make on every miss: [owner thread id, Event the waiters block on (made by the
# first waiter, under the lock) or None, the value or MISSING, the exception or None,
# the token of naming it in COMPUTING while it runs (see _reentry)].
# A flight is fresh while it is registered in ``Core.flights``: only its owner,
# ``clear()`` and ``invalidate()`` remove it, so an owner finding its flight gone
# knows its result must not be stored.
OWNER, DONE, VALUE, ERROR = range(4)


def new_flight() -> list[Any]:
    """A flight owned by the calling thread (see above)."""
    return [threading.get_ident(), None, MISSING, None, None]


class _AsyncFlight:
    """One computation in progress on an event loop, shared by its waiters."""

    __slots__ = ("loop", "parent", "stale", "task", "waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task[Any] | None = None
        self.waiters = 0
        self.stale = False
        self.parent: object = None


class Core:
    """State of one cached function (or of one instance's cached method).

    ``store`` is the in-memory ``LRUCache`` the fast wrappers read directly, or
    ``None`` when a ``backend`` is used through its protocol. Hits never take
    the lock; misses take it only to register or finish a flight, never while
    talking to a backend.
    """

    __slots__ = (
        "async_backend",
        "backend",
        "bound_keys",
        "claim",
        "finished",
        "flights",
        "func",
        "generation",
        "key",
        "lock",
        "mem",
        "namespace",
        "release",
        "signature_of",
        "skip",
        "store",
        "ttl",
        "typed",
        "unless",
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
        backend: CacheBackend | AsyncCacheBackend | None,
        signature_of: Callable[..., Any] | None = None,
        skip: int = 0,
        namespace: str | None = None,
        unless: Callable[[Any], object] | None = None,
        on_event: Callable[[str, Any], object] | None = None,
    ) -> None:
        self.func = func
        self.unless = unless  # results it returns true for are not stored
        self.signature_of = func if signature_of is None else signature_of
        self.skip = skip
        self.typed = typed
        self.key = key
        self.ttl = ttl
        self.backend = backend
        self.store: LRUCache[Any, Any] | None = (
            LRUCache(maxsize, ttl, timer=timer, on_event=on_event) if backend is None else None
        )
        name = getattr(self.signature_of, "__qualname__", repr(self.signature_of))
        self.namespace = (
            f"{getattr(self.signature_of, '__module__', '?')}.{name}"
            if namespace is None
            else namespace
        )
        # One lock for the flights and the store, so a miss takes it twice in all.
        self.mem: Internals | None = None if self.store is None else internals(self.store)
        self.lock = new_mutex() if self.mem is None else self.mem.lock
        self.flights: dict[Any, Any] = {}
        self.generation = 0
        self.bound_keys = False  # set when a generated wrapper keys by bound arguments
        # Backends: whether to await their methods, and their cross-process claim if any.
        self.async_backend = backend is not None and inspect.iscoroutinefunction(backend.get)
        claim, release = getattr(backend, "claim", None), getattr(backend, "release", None)
        locking = callable(claim) and callable(release)
        self.claim: Callable[..., Any] | None = claim if locking else None
        self.release: Callable[..., Any] | None = release if locking else None
        # Flights finished (stored) so far: a miss that sees it move re-reads the backend.
        self.finished = 0

    # -- keys -------------------------------------------------------------------------

    def make_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The key for a call, including the namespace when a shared backend is used."""
        key = make_key(args, kwargs, self.typed) if self.key is None else self.key(*args, **kwargs)
        return key if self.backend is None else (self.namespace, key)

    def check_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """After a key lookup failed with ``TypeError``: raise an error naming the culprit.

        ``args`` are those the function gets (with ``self`` for a cached method).

        Raises ``UnhashableArgumentError`` naming the argument (or the ``key=``
        result) when one cannot be hashed; returns when the cause lies elsewhere.
        """
        args = args[self.skip :]  # ``self`` of a per-instance cached method is no part of keys
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

    # -- sync miss path ---------------------------------------------------------------
    # The generic wrappers call ``begin``, then the function itself, then ``finish`` or
    # ``fail``; generated wrappers inline the common case of all three (see _fastpath)
    # and call ``begin`` only when another flight holds the key or its value appeared.

    def begin(self, key: Any, flight: list[Any] | None = None) -> Any:
        """Own ``flight`` (a new one if ``None``) for ``key`` and return it, or return the value.

        The value is one stored or computed meanwhile by another thread, whose
        flight this call waits for. Registering takes no lock
        (``dict.setdefault`` is atomic); the store is read after registering, and
        finishing owners store before they unregister, so a value stored just
        before cannot be missed.
        """
        if flight is None:
            flight = new_flight()
        mem = self.mem
        assert mem is not None
        while True:
            current = self.flights.setdefault(key, flight)
            if current is flight:
                value = mem.peek_or_drop(key)
                if value is MISSING:  # the key is not stored, not even expired
                    return flight
                self.finish(key, flight, value, keep=False)
                self.tally(key, hit=True)
                return value
            if current[OWNER] == flight[OWNER]:
                raise self.reentry_error()
            try:
                value = self._join(key, current, flight[OWNER])
            except Exception:
                self.tally(key, hit=False)  # the owner's exception: served by no cache
                raise
            if value is not MISSING:
                self.tally(key, hit=True)  # joined a computation: counted once, by its owner
                return value
            # The owner was interrupted (KeyboardInterrupt, SystemExit...): try again.

    def tally(self, key: Any, *, hit: bool) -> None:
        """Count a hit or a miss of the in-memory store and report it to ``on_event``."""
        mem = self.mem
        if mem is None:  # a backend counts its own
            return
        if hit:
            mem.counts.hits += 1
        else:
            mem.counts.misses += 1
        if mem.hook is not None:
            mem.hook("hit" if hit else "miss", key)

    def refuses(self, value: Any) -> bool:
        """Whether ``unless=`` keeps ``value`` out of the cache (it still reaches the callers)."""
        unless = self.unless
        return unless is not None and bool(unless(value))

    def reentry_error(self) -> ReentrantCallError:
        """The error for a call waiting on a flight that its own caller is computing."""
        return ReentrantCallError(
            f"{self.namespace}() called itself with the arguments it is computing "
            "(directly, or from a task or thread it started and waits for); "
            "this would wait for itself forever",
            function=self.namespace,
        )

    def compute(self, flight: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Call the function with ``flight`` marked as computed by this context."""
        flight[TOKEN] = COMPUTING.set(flight)
        try:
            return self.func(*args, **kwargs)
        finally:
            COMPUTING.reset(flight[TOKEN])

    def _join(self, key: Any, current: list[Any], owner: int) -> Any:
        """Wait for another thread's flight: its value, its exception, or ``MISSING``."""
        if current[OWNER] == owner or waits_for_itself(current):
            raise self.reentry_error()
        done: threading.Event | None = None
        with holding(self.lock):
            if self.flights.get(key) is current:  # still running: wait for it
                done = current[DONE]
                if done is None:
                    done = current[DONE] = threading.Event()
        if done is not None:
            done.wait()
        error: Exception | None = current[ERROR]
        if error is not None:
            raise error
        return current[VALUE]

    def finish(self, key: Any, flight: list[Any], value: Any, *, keep: bool = True) -> None:
        """Hand the owner's value to the waiters and, with ``keep``, store it.

        It is stored only if the flight is still registered, that is if no
        ``clear()`` or ``invalidate()`` came since it started; it is stored
        before the flight is unregistered (see ``begin``).
        """
        lock = self.lock
        lock.get()
        try:
            flight[VALUE] = value
            if self.flights.get(key) is flight:
                try:
                    if keep:
                        mem = self.mem
                        assert mem is not None
                        mem.insert(key, value, None)  # the lock is shared
                finally:
                    del self.flights[key]
        finally:
            lock.put(None)
            if flight[DONE] is not None:
                flight[DONE].set()

    def fail(self, key: Any, flight: list[Any], error: BaseException) -> None:
        """Hand the owner's exception to the waiters; nothing is stored."""
        lock = self.lock
        lock.get()
        try:
            if self.flights.get(key) is flight:
                del self.flights[key]
            if isinstance(error, Exception):
                flight[ERROR] = error
        finally:
            lock.put(None)
            if flight[DONE] is not None:
                flight[DONE].set()

    # -- backend miss path ------------------------------------------------------------
    # The lock guards only the flights: reading, computing, storing and claiming run
    # outside it, so a slow backend delays nobody but the callers of that key.

    def fetch(  # noqa: C901, PLR0912 - one frame per recursion level, as ``begin`` keeps it
        self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """The backend's value for ``key``, or the function's, computed once per key.

        Concurrent misses in this process share one flight; with a backend that
        offers ``claim`` (``RedisCache(lock=True)``) the owner claims the key
        first, so that other processes compute it once too.
        """
        backend: Any = self.backend
        seen = self.finished
        try:
            value = backend.get(key, MISSING)
        except (TypeError, ValidationError):
            self.check_key(args, kwargs)
            raise
        if value is not MISSING:
            return value
        flight = new_flight()
        while True:
            current = self.flights.setdefault(key, flight)
            if current is flight:
                break
            value = self._join(key, current, flight[OWNER])
            if value is not MISSING:
                return value
            seen = -1  # the owner was interrupted: read the backend again below
        try:
            claimed = False
            try:
                if self.finished != seen:  # a flight finished since our read: read again
                    value = backend.get(key, MISSING)
                if value is MISSING and self.claim is not None:
                    value = self.claim(key, MISSING)
                    claimed = value is MISSING
                if value is MISSING:
                    value = self.compute(flight, args, kwargs)
                    if self.flights.get(key) is flight and not self.refuses(value):
                        backend.set(key, value, self.ttl)
                        claimed = False  # set ends the claim
                        if self.flights.get(key) is not flight:
                            backend.delete(key)  # cleared while storing: clear wins
            finally:
                if claimed and self.release is not None:
                    self.release(key)
        except BaseException as exc:
            self.fail(key, flight, exc)
            raise
        with holding(self.lock):
            if self.flights.get(key) is flight:
                del self.flights[key]
            self.finished += 1
            flight[VALUE] = value
        if flight[DONE] is not None:
            flight[DONE].set()
        return value

    async def afetch(self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``fetch`` for ``async_cache``: awaits an async backend; one flight per key and loop."""
        backend: Any = self.backend
        seen = self.finished
        try:
            value = backend.get(key, MISSING)
            if self.async_backend:
                value = await value
        except (TypeError, ValidationError):
            self.check_key(args, kwargs)
            raise
        if value is not MISSING:
            return value
        return await self.amiss(key, args, kwargs, seen)

    async def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        """Call a backend method, awaiting it when the backend is async."""
        result = method(*args)
        return (await result) if self.async_backend else result

    async def _abackend(
        self,
        flight: _AsyncFlight,
        key: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        seen: int,
    ) -> Any:
        flight.parent = COMPUTING.get()  # in this task's own context (see _reentry)
        COMPUTING.set(flight)
        backend: Any = self.backend
        call = self._call
        generation = self.generation
        value = MISSING
        claimed = False
        try:
            if self.finished != seen:  # a flight finished since our read: read again
                value = await call(backend.get, key, MISSING)
            if value is MISSING and self.claim is not None:
                value = await call(self.claim, key, MISSING)
                claimed = value is MISSING
            if value is MISSING:
                awaitable: Awaitable[Any] = self.func(*args, **kwargs)
                value = await awaitable
                if generation == self.generation and not flight.stale and not self.refuses(value):
                    await call(backend.set, key, value, self.ttl)
                    claimed = False  # set ends the claim
                    if generation != self.generation or flight.stale:
                        await call(backend.delete, key)  # cleared while storing: clear wins
        finally:
            if claimed and self.release is not None:
                await call(self.release, key)
        self.finished += 1
        return value

    # -- async miss path --------------------------------------------------------------

    async def amiss(
        self, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any], seen: int = -1
    ) -> Any:
        """Await a missing value computed once per key and event loop.

        The work runs in its own task that every caller awaits through
        ``asyncio.shield``: cancelling one caller leaves the others waiting;
        when the last waiter is cancelled the work is cancelled too.
        """
        loop = asyncio.get_running_loop()
        flight = self.flights.get(key)
        if flight is None or flight.loop is not loop:
            flight = _AsyncFlight(loop)
            work = (
                self._acompute(flight, key, args, kwargs)
                if self.backend is None
                else self._abackend(flight, key, args, kwargs, seen)
            )
            flight.task = task = loop.create_task(work)
            self.flights[key] = flight
            task.add_done_callback(lambda t: self._afinish(flight, key, t))
            joined = False
        elif waits_for_itself(flight):
            raise self.reentry_error()
        else:
            joined = True
        if not joined:
            self.tally(key, hit=False)  # one miss per computation
        shared = flight.task
        assert shared is not None
        flight.waiters += 1
        try:
            value = await asyncio.shield(shared)
        except Exception:
            if joined:
                self.tally(key, hit=False)  # the computation failed: no cache served it
            raise
        else:
            if joined:
                self.tally(key, hit=True)  # served by a computation another caller started
            return value
        finally:
            flight.waiters -= 1
            if not flight.waiters and not shared.done():
                # Nobody waits any more: cancel the work, and let a caller arriving
                # before its done-callback runs start afresh rather than join it.
                flight.stale = True
                shared.cancel()
                if self.flights.get(key) is flight:
                    del self.flights[key]

    async def _acompute(
        self, flight: _AsyncFlight, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        flight.parent = COMPUTING.get()  # in this task's own context (see _reentry)
        COMPUTING.set(flight)
        generation = self.generation
        awaitable: Awaitable[Any] = self.func(*args, **kwargs)
        value = await awaitable
        if self.refuses(value):
            return value
        mem = self.mem
        assert mem is not None
        with holding(self.lock):
            if generation == self.generation and not flight.stale:
                mem.insert(key, value, None)  # the lock is shared
        return value

    def _afinish(self, flight: _AsyncFlight, key: Any, task: asyncio.Task[Any]) -> None:
        if self.flights.get(key) is flight:
            del self.flights[key]
        if not task.cancelled():
            task.exception()  # retrieved here so an unawaited failure is not reported as lost

    # -- management -------------------------------------------------------------------

    def _async_only(self, name: str) -> ConfigurationError:
        return ConfigurationError(
            f"{self.namespace}() caches in an async backend ({self.backend!r}), which "
            f"cannot be changed from sync code: use 'await {name}' instead",
            config_key="backend",
        )

    def _forget_all(self) -> None:
        """Mark every flight stale and empty the in-memory store (with its counters)."""
        with holding(self.lock):
            self.generation += 1
            for flight in self.flights.values():
                if type(flight) is _AsyncFlight:  # sync flights go stale by leaving flights
                    flight.stale = True
            self.flights.clear()
            if self.mem is not None:
                self.mem.empty()

    def clear(self) -> None:
        """Drop every entry and reset the counters; computations in flight are not stored.

        A backend is cleared after the lock is released; an async backend needs ``aclear``.
        """
        if self.async_backend:
            raise self._async_only("f.acache_clear()")
        self._forget_all()
        if self.backend is not None:
            self.backend.clear()

    async def aclear(self) -> None:
        """``clear`` for ``async_cache``, awaiting an async backend's ``clear``."""
        self._forget_all()
        if self.backend is not None:
            await self._call(self.backend.clear)

    def _keys_of(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> list[Any]:
        """Every key a call with these arguments may be stored under."""
        if self.bound_keys:
            bound = inspect.signature(self.signature_of).bind(
                *((None,) * self.skip), *args, **kwargs
            )
            bound.apply_defaults()
            key = bound_key(list(bound.arguments.values())[self.skip :], typed=self.typed)
            return [key if self.backend is None else (self.namespace, key)]
        forms = argument_forms(self.signature_of, args, kwargs, self.skip)
        return [self.make_key(form_args, form_kwargs) for form_args, form_kwargs in forms]

    def _forget(self, keys: list[Any]) -> bool:
        """Mark the keys' flights stale and drop them from the in-memory store."""
        removed = False
        with holding(self.lock):
            for key in keys:
                flight = self.flights.pop(key, None)
                if type(flight) is _AsyncFlight:  # sync flights go stale by leaving flights
                    flight.stale = True
                if self.mem is not None:
                    removed = self.mem.take(key) is not MISSING or removed
        return removed

    def invalidate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """Drop the entry for these arguments, however they are passed; report if one was."""
        if self.async_backend:
            raise self._async_only("f.acache_invalidate(...)")
        keys = self._keys_of(args, kwargs)
        removed = self._forget(keys)
        backend: Any = self.backend
        if backend is not None:
            for key in keys:
                removed = backend.delete(key) or removed
        return removed

    async def ainvalidate(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
        """``invalidate`` for ``async_cache``, awaiting an async backend's ``delete``."""
        keys = self._keys_of(args, kwargs)
        removed = self._forget(keys)
        backend: Any = self.backend
        if backend is not None:
            for key in keys:
                removed = bool(await self._call(backend.delete, key)) or removed
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
