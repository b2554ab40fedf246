"""Closing a request scope from a synchronous (WSGI) request cycle."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Generic, TypeVar

from pmp_di._errors import ScopeError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from typing_extensions import Self

    from pmp_di._scope import Scope

__all__ = ["ClosingBody", "close_scope"]

T = TypeVar("T")


def close_scope(scope: Scope, exc: BaseException | None) -> None:
    """Close *scope*, running async finalizers (left by an async view) in an event loop of its own.

    A synchronous ``close`` refuses async finalizers and then closes nothing, so the
    fallback ``aclose`` runs every finalizer, sync and async, in order.
    """
    try:
        scope.close(exc)
    except ScopeError:
        if scope.closed:
            raise
        asyncio.run(scope.aclose(exc))


class ClosingBody(Generic[T]):
    """A streamed response body that calls *on_close* once it was sent or abandoned.

    *on_close* gets the exception that ended the body early, if any; the server's
    ``close()`` (after the last chunk, or when the client went away) calls it too.
    """

    __slots__ = ("_body", "_on_close")

    def __init__(self, body: Iterable[T], on_close: Callable[[BaseException | None], None]) -> None:
        self._on_close: Callable[[BaseException | None], None] | None = on_close
        self._body = iter(body)

    def __iter__(self) -> Self:
        return self

    def __next__(self) -> T:
        try:
            return next(self._body)
        except StopIteration:
            self.close()
            raise
        except BaseException as exc:
            self.close(exc)
            raise

    def close(self, exc: BaseException | None = None) -> None:
        """Close the body, then call *on_close* (once)."""
        on_close, self._on_close = self._on_close, None
        if on_close is not None:
            try:
                close = getattr(self._body, "close", None)
                if close is not None:
                    close()
            finally:
                on_close(exc)
