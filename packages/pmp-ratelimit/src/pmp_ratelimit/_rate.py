"""Rates: ``Rate(100, per=60)`` and the strings ``"100/minute"``, ``"5/second"``, ``"10/5s"``."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pmp_errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["Rate", "RateLike", "is_count", "is_seconds", "parse_rates"]

_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1,
    "sec": 1,
    "second": 1,
    "m": 60,
    "min": 60,
    "minute": 60,
    "h": 3600,
    "hr": 3600,
    "hour": 3600,
    "d": 86400,
    "day": 86400,
}
_PLURALS = frozenset({"sec", "second", "min", "minute", "hr", "hour", "day"})
_FORMAT = re.compile(
    r"\s*(?P<limit>\d+)\s*(?:/|per\s)\s*(?P<count>\d+(?:\.\d+)?(?:e[-+]?\d+)?)?\s*(?P<unit>[a-z]+)\s*\Z",
    re.IGNORECASE,
)
_EXPECTED = "'<count>/<unit>' such as '100/minute', '5/second', '10/5s' or '1000 per hour'"


def is_count(value: object) -> bool:
    """True for an int >= 1 (bools are not counts)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def is_seconds(value: object) -> bool:
    """True for a finite int or float >= 0 (bools are not durations, nor ints beyond a float)."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return False
    try:
        return math.isfinite(value) and value >= 0
    except OverflowError:  # an int too large for a float: no number of seconds we can count
        return False


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``limit`` requests every ``per`` seconds, all of them allowed in a burst.

    >>> Rate(100, per=60)
    Rate(limit=100, per=60.0)
    >>> Rate.parse("5/second") == Rate(5, per=1)
    True
    """

    limit: int
    per: float

    def __init__(self, limit: int, per: float = 1.0) -> None:
        if not is_count(limit):
            msg = f"Rate limit must be a positive int (requests per period), got {limit!r}"
            raise ValidationError(msg, field="limit", value=limit)
        if not is_seconds(per) or per == 0:
            msg = f"Rate per must be a positive, finite number of seconds, got {per!r}"
            raise ValidationError(msg, field="per", value=per)
        object.__setattr__(self, "limit", limit)
        object.__setattr__(self, "per", float(per))

    @classmethod
    def parse(cls, text: str) -> Rate:
        """Read a rate from text such as ``"100/minute"``, ``"10/5s"`` or ``"1000 per hour"``.

        >>> Rate.parse("10/5s")
        Rate(limit=10, per=5.0)
        """
        if not isinstance(text, str):
            msg = f"a rate must be a Rate or a string like {_EXPECTED}, got {text!r}"
            raise ValidationError(msg, field="rate", value=text)
        match = _FORMAT.fullmatch(text)
        unit = _unit_seconds(match.group("unit").lower()) if match else None
        if match is None or unit is None:
            msg = f"cannot read the rate {text!r}: expected {_EXPECTED}"
            raise ValidationError(msg, field="rate", value=text)
        count = float(match.group("count") or 1)
        return cls(int(match.group("limit")), per=count * unit)

    def __str__(self) -> str:
        per = int(self.per) if self.per.is_integer() else self.per
        return f"{self.limit}/{per}s"


RateLike = Rate | str


def _unit_seconds(unit: str) -> float | None:
    """Seconds in *unit*, a name or its plural ("minutes", "hrs"); single letters have none."""
    if unit.endswith("s") and unit[:-1] in _PLURALS:
        unit = unit[:-1]
    return _UNITS.get(unit)


def parse_rates(rates: Iterable[RateLike]) -> tuple[Rate, ...]:
    """Turn ``Rate`` objects and rate strings into rates; at least one is needed."""
    parsed = tuple(rate if isinstance(rate, Rate) else Rate.parse(rate) for rate in rates)
    if not parsed:
        msg = f"a rate limiter needs at least one rate, e.g. {_EXPECTED}"
        raise ValidationError(msg, field="rates", value=())
    return parsed
