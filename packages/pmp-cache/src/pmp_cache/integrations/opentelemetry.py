"""OpenTelemetry counters of cache events (needs ``pmp-cache[opentelemetry]``)."""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING

from pmp_cache._instrument import CacheInstrument, error_type, missing_extra
from pmp_errors import ValidationError

try:
    from opentelemetry import metrics, trace
except ImportError:  # pragma: no cover - tested by hiding the library
    raise missing_extra(__name__, "opentelemetry-api", "opentelemetry") from None

if TYPE_CHECKING:
    from collections.abc import Callable

    from opentelemetry.metrics import MeterProvider

__all__ = ["OpenTelemetryInstrument"]

_NAMES = {
    "hit": ("pmp.cache.hits", "Lookups answered from the cache."),
    "miss": ("pmp.cache.misses", "Lookups that had to compute the value."),
    "eviction": ("pmp.cache.evictions", "Entries dropped to make room."),
    "expiration": ("pmp.cache.expirations", "Entries dropped because their TTL ran out."),
    "stale": ("pmp.cache.stale_serves", "Expired values served while one caller refreshes."),
}


class OpenTelemetryInstrument(CacheInstrument):
    """Counters (meter ``pmp_cache``) with the attribute ``pmp.cache.name``.

    ``pmp.cache.hits``, ``pmp.cache.misses``, ``pmp.cache.evictions``,
    ``pmp.cache.expirations``, ``pmp.cache.stale_serves``, and
    ``pmp.cache.backend_errors`` (also ``pmp.cache.operation`` and ``error.type``; the
    failure is added as a ``pmp.cache.backend_error`` event to the current span). Pass
    ``instrument.events(name)`` as a cache's ``on_event`` and, for a Redis cache,
    ``instrument.errors(name)`` as its ``on_error``. The global meter provider is used
    unless one is passed.

    >>> from opentelemetry.sdk.metrics import MeterProvider
    >>> from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    >>> from pmp_cache import cache
    >>> reader = InMemoryMetricReader()
    >>> otel = OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    >>> @cache(maxsize=16, on_event=otel.events("square"))
    ... def square(x):
    ...     return x * x
    >>> square(3), square(3)
    (9, 9)
    >>> data = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics
    >>> sorted((m.name, m.data.data_points[0].value) for m in data)
    [('pmp.cache.hits', 1), ('pmp.cache.misses', 1)]
    """

    __slots__ = ("_counters", "_errors")

    def __init__(self, *, meter_provider: MeterProvider | None = None) -> None:
        super().__init__()
        if meter_provider is not None and not callable(getattr(meter_provider, "get_meter", None)):
            raise ValidationError(
                f"meter_provider must be an OpenTelemetry MeterProvider or None for the "
                f"global one, got {meter_provider!r}",
                field="meter_provider",
                value=meter_provider,
                expected="an object with get_meter() or None",
            )
        meter = metrics.get_meter("pmp_cache", version("pmp-cache"), meter_provider)
        self._counters = {
            kind: meter.create_counter(metric, unit="{event}", description=text)
            for kind, (metric, text) in _NAMES.items()
        }
        self._errors = meter.create_counter(
            "pmp.cache.backend_errors",
            unit="{error}",
            description="Failed operations of a shared (Redis) cache backend.",
        )

    def event_recorder(self, name: str) -> Callable[[str], None]:
        """Add events of cache ``name`` to the counters."""
        attributes = {"pmp.cache.name": name}
        counters = self._counters

        def record(kind: str) -> None:
            counter = counters.get(kind)
            if counter is not None:
                counter.add(1, attributes)

        return record

    def error(self, name: str, operation: str, exc: BaseException | None) -> None:
        """Count a failed backend operation; add an event to the current span."""
        attributes = {
            "pmp.cache.name": name,
            "pmp.cache.operation": operation,
            "error.type": error_type(exc),
        }
        self._errors.add(1, attributes)
        span = trace.get_current_span()
        if span.is_recording():
            if exc is not None:
                attributes["exception.message"] = str(exc)
            span.add_event("pmp.cache.backend_error", attributes)
