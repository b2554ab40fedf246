"""One measure_block object used nested, from threads and from tasks: each use is its own."""

from __future__ import annotations

import asyncio
import threading

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from pmp_decorators import TimingStats, measure_block
from pmp_decorators.instrumentation import set_instrumentation
from pmp_decorators.integrations.opentelemetry import OpenTelemetryInstrument
from pmp_errors import ConfigurationError


@pytest.fixture(autouse=True, params=[True, False], ids=["gil", "no-gil"])
def gil(request, monkeypatch):
    """Every test runs as under the GIL and as without it (no use kept on the object)."""
    monkeypatch.setattr("pmp_decorators._block._GIL", request.param)


@pytest.fixture
def exporter():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with set_instrumentation(OpenTelemetryInstrument(tracer_provider=provider)):
        yield exporter


@pytest.fixture
def clock(monkeypatch):
    """perf_counter_ns advancing by 1000 ns per reading."""
    ticks = iter(range(0, 10**9, 1000))
    clock = lambda: next(ticks)
    monkeypatch.setattr("pmp_decorators._timing.perf_counter_ns", clock)
    monkeypatch.setattr("pmp_decorators._block.perf_counter_ns", clock)


def test_nested_uses_of_one_block_time_and_trace_each_level(exporter, clock):
    """The inner use ends its own span and timing; the outer one ends its own after it."""
    stats = TimingStats(unit="ns")
    block = measure_block("step", stats=stats)
    with block:
        outer = trace.get_current_span()
        with block:
            inner = trace.get_current_span()
        assert block.elapsed_ns == 1000
        assert trace.get_current_span() is outer
    assert block.elapsed_ns == 3000
    assert not trace.get_current_span().get_span_context().is_valid
    spans = exporter.get_finished_spans()
    assert [span.context.span_id for span in spans] == [
        inner.get_span_context().span_id,
        outer.get_span_context().span_id,
    ]
    assert spans[0].parent is not None
    assert spans[0].parent.span_id == spans[1].context.span_id
    assert (stats.count, stats.total) == (2, 4000)


def test_nested_uses_without_instruments_time_each_level(clock):
    """Without instruments too, each nested use is timed from its own start."""
    stats = TimingStats(unit="ns")
    block = measure_block("step", stats=stats)
    with block, block, block:
        pass
    assert (stats.count, stats.total, stats.max) == (3, 9000, 5000)


def test_threads_sharing_one_block_each_get_their_own_span():
    """8 threads inside one block object at once: 8 root spans, none left current."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    block = measure_block("work")
    inside = threading.Barrier(8)
    seen: list[bool] = []

    def run() -> None:
        with block:
            mine = trace.get_current_span()
            inside.wait(timeout=10)
            seen.append(trace.get_current_span() is mine)
        seen.append(not trace.get_current_span().get_span_context().is_valid)

    with set_instrumentation(OpenTelemetryInstrument(tracer_provider=provider)):
        threads = [threading.Thread(target=run) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert seen == [True] * 16
    spans = exporter.get_finished_spans()
    assert len(spans) == 8
    assert all(span.parent is None for span in spans)
    assert len({span.context.span_id for span in spans}) == 8


@pytest.mark.asyncio
async def test_tasks_sharing_one_block_each_get_their_own_span(exporter):
    """10 tasks inside one block object at once: each sees its own span, 10 root spans."""
    block = measure_block("work")
    inside = asyncio.Event()
    entered: list[int] = []

    async def run() -> bool:
        async with block:
            mine = trace.get_current_span()
            entered.append(1)
            if len(entered) == 10:
                inside.set()
            await inside.wait()
            same = trace.get_current_span() is mine
        return same and not trace.get_current_span().get_span_context().is_valid

    assert await asyncio.gather(*(run() for _ in range(10))) == [True] * 10
    spans = exporter.get_finished_spans()
    assert len(spans) == 10
    assert all(span.parent is None for span in spans)


@pytest.mark.asyncio
async def test_sync_with_across_awaits_in_tasks_keeps_each_tasks_span(exporter):
    """A plain with around an await, one block object in 5 tasks: each task's own span."""
    block = measure_block("work")
    gate = asyncio.Event()

    async def run() -> bool:
        with block:
            mine = trace.get_current_span()
            await gate.wait()
            return trace.get_current_span() is mine

    tasks = [asyncio.create_task(run()) for _ in range(5)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*tasks) == [True] * 5
    assert len(exporter.get_finished_spans()) == 5


def test_uses_ended_out_of_order_each_keep_their_own_start(clock):
    """Generators interleaving nested uses of two blocks: each ends with its own timing."""
    a_stats, b_stats = TimingStats(unit="ns"), TimingStats(unit="ns")
    a, b = measure_block("a", stats=a_stats), measure_block("b", stats=b_stats)
    a.__enter__()  # t=0
    a.__enter__()  # t=1000, nested
    b.__enter__()  # t=2000
    b.__enter__()  # t=3000, nested
    a.__exit__(None, None, None)  # t=4000: the nested use of a, under b's
    assert a.elapsed_ns == 3000
    b.__exit__(None, None, None)  # t=5000: b's nested use
    assert b.elapsed_ns == 2000
    b.__exit__(None, None, None)  # t=6000
    a.__exit__(None, None, None)  # t=7000
    assert (a_stats.total, b_stats.total) == (3000 + 7000, 2000 + 4000)


def test_exiting_a_block_never_entered_is_refused():
    """An exit with no matching enter raises a ConfigurationError naming the block."""
    block = measure_block("lonely")
    with pytest.raises(ConfigurationError, match="lonely"):
        block.__exit__(None, None, None)
    with block:
        pass
    with pytest.raises(ConfigurationError, match="without being entered"):
        block.__exit__(None, None, None)
