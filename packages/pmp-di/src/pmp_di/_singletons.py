"""Getters of singletons: built once across threads, tasks and event loops."""

from __future__ import annotations

import asyncio
import concurrent.futures
from typing import TYPE_CHECKING, Any

from pmp_di._registration import UNSET, State
from pmp_di._scope import reentered

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["async_singleton_getter", "singleton_getter"]


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Mark a waiter's copy of the build's outcome as seen (its error is raised elsewhere)."""
    if not future.cancelled():
        future.exception()


def singleton_getter(state: State, builder: Callable[[], Any], name: str) -> Callable[[], Any]:
    def get() -> Any:
        value = state.value
        if value is UNSET:
            with state.lock:
                value = state.value
                if value is UNSET:
                    if state.building is not None:  # this thread, inside its own build
                        raise reentered(name)
                    state.building = True
                    try:
                        value = builder()
                    finally:
                        state.building = None
                    state.value = value
        return value

    return get


def async_singleton_getter(
    state: State, builder: Callable[[], Any], name: str
) -> Callable[[], Any]:
    async def aget() -> Any:
        while True:
            value = state.value
            if value is not UNSET:
                return value
            task = asyncio.current_task()
            with state.lock:  # one builder across tasks, threads and event loops
                value, pending = state.value, state.pending
                if value is not UNSET:
                    return value
                if pending is None:
                    pending = state.pending = concurrent.futures.Future[Any]()
                    state.building = task
                    break
                if state.building is task:  # awaiting its own build would never end
                    raise reentered(name)
            waiter = asyncio.wrap_future(pending)
            waiter.add_done_callback(_retrieve)  # the error is re-raised from ``pending``
            await asyncio.wait((waiter,))
            if not pending.cancelled():  # a cancelled builder lets a waiter build instead
                return pending.result()
        try:
            value = await builder()
        except BaseException as exc:
            with state.lock:
                state.pending = state.building = None
            if isinstance(exc, asyncio.CancelledError):
                pending.cancel()
            else:
                pending.set_exception(exc)
            raise
        with state.lock:
            state.value, state.pending, state.building = value, None, None
        pending.set_result(value)
        return value

    return aget
