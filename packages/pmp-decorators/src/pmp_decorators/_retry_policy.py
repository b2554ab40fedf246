"""The validated configuration of a retry: what to retry, how long to wait, the hooks."""

from __future__ import annotations

import math
import random
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pmp_errors import RateLimitError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PROGRAMMING_ERRORS", "Jitter", "Policy", "RetryState", "check_attempts"]

PROGRAMMING_ERRORS: tuple[type[BaseException], ...] = (
    TypeError,
    AttributeError,
    NameError,
    AssertionError,
    ValidationError,
)
"""Never retried unless ``exceptions=`` names them: retrying a bug only delays its report."""

_BASE_NEVER_RETRY: tuple[type[BaseException], ...] = (KeyboardInterrupt, SystemExit, GeneratorExit)
_JITTER_MODES = ("full", "decorrelated")
_EXACT, _FULL, _DECORRELATED, _ADDITIVE = range(4)
Jitter = Literal["full", "decorrelated"] | float | None
"""What ``jitter=`` accepts: a mode, ``None`` for exact pauses, or additive seconds."""


@dataclass(frozen=True, slots=True)
class RetryState:
    """What one call of a retried function has done so far; handed to the hooks.

    A new object is made for every hook call, so states never leak between calls,
    threads or tasks. ``attempt`` counts the attempts made so far; ``wait`` is the
    pause before the next attempt (``None`` when giving up); ``waited`` is the total
    of the pauses before this point; ``exception`` is the last exception (``None``
    when the last attempt returned a result that ``retry_if_result`` rejected, kept
    in ``result``).

    >>> from pmp_decorators import retry
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


def _bad(name: str, value: object, expected: str) -> ValidationError:
    return ValidationError(
        f"{name} must be {expected}, got {value!r}", field=name, value=value, expected=expected
    )


def check_attempts(value: object, name: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise _bad(name, value, "int >= 1")


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
        raise _bad(name, value, expected)
    return float(value)


def _check_jitter(jitter: object) -> str | float:
    if jitter is None:
        return 0.0
    if isinstance(jitter, str):
        if jitter not in _JITTER_MODES:
            raise _bad("jitter", jitter, "'full', 'decorrelated', None or a number of seconds")
        return jitter
    return _check_number(jitter, "jitter", 0.0)


def _classify(
    exceptions: object,
) -> tuple[tuple[type[BaseException], ...], tuple[type[BaseException], ...], Any]:
    """``(catch, passthrough, predicate)`` for ``exceptions=``."""
    if exceptions is None:  # the default: every Exception except programming errors
        return (Exception,), PROGRAMMING_ERRORS, None
    if callable(exceptions) and not isinstance(exceptions, type):
        return (Exception,), (), exceptions
    items = exceptions if isinstance(exceptions, tuple) else (exceptions,)
    if not items or not all(
        isinstance(item, type) and issubclass(item, BaseException) for item in items
    ):
        raise _bad(
            "exceptions",
            exceptions,
            "an exception class, a non-empty tuple of them, or a predicate",
        )
    if all(issubclass(item, Exception) for item in items):
        return items, (), None
    import asyncio  # only needed when BaseException-level classes are retried

    return items, (*_BASE_NEVER_RETRY, asyncio.CancelledError), None


def _holds(exc: BaseException, passthrough: tuple[type[BaseException], ...]) -> bool:
    """Whether ``exc`` is an exception group carrying what is never retried.

    That is a cancellation or an interpreter exit, or one of ``passthrough`` (the
    programming errors by default: a task group's ``TypeError`` is still a bug).
    """
    subgroup = getattr(exc, "subgroup", None)  # BaseExceptionGroup, or its 3.10 backport
    if subgroup is None:
        return False
    import asyncio

    never = (*passthrough, *_BASE_NEVER_RETRY, asyncio.CancelledError)
    return subgroup(never) is not None


def _rate_limit_wait(exc: BaseException) -> float | None:
    """The pause a ``pmp_errors.RateLimitError`` asks for (its ``retry_after``)."""
    if isinstance(exc, RateLimitError):
        retry_after = exc.retry_after
        if isinstance(retry_after, int | float) and not isinstance(retry_after, bool):
            return float(retry_after)
    return None


class Policy:
    """The validated configuration of one ``retry(...)`` or ``retrying(...)``."""

    __slots__ = (
        "backoff",
        "catch",
        "clock",
        "deadline",
        "delay",
        "draw",
        "jitter",
        "judge",
        "max_attempts",
        "max_delay",
        "mode",
        "name",
        "on_give_up",
        "on_retry",
        "passthrough",
        "predicate",
        "retry_after",
        "retry_if_result",
        "rng",
        "sleep",
        "timed",
    )

    def __init__(
        self,
        *,
        max_attempts: int,
        delay: float,
        backoff: float,
        exceptions: object,
        max_delay: float | None,
        deadline: float | None,
        jitter: object,
        rng: random.Random | None,
        retry_after: Callable[[BaseException], float | None] | None,
        retry_if_result: Callable[[Any], object] | None = None,
        on_retry: Callable[[RetryState], object] | None,
        on_give_up: Callable[[RetryState], object] | None,
        sleep: Callable[[float], object] | None,
        clock: Callable[[], float] | None,
    ) -> None:
        check_attempts(max_attempts, "max_attempts")
        self.max_attempts = max_attempts
        self.delay = _check_number(delay, "delay", 0.0)
        self.backoff = _check_number(backoff, "backoff", 1.0)
        self.catch, self.passthrough, self.predicate = _classify(exceptions)
        self.max_delay = _check_number(max_delay, "max_delay", 0.0, optional=True)
        self.deadline = _check_number(deadline, "deadline", 0.0, optional=True)
        self.timed = self.deadline != math.inf
        self.jitter = _check_jitter(jitter)
        self.mode = (
            _FULL
            if self.jitter == "full"
            else _DECORRELATED
            if self.jitter == "decorrelated"
            else _ADDITIVE
            if self.jitter
            else _EXACT
        )
        if rng is not None and not isinstance(rng, random.Random):
            raise _bad("rng", rng, "a random.Random or None")
        self.rng = rng
        self.draw = (random if rng is None else rng).random  # uniform in [0, 1)
        for hook, hook_name in (
            (retry_after, "retry_after"),
            (retry_if_result, "retry_if_result"),
            (on_retry, "on_retry"),
            (on_give_up, "on_give_up"),
            (sleep, "sleep"),
            (clock, "clock"),
        ):
            if hook is not None and not callable(hook):
                raise _bad(hook_name, hook, "callable or None")
        self.retry_after = retry_after
        self.retry_if_result = retry_if_result
        self.on_retry = on_retry
        self.on_give_up = on_give_up
        self.sleep = sleep
        self.clock = clock
        self.name = "<function>"
        # ``retries``, or None when every caught exception is retried (the call is skipped)
        self.judge = None if not self.passthrough and self.predicate is None else self.retries

    def now(self) -> float:
        return (self.clock or time.monotonic)()

    def retries(self, exc: BaseException) -> bool:
        """Whether ``exc`` (caught as one of ``catch``) is retried at all."""
        if self.passthrough and (
            isinstance(exc, self.passthrough) or _holds(exc, self.passthrough)
        ):
            return False
        if self.predicate is None:
            return True
        try:
            return bool(self.predicate(exc))
        except Exception as broken:
            broken.__context__ = exc  # show the failure the predicate was judging
            raise

    def wait(  # noqa: C901 - the failure path, kept in one frame
        self, retry_number: int, previous: float, exc: BaseException | None
    ) -> float:
        """The pause before retry ``retry_number`` (1 for the first); ``previous`` pause."""
        mode = self.mode
        if mode == _DECORRELATED:  # uniform in [delay, 3 x the previous pause]
            low = self.delay
            high = max(low, previous) * 3.0
            wait = low + (high - low) * self.draw()
        else:
            try:
                wait = self.delay * self.backoff ** (retry_number - 1)
            except OverflowError:  # the power is huge, and 0 times it is still 0
                wait = math.inf if self.delay else 0.0
            if wait > self.max_delay:  # noqa: PLR1730 - min() is a builtin call on a hot path
                wait = self.max_delay
            if mode == _FULL:  # uniform in [0, the capped exponential pause]
                if wait < math.inf:
                    wait *= self.draw()
            elif mode == _ADDITIVE:
                wait += self.jitter * self.draw()  # type: ignore[operator]
        if wait > self.max_delay:  # noqa: PLR1730 - caps any jitter too
            wait = self.max_delay
        if exc is not None and (self.retry_after is not None or isinstance(exc, RateLimitError)):
            asked = _rate_limit_wait(exc)
            if self.retry_after is not None:
                hooked = self._asked(exc)
                if hooked is not None and (asked is None or hooked > asked):
                    asked = hooked
            if asked is not None and asked > wait:
                wait = asked
        return wait

    def _asked(self, exc: BaseException) -> float | None:
        assert self.retry_after is not None
        try:
            asked: object = self.retry_after(exc)
        except Exception as broken:
            broken.__context__ = exc  # show the failure the hook was reading
            raise
        if asked is None:
            return None
        if isinstance(asked, bool) or not isinstance(asked, int | float) or not asked >= 0:
            raise _bad("retry_after", asked, "a number of seconds >= 0 or None") from exc
        return float(asked)
