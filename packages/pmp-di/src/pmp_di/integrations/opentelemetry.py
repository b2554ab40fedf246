"""OpenTelemetry for failed resolutions (needs ``pmp-di[opentelemetry]``).

Only ``opentelemetry-api`` is used. Install with
``set_instrumentation(OpenTelemetryInstrument())``.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING

from pmp_di._instrument import Instrument, missing_extra
from pmp_errors import ValidationError

try:
    from opentelemetry import metrics, trace
except ImportError:  # pragma: no cover - tested by hiding the library
    raise missing_extra(__name__, "opentelemetry-api", "opentelemetry") from None

if TYPE_CHECKING:
    from opentelemetry.metrics import MeterProvider

    from pmp_di._errors import DependencyInjectionError

__all__ = ["OpenTelemetryInstrument"]


class OpenTelemetryInstrument(Instrument):
    """Each failed resolution: a span event and the ``pmp.di.resolution_failures`` counter.

    The event ``pmp.di.resolution_failed`` goes on the current span, with
    ``pmp.di.service``, ``pmp.di.path`` (the chain of types that led there),
    ``exception.type`` and ``exception.message``; the counter (meter ``pmp_di``) has the
    attributes ``pmp.di.service`` and ``error.type`` (the error's class name). The
    global meter provider is used unless one is passed.

    >>> from opentelemetry.sdk.metrics import MeterProvider
    >>> from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    >>> from pmp_di import DIContainer
    >>> from pmp_di.instrumentation import set_instrumentation
    >>> reader = InMemoryMetricReader()
    >>> instrument = OpenTelemetryInstrument(meter_provider=MeterProvider(metric_readers=[reader]))
    >>> class Repo: ...
    >>> with set_instrumentation(instrument):
    ...     try:
    ...         DIContainer().resolve(Repo)
    ...     except LookupError:
    ...         pass
    >>> metric = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics[0]
    >>> metric.name, metric.data.data_points[0].value
    ('pmp.di.resolution_failures', 1)
    """

    __slots__ = ("_failures",)

    def __init__(self, *, meter_provider: MeterProvider | None = None) -> None:
        if meter_provider is not None and not callable(getattr(meter_provider, "get_meter", None)):
            raise ValidationError(
                f"meter_provider must be an OpenTelemetry MeterProvider or None for the "
                f"global one, got {meter_provider!r}",
                field="meter_provider",
                value=meter_provider,
                expected="an object with get_meter() or None",
            )
        meter = metrics.get_meter("pmp_di", version("pmp-di"), meter_provider)
        self._failures = meter.create_counter(
            "pmp.di.resolution_failures",
            unit="{resolution}",
            description="Resolutions that raised a container error.",
        )

    def resolution_failed(self, service: str, error: DependencyInjectionError) -> None:
        """Count the failure; add ``pmp.di.resolution_failed`` to the current span."""
        kind = type(error).__name__
        self._failures.add(1, {"pmp.di.service": service, "error.type": kind})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event(
                "pmp.di.resolution_failed",
                {
                    "pmp.di.service": service,
                    "pmp.di.path": [str(step) for step in error.path],
                    "exception.type": kind,
                    "exception.message": error.message,
                },
            )
