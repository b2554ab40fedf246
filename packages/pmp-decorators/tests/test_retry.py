import asyncio
import builtins
import random
import sys
import threading
import traceback
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_decorators import RetryState, async_retry, retry, retrying, set_retry_testing
from pmp_errors import RateLimitError, ValidationError


class FakeClock:
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


def notes_of(exc: BaseException) -> list[str]:
    """The notes retry added to exc (typeshed declares __notes__ only from Python 3.11)."""
    if sys.version_info >= (3, 11):
        return exc.__notes__
    notes: list[str] = vars(exc)["__notes__"]
    return notes


def failing(times: int, exc: BaseException | None = None, result: object = "ok"):
    calls: list[int] = []

    def func(*args, **kwargs):
        calls.append(1)
        if len(calls) <= times:
            raise exc if exc is not None else ConnectionError(f"fail {len(calls)}")
        return (result, args, kwargs)

    return func, calls


def test_success_on_first_try_calls_once_without_sleep():
    """A call that succeeds runs once and never sleeps."""
    clock = FakeClock()
    func, calls = failing(0)
    wrapped = retry(sleep=clock.sleep, clock=clock)(func)
    assert wrapped(1, k=2) == ("ok", (1,), {"k": 2})
    assert len(calls) == 1
    assert clock.sleeps == []


def test_seed_form_retries_listed_exceptions():
    """The seed's form retries IOError/ConnectionError with 1 s, 2 s pauses."""
    clock = FakeClock()
    func, calls = failing(2)
    wrapped = retry(
        jitter=None,
        max_attempts=3,
        delay=1.0,
        backoff=2.0,
        exceptions=(IOError, ConnectionError),
        sleep=clock.sleep,
    )(func)
    assert wrapped()[0] == "ok"
    assert len(calls) == 3
    assert clock.sleeps == [1.0, 2.0]


@given(
    delay=st.floats(0, 10),
    backoff=st.floats(1, 5),
    attempts=st.integers(1, 8),
    max_delay=st.none() | st.floats(0, 20),
)
def test_backoff_sequence_is_exact(delay, backoff, attempts, max_delay):
    """Pause n is exactly delay * backoff ** (n - 1), capped at max_delay."""
    clock = FakeClock()
    func, calls = failing(100)
    wrapped = retry(
        jitter=None,
        max_attempts=attempts,
        delay=delay,
        backoff=backoff,
        max_delay=max_delay,
        sleep=clock.sleep,
        clock=clock,
    )(func)
    with pytest.raises(ConnectionError):
        wrapped()
    cap = float("inf") if max_delay is None else max_delay
    assert clock.sleeps == [min(delay * backoff ** (n - 1), cap) for n in range(1, attempts)]
    assert len(calls) == attempts


def test_gives_up_with_the_same_last_exception_and_a_note():
    """The last exception itself is raised, its traceback intact, with a note."""
    errors: list[BaseException] = []

    def func():
        try:
            raise OSError(len(errors))
        except OSError as exc:
            errors.append(exc)
            raise

    wrapped = retry(max_attempts=3, delay=0)(func)
    with pytest.raises(OSError) as info:
        wrapped()
    assert info.value is errors[-1]
    assert info.value.args == (2,)
    assert any("gave up after 3 attempt(s)" in note for note in notes_of(info.value))
    frames = []
    tb = info.value.__traceback__
    while tb is not None:
        frames.append(tb.tb_frame.f_code.co_name)
        tb = tb.tb_next
    assert frames[-1] == "func"
    assert info.value.__context__ is None


def test_other_exceptions_pass_through_unchanged_without_sleep():
    """An exception outside `exceptions` is raised at once, unchanged, with no pause."""
    clock = FakeClock()
    err = ValueError("not retried")
    func, calls = failing(5, err)
    wrapped = retry(exceptions=(OSError,), sleep=clock.sleep)(func)
    with pytest.raises(ValueError) as info:
        wrapped()
    assert info.value is err
    assert not getattr(err, "__notes__", None)
    assert len(calls) == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    "exc",
    [KeyboardInterrupt(), SystemExit(1), GeneratorExit(), asyncio.CancelledError()],
    ids=lambda e: type(e).__name__,
)
@pytest.mark.parametrize("listed", [BaseException, (Exception, BaseException)])
def test_never_retries_control_flow_exceptions(exc, listed):
    """Cancellation and interpreter exits are never retried, even under BaseException."""
    func, calls = failing(5, exc)
    wrapped = retry(max_attempts=5, delay=0, exceptions=listed)(func)
    with pytest.raises(type(exc)):
        wrapped()
    assert len(calls) == 1


def test_never_retries_control_flow_exceptions_on_later_attempts():
    """A cancellation raised by a retry attempt is not retried either."""
    seq = [OSError("a"), KeyboardInterrupt()]

    def func():
        raise seq.pop(0)

    wrapped = retry(max_attempts=5, delay=0, exceptions=BaseException)(func)
    with pytest.raises(KeyboardInterrupt):
        wrapped()
    assert seq == []


def test_base_exception_subclasses_are_retried_when_listed():
    """A user BaseException subclass is retried when BaseException is listed."""

    class Custom(BaseException):
        pass

    func, calls = failing(2, Custom())
    assert retry(max_attempts=3, delay=0, exceptions=BaseException)(func)()[0] == "ok"
    assert len(calls) == 3


def test_rate_limit_retry_after_lengthens_the_pause():
    """A RateLimitError's retry_after is the minimum pause, above max_delay."""
    clock = FakeClock()
    func, _ = failing(2, RateLimitError("slow", retry_after=30.0))
    wrapped = retry(max_attempts=3, delay=1.0, max_delay=5.0, sleep=clock.sleep)(func)
    wrapped()
    assert clock.sleeps == [30.0, 30.0]


def test_rate_limit_shorter_than_backoff_keeps_the_backoff():
    """A short retry_after does not shorten the computed pause."""
    clock = FakeClock()
    func, _ = failing(1, RateLimitError("slow", retry_after=0.5))
    retry(jitter=None, delay=2.0, sleep=clock.sleep)(func)()
    assert clock.sleeps == [2.0]


def test_deadline_never_sleeps_past_it_nor_starts_late():
    """No pause would end at or after the deadline; the call gives up instead."""
    clock = FakeClock()
    func, calls = failing(100)
    wrapped = retry(
        jitter=None,
        max_attempts=100,
        delay=1.0,
        backoff=2.0,
        deadline=10.0,
        sleep=clock.sleep,
        clock=clock,
    )(func)
    with pytest.raises(ConnectionError) as info:
        wrapped()
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert clock.now < 10.0
    assert len(calls) == 4
    assert "gave up after 4 attempt(s)" in notes_of(info.value)[-1]


def test_deadline_counts_the_first_attempt():
    """Time spent in the first attempt counts against the deadline."""
    clock = FakeClock()

    def slow():
        clock.now += 9.5
        raise OSError

    wrapped = retry(
        jitter=None, max_attempts=5, delay=1.0, deadline=10.0, sleep=clock.sleep, clock=clock
    )(slow)
    with pytest.raises(OSError):
        wrapped()
    assert clock.sleeps == []


def test_jitter_is_seedable_and_bounded():
    """Jitter adds uniform [0, jitter] seconds, reproducible with a seeded rng."""

    def run(seed):
        clock = FakeClock()
        func, _ = failing(3)
        retry(
            max_attempts=4,
            delay=1.0,
            backoff=1.0,
            jitter=0.5,
            rng=random.Random(seed),  # noqa: S311 - seeded jitter, not cryptography
            sleep=clock.sleep,
        )(func)()
        return clock.sleeps

    first = run(7)
    assert first == run(7)
    assert all(1.0 <= s <= 1.5 for s in first)
    assert len(set(first)) > 1


def test_jitter_uses_module_random_without_rng():
    """Without rng the module-level random generator supplies jitter, still capped."""
    clock = FakeClock()
    func, _ = failing(2)
    retry(delay=1.0, jitter=10.0, max_delay=2.0, sleep=clock.sleep)(func)()
    assert all(1.0 <= s <= 2.0 for s in clock.sleeps)


def test_retry_if_result_retries_and_returns_last_result():
    """A rejected result is retried; when attempts run out the last result is returned."""
    clock = FakeClock()
    values = iter([None, None, 3])
    wrapped = retry(
        jitter=None,
        max_attempts=5,
        delay=0.1,
        retry_if_result=lambda r: r is None,
        sleep=clock.sleep,
    )(lambda: next(values))
    assert wrapped() == 3
    assert clock.sleeps == [0.1, 0.2]
    gave_up: list[RetryState] = []
    always_none = retry(
        jitter=None,
        max_attempts=2,
        delay=0,
        retry_if_result=lambda _r: True,
        on_give_up=gave_up.append,
    )(lambda: "bad")
    assert always_none() == "bad"
    assert gave_up[0].result == "bad"
    assert gave_up[0].exception is None


def test_retry_if_result_with_exceptions_mixed():
    """Exceptions and rejected results share one attempt budget."""
    seq: list[object] = [OSError("x"), None, "good"]

    def func():
        item = seq.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    assert retry(max_attempts=3, delay=0, retry_if_result=lambda r: r is None)(func)() == "good"


def test_hooks_receive_fresh_states():
    """on_retry runs before each pause and on_give_up once, with per-call states."""
    retried: list[RetryState] = []
    given_up: list[RetryState] = []
    clock = FakeClock()
    func, _ = failing(10)
    wrapped = retry(
        jitter=None,
        max_attempts=3,
        delay=1.0,
        on_retry=retried.append,
        on_give_up=given_up.append,
        sleep=clock.sleep,
    )(func)
    with pytest.raises(ConnectionError):
        wrapped()
    assert [(s.attempt, s.wait, s.waited) for s in retried] == [(1, 1.0, 0.0), (2, 2.0, 1.0)]
    assert len(given_up) == 1
    assert given_up[0].attempt == 3
    assert given_up[0].wait is None
    assert given_up[0].waited == 3.0
    assert given_up[0].max_attempts == 3
    assert given_up[0].function.endswith("failing.<locals>.func")


def test_states_are_isolated_between_threads():
    """Concurrent calls in threads each see only their own attempts."""
    barrier = threading.Barrier(4)
    seen: dict[int, list[int]] = {}
    local = threading.local()

    def on_retry(state):
        seen.setdefault(threading.get_ident(), []).append(state.attempt)

    @retry(max_attempts=4, delay=0, on_retry=on_retry)
    def work():
        local.n = getattr(local, "n", 0) + 1
        if local.n == 1:
            barrier.wait()
        if local.n < 3:
            raise OSError
        return local.n

    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(work())) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [3, 3, 3, 3]
    assert sorted(seen.values()) == [[1, 2]] * 4


def test_reentrant_calls_keep_their_own_counts():
    """A retried function calling itself keeps separate attempt counts per call."""
    states: list[tuple[int, int]] = []
    depth = [0]

    @retry(max_attempts=3, delay=0, on_retry=lambda s: states.append((depth[0], s.attempt)))
    def outer(level):
        depth[0] = level
        if level == 0:
            return outer(1) + 1 if len(states) < 2 else 0
        if len([s for s in states if s[0] == 1]) < 2:
            raise OSError
        return 10

    assert outer(0) == 11
    assert states == [(1, 1), (1, 2)]


def test_testing_mode_disables_waiting_and_caps_attempts():
    """set_retry_testing turns pauses off (also as a context manager) and caps attempts."""
    slept: list[float] = []
    func, calls = failing(10)
    wrapped = retry(jitter=None, max_attempts=5, delay=100.0, sleep=slept.append)(func)
    with set_retry_testing(), pytest.raises(ConnectionError):
        wrapped()
    assert slept == []
    assert len(calls) == 5
    handle = set_retry_testing(attempts=2)
    try:
        with pytest.raises(ConnectionError):
            wrapped()
        assert len(calls) == 7
    finally:
        handle.restore()
    with pytest.raises(ConnectionError):
        retry(jitter=None, max_attempts=2, delay=0.5, sleep=slept.append)(failing(10)[0])()
    assert slept == [0.5]


def test_testing_mode_off_clears_the_cap():
    """set_retry_testing(False) restores real waiting and the configured attempts."""
    with set_retry_testing(False, attempts=1):
        func, calls = failing(1)
        assert retry(max_attempts=2, delay=0)(func)()[0] == "ok"
        assert len(calls) == 2


def test_default_sleep_is_time_sleep(monkeypatch):
    """Without sleep=, time.sleep is looked up at call time (so it can be patched)."""
    slept: list[float] = []
    monkeypatch.setattr("time.sleep", slept.append)
    func, _ = failing(1)
    retry(jitter=None, delay=0.25)(func)()
    assert slept == [0.25]


def test_one_decorator_wraps_many_functions_with_their_own_names():
    """The same retry(...) object applied twice names each function correctly."""
    deco = retry(max_attempts=1)
    states = []

    def a():
        raise OSError

    def b():
        raise OSError

    wa, wb = deco(a), deco(b)
    for w in (wa, wb):
        with pytest.raises(OSError) as info:
            w()
        states.append(notes_of(info.value)[-1])
    assert "a: gave up" in states[0]
    assert "b: gave up" in states[1]


def test_keeps_name_doc_and_wrapped():
    """The wrapper keeps __name__, __doc__ and __wrapped__."""

    def fetch():
        """Fetch."""

    wrapped = retry()(fetch)
    assert wrapped.__name__ == "fetch"
    assert wrapped.__doc__ == "Fetch."
    assert wrapped.__wrapped__ is fetch  # type: ignore[attr-defined]


def test_works_on_methods():
    """A retried method binds self like the original."""

    class Client:
        def __init__(self):
            self.calls = 0

        @retry(max_attempts=3, delay=0)
        def get(self, x):
            self.calls += 1
            if self.calls < 2:
                raise OSError
            return x * 2

    c = Client()
    assert c.get(4) == 8
    assert c.calls == 2


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"max_attempts": 1.5}, "max_attempts"),
        ({"delay": -1}, "delay"),
        ({"delay": float("nan")}, "delay"),
        ({"delay": "1"}, "delay"),
        ({"backoff": 0.5}, "backoff"),
        ({"exceptions": ValueError("x")}, "exceptions"),
        ({"exceptions": ()}, "exceptions"),
        ({"exceptions": (ValueError, int)}, "exceptions"),
        ({"exceptions": "OSError"}, "exceptions"),
        ({"max_delay": -0.1}, "max_delay"),
        ({"deadline": -5}, "deadline"),
        ({"jitter": -1}, "jitter"),
        ({"rng": 42}, "rng"),
        ({"on_retry": "print"}, "on_retry"),
        ({"sleep": 1}, "sleep"),
    ],
)
@pytest.mark.parametrize("factory", [retry, async_retry])
def test_bad_configuration_fails_at_decoration(factory, kwargs, field):
    """Bad settings raise ValidationError naming the argument, before any call."""
    with pytest.raises(ValidationError) as info:
        factory(**kwargs)
    assert info.value.field == field
    assert field in str(info.value)


def test_testing_attempts_must_be_positive():
    """set_retry_testing(attempts=0) is refused."""
    with pytest.raises(ValidationError) as info:
        set_retry_testing(attempts=0)
    assert info.value.field == "attempts"


def test_single_exception_class_is_accepted():
    """Exceptions may be one class instead of a tuple."""
    func, calls = failing(1, KeyError("k"))
    assert retry(exceptions=KeyError, delay=0)(func)()[0] == "ok"
    assert len(calls) == 2


# ---- async -------------------------------------------------------------------


def async_failing(times: int, exc: BaseException | None = None):
    calls: list[int] = []

    async def func(x=0):
        calls.append(1)
        await asyncio.sleep(0)
        if len(calls) <= times:
            raise exc if exc is not None else ConnectionError(len(calls))
        return x + 1

    return func, calls


@pytest.mark.asyncio
@pytest.mark.parametrize("factory", [retry, async_retry])
async def test_async_retries_with_exact_backoff(factory):
    """Retry and async_retry retry coroutine functions with the same backoff."""
    clock = FakeClock()
    func, calls = async_failing(3)
    wrapped = factory(jitter=None, max_attempts=5, delay=0.5, sleep=clock.async_sleep)(func)
    assert asyncio.iscoroutinefunction(wrapped)
    assert await wrapped(1) == 2
    assert clock.sleeps == [0.5, 1.0, 2.0]
    assert len(calls) == 4


@pytest.mark.asyncio
async def test_async_accepts_a_sync_sleep_function():
    """A plain (non-async) sleep function works for coroutine functions too."""
    clock = FakeClock()
    func, _ = async_failing(1)
    assert await async_retry(jitter=None, delay=0.3, sleep=clock.sleep)(func)() == 1
    assert clock.sleeps == [0.3]


@pytest.mark.asyncio
async def test_async_default_sleep_is_asyncio_sleep(monkeypatch):
    """Without sleep=, asyncio.sleep is used for the pauses."""
    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    func, _ = async_failing(2)
    wrapped = async_retry(jitter=None, delay=0.5)(func)
    monkeypatch.setattr("asyncio.sleep", fake_sleep)
    assert await wrapped() == 1
    assert [s for s in slept if s] == [0.5, 1.0]


@pytest.mark.asyncio
async def test_async_gives_up_with_the_last_exception():
    """An async give-up raises the last exception with a note."""
    func, calls = async_failing(10)
    with pytest.raises(ConnectionError) as info:
        await async_retry(max_attempts=3, delay=0)(func)()
    assert info.value.args == (3,)
    assert "gave up after 3" in notes_of(info.value)[-1]
    assert len(calls) == 3


@pytest.mark.asyncio
async def test_async_cancellation_is_never_retried():
    """Cancelling a retried coroutine cancels it; the attempt is not repeated."""
    started = asyncio.Event()
    calls: list[int] = []

    @async_retry(max_attempts=5, delay=0, exceptions=BaseException)
    async def slow():
        calls.append(1)
        started.set()
        await asyncio.sleep(3600)

    task = asyncio.create_task(slow())
    await started.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls == [1]


@pytest.mark.asyncio
async def test_async_deadline_and_result_predicate():
    """The general async path honours the deadline and retry_if_result."""
    clock = FakeClock()
    values = iter([None, None, None, 5])

    async def func():
        return next(values)

    wrapped = async_retry(
        jitter=None,
        max_attempts=10,
        delay=1.0,
        deadline=4.0,
        retry_if_result=lambda r: r is None,
        sleep=clock.async_sleep,
        clock=clock,
    )(func)
    assert await wrapped() is None
    assert clock.sleeps == [1.0, 2.0]

    failing_func, calls = async_failing(1)
    ok = async_retry(
        jitter=None, deadline=100, delay=0, clock=clock, retry_if_result=lambda r: r == 0
    )(failing_func)
    assert await ok() == 1
    assert len(calls) == 2


@pytest.mark.asyncio
async def test_async_other_exceptions_pass_through():
    """Async: an unlisted exception escapes at once."""
    func, calls = async_failing(3, ValueError("v"))
    with pytest.raises(ValueError):
        await async_retry(exceptions=OSError)(func)()
    assert len(calls) == 1


@pytest.mark.asyncio
async def test_async_tasks_have_isolated_states():
    """Concurrent tasks on one event loop record their own attempts."""
    seen: list[int] = []
    counts: dict[int, int] = {}

    @async_retry(max_attempts=3, delay=0, on_retry=lambda s: seen.append(s.attempt))
    async def work(i):
        counts[i] = counts.get(i, 0) + 1
        await asyncio.sleep(0)
        if counts[i] < 2:
            raise OSError
        return i

    assert await asyncio.gather(*(work(i) for i in range(5))) == list(range(5))
    assert seen == [1] * 5


def test_general_sync_path_with_deadline_succeeds_first():
    """With a deadline the first-try success is returned directly."""
    clock = FakeClock()
    func, calls = failing(0)
    assert retry(deadline=5, clock=clock)(func)()[0] == "ok"
    assert len(calls) == 1


def test_general_sync_path_retries_exceptions_and_never_list():
    """With a deadline, exceptions retry and control-flow exceptions escape."""
    clock = FakeClock()
    func, calls = failing(2)
    assert (
        retry(jitter=None, deadline=50, delay=1, sleep=clock.sleep, clock=clock)(func)()[0] == "ok"
    )
    assert clock.sleeps == [1, 2]
    assert len(calls) == 3
    func2, calls2 = failing(2, SystemExit(2))
    with pytest.raises(SystemExit):
        retry(jitter=None, deadline=50, exceptions=BaseException, clock=clock)(func2)()
    assert len(calls2) == 1


def test_huge_backoff_saturates_at_max_delay():
    """An overflowing backoff power is capped instead of crashing."""
    clock = FakeClock()
    func, _ = failing(3)
    wrapped = retry(
        jitter=None, max_attempts=4, delay=1.0, backoff=1e308, max_delay=60.0, sleep=clock.sleep
    )(func)
    wrapped()
    assert clock.sleeps == [1.0, 60.0, 60.0]


@pytest.mark.asyncio
async def test_async_testing_mode_skips_pauses():
    """set_retry_testing also turns off the pauses of coroutine functions."""
    slept: list[float] = []

    async def fake_sleep(seconds):
        slept.append(seconds)

    func, calls = async_failing(2)
    with set_retry_testing():
        assert await async_retry(delay=5, sleep=fake_sleep)(func)() == 1
    assert slept == []
    assert len(calls) == 3


@pytest.mark.asyncio
async def test_async_control_flow_exception_on_a_later_attempt():
    """Async: a KeyboardInterrupt on a retry attempt escapes at once."""
    seq: list[BaseException] = [OSError("a"), KeyboardInterrupt()]

    async def func():
        raise seq.pop(0)

    with pytest.raises(KeyboardInterrupt):
        await async_retry(max_attempts=5, delay=0, exceptions=BaseException)(func)()
    assert seq == []


@pytest.mark.asyncio
async def test_async_general_path_first_result_accepted():
    """Async with retry_if_result: an accepted first result is returned at once."""
    func, calls = async_failing(0)
    assert await async_retry(retry_if_result=lambda r: r is None)(func)(4) == 5
    assert len(calls) == 1


@pytest.mark.asyncio
async def test_async_general_path_never_list():
    """Async with a deadline: SystemExit on the first attempt is not retried."""
    func, calls = async_failing(3, SystemExit(1))
    with pytest.raises(SystemExit):
        await async_retry(deadline=10, exceptions=BaseException)(func)()
    assert len(calls) == 1


# ---- edge cases --------------------------------------------------------------


def _gen():
    yield 1


async def _agen():
    yield 1


@pytest.mark.parametrize("func", [_gen, _agen])
@pytest.mark.parametrize("factory", [retry, async_retry])
def test_generator_functions_are_refused_at_decoration(factory, func):
    """Retrying a generator function would retry nothing: it is refused, naming it."""
    with pytest.raises(ValidationError) as info:
        factory(delay=0)(func)
    assert info.value.field == "func"
    assert func.__qualname__ in str(info.value)
    assert "generator" in str(info.value)


@pytest.mark.parametrize("value", [None, 42, "fetch"])
@pytest.mark.parametrize("factory", [retry, async_retry])
def test_a_value_that_is_not_callable_is_refused_at_decoration(factory, value):
    """retry()(None) is refused at once, naming the value, not at the first call."""
    with pytest.raises(ValidationError, match=r"decorates callables, got") as info:
        factory(delay=0)(value)
    assert info.value.field == "func"
    assert repr(value) in str(info.value)


def test_works_above_classmethod_and_staticmethod():
    """A retry placed above @classmethod / @staticmethod keeps the binding and retries."""
    calls: list[object] = []

    class Client:
        @retry(max_attempts=3, delay=0)
        @classmethod
        def build(cls, x):
            calls.append(cls)
            if len(calls) < 2:
                raise OSError
            return (cls, x)

        @retry(max_attempts=3, delay=0)
        @staticmethod
        def parse(x):
            calls.append(x)
            if len(calls) < 4:
                raise OSError
            return x * 2

    assert Client.build(1) == (Client, 1)
    assert Client().parse(5) == 10
    assert calls == [Client, Client, 5, 5]
    assert isinstance(Client.__dict__["build"], classmethod)
    assert isinstance(Client.__dict__["parse"], staticmethod)


@pytest.mark.asyncio
async def test_async_works_above_classmethod():
    """An async_retry placed above @classmethod keeps the binding."""

    class Client:
        @async_retry(max_attempts=2, delay=0)
        @classmethod
        async def build(cls, x):
            await asyncio.sleep(0)
            return (cls, x)

    assert await Client.build(2) == (Client, 2)


def test_zero_delay_stays_zero_after_the_backoff_power_overflows():
    """delay=0 never turns into an infinite pause, however many attempts are made."""
    clock = FakeClock()
    func, calls = failing(1500)
    with pytest.raises(ConnectionError):
        retry(max_attempts=1100, delay=0.0, sleep=clock.sleep)(func)()
    assert len(calls) == 1100
    assert set(clock.sleeps) == {0.0}


@pytest.mark.parametrize("field", ["delay", "backoff", "jitter"])
def test_infinite_numbers_are_refused(field):
    """delay, backoff and jitter must be finite; the error names the argument and value."""
    kwargs: dict[str, Any] = {field: float("inf")}
    with pytest.raises(ValidationError) as info:
        retry(**kwargs)
    assert info.value.field == field
    assert "inf" in str(info.value)
    assert "finite" in str(info.value)


def test_infinite_pause_gives_up_instead_of_sleeping_forever():
    """A pause that would be infinite (retry_after=inf, no cap) gives up at once."""
    clock = FakeClock()
    given_up: list[RetryState] = []

    def fail():
        raise RateLimitError("never again", retry_after=float("inf"))

    wrapped = retry(max_attempts=3, delay=1.0, sleep=clock.sleep, on_give_up=given_up.append)(fail)
    with pytest.raises(RateLimitError):
        wrapped()
    assert clock.sleeps == []
    assert [s.attempt for s in given_up] == [1]


@pytest.mark.parametrize("retry_after", [True, "30", -5.0, float("nan")])
def test_retry_after_that_is_not_a_positive_number_is_ignored(retry_after):
    """Only a real number of seconds lengthens the pause (not a bool, str, negative, NaN).

    RateLimitError refuses such a wait; an error rebuilt from a received document
    (or a subclass) may still hold one.
    """
    clock = FakeClock()
    error = RateLimitError("slow")
    error.context["retry_after"] = retry_after
    func, _ = failing(1, error)
    retry(delay=0.0, sleep=clock.sleep)(func)()
    assert clock.sleeps == [0.0]


def test_deadline_is_checked_again_after_an_overrunning_pause():
    """A pause that overruns (a slow sleep) never lets an attempt start past the deadline."""
    clock = FakeClock()
    given_up: list[RetryState] = []

    def slow_sleep(seconds):
        clock.now += seconds * 3

    func, calls = failing(100)
    wrapped = retry(
        jitter=None,
        max_attempts=10,
        delay=1.0,
        backoff=1.0,
        deadline=5.0,
        sleep=slow_sleep,
        clock=clock,
        on_give_up=given_up.append,
    )(func)
    with pytest.raises(ConnectionError) as info:
        wrapped()
    assert len(calls) == 2  # attempts at t=0 and t=3; the one at t=6 never starts
    assert clock.now == 6.0
    assert "gave up after 2 attempt(s)" in notes_of(info.value)[-1]
    assert [(s.attempt, s.wait) for s in given_up] == [(2, None)]


@pytest.mark.asyncio
async def test_async_deadline_is_checked_again_after_an_overrunning_pause():
    """The async form also re-checks the deadline after each pause."""
    clock = FakeClock()

    async def slow_sleep(seconds):
        clock.now += seconds * 3

    func, calls = async_failing(100)
    wrapped = async_retry(
        jitter=None,
        max_attempts=10,
        delay=1.0,
        backoff=1.0,
        deadline=5.0,
        sleep=slow_sleep,
        clock=clock,
    )(func)
    with pytest.raises(ConnectionError):
        await wrapped()
    assert len(calls) == 2


@pytest.mark.parametrize("factory", [retry, async_retry])
def test_overrunning_pause_returns_the_last_rejected_result(factory):
    """When a slow pause overruns the deadline, the last rejected result is returned."""
    clock = FakeClock()
    results = iter([None, None, "late"])

    def slow_sleep(seconds):
        clock.now += seconds * 3

    async def produce_async():
        return next(results)

    def produce():
        return next(results)

    kwargs: dict[str, Any] = {"delay": 1.0, "backoff": 1.0, "deadline": 5.0, "clock": clock}
    kwargs |= {"retry_if_result": lambda r: r is None, "sleep": slow_sleep}
    if factory is retry:
        assert retry(jitter=None, max_attempts=5, **kwargs)(produce)() is None
    else:
        assert (
            asyncio.run(async_retry(jitter=None, max_attempts=5, **kwargs)(produce_async)()) is None
        )
    assert clock.now == 6.0


@pytest.mark.skipif(sys.version_info < (3, 11), reason="BaseExceptionGroup is new in 3.11")
@pytest.mark.parametrize("inner", [KeyboardInterrupt(), SystemExit(1), asyncio.CancelledError()])
def test_exception_groups_holding_control_flow_exceptions_are_never_retried(inner):
    """A BaseExceptionGroup that carries e.g. KeyboardInterrupt goes straight through."""
    calls: list[int] = []
    group_cls: Any = vars(builtins)["BaseExceptionGroup"]  # a builtin only from Python 3.11

    def fail():
        calls.append(1)
        raise group_cls("g", [ValueError(), inner])

    with pytest.raises(group_cls):
        retry(max_attempts=3, delay=0, exceptions=BaseException)(fail)()
    assert calls == [1]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is new in 3.11")
def test_exception_groups_of_ordinary_errors_are_retried():
    """An ExceptionGroup of ordinary errors is retried like any listed exception."""
    group_cls: Any = vars(builtins)["ExceptionGroup"]  # a builtin only from Python 3.11
    func, calls = failing(2, group_cls("g", [ValueError()]))
    assert retry(delay=0, exceptions=BaseException)(func)()[0] == "ok"
    assert len(calls) == 3


@pytest.mark.parametrize("factory", [retry, async_retry])
def test_missing_parentheses_are_explained(factory):
    """@retry without parentheses says to call it, naming the function it was given."""

    def fetch():
        return 1

    with pytest.raises(ValidationError) as info:
        factory(fetch)
    assert info.value.field == "max_attempts"
    assert f"@{factory.__name__}()" in str(info.value)
    assert "fetch" in str(info.value)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup is new in 3.11")
def test_exception_groups_carrying_a_programming_error_are_not_retried_by_default():
    """A task group's ExceptionGroup with a TypeError inside is a bug: one attempt."""
    group_cls: Any = vars(builtins)["ExceptionGroup"]  # a builtin only from Python 3.11
    for inner in ([TypeError("bug")], [OSError("down"), AttributeError("bug")]):
        func, calls = failing(2, group_cls("g", inner))
        with pytest.raises(group_cls):
            retry(delay=0)(func)()
        assert len(calls) == 1
    func, calls = failing(2, group_cls("g", [OSError("down")]))
    assert retry(delay=0)(func)()[0] == "ok"
    assert len(calls) == 3


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.timeout is new in 3.11")
def test_a_failure_raised_while_the_task_is_cancelled_is_not_retried():
    """A library turning a cancellation into its own error must not defeat asyncio.timeout."""
    attempts: list[int] = []
    clock = FakeClock()

    @async_retry(max_attempts=5, delay=1.0, jitter=None, sleep=clock.async_sleep)
    async def query() -> str:
        attempts.append(1)
        try:
            await asyncio.sleep(10)
        except asyncio.CancelledError:
            raise ConnectionError("closed while cancelled") from None
        return "late"

    async def main() -> None:
        timeout: Any = vars(asyncio)["timeout"]  # only from Python 3.11
        async with timeout(0.01):
            await query()

    with pytest.raises(ConnectionError, match="closed while cancelled"):
        asyncio.run(main())
    assert attempts == [1]
    assert clock.sleeps == []

    block_attempts: list[int] = []

    async def block() -> None:
        timeout: Any = vars(asyncio)["timeout"]
        async with timeout(0.01):
            async for attempt in retrying(delay=1.0, sleep=clock.async_sleep):
                with attempt:
                    block_attempts.append(attempt.number)
                    try:
                        await asyncio.sleep(10)
                    except asyncio.CancelledError:
                        raise ConnectionError("closed while cancelled") from None

    with pytest.raises(ConnectionError):
        asyncio.run(block())
    assert block_attempts == [1]


def test_a_failure_after_a_handled_inner_timeout_is_still_retried():
    """A cancellation that was fully handled inside the attempt does not stop the retries."""
    attempts: list[int] = []

    @async_retry(max_attempts=3, delay=0.0)
    async def query() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            try:
                await asyncio.wait_for(asyncio.sleep(10), 0.001)
            except asyncio.TimeoutError as exc:
                raise ConnectionError("slow") from exc
        return "ok"

    assert asyncio.run(query()) == "ok"
    assert attempts == [1, 1, 1]


def test_a_cancellation_in_a_plain_failure_chain_does_not_stop_the_retries():
    """Outside a cancelled task, a CancelledError in the failure's chain means nothing."""
    first, second = ValueError("a"), ValueError("b")
    first.__context__, second.__context__ = second, first  # a cycle must not hang
    for context in (ValueError("plain"), asyncio.CancelledError(), first):
        error = ConnectionError("down")
        error.__context__ = context
        func, calls = failing(2, error)
        assert retry(delay=0.0)(func)()[0] == "ok"
        assert len(calls) == 3


def test_an_exception_whose_notes_are_not_a_list_is_raised_unchanged():
    """Giving up never replaces the failure, even when its __notes__ cannot take a note."""
    frozen: Any = type("Frozen", (OSError,), {"__notes__": ("frozen",)})

    func, calls = failing(5, frozen("down"))
    with pytest.raises(frozen) as info:
        retry(max_attempts=2, delay=0.0)(func)()
    assert info.value.__notes__ == ("frozen",)
    assert len(calls) == 2


@pytest.mark.parametrize("exceptions", [None, Exception, BaseException])
@pytest.mark.parametrize("accept", [None, lambda _: False])
@pytest.mark.parametrize("fails_first", [False, True])
def test_plain_function_returning_an_awaitable_is_refused_naming_the_fix(
    exceptions, accept, fails_first
):
    """A plain def returning a coroutine is refused on its first result, never retried.

    Retrying it would retry only the creation of the coroutine: its failures surface
    where it is awaited, outside the retry. The error names `async def` and
    async_retry; the coroutine is closed (no never-awaited warning); the refusal itself
    is not retried, whatever exceptions= says.
    """
    calls: list[int] = []

    async def fetch() -> str:
        raise OSError("down")

    def handler():
        calls.append(1)
        if fails_first and len(calls) == 1:
            raise OSError("first")
        return fetch()

    wrapped = retry(max_attempts=4, delay=0.0, exceptions=exceptions, retry_if_result=accept)(
        handler
    )
    with pytest.raises(
        ValidationError, match=r"handler.*returned an awaitable coroutine.*async def.*async_re"
    ):
        wrapped()
    assert len(calls) == (2 if fails_first else 1)


def test_the_fix_the_refusal_names_retries_the_awaited_failures():
    """async_retry awaits what a plain def returns, so the awaited failures are retried."""
    calls: list[int] = []

    async def fetch() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OSError("down")
        return "ok"

    def handler():
        return fetch()

    assert asyncio.run(async_retry(max_attempts=3, delay=0.0)(handler)()) == "ok"
    assert len(calls) == 3


def test_both_wrappers_come_from_one_template_and_show_it_in_tracebacks():
    """The sync wrapper is the async template without async/await; tracebacks show its lines."""
    from pmp_decorators import _retry_drivers as drivers

    sync = drivers.unasync(drivers.TEMPLATE)
    assert "await " not in sync
    assert "async " not in sync
    assert "#sync:" not in sync
    assert "refuse_awaitable(" in sync
    assert sync.count("\n") == drivers.TEMPLATE.count("\n")  # line for line
    func, _ = failing(5)

    with pytest.raises(OSError) as info:
        retry(max_attempts=2, delay=0)(func)(1)
    assert "result = call(*args, **kwargs)" in "".join(traceback.format_tb(info.tb))
    modules = {frame.f_globals.get("__name__") for frame, _ in traceback.walk_tb(info.tb)}
    assert "pmp_decorators._retry_drivers" in modules  # warnings and logs name the module

    async def afunc():
        raise OSError("down")

    with pytest.raises(OSError) as info:
        asyncio.run(retry(max_attempts=2, delay=0)(afunc)())
    assert "result = await call(*args, **kwargs)" in "".join(traceback.format_tb(info.tb))


def test_awaitable_check_asks_the_type_and_knows_generator_coroutines():
    """A proxy answering every attribute is not awaitable; a types.coroutine object is.

    Only the result's type says whether ``await`` works on it: an instance ``__getattr__``
    that answers any name must not make a plain result refused.
    """
    import types

    class Proxy:
        def __getattr__(self, name: str) -> object:
            return lambda *_: None

    proxy = Proxy()
    assert retry(delay=0.0)(lambda: proxy)() is proxy

    @types.coroutine
    def legacy():
        yield

    def handler():
        return legacy()

    with pytest.raises(ValidationError, match="returned an awaitable generator"):
        retry(delay=0.0)(handler)()
