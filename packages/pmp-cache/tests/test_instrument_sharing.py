"""Several instruments on one meter provider or registry, and instruments run from source."""

from __future__ import annotations

import gc
import importlib.metadata
import logging
import subprocess
import sys
import weakref

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry, Counter

from pmp_cache import cache
from pmp_cache.integrations.opentelemetry import OpenTelemetryInstrument
from pmp_cache.integrations.prometheus import PrometheusInstrument
from pmp_errors import ConfigurationError


def hits(reader: InMemoryMetricReader) -> dict[str, object]:
    data = reader.get_metrics_data()
    assert data is not None
    (metric,) = [
        m for m in data.resource_metrics[0].scope_metrics[0].metrics if m.name == "pmp.cache.hits"
    ]
    return {
        str((p.attributes or {})["pmp.cache.name"]): p.value  # type: ignore[union-attr]
        for p in metric.data.data_points
    }


def workload(*hooks):
    """Two lookups of one key per cache: a miss then a hit."""
    for on_event in hooks:

        @cache(maxsize=4, on_event=on_event)
        def square(x: int) -> int:
            return x * x

        assert square(3) == square(3) == 9


def test_two_opentelemetry_instruments_on_one_provider_are_both_reported():
    """The second instrument's caches are counted too, and one cache name adds up."""
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    first = OpenTelemetryInstrument(meter_provider=provider)
    second = OpenTelemetryInstrument(meter_provider=provider)
    workload(first.events("a"), second.events("b"), second.events("a"))
    assert hits(reader) == {"a": 2, "b": 1}


def test_instruments_on_other_providers_keep_their_own_counts():
    """Each provider reports only the caches of the instruments made on it."""
    readers = [InMemoryMetricReader(), InMemoryMetricReader()]
    one, two = (
        OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[r])) for r in readers
    )
    workload(one.events("a"), two.events("b"))
    assert [hits(r) for r in readers] == [{"a": 1}, {"b": 1}]


def test_a_dropped_provider_is_freed():
    """The shared counts do not keep a meter provider alive."""
    provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    OpenTelemetryInstrument(meter_provider=provider).events("a")("hit", 1)
    gone = weakref.ref(provider)
    provider.shutdown()
    del provider
    gc.collect()
    assert gone() is None


SCRIPT = """
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from pmp_cache.integrations.opentelemetry import OpenTelemetryInstrument

reader = InMemoryMetricReader()
provider = MeterProvider(metric_readers=[reader])
early = OpenTelemetryInstrument({early}).events("early")
metrics.set_meter_provider(provider)
late = OpenTelemetryInstrument().events("late")
passed = OpenTelemetryInstrument(meter_provider=provider).events("passed")
for hook in (early, late, passed):
    hook("hit", 1)
metric = [
    m for m in reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics
    if m.name == "pmp.cache.hits"
][0]
print(sorted((p.attributes["pmp.cache.name"], p.value) for p in metric.data.data_points))
"""


@pytest.mark.parametrize("early", ["", "meter_provider=provider"])
def test_instruments_on_the_global_provider_before_and_after_it_is_set(early):
    """Made before the SDK is set (global or passed), after it, or passed: all counted."""
    out = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-c", SCRIPT.format(early=early)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "[('early', 1), ('late', 1), ('passed', 1)]"


def test_two_prometheus_instruments_on_one_registry_share_the_counters():
    """A second instrument on a registry counts on the first one's counters."""
    registry = CollectorRegistry()
    first = PrometheusInstrument(registry=registry)
    second = PrometheusInstrument(registry=registry)
    workload(first.events("a"), second.events("b"), second.events("a"))
    second.errors("b")("GET", None)
    assert registry.get_sample_value("pmp_cache_hits_total", {"cache": "a"}) == 2
    assert registry.get_sample_value("pmp_cache_hits_total", {"cache": "b"}) == 1
    labels = {"cache": "b", "operation": "GET", "error": "none"}
    assert registry.get_sample_value("pmp_cache_backend_errors_total", labels) == 1


def test_a_registry_with_a_foreign_metric_of_our_name_is_refused():
    """A metric of the same name made by someone else: a ConfigurationError naming it."""
    registry = CollectorRegistry()
    foreign = Counter("pmp_cache_misses", "someone else's", registry=registry)
    with pytest.raises(ConfigurationError, match="pmp_cache_misses") as caught:
        PrometheusInstrument(registry=registry)
    assert "another CollectorRegistry" in caught.value.message
    assert [metric.name for metric in registry.collect()] == ["pmp_cache_misses"]  # none left
    registry.unregister(foreign)
    PrometheusInstrument(registry=registry).events("a")("hit", 1)
    assert registry.get_sample_value("pmp_cache_hits_total", {"cache": "a"}) == 1


def test_instruments_work_from_a_source_tree(monkeypatch, caplog):
    """Without installed metadata (run from source) the instrument works; no version is set."""
    real = importlib.metadata.Distribution.from_name

    def from_name(name: str) -> importlib.metadata.Distribution:
        if name == "pmp-cache":
            raise importlib.metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(importlib.metadata.Distribution, "from_name", from_name)
    reader = InMemoryMetricReader()
    with caplog.at_level(logging.WARNING):
        otel = OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    otel.events("a")("hit", 1)
    assert hits(reader) == {"a": 1}
    data = reader.get_metrics_data()
    assert data is not None
    assert data.resource_metrics[0].scope_metrics[0].scope.version is None


class Wrapped:
    """A meter provider that refuses weak references and hashing, around a real one."""

    __slots__ = ("real",)
    __hash__ = None  # type: ignore[assignment]

    def __init__(self, real: MeterProvider) -> None:
        self.real = real

    def get_meter(self, name: str, version: str | None = None) -> object:
        return self.real.get_meter(name, version)


def test_a_provider_without_weak_references_is_shared_too():
    """Two instruments on a provider that cannot be weakly referenced: both reported."""
    reader = InMemoryMetricReader()
    provider = Wrapped(MeterProvider(metric_readers=[reader]))
    first = OpenTelemetryInstrument(meter_provider=provider)  # type: ignore[arg-type]
    second = OpenTelemetryInstrument(meter_provider=provider)  # type: ignore[arg-type]
    workload(first.events("a"), second.events("b"))
    assert hits(reader) == {"a": 1, "b": 1}
