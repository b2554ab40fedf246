"""The shared machinery behind one cached function: keys, single flight, clear, stats."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from pmp_cache._errors import UnhashableArgumentError
from pmp_cache._fetch import BackendFetch
from pmp_cache._keys import argument_forms, bound_key, make_key, unhashable_error
from pmp_cache._mutex import holding, new_mutex
from pmp_cache._s3fifo import memory_store
from pmp_cache._stale import StaleRefresh
from pmp_cache._stats import CacheInfo, CacheStats
from pmp_cache._store import MISSING, Internals, internals
from pmp_cache._taskflight import TaskFlight, TaskFlights
from pmp_cache._threadflight import ThreadFlights
from pmp_errors import ConfigurationError

if TYPE_CHECKING:
    from collections.abc import Callable, Hashable

    from pmp_cache._backend import AsyncCacheBackend, CacheBackend
    from pmp_cache._lru import LRUCache

__all__ = ["Core"]


class Core(ThreadFlights, TaskFlights, BackendFetch, StaleRefresh):
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
        "stale",
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
        stale: float | None = None,
        policy: str = "lru",
    ) -> None:
        self.func = func
        self.unless = unless  # results it returns true for are not stored
        self.stale = stale  # seconds an entry is served stale, after its ttl
        self.signature_of = func if signature_of is None else signature_of
        self.skip = skip
        self.typed = typed
        self.key = key
        self.ttl = ttl
        self.backend = backend
        self.store: LRUCache[Any, Any] | None = (
            memory_store(policy, maxsize, ttl, timer=timer, on_event=on_event)
            if backend is None
            else None
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
                if type(flight) is TaskFlight:  # sync flights go stale by leaving flights
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
                if type(flight) is TaskFlight:  # sync flights go stale by leaving flights
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
