import threading
import time

import pytest

from pmp_cache._mutex import holding, new_mutex


def test_second_thread_waits_until_the_holder_releases():
    """While one thread holds the lock another blocks, then proceeds once it is given back."""
    lock = new_mutex()
    lock.get()
    entered = threading.Event()

    def other() -> None:
        with holding(lock):
            entered.set()

    t = threading.Thread(target=other)
    t.start()
    assert not entered.wait(0.05)
    lock.put(None)
    t.join(5)
    assert entered.is_set()
    assert lock.qsize() == 1


def test_holding_gives_the_lock_back_when_the_block_raises():
    """An exception inside ``with holding(lock)`` still releases the lock."""
    lock = new_mutex()
    with pytest.raises(ValueError, match="boom"), holding(lock):
        assert lock.empty()
        raise ValueError("boom")
    assert lock.qsize() == 1


def test_threads_never_hold_it_together():
    """8 threads yielding while they hold it under the lock never overlap and lose no update."""
    lock = new_mutex()
    barrier = threading.Barrier(8)
    inside = [0]
    overlaps: list[int] = []
    total = [0]

    def work() -> None:
        barrier.wait()
        for _ in range(300):
            with holding(lock):
                inside[0] += 1
                time.sleep(0)  # let the other threads run while it is held
                if inside[0] != 1:
                    overlaps.append(inside[0])
                total[0] += 1
                inside[0] -= 1

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert overlaps == []
    assert total[0] == 2400
