"""Prometheus metrics for retries and timings (needs ``pmp-decorators[prometheus]``).

Install with ``set_instrumentation(PrometheusInstrument(registry=registry))``.
"""

from __future__ import annotations

import itertools
import math
from typing import TYPE_CHECKING

from pmp_decorators._instrument import Instrument, error_type, missing_extra
from pmp_errors import ValidationError

try:
    from prometheus_client import CollectorRegistry, Counter, Histogram
except ImportError:  # pragma: no cover - tested by hiding the library
    raise missing_extra(__name__, "prometheus-client", "prometheus") from None

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pmp_decorators._retry_policy import RetryState

__all__ = ["PrometheusInstrument"]


class PrometheusInstrument(Instrument):
    """Counters of retries and give-ups, seconds waited, and a histogram of timings.

    Registered on ``registry`` (pass ``prometheus_client.REGISTRY`` for the default
    one; registering twice on one registry raises ``ValueError``):

    - ``pmp_retry_retries_total{function, error}``: failed attempts that were retried;
    - ``pmp_retry_give_ups_total{function, error}``: calls whose retries ran out;
    - ``pmp_retry_wait_seconds_total{function}``: pauses scheduled between attempts;
    - ``pmp_timing_duration_seconds{name, outcome}``: ``timed`` calls and
      ``measure_block`` blocks (``outcome`` is ``ok`` or ``error``), a histogram with
      ``buckets`` (the client's defaults, 5 ms to 10 s, unless given).

    ``error`` is the exception's class (``OSError``, ``module.QualName``), or
    ``rejected_result`` for a result that ``retry_if_result`` rejected.

    >>> from prometheus_client import CollectorRegistry
    >>> from pmp_decorators import measure_block
    >>> from pmp_decorators.instrumentation import set_instrumentation
    >>> registry = CollectorRegistry()
    >>> with set_instrumentation(PrometheusInstrument(registry=registry)):
    ...     with measure_block("load"):
    ...         pass
    >>> registry.get_sample_value(
    ...     "pmp_timing_duration_seconds_count", {"name": "load", "outcome": "ok"}
    ... )
    1.0
    """

    __slots__ = ("_duration", "_give_ups", "_retries", "_timers", "_waits")

    def __init__(
        self, *, registry: CollectorRegistry, buckets: Sequence[float] | None = None
    ) -> None:
        if not isinstance(registry, CollectorRegistry):
            raise ValidationError(
                f"registry must be a prometheus_client.CollectorRegistry, got {registry!r}",
                field="registry",
                value=registry,
                expected="CollectorRegistry",
            )
        self._retries = Counter(
            "pmp_retry_retries",
            "Failed attempts that were retried.",
            ("function", "error"),
            registry=registry,
        )
        self._give_ups = Counter(
            "pmp_retry_give_ups",
            "Calls whose retries ran out.",
            ("function", "error"),
            registry=registry,
        )
        self._waits = Counter(
            "pmp_retry_wait_seconds",
            "Pauses scheduled between attempts, in seconds.",
            ("function",),
            registry=registry,
        )
        self._duration = Histogram(
            "pmp_timing_duration_seconds",
            "Duration of timed calls and measured blocks, in seconds.",
            ("name", "outcome"),
            registry=registry,
            buckets=Histogram.DEFAULT_BUCKETS if buckets is None else _checked(buckets),
        )
        self._timers: dict[tuple[str, str], Histogram] = {}  # labels() is slower than a dict

    def retry_scheduled(self, state: RetryState) -> None:
        """Count the retry and its pause."""
        self._retries.labels(state.function, error_type(state)).inc()
        self._waits.labels(state.function).inc(state.wait or 0.0)

    def retry_gave_up(self, state: RetryState) -> None:
        """Count the give-up."""
        self._give_ups.labels(state.function, error_type(state)).inc()

    def timing_ended(
        self, name: str, token: object, elapsed_ns: int, error: BaseException | None
    ) -> None:
        """Observe the duration, in seconds."""
        del token
        labels = (name, "ok" if error is None else "error")
        timer = self._timers.get(labels)
        if timer is None:  # labels() returns the same child for the same labels, in any thread
            timer = self._timers[labels] = self._duration.labels(*labels)
        timer.observe(elapsed_ns / 1e9)


def _checked(buckets: object) -> tuple[float, ...]:
    """``buckets`` as a tuple of increasing finite numbers, or a ValidationError naming it."""
    values = tuple(buckets) if isinstance(buckets, list | tuple) else None
    if (
        not values
        or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
            for v in values
        )
        or any(a >= b for a, b in itertools.pairwise(values))
    ):
        raise ValidationError(
            f"buckets must be a non-empty list of increasing finite numbers (upper bounds "
            f"in seconds), got {buckets!r}",
            field="buckets",
            value=buckets,
            expected="increasing finite numbers",
        )
    return values
