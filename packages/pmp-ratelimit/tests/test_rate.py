"""Rates from numbers and from strings; bad ones get a clear ValidationError."""

from __future__ import annotations

import pytest

from pmp_errors import ValidationError
from pmp_ratelimit import Rate, RateLimiter


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("100/minute", Rate(100, per=60)),
        ("5/second", Rate(5, per=1)),
        ("5/s", Rate(5, per=1)),
        ("10/5s", Rate(10, per=5)),
        ("10/5 seconds", Rate(10, per=5)),
        ("1000 per hour", Rate(1000, per=3600)),
        ("3/2days", Rate(3, per=172800)),
        ("1/500ms", Rate(1, per=0.5)),
        (" 7 / MIN ", Rate(7, per=60)),
        ("2/1.5h", Rate(2, per=5400)),
        ("20/hr", Rate(20, per=3600)),
        ("20/hrs", Rate(20, per=3600)),
        ("9/3 mins", Rate(9, per=180)),
        ("9/2 secs", Rate(9, per=2)),
    ],
)
def test_rate_strings_are_read(text, rate):
    """Counts, optional multipliers and unit names (short, long, plural) are understood."""
    assert Rate.parse(text) == rate


@pytest.mark.parametrize(
    "text",
    [
        *("", "100", "100/", "100/fortnight", "-5/second", "1.5/s", "a/s"),
        *("5/ss", "1/hs", "3/ds", "2/nss", "2/mss"),  # a plural of a one-letter unit, of ns, of ms
    ],
)
def test_unparsable_rate_strings_name_the_expected_form(text):
    """An unreadable rate string raises ValidationError showing the expected form."""
    with pytest.raises(ValidationError, match="expected '<count>/<unit>'") as info:
        Rate.parse(text)
    assert info.value.context["field"] == "rate"


@pytest.mark.parametrize(
    ("limit", "per", "field"),
    [(-1, 1, "limit"), (0, 1, "limit"), (1.5, 1, "limit"), (True, 1, "limit"),
     (1, 0, "per"), (1, -2, "per"), (1, float("inf"), "per"), (1, float("nan"), "per"),
     (1, "1", "per"), pytest.param(1, 10**400, "per", id="per-beyond-a-float")],
)  # fmt: skip
def test_bad_rate_numbers_are_refused(limit, per, field):
    """A non-positive or non-numeric limit or period raises ValidationError naming it."""
    with pytest.raises(ValidationError) as info:
        Rate(limit, per=per)
    assert info.value.context["field"] == field


def test_a_limiter_needs_rates_it_can_read():
    """No rate, a rate of the wrong type and a rate finer than the clock are refused."""
    with pytest.raises(ValidationError, match="at least one rate"):
        RateLimiter()
    with pytest.raises(ValidationError, match="a rate must be a Rate or a string"):
        RateLimiter(5)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="finer than this clock resolves"):
        RateLimiter(Rate(10, per=1e-9))


def test_str_and_repr():
    """A rate prints as count/seconds; a limiter shows its rates."""
    assert str(Rate(100, per=60)) == "100/60s"
    assert str(Rate(1, per=0.5)) == "1/0.5s"
    assert repr(RateLimiter("100/minute", Rate(5, 1))) == "RateLimiter('100/60s', '5/1s')"


def test_a_period_too_long_for_the_clock_is_refused():
    """A finite period whose ticks overflow gets a ValidationError, not an OverflowError."""
    with pytest.raises(ValidationError, match="too long") as info:
        RateLimiter(Rate(1, per=1e300))
    assert info.value.context["field"] == "rate"


@pytest.mark.parametrize("per", [1e-7, 2.5e-5, 1 / 3, 0.1 + 0.2, 60, 1e17])
def test_a_rate_reads_back_from_its_str(per):
    """str(rate) (as a limiter's repr shows it) parses back to the same rate."""
    rate = Rate(3, per=per)
    assert Rate.parse(str(rate)) == rate
