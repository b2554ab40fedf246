"""The attempt loop without I/O: after each failure it says "pause this long" or "stop".

Every retry driver (the sync and async decorators, the ``retrying`` block form) is a
thin loop around :class:`Attempts`: it runs an attempt, reports a failure with
:meth:`Attempts.failed`, sleeps the pause it is told (its only I/O) and reports it
with :meth:`Attempts.paused`. Hooks run here, and only here, once per retry and once
on giving up; when none is installed each costs one ``is not None`` test.
"""

from __future__ import annotations

import math
import sys
from typing import TYPE_CHECKING

from pmp_decorators._retry_policy import RetryState, check_attempts
from pmp_decorators._settings import Restorer

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_decorators._retry_policy import Policy

__all__ = ["TESTING", "Attempts", "pause_async", "set_retry_testing"]


class _Testing:
    __slots__ = ("active", "attempts")

    def __init__(self) -> None:
        self.active = False
        self.attempts: int | None = None


TESTING = _Testing()


def set_retry_testing(active: bool = True, *, attempts: int | None = None) -> Restorer:
    """Turn retry test mode on (no waiting at all) or off, for every retried function.

    In test mode the backoff is still computed and handed to the hooks, but nothing
    sleeps; ``attempts`` optionally caps the number of attempts. The change applies at
    once; used in a ``with`` statement it is undone on exit.

    >>> with set_retry_testing(attempts=1):
    ...     pass  # retried functions make one attempt and never sleep here
    """
    if attempts is not None:
        check_attempts(attempts, "attempts")
    previous = (TESTING.active, TESTING.attempts)

    def undo() -> None:
        TESTING.active, TESTING.attempts = previous

    TESTING.active = bool(active)
    TESTING.attempts = attempts if active else None
    return Restorer(undo)


class Attempts:
    """The state of one retried call after its first failure (sans I/O).

    ``failed(exc, result)`` returns the pause before the next attempt, or ``None``
    to stop (the driver then raises ``exc`` or returns ``result``). After pausing,
    ``paused(wait)`` returns whether to make the next attempt (``False`` once the
    deadline has passed). ``sleeps`` is false in test mode.
    """

    __slots__ = ("attempt", "limit", "policy", "previous", "sleeps", "start", "waited")

    def __init__(self, policy: Policy, start: float) -> None:
        self.policy = policy
        self.start = start
        self.attempt = 1
        self.waited = 0.0
        self.previous = policy.delay
        cap = TESTING.attempts
        self.limit = policy.max_attempts if cap is None else min(cap, policy.max_attempts)
        self.sleeps = not TESTING.active

    def failed(self, exc: BaseException | None, result: object) -> float | None:
        """Attempt ``self.attempt`` raised ``exc`` (or returned a rejected ``result``)."""
        policy = self.policy
        judge = policy.judge
        if judge is not None and exc is not None and not judge(exc):
            return None  # not a failure to retry: through at once, unchanged
        if self.attempt < self.limit:
            wait = policy.wait(self.attempt, self.previous, exc)
            if wait < math.inf and (
                policy.deadline == math.inf or policy.now() + wait - self.start < policy.deadline
            ):
                if policy.on_retry is not None:
                    policy.on_retry(
                        RetryState(
                            policy.name, self.attempt, self.limit, wait, self.waited, exc, result
                        )
                    )
                self.previous = wait
                return wait
        # out of attempts, an endless pause, or one that would end past the deadline
        self._give_up(exc, result)
        return None

    def paused(self, wait: float, exc: BaseException | None, result: object) -> bool:
        """The driver paused ``wait`` seconds; whether to make the next attempt."""
        self.waited += wait
        policy = self.policy
        if policy.deadline != math.inf and policy.now() - self.start >= policy.deadline:
            self._give_up(exc, result)  # a slow sleep overran the deadline
            return False
        self.attempt += 1
        return True

    def _give_up(self, exc: BaseException | None, result: object) -> None:
        policy = self.policy
        if policy.on_give_up is not None:
            policy.on_give_up(
                RetryState(policy.name, self.attempt, self.limit, None, self.waited, exc, result)
            )
        if exc is not None:
            _note_once(exc, f"{policy.name}: gave up after ", f"{self.attempt} attempt(s)")


def _note_once(exc: BaseException, prefix: str, rest: str) -> None:
    """Add ``prefix + rest`` as a note, replacing an earlier note with the same prefix.

    An exception object raised again (a module-level constant) keeps one note.
    """
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [n for n in notes if not (isinstance(n, str) and n.startswith(prefix))]
        notes.append(prefix + rest)
    elif sys.version_info >= (3, 11):
        exc.add_note(prefix + rest)
    else:  # pragma: no cover - exercised on Python 3.10 only
        exc.__notes__ = [prefix + rest]  # type: ignore[attr-defined]


async def pause_async(sleep: Callable[[float], object] | None, wait: float) -> None:
    """Sleep ``wait`` seconds with ``sleep`` (awaited if it returns an awaitable)."""
    if sleep is None:
        import asyncio

        await asyncio.sleep(wait)
    else:
        pending = sleep(wait)
        if hasattr(pending, "__await__"):
            await pending
