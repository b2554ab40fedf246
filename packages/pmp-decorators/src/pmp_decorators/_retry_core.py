"""The attempt loop without I/O: after each failure it says "pause this long" or "stop".

Every retry driver (the sync and async decorators, the ``retrying`` block form) is a
thin loop that keeps the loop's state (attempt number, last pause, total paused): it
runs an attempt, asks :func:`next_pause` after a failure, sleeps the pause it is told
(its only I/O) and, when there is a deadline, asks :func:`overran`. Hooks run here,
and only here, once per retry and once on giving up: the installed instruments
(:data:`HOOKS`) first, then the function's own ``on_retry``/``on_give_up``; when none
is installed each costs one ``is not None`` test.
"""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING

from pmp_decorators._retry_policy import RetryState, check_attempts
from pmp_decorators._settings import Layers, Restorer
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pmp_decorators._instrument import Dispatch
    from pmp_decorators._retry_policy import Policy

__all__ = [
    "HOOKS",
    "TESTING",
    "give_up",
    "next_pause",
    "overran",
    "pause_async",
    "pause_sync",
    "set_retry_testing",
    "use_hooks",
]

HOOKS: Dispatch | None = None
"""The installed instruments (see ``set_instrumentation``), or ``None``."""


def use_hooks(hooks: Dispatch | None) -> None:
    """Report retries to ``hooks`` from now on (``None``: to nobody)."""
    global HOOKS  # noqa: PLW0603 - one switch, read on the failure path
    HOOKS = hooks


class _Testing:
    __slots__ = ("active", "attempts")

    def __init__(self) -> None:
        self.active = False
        self.attempts: int | None = None


TESTING = _Testing()


def _apply_testing(setting: tuple[bool, int | None]) -> None:
    TESTING.active, TESTING.attempts = setting


_TESTING_LAYERS: Layers[tuple[bool, int | None]] = Layers(_apply_testing, base=(False, None))


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
    return _TESTING_LAYERS.push((bool(active), attempts if active else None))


def next_pause(  # noqa: PLR0917 - the loop's whole state, positional for speed
    policy: Policy,
    attempt: int,
    previous: float,
    waited: float,
    start: float,
    exc: BaseException | None,
    result: object,
) -> float | None:
    """Attempt ``attempt`` raised ``exc`` (or returned a rejected ``result``): decide.

    Returns the pause before the next attempt, or ``None`` to stop (the driver then
    raises ``exc`` or returns ``result``). ``previous`` is the last pause (``delay``
    before the first), ``waited`` the total paused so far, ``start`` the clock
    reading at the first attempt (used only with a deadline).
    """
    judge = policy.judge
    if judge is not None and exc is not None and not judge(exc):
        return None  # not a failure to retry: through at once, unchanged
    if exc is not None and exc.__context__ is not None and _cancel_swallowed(exc):
        return None  # the task is being cancelled: retrying would defeat the cancellation
    limit = policy.max_attempts
    cap = TESTING.attempts
    if cap is not None and cap < limit:
        limit = cap
    if attempt < limit:
        wait = policy.wait(attempt, previous, exc)
        if wait < math.inf and (not policy.timed or policy.now() + wait - start < policy.deadline):
            hooks = HOOKS
            if policy.on_retry is not None or hooks is not None:
                state = RetryState(policy.name, attempt, limit, wait, waited, exc, result)
                if hooks is not None:
                    hooks.retry_scheduled(state)
                if policy.on_retry is not None:
                    _tell(policy.on_retry, state)
            return wait
    # out of attempts, an endless pause, or one that would end past the deadline
    give_up(policy, attempt, limit, waited, exc, result)
    return None


def overran(  # noqa: PLR0917 - the loop's whole state, positional for speed
    policy: Policy,
    attempt: int,
    waited: float,
    start: float,
    exc: BaseException | None,
    result: object,
) -> bool:
    """After a pause (with a deadline only): whether the deadline has passed; gives up if so."""
    if policy.now() - start < policy.deadline:
        return False
    cap = TESTING.attempts
    limit = policy.max_attempts if cap is None else min(cap, policy.max_attempts)
    give_up(policy, attempt, limit, waited, exc, result)
    return True


def _cancel_swallowed(exc: BaseException) -> bool:
    """Whether ``exc`` replaced a cancellation of the running task that is still pending.

    A library may turn ``CancelledError`` into its own error (a closed connection);
    retrying that would run on as if ``task.cancel()`` or ``asyncio.timeout`` had never
    fired. Python 3.11+ counts pending cancellations (``Task.cancelling()``).
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is None or sys.version_info < (3, 11):
        return False
    cause: BaseException | None = exc.__context__
    for _ in range(32):  # a chain is short; a cycle must not hang the failure path
        if cause is None:
            return False
        if isinstance(cause, asyncio.CancelledError):
            break
        cause = cause.__context__
    else:
        return False
    try:
        task = asyncio.current_task()
    except RuntimeError:  # no running event loop in this thread
        return False
    return task is not None and task.cancelling() > 0


def give_up(  # noqa: PLR0917 - private
    policy: Policy,
    attempt: int,
    limit: int,
    waited: float,
    exc: BaseException | None,
    result: object,
) -> None:
    """Run the give-up hook and note the attempts on the exception about to be raised."""
    hooks = HOOKS
    if policy.on_give_up is not None or hooks is not None:
        state = RetryState(policy.name, attempt, limit, None, waited, exc, result)
        if hooks is not None:
            hooks.retry_gave_up(state)
        if policy.on_give_up is not None:
            _tell(policy.on_give_up, state)
    if exc is not None:
        _note_once(exc, f"{policy.name}: gave up after ", f"{attempt} attempt(s)")


def _tell(hook: Callable[[RetryState], object], state: RetryState) -> None:
    """Run a hook; an error it raises shows the failure it was told about as context."""
    try:
        hook(state)
    except Exception as broken:
        if broken.__context__ is None:  # the drivers call hooks outside their except blocks
            broken.__context__ = state.exception
        raise


def _note_once(exc: BaseException, prefix: str, rest: str) -> None:
    """Add ``prefix + rest`` as a note, replacing an earlier note with the same prefix.

    An exception object raised again (a module-level constant) keeps one note.
    """
    notes = getattr(exc, "__notes__", None)
    if isinstance(notes, list):
        notes[:] = [n for n in notes if not (isinstance(n, str) and n.startswith(prefix))]
        notes.append(prefix + rest)
    elif notes is not None:  # not a list: no note fits, and the failure must not change
        return
    elif sys.version_info >= (3, 11):
        exc.add_note(prefix + rest)
    else:  # pragma: no cover - exercised on Python 3.10 only
        exc.__notes__ = [prefix + rest]  # type: ignore[attr-defined]


def pause_sync(sleep: Callable[[float], object] | None, wait: float) -> None:
    """Sleep ``wait`` seconds with a blocking ``sleep`` (``time.sleep`` when ``None``).

    A ``sleep`` that returns an awaitable is refused: nothing would await it.
    """
    if sleep is None:
        sleep = time.sleep
    pending = sleep(wait)
    if hasattr(pending, "__await__"):
        close = getattr(pending, "close", None)
        if close is not None:
            close()  # a coroutine never awaited: close it so it does not warn
        raise ValidationError(
            f"sleep={sleep!r} returned an awaitable where nothing awaits it, so the "
            f"retries would not pause; pass a blocking sleep such as time.sleep",
            field="sleep",
            value=sleep,
            expected="a blocking sleep for plain functions and `for` loops",
        )


async def pause_async(sleep: Callable[[float], object] | None, wait: float) -> None:
    """Sleep ``wait`` seconds with ``sleep`` (awaited if it returns an awaitable)."""
    if sleep is None:
        import asyncio

        await asyncio.sleep(wait)
    else:
        pending = sleep(wait)
        if hasattr(pending, "__await__"):
            await pending
