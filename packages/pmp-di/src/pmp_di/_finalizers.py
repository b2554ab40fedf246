"""Finalizers: the exits of entered context managers, run newest first on close."""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import sys
from typing import TYPE_CHECKING, Any

from pmp_di._errors import CleanupError, ScopeError
from pmp_di._registration import display

if TYPE_CHECKING:
    from collections.abc import Coroutine
    from types import TracebackType

__all__ = ["Finalizers"]


def _exit_args(
    exc: BaseException | None,
) -> tuple[type[BaseException] | None, BaseException | None, TracebackType | None]:
    if exc is None:
        return None, None, None
    return type(exc), exc, exc.__traceback__


def _name(finalizer: Any) -> str:
    """The factory behind a finalizer (the generator of a generator's context manager)."""
    manager = getattr(finalizer, "__self__", finalizer)
    name = getattr(getattr(manager, "gen", None), "__qualname__", None)
    return name if isinstance(name, str) else display(manager)


class _Outcome:
    """The failures gathered while finalizers run; an interruption takes precedence."""

    __slots__ = ("errors", "exc", "interrupt")

    def __init__(self, exc: BaseException | None) -> None:
        self.exc = exc
        self.errors: list[BaseException] = []
        self.interrupt: BaseException | None = None

    def failed(self, failure: BaseException) -> None:
        if failure is self.exc:
            return
        if isinstance(failure, Exception):
            self.errors.append(failure)
        elif self.interrupt is None:
            self.interrupt = failure

    def raise_(self, where: str) -> None:
        errors = self.errors
        failures = None
        if errors:
            msg = f"{len(errors)} finalizer(s) of the {where} failed: " + "; ".join(
                f"{type(e).__name__}: {e}" for e in errors
            )
            failures = CleanupError(msg, errors=tuple(errors))
            failures.__cause__ = errors[0]
        if self.interrupt is not None:
            raise self.interrupt from failures
        if failures is not None:
            raise failures


class Finalizers:
    """The exits of a container's or a scope's entered context managers.

    ``close`` refuses (and keeps everything) while an async exit is pending, so
    nothing is dropped: ``aclose`` runs them all.
    """

    __slots__ = ("closing", "exits", "where")

    def __init__(self, where: str) -> None:
        self.where = where
        self.exits: list[tuple[bool, Any]] = []
        # the outcome of an ``aclose`` under way: a thread-safe future, since a caller
        # on another thread's event loop may wait for it too
        self.closing: concurrent.futures.Future[None] | None = None

    def enter(self, manager: Any) -> Any:
        """Enter a context manager; its exit runs when this closes."""
        value = manager.__enter__()
        self.exits.append((False, manager.__exit__))
        return value

    async def aenter(self, manager: Any) -> Any:
        """Enter an async context manager; its exit is awaited when this closes."""
        value = await manager.__aenter__()
        self.exits.append((True, manager.__aexit__))
        return value

    def check_sync(self) -> None:
        """Refuse a synchronous close while an async finalizer is pending (nothing runs)."""
        pending = [finalizer for is_async, finalizer in self.exits if is_async]
        if pending:
            names = ", ".join(_name(f) for f in pending)
            msg = (
                f"the {self.where} has {len(pending)} async finalizer(s) pending ({names}); "
                f"a synchronous close cannot run them: use `async with` or "
                f"`await ....aclose()` (nothing was closed)"
            )
            raise ScopeError(msg, pending=len(pending))

    def close(self, exc: BaseException | None = None) -> None:
        """Run every exit, newest first; gather failures into one ``CleanupError``."""
        self.check_sync()
        exits, outcome = self.exits, _Outcome(exc)
        while exits:
            _, finalizer = exits.pop()
            try:
                finalizer(*_exit_args(exc))
            except BaseException as failure:  # noqa: BLE001 - every finalizer runs; re-raised below
                outcome.failed(failure)
        outcome.raise_(self.where)

    async def aclose(self, exc: BaseException | None = None) -> None:
        """Like :meth:`close`, also awaiting async exits, shielded from cancellation.

        A cancellation (a client gone, a timeout) arriving meanwhile does not cut a
        finalizer short: every exit runs to its end, then the cancellation is raised.
        A second caller while one runs waits for it and sees its outcome.
        """
        closing = self.closing
        if closing is None or closing.done():
            if not any(is_async for is_async, _ in self.exits):
                self.close(exc)
                return
            closing = self.closing = concurrent.futures.Future()
            _runner(self._aclose(exc)).add_done_callback(functools.partial(_settle, closing))
        outcome = asyncio.wrap_future(closing)
        interrupt: asyncio.CancelledError | None = None
        while not outcome.done():
            try:
                await asyncio.wait((outcome,))
            except asyncio.CancelledError as cancelled:  # noqa: PERF203 - held until the finalizers are done
                interrupt = cancelled
        if interrupt is None or outcome.cancelled():
            outcome.result()
            return
        raise interrupt from outcome.exception()

    async def _aclose(self, exc: BaseException | None) -> None:
        exits, outcome = self.exits, _Outcome(exc)
        while exits:
            is_async, finalizer = exits.pop()
            try:
                if is_async:
                    await finalizer(*_exit_args(exc))
                else:
                    finalizer(*_exit_args(exc))
            except BaseException as failure:  # noqa: BLE001 - every finalizer runs; re-raised below
                outcome.failed(failure)
        outcome.raise_(self.where)


def _settle(closing: concurrent.futures.Future[None], runner: asyncio.Task[None]) -> None:
    """Hand the outcome of the task running the finalizers to every waiting caller."""
    if closing.cancelled():
        return
    if runner.cancelled():
        closing.cancel()
    elif runner.exception() is not None:
        closing.set_exception(runner.exception())
    else:
        closing.set_result(None)


def _runner(coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
    """A task running ``coro`` in the running task's own context where Python exposes it.

    From Python 3.12 that is the same ``Context`` (so a ``ContextVar`` set before a
    factory's ``yield`` can be reset by its token after it); before, a copy of it.
    """
    if sys.version_info >= (3, 12):
        task = asyncio.current_task()
        if task is not None:  # a Task made directly starts later, never eagerly inside this one
            return asyncio.Task(coro, context=task.get_context())
    return asyncio.ensure_future(coro)
