"""Prometheus counters of cache events (needs ``pmp-cache[prometheus]``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmp_cache._instrument import CacheInstrument, error_type, missing_extra
from pmp_errors import ValidationError

try:
    from prometheus_client import CollectorRegistry, Counter
except ImportError:  # pragma: no cover - tested by hiding the library
    raise missing_extra(__name__, "prometheus-client", "prometheus") from None

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["PrometheusInstrument"]

_NAMES = {
    "hit": ("pmp_cache_hits", "Lookups answered from the cache."),
    "miss": ("pmp_cache_misses", "Lookups that had to compute the value."),
    "eviction": ("pmp_cache_evictions", "Entries dropped to make room."),
    "expiration": ("pmp_cache_expirations", "Entries dropped because their TTL ran out."),
    "stale": ("pmp_cache_stale_serves", "Expired values served while one caller refreshes."),
}


class PrometheusInstrument(CacheInstrument):
    """Counters on ``registry``, labelled with the cache's name; one instrument per registry.

    ``pmp_cache_hits_total``, ``pmp_cache_misses_total``, ``pmp_cache_evictions_total``,
    ``pmp_cache_expirations_total``, ``pmp_cache_stale_serves_total`` (label ``cache``)
    and ``pmp_cache_backend_errors_total`` (labels ``cache``, ``operation``, ``error``).
    Pass ``instrument.events(name)`` as a cache's ``on_event`` (``cache``, ``async_cache``,
    ``LRUCache``) and, for a Redis cache,
    ``instrument.errors(name)`` as its ``on_error``.

    >>> from prometheus_client import CollectorRegistry
    >>> from pmp_cache import cache
    >>> registry = CollectorRegistry()
    >>> metrics = PrometheusInstrument(registry=registry)
    >>> @cache(maxsize=16, on_event=metrics.events("square"))
    ... def square(x):
    ...     return x * x
    >>> square(3), square(3)
    (9, 9)
    >>> registry.get_sample_value("pmp_cache_hits_total", {"cache": "square"})
    1.0
    """

    __slots__ = ("_counters", "_errors")

    def __init__(self, *, registry: CollectorRegistry) -> None:
        super().__init__()
        if not isinstance(registry, CollectorRegistry):
            raise ValidationError(
                f"registry must be a prometheus_client.CollectorRegistry, got {registry!r}",
                field="registry",
                value=registry,
                expected="CollectorRegistry",
            )
        self._counters = {
            kind: Counter(metric, text, ("cache",), registry=registry)
            for kind, (metric, text) in _NAMES.items()
        }
        self._errors = Counter(
            "pmp_cache_backend_errors",
            "Failed operations of a shared (Redis) cache backend.",
            ("cache", "operation", "error"),
            registry=registry,
        )

    def event_recorder(self, name: str) -> Callable[[str], None]:
        """Count events of cache ``name`` on its labelled counters."""
        children = {kind: counter.labels(name) for kind, counter in self._counters.items()}

        def record(kind: str) -> None:
            child = children.get(kind)
            if child is not None:
                child.inc()

        return record

    def error(self, name: str, operation: str, exc: BaseException | None) -> None:
        """Count a failed backend operation."""
        self._errors.labels(name, operation, error_type(exc)).inc()
