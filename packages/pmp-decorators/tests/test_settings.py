"""Process-wide switches: each change undone by its Restorer, in any order."""

from __future__ import annotations

import contextlib

from hypothesis import given
from hypothesis import strategies as st

from pmp_decorators import retry, set_retry_testing, set_validation_enabled, validate_types
from pmp_decorators._settings import Layers, Restorer
from pmp_errors import ValidationError


@validate_types(n=int)
def takes_int(n: object) -> object:
    return n


def validating() -> bool:
    try:
        takes_int("x")
    except ValidationError:
        return True
    return False


def test_validation_restored_out_of_order_keeps_the_later_change():
    """Undoing a change a later one covers keeps the later; the base returns at the end."""
    off = set_validation_enabled(False)
    on = set_validation_enabled(True)
    off.restore()
    assert validating()
    on.restore()
    assert validating()  # the base: both changes are undone
    off.restore()
    on.restore()  # undoing twice does nothing
    assert validating()


def test_validation_off_stays_off_while_an_inner_change_covered_by_it_is_undone():
    """An earlier off, undone out of order, does not turn checks back on under a later off."""
    on = set_validation_enabled(True)
    off = set_validation_enabled(False)
    on.restore()
    assert not validating()
    off.restore()
    assert validating()


def attempts_and_sleeps() -> tuple[int, list[float]]:
    """Run a function that always fails under retry(max_attempts=3): its attempts and sleeps."""
    calls: list[int] = []
    slept: list[float] = []

    @retry(max_attempts=3, delay=60.0, jitter=None, sleep=slept.append)
    def flaky() -> None:
        calls.append(1)
        raise ConnectionError

    with contextlib.suppress(ConnectionError):
        flaky()
    return len(calls), slept


def test_retry_testing_restored_out_of_order_keeps_the_later_change():
    """set_retry_testing follows the same rule: the latest change still in force wins."""
    one = set_retry_testing(attempts=1)
    two = set_retry_testing(attempts=2)
    one.restore()
    assert attempts_and_sleeps() == (2, [])  # two is still in force: no sleeping
    two.restore()
    assert attempts_and_sleeps() == (3, [60.0, 120.0])  # the base: test mode off
    one.restore()
    assert attempts_and_sleeps() == (3, [60.0, 120.0])


@given(st.lists(st.integers(min_value=0, max_value=9), max_size=30))
def test_layers_match_a_model_in_any_order_of_undoing(steps: list[int]) -> None:
    """Pushes and undos in random order: in force is the latest change not yet undone."""
    applied: list[int] = []
    layers = Layers(applied.append, base=-1)
    restorers: list[Restorer] = []
    undone: set[int] = set()
    for step in steps:
        if step < 5 or not restorers:  # push
            restorers.append(layers.push(len(restorers)))
        else:  # undo one of the changes made so far (maybe again)
            index = step % len(restorers)
            restorers[index].restore()
            undone.add(index)
        live = [i for i in range(len(restorers)) if i not in undone]
        assert applied[-1] == (live[-1] if live else -1)
