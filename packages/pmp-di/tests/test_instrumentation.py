"""Failed resolutions reported to instruments: the hook and the ready instruments."""

from __future__ import annotations

import asyncio
import importlib
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

from pmp_di import (
    CircularDependencyError,
    DependencyInjectionError,
    DIContainer,
    LifecycleScope,
    MissingDependencyError,
    ScopeError,
)
from pmp_di.instrumentation import Instrument, set_instrumentation
from pmp_di.integrations.logging import LoggingInstrument
from pmp_di.integrations.opentelemetry import OpenTelemetryInstrument
from pmp_di.integrations.prometheus import PrometheusInstrument
from pmp_errors import ConfigurationError, ValidationError


class Repo:
    pass


class Service:
    def __init__(self, repo: Repo) -> None:
        self.repo = repo


class Session:
    pass


class Request:
    pass


class Ping:
    def __init__(self, pong: Pong) -> None:
        self.pong = pong


class Pong:
    def __init__(self, ping: Ping) -> None:
        self.ping = ping


class Keep(Instrument):
    def __init__(self) -> None:
        self.failed: list[tuple[str, DependencyInjectionError]] = []

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        self.failed.append((service, error))


@pytest.fixture
def keep():
    instrument = Keep()
    with set_instrumentation(instrument):
        yield instrument


def test_each_kind_of_failure_is_reported_with_the_raised_error(keep):
    """Missing, circular and scope failures reach the instrument as the very error raised."""
    container = (
        DIContainer()
        .register(Service)
        .register(Ping)
        .register(Pong)
        .register(Session, scope=LifecycleScope.SCOPED)
    )
    raised = []
    for service, kind in (
        (Service, MissingDependencyError),
        (Ping, CircularDependencyError),
        (Session, ScopeError),
    ):
        with pytest.raises(kind) as caught:
            container.resolve(service)
        raised.append(caught.value)
    assert [(name, error) for name, error in keep.failed] == list(
        zip(["Service", "Ping", "Session"], raised, strict=True)
    )


@pytest.mark.asyncio
async def test_async_and_scoped_resolution_report_too(keep):
    """Failures of aresolve and of a scope's resolve are reported too."""
    container = DIContainer()
    with pytest.raises(MissingDependencyError):
        await container.aresolve(Repo)
    with container.scope() as scope, pytest.raises(MissingDependencyError):
        scope.resolve(Repo)
    assert [name for name, _ in keep.failed] == ["Repo", "Repo"]


def test_a_scope_bound_plan_outside_any_scope_is_reported(keep):
    """A service compiled to use the current scope, resolved with none, reports its ScopeError."""
    container = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
    with container.scope():
        container.resolve(Session)  # compiles the plan that reads the current scope
    with pytest.raises(ScopeError):
        container.resolve(Session)
    assert [type(error) for _, error in keep.failed] == [ScopeError]


def test_resolving_from_a_closed_scope_is_reported(keep):
    """A closed scope refuses to resolve, and the refusal is reported."""
    container = DIContainer().register(Session, scope=LifecycleScope.SCOPED)
    with container.scope() as scope:
        scope.resolve(Session)
    with pytest.raises(ScopeError, match="closed"):
        scope.resolve(Session)
    assert [(name, type(error)) for name, error in keep.failed] == [("Session", ScopeError)]


def test_a_scope_value_not_supplied_is_reported(keep):
    """A value declared per scope but not given to the scope: the refusal is reported."""
    container = DIContainer().register(Request, from_context=True)
    with container.scope() as scope, pytest.raises(ScopeError, match="supplied per scope"):
        scope.resolve(Request)
    assert [(name, type(error)) for name, error in keep.failed] == [("Request", ScopeError)]


def test_successful_resolutions_report_nothing(keep):
    """Nothing is reported while resolutions succeed."""
    container = DIContainer().register(Repo).register(Service)
    for _ in range(3):
        container.resolve(Service)
    assert keep.failed == []


def test_restoring_and_no_argument_turn_it_off():
    """set_instrumentation() installs none; leaving the with block puts the previous back."""
    outer, container = Keep(), DIContainer()
    with set_instrumentation(outer):
        with set_instrumentation(), pytest.raises(MissingDependencyError):
            container.resolve(Repo)
        assert outer.failed == []
        with pytest.raises(MissingDependencyError):
            container.resolve(Repo)
    with pytest.raises(MissingDependencyError):
        container.resolve(Repo)
    assert len(outer.failed) == 1


def test_only_instruments_are_accepted():
    """Anything but an Instrument is refused with a ValidationError."""
    with pytest.raises(ValidationError, match="Instrument objects"):
        set_instrumentation(print)  # type: ignore[arg-type]


def test_a_raising_instrument_never_replaces_the_error_and_is_reported_once(caplog):
    """The container's own error propagates; the instrument's error is logged once."""

    class Broken(Instrument):
        def resolution_failed(self, service, error):
            raise RuntimeError("exporter down")

    after = Keep()
    container = DIContainer()
    with (
        caplog.at_level(logging.ERROR, "pmp_di.instrumentation"),
        set_instrumentation(Broken(), after),
    ):
        for _ in range(3):
            with pytest.raises(MissingDependencyError):
                container.resolve(Repo)
    records = [r for r in caplog.records if r.name == "pmp_di.instrumentation"]
    assert len(records) == 1
    assert records[0].exc_info is not None
    assert str(records[0].exc_info[1]) == "exporter down"
    assert len(after.failed) == 3


def test_threads_are_counted_exactly():
    """8 threads x 25 failing resolutions: exactly 200 counted by Prometheus."""
    registry = CollectorRegistry()
    container = DIContainer()

    def run() -> None:
        for _ in range(25):
            with pytest.raises(MissingDependencyError):
                container.resolve(Repo)

    with set_instrumentation(PrometheusInstrument(registry=registry)):
        threads = [threading.Thread(target=run) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    labels = {"service": "Repo", "error": "MissingDependencyError"}
    assert registry.get_sample_value("pmp_di_resolution_failures_total", labels) == 200


def test_opentelemetry_event_and_counter():
    """A failure adds pmp.di.resolution_failed to the current span and counts it."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    instrument = OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    container = DIContainer().register(Service)

    async def tasks() -> None:
        async def one(number: int) -> None:
            with (
                provider.get_tracer("app").start_as_current_span(f"request {number}"),
                pytest.raises(MissingDependencyError),
            ):
                await container.aresolve(Service)

        await asyncio.gather(*(one(n) for n in range(10)))

    with set_instrumentation(instrument):
        asyncio.run(tasks())
    spans = exporter.get_finished_spans()
    assert len(spans) == 10
    for span in spans:
        (event,) = span.events
        assert event.name == "pmp.di.resolution_failed"
        attributes = dict(event.attributes or {})
        assert attributes["pmp.di.service"] == "Service"
        assert attributes["pmp.di.path"] == ("Service.repo", "Repo")
        assert attributes["exception.type"] == "MissingDependencyError"
        assert str(attributes["exception.message"]).startswith("Missing dependency Service.repo")
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = data.resource_metrics[0].scope_metrics[0].metrics
    assert metric.name == "pmp.di.resolution_failures"
    assert [
        (dict(point.attributes or {}), point.value)  # type: ignore[union-attr]
        for point in metric.data.data_points
    ] == [({"pmp.di.service": "Service", "error.type": "MissingDependencyError"}, 10)]


def test_a_meter_provider_of_the_wrong_kind_is_refused():
    """Something that is not a meter provider raises a ValidationError naming it."""
    with pytest.raises(ValidationError, match="meter_provider"):
        OpenTelemetryInstrument(meter_provider="global")  # type: ignore[arg-type]


def test_prometheus_exposition():
    """The counter appears in the text exposition with its labels."""
    registry = CollectorRegistry()
    with (
        set_instrumentation(PrometheusInstrument(registry=registry)),
        pytest.raises(CircularDependencyError),
    ):
        DIContainer().register(Ping).register(Pong).resolve(Ping)
    lines = [
        line
        for line in generate_latest(registry).decode().splitlines()
        if line.startswith("pmp_di_resolution_failures_total")
    ]
    assert lines == [
        'pmp_di_resolution_failures_total{error="CircularDependencyError",service="Ping"} 1.0'
    ]
    with pytest.raises(ValidationError, match="CollectorRegistry"):
        PrometheusInstrument(registry=None)  # type: ignore[arg-type]


def test_logging_records_carry_fields(caplog):
    """Stdlib records have service, error_type, error and path as extra fields."""
    adapter = logging.LoggerAdapter(logging.getLogger("test.di"), {"request_id": "r-1"})
    with (
        caplog.at_level(logging.DEBUG, "test.di"),
        set_instrumentation(LoggingInstrument(adapter)),
        pytest.raises(MissingDependencyError),
    ):
        DIContainer().register(Service).resolve(Service)
    (record,) = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("resolving Service failed: Missing dependency")
    fields = ("service", "error_type", "path", "request_id")
    assert tuple(getattr(record, field) for field in fields) == (
        "Service",
        "MissingDependencyError",
        ["Service.repo", "Repo"],
        "r-1",
    )


def test_logging_disabled_level_and_structlog(caplog):
    """A disabled level logs nothing; a structlog logger gets the fields as keywords."""
    quiet = logging.getLogger("test.di.quiet")
    quiet.setLevel(logging.ERROR)
    with (
        caplog.at_level(logging.ERROR, "test.di.quiet"),
        set_instrumentation(LoggingInstrument(quiet)),
        pytest.raises(MissingDependencyError),
    ):
        DIContainer().resolve(Repo)
    assert caplog.records == []
    with (
        capture_logs() as events,
        set_instrumentation(LoggingInstrument(structlog.get_logger(), level=logging.ERROR)),
        pytest.raises(MissingDependencyError),
    ):
        DIContainer().resolve(Repo)
    (event,) = events
    assert (event["log_level"], event["service"], event["error_type"], event["path"]) == (
        "error",
        "Repo",
        "MissingDependencyError",
        ["Repo"],
    )


@pytest.mark.parametrize(
    ("kwargs", "field"), [({"logger": "pmp_di"}, "logger"), ({"level": "WARNING"}, "level")]
)
def test_logging_bad_arguments(kwargs, field):
    """A logger without log() or a non-int level raises a ValidationError naming it."""
    with pytest.raises(ValidationError) as caught:
        LoggingInstrument(**kwargs)
    assert caught.value.context["field"] == field


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
    monkeypatch.delitem(sys.modules, f"pmp_di.integrations.{module}")
    with pytest.raises(ConfigurationError, match=rf"pmp-di\[{extra}\]"):
        importlib.import_module(f"pmp_di.integrations.{module}")


@pytest.mark.parametrize(
    "module",
    [
        "pmp_di.instrumentation",
        "pmp_di._instrument",
        "pmp_di.integrations.opentelemetry",
        "pmp_di.integrations.prometheus",
        "pmp_di.integrations.logging",
    ],
)
def test_docstring_examples_run(module):
    """The examples in the instrumentation modules run as written."""
    import doctest

    result = doctest.testmod(importlib.import_module(module))
    assert result.attempted > 0
    assert result.failed == 0
