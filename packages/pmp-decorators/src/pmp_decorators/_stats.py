"""Running timing statistics in constant memory."""

from __future__ import annotations

import math
import threading

from pmp_errors import ValidationError

__all__ = ["UNITS", "TimingStats", "unit_divisor"]

UNITS: dict[str, int] = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}
"""Nanoseconds per unit for every unit that timing accepts."""


def unit_divisor(unit: object, name: str = "unit") -> int:
    """Return the nanoseconds in ``unit``; a ``ValidationError`` for an unknown unit."""
    divisor = UNITS.get(unit) if isinstance(unit, str) else None
    if divisor is None:
        expected = " | ".join(repr(key) for key in UNITS)
        raise ValidationError(
            f"{name} must be one of {expected}, got {unit!r}",
            field=name,
            value=unit,
            expected=expected,
        )
    return divisor


_SUB_BITS = 7  # 64 buckets per power of two above 127 ns: within 1/128 of the true value


def _bucket(elapsed_ns: int) -> int:
    """The histogram bucket of a timing: exact below 128 ns, then 64 per power of two."""
    shift = elapsed_ns.bit_length() - _SUB_BITS
    if shift <= 0:
        return elapsed_ns
    return (shift << _SUB_BITS) | (elapsed_ns >> shift)


def _bucket_value(bucket: int) -> float:
    """The middle of a bucket, in nanoseconds (exact for buckets below 128 ns)."""
    shift = bucket >> _SUB_BITS
    if shift == 0:
        return float(bucket)
    low = (bucket & ((1 << _SUB_BITS) - 1)) << shift
    return low + ((1 << shift) - 1) / 2


class TimingStats:
    """Count, total, min, max, mean and percentiles of many timings; thread-safe.

    Pass one to ``timed(stats=...)`` or ``measure_block(stats=...)``; several
    functions or blocks may share it. Figures are reported in ``unit``. Percentiles
    (:meth:`percentile`, ``p50``, ``p95``, ``p99``) come from a histogram with 64
    buckets per power of two: exact below 128 ns, otherwise within 0.8% of the true
    sample value (nearest rank), and never outside ``[min, max]``. Memory is bounded
    whatever the number of samples: at most 64 buckets per power of two of the
    timings seen (about 2,700 for anything from 1 ns to 15 minutes).

    >>> stats = TimingStats(unit="us")
    >>> stats.add(1_500)
    >>> stats.add(2_500)
    >>> stats.count, stats.total, stats.min, stats.max, stats.mean
    (2, 4.0, 1.5, 2.5, 2.0)
    >>> round(stats.p50, 2), round(stats.p99, 2)
    (1.5, 2.5)
    """

    __slots__ = (
        "_buckets",
        "_divisor",
        "_lock",
        "count",
        "max_ns",
        "min_ns",
        "total_ns",
        "unit",
    )

    def __init__(self, unit: str = "ms") -> None:
        self._divisor = unit_divisor(unit)
        self.unit = unit
        self._lock = threading.Lock()
        self.count = 0
        self.total_ns = 0
        self.min_ns: int | None = None
        self.max_ns: int | None = None
        self._buckets: dict[int, int] = {}

    def add(self, elapsed_ns: int) -> None:
        """Record one timing, a whole number of nanoseconds >= 0."""
        if type(elapsed_ns) is not int or elapsed_ns < 0:
            raise ValidationError(
                f"elapsed_ns must be an int >= 0 (nanoseconds), got {elapsed_ns!r}",
                field="elapsed_ns",
                value=elapsed_ns,
                expected="int >= 0",
            )
        with self._lock:
            self.count += 1
            self.total_ns += elapsed_ns
            if self.min_ns is None or elapsed_ns < self.min_ns:
                self.min_ns = elapsed_ns
            if self.max_ns is None or elapsed_ns > self.max_ns:
                self.max_ns = elapsed_ns
            bucket = _bucket(elapsed_ns)
            self._buckets[bucket] = self._buckets.get(bucket, 0) + 1

    def reset(self) -> None:
        """Forget every timing recorded so far."""
        with self._lock:
            self.count = 0
            self.total_ns = 0
            self.min_ns = self.max_ns = None
            self._buckets.clear()

    @property
    def total(self) -> float:
        """The sum of all timings, in ``unit``."""
        return self.total_ns / self._divisor

    @property
    def min(self) -> float | None:
        """The shortest timing in ``unit`` (``None`` before the first)."""
        return None if self.min_ns is None else self.min_ns / self._divisor

    @property
    def max(self) -> float | None:
        """The longest timing in ``unit`` (``None`` before the first)."""
        return None if self.max_ns is None else self.max_ns / self._divisor

    @property
    def mean(self) -> float | None:
        """The mean timing in ``unit`` (``None`` before the first)."""
        return None if not self.count else self.total_ns / self.count / self._divisor

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0 < q <= 100) in ``unit``; ``None`` before the first.

        >>> stats = TimingStats(unit="ns")
        >>> for ns in range(1, 101):
        ...     stats.add(ns)
        >>> stats.percentile(50), stats.percentile(95), stats.percentile(100)
        (50.0, 95.0, 100.0)
        """
        given: object = q
        if isinstance(given, bool) or not isinstance(given, int | float) or not 0 < q <= 100:  # noqa: PLR2004
            raise ValidationError(
                f"q must be a number with 0 < q <= 100, got {q!r}",
                field="q",
                value=q,
                expected="0 < q <= 100",
            )
        with self._lock:
            if not self.count or self.min_ns is None or self.max_ns is None:
                return None
            rank = max(1, math.ceil(q / 100 * self.count))
            seen = 0
            value = float(self.max_ns)
            for bucket in sorted(self._buckets):
                seen += self._buckets[bucket]
                if seen >= rank:
                    value = _bucket_value(bucket)
                    break
            value = min(max(value, self.min_ns), self.max_ns)
        return value / self._divisor

    @property
    def p50(self) -> float | None:
        """The median timing in ``unit`` (see :meth:`percentile`)."""
        return self.percentile(50)

    @property
    def p95(self) -> float | None:
        """The 95th percentile in ``unit`` (see :meth:`percentile`)."""
        return self.percentile(95)

    @property
    def p99(self) -> float | None:
        """The 99th percentile in ``unit`` (see :meth:`percentile`)."""
        return self.percentile(99)

    def as_dict(self) -> dict[str, float | int | str | None]:
        """All figures as a plain dict (for logs and metrics)."""
        figures: dict[str, float | int | str | None] = {
            "p50": self.p50,
            "p95": self.p95,
            "p99": self.p99,
        }
        with self._lock:
            return {
                "unit": self.unit,
                "count": self.count,
                "total": self.total,
                "min": self.min,
                "max": self.max,
                "mean": self.mean,
                **figures,
            }

    def __repr__(self) -> str:
        return (
            f"TimingStats(unit={self.unit!r}, count={self.count}, total={self.total:g}, "
            f"min={self.min}, max={self.max}, mean={self.mean})"
        )
