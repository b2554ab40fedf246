"""GCRA as a pure function: a key's state and the time in, the new state and a decision out.

A key's state is one *theoretical arrival time* (TAT) per rate, in integer clock ticks. For a rate
of ``limit`` requests per ``per`` seconds the emission interval is ``T = per / limit`` (rounded
down to a whole tick) and the window is ``W = T * limit``. A request of ``cost`` at time ``now``
moves the TAT to ``max(tat, now) + T * cost`` and is allowed when that is at most ``now + W``:
exactly ``limit`` requests pass in a burst, then one every ``T``. A refused request changes
nothing. Every backend (in process, Redis) computes this and nothing else; no I/O happens here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pmp_errors import ValidationError
from pmp_ratelimit._fastpath import compile_rule
from pmp_ratelimit._rate import is_count

if TYPE_CHECKING:
    from pmp_ratelimit._rate import Rate

__all__ = ["Decision", "Policy", "admit", "decide"]

State = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer to one request: allowed or not, and what the caller may do next.

    ``remaining`` is how many more requests would pass right now, ``retry_after`` how many seconds
    until a refused request would pass (0.0 when allowed), ``reset`` how many seconds until the
    key is back to its full burst, and ``limit`` the limit of the rate that decided.

    >>> from pmp_ratelimit import RateLimiter
    >>> limiter = RateLimiter("2/second")
    >>> limiter.try_acquire("alice")
    Decision(allowed=True, remaining=1, retry_after=0.0, reset=0.5, limit=2)
    """

    allowed: bool
    remaining: int
    retry_after: float
    reset: float
    limit: int

    def __bool__(self) -> bool:
        return self.allowed


class Policy:
    """Rates compiled to integer ticks (``ticks_per_second`` of them in a second)."""

    __slots__ = (
        "__weakref__",
        "intervals",
        "limits",
        "rates",
        "rule",
        "signature",
        "ticks_per_second",
        "windows",
    )

    def __init__(self, rates: tuple[Rate, ...], ticks_per_second: int) -> None:
        self.rates = rates
        self.ticks_per_second = ticks_per_second
        self.limits = tuple(rate.limit for rate in rates)
        intervals = []
        for rate in rates:
            ticks = rate.per * ticks_per_second
            if not math.isfinite(ticks):
                msg = f"rate {rate} has a period too long to count in clock ticks (shorten it)"
                raise ValidationError(msg, field="rate", value=str(rate))
            interval = round(ticks) // rate.limit
            if interval < 1:
                msg = (
                    f"rate {rate} is finer than this clock resolves (1/{ticks_per_second} s "
                    "per request at most); use a longer period or a smaller limit"
                )
                raise ValidationError(msg, field="rate", value=str(rate))
            intervals.append(interval)
        self.intervals = tuple(intervals)
        self.windows = tuple(t * n for t, n in zip(self.intervals, self.limits, strict=True))
        self.signature = ",".join(str(rate) for rate in rates)
        self.rule = compile_rule(self.intervals, self.windows)

    def check_cost(self, cost: int) -> None:
        """Refuse a cost that is not a positive int or that no rate could ever allow."""
        if not is_count(cost):
            msg = f"cost must be a positive int, got {cost!r}"
            raise ValidationError(msg, field="cost", value=cost)
        for limit in self.limits:
            if cost > limit:
                msg = f"cost {cost} exceeds the limit {limit}: such a request could never pass"
                raise ValidationError(msg, field="cost", value=cost)

    def pack(self, state: State) -> State | int:
        """*state* as a store keeps it: the arrival time itself when there is one rate."""
        return state[0] if len(state) == 1 else state

    def unpack(self, packed: State | int | None) -> State | None:
        """The inverse of ``pack`` (None stays None)."""
        return (packed,) if isinstance(packed, int) else packed

    def latest(self, packed: State | int) -> int:
        """The latest arrival time in a packed state."""
        return packed if isinstance(packed, int) else max(packed)

    def idle(self, packed: State | int, now: int) -> bool:
        """True when a packed state says nothing more than a fresh key would."""
        return self.latest(packed) <= now


def admit(policy: Policy, state: State | None, now: int, cost: int) -> State | None:
    """The new state when a request of *cost* at tick *now* is allowed, else None.

    This is the whole rule (compiled for the policy's rates by ``_fastpath``); ``decide`` adds
    the numbers a caller shows (``remaining`` ...).
    """
    return policy.rule(state, now, cost)


def decide(policy: Policy, state: State | None, now: int, cost: int) -> tuple[State, Decision]:
    """Decide one request of *cost* at tick *now*; return the state to keep and the decision.

    When the request is refused the returned state is *state* with arrival times in the past
    moved up to *now* (fresh if it was None).
    """
    new = admit(policy, state, now, cost)
    allowed = new is not None
    times = new if new is not None else (now,) * len(policy.intervals) if state is None else state
    kept: list[int] = []
    remaining = wait = latest = 0
    binding = -1
    rates = zip(times, policy.intervals, policy.windows, strict=False)  # one length: a policy
    for i, (arrival, interval, window) in enumerate(rates):
        tat = arrival if arrival > now else now  # noqa: FURB136 - a call costs more
        kept.append(tat)
        left = (window - (tat - now)) // interval
        if binding < 0:
            remaining, latest, wait, binding = left, tat, tat + interval * cost - window - now, 0
            continue
        latest = max(latest, tat)
        if allowed:
            if left < remaining:
                remaining, binding = left, i
        else:
            remaining = min(remaining, left)
            over = tat + interval * cost - window - now
            if over > wait:
                wait, binding = over, i
    tps = policy.ticks_per_second
    decision = Decision(  # by position: a frozen dataclass is costly enough to build
        allowed,  # allowed
        max(remaining, 0),  # remaining
        0.0 if allowed else wait / tps,  # retry_after
        (latest - now) / tps,  # reset
        policy.limits[binding],  # limit
    )
    return tuple(kept), decision
