"""Prometheus counter of failed resolutions (needs ``pmp-di[prometheus]``).

Install with ``set_instrumentation(PrometheusInstrument(registry=registry))``.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING

from pmp_di._instrument import Instrument, missing_extra
from pmp_errors import ConfigurationError, ValidationError

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
    Instruments on one registry share its counter.

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
        with _LOCK:
            failures = _SHARED.get(registry)
            if failures is None:
                failures = _SHARED[registry] = _register(registry)
        self._failures = failures

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        """Count the failure."""
        self._failures.labels(service, type(error).__name__).inc()


def _is_registry(value: object) -> bool:
    return isinstance(value, CollectorRegistry)


_SHARED: weakref.WeakKeyDictionary[CollectorRegistry, Counter] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _register(registry: CollectorRegistry) -> Counter:
    try:
        return Counter(
            "pmp_di_resolution_failures",
            "Resolutions that raised a container error.",
            ("service", "error"),
            registry=registry,
        )
    except ValueError as exc:  # a metric of our name, registered by someone else
        raise ConfigurationError(
            f"registry already has a metric named like pmp_di_resolution_failures ({exc}); "
            f"pass another CollectorRegistry, or unregister that metric first",
            config_key="registry",
        ) from exc
