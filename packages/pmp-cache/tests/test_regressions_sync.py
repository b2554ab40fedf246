"""Regression tests for cache: re-entry through threads, methods, keys and decorator order."""

import contextvars
import threading
from typing import Any

import pytest

from pmp_cache import LRUCache, ReentrantCallError, cache


@pytest.mark.parametrize("options", [{}, {"ttl": 5}, {"backend": "lru"}])
@pytest.mark.parametrize("star", [False, True])
def test_reentry_through_a_thread_started_with_the_context_raises(options: Any, star: bool):
    """A computation waiting for a thread (with its context) that calls it back fails, not hangs."""
    if options.get("backend") == "lru":
        options = {"backend": LRUCache(), "namespace": "via_thread"}
    outcome: list[BaseException | int] = []

    def in_thread(x: int) -> None:
        try:
            outcome.append(via_thread(x))
        except BaseException as exc:
            outcome.append(exc)

    def body(x: int) -> int:
        context = contextvars.copy_context()
        child = threading.Thread(target=context.run, args=(in_thread, x), daemon=True)
        child.start()
        child.join(5)
        return x

    if star:

        def via_thread(*args: int) -> int:
            return body(*args)
    else:

        def via_thread(x: int) -> int:  # type: ignore[misc]
            return body(x)

    via_thread = cache(**options)(via_thread)
    assert via_thread(1) == 1
    assert len(outcome) == 1
    assert isinstance(outcome[0], ReentrantCallError)
