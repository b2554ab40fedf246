"""The lock behind every write: a ``queue.SimpleQueue`` holding one token while free.

``lock.get()`` takes the token, blocking while another thread holds it;
``lock.put(None)`` gives it back. Both are C calls without argument parsing:
on CPython 3.10-3.13 an uncontended ``get()`` / ``put(None)`` pair costs 30-70 ns
less than ``Lock.acquire()`` / ``release()`` and a third of ``with lock:``,
which matters on write paths where the lock is a large part of the work. The
queue must be the exact ``SimpleQueue`` type: the interpreter's fast path for
calling C methods does not apply to instances of a subclass.

Hot paths write ``lock.get()`` / ``try`` / ``finally: lock.put(None)``; the
others use ``with holding(lock):``. Only the holder gives the token back: a
second ``put`` would let two threads hold the lock.
"""

from __future__ import annotations

from queue import SimpleQueue
from typing import TypeAlias

__all__ = ["Mutex", "holding", "new_mutex"]

Mutex: TypeAlias = "SimpleQueue[None]"


def new_mutex() -> Mutex:
    """Return a free lock.

    >>> lock = new_mutex()
    >>> lock.get()
    >>> lock.put(None)
    """
    lock: Mutex = SimpleQueue()
    lock.put(None)
    return lock


class holding:  # noqa: N801 - used like a function: ``with holding(lock):``
    """Hold ``lock`` for the duration of a ``with`` block.

    >>> lock = new_mutex()
    >>> with holding(lock):
    ...     lock.empty()
    True
    """

    __slots__ = ("_lock",)

    def __init__(self, lock: Mutex) -> None:
        self._lock = lock

    def __enter__(self) -> None:
        self._lock.get()

    def __exit__(self, *exc_info: object) -> None:
        self._lock.put(None)
