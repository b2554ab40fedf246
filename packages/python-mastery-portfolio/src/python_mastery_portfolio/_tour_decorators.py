"""Tour section: retry with exact backoff, timing, runtime type validation, cached property."""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TYPE_CHECKING

from pmp_decorators import (
    CachedProperty,
    RetryState,
    TimingStats,
    TypeValidationError,
    async_retry,
    measure_block,
    retry,
    timed,
    validate_types,
)
from pmp_errors import RateLimitError, ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["show"]


def _retry() -> None:
    pauses: list[float] = []
    failures = iter(
        [ConnectionError("reset"), OSError("timeout"), RateLimitError("429", retry_after=5.0)]
    )

    def log_retry(state: RetryState) -> None:
        print(f"  attempt {state.attempt} failed ({state.exception!r}); waiting {state.wait:g} s")

    @retry(
        max_attempts=4,
        delay=1.0,
        backoff=2.0,
        exceptions=(IOError, ConnectionError, RateLimitError),
        jitter=None,  # exact pauses here; by default each is drawn at random ("full" jitter)
        on_retry=log_retry,
        sleep=pauses.append,  # injected: the tour never really sleeps
    )
    def unstable_operation() -> str:
        error = next(failures, None)
        if error is not None:
            raise error
        return "data"

    print("retry: delays are delay * backoff**(n-1); a RateLimitError's retry_after wins")
    print(f"  -> {unstable_operation()!r} after pauses {pauses}")

    @retry(max_attempts=2, delay=0.0)
    def always_down() -> None:
        raise ConnectionError("still down")

    try:
        always_down()
    except ConnectionError as exc:
        note = getattr(exc, "__notes__", ["?"])[-1]
        print(f"giving up re-raises the last error itself: {exc!r}, note {note!r}")

    @async_retry(max_attempts=5, delay=0.0)
    async def async_unstable_operation() -> int:
        await asyncio.sleep(0)
        return 7

    print(f"async_retry: {asyncio.run(async_unstable_operation())}")


def _timing() -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        logging.Formatter("  log: %(message)s [extra elapsed=%(elapsed).3f %(unit)s]")
    )
    logger = logging.getLogger("pmp_decorators.timing")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    stats = TimingStats(unit="us")
    try:

        @timed(unit="ms", stats=stats)
        def slow_function(n: int) -> int:
            return sum(range(n))

        print("timed / measure_block: one log record per call, lazily formatted")
        for n in (10_000, 20_000, 40_000):
            slow_function(n)
        with measure_block("data_processing", unit="us") as block:
            sorted(range(50_000), reverse=True)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    print(f"  block.elapsed = {block.elapsed:.1f} us")
    print(f"  stats: count={stats.count}, mean={stats.mean:.1f} us, max={stats.max:.1f} us")


def _rejected(call: Callable[[], object]) -> None:
    try:
        call()
    except TypeValidationError as exc:
        kinds = [k.__name__ for k in (ValidationError, TypeError) if isinstance(exc, k)]
        print(f"  {type(exc).__name__} (a {' and a '.join(kinds)}): {exc}")
        print(f"    field={exc.field!r} path={exc.path!r} expected={exc.expected!r}")


def _validation() -> None:
    @validate_types(name=str, age=int, email=str)
    def create_user(name: str, age: int, email: str) -> str:
        return f"{name} ({age}) <{email}>"

    @validate_types()
    def total(scores: dict[str, list[int]]) -> int:
        return sum(sum(v) for v in scores.values())

    print("validate_types: full-depth checks, bool is not an int, nothing is coerced")
    print(f"  {create_user('Ada', 36, 'ada@example.com')!r}")
    _rejected(lambda: create_user("Ada", age=True, email="ada@example.com"))
    _rejected(lambda: total({"a": [1, 2], "b": [*range(98), "99"]}))  # type: ignore[list-item]


def _cached_property() -> None:
    class ExpensiveComputation:
        computed = 0

        @CachedProperty
        def result(self) -> int:
            ExpensiveComputation.computed += 1
            return sum(range(1_000_000))

    calc = ExpensiveComputation()
    first, second = calc.result, calc.result
    print(f"CachedProperty: {first} == {second}, computed {ExpensiveComputation.computed} time(s)")
    del calc.result
    again = calc.result
    print(f"  after `del calc.result`: {again}, computed {ExpensiveComputation.computed} time(s)")


def show() -> None:
    """Retry a flaky call, time some work, reject bad arguments and cache a property."""
    _retry()
    print()
    _timing()
    print()
    _validation()
    print()
    _cached_property()
