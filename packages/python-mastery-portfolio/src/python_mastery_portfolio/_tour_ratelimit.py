"""Tour section: a GCRA limiter per key, the decision object, the error, waiting and a decorator."""

from __future__ import annotations

from pmp_errors import RateLimitError
from pmp_ratelimit import MemoryStore, Rate, RateLimiter, rate_limited

__all__ = ["show"]


class _Clock:
    """A clock the tour moves by hand, so that the output is the same on every run."""

    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += round(seconds * 1_000_000_000)


def show() -> None:
    """Print a burst that is cut at the limit, the Retry-After, a wait and a limited function."""
    clock = _Clock()
    limiter = RateLimiter(
        "3/second", Rate(100, per=3600), store=MemoryStore(clock=clock), sleep=clock.sleep
    )
    print(f"limiter: {limiter}")
    for attempt in range(1, 5):
        decision = limiter.try_acquire("alice")
        print(
            f"  request {attempt} from alice: allowed={decision.allowed} "
            f"remaining={decision.remaining} retry_after={decision.retry_after:.3f}s"
        )
    try:
        limiter.acquire("alice")
    except RateLimitError as exc:
        print(f"acquire() raises {type(exc).__name__}: retry_after={exc.retry_after:.3f}s")
        print(f"  as an HTTP answer: status {exc.to_problem()['status']}")
    limiter.acquire("alice", wait=1.0)
    print(f"acquire(wait=1.0) waited {clock.now / 1e9:.3f}s (on the tour's clock) and passed")
    print(f"bob has his own burst: remaining={limiter.try_acquire('bob').remaining}")

    @rate_limited(limiter, key=lambda user: user)
    def send(user: str) -> str:
        return f"sent to {user}"

    print(f"@rate_limited: {send('carol')}")
