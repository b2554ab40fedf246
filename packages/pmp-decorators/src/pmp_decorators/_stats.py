"""Running timing statistics in constant memory."""

from __future__ import annotations

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


class TimingStats:
    """Count, total, min, max and mean of many timings, in O(1) memory, thread-safe.

    Pass one to ``timed(stats=...)`` or ``measure_block(stats=...)``; several
    functions or blocks may share it. Figures are reported in ``unit``.

    >>> stats = TimingStats(unit="us")
    >>> stats.add(1_500)
    >>> stats.add(2_500)
    >>> stats.count, stats.total, stats.min, stats.max, stats.mean
    (2, 4.0, 1.5, 2.5, 2.0)
    """

    __slots__ = ("_divisor", "_lock", "count", "max_ns", "min_ns", "total_ns", "unit")

    def __init__(self, unit: str = "ms") -> None:
        self._divisor = unit_divisor(unit)
        self.unit = unit
        self._lock = threading.Lock()
        self.count = 0
        self.total_ns = 0
        self.min_ns: int | None = None
        self.max_ns: int | None = None

    def add(self, elapsed_ns: int) -> None:
        """Record one timing, in nanoseconds."""
        with self._lock:
            self.count += 1
            self.total_ns += elapsed_ns
            if self.min_ns is None or elapsed_ns < self.min_ns:
                self.min_ns = elapsed_ns
            if self.max_ns is None or elapsed_ns > self.max_ns:
                self.max_ns = elapsed_ns

    def reset(self) -> None:
        """Forget every timing recorded so far."""
        with self._lock:
            self.count = 0
            self.total_ns = 0
            self.min_ns = self.max_ns = None

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

    def as_dict(self) -> dict[str, float | int | str | None]:
        """All figures as a plain dict (for logs and metrics)."""
        with self._lock:
            return {
                "unit": self.unit,
                "count": self.count,
                "total": self.total,
                "min": self.min,
                "max": self.max,
                "mean": self.mean,
            }

    def __repr__(self) -> str:
        return (
            f"TimingStats(unit={self.unit!r}, count={self.count}, total={self.total:g}, "
            f"min={self.min}, max={self.max}, mean={self.mean})"
        )
