"""The backend fetch: read a shared store, compute a miss once per key, store the result."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pmp_cache._mutex import holding
from pmp_cache._reentry import COMPUTING
from pmp_cache._store import MISSING
from pmp_cache._threadflight import DONE, OWNER, VALUE, new_flight
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from pmp_cache._mutex import Mutex
    from pmp_cache._taskflight import TaskFlight

__all__ = ["BackendFetch"]


class BackendFetch:
    """The backend miss path of ``Core``, sync (``fetch``) and async (``afetch``).

    Not slotted: it counts the flights it finishes in ``finished``.
    """

    async_backend: bool
    backend: Any
    claim: Callable[..., Any] | None
    finished: int
    flights: dict[Any, Any]
    func: Callable[..., Any]
    generation: int
    lock: Mutex
    release: Callable[..., Any] | None
    ttl: float | None

    if TYPE_CHECKING:

        def check_key(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None: ...
        def compute(
            self, flight: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any: ...
        def refuses(self, value: Any) -> bool: ...
        def fail(self, key: Any, flight: list[Any], error: BaseException) -> None: ...
        def _join(self, key: Any, current: list[Any], owner: int) -> Any: ...

        amiss: Callable[..., Coroutine[Any, Any, Any]]  # TaskFlights.amiss

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
        return await self.amiss(
            key, args, kwargs, lambda flight: self._abackend(flight, key, args, kwargs, seen)
        )

    async def _call(self, method: Callable[..., Any], *args: Any) -> Any:
        """Call a backend method, awaiting it when the backend is async."""
        result = method(*args)
        return (await result) if self.async_backend else result

    async def _abackend(
        self,
        flight: TaskFlight,
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
