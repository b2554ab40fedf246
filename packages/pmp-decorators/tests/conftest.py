"""Fixtures shared by the instrumentation tests."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pmp_decorators import retry

if TYPE_CHECKING:
    from collections.abc import Callable


def make_flaky(failures: int) -> Callable[[], str]:
    """A function failing ``failures`` times with OSError("down n"), then returning "ok"."""
    calls: list[int] = []

    def fetch() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise OSError(f"down {len(calls)}")
        return "ok"

    return fetch


def make_exact(max_attempts: int = 3) -> Callable[[Callable[[], str]], Callable[[], str]]:
    """Retry with exact pauses (0.1 s, then 0.2 s, ...) and no real sleep."""
    return retry(
        max_attempts=max_attempts, delay=0.1, backoff=2.0, jitter=None, sleep=lambda _: None
    )


@pytest.fixture
def flaky() -> Callable[[int], Callable[[], str]]:
    return make_flaky


@pytest.fixture
def exact() -> Callable[..., Callable[[Callable[[], str]], Callable[[], str]]]:
    return make_exact
