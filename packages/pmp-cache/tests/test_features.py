"""unless=, cache_refresh() and the other options users of the peers ask for."""

import asyncio
from typing import Any

import pytest

from pmp_cache import LRUCache, async_cache, cache
from pmp_errors import ValidationError


@pytest.mark.parametrize(
    "options", [{}, {"ttl": 5}, {"maxsize": None}, {"backend": "lru"}, {"star": True}]
)
def test_unless_keeps_refused_results_out_of_the_cache(options: dict[str, Any]):
    """Results unless= returns true for are returned but not stored."""
    options = dict(options)
    if options.get("backend") == "lru":
        options = {"backend": LRUCache(), "namespace": "find"}
    star = options.pop("star", False)
    calls: list[int] = []

    def body(x: int) -> int | None:
        calls.append(x)
        return None if x < 0 else x

    if star:

        def find(*args: int) -> int | None:
            return body(*args)
    else:

        def find(x: int) -> int | None:  # type: ignore[misc]
            return body(x)

    cached = cache(unless=lambda r: r is None, **options)(find)
    assert [cached(-1), cached(-1), cached(2), cached(2)] == [None, None, 2, 2]
    assert calls == [-1, -1, 2]


@pytest.mark.asyncio
@pytest.mark.parametrize("options", [{}, {"ttl": 5}, {"backend": "lru"}])
async def test_async_unless_keeps_refused_results_out_of_the_cache(options: dict[str, Any]):
    """async_cache(unless=...) stores only results it accepts."""
    if options.get("backend") == "lru":
        options = {"backend": LRUCache(), "namespace": "afind"}
    calls: list[int] = []

    @async_cache(unless=lambda r: not r, **options)
    async def afind(x: int) -> list[int]:
        calls.append(x)
        return [x] if x > 0 else []

    assert [await afind(0), await afind(0), await afind(1), await afind(1)] == [[], [], [1], [1]]
    assert calls == [0, 0, 1]


def test_a_failing_unless_fails_the_call_and_stores_nothing():
    """An exception from unless= reaches the caller like the function's own."""

    def boom(_: object) -> bool:
        raise ValueError("bad predicate")

    @cache(unless=boom)
    def f(x: int) -> int:
        return x

    with pytest.raises(ValueError, match="bad predicate"):
        f(1)
    assert f.cache_info().currsize == 0


def test_unless_must_be_callable():
    """unless= names itself when it is not callable."""
    with pytest.raises(ValidationError, match="unless"):
        cache(unless=3)  # type: ignore[call-overload]


def test_cache_refresh_recomputes_and_stores():
    """f.cache_refresh(*args) recomputes, stores and returns the new value."""
    version = [1]

    @cache
    def read(name: str) -> tuple[str, int]:
        return (name, version[0])

    assert read("a") == ("a", 1)
    version[0] = 2
    assert read("a") == ("a", 1)
    assert read.cache_refresh("a") == ("a", 2)
    assert read("a") == ("a", 2)
    assert read.__wrapped__("a") == ("a", 2)  # the bypass: no cache at all


class _Repo:
    def __init__(self) -> None:
        self.version = 1

    @cache
    def get(self, name: str) -> tuple[str, int]:
        return (name, self.version)

    @async_cache
    async def aget(self, name: str) -> tuple[str, int]:
        return (name, self.version)


def test_cache_refresh_on_methods():
    """obj.m.cache_refresh(...) and Class.m.cache_refresh(obj, ...) refresh one instance."""
    repo = _Repo()
    assert repo.get("a") == ("a", 1)
    repo.version = 2
    assert repo.get.cache_refresh("a") == ("a", 2)
    repo.version = 3
    assert _Repo.get.cache_refresh(repo, "a") == ("a", 3)
    assert repo.get("a") == ("a", 3)


@pytest.mark.asyncio
async def test_acache_refresh_on_functions_and_methods():
    """Awaiting f.acache_refresh(...) recomputes and stores, for functions and methods."""
    version = [1]

    @async_cache
    async def read(name: str) -> tuple[str, int]:
        await asyncio.sleep(0)
        return (name, version[0])

    assert await read("a") == ("a", 1)
    version[0] = 2
    assert await read.acache_refresh("a") == ("a", 2)
    assert await read("a") == ("a", 2)
    repo = _Repo()
    assert await repo.aget("a") == ("a", 1)
    repo.version = 2
    assert await repo.aget.acache_refresh("a") == ("a", 2)
    assert await repo.aget("a") == ("a", 2)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lru_cache_reports_evictions_and_expirations():
    """LRUCache(on_event=...) hears of every entry leaving by size or age, with its key."""
    events: list[tuple[str, object]] = []
    clock = _Clock()
    c: LRUCache[str, int] = LRUCache(
        maxsize=2, ttl=10, timer=clock, on_event=lambda kind, key: events.append((kind, key))
    )
    c["a"], c["b"], c["c"] = 1, 2, 3
    clock.now = 10.0
    assert c.get("b") is None
    c["d"] = 4  # room for it: "c" (expired) stays until its slot is needed
    c["e"] = 5  # full: the expired "c" leaves, not the live "d"
    plain: LRUCache[str, int] = LRUCache(
        maxsize=1, on_event=lambda kind, key: events.append((kind, key))
    )
    plain["x"], plain["y"] = 1, 2
    assert events == [
        ("eviction", "a"),
        ("expiration", "b"),
        ("expiration", "c"),
        ("eviction", "x"),
    ]
    stats = c.stats()
    assert (stats["evictions"], stats["expirations"]) == (1, 2)


@pytest.mark.parametrize("options", [{}, {"ttl": 60}, {"star": True}])
def test_cached_function_reports_hits_misses_and_evictions(options: dict[str, Any]):
    """cache(on_event=...) hears every hit, miss and eviction, matching the counters."""
    options = dict(options)
    star = options.pop("star", False)
    events: list[tuple[str, object]] = []

    def record(kind: str, key: object) -> None:
        events.append((kind, key))

    if star:

        def f(*args: int) -> int:
            return sum(args)
    else:

        def f(x: int) -> int:  # type: ignore[misc]
            return x

    cached = cache(maxsize=1, on_event=record, **options)(f)
    cached(1)
    cached(1)
    cached(2)
    assert events == [("miss", 1), ("hit", 1), ("miss", 2), ("eviction", 1)]
    info = cached.cache_info()
    assert (info.hits, info.misses) == (1, 2)


@pytest.mark.asyncio
async def test_async_cached_function_reports_joiners_as_hits():
    """async_cache(on_event=...) reports one miss per computation and the joiners as hits."""
    events: list[str] = []

    @async_cache(on_event=lambda kind, _key: events.append(kind))
    async def f(x: int) -> int:
        await asyncio.sleep(0)
        return x

    await asyncio.gather(f(1), f(1), f(1))
    await f(1)
    assert sorted(events) == ["hit", "hit", "hit", "miss"]


def test_on_event_is_checked():
    """on_event must be callable, and is refused with a backend (which has its own stats)."""
    from pmp_errors import ConfigurationError

    with pytest.raises(ValidationError, match="on_event"):
        cache(on_event=1)  # type: ignore[call-overload]
    with pytest.raises(ValidationError, match="on_event"):
        LRUCache(on_event=1)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="on_event"):
        cache(backend=LRUCache(), on_event=print)


async def _drained(core: Any) -> None:
    """Let the event loop run until no computation is in flight."""
    for _ in range(1000):  # pragma: no branch - a refresh needs a few turns at most
        if not core.flights:
            return
        await asyncio.sleep(0)


def _stale_events() -> tuple[list[tuple[str, object]], Any]:
    events: list[tuple[str, object]] = []
    return events, lambda kind, key: events.append((kind, key))


@pytest.mark.parametrize("star", [False, True])
def test_stale_entries_are_served_while_one_thread_refreshes(star: bool):
    """After ttl, stale= serves the old value at once and one thread computes the new one."""
    import threading

    clock = _Clock()
    version = [1]
    gate = threading.Event()
    calls: list[int] = []
    events, record = _stale_events()

    def body(x: int) -> tuple[int, int]:
        calls.append(x)
        if len(calls) > 1:
            gate.wait(5)
        return (x, version[0])

    if star:

        def f(*args: int) -> tuple[int, int]:
            return body(*args)
    else:

        def f(x: int) -> tuple[int, int]:  # type: ignore[misc]
            return body(x)

    cached = cache(ttl=10, stale=5, timer=clock, on_event=record)(f)
    assert cached(1) == (1, 1)
    version[0] = 2
    clock.now = 12.0  # past ttl, within stale
    assert [cached(1) for _ in range(5)] == [(1, 1)] * 5  # served stale; one refresher
    gate.set()
    core = cached.cache_stats.__self__  # type: ignore[attr-defined]
    while core.flights:
        pass  # until the refresh is stored
    assert cached(1) == (1, 2)
    assert calls == [1, 1]
    assert [kind for kind, _ in events].count("stale") == 5
    clock.now = 40.0  # past ttl + stale: a plain miss
    assert cached(1) == (1, 2)
    assert calls == [1, 1, 1]


def test_a_failing_refresh_keeps_the_stale_value_until_stale_runs_out():
    """A refresh that fails leaves the stale entry (reported), until ttl + stale is over."""
    clock = _Clock()
    fail = [False]
    events, record = _stale_events()

    @cache(ttl=10, stale=5, timer=clock, on_event=record)
    def f(x: int) -> int:
        if fail[0]:
            raise ValueError("down")
        return x

    core = f.cache_stats.__self__  # type: ignore[attr-defined]
    assert f(1) == 1
    fail[0] = True
    clock.now = 11.0
    assert f(1) == 1
    while core.flights:
        pass
    assert ("refresh_error", 1) in events
    assert f(1) == 1  # still stale, served again
    while core.flights:
        pass
    clock.now = 16.0  # ttl + stale over: the failure reaches the caller
    with pytest.raises(ValueError, match="down"):
        f(1)


@pytest.mark.asyncio
async def test_async_stale_entries_are_served_while_one_task_refreshes():
    """async_cache(stale=...) serves stale values and refreshes in one task."""
    clock = _Clock()
    version = [1]
    calls: list[int] = []
    events, record = _stale_events()

    @async_cache(ttl=10, stale=5, timer=clock, on_event=record)
    async def f(x: int) -> tuple[int, int]:
        calls.append(x)
        await asyncio.sleep(0)
        return (x, version[0])

    assert await f(1) == (1, 1)
    version[0] = 2
    clock.now = 12.0
    assert [await f(1) for _ in range(3)] == [(1, 1)] * 3
    core = f.cache_stats.__self__  # type: ignore[attr-defined]
    await _drained(core)
    assert await f(1) == (1, 2)
    assert calls == [1, 1]
    assert [kind for kind, _ in events].count("stale") == 3


@pytest.mark.asyncio
async def test_async_failing_refresh_is_reported_and_keeps_the_stale_value():
    """A failing async refresh is reported; the stale value is served until stale runs out."""
    clock = _Clock()
    fail = [False]
    events, record = _stale_events()

    @async_cache(ttl=10, stale=5, timer=clock, on_event=record)
    async def f(x: int) -> int:
        if fail[0]:
            raise ValueError("down")
        return x

    core = f.cache_stats.__self__  # type: ignore[attr-defined]
    assert await f(1) == 1
    fail[0] = True
    clock.now = 11.0
    assert await f(1) == 1
    await _drained(core)
    assert ("refresh_error", 1) in events
    clock.now = 16.0
    with pytest.raises(ValueError, match="down"):
        await f(1)


def test_stale_needs_a_ttl_and_the_in_memory_store():
    """stale= without ttl, with a bad value or over a backend is refused."""
    from pmp_errors import ConfigurationError

    with pytest.raises(ValidationError, match="ttl"):
        cache(stale=5)
    with pytest.raises(ValidationError, match="stale"):
        cache(ttl=5, stale=-1)
    with pytest.raises(ConfigurationError, match="stale"):
        cache(ttl=5, stale=5, backend=LRUCache())


def test_stale_costs_nothing_on_a_fresh_hit_path():
    """A fresh hit with stale= runs the same steps: one clock read, one comparison."""
    clock = _Clock()

    @cache(ttl=10, stale=5, timer=clock)
    def f(x: int) -> int:
        return x

    f(1)
    assert f(1) == 1
    assert f.cache_info().hits == 1


def test_an_unknown_option_is_named():
    """cache(...) and async_cache(...) name an option they do not take."""
    with pytest.raises(TypeError, match="'tll'"):
        cache(tll=5)  # type: ignore[call-overload]
    with pytest.raises(TypeError, match="async_cache"):
        async_cache(stael=5)  # type: ignore[call-overload]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_refresh_error_hook_that_raises_leaves_the_key_usable():
    """The failed refresh still ends its flight: the next miss computes instead of hanging."""
    import threading

    clock = _Clock()
    fail = [False]

    def hook(kind: str, key: object) -> None:
        if kind == "refresh_error":
            raise RuntimeError(kind)

    @cache(ttl=10, stale=5, timer=clock, on_event=hook)
    def f(x: int) -> int:
        if fail[0]:
            raise ValueError("down")
        return x

    assert f(1) == 1
    fail[0] = True
    clock.now = 11.0
    assert f(1) == 1  # stale; the refresh fails and its hook raises
    for thread in threading.enumerate():
        if thread.name.startswith("pmp-cache refresh"):
            thread.join(5)  # its error is reported within this test
    fail[0] = False
    clock.now = 16.0  # past stale: a plain miss
    result: list[int] = []
    worker = threading.Thread(target=lambda: result.append(f(1)), daemon=True)
    worker.start()
    worker.join(5)
    assert result == [1]


def test_a_refresh_thread_that_cannot_start_leaves_the_key_usable(
    monkeypatch: pytest.MonkeyPatch,
):
    """No thread for the refresh (as at interpreter shutdown): the stale value, then a miss."""
    import threading

    clock = _Clock()

    @cache(ttl=10, stale=5, timer=clock)
    def f(x: int) -> float:
        return clock.now

    assert f(1) == 0.0
    clock.now = 11.0
    with monkeypatch.context() as patched:

        def no_thread(self: threading.Thread) -> None:
            raise RuntimeError("can't create new thread at interpreter shutdown")

        patched.setattr(threading.Thread, "start", no_thread)
        assert f(1) == 0.0  # served stale; no refresher could start
    clock.now = 16.0  # past stale: a plain miss computes instead of waiting
    result: list[float] = []
    worker = threading.Thread(target=lambda: result.append(f(1)), daemon=True)
    worker.start()
    worker.join(5)
    assert result == [16.0]
