"""OpenTelemetry counters of cache events (needs ``pmp-cache[opentelemetry]``)."""

from __future__ import annotations

import threading
from importlib.metadata import version
from typing import TYPE_CHECKING

from pmp_cache._instrument import CacheInstrument, error_type, missing_extra
from pmp_errors import ValidationError

try:
    from opentelemetry import metrics, trace
    from opentelemetry.metrics import CallbackOptions, Observation
except ImportError:  # pragma: no cover - tested by hiding the library
    raise missing_extra(__name__, "opentelemetry-api", "opentelemetry") from None

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

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

    Events are counted in memory and reported when the SDK collects metrics (observable
    counters), which keeps a hit cheap; every cache handed a hook appears, with 0 until
    its first event.

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
    >>> {m.name: m.data.data_points[0].value for m in data}["pmp.cache.hits"]
    1
    """

    __slots__ = ("_counts", "_counts_lock", "_errors")

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
        # A hit is counted in a plain dict under a lock and reported when metrics are collected
        # (observable counters): the SDK's own add() would cost a cache hit 70 times its time.
        self._counts: dict[str, dict[str, int]] = {}  # cache name -> kind -> count
        self._counts_lock = threading.Lock()
        for kind, (metric, text) in _NAMES.items():
            meter.create_observable_counter(
                metric, callbacks=[self._observer(kind)], unit="{event}", description=text
            )
        self._errors = meter.create_counter(
            "pmp.cache.backend_errors",
            unit="{error}",
            description="Failed operations of a shared (Redis) cache backend.",
        )

    def event_recorder(self, name: str) -> Callable[[str], None]:
        """Count events of cache ``name`` (caches given the same name share the counts)."""
        lock = self._counts_lock
        with lock:
            counts = self._counts.setdefault(name, dict.fromkeys(_NAMES, 0))

        def record(kind: str) -> None:
            with lock:
                if kind in counts:
                    counts[kind] += 1

        return record

    def _observer(self, kind: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
        def observe(options: CallbackOptions) -> Iterable[Observation]:
            del options
            with self._counts_lock:
                totals = [(name, counts[kind]) for name, counts in self._counts.items()]
            return [Observation(total, {"pmp.cache.name": name}) for name, total in totals]

        return observe

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
