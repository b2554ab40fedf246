"""Shared fixtures: a fake nanosecond clock and a sleep that advances it."""

from __future__ import annotations

import pytest


class FakeClock:
    """A clock in integer nanoseconds that moves only when told (or slept on)."""

    def __init__(self, now: int = 1_000_000_000_000) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> int:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += round(seconds * 1_000_000_000)

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.advance(seconds)

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@pytest.fixture
def clock() -> FakeClock:
    """A fresh fake clock."""
    return FakeClock()
