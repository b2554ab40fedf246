"""Stale-while-revalidate: serve an expired entry while one refresher computes it anew.

With ``stale=`` seconds, an entry past its ``ttl`` is stale for ``stale`` more
seconds, as long as the store keeps it (a full store drops expired entries
first, stale ones included). A call finding it stale gets it
at once (a hit, reported as ``"stale"`` to ``on_event``) and, unless a
computation of the key is already running, starts exactly one: in a daemon
thread for ``cache``, in a task for ``async_cache``. The refresh stores its
result as a miss would; if it fails, the stale entry stays until its time is
up (reported as ``"refresh_error"``) and the next stale call tries again.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING, Any

from pmp_cache._store import MISSING
from pmp_cache._taskflight import TaskFlight
from pmp_cache._threadflight import OWNER

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from pmp_cache._store import Internals

__all__ = ["StaleRefresh"]


class StaleRefresh:
    """Serving stale entries and refreshing them, for ``Core``."""

    __slots__ = ()

    flights: dict[Any, Any]
    mem: Internals | None
    namespace: str

    if TYPE_CHECKING:

        def tally(self, key: Any, *, hit: bool) -> None: ...
        def refuses(self, value: Any) -> bool: ...
        def compute(
            self, flight: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Any: ...
        def finish(self, key: Any, flight: list[Any], value: Any, *, keep: bool = True) -> None: ...
        def fail(self, key: Any, flight: list[Any], error: BaseException) -> None: ...
        def _acompute(
            self, flight: TaskFlight, key: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
        ) -> Coroutine[Any, Any, Any]: ...
        def _afinish(self, flight: TaskFlight, key: Any, task: asyncio.Task[Any]) -> None: ...

    def _report(self, kind: str, key: Any) -> None:
        hook: Callable[[str, Any], object] | None = None if self.mem is None else self.mem.hook
        if hook is not None:
            hook(kind, key)

    def serve_stale(
        self, key: Any, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Return the stale ``value``; start a refresh thread unless ``key`` is computing."""
        self.tally(key, hit=True)
        self._report("stale", key)
        flight = [None, None, MISSING, None, None]  # its owner is the refresher: set there
        if self.flights.setdefault(key, flight) is flight:
            try:
                threading.Thread(
                    target=self._refresh,
                    args=(key, flight, args, kwargs),
                    name=f"pmp-cache refresh of {self.namespace}",
                    daemon=True,
                ).start()
            except RuntimeError as exc:  # no thread (interpreter shutdown): a later call retries
                self.fail(key, flight, exc)
                self._report("refresh_error", key)
        return value

    def _refresh(
        self, key: Any, flight: list[Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        flight[OWNER] = threading.get_ident()
        try:
            value = self.compute(flight, args, kwargs)
            refused = self.refuses(value)
        except BaseException as exc:  # noqa: BLE001 - reported; the stale entry stays
            self.fail(key, flight, exc)  # first: a hook that raises must not leave it running
            self._report("refresh_error", key)
            return
        self.finish(key, flight, value, keep=not refused)

    def aserve_stale(
        self, key: Any, value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """``serve_stale`` for ``async_cache``: the refresh runs in a task of this loop."""
        self.tally(key, hit=True)
        self._report("stale", key)
        loop = asyncio.get_running_loop()
        current = self.flights.get(key)
        if current is None or current.loop is not loop:
            flight = TaskFlight(loop)
            flight.task = task = loop.create_task(self._acompute(flight, key, args, kwargs))
            self.flights[key] = flight
            task.add_done_callback(lambda t: self._arefreshed(flight, key, t))
        return value

    def _arefreshed(self, flight: TaskFlight, key: Any, task: asyncio.Task[Any]) -> None:
        self._afinish(flight, key, task)
        if not task.cancelled() and task.exception() is not None:
            self._report("refresh_error", key)
