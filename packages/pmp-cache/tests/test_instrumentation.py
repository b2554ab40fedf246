"""The ready instruments for on_event / on_error: exact counts, shielding, real backends."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
import threading

import pytest
import structlog
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from structlog.testing import capture_logs

from pmp_cache.integrations.logging import LoggingInstrument
from pmp_cache.integrations.opentelemetry import OpenTelemetryInstrument
from pmp_cache.integrations.prometheus import PrometheusInstrument
from pmp_errors import ConfigurationError, ValidationError

# 10 lookups (7 hits, 3 misses) of a 2-entry LRU cache, one eviction, then age and staleness
WORKLOAD = [
    "miss", "hit", "hit", "miss", "hit", "hit", "hit", "miss", "eviction", "hit", "hit",
    "expiration", "stale",
]  # fmt: skip


def samples(registry: CollectorRegistry) -> list[str]:
    return [
        line
        for line in generate_latest(registry).decode().splitlines()
        if line.startswith("pmp_cache_") and "_created" not in line
    ]


def otel_points(
    reader: InMemoryMetricReader,
) -> dict[str, dict[frozenset[tuple[str, object]], object]]:
    data = reader.get_metrics_data()
    assert data is not None
    return {
        metric.name: {
            frozenset((point.attributes or {}).items()): point.value  # type: ignore[union-attr]
            for point in metric.data.data_points
        }
        for metric in data.resource_metrics[0].scope_metrics[0].metrics
    }


def test_prometheus_counts_the_scripted_workload():
    """7 hits, 3 misses, 1 eviction, 1 expiration, 1 stale serve: the exact exposition."""
    registry = CollectorRegistry()
    metrics = PrometheusInstrument(registry=registry)
    on_event, other = metrics.events("get_user"), metrics.events("other")
    for kind in WORKLOAD:
        on_event(kind, "key")
    other("miss", 1)
    assert samples(registry) == [
        'pmp_cache_hits_total{cache="get_user"} 7.0',
        'pmp_cache_hits_total{cache="other"} 0.0',
        'pmp_cache_misses_total{cache="get_user"} 3.0',
        'pmp_cache_misses_total{cache="other"} 1.0',
        'pmp_cache_evictions_total{cache="get_user"} 1.0',
        'pmp_cache_evictions_total{cache="other"} 0.0',
        'pmp_cache_expirations_total{cache="get_user"} 1.0',
        'pmp_cache_expirations_total{cache="other"} 0.0',
        'pmp_cache_stale_serves_total{cache="get_user"} 1.0',
        'pmp_cache_stale_serves_total{cache="other"} 0.0',
    ]


def test_opentelemetry_counts_the_scripted_workload():
    """The same workload gives the same counts as OpenTelemetry counters."""
    reader = InMemoryMetricReader()
    otel = OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    on_event = otel.events("get_user")
    for kind in WORKLOAD:
        on_event(kind, "key")
    name = frozenset({("pmp.cache.name", "get_user")})
    assert otel_points(reader) == {
        "pmp.cache.hits": {name: 7},
        "pmp.cache.misses": {name: 3},
        "pmp.cache.evictions": {name: 1},
        "pmp.cache.expirations": {name: 1},
        "pmp.cache.stale_serves": {name: 1},
    }


def test_unknown_kinds_are_ignored():
    """An event kind the instrument does not know is not counted and raises nothing."""
    registry = CollectorRegistry()
    PrometheusInstrument(registry=registry).events("c")("refresh", None)
    assert all(line.endswith(" 0.0") for line in samples(registry))
    reader = InMemoryMetricReader()
    otel = OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    otel.events("c")("refresh", None)
    assert all(
        points == {frozenset({("pmp.cache.name", "c")}): 0}
        for points in otel_points(reader).values()
    )


def test_backend_errors_without_a_span_are_counted():
    """With no current span the error is still counted by OpenTelemetry."""
    reader = InMemoryMetricReader()
    otel = OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    otel.errors("c")("GET", None)
    attributes = {("pmp.cache.name", "c"), ("pmp.cache.operation", "GET"), ("error.type", "none")}
    assert otel_points(reader) == {"pmp.cache.backend_errors": {frozenset(attributes): 1}}


def test_threads_count_exactly():
    """8 threads x 1000 hits on one cache: exactly 8000 counted by both libraries."""
    registry = CollectorRegistry()
    reader = InMemoryMetricReader()
    hooks = [
        PrometheusInstrument(registry=registry).events("c"),
        OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader])).events("c"),
    ]

    def run() -> None:
        for _ in range(1000):
            for hook in hooks:
                hook("hit", 1)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert registry.get_sample_value("pmp_cache_hits_total", {"cache": "c"}) == 8000
    assert otel_points(reader)["pmp.cache.hits"] == {frozenset({("pmp.cache.name", "c")}): 8000}


def test_a_raising_instrument_never_reaches_the_cache_and_is_reported_once(caplog):
    """The hooks swallow their instrument's errors; the first of each kind is logged, once."""

    class Broken(PrometheusInstrument):
        def event_recorder(self, name):
            def record(kind):
                raise RuntimeError("exporter down")

            return record

        def error(self, name, operation, exc):
            raise RuntimeError("exporter down")

    broken = Broken(registry=CollectorRegistry())
    on_event, on_error = broken.events("c"), broken.errors("c")
    with caplog.at_level(logging.ERROR, "pmp_cache.instrumentation"):
        for _ in range(3):
            on_event("hit", 1)
            on_error("GET", None)
        broken.events("d")("miss", 1)  # another cache's hook of the same instrument
    records = [r for r in caplog.records if r.name == "pmp_cache.instrumentation"]
    assert [r.getMessage().split(";")[0].rsplit(".", 1)[-1] for r in records] == [
        "Broken raised in on_event",
        "Broken raised in on_error",
    ]
    assert all(str(r.exc_info[1]) == "exporter down" for r in records if r.exc_info)


@pytest.mark.parametrize("name", ["", None, 3])
def test_names_must_be_non_empty_strings(name):
    """A cache name that is not a non-empty str raises a ValidationError naming it."""
    metrics = PrometheusInstrument(registry=CollectorRegistry())
    for make in (metrics.events, metrics.errors):
        with pytest.raises(ValidationError, match="name") as caught:
            make(name)
        assert caught.value.context["field"] == "name"


def test_bad_registry_and_provider_are_refused():
    """A registry or meter provider of the wrong kind raises a ValidationError naming it."""
    with pytest.raises(ValidationError, match="registry"):
        PrometheusInstrument(registry={})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="meter_provider"):
        OpenTelemetryInstrument(meter_provider="global")  # type: ignore[arg-type]


def test_logging_events_and_errors(caplog):
    """Events log at DEBUG with cache and kind; backend errors at WARNING with their fields."""
    logger = logging.getLogger("test.cache.events")
    adapter = logging.LoggerAdapter(logger, {"service": "api"})
    instrument = LoggingInstrument(adapter)
    with caplog.at_level(logging.DEBUG, "test.cache.events"):
        instrument.events("get_user")("hit", "secret-key")
        instrument.errors("get_user")("GET", ConnectionError("refused"))
    hit, error = caplog.records
    assert (hit.levelno, hit.getMessage(), hit.cache, hit.kind, hit.service) == (
        logging.DEBUG,
        "cache get_user: hit",
        "get_user",
        "hit",
        "api",
    )
    assert "secret-key" not in hit.getMessage()
    assert (error.levelno, error.operation, error.error_type, error.error) == (
        logging.WARNING,
        "GET",
        "ConnectionError",
        "ConnectionError('refused')",
    )


def test_logging_to_structlog_and_disabled_levels(caplog):
    """A structlog logger gets the fields as keywords; a disabled level logs nothing."""
    with capture_logs() as events:
        LoggingInstrument(structlog.get_logger()).events("c")("miss", 1)
    assert events == [
        {"event": "cache c: miss", "cache": "c", "kind": "miss", "log_level": "debug"}
    ]
    quiet = logging.getLogger("test.cache.quiet")
    quiet.setLevel(logging.ERROR)
    with caplog.at_level(logging.ERROR, "test.cache.quiet"):
        LoggingInstrument(quiet).events("c")("miss", 1)
    assert caplog.records == []


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"logger": 1}, "logger"),
        ({"level": "DEBUG"}, "level"),
        ({"error_level": None}, "error_level"),
    ],
)
def test_logging_bad_arguments(kwargs, field):
    """A logger without log() or a level that is not an int raises a ValidationError."""
    with pytest.raises(ValidationError) as caught:
        LoggingInstrument(**kwargs)
    assert caught.value.context["field"] == field


def test_redis_backend_errors_are_counted(redis_url, redis_server):
    """A stopped Redis: the failed GET and the skipped SET and DEL, counted and on the span."""
    import redis

    from pmp_cache import RedisCache

    registry = CollectorRegistry()
    prometheus = PrometheusInstrument(registry=registry).errors("sessions")
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    otel = OpenTelemetryInstrument().errors("sessions")

    def both(operation, exc):
        prometheus(operation, exc)
        otel(operation, exc)

    cache = RedisCache(redis_url, namespace="obs", retry_interval=60, on_error=both)
    try:
        cache.set("k", 1)
        redis_server.stop()
        try:
            with provider.get_tracer("app").start_as_current_span("request"):
                assert cache.get("k", "fallback") == "fallback"
                cache.set("k", 2)
                cache.delete("k")
        finally:
            redis_server.start()
    finally:
        cache.close()
    error = f"{redis.ConnectionError.__module__}.{redis.ConnectionError.__qualname__}"
    get = registry.get_sample_value
    assert (
        get(
            "pmp_cache_backend_errors_total",
            {"cache": "sessions", "operation": "GET", "error": error},
        )
        == 1
    )
    for operation in ("SET", "DEL"):
        labels = {"cache": "sessions", "operation": operation, "error": "none"}
        assert get("pmp_cache_backend_errors_total", labels) == 1
    (span,) = exporter.get_finished_spans()
    assert [dict(event.attributes or {})["pmp.cache.operation"] for event in span.events] == [
        "GET",
        "SET",
        "DEL",
    ]
    assert span.events[0].name == "pmp.cache.backend_error"


@pytest.mark.parametrize(
    ("module", "library", "extra"),
    [
        ("opentelemetry", "opentelemetry", "opentelemetry"),
        ("prometheus", "prometheus_client", "prometheus"),
    ],
)
def test_missing_library_names_the_extra(monkeypatch, module, library, extra):
    """Importing an integration without its library names the extra to install."""
    monkeypatch.setitem(sys.modules, library, None)
    monkeypatch.delitem(sys.modules, f"pmp_cache.integrations.{module}")
    with pytest.raises(ConfigurationError, match=rf"pmp-cache\[{extra}\]"):
        importlib.import_module(f"pmp_cache.integrations.{module}")


@pytest.mark.parametrize("module", ["opentelemetry", "prometheus", "logging"])
def test_docstring_examples_run(module):
    """The example of every ready instrument runs as written."""
    import doctest

    result = doctest.testmod(importlib.import_module(f"pmp_cache.integrations.{module}"))
    assert result.attempted > 0
    assert result.failed == 0


# -- with the caches' own on_event hook --------------------------------------------------


def test_decorated_cache_workload_is_counted_exactly():
    """10 calls of a 2-entry cache: 7 hits, 3 misses, 1 eviction, counted by both libraries."""
    from pmp_cache import cache

    registry = CollectorRegistry()
    reader = InMemoryMetricReader()
    prometheus = PrometheusInstrument(registry=registry).events("square")
    otel = OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    otel_hook = otel.events("square")

    def both(kind, key):
        prometheus(kind, key)
        otel_hook(kind, key)

    @cache(maxsize=2, on_event=both)
    def square(x: int) -> int:
        return x * x

    for x in (1, 1, 1, 2, 2, 2, 1, 3, 3, 3):
        square(x)
    get = registry.get_sample_value
    labels = {"cache": "square"}
    assert (
        get("pmp_cache_hits_total", labels),
        get("pmp_cache_misses_total", labels),
        get("pmp_cache_evictions_total", labels),
    ) == (7, 3, 1)
    name = frozenset({("pmp.cache.name", "square")})
    assert otel_points(reader) == {
        "pmp.cache.hits": {name: 7},
        "pmp.cache.misses": {name: 3},
        "pmp.cache.evictions": {name: 1},
        "pmp.cache.expirations": {name: 0},
        "pmp.cache.stale_serves": {name: 0},
    }


def test_expirations_and_stale_serves_are_counted():
    """An entry that ages out is an expiration; with stale= it is served stale instead."""
    from pmp_cache import cache

    now = [0.0]
    registry = CollectorRegistry()
    metrics = PrometheusInstrument(registry=registry)

    @cache(maxsize=8, ttl=10, timer=lambda: now[0], on_event=metrics.events("aging"))
    def aging(x: int) -> int:
        return x

    @cache(maxsize=8, ttl=10, stale=5, timer=lambda: now[0], on_event=metrics.events("stale"))
    def served_stale(x: int) -> int:
        return x

    aging(1)
    served_stale(1)
    now[0] = 12.0
    aging(1)
    assert served_stale(1) == 1
    get = registry.get_sample_value
    assert [
        get(f"pmp_cache_{kind}_total", {"cache": "aging"})
        for kind in ("misses", "expirations", "stale_serves")
    ] == [2, 1, 0]
    assert get("pmp_cache_stale_serves_total", {"cache": "stale"}) == 1


def test_threads_hitting_a_decorated_cache_are_counted_exactly():
    """A warm cache read by 8 threads x 100 calls: exactly 800 hits and the 1 first miss."""
    from pmp_cache import cache

    registry = CollectorRegistry()

    @cache(maxsize=8, on_event=PrometheusInstrument(registry=registry).events("warm"))
    def warm(x: int) -> int:
        return x

    warm(1)

    def run() -> None:
        for _ in range(100):
            warm(1)

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    labels = {"cache": "warm"}
    assert registry.get_sample_value("pmp_cache_hits_total", labels) == 800
    assert registry.get_sample_value("pmp_cache_misses_total", labels) == 1


def test_tasks_hitting_an_async_cache_are_counted_exactly():
    """50 tasks on a cold async cache: exactly 1 miss (one computation) and 49 hits."""
    import asyncio

    from pmp_cache import async_cache

    registry = CollectorRegistry()

    @async_cache(maxsize=8, on_event=PrometheusInstrument(registry=registry).events("slow"))
    async def slow(x: int) -> int:
        await asyncio.sleep(0.01)
        return x

    async def main() -> None:
        await asyncio.gather(*(slow(1) for _ in range(50)))

    asyncio.run(main())
    labels = {"cache": "slow"}
    assert registry.get_sample_value("pmp_cache_hits_total", labels) == 49
    assert registry.get_sample_value("pmp_cache_misses_total", labels) == 1


def test_a_raising_instrument_never_breaks_a_cached_call(caplog):
    """A decorated call returns its value even when the instrument behind on_event raises."""
    from pmp_cache import cache

    class Broken(PrometheusInstrument):
        def event_recorder(self, name):
            def record(kind):
                raise RuntimeError("exporter down")

            return record

    @cache(maxsize=8, on_event=Broken(registry=CollectorRegistry()).events("c"))
    def ident(x: int) -> int:
        return x

    with caplog.at_level(logging.ERROR, "pmp_cache.instrumentation"):
        assert [ident(1), ident(1), ident(2)] == [1, 1, 2]
    assert len([r for r in caplog.records if r.name == "pmp_cache.instrumentation"]) == 1
