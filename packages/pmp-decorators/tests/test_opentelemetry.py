import asyncio
import importlib
import logging
import sys
import threading
from dataclasses import dataclass

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from pmp_decorators import async_retry, measure_block, retry, timed
from pmp_decorators.instrumentation import set_instrumentation
from pmp_decorators.integrations.opentelemetry import OpenTelemetryInstrument
from pmp_errors import ConfigurationError, ValidationError


@dataclass
class Otel:
    exporter: InMemorySpanExporter
    reader: InMemoryMetricReader
    provider: TracerProvider

    def spans(self) -> dict[str, ReadableSpan]:
        return {span.name: span for span in self.exporter.get_finished_spans()}

    def metrics(self) -> dict[str, dict[frozenset[tuple[str, object]], object]]:
        """Each metric's points by attribute set: a Sum's value, a Histogram's (count, sum)."""
        out: dict[str, dict[frozenset[tuple[str, object]], object]] = {}
        data = self.reader.get_metrics_data()
        for resource in data.resource_metrics if data else []:
            for scope in resource.scope_metrics:
                assert scope.scope.name == "pmp_decorators"
                for metric in scope.metrics:
                    out[metric.name] = {
                        frozenset((point.attributes or {}).items()): (
                            (point.count, point.sum) if hasattr(point, "count") else point.value  # type: ignore[union-attr]
                        )
                        for point in metric.data.data_points
                    }
        return out


@pytest.fixture
def otel():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    instrument = OpenTelemetryInstrument(
        tracer_provider=provider, meter_provider=MeterProvider(metric_readers=[reader])
    )
    with set_instrumentation(instrument):
        yield Otel(exporter, reader, provider)


def key(**attributes: object) -> frozenset[tuple[str, object]]:
    return frozenset(attributes.items())


def test_retries_are_events_on_the_current_span_and_counters(otel, flaky, exact):
    """3 attempts, 2 waits: two pmp.retry events with the exception and the wait; counters."""
    fetch = exact()(flaky(2))
    tracer = otel.provider.get_tracer("app")
    with tracer.start_as_current_span("request"):
        assert fetch() == "ok"
    request = otel.spans()["request"]
    events = [(event.name, dict(event.attributes or {})) for event in request.events]
    common = {"pmp.function": "make_flaky.<locals>.fetch", "pmp.retry.max_attempts": 3}
    assert events == [
        (
            "pmp.retry",
            {
                **common,
                "pmp.retry.attempt": 1,
                "pmp.retry.wait": 0.1,
                "pmp.retry.waited": 0.0,
                "exception.type": "OSError",
                "exception.message": "down 1",
            },
        ),
        (
            "pmp.retry",
            {
                **common,
                "pmp.retry.attempt": 2,
                "pmp.retry.wait": 0.2,
                "pmp.retry.waited": 0.1,
                "exception.type": "OSError",
                "exception.message": "down 2",
            },
        ),
    ]
    assert otel.metrics() == {
        "pmp.retry.retries": {
            key(**{"pmp.function": "make_flaky.<locals>.fetch", "error.type": "OSError"}): 2
        },
        "pmp.retry.wait": {key(**{"pmp.function": "make_flaky.<locals>.fetch"}): 0.1 + 0.2},
    }


def test_giving_up_is_an_event_and_a_counter(otel, flaky, exact):
    """Running out of attempts adds pmp.retry.give_up and counts one give-up."""
    fetch = exact(max_attempts=2)(flaky(5))
    with otel.provider.get_tracer("app").start_as_current_span("request"), pytest.raises(OSError):
        fetch()
    request = otel.spans()["request"]
    assert [event.name for event in request.events] == ["pmp.retry", "pmp.retry.give_up"]
    assert dict(request.events[1].attributes or {}) == {
        "pmp.function": "make_flaky.<locals>.fetch",
        "pmp.retry.attempt": 2,
        "pmp.retry.max_attempts": 2,
        "pmp.retry.waited": 0.1,
        "exception.type": "OSError",
        "exception.message": "down 2",
    }
    assert otel.metrics()["pmp.retry.give_ups"] == {
        key(**{"pmp.function": "make_flaky.<locals>.fetch", "error.type": "OSError"}): 1
    }


def test_a_rejected_result_is_named_so():
    """A retry on a rejected result has exception.type rejected_result and no message."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    @retry(max_attempts=2, delay=0.0, retry_if_result=lambda r: r is None)
    def empty():
        return None

    with (
        set_instrumentation(OpenTelemetryInstrument(tracer_provider=provider)),
        provider.get_tracer("app").start_as_current_span("request"),
    ):
        assert empty() is None
    (span,) = exporter.get_finished_spans()
    assert [dict(event.attributes or {})["exception.type"] for event in span.events] == [
        "rejected_result",
        "rejected_result",
    ]
    assert all("exception.message" not in (event.attributes or {}) for event in span.events)


def test_retries_without_a_span_are_still_counted(otel, flaky, exact):
    """With no current span nothing is attached, and the counters still count."""
    assert exact()(flaky(1))() == "ok"
    with pytest.raises(OSError):
        exact(max_attempts=1)(flaky(1))()
    assert otel.spans() == {}
    metrics = otel.metrics()
    attributes = key(**{"pmp.function": "make_flaky.<locals>.fetch", "error.type": "OSError"})
    assert metrics["pmp.retry.retries"] == {attributes: 1}
    assert metrics["pmp.retry.give_ups"] == {attributes: 1}


def test_timed_and_blocks_are_nested_spans_and_a_histogram(otel, monkeypatch):
    """A timed call is a span, current inside it (a block there is its child); durations."""
    ticks = iter(range(0, 10**12, 250_000_000))
    monkeypatch.setattr("pmp_decorators._timing.perf_counter_ns", lambda: next(ticks))

    @timed(name="handle")
    def handle(fail: bool) -> str:
        with measure_block("query"):
            if fail:
                raise ValueError("bad row")
        return "done"

    assert handle(False) == "done"
    with pytest.raises(ValueError, match="bad row"):
        handle(True)
    spans = otel.exporter.get_finished_spans()
    assert [span.name for span in spans] == ["query", "handle", "query", "handle"]
    for child, parent in ((spans[0], spans[1]), (spans[2], spans[3])):
        assert child.parent is not None
        assert child.parent.span_id == parent.context.span_id
        assert child.context.trace_id == parent.context.trace_id
    assert [span.status.status_code for span in spans] == [
        StatusCode.UNSET,
        StatusCode.UNSET,
        StatusCode.ERROR,
        StatusCode.ERROR,
    ]
    assert spans[2].status.description == "ValueError: bad row"
    (event,) = spans[2].events
    assert event.name == "exception"
    assert dict(event.attributes or {})["exception.type"] == "ValueError"
    handle_name = "handle"
    assert otel.metrics()["pmp.timing.duration"] == {
        key(**{"pmp.name": "query", "pmp.outcome": "ok"}): (1, 0.25),
        key(**{"pmp.name": handle_name, "pmp.outcome": "ok"}): (1, 0.75),
        key(**{"pmp.name": "query", "pmp.outcome": "error"}): (1, 0.25),
        key(**{"pmp.name": handle_name, "pmp.outcome": "error"}): (1, 0.75),
    }


@pytest.mark.asyncio
async def test_tasks_keep_their_own_spans_and_counts(otel):
    """In 20 concurrent tasks each timed span is the child of its own task's span."""
    tracer = otel.provider.get_tracer("app")

    async def no_sleep(_):
        await asyncio.sleep(0)

    @timed()
    async def step(fails: list[int]) -> None:
        await asyncio.sleep(0)
        if fails:
            fails.pop()
            raise OSError

    retried = async_retry(max_attempts=2, delay=0.0, sleep=no_sleep)(step)

    async def task(number: int) -> None:
        with tracer.start_as_current_span(f"task {number}"):
            await retried([1])

    await asyncio.gather(*(task(n) for n in range(20)))
    spans = otel.exporter.get_finished_spans()
    by_id = {span.context.span_id: span for span in spans}
    steps = [span for span in spans if span.name == step.__qualname__]
    assert len(steps) == 40
    for span in steps:
        assert span.parent is not None
        assert by_id[span.parent.span_id].name.startswith("task ")
    parents = [by_id[span.parent.span_id].name for span in steps if span.parent]
    assert sorted(set(parents)) == sorted(f"task {n}" for n in range(20))
    assert all(parents.count(name) == 2 for name in set(parents))
    for span in spans:
        if span.name.startswith("task "):
            assert [event.name for event in span.events] == ["pmp.retry"]
    metrics = otel.metrics()
    assert metrics["pmp.retry.retries"] == {
        key(**{"pmp.function": step.__qualname__, "error.type": "OSError"}): 20
    }
    counts = {attrs: value[0] for attrs, value in metrics["pmp.timing.duration"].items()}
    assert counts == {
        key(**{"pmp.name": step.__qualname__, "pmp.outcome": "ok"}): 20,
        key(**{"pmp.name": step.__qualname__, "pmp.outcome": "error"}): 20,
    }


def test_threads_count_exactly(otel):
    """8 threads x 50 calls, each failing once: 400 retries and 800 timings counted."""
    local = threading.local()

    @retry(max_attempts=2, delay=0.0)
    @timed()
    def work() -> None:
        local.calls = getattr(local, "calls", 0) + 1
        if local.calls % 2:
            raise OSError

    def run() -> None:
        for _ in range(50):
            work()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    metrics = otel.metrics()
    assert metrics["pmp.retry.retries"] == {
        key(**{"pmp.function": work.__qualname__, "error.type": "OSError"}): 400
    }
    counts = {attrs: value[0] for attrs, value in metrics["pmp.timing.duration"].items()}
    assert counts == {
        key(**{"pmp.name": work.__qualname__, "pmp.outcome": "ok"}): 400,
        key(**{"pmp.name": work.__qualname__, "pmp.outcome": "error"}): 400,
    }
    assert len(otel.exporter.get_finished_spans()) == 800


class RaisingExporter(SpanExporter):
    def __init__(self) -> None:
        self.calls = 0

    def export(self, spans) -> SpanExportResult:
        self.calls += 1
        raise ConnectionError("collector down")


def test_a_raising_exporter_never_breaks_the_call(caplog):
    """An exporter that raises leaves the call's result and exception unchanged."""
    exporter = RaisingExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))

    @timed()
    def work(fail: bool) -> int:
        if fail:
            raise KeyError("k")
        return 7

    with (
        caplog.at_level(logging.ERROR),
        set_instrumentation(OpenTelemetryInstrument(tracer_provider=provider)),
    ):
        assert work(False) == 7
        with pytest.raises(KeyError):
            work(True)
    assert exporter.calls == 2
    assert caplog.records  # the SDK reports its exporter's failure through logging


def test_missing_library_names_the_extra(monkeypatch):
    """Importing the integration without opentelemetry-api names the extra to install."""
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    monkeypatch.delitem(sys.modules, "pmp_decorators.integrations.opentelemetry")
    with pytest.raises(ConfigurationError, match=r"pmp-decorators\[opentelemetry\]") as caught:
        importlib.import_module("pmp_decorators.integrations.opentelemetry")
    assert caught.value.context["config_key"] == "pmp-decorators[opentelemetry]"


def test_package_import_does_not_import_the_library():
    """Importing pmp_decorators never imports an integration or its library."""
    code = (
        "import sys, pmp_decorators; "
        "assert 'opentelemetry' not in sys.modules and 'prometheus_client' not in sys.modules; "
        "assert not any(m.startswith('pmp_decorators.integrations') for m in sys.modules)"
    )
    import subprocess

    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our interpreter


@pytest.mark.parametrize("argument", ["tracer_provider", "meter_provider"])
def test_a_provider_of_the_wrong_kind_is_refused_naming_the_argument(argument):
    """Passing something that is not a provider raises a ValidationError naming it."""
    with pytest.raises(ValidationError, match=argument) as caught:
        OpenTelemetryInstrument(**{argument: "global"})  # type: ignore[arg-type]
    assert caught.value.context["field"] == argument
