"""Instruments installed, removed and reinstalled; several on one provider; cancellation."""

from __future__ import annotations

import asyncio
import importlib.metadata
import logging

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from prometheus_client import CollectorRegistry

from pmp_decorators import measure_block, retry, timed
from pmp_decorators.instrumentation import Instrument, outcome, set_instrumentation
from pmp_decorators.integrations.opentelemetry import OpenTelemetryInstrument
from pmp_decorators.integrations.prometheus import PrometheusInstrument


class Named(Instrument):
    """Records the name it was given for every block it sees."""

    def __init__(self, name: str, seen: list[str]) -> None:
        self.name = name
        self.seen = seen

    def timing_started(self, name: str) -> object:
        self.seen.append(self.name)
        return None


def installed(seen: list[str]) -> str | None:
    """Which Named instrument (if any) sees a block now."""
    del seen[:]
    with measure_block("probe"):
        pass
    return seen[0] if seen else None


def test_restoring_out_of_order_never_reinstalls_an_older_instrument():
    """Undoing a call covered by a later one keeps the later; undoing twice does nothing."""
    seen: list[str] = []
    first = set_instrumentation(Named("a", seen))
    second = set_instrumentation(Named("b", seen))
    first.restore()
    assert installed(seen) == "b"
    second.restore()
    assert installed(seen) is None
    first.restore()
    second.restore()
    assert installed(seen) is None


def test_restoring_in_order_puts_back_each_previous_instrument():
    """Nested with blocks: each exit puts back what was installed before it."""
    seen: list[str] = []
    with set_instrumentation(Named("a", seen)):
        with set_instrumentation(Named("b", seen)):
            assert installed(seen) == "b"
            with set_instrumentation():
                assert installed(seen) is None
            assert installed(seen) == "b"
        assert installed(seen) == "a"
    assert installed(seen) is None


def test_a_raising_hook_is_logged_once_however_often_it_is_installed(caplog):
    """Each failing method of an instrument is logged the first time only, across installs."""

    class Broken(Instrument):
        def timing_started(self, name: str) -> object:
            raise RuntimeError("exporter down")

        def retry_scheduled(self, state: object) -> None:
            raise RuntimeError("exporter down")

    broken = Broken()
    flaky = iter([OSError("x"), None, OSError("y"), None])

    @retry(max_attempts=2, delay=0.0, sleep=lambda _: None)
    def call() -> None:
        error = next(flaky)
        if error is not None:
            raise error

    with caplog.at_level(logging.ERROR, "pmp_decorators.instrumentation"):
        for _ in range(2):
            with set_instrumentation(broken), measure_block("b"):
                call()
    records = [r for r in caplog.records if r.name == "pmp_decorators.instrumentation"]
    assert [r.getMessage().split(";")[0].rsplit(" ", 1)[-1] for r in records] == [
        "timing_started",
        "retry_scheduled",
    ]


@pytest.fixture
def otel():
    exporter = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    return exporter, tracer_provider, reader, meter_provider


def outcomes(reader: InMemoryMetricReader) -> dict[str, int]:
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = [
        m
        for m in data.resource_metrics[0].scope_metrics[0].metrics
        if m.name == "pmp.timing.duration"
    ]
    counts: dict[str, int] = {}
    for point in metric.data.data_points:
        key = str((point.attributes or {})["pmp.outcome"])
        counts[key] = counts.get(key, 0) + point.count  # type: ignore[union-attr]
    return counts


def test_two_opentelemetry_instruments_on_one_provider_both_record(otel):
    """Removed and replaced by another on the same providers, the counts go on adding up."""
    _, tracer_provider, reader, meter_provider = otel
    for _ in range(2):
        instrument = OpenTelemetryInstrument(
            tracer_provider=tracer_provider, meter_provider=meter_provider
        )
        with set_instrumentation(instrument), measure_block("b"):
            pass
    assert outcomes(reader) == {"ok": 2}


@pytest.mark.asyncio
async def test_a_cancelled_call_is_not_an_error(otel):
    """Cancelled: span status unset, pmp.outcome=cancelled, a pmp.cancelled event; metric too."""
    exporter, tracer_provider, reader, meter_provider = otel
    registry = CollectorRegistry()
    started = asyncio.Event()

    @timed()
    async def wait_forever() -> None:
        started.set()
        await asyncio.Event().wait()

    instruments = (
        OpenTelemetryInstrument(tracer_provider=tracer_provider, meter_provider=meter_provider),
        PrometheusInstrument(registry=registry),
    )
    with set_instrumentation(*instruments):
        task = asyncio.create_task(wait_forever())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(KeyboardInterrupt), measure_block("interrupted"):
            raise KeyboardInterrupt
    spans = exporter.get_finished_spans()
    assert [span.status.status_code for span in spans] == [StatusCode.UNSET] * 2
    assert [(span.attributes or {}).get("pmp.outcome") for span in spans] == ["cancelled"] * 2
    assert [[event.name for event in span.events] for span in spans] == [["pmp.cancelled"]] * 2
    assert outcomes(reader) == {"cancelled": 2}
    labels = {"name": "interrupted", "outcome": "cancelled"}
    assert registry.get_sample_value("pmp_timing_duration_seconds_count", labels) == 1


def test_outcome_names_errors_and_cancellations():
    """ok, error for an Exception, cancelled for other BaseExceptions."""
    assert [outcome(e) for e in (None, ValueError(), asyncio.CancelledError(), SystemExit())] == [
        "ok",
        "error",
        "cancelled",
        "cancelled",
    ]


def test_the_instrument_works_from_a_source_tree(monkeypatch, otel):
    """Without installed metadata the instrument is made and records; no version is set."""
    real = importlib.metadata.Distribution.from_name

    def from_name(name: str) -> importlib.metadata.Distribution:
        if name == "pmp-decorators":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata.Distribution, "from_name", from_name)
    exporter, tracer_provider, reader, meter_provider = otel
    instrument = OpenTelemetryInstrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    with set_instrumentation(instrument), measure_block("b"):
        pass
    (span,) = exporter.get_finished_spans()
    assert span.instrumentation_scope is not None
    assert not span.instrumentation_scope.version
    assert outcomes(reader) == {"ok": 1}


def test_an_unhashable_raising_instrument_is_logged_once_too(caplog):
    """An instrument that cannot be hashed is remembered by identity."""

    class Broken(Instrument):
        __hash__ = None  # type: ignore[assignment]

        def timing_started(self, name: str) -> object:
            raise RuntimeError("exporter down")

    broken = Broken()
    with caplog.at_level(logging.ERROR, "pmp_decorators.instrumentation"):
        for _ in range(3):
            with set_instrumentation(broken), measure_block("b"):
                pass
    assert len([r for r in caplog.records if r.name == "pmp_decorators.instrumentation"]) == 1
