"""Retry a failing call with exact, capped exponential backoff (sync and async)."""

from __future__ import annotations

import copy
import functools
import math
import random
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from pmp_decorators._callables import refuse_bare_use, refuse_generator
from pmp_decorators._settings import Restorer
from pmp_errors import RateLimitError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Coroutine

__all__ = ["RetryState", "async_retry", "retry", "set_retry_testing"]

P = ParamSpec("P")
R = TypeVar("R")

_BASE_NEVER_RETRY: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, GeneratorExit)
_NO_RESULT: Any = object()
_INF = math.inf


@dataclass(frozen=True, slots=True)
class RetryState:
    """What one call of a retried function has done so far; handed to the hooks.

    A new object is made for every hook call, so states never leak between calls,
    threads or tasks. ``attempt`` counts the attempts made so far; ``wait`` is the
    pause before the next attempt (``None`` when giving up); ``waited`` is the total
    of the pauses before this point; ``exception`` is the last exception (``None``
    when the last attempt returned a result that ``retry_if_result`` rejected, kept
    in ``result``).

    >>> seen = []
    >>> @retry(max_attempts=2, delay=0.0, on_retry=seen.append)
    ... def flaky():
    ...     if not seen:
    ...         raise OSError("down")
    ...     return "ok"
    >>> flaky(), seen[0].attempt, type(seen[0].exception).__name__
    ('ok', 1, 'OSError')
    """

    function: str
    attempt: int
    max_attempts: int
    wait: float | None
    waited: float
    exception: BaseException | None
    result: Any = None


class _Testing:
    __slots__ = ("active", "attempts")

    def __init__(self) -> None:
        self.active = False
        self.attempts: int | None = None


_TESTING = _Testing()


def set_retry_testing(active: bool = True, *, attempts: int | None = None) -> Restorer:
    """Turn retry test mode on (no waiting at all) or off, for every retried function.

    In test mode the backoff is still computed and handed to the hooks, but nothing
    sleeps; ``attempts`` optionally caps the number of attempts. The change applies at
    once; used in a ``with`` statement it is undone on exit.

    >>> with set_retry_testing(attempts=1):
    ...     pass  # retried functions make one attempt and never sleep here
    """
    if attempts is not None:
        _check_attempts(attempts, "attempts")
    previous = (_TESTING.active, _TESTING.attempts)

    def undo() -> None:
        _TESTING.active, _TESTING.attempts = previous

    _TESTING.active = bool(active)
    _TESTING.attempts = attempts if active else None
    return Restorer(undo)


def _check_attempts(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValidationError(
            f"{name} must be an int >= 1, got {value!r}",
            field=name,
            value=value,
            expected="int >= 1",
        )


def _check_number(value: object, name: str, minimum: float, *, optional: bool = False) -> float:
    """A finite number >= ``minimum``; an optional one may also be ``None`` or infinite."""
    if value is None and optional:
        return math.inf
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or value < minimum
        or (value == math.inf and not optional)
    ):
        expected = (
            f"a number >= {minimum:g} or None" if optional else f"a finite number >= {minimum:g}"
        )
        raise ValidationError(
            f"{name} must be {expected}, got {value!r}", field=name, value=value, expected=expected
        )
    return float(value)


def _check_callable(value: object, name: str) -> None:
    if value is not None and not callable(value):
        raise ValidationError(
            f"{name} must be callable or None, got {value!r}",
            field=name,
            value=value,
            expected="callable or None",
        )


def _exception_tuple(exceptions: object) -> tuple[type[BaseException], ...]:
    items = exceptions if isinstance(exceptions, tuple) else (exceptions,)
    if not items or not all(
        isinstance(item, type) and issubclass(item, BaseException) for item in items
    ):
        raise ValidationError(
            f"exceptions must be an exception class or a non-empty tuple of them, "
            f"got {exceptions!r}",
            field="exceptions",
            value=exceptions,
            expected="type[BaseException] | tuple[type[BaseException], ...]",
        )
    return items


def _never_retry(catch: tuple[type[BaseException], ...]) -> tuple[type[BaseException], ...]:
    """The exceptions re-raised at once; empty when ``catch`` cannot match any of them."""
    if all(issubclass(item, Exception) for item in catch):
        return ()
    import asyncio  # only needed when BaseException-level classes are retried

    return (*_BASE_NEVER_RETRY, asyncio.CancelledError)


class _Policy:
    """The validated configuration of one ``retry(...)`` decoration."""

    __slots__ = (
        "backoff",
        "catch",
        "clock",
        "deadline",
        "delay",
        "jitter",
        "max_attempts",
        "max_delay",
        "name",
        "never",
        "on_give_up",
        "on_retry",
        "retry_if_result",
        "rng",
        "sleep",
    )

    def __init__(  # noqa: PLR0917 - private, built in one place from keyword arguments
        self,
        max_attempts: int,
        delay: float,
        backoff: float,
        exceptions: object,
        max_delay: float | None,
        deadline: float | None,
        jitter: float,
        rng: random.Random | None,
        retry_if_result: Callable[[Any], object] | None,
        on_retry: Callable[[RetryState], object] | None,
        on_give_up: Callable[[RetryState], object] | None,
        sleep: Callable[[float], object] | None,
        clock: Callable[[], float] | None,
    ) -> None:
        _check_attempts(max_attempts, "max_attempts")
        self.max_attempts = max_attempts
        self.delay = _check_number(delay, "delay", 0.0)
        self.backoff = _check_number(backoff, "backoff", 1.0)
        self.catch = _exception_tuple(exceptions)
        self.never = _never_retry(self.catch)
        self.max_delay = _check_number(max_delay, "max_delay", 0.0, optional=True)
        self.deadline = _check_number(deadline, "deadline", 0.0, optional=True)
        self.jitter = _check_number(jitter, "jitter", 0.0)
        if rng is not None and not isinstance(rng, random.Random):
            raise ValidationError(
                f"rng must be a random.Random or None, got {rng!r}",
                field="rng",
                value=rng,
                expected="random.Random | None",
            )
        self.rng = rng
        for hook, hook_name in (
            (retry_if_result, "retry_if_result"),
            (on_retry, "on_retry"),
            (on_give_up, "on_give_up"),
            (sleep, "sleep"),
            (clock, "clock"),
        ):
            _check_callable(hook, hook_name)
        self.retry_if_result = retry_if_result
        self.on_retry = on_retry
        self.on_give_up = on_give_up
        self.sleep = sleep
        self.clock = clock
        self.name = "<function>"

    def wait_before(self, retry_number: int, exc: BaseException | None) -> float:
        """The pause before retry number ``retry_number`` (1 for the first retry)."""
        try:
            wait = self.delay * self.backoff ** (retry_number - 1)
        except OverflowError:  # the power is huge, and 0 times it is still 0
            wait = math.inf if self.delay else 0.0
        if self.jitter:
            rng = self.rng if self.rng is not None else random
            wait += rng.uniform(0.0, self.jitter)
        if wait > self.max_delay:  # noqa: PLR1730 - min() is a builtin call on a hot path
            wait = self.max_delay  # caps the jitter too
        if isinstance(exc, RateLimitError):
            retry_after = exc.retry_after
            if (
                isinstance(retry_after, int | float)
                and not isinstance(retry_after, bool)
                and retry_after > wait
            ):
                wait = float(retry_after)
        return wait

    def now(self) -> float:
        return (self.clock or time.monotonic)()

    def plan(
        self, attempt: int, exc: BaseException | None, result: Any, start: float, waited: float
    ) -> float | None:
        """Return the pause before the next attempt, or ``None`` to give up (hooks run)."""
        if self.never and exc is not None and _holds(exc, self.never):
            raise exc  # a group carrying e.g. KeyboardInterrupt: through at once, no note
        limit = self.max_attempts
        cap = _TESTING.attempts
        if cap is not None and cap < limit:
            limit = cap
        if attempt < limit:
            wait = self.wait_before(attempt, exc)
            if wait < _INF and (self.deadline == _INF or self.now() + wait - start < self.deadline):
                if self.on_retry is not None:
                    self.on_retry(RetryState(self.name, attempt, limit, wait, waited, exc, result))
                return wait
        # out of attempts, an endless pause, or one that would end past the deadline
        self.give_up(attempt, limit, exc, result, waited)
        return None

    def expired(
        self, attempt: int, exc: BaseException | None, result: Any, start: float, waited: float
    ) -> bool:
        """After a pause: whether the deadline has passed (a slow sleep), giving up if so."""
        if self.now() - start < self.deadline:
            return False
        cap = _TESTING.attempts
        limit = self.max_attempts if cap is None else min(cap, self.max_attempts)
        self.give_up(attempt, limit, exc, result, waited)
        return True

    def give_up(
        self, attempt: int, limit: int, exc: BaseException | None, result: Any, waited: float
    ) -> None:
        """Run the give-up hook and note the attempts on the exception about to be raised."""
        if self.on_give_up is not None:
            self.on_give_up(RetryState(self.name, attempt, limit, None, waited, exc, result))
        if exc is not None:
            _add_note(exc, f"{self.name}: gave up after {attempt} attempt(s)")


def _holds(exc: BaseException, never: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` is an exception group carrying one of ``never`` (never retried)."""
    subgroup = getattr(exc, "subgroup", None)  # BaseExceptionGroup, or its 3.10 backport
    return subgroup is not None and subgroup(never) is not None


def _add_note(exc: BaseException, note: str) -> None:
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:  # pragma: no cover - exercised on Python 3.10 only
        notes = getattr(exc, "__notes__", None)
        if not isinstance(notes, list):
            notes = []
            exc.__notes__ = notes  # type: ignore[attr-defined]
        notes.append(note)


def _retry_sync(
    policy: _Policy,
    func: Callable[..., R],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    exc: BaseException | None,
    result: Any,
    start: float,
) -> R:
    """Everything after a failed first attempt; never runs when the first attempt succeeds."""
    never, catch, predicate = policy.never, policy.catch, policy.retry_if_result
    timed = policy.deadline != _INF
    attempt = 1
    waited = 0.0
    while True:
        wait = policy.plan(attempt, exc, result, start, waited)
        if wait is None:
            if exc is not None:
                raise exc
            return cast("R", result)
        if not _TESTING.active:
            (policy.sleep or time.sleep)(wait)
        waited += wait
        if timed and policy.expired(attempt, exc, result, start, waited):
            if exc is not None:
                raise exc
            return cast("R", result)
        attempt += 1
        try:
            result = func(*args, **kwargs)
        except never:
            raise
        except catch as caught:
            exc = caught
            result = None
            continue
        if predicate is None or not predicate(result):
            return cast("R", result)
        exc = None


async def _retry_async(
    policy: _Policy,
    func: Callable[..., Awaitable[R]],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    exc: BaseException | None,
    result: Any,
    start: float,
) -> R:
    """The async twin of :func:`_retry_sync`."""
    never, catch, predicate = policy.never, policy.catch, policy.retry_if_result
    timed = policy.deadline != _INF
    attempt = 1
    waited = 0.0
    while True:
        wait = policy.plan(attempt, exc, result, start, waited)
        if wait is None:
            if exc is not None:
                raise exc
            return cast("R", result)
        if not _TESTING.active:
            await _pause(policy.sleep, wait)
        waited += wait
        if timed and policy.expired(attempt, exc, result, start, waited):
            if exc is not None:
                raise exc
            return cast("R", result)
        attempt += 1
        try:
            result = await func(*args, **kwargs)
        except never:
            raise
        except catch as caught:
            exc = caught
            result = None
            continue
        if predicate is None or not predicate(result):
            return cast("R", result)
        exc = None


async def _pause(sleep: Callable[[float], object] | None, wait: float) -> None:
    if sleep is None:
        import asyncio

        await asyncio.sleep(wait)
    else:
        pending = sleep(wait)
        if hasattr(pending, "__await__"):
            await pending


def _wrap_sync(policy: _Policy, func: Callable[P, R]) -> Callable[P, R]:
    never, catch = policy.never, policy.catch
    if policy.retry_if_result is None and policy.deadline == math.inf:

        def fast(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return func(*args, **kwargs)
            except never:
                raise
            except catch as exc:
                first = exc
            return _retry_sync(policy, func, args, kwargs, exc=first, result=None, start=0.0)

        return fast
    predicate = policy.retry_if_result
    timed = policy.deadline != math.inf

    def general(*args: P.args, **kwargs: P.kwargs) -> R:
        start = policy.now() if timed else 0.0
        try:
            result = func(*args, **kwargs)
        except never:
            raise
        except catch as exc:
            first = exc
        else:
            if predicate is None or not predicate(result):
                return result
            return _retry_sync(policy, func, args, kwargs, exc=None, result=result, start=start)
        return _retry_sync(policy, func, args, kwargs, exc=first, result=None, start=start)

    return general


def _wrap_async(
    policy: _Policy, func: Callable[P, Awaitable[R]]
) -> Callable[P, Coroutine[Any, Any, R]]:
    never, catch = policy.never, policy.catch
    if policy.retry_if_result is None and policy.deadline == math.inf:

        async def fast(*args: P.args, **kwargs: P.kwargs) -> R:
            try:
                return await func(*args, **kwargs)
            except never:
                raise
            except catch as exc:
                first = exc
            return await _retry_async(policy, func, args, kwargs, exc=first, result=None, start=0.0)

        return fast
    predicate = policy.retry_if_result
    timed = policy.deadline != math.inf

    async def general(*args: P.args, **kwargs: P.kwargs) -> R:
        start = policy.now() if timed else 0.0
        try:
            result = await func(*args, **kwargs)
        except never:
            raise
        except catch as exc:
            first = exc
        else:
            if predicate is None or not predicate(result):
                return result
            return await _retry_async(
                policy, func, args, kwargs, exc=None, result=result, start=start
            )
        return await _retry_async(policy, func, args, kwargs, exc=first, result=None, start=start)

    return general


_GENERATOR_ADVICE = "retry the code that iterates it instead"


def _bind(policy: _Policy, func: Callable[..., Any], decorator: str) -> _Policy:
    """A copy of ``policy`` named after ``func`` (one decorator may wrap many functions)."""
    refuse_generator(func, decorator, _GENERATOR_ADVICE)
    bound = copy.copy(policy)
    bound.name = getattr(func, "__qualname__", None) or repr(func)
    return bound


def retry(
    max_attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    exceptions: type[BaseException] | tuple[type[BaseException], ...] = (Exception,),
    *,
    max_delay: float | None = None,
    deadline: float | None = None,
    jitter: float = 0.0,
    rng: random.Random | None = None,
    retry_if_result: Callable[[Any], object] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    on_give_up: Callable[[RetryState], object] | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] | None = None,
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Retry a function (plain or ``async def``) when it raises one of ``exceptions``.

    The pause before retry *n* is exactly ``delay * backoff ** (n - 1)`` seconds, capped
    at ``max_delay``; ``jitter`` (off by default) adds a uniform random
    ``[0, jitter]`` seconds, drawn from ``rng`` when given (seedable), still capped.
    A ``pmp_errors.RateLimitError`` with ``retry_after`` makes the pause at least that
    long (even beyond ``max_delay``); a pause that would be endless gives up instead.
    ``deadline`` (seconds, from the start of the call, read on ``clock``) is a total
    budget: no pause would end at or after it and no attempt starts after it.

    Exceptions outside ``exceptions`` pass straight through, unchanged and without a
    pause; ``KeyboardInterrupt``, ``SystemExit``, ``GeneratorExit`` and
    ``asyncio.CancelledError`` are never retried, even when ``BaseException`` is
    listed, nor is an exception group that carries one of them. On giving up the last
    exception itself is raised, with a note saying how many attempts were made.
    ``retry_if_result(result)`` returning true retries a returned value too; when
    attempts run out the last result is returned.

    ``on_retry(state)`` runs before each pause, ``on_give_up(state)`` before giving up,
    each with a fresh :class:`RetryState`. ``sleep`` (may be async for coroutine
    functions) and ``clock`` replace ``time.sleep`` / ``asyncio.sleep`` and
    ``time.monotonic``; :func:`set_retry_testing` turns every pause off. Bad
    configuration raises ``pmp_errors.ValidationError`` here, not at call time, and so
    does a generator function (its body runs only while it is iterated, after the
    call has returned, so there would be nothing to retry). Methods work, also with
    ``retry`` placed above ``@classmethod`` or ``@staticmethod``.

    >>> calls = []
    >>> @retry(max_attempts=3, delay=0.0, exceptions=(OSError,))
    ... def fetch():
    ...     calls.append(1)
    ...     if len(calls) < 3:
    ...         raise ConnectionError("flaky")
    ...     return "data"
    >>> fetch(), len(calls)
    ('data', 3)
    """
    refuse_bare_use(max_attempts, "retry", "max_attempts")
    policy = _Policy(
        max_attempts,
        delay,
        backoff,
        exceptions,
        max_delay,
        deadline,
        jitter,
        rng,
        retry_if_result,
        on_retry,
        on_give_up,
        sleep,
        clock,
    )

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        import inspect

        if isinstance(func, staticmethod | classmethod):  # placed above @staticmethod/@classmethod
            return type(func)(decorate(func.__func__))
        bound = _bind(policy, func, "retry")
        if inspect.iscoroutinefunction(func):
            wrapper: Callable[P, R] = _wrap_async(bound, func)  # type: ignore[assignment]
        else:
            wrapper = _wrap_sync(bound, func)
        return functools.update_wrapper(wrapper, func)

    return decorate


def async_retry(
    max_attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    exceptions: type[BaseException] | tuple[type[BaseException], ...] = (Exception,),
    *,
    max_delay: float | None = None,
    deadline: float | None = None,
    jitter: float = 0.0,
    rng: random.Random | None = None,
    retry_if_result: Callable[[Any], object] | None = None,
    on_retry: Callable[[RetryState], object] | None = None,
    on_give_up: Callable[[RetryState], object] | None = None,
    sleep: Callable[[float], object] | None = None,
    clock: Callable[[], float] | None = None,
) -> Callable[[Callable[P, Awaitable[R]]], Callable[P, Coroutine[Any, Any, R]]]:
    """Retry a coroutine function (or any callable returning an awaitable).

    The explicit async form of :func:`retry`, with the same arguments and rules; the
    result is always a coroutine function.

    >>> import asyncio
    >>> @async_retry(max_attempts=5, delay=0.0)
    ... async def ping():
    ...     return "pong"
    >>> asyncio.run(ping())
    'pong'
    """
    refuse_bare_use(max_attempts, "async_retry", "max_attempts")
    policy = _Policy(
        max_attempts,
        delay,
        backoff,
        exceptions,
        max_delay,
        deadline,
        jitter,
        rng,
        retry_if_result,
        on_retry,
        on_give_up,
        sleep,
        clock,
    )

    def decorate(func: Callable[P, Awaitable[R]]) -> Callable[P, Coroutine[Any, Any, R]]:
        if isinstance(func, staticmethod | classmethod):  # placed above @staticmethod/@classmethod
            return type(func)(decorate(func.__func__))
        return functools.update_wrapper(_wrap_async(_bind(policy, func, "async_retry"), func), func)

    return decorate
