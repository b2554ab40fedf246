"""Closing a request scope from a synchronous (WSGI) request cycle."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from pmp_di._errors import ScopeError

if TYPE_CHECKING:
    from pmp_di._scope import Scope

__all__ = ["close_scope"]


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
