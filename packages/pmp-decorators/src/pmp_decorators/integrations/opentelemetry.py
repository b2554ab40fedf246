"""OpenTelemetry for retries and timings (needs ``pmp-decorators[opentelemetry]``).

Only ``opentelemetry-api`` is used: the SDK and its exporters are the application's
choice. Install with ``set_instrumentation(OpenTelemetryInstrument())``.
"""

from __future__ import annotations

from importlib.metadata import version
from typing import TYPE_CHECKING, cast

from pmp_decorators._instrument import Instrument, error_type, missing_extra
from pmp_errors import ValidationError

try:
    from opentelemetry import context, metrics, trace
    from opentelemetry.trace import Status, StatusCode
except ImportError:  # pragma: no cover - tested by hiding the library
    raise missing_extra(__name__, "opentelemetry-api", "opentelemetry") from None

if TYPE_CHECKING:
    from contextvars import Token

    from opentelemetry.context import Context
    from opentelemetry.metrics import MeterProvider
    from opentelemetry.trace import Span, TracerProvider

    from pmp_decorators._retry_policy import RetryState

__all__ = ["OpenTelemetryInstrument"]


class OpenTelemetryInstrument(Instrument):
    """Retries as span events and counters; timings as spans and a duration histogram.

    Each scheduled retry adds a ``pmp.retry`` event to the current span (attributes
    ``pmp.function``, ``pmp.retry.attempt``, ``pmp.retry.max_attempts``,
    ``pmp.retry.wait`` and ``pmp.retry.waited`` in seconds, ``exception.type``,
    ``exception.message``) and giving up adds ``pmp.retry.give_up``. Each ``timed``
    call and ``measure_block`` runs in a span named after it (the current span inside
    it, so that spans made there are its children), with the exception recorded and
    an error status when it raises. Metrics (meter ``pmp_decorators``): counters
    ``pmp.retry.retries`` and ``pmp.retry.give_ups`` (attributes ``pmp.function``,
    ``error.type``), ``pmp.retry.wait`` (seconds scheduled, ``pmp.function``) and the
    histogram ``pmp.timing.duration`` (seconds; ``pmp.name``, ``pmp.outcome`` ``ok`` or
    ``error``). The global providers are used unless others are passed.

    >>> from opentelemetry.sdk.trace import TracerProvider
    >>> from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    >>> from opentelemetry.sdk.trace.export.in_memory_span_exporter import (
    ...     InMemorySpanExporter,
    ... )
    >>> from pmp_decorators import timed
    >>> from pmp_decorators.instrumentation import set_instrumentation
    >>> exporter = InMemorySpanExporter()
    >>> provider = TracerProvider()
    >>> provider.add_span_processor(SimpleSpanProcessor(exporter))
    >>> @timed()
    ... def load():
    ...     return 42
    >>> with set_instrumentation(OpenTelemetryInstrument(tracer_provider=provider)):
    ...     load()
    42
    >>> [span.name for span in exporter.get_finished_spans()]
    ['load']
    """

    __slots__ = ("_duration", "_give_ups", "_retries", "_tracer", "_waits")

    def __init__(
        self,
        *,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
    ) -> None:
        _check_provider(tracer_provider, "tracer_provider", "get_tracer")
        _check_provider(meter_provider, "meter_provider", "get_meter")
        release = version("pmp-decorators")
        self._tracer = trace.get_tracer("pmp_decorators", release, tracer_provider)
        meter = metrics.get_meter("pmp_decorators", release, meter_provider)
        self._retries = meter.create_counter(
            "pmp.retry.retries", unit="{retry}", description="Failed attempts that were retried."
        )
        self._give_ups = meter.create_counter(
            "pmp.retry.give_ups", unit="{call}", description="Calls whose retries ran out."
        )
        self._waits = meter.create_counter(
            "pmp.retry.wait", unit="s", description="Pauses scheduled between attempts."
        )
        self._duration = meter.create_histogram(
            "pmp.timing.duration", unit="s", description="Duration of timed calls and blocks."
        )

    def retry_scheduled(self, state: RetryState) -> None:
        """Count the retry and its pause; add a ``pmp.retry`` event to the current span."""
        wait = state.wait or 0.0
        self._retries.add(1, {"pmp.function": state.function, "error.type": error_type(state)})
        self._waits.add(wait, {"pmp.function": state.function})
        span = trace.get_current_span()
        if span.is_recording():
            attributes = _event_attributes(state)
            attributes["pmp.retry.wait"] = wait
            span.add_event("pmp.retry", attributes)

    def retry_gave_up(self, state: RetryState) -> None:
        """Count the give-up; add a ``pmp.retry.give_up`` event to the current span."""
        self._give_ups.add(1, {"pmp.function": state.function, "error.type": error_type(state)})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("pmp.retry.give_up", _event_attributes(state))

    def timing_started(self, name: str) -> object:
        """Start a span named ``name`` and make it current."""
        span = self._tracer.start_span(name)
        return span, context.attach(trace.set_span_in_context(span))

    def timing_ended(
        self, name: str, token: object, elapsed_ns: int, error: BaseException | None
    ) -> None:
        """End the span (recording ``error``) and record the duration."""
        span, attached = cast("tuple[Span, Token[Context]]", token)  # from timing_started
        context.detach(attached)
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, f"{type(error).__qualname__}: {error}"))
        span.end()
        self._duration.record(
            elapsed_ns / 1e9,
            {"pmp.name": name, "pmp.outcome": "ok" if error is None else "error"},
        )


def _event_attributes(state: RetryState) -> dict[str, str | int | float]:
    attributes: dict[str, str | int | float] = {
        "pmp.function": state.function,
        "pmp.retry.attempt": state.attempt,
        "pmp.retry.max_attempts": state.max_attempts,
        "pmp.retry.waited": state.waited,
        "exception.type": error_type(state),
    }
    if state.exception is not None:
        attributes["exception.message"] = str(state.exception)
    return attributes


def _check_provider(provider: object, name: str, method: str) -> None:
    if provider is not None and not callable(getattr(provider, method, None)):
        raise ValidationError(
            f"{name} must be an OpenTelemetry provider (with {method}()) or None for the "
            f"global one, got {provider!r}",
            field=name,
            value=provider,
            expected=f"an object with {method}() or None",
        )
