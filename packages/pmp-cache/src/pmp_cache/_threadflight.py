"""Thread flights: one computation per key in progress in a thread, shared by its waiters."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from pmp_cache._errors import ReentrantCallError
from pmp_cache._mutex import holding
from pmp_cache._reentry import COMPUTING, TOKEN, waits_for_itself
from pmp_cache._store import MISSING

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_cache._lru import LRUCache
    from pmp_cache._mutex import Mutex
    from pmp_cache._store import Internals

__all__ = ["DONE", "ERROR", "OWNER", "VALUE", "ThreadFlights", "new_flight"]


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


class ThreadFlights:
    """The sync miss path of ``Core``: begin, join, finish or fail a thread flight."""

    __slots__ = ()

    flights: dict[Any, Any]
    func: Callable[..., Any]
    lock: Mutex
    mem: Internals | None
    namespace: str
    store: LRUCache[Any, Any] | None
    unless: Callable[[Any], object] | None

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
