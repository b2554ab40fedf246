"""What retry retries by default, predicates, jitter and the wait hook."""

import asyncio
import random
import sys
from typing import Any

import pytest

from pmp_decorators import TypeValidationError, async_retry, retry, retrying, set_retry_testing
from pmp_errors import RateLimitError, ValidationError


class Sleeps(list[float]):
    def sleep(self, seconds: float) -> None:
        self.append(seconds)


def failing_with(*errors: BaseException):
    """A function raising each of ``errors`` in turn, then returning ``"ok"``."""
    pending = list(errors)
    calls: list[int] = []

    def func():
        calls.append(1)
        if pending:
            raise pending.pop(0)
        return "ok"

    return func, calls


@pytest.mark.parametrize(
    "error",
    [
        TypeError("bug"),
        AttributeError("bug"),
        NameError("bug"),
        AssertionError("bug"),
        ValidationError("bad input", field="x"),
        TypeValidationError("bad type", field="x"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_programming_errors_are_not_retried_by_default(error):
    """By default a programming error is raised at once, after one attempt, without a note."""
    sleeps = Sleeps()
    func, calls = failing_with(error)
    with pytest.raises(type(error)) as info:
        retry(sleep=sleeps.sleep)(func)()
    assert info.value is error
    assert len(calls) == 1
    assert sleeps == []
    assert not getattr(error, "__notes__", [])


@pytest.mark.parametrize(
    "error", [ConnectionError("down"), TimeoutError(), RateLimitError("slow"), KeyError("k")]
)
def test_operational_errors_are_retried_by_default(error):
    """Other exceptions are retried by default."""
    func, calls = failing_with(error)
    with set_retry_testing():
        assert retry()(func)() == "ok"
    assert len(calls) == 2


def test_listing_a_programming_error_retries_it():
    """exceptions= naming a class retries it, even a programming error."""
    func, calls = failing_with(TypeError("flaky"))
    with set_retry_testing():
        assert retry(exceptions=Exception)(func)() == "ok"
    assert len(calls) == 2


def test_seed_async_retry_form_retries_a_connection_error():
    """@async_retry(max_attempts=5, delay=0.5) retries until the call succeeds."""
    calls: list[int] = []

    @async_retry(max_attempts=5, delay=0.5)
    async def fetch():
        calls.append(1)
        if len(calls) < 4:
            raise ConnectionError
        return "ok"

    with set_retry_testing():
        assert asyncio.run(fetch()) == "ok"
    assert len(calls) == 4


class HTTPError(Exception):
    def __init__(self, status: int, retry_after: str | None = None) -> None:
        super().__init__(status)
        self.status = status
        self.headers = {} if retry_after is None else {"Retry-After": retry_after}


def test_exceptions_predicate_decides_what_is_retried():
    """A predicate on the exception selects what to retry; the rest passes through."""
    server = lambda e: isinstance(e, HTTPError) and e.status >= 500
    func, calls = failing_with(HTTPError(503), HTTPError(502))
    with set_retry_testing():
        assert retry(exceptions=server)(func)() == "ok"
    assert len(calls) == 3
    func, calls = failing_with(HTTPError(404))
    with pytest.raises(HTTPError), set_retry_testing():
        retry(exceptions=server)(func)()
    assert len(calls) == 1


def test_retry_after_hook_sets_the_pause():
    """retry_after(exc) supplies the pause (a Retry-After header), above the backoff."""
    sleeps = Sleeps()

    def header(exc: BaseException) -> float | None:
        value = getattr(exc, "headers", {}).get("Retry-After")
        return None if value is None else float(value)

    func, _ = failing_with(HTTPError(503, "7"), HTTPError(503))
    retry(delay=1.0, jitter=None, max_delay=2.0, retry_after=header, sleep=sleeps.sleep)(func)()
    assert sleeps == [7.0, 2.0]


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "7", True])
def test_retry_after_hook_returning_nonsense_is_an_error(bad):
    """A hook that returns something other than seconds raises a ValidationError."""
    func, _ = failing_with(OSError())
    with pytest.raises(ValidationError, match="retry_after must be"), set_retry_testing():
        retry(retry_after=lambda _e: bad)(func)()


def test_rate_limit_error_and_hook_take_the_longer_pause():
    """Both a RateLimitError's retry_after and the hook count; the longer one wins."""
    sleeps = Sleeps()
    func, _ = failing_with(RateLimitError("slow", retry_after=3.0))
    retry(delay=0.0, retry_after=lambda _e: 1.0, sleep=sleeps.sleep)(func)()
    assert sleeps == [3.0]


def test_full_jitter_is_the_default_bounded_and_seedable():
    """By default each pause is uniform in [0, the exponential pause]; a seed repeats it."""
    runs = []
    for _ in range(2):
        sleeps = Sleeps()
        func, _ = failing_with(*[OSError()] * 5)
        rng = random.Random(7)  # noqa: S311 - seeded jitter for a test
        retry(max_attempts=6, delay=1.0, backoff=2.0, rng=rng, sleep=sleeps.sleep)(func)()
        runs.append(list(sleeps))
    assert runs[0] == runs[1]
    assert all(0.0 <= wait <= 2.0**n for n, wait in enumerate(runs[0]))
    assert runs[0] != [1.0, 2.0, 4.0, 8.0, 16.0]


def test_decorrelated_jitter_stays_between_delay_and_three_times_the_last_pause():
    """Decorrelated jitter: uniform in [delay, 3 x previous pause], capped at max_delay."""
    sleeps = Sleeps()
    func, _ = failing_with(*[OSError()] * 30)
    rng = random.Random(1)  # noqa: S311 - seeded jitter for a test
    retry(
        max_attempts=31,
        delay=0.5,
        max_delay=20.0,
        jitter="decorrelated",
        rng=rng,
        sleep=sleeps.sleep,
    )(func)()
    previous = 0.5
    for wait in sleeps:
        assert 0.5 <= wait <= min(20.0, 3 * previous)
        previous = wait
    assert max(sleeps) > 4.0


@pytest.mark.parametrize("bad", ["half", -1.0, float("inf"), [1.0]])
def test_bad_jitter_is_refused(bad):
    """Jitter must be 'full', 'decorrelated', None or a number of seconds."""
    with pytest.raises(ValidationError) as info:
        retry(jitter=bad)
    assert info.value.field == "jitter"


def test_callable_object_with_async_call_is_retried():
    """An object whose __call__ is async def is retried as a coroutine function."""

    class Client:
        def __init__(self) -> None:
            self.calls = 0

        async def __call__(self, x: int) -> int:
            self.calls += 1
            if self.calls < 3:
                raise ConnectionError
            return x

    client = Client()
    wrapped = retry(max_attempts=3, delay=0.0)(client)
    assert asyncio.iscoroutinefunction(wrapped)
    assert asyncio.run(wrapped(5)) == 5
    assert client.calls == 3


def notes_of(exc: BaseException) -> list[str]:
    if sys.version_info >= (3, 11):
        return getattr(exc, "__notes__", [])
    return vars(exc).get("__notes__", [])


def test_reused_exception_object_gets_one_give_up_note():
    """The same exception object raised on every call carries one give-up note, not many."""
    error = ConnectionError("down")

    @retry(max_attempts=2, delay=0.0)
    def fail():
        raise error

    for _ in range(3):
        with pytest.raises(ConnectionError):
            fail()
    assert len(notes_of(error)) == 1
    assert notes_of(error)[0].endswith("gave up after 2 attempt(s)")


def test_a_broken_predicate_or_hook_shows_the_failure_it_judged():
    """An error raised by the predicate or retry_after carries the call's exception as context."""
    original = ConnectionError("down")
    for kwargs in ({"exceptions": lambda _e: 1 / 0}, {"retry_after": lambda _e: 1 / 0}):
        func, _ = failing_with(original)
        with pytest.raises(ZeroDivisionError) as info, set_retry_testing():
            retry(**kwargs)(func)()  # type: ignore[arg-type]
        assert info.value.__context__ is original


@pytest.mark.parametrize("hook", ["on_retry", "on_give_up"])
def test_a_broken_retry_or_give_up_hook_shows_the_failure_it_was_told_about(hook):
    """on_retry and on_give_up raising keep the call's exception as context, sync and async."""
    original = ConnectionError("down")
    hooks: dict[str, Any] = {hook: lambda _state: 1 / 0}
    func, _ = failing_with(original, original)
    with pytest.raises(ZeroDivisionError) as info, set_retry_testing():
        retry(max_attempts=2, delay=0.0, **hooks)(func)()
    assert info.value.__context__ is original

    async def fail() -> None:
        raise original

    with pytest.raises(ZeroDivisionError) as info, set_retry_testing():
        asyncio.run(async_retry(max_attempts=2, delay=0.0, **hooks)(fail)())
    assert info.value.__context__ is original


def test_an_async_sleep_is_refused_where_nothing_would_await_it():
    """A plain function or a plain `for` cannot await an async sleep: refused, never skipped."""

    def blocking() -> None:
        raise OSError("down")

    with pytest.raises(ValidationError, match="sleep") as info:
        retry(sleep=asyncio.sleep)(blocking)
    assert info.value.field == "sleep"
    block = retrying(max_attempts=2, delay=1.0, sleep=asyncio.sleep)
    with pytest.raises(ValidationError, match="async for"):
        for attempt in block:
            with attempt:
                raise OSError("down")

    calls: list[int] = []

    def disguised(seconds: float) -> object:  # a plain function returning a coroutine
        calls.append(1)
        return asyncio.sleep(seconds)

    with pytest.raises(ValidationError, match="sleep"):
        retry(max_attempts=2, delay=1.0, sleep=disguised)(blocking)()
    assert calls == [1]
