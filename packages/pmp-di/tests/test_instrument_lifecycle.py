"""Instruments installed, removed and reinstalled; several on one provider or registry."""

from __future__ import annotations

import importlib.metadata
import logging

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, Counter

from pmp_di import DependencyInjectionError, DIContainer, MissingDependencyError
from pmp_di.instrumentation import Instrument, set_instrumentation
from pmp_di.integrations.opentelemetry import OpenTelemetryInstrument
from pmp_di.integrations.prometheus import PrometheusInstrument
from pmp_errors import ConfigurationError


class Repo:
    pass


class Named(Instrument):
    def __init__(self, name: str, seen: list[str]) -> None:
        self.name = name
        self.seen = seen

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        self.seen.append(self.name)


def fail() -> None:
    with pytest.raises(MissingDependencyError):
        DIContainer().resolve(Repo)


def installed(seen: list[str]) -> str | None:
    del seen[:]
    fail()
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


def test_a_raising_instrument_is_logged_once_however_often_it_is_installed(caplog):
    """Reinstalling a broken instrument does not log its error again."""

    class Broken(Instrument):
        def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
            raise RuntimeError("exporter down")

    broken = Broken()
    with caplog.at_level(logging.ERROR, "pmp_di.instrumentation"):
        for _ in range(3):
            with set_instrumentation(broken):
                fail()
    assert len([r for r in caplog.records if r.name == "pmp_di.instrumentation"]) == 1


def failures(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = data.resource_metrics[0].scope_metrics[0].metrics
    return sum(point.value for point in metric.data.data_points)  # type: ignore[union-attr,misc]


def test_two_opentelemetry_instruments_on_one_provider_both_count():
    """Replaced by another on the same provider, the counter goes on adding up."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    for _ in range(2):
        with set_instrumentation(OpenTelemetryInstrument(meter_provider=provider)):
            fail()
    assert failures(reader) == 2


def test_two_prometheus_instruments_on_one_registry_share_the_counter():
    """A second instrument on a registry counts on the first one's counter."""
    registry = CollectorRegistry()
    for _ in range(2):
        with set_instrumentation(PrometheusInstrument(registry=registry)):
            fail()
    labels = {"service": "Repo", "error": "MissingDependencyError"}
    assert registry.get_sample_value("pmp_di_resolution_failures_total", labels) == 2


def test_a_foreign_metric_of_our_name_is_refused():
    """A registry with someone else's pmp_di_resolution_failures: a ConfigurationError."""
    registry = CollectorRegistry()
    Counter("pmp_di_resolution_failures", "someone else's", registry=registry)
    with pytest.raises(ConfigurationError, match="another CollectorRegistry"):
        PrometheusInstrument(registry=registry)


def test_the_instrument_works_from_a_source_tree(monkeypatch):
    """Without installed metadata the instrument is made and counts; no version is set."""
    real = importlib.metadata.Distribution.from_name

    def from_name(name: str) -> importlib.metadata.Distribution:
        if name == "pmp-di":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata.Distribution, "from_name", from_name)
    reader = InMemoryMetricReader()
    with set_instrumentation(
        OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    ):
        fail()
    assert failures(reader) == 1
    data = reader.get_metrics_data()
    assert data is not None
    assert not data.resource_metrics[0].scope_metrics[0].scope.version


def test_an_unhashable_raising_instrument_is_logged_once_too(caplog):
    """An instrument that cannot be hashed is remembered by identity."""

    class Broken(Instrument):
        __hash__ = None  # type: ignore[assignment]

        def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
            raise RuntimeError("exporter down")

    broken = Broken()
    with caplog.at_level(logging.ERROR, "pmp_di.instrumentation"):
        for _ in range(3):
            with set_instrumentation(broken):
                fail()
    assert len([r for r in caplog.records if r.name == "pmp_di.instrumentation"]) == 1
