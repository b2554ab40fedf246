"""The block form: for attempt in retrying(...): with attempt: ..."""

import asyncio
import sys

import pytest

from pmp_decorators import Attempt, Retrying, RetryState, retrying, set_retry_testing
from pmp_errors import ValidationError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


def test_block_is_retried_until_it_succeeds():
    """A failing block runs again after the backoff pause; success ends the loop."""
    clock = Clock()
    numbers = []
    for attempt in retrying(max_attempts=5, delay=1.0, jitter=None, sleep=clock.sleep):
        with attempt:
            numbers.append(attempt.number)
            if attempt.number < 3:
                raise ConnectionError
    assert numbers == [1, 2, 3]
    assert clock.sleeps == [1.0, 2.0]


def test_block_gives_up_with_the_last_exception_and_a_note():
    """When attempts run out the last exception propagates, noted, and hooks ran."""
    clock = Clock()
    states: list[RetryState] = []
    with pytest.raises(ConnectionError) as info:
        for attempt in retrying(
            max_attempts=3, delay=0.0, sleep=clock.sleep, on_give_up=states.append, name="sync"
        ):
            with attempt:
                raise ConnectionError(attempt.number)
    assert info.value.args == (3,)
    if sys.version_info >= (3, 11):
        assert info.value.__notes__ == ["sync: gave up after 3 attempt(s)"]
    assert [(s.function, s.attempt) for s in states] == [("sync", 3)]


def test_block_passes_programming_errors_through_at_once():
    """A programming error in the block is not retried."""
    numbers = []
    with pytest.raises(TypeError):
        for attempt in retrying(delay=0.0):
            with attempt:
                numbers.append(attempt.number)
                raise TypeError
    assert numbers == [1]


def test_block_deadline_stops_the_loop():
    """The deadline bounds the whole loop, as for the decorator."""
    clock = Clock()
    numbers = []
    with pytest.raises(OSError):
        for attempt in retrying(
            max_attempts=100,
            delay=4.0,
            backoff=1.0,
            jitter=None,
            deadline=10.0,
            sleep=clock.sleep,
            clock=clock,
        ):
            with attempt:
                numbers.append(attempt.number)
                raise OSError
    assert numbers == [1, 2, 3]
    assert clock.sleeps == [4.0, 4.0]


def test_async_block_is_retried_with_async_sleep():
    """An async for loop over the same object retries with an awaited sleep."""
    clock = Clock()

    async def main() -> list[int]:
        numbers = []
        async for attempt in retrying(
            max_attempts=4, delay=0.5, jitter=None, sleep=clock.async_sleep
        ):
            with attempt:
                numbers.append(attempt.number)
                if attempt.number < 3:
                    raise ConnectionError
        return numbers

    assert asyncio.run(main()) == [1, 2, 3]
    assert clock.sleeps == [0.5, 1.0]


def test_async_block_cancellation_is_never_retried():
    """Cancelling the task during an attempt ends the loop, even for BaseException."""

    async def main() -> list[int]:
        numbers: list[int] = []
        started = asyncio.Event()

        async def work() -> None:
            async for attempt in retrying(exceptions=BaseException, delay=0.0):
                with attempt:
                    numbers.append(attempt.number)
                    started.set()
                    await asyncio.sleep(10)

        task = asyncio.create_task(work())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return numbers

    assert asyncio.run(main()) == [1]


def test_one_object_runs_many_loops_and_is_typed():
    """A Retrying object can be iterated again; each loop starts from attempt 1."""
    block = retrying(delay=0.0)
    assert isinstance(block, Retrying)
    for _ in range(2):
        seen = []
        for attempt in block:
            assert isinstance(attempt, Attempt)
            with attempt:
                seen.append(attempt.number)
        assert seen == [1]
    assert repr(attempt) == "<Attempt 1>"


def test_bad_configuration_is_refused_at_once():
    """Retrying validates like retry, and its name must be a string."""
    with pytest.raises(ValidationError):
        retrying(max_attempts=0)
    with pytest.raises(ValidationError):
        retrying(name=3)  # type: ignore[arg-type]


def test_block_hooks_and_test_mode_match_the_decorator():
    """on_retry sees the same states as for the decorator; test mode skips the pauses."""
    clock = Clock()
    states: list[RetryState] = []
    with set_retry_testing():
        for attempt in retrying(
            max_attempts=3, delay=1.0, jitter=None, sleep=clock.sleep, on_retry=states.append
        ):
            with attempt:
                if attempt.number < 3:
                    raise OSError
    assert clock.sleeps == []
    assert [(s.function, s.attempt, s.wait, s.waited) for s in states] == [
        ("retrying block", 1, 1.0, 0.0),
        ("retrying block", 2, 2.0, 1.0),
    ]


def test_an_attempt_used_after_its_loop_never_swallows_a_failure():
    """An Attempt kept past its iteration refuses to run a block instead of hiding its error."""
    block = retrying(max_attempts=3, delay=0.0)
    kept: list[Attempt] = []
    for attempt in block:
        kept.append(attempt)
        with attempt:
            if attempt.number < 2:
                raise OSError("flaky")
    first, last = kept
    for stale in (first, last):  # one from an earlier iteration, one from the ended loop
        with pytest.raises(RuntimeError, match="inside its own iteration"), stale:
            raise OSError("lost")
    # an exit without the enter (a hand-driven context manager) never swallows either
    assert last.__exit__(OSError, OSError("lost"), None) is False
