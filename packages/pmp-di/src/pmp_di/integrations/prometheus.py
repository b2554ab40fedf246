"""Prometheus counter of failed resolutions (needs ``pmp-di[prometheus]``).

Install with ``set_instrumentation(PrometheusInstrument(registry=registry))``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pmp_di._instrument import Instrument, missing_extra
from pmp_errors import ValidationError

try:
    from prometheus_client import CollectorRegistry, Counter
except ImportError:  # pragma: no cover - tested by hiding the library
    raise missing_extra(__name__, "prometheus-client", "prometheus") from None

if TYPE_CHECKING:
    from pmp_di._errors import DependencyInjectionError

__all__ = ["PrometheusInstrument"]


class PrometheusInstrument(Instrument):
    """``pmp_di_resolution_failures_total{service, error}`` on the ``registry`` given.

    ``service`` is the service's display name, ``error`` the error's class name
    (``MissingDependencyError``, ``CircularDependencyError``, ``ScopeError``, ...).

    >>> from prometheus_client import CollectorRegistry
    >>> from pmp_di import DIContainer
    >>> from pmp_di.instrumentation import set_instrumentation
    >>> registry = CollectorRegistry()
    >>> class Repo: ...
    >>> with set_instrumentation(PrometheusInstrument(registry=registry)):
    ...     try:
    ...         DIContainer().resolve(Repo)
    ...     except LookupError:
    ...         pass
    >>> registry.get_sample_value(
    ...     "pmp_di_resolution_failures_total",
    ...     {"service": "Repo", "error": "MissingDependencyError"},
    ... )
    1.0
    """

    __slots__ = ("_failures",)

    def __init__(self, *, registry: CollectorRegistry) -> None:
        if not _is_registry(registry):
            raise ValidationError(
                f"registry must be a prometheus_client.CollectorRegistry, got {registry!r}",
                field="registry",
                value=registry,
                expected="CollectorRegistry",
            )
        self._failures = Counter(
            "pmp_di_resolution_failures",
            "Resolutions that raised a container error.",
            ("service", "error"),
            registry=registry,
        )

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        """Count the failure."""
        self._failures.labels(service, type(error).__name__).inc()


def _is_registry(value: object) -> bool:
    return isinstance(value, CollectorRegistry)
