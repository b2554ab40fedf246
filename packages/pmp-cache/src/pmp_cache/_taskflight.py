"""Task flights: one computation per key and event loop, in a task its callers share."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from pmp_cache._mutex import holding
from pmp_cache._reentry import COMPUTING, waits_for_itself

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

    from pmp_cache._errors import ReentrantCallError
    from pmp_cache._mutex import Mutex
    from pmp_cache._store import Internals

__all__ = ["TaskFlight", "TaskFlights"]


class TaskFlight:
    """One computation in progress on an event loop, shared by its waiters."""

    __slots__ = ("loop", "parent", "stale", "task", "waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task[Any] | None = None
        self.waiters = 0
        self.stale = False
        self.parent: object = None


class TaskFlights:
    """The async miss path of ``Core``: start, join or drop a task flight."""

    __slots__ = ()

    backend: Any
    flights: dict[Any, Any]
    func: Callable[..., Any]
    generation: int
    lock: Mutex
    mem: Internals | None

    if TYPE_CHECKING:

        def tally(self, key: Any, *, hit: bool) -> None: ...
        def refuses(self, value: Any) -> bool: ...
        def reentry_error(self) -> ReentrantCallError: ...

    async def amiss(
        self,
        key: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        load: Callable[[TaskFlight], Coroutine[Any, Any, Any]] | None = None,
    ) -> Any:
        """Await a missing value computed once per key and event loop.

        The work runs in its own task that every caller awaits through
        ``asyncio.shield``: cancelling one caller leaves the others waiting;
        when the last waiter is cancelled the work is cancelled too.
        """
        loop = asyncio.get_running_loop()
        flight = self.flights.get(key)
        if flight is None or flight.loop is not loop:
            flight = self._astart(loop, key, args, kwargs, previous=flight, load=load)
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

    def _astart(
        self,
        loop: asyncio.AbstractEventLoop,
        key: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        *,
        previous: TaskFlight | None,
        load: Callable[[TaskFlight], Coroutine[Any, Any, Any]] | None,
    ) -> TaskFlight:
        """Start computing ``key`` on ``loop``; ``previous`` is another loop's flight, if any."""
        if previous is not None and waits_for_itself(previous):  # called from a loop it started
            raise self.reentry_error()
        flight = TaskFlight(loop)
        work = self._acompute(flight, key, args, kwargs) if load is None else load(flight)
        flight.task = task = loop.create_task(work)
        self.flights[key] = flight
        task.add_done_callback(lambda t: self._afinish(flight, key, t))
        return flight

    async def _acompute(
        self, flight: TaskFlight, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
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

    def _afinish(self, flight: TaskFlight, key: Any, task: asyncio.Task[Any]) -> None:
        if self.flights.get(key) is flight:
            del self.flights[key]
        flight.task = None  # the task's context holds the flight: no cycle keeps its result
        if not task.cancelled():
            task.exception()  # retrieved here so an unawaited failure is not reported as lost
