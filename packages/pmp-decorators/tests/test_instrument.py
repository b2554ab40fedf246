import asyncio
import logging
import threading

import pytest

from pmp_decorators import (
    RetryState,
    TimingStats,
    async_retry,
    measure_block,
    retry,
    retrying,
    timed,
)
from pmp_decorators._instrument import error_type
from pmp_decorators.instrumentation import Instrument, set_instrumentation
from pmp_errors import ValidationError


class Recorder(Instrument):
    """Keeps every event it is told about, in order."""

    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    def retry_scheduled(self, state: RetryState) -> None:
        self.events.append(("scheduled", state))

    def retry_gave_up(self, state: RetryState) -> None:
        self.events.append(("gave_up", state))

    def timing_started(self, name: str) -> object:
        self.events.append(("started", name))
        return f"token:{name}"

    def timing_ended(self, name, token, elapsed_ns, error) -> None:
        self.events.append(("ended", name, token, elapsed_ns, error))


class Flaky:
    """Raises OSError the first ``failures`` times of each round of ``failures + 1`` calls."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.calls = 0
        self.errors: list[OSError] = []

    def __call__(self) -> str:
        self.calls += 1
        if self.calls % (self.failures + 1):
            error = OSError(f"down {self.calls}")
            self.errors.append(error)
            raise error
        return "ok"


def calling(flaky):
    """A plain function calling ``flaky`` (so that it has a name)."""

    def fetch():
        return flaky()

    return fetch


@pytest.fixture
def recorder():
    instrument = Recorder()
    with set_instrumentation(instrument):
        yield instrument


def exact(**kwargs):
    """A retry configuration with exact pauses (0.1 s, then 0.2 s) and no real sleep."""
    return retry(
        max_attempts=3, delay=0.1, backoff=2.0, jitter=None, sleep=lambda _: None, **kwargs
    )


def test_three_attempts_two_waits_reach_the_instrument(recorder):
    """A call failing twice then succeeding tells the instrument of two retries, in order."""
    flaky = Flaky(2)
    wrapped = exact()(calling(flaky))
    assert wrapped() == "ok"
    name = "calling.<locals>.fetch"
    assert recorder.events == [
        ("scheduled", RetryState(name, 1, 3, 0.1, 0.0, flaky.errors[0])),
        ("scheduled", RetryState(name, 2, 3, 0.2, 0.1, flaky.errors[1])),
    ]


def test_giving_up_reaches_the_instrument(recorder):
    """Running out of attempts tells the instrument once, with the last exception."""
    flaky = Flaky(100)
    wrapped = exact()(calling(flaky))
    with pytest.raises(OSError, match="down 3"):
        wrapped()
    kinds = [event[0] for event in recorder.events]
    assert kinds == ["scheduled", "scheduled", "gave_up"]
    gave_up = recorder.events[-1][1]
    assert gave_up == RetryState("calling.<locals>.fetch", 3, 3, None, 0.1 + 0.2, flaky.errors[2])


def test_instrument_runs_before_the_functions_own_hooks(recorder):
    """The installed instrument sees the state first, then on_retry gets the same object."""
    seen: list[RetryState] = []
    wrapped = exact(on_retry=seen.append, on_give_up=seen.append)(Flaky(100))
    with pytest.raises(OSError):
        wrapped()
    assert [event[1] for event in recorder.events] == seen


@pytest.mark.asyncio
async def test_async_retry_and_block_form_report_the_same_events(recorder):
    """async_retry and the retrying block form go through the same instrumented core."""
    flaky = Flaky(1)

    async def call():
        return flaky()

    async def no_sleep(_):
        return None

    wrapped = async_retry(max_attempts=2, delay=0.5, jitter=None, sleep=no_sleep)(call)
    assert await wrapped() == "ok"
    block = Flaky(1)
    for attempt in retrying(max_attempts=2, delay=0.5, jitter=None, sleep=lambda _: None, name="b"):
        with attempt:
            block()
    assert recorder.events == [
        ("scheduled", RetryState(call.__qualname__, 1, 2, 0.5, 0.0, flaky.errors[0])),
        ("scheduled", RetryState("b", 1, 2, 0.5, 0.0, block.errors[0])),
    ]


def test_timed_and_measure_block_report_start_and_end(recorder, monkeypatch):
    """Timed calls and measured blocks hand the start token back with the elapsed time and error."""
    ticks = iter(range(0, 10**9, 1000))
    monkeypatch.setattr("pmp_decorators._timing.perf_counter_ns", lambda: next(ticks))
    error = ValueError("bad")
    stats = TimingStats(unit="ns")

    @timed(stats=stats)
    def work(fail):
        if fail:
            raise error
        with measure_block("inner"):
            return 1

    assert work(False) == 1
    with pytest.raises(ValueError, match="bad"):
        work(True)
    name = work.__qualname__
    assert recorder.events == [
        ("started", name),
        ("started", "inner"),
        ("ended", "inner", "token:inner", 1000, None),
        ("ended", name, f"token:{name}", 3000, None),
        ("started", name),
        ("ended", name, f"token:{name}", 1000, error),
    ]
    assert (stats.count, stats.total) == (2, 4000)


@pytest.mark.asyncio
async def test_async_timed_and_block_report_start_and_end(recorder):
    """The async forms of timed and measure_block report the same events."""

    @timed()
    async def work():
        async with measure_block("inner"):
            await asyncio.sleep(0)

    await work()
    assert [event[:2] for event in recorder.events] == [
        ("started", work.__qualname__),
        ("started", "inner"),
        ("ended", "inner"),
        ("ended", work.__qualname__),
    ]


def test_functions_decorated_before_installing_are_observed():
    """Installing applies at once to functions decorated earlier, and restoring stops it."""

    @timed()
    def work():
        return 1

    instrument = Recorder()
    with set_instrumentation(instrument):
        work()
    work()
    assert [event[0] for event in instrument.events] == ["started", "ended"]


def test_no_argument_turns_instrumentation_off(recorder):
    """set_instrumentation() removes what was installed; restoring puts it back."""
    wrapped = exact()(Flaky(1))
    with set_instrumentation():
        wrapped()
    assert recorder.events == []
    wrapped()
    assert len(recorder.events) == 1


def test_a_block_ended_after_uninstalling_still_ends_what_it_started():
    """A block entered with instruments installed reports its end even if they are removed."""
    instrument = Recorder()
    restorer = set_instrumentation(instrument)
    with measure_block("b"):
        restorer.restore()
    assert [event[0] for event in instrument.events] == ["started", "ended"]


def test_several_instruments_end_in_reverse_order():
    """Every instrument is told; timings end last-started first (as nested spans must)."""
    order: list[str] = []

    class Named(Instrument):
        def __init__(self, name):
            self.name = name

        def timing_started(self, name):
            order.append(f"start {self.name}")

        def timing_ended(self, name, token, elapsed_ns, error):
            order.append(f"end {self.name}")

    with set_instrumentation(Named("a"), Named("b")), measure_block("x"):
        pass
    assert order == ["start a", "start b", "end b", "end a"]


def test_an_instrument_overriding_nothing_costs_no_timing_call():
    """A plain Instrument is installed without timing hooks (nothing to call)."""
    with set_instrumentation(Instrument()), measure_block("x") as block:
        pass
    assert block.elapsed_ns is not None


@pytest.mark.parametrize("bad", [object(), [Recorder()], None])
def test_only_instruments_are_accepted(bad):
    """Anything but an Instrument is refused with a ValidationError naming it."""
    with pytest.raises(ValidationError, match="Instrument objects"):
        set_instrumentation(bad)


class Broken(Instrument):
    def __init__(self, where: str) -> None:
        self.where = where
        self.ended = 0

    def retry_scheduled(self, state):
        if self.where == "retry":
            raise RuntimeError("exporter down")

    def retry_gave_up(self, state):
        if self.where == "retry":
            raise RuntimeError("exporter down")

    def timing_started(self, name):
        if self.where == "started":
            raise RuntimeError("exporter down")

    def timing_ended(self, name, token, elapsed_ns, error):
        self.ended += 1
        if self.where == "ended":
            raise RuntimeError("exporter down")


@pytest.mark.parametrize("where", ["retry", "started", "ended"])
def test_a_raising_instrument_never_breaks_the_call_and_is_reported_once(where, caplog):
    """Calls return and raise as without the instrument; each failing hook is logged once."""
    broken = Broken(where)
    recorder = Recorder()

    work = timed()(exact()(calling(Flaky(1))))

    giving_up = exact()(Flaky(100))
    with (
        caplog.at_level(logging.ERROR, "pmp_decorators.instrumentation"),
        set_instrumentation(broken, recorder),
    ):
        for _ in range(3):
            assert work() == "ok"
            with pytest.raises(OSError):
                giving_up()
    records = [r for r in caplog.records if r.name == "pmp_decorators.instrumentation"]
    expected = {"retry": ["retry_scheduled", "retry_gave_up"], "started": ["timing_started"]}
    assert [r.args[1] for r in records] == expected.get(where, ["timing_ended"])
    assert all(r.exc_info and str(r.exc_info[1]) == "exporter down" for r in records)
    assert [e[0] for e in recorder.events].count("scheduled") == 3 * 3  # the other still runs
    assert broken.ended == (0 if where == "started" else 3)


def test_concurrent_threads_each_report_every_event():
    """Under 8 threads the instrument sees exactly the retries that happened."""
    lock = threading.Lock()
    counts = {"scheduled": 0, "ended": 0}

    class Counting(Instrument):
        def retry_scheduled(self, state):
            with lock:
                counts["scheduled"] += 1

        def timing_ended(self, name, token, elapsed_ns, error):
            with lock:
                counts["ended"] += 1

    local = threading.local()

    @timed()
    @retry(max_attempts=2, delay=0.0)
    def work():
        local.calls = getattr(local, "calls", 0) + 1
        if local.calls % 2:
            raise OSError

    def run():
        for _ in range(100):
            work()

    with set_instrumentation(Counting()):
        threads = [threading.Thread(target=run) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert counts == {"scheduled": 800, "ended": 800}


class Custom(Exception):
    pass


@pytest.mark.parametrize(
    ("exception", "expected"),
    [
        (OSError(), "OSError"),
        (Custom(), f"{__name__}.Custom"),
        (None, "rejected_result"),
    ],
)
def test_error_type_names_the_class(exception, expected):
    """Builtins by name, other classes with their module; a rejected result is named so."""
    assert error_type(RetryState("f", 1, 2, 0.0, 0.0, exception)) == expected


def test_timed_records_still_point_at_the_caller_when_instrumented(recorder, caplog):
    """With instruments installed, timed's log record still names the calling line."""

    @timed()
    def work():
        return 1

    with caplog.at_level(logging.DEBUG, "pmp_decorators.timing"):
        work()
        line = test_timed_records_still_point_at_the_caller_when_instrumented.__code__
    (record,) = caplog.records
    assert record.funcName == line.co_name
