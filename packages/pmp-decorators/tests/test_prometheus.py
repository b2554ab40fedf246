import asyncio
import importlib
import sys
import threading

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from pmp_decorators import async_retry, measure_block, retry, timed
from pmp_decorators.instrumentation import set_instrumentation
from pmp_decorators.integrations.prometheus import PrometheusInstrument
from pmp_errors import ConfigurationError, ValidationError


@pytest.fixture
def registry():
    registry = CollectorRegistry()
    with set_instrumentation(PrometheusInstrument(registry=registry, buckets=(0.5, 1.0))):
        yield registry


def samples(registry: CollectorRegistry) -> list[str]:
    """The exposition's sample lines (no HELP/TYPE comments, no _created timestamps)."""
    return [
        line
        for line in generate_latest(registry).decode().splitlines()
        if not line.startswith("#") and "_created" not in line
    ]


def test_scripted_workload_exposes_exact_metrics(registry, monkeypatch, flaky, exact):
    """3 attempts with 2 waits, one give-up, two timings: the exact exposition."""
    ticks = iter(range(0, 10**12, 750_000_000))
    monkeypatch.setattr("pmp_decorators._timing.perf_counter_ns", lambda: next(ticks))
    assert exact()(flaky(2))() == "ok"
    with pytest.raises(OSError):
        exact(max_attempts=2)(flaky(9))()

    @timed(name="handle")
    def handle():
        return 1

    handle()
    with pytest.raises(KeyError), measure_block("load"):
        raise KeyError
    fn = 'function="make_flaky.<locals>.fetch"'
    assert samples(registry) == [
        f'pmp_retry_retries_total{{error="OSError",{fn}}} 3.0',
        f'pmp_retry_give_ups_total{{error="OSError",{fn}}} 1.0',
        f"pmp_retry_wait_seconds_total{{{fn}}} 0.4",
        'pmp_timing_duration_seconds_bucket{le="0.5",name="handle",outcome="ok"} 0.0',
        'pmp_timing_duration_seconds_bucket{le="1.0",name="handle",outcome="ok"} 1.0',
        'pmp_timing_duration_seconds_bucket{le="+Inf",name="handle",outcome="ok"} 1.0',
        'pmp_timing_duration_seconds_count{name="handle",outcome="ok"} 1.0',
        'pmp_timing_duration_seconds_sum{name="handle",outcome="ok"} 0.75',
        'pmp_timing_duration_seconds_bucket{le="0.5",name="load",outcome="error"} 0.0',
        'pmp_timing_duration_seconds_bucket{le="1.0",name="load",outcome="error"} 1.0',
        'pmp_timing_duration_seconds_bucket{le="+Inf",name="load",outcome="error"} 1.0',
        'pmp_timing_duration_seconds_count{name="load",outcome="error"} 1.0',
        'pmp_timing_duration_seconds_sum{name="load",outcome="error"} 0.75',
    ]


def test_rejected_results_are_labelled_so(registry):
    """A retried result has error="rejected_result"."""

    @retry(max_attempts=2, delay=0.0, retry_if_result=lambda r: r is None)
    def empty():
        return None

    empty()
    labels = {"function": empty.__qualname__, "error": "rejected_result"}
    assert registry.get_sample_value("pmp_retry_retries_total", labels) == 1.0


def test_threads_count_exactly(registry):
    """8 threads x 50 calls, each failing once: every retry counted."""
    local = threading.local()

    @retry(max_attempts=2, delay=0.0)
    def work() -> None:
        local.calls = getattr(local, "calls", 0) + 1
        if local.calls % 2:
            raise OSError

    def run() -> None:
        for _ in range(50):
            work()

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    labels = {"function": work.__qualname__, "error": "OSError"}
    assert registry.get_sample_value("pmp_retry_retries_total", labels) == 400


def test_tasks_count_exactly(registry):
    """50 concurrent tasks, each failing once: every retry and timing counted."""

    async def no_sleep(_):
        await asyncio.sleep(0)

    @async_retry(max_attempts=2, delay=0.0, sleep=no_sleep)
    @timed(name="step")
    async def step(fails: list[int]) -> None:
        await asyncio.sleep(0)
        if fails:
            fails.pop()
            raise OSError

    async def main() -> None:
        await asyncio.gather(*(step([1]) for _ in range(50)))

    asyncio.run(main())
    get = registry.get_sample_value
    assert get("pmp_retry_retries_total", {"function": step.__qualname__, "error": "OSError"}) == 50
    for outcome in ("ok", "error"):
        labels = {"name": "step", "outcome": outcome}
        assert get("pmp_timing_duration_seconds_count", labels) == 50


def test_default_buckets_are_the_clients():
    """Without buckets the client's default buckets are used."""
    registry = CollectorRegistry()
    with set_instrumentation(PrometheusInstrument(registry=registry)), measure_block("b"):
        pass
    text = generate_latest(registry).decode()
    assert 'le="0.005",name="b"' in text
    assert 'le="10.0",name="b"' in text


def test_registry_is_required_and_checked():
    """A registry must be passed, and must be a CollectorRegistry."""
    with pytest.raises(ValidationError, match="CollectorRegistry"):
        PrometheusInstrument(registry="default")  # type: ignore[arg-type]


def test_registering_twice_on_one_registry_is_refused():
    """Two instruments on one registry would share names: the client refuses the second."""
    registry = CollectorRegistry()
    PrometheusInstrument(registry=registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        PrometheusInstrument(registry=registry)


def test_missing_library_names_the_extra(monkeypatch):
    """Importing the integration without prometheus-client names the extra to install."""
    monkeypatch.setitem(sys.modules, "prometheus_client", None)
    monkeypatch.delitem(sys.modules, "pmp_decorators.integrations.prometheus")
    with pytest.raises(ConfigurationError, match=r"pmp-decorators\[prometheus\]"):
        importlib.import_module("pmp_decorators.integrations.prometheus")


@pytest.mark.parametrize("buckets", [[], [2.0, 1.0], [1.0, 1.0], ["a"], [float("nan")], 0.5])
def test_bad_buckets_are_refused_naming_the_argument(buckets):
    """Buckets must be increasing numbers; anything else raises a ValidationError on buckets."""
    with pytest.raises(ValidationError, match="buckets") as caught:
        PrometheusInstrument(registry=CollectorRegistry(), buckets=buckets)
    assert caught.value.context["field"] == "buckets"
