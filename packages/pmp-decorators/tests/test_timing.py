import asyncio
import logging
import math
import threading
import time

import pytest
import structlog
from hypothesis import given
from hypothesis import strategies as st

from pmp_decorators import BlockTimer, TimingStats, measure_block, timed
from pmp_errors import ValidationError


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def capture():
    logger = logging.getLogger("test.pmp.timing")
    handler = Capture()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler.records
    logger.removeHandler(handler)


@pytest.fixture
def fake_clock(monkeypatch):
    ticks = iter(range(0, 10**12, 1_500_000))
    clock = lambda: next(ticks)
    monkeypatch.setattr("pmp_decorators._timing.perf_counter_ns", clock)
    monkeypatch.setattr("pmp_decorators._block.perf_counter_ns", clock)


@pytest.mark.parametrize(
    ("unit", "value"), [("ns", 1_500_000.0), ("us", 1500.0), ("ms", 1.5), ("s", 0.0015)]
)
def test_logs_one_record_with_structured_extra(capture, fake_clock, unit, value):
    """Each call logs once, with function, elapsed in the unit, elapsed_ns and unit."""
    logger, records = capture

    @timed(unit=unit, logger=logger)
    def work(x):
        return x * 2

    assert work(4) == 8
    (record,) = records
    assert record.function == work.__qualname__
    assert record.elapsed == value
    assert record.elapsed_ns == 1_500_000
    assert record.unit == unit
    assert record.raised is False
    assert record.levelno == logging.DEBUG
    assert record.getMessage() == f"{work.__qualname__} took {value:.3f} {unit}"
    assert record.pathname == __file__


def test_seed_form_logs_to_the_default_logger(caplog):
    """@timed(unit='ms') logs on pmp_decorators.timing at DEBUG."""

    @timed(unit="ms")
    def slow_function():
        return 1

    with caplog.at_level(logging.DEBUG, logger="pmp_decorators.timing"):
        slow_function()
    assert [r.name for r in caplog.records] == ["pmp_decorators.timing"]


def test_formats_nothing_when_the_level_is_disabled(capture):
    """With the level disabled no record is made and no argument is formatted."""
    logger, records = capture
    logger.setLevel(logging.INFO)

    class Loud:
        def __str__(self):
            raise AssertionError

    @timed(logger=logger, name="x")
    def work():
        return Loud()

    work()
    assert records == []


def test_times_and_logs_when_the_body_raises(capture, fake_clock):
    """A raising call is still timed, counted and logged with raised=True."""
    logger, records = capture
    stats = TimingStats(unit="ms")

    @timed(logger=logger, stats=stats, level=logging.WARNING)
    def boom():
        raise KeyError("k")

    with pytest.raises(KeyError):
        boom()
    assert records[0].raised is True
    assert records[0].levelno == logging.WARNING
    assert "raised after 1.500 ms" in records[0].getMessage()
    assert records[0].pathname == __file__
    assert stats.count == 1


def test_failed_call_without_logging_or_stats_still_raises(capture):
    """With logging off, a raising timed call raises unchanged."""
    logger, _ = capture
    logger.setLevel(logging.ERROR)
    err = ValueError("v")

    @timed(logger=logger)
    def boom():
        raise err

    with pytest.raises(ValueError) as info:
        boom()
    assert info.value is err


def test_recursion_is_timed_per_call(capture):
    """Recursive calls each get their own record (no shared timer state)."""
    logger, records = capture

    @timed(logger=logger, unit="ns")
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(5) == 120
    assert len(records) == 5
    elapsed = [r.elapsed_ns for r in records]
    assert elapsed == sorted(elapsed)


def test_threads_are_timed_independently(capture):
    """Concurrent calls from threads each produce a correct record."""
    logger, records = capture
    stats = TimingStats(unit="ns")
    barrier = threading.Barrier(4)

    @timed(logger=logger, stats=stats, unit="ns")
    def work(i):
        barrier.wait()
        return i

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(records) == 4
    assert stats.count == 4
    assert stats.total_ns == sum(r.elapsed_ns for r in records)


@pytest.mark.asyncio
async def test_async_times_the_awaited_body(capture, monkeypatch):
    """For async def, the time spent awaiting is inside the measurement."""
    logger, records = capture
    now = [0]
    clock = lambda: now[0]
    monkeypatch.setattr("pmp_decorators._timing.perf_counter_ns", clock)
    monkeypatch.setattr("pmp_decorators._block.perf_counter_ns", clock)

    @timed(logger=logger, unit="ms")
    async def fetch():
        await asyncio.sleep(0)
        now[0] += 50_000_000
        return "done"

    assert asyncio.iscoroutinefunction(fetch)
    assert await fetch() == "done"
    assert records[0].elapsed == 50.0


@pytest.mark.asyncio
async def test_async_raising_body_is_recorded(capture):
    """An async body that raises is timed and logged with raised=True."""
    logger, records = capture
    stats = TimingStats()

    @timed(logger=logger, stats=stats)
    async def boom():
        await asyncio.sleep(0)
        raise OSError

    with pytest.raises(OSError):
        await boom()
    assert records[0].raised is True
    assert stats.count == 1


@pytest.mark.asyncio
async def test_async_timed_without_logging(capture):
    """Async timed with logging disabled only updates stats."""
    logger, records = capture
    logger.setLevel(logging.ERROR)
    stats = TimingStats()

    @timed(logger=logger, stats=stats)
    async def ok():
        return 1

    assert await ok() == 1
    assert records == []
    assert stats.count == 1


def test_keeps_metadata_and_uses_the_given_name(capture):
    """The wrapper keeps name/doc/__wrapped__; name= sets the logged label."""
    logger, records = capture

    def f():
        """Doc."""

    wrapped = timed(logger=logger, name="custom")(f)
    wrapped()
    assert (wrapped.__name__, wrapped.__doc__, wrapped.__wrapped__) == ("f", "Doc.", f)  # type: ignore[attr-defined]
    assert records[0].function == "custom"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"unit": "minutes"}, "unit"),
        ({"unit": 1}, "unit"),
        ({"logger": "root"}, "logger"),
        ({"logger": object()}, "logger"),
        ({"logger": logging.getLogger("x"), "level": "DEBUG"}, "level"),
        ({"stats": {}}, "stats"),
    ],
)
def test_bad_configuration_names_the_argument(kwargs, field):
    """Timed rejects bad settings with a ValidationError naming the argument."""
    with pytest.raises(ValidationError) as info:
        timed(**kwargs)
    assert info.value.field == field


@given(st.lists(st.integers(0, 10**12), min_size=1, max_size=50))
def test_stats_match_the_samples(samples):
    """TimingStats count/total/min/max/mean equal those of the samples."""
    stats = TimingStats(unit="ns")
    for s in samples:
        stats.add(s)
    assert (stats.count, stats.total_ns, stats.min_ns, stats.max_ns) == (
        len(samples),
        sum(samples),
        min(samples),
        max(samples),
    )
    assert stats.mean == pytest.approx(sum(samples) / len(samples))
    assert stats.as_dict()["count"] == len(samples)


def test_stats_reset_and_empty_values():
    """An empty or reset TimingStats reports zero and None."""
    stats = TimingStats("s")
    assert (stats.count, stats.total, stats.min, stats.max, stats.mean) == (
        0,
        0.0,
        None,
        None,
        None,
    )
    stats.add(2_000_000_000)
    assert (stats.total, stats.min, stats.max, stats.mean) == (2.0, 2.0, 2.0, 2.0)
    assert "count=1" in repr(stats)
    stats.reset()
    assert stats.as_dict() == {
        "unit": "s",
        "count": 0,
        "total": 0.0,
        "min": None,
        "max": None,
        "mean": None,
        "p50": None,
        "p95": None,
        "p99": None,
    }


class _SlowInt(int):
    """An int whose addition pauses, so unlocked read-modify-write updates would collide."""

    def __add__(self, other: int) -> "_SlowInt":
        time.sleep(0.001)  # releases the GIL between reading and writing the counter
        return _SlowInt(int(self) + other)


def test_stats_are_exact_under_threads():
    """Threads adding at once lose no sample, even when each update is slow."""
    stats = TimingStats()
    stats.count = _SlowInt(0)
    stats.total_ns = _SlowInt(0)
    barrier = threading.Barrier(4)

    def add():
        barrier.wait()
        for _ in range(25):
            stats.add(1)

    threads = [threading.Thread(target=add) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert stats.count == 100
    assert stats.total_ns == 100


def test_stats_reject_a_bad_unit():
    """TimingStats(unit=...) validates the unit."""
    with pytest.raises(ValidationError):
        TimingStats(unit="h")


# ---- measure_block -------------------------------------------------------------


def test_measure_block_is_the_block_timer_class():
    """measure_block is BlockTimer, so its instances are typed and cheap."""
    assert measure_block is BlockTimer


def test_measure_block_logs_and_exposes_elapsed(capture, fake_clock):
    """The block is logged once and the yielded object keeps the elapsed time."""
    logger, records = capture
    stats = TimingStats()
    with measure_block("data_processing", logger=logger, stats=stats) as block:
        assert block.elapsed is None
    assert block.elapsed_ns == 1_500_000
    assert block.elapsed == 1.5
    (record,) = records
    assert (record.block, record.elapsed, record.unit, record.raised) == (
        "data_processing",
        1.5,
        "ms",
        False,
    )
    assert record.pathname == __file__
    assert stats.count == 1
    assert "data_processing" in repr(block)


def test_measure_block_seed_form(caplog):
    """With measure_block('data_processing'): logs on pmp_decorators.timing."""
    with (
        caplog.at_level(logging.DEBUG, logger="pmp_decorators.timing"),
        measure_block("data_processing"),
    ):
        sum(range(10))
    assert caplog.records[0].block == "data_processing"


def test_measure_block_records_a_raising_block(capture):
    """A raising block is timed and logged, and the exception propagates."""
    logger, records = capture
    with pytest.raises(ZeroDivisionError), measure_block("div", logger=logger) as block:
        1 / 0  # noqa: B018
    assert block.elapsed_ns is not None
    assert records[0].raised is True


def test_measure_block_silent_when_disabled(capture):
    """Nothing is logged when the level is disabled; elapsed is still set."""
    logger, records = capture
    logger.setLevel(logging.CRITICAL)
    with measure_block("quiet", unit="us", logger=logger) as block:
        time.perf_counter()
    assert records == []
    assert block.elapsed is not None


@pytest.mark.asyncio
async def test_measure_block_async_with(capture, fake_clock):
    """Async with measure_block(...) times the awaited block."""
    logger, records = capture
    stats = TimingStats()
    async with measure_block("io", logger=logger, stats=stats) as block:
        await asyncio.sleep(0)
    assert block.elapsed == 1.5
    assert records[0].block == "io"
    assert stats.count == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"unit": "h"}, "unit"), ({"logger": 3}, "logger"), ({"stats": 1}, "stats")],
)
def test_measure_block_rejects_bad_arguments(kwargs, field):
    """measure_block validates unit, logger and stats."""
    with pytest.raises(ValidationError) as info:
        measure_block("x", **kwargs)
    assert info.value.field == field


@pytest.mark.asyncio
async def test_measure_block_async_silent(capture):
    """Async with and logging disabled: only the elapsed time is kept."""
    logger, records = capture
    logger.setLevel(logging.CRITICAL)
    async with measure_block("quiet", logger=logger) as block:
        await asyncio.sleep(0)
    assert records == []
    assert block.elapsed_ns is not None


def _numbers():
    yield 1


async def _async_numbers():
    yield 1


@pytest.mark.parametrize("func", [_numbers, _async_numbers])
def test_generator_functions_are_refused_at_decoration(func):
    """Timing a generator function would time only its creation: it is refused, naming it."""
    with pytest.raises(ValidationError) as info:
        timed()(func)
    assert info.value.field == "func"
    assert func.__qualname__ in str(info.value)
    assert "measure_block" in str(info.value)


def test_works_above_classmethod_and_staticmethod(capture):
    """Timing placed above @classmethod / @staticmethod keeps the binding and times calls."""
    logger, records = capture

    class Parser:
        @timed(logger=logger)
        @classmethod
        def build(cls, x):
            return (cls, x)

        @timed(logger=logger)
        @staticmethod
        def parse(x):
            return x * 2

    assert Parser.build(1) == (Parser, 1)
    assert Parser().parse(5) == 10
    assert [r.function for r in records] == [
        "test_works_above_classmethod_and_staticmethod.<locals>.Parser.build",
        "test_works_above_classmethod_and_staticmethod.<locals>.Parser.parse",
    ]


class BrokenHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        msg = "handler broke"
        raise RuntimeError(msg)


@pytest.fixture
def broken_logger():
    logger = logging.getLogger("test.pmp.timing.broken")
    handler = BrokenHandler()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger
    logger.removeHandler(handler)


def _run_block(logger, fail):
    with measure_block("b", logger=logger):
        if fail:
            raise ValueError(fail)
    return "done"


async def _run_async_block(logger, fail):
    async with measure_block("b", logger=logger):
        if fail:
            raise ValueError(fail)
    return "done"


def _call(kind, logger, fail):
    if kind == "timed":

        @timed(logger=logger)
        def work():
            if fail:
                raise ValueError(fail)
            return "done"

        return work()
    if kind == "timed-async":

        @timed(logger=logger)
        async def awork():
            if fail:
                raise ValueError(fail)
            return "done"

        return asyncio.run(awork())
    if kind == "block":
        return _run_block(logger, fail)
    return asyncio.run(_run_async_block(logger, fail))


@pytest.mark.parametrize("kind", ["timed", "timed-async", "block", "block-async"])
@pytest.mark.parametrize("raise_exceptions", [True, False])
def test_a_failing_log_handler_never_replaces_the_outcome(
    broken_logger, capsys, monkeypatch, kind, raise_exceptions
):
    """An error raised while logging keeps the result or the body's own exception."""
    monkeypatch.setattr(logging, "raiseExceptions", raise_exceptions)
    assert _call(kind, broken_logger, None) == "done"
    with pytest.raises(ValueError, match="body error"):
        _call(kind, broken_logger, "body error")
    err = capsys.readouterr().err
    assert ("handler broke" in err) is raise_exceptions


def test_missing_parentheses_are_explained():
    """@timed without parentheses says to call it, naming the function it was given."""

    def work():
        return 1

    with pytest.raises(ValidationError) as info:
        timed(work)  # type: ignore[arg-type]
    assert info.value.field == "unit"
    assert "@timed()" in str(info.value)
    assert "work" in str(info.value)


@pytest.mark.parametrize("factory", [timed, measure_block])
def test_name_must_be_a_string(factory):
    """A name that is not a string is refused, naming the argument and the value."""
    with pytest.raises(ValidationError) as info:
        factory(name=42)
    assert (info.value.field, info.value.value) == ("name", 42)
    assert "name must be a str" in str(info.value)
    assert "got 42" in str(info.value)


# ---- percentiles ------------------------------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=10**13), min_size=1, max_size=300))
def test_percentiles_are_within_the_documented_accuracy(samples):
    """Each percentile is within 1/128 of the nearest-rank sample, and inside [min, max]."""
    stats = TimingStats(unit="ns")
    for sample in samples:
        stats.add(sample)
    ordered = sorted(samples)
    for q in (1, 50, 95, 99, 100):
        exact = ordered[max(1, math.ceil(q / 100 * len(ordered))) - 1]
        got = stats.percentile(q)
        assert got is not None
        assert ordered[0] <= got <= ordered[-1]
        assert abs(got - exact) <= exact / 128 + 0.5


def test_percentiles_use_bounded_memory():
    """A million distinct timings keep a few thousand buckets at most."""
    stats = TimingStats(unit="ns")
    for sample in range(1, 10**12, 10**6):
        stats.add(sample)
    assert stats.count == 10**6
    assert len(stats._buckets) < 3000
    assert stats.p50 == pytest.approx(5 * 10**11, rel=0.01)


@pytest.mark.parametrize("q", [0, -1, 101, float("nan"), "50", True])
def test_percentile_rejects_a_bad_q(q):
    """percentile(q) needs 0 < q <= 100."""
    with pytest.raises(ValidationError) as info:
        TimingStats().percentile(q)
    assert info.value.field == "q"


# ---- other loggers ------------------------------------------------------------------


def test_logger_adapter_gets_the_fields_merged_with_its_own(capture, fake_clock):
    """A LoggerAdapter is accepted; its extra and the timing fields both reach the record."""
    logger, records = capture
    adapter = logging.LoggerAdapter(logger, {"request_id": "r1"})

    @timed(logger=adapter)
    def work():
        return 1

    assert work() == 1
    with measure_block("blk", logger=adapter):
        pass
    assert [r.request_id for r in records] == ["r1", "r1"]
    assert records[0].function.endswith("work")
    assert records[1].block == "blk"
    assert records[0].elapsed == 1.5


def test_disabled_logger_adapter_formats_nothing(capture):
    """A LoggerAdapter whose level is disabled is asked first, so nothing is logged."""
    logger, records = capture
    logger.setLevel(logging.INFO)
    timed(logger=logging.LoggerAdapter(logger, {}))(lambda: 1)()
    assert records == []


class LogLike:
    """An object with only a logger's log method (and optionally is_enabled_for)."""

    def __init__(self, enabled: bool | None = None) -> None:
        self.calls: list[tuple[int, str, tuple[object, ...], dict[str, object]]] = []
        if enabled is not None:
            self.is_enabled_for = lambda _level: enabled

    def log(self, level: int, msg: str, *args: object, **fields: object) -> None:
        self.calls.append((level, msg, args, fields))


def test_any_object_with_log_gets_the_fields_as_keywords(fake_clock):
    """An object with log(level, msg, *args, **fields) receives the timing fields."""
    sink = LogLike()
    with measure_block("load", logger=sink, level=logging.INFO):
        pass
    ((level, msg, args, fields),) = sink.calls
    assert level == logging.INFO
    assert msg % args == "load took 1.500 ms"
    assert fields == {
        "block": "load",
        "elapsed": 1.5,
        "elapsed_ns": 1_500_000,
        "unit": "ms",
        "raised": False,
    }


def test_object_logger_is_enabled_for_is_respected():
    """is_enabled_for(level) returning false means no call at all."""
    sink = LogLike(enabled=False)
    timed(logger=sink)(lambda: 1)()
    assert sink.calls == []


def test_structlog_bound_logger_receives_the_timing(fake_clock):
    """A structlog bound logger works as the logger, with the fields as key-values."""
    captured: list[dict[str, object]] = []

    def keep(_logger, _name, event_dict):
        captured.append(dict(event_dict))
        raise structlog.DropEvent

    log = structlog.wrap_logger(
        structlog.PrintLogger(),
        processors=[keep],
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
    ).bind(service="api")

    @timed(logger=log)
    def handler():
        return "ok"

    assert handler() == "ok"
    (event,) = captured
    assert event["service"] == "api"
    assert event["event"] == f"{handler.__qualname__} took 1.500 ms"
    assert event["elapsed_ns"] == 1_500_000


def test_structlog_filtered_level_is_not_formatted():
    """A structlog logger filtering out the level gets nothing."""
    captured: list[object] = []

    def keep(_logger, _name, event_dict):
        captured.append(event_dict)
        raise structlog.DropEvent

    log = structlog.wrap_logger(
        structlog.PrintLogger(),
        processors=[keep],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
    )
    timed(logger=log)(lambda: 1)()
    assert captured == []


@pytest.mark.parametrize("bad", [1.5, "5", None, True, -3])
def test_stats_refuse_a_bad_sample_and_keep_their_figures(bad):
    """add() takes a whole number of nanoseconds >= 0; anything else changes nothing."""
    stats = TimingStats(unit="ns")
    stats.add(100)
    with pytest.raises(ValidationError, match="elapsed_ns"):
        stats.add(bad)
    assert (stats.count, stats.total_ns, stats.min_ns, stats.max_ns) == (1, 100, 100, 100)
    assert stats.p50 == 100.0
