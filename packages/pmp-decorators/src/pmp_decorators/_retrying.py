"""Retry a block of code that is not a function: ``for attempt in retrying(...)``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmp_decorators._callables import refuse_async_sleep
from pmp_decorators._retry_core import TESTING, next_pause, overran, pause_async, pause_sync
from pmp_decorators._retry_policy import Policy
from pmp_errors import ValidationError

if TYPE_CHECKING:
    import random
    from collections.abc import AsyncIterator, Callable, Iterator
    from types import TracebackType

    from typing_extensions import Self

    from pmp_decorators._retry import Exceptions
    from pmp_decorators._retry_policy import Jitter, RetryState

__all__ = ["Attempt", "Retrying", "retrying"]


class _Loop:
    """The state of one ``for`` loop over :class:`Retrying`, shared by its attempts."""

    __slots__ = ("done", "exc", "number", "policy", "previous", "start", "wait", "waited")

    def __init__(self, policy: Policy) -> None:
        self.policy = policy
        self.start = policy.now() if policy.timed else 0.0
        self.number = 0
        self.previous = policy.delay
        self.waited = 0.0
        self.wait: float | None = None  # set when the last attempt failed and is retried
        self.exc: BaseException | None = None
        self.done = False  # the loop has ended: none of its attempts runs a block again

    def next(self) -> Attempt:
        self.number += 1
        self.wait = None
        return Attempt(self, self.number)

    def failed(self, exc: BaseException) -> bool:
        """The block raised ``exc``: whether it is swallowed (and retried after a pause)."""
        policy = self.policy
        if not isinstance(exc, policy.catch) or isinstance(exc, policy.passthrough):
            return False
        wait = next_pause(policy, self.number, self.previous, self.waited, self.start, exc, None)
        if wait is None:
            return False
        self.wait = self.previous = wait
        self.exc = exc
        return True

    def go_on(self) -> None:
        """After the pause: raise the last exception when the deadline has passed."""
        assert self.wait is not None
        self.waited += self.wait
        exc = self.exc
        self.exc = None
        if self.policy.timed and overran(
            self.policy, self.number, self.waited, self.start, exc, None
        ):
            assert exc is not None
            raise exc


class Attempt:
    """One attempt of a :func:`retrying` loop: a context manager around its code.

    ``number`` counts from 1. A retryable exception raised in the ``with`` block is
    swallowed and the loop pauses before the next attempt; any other exception, and
    the last one when retrying gives up, propagates out of the loop. An attempt kept
    past its own iteration raises ``RuntimeError`` on ``with`` instead of running a
    block that nothing would retry.
    """

    __slots__ = ("_loop", "number")

    def __init__(self, loop: _Loop, number: int) -> None:
        self._loop = loop
        self.number = number

    def _current(self) -> bool:
        return not self._loop.done and self._loop.number == self.number

    def __enter__(self) -> Self:
        if not self._current():
            msg = (
                f"attempt {self.number} was used after its loop moved on: "
                "write `with attempt:` only inside its own iteration of the loop"
            )
            raise RuntimeError(msg)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        # a stale attempt never swallows: nothing would run the block again
        return exc is not None and self._current() and self._loop.failed(exc)

    def __repr__(self) -> str:
        return f"<Attempt {self.number}>"


class Retrying:
    """Iterate it (``for``, or ``async for``) and run each attempt in ``with attempt:``.

    Made by :func:`retrying`; one object may be iterated many times, each loop being
    one retried operation.
    """

    __slots__ = ("_policy",)

    def __init__(self, policy: Policy) -> None:
        self._policy = policy

    def __iter__(self) -> Iterator[Attempt]:
        refuse_async_sleep(self._policy.sleep, "this is a plain `for` loop (use `async for`)")
        loop = _Loop(self._policy)
        try:
            while True:
                yield loop.next()
                wait = loop.wait
                if wait is None:  # the block succeeded (or was left without an exception)
                    return
                if not TESTING.active:
                    pause_sync(self._policy.sleep, wait)
                loop.go_on()
        finally:  # also on `break` and on an exception leaving the loop
            loop.done = True

    async def __aiter__(self) -> AsyncIterator[Attempt]:
        loop = _Loop(self._policy)
        try:
            while True:
                yield loop.next()
                wait = loop.wait
                if wait is None:
                    return
                if not TESTING.active:
                    await pause_async(self._policy.sleep, wait)
                loop.go_on()
        finally:  # on `break` only once the async generator is closed
            loop.done = True


def retrying(
    max_attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    exceptions: Exceptions | None = None,
    *,
    max_delay: float | None = None,
    deadline: float | None = None,
    jitter: Jitter = "full",
    rng: random.Random | None = None,
    retry_after: Callable[[BaseException], float | None] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    on_give_up: Callable[[RetryState], object] | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] | None = None,
    name: str = "retrying block",
) -> Retrying:
    """Retry a block of code that is not a function, one ``with attempt:`` per attempt.

    Takes the arguments of :func:`retry` (with the same defaults and rules) and
    runs the same attempt loop; use ``async for`` in a coroutine (then the pauses
    use ``asyncio.sleep``, or ``sleep`` awaited). ``name`` labels the hooks' states
    and the note added to the exception when retrying gives up.

    >>> calls = []
    >>> for attempt in retrying(max_attempts=3, delay=0.0):
    ...     with attempt:
    ...         calls.append(attempt.number)
    ...         if len(calls) < 2:
    ...             raise ConnectionError("flaky")
    >>> calls
    [1, 2]
    """
    arguments = locals()  # exactly the arguments above
    del arguments["name"]
    policy = Policy(**arguments)
    if not isinstance(name, str):
        raise ValidationError(
            f"name must be a str, got {name!r}", field="name", value=name, expected="str"
        )
    policy.name = name
    return Retrying(policy)
