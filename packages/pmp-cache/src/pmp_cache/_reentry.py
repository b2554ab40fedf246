"""Telling a call that would wait for itself from one that waits for another caller.

While a computation (a flight) runs, a context variable names it, and each
flight remembers the one it runs inside (its parent). A task or thread started
with the context of a running computation (``asyncio.gather``, ``create_task``,
``asyncio.to_thread``, ``contextvars.copy_context().run``) inherits the chain
as it was when the context was copied: when it is about to wait for a flight
on that chain, the flight waits for it, and waiting would deadlock.

A sync flight is the list of ``_core.new_flight`` (its ``TOKEN`` slot holds the
token of setting the variable, whose ``old_value`` is the parent); an async
flight has a ``parent`` attribute.
"""

from __future__ import annotations

import contextvars
from typing import Any

__all__ = ["COMPUTING", "TOKEN", "waits_for_itself"]

COMPUTING: contextvars.ContextVar[Any] = contextvars.ContextVar("pmp_cache_computing", default=None)

TOKEN = 4  # the slot of a sync flight that holds its token
_UNSET = contextvars.Token.MISSING


def waits_for_itself(flight: object) -> bool:
    """Whether the current thread or task runs inside the computation ``flight``.

    >>> waits_for_itself(object())
    False
    """
    node = COMPUTING.get()
    while node is not None and node is not _UNSET:
        if node is flight:
            return True
        node = node[TOKEN].old_value if type(node) is list else node.parent
    return False
