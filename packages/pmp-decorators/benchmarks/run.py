"""Benchmark pmp_decorators against hand-written references and peer libraries.

Run in an environment with the package and its ``bench`` dependency group installed::

    python packages/pmp-decorators/benchmarks/run.py [--quick] [--json OUT.json]

Every row is measured in one process, all variants interleaved round by round
(``timeit`` for each variant in turn, the order rotating each round, each variant
running about the same wall time); the reported
figure is the median over rounds of the per-round ratio. "overhead" rows compare
the time added to a bare call (variant minus the undecorated call); "whole" rows
compare whole calls. Peer figures are informational; targets apply to pmp only.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import itertools
import json
import logging
import math
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter_ns
from typing import TYPE_CHECKING, Any

import pmp_decorators as pmp

if TYPE_CHECKING:
    from typing_extensions import Self

Measure = Callable[[int], float]
TARGET_SECONDS = 0.04


@dataclass
class Row:
    name: str
    baseline: str
    target: float
    mode: str  # "overhead" or "whole"
    ours: Measure
    reference: Measure
    floor: Measure | None = None
    peers: dict[str, Measure] = field(default_factory=dict)


def timer(stmt: str, **names: Any) -> Measure:
    t = timeit.Timer(stmt, globals=names)
    return t.timeit


def async_timer(func: Callable[[], Any]) -> Measure:
    loop = asyncio.new_event_loop()

    async def drive(n: int) -> None:
        for _ in range(n):
            await func()

    def measure(n: int) -> float:
        start = time.perf_counter()
        loop.run_until_complete(drive(n))
        return time.perf_counter() - start

    return measure


def calibrate(measure: Measure, budget: float) -> int:
    n = 100
    while True:
        elapsed = measure(n)
        if elapsed >= budget / 10 or n >= 10_000_000:
            return max(100, int(n * budget / max(elapsed, 1e-9)))
        n *= 10


def run_row(row: Row, rounds: int, budget: float) -> tuple[float, dict[str, float]]:
    variants: dict[str, Measure] = {"ours": row.ours, "ref": row.reference, **row.peers}
    if row.floor is not None:
        variants["floor"] = row.floor
    counts = {name: calibrate(measure, budget) for name, measure in variants.items()}
    names = list(variants)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        order = names[index % len(names) :] + names[: index % len(names)]
        per_call = {name: variants[name](counts[name]) / counts[name] for name in order}
        base = per_call.get("floor", 0.0) if row.mode == "overhead" else 0.0
        ref = max(per_call["ref"] - base, 1e-12)
        for name in names:
            if name != "floor":
                samples[name].append((per_call[name] - base) / ref)
    ratios = {name: statistics.median(values) for name, values in samples.items() if values}
    return ratios["ours"], {k: v for k, v in ratios.items() if k not in {"ours", "ref"}}


# ---- retry -------------------------------------------------------------------------------


def hand_retry(
    attempts: int = 3,
    delay: float = 1.0,
    backoff: float = 2.0,
    exceptions: tuple[type[BaseException], ...] = (OSError,),
    sleep: Callable[[float], object] = time.sleep,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(attempts):
                try:
                    return func(*args, **kwargs)
                except exceptions:
                    if attempt == attempts - 1:
                        raise
                    sleep(delay * backoff**attempt)
            return None

        return wrapper

    return decorate


def hand_async_retry(
    attempts: int = 3, delay: float = 1.0, backoff: float = 2.0
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            for attempt in range(attempts):
                try:
                    return await func(*args, **kwargs)
                except OSError:
                    if attempt == attempts - 1:
                        raise
                    await asyncio.sleep(delay * backoff**attempt)
            return None

        return wrapper

    return decorate


def noop_sleep(_seconds: float) -> None:
    return None


def retry_rows() -> list[Row]:
    import backoff
    import stamina
    import tenacity

    def work(x: int) -> int:
        return x

    async def awork(x: int) -> int:
        return x

    rows = [
        Row(
            "retry: success path, sync",
            "hand-written try/except loop",
            1.2,
            "overhead",
            timer("f(1)", f=pmp.retry(max_attempts=3, exceptions=(OSError,))(work)),
            timer("f(1)", f=hand_retry()(work)),
            timer("f(1)", f=work),
            {
                "tenacity": timer(
                    "f(1)", f=tenacity.retry(stop=tenacity.stop_after_attempt(3))(work)
                ),
                "stamina": timer("f(1)", f=stamina.retry(on=OSError, attempts=3)(work)),
                "backoff": timer(
                    "f(1)", f=backoff.on_exception(backoff.expo, OSError, max_tries=3)(work)
                ),
            },
        ),
        Row(
            "retry: success path, async",
            "hand-written try/except loop",
            1.2,
            "overhead",
            async_timer(
                functools.partial(pmp.retry(max_attempts=3, exceptions=(OSError,))(awork), 1)
            ),
            async_timer(functools.partial(hand_async_retry()(awork), 1)),
            async_timer(functools.partial(awork, 1)),
            {
                "tenacity": async_timer(
                    functools.partial(tenacity.retry(stop=tenacity.stop_after_attempt(3))(awork), 1)
                ),
                "stamina": async_timer(
                    functools.partial(stamina.retry(on=OSError, attempts=3)(awork), 1)
                ),
                "backoff": async_timer(
                    functools.partial(
                        backoff.on_exception(backoff.expo, OSError, max_tries=3)(awork), 1
                    )
                ),
            },
        ),
    ]

    def flaky_factory() -> Callable[[], int]:
        pattern = itertools.cycle((True, True, False))

        def flaky() -> int:
            if next(pattern):
                raise OSError
            return 1

        return flaky

    rows.append(
        Row(
            "retry: 2 failures then success, no real sleep",
            "hand-written try/except loop",
            2.0,
            "whole",
            timer(  # exact pauses, as the hand-written loop
                "f()",
                f=pmp.retry(max_attempts=3, exceptions=(OSError,), jitter=None, sleep=noop_sleep)(
                    flaky_factory()
                ),
            ),
            timer("f()", f=hand_retry(sleep=noop_sleep)(flaky_factory())),
            None,
            {
                "tenacity": timer(
                    "f()",
                    f=tenacity.retry(
                        stop=tenacity.stop_after_attempt(3),
                        wait=tenacity.wait_exponential(),
                        sleep=noop_sleep,
                    )(flaky_factory()),
                ),
                "backoff (sleep(0))": timer(
                    "f()",
                    f=backoff.on_exception(
                        backoff.constant, OSError, max_tries=3, interval=0, jitter=None
                    )(flaky_factory()),
                ),
            },
        )
    )
    rows.append(
        Row(
            "retry: 2 failures then success, default full jitter",
            "hand-written try/except loop",
            2.5,
            "whole",
            timer(
                "f()",
                f=pmp.retry(max_attempts=3, exceptions=(OSError,), sleep=noop_sleep)(
                    flaky_factory()
                ),
            ),
            timer("f()", f=hand_retry(sleep=noop_sleep)(flaky_factory())),
        )
    )
    rows.append(
        Row(
            "retrying block: 2 failures then success, no real sleep",
            "hand-written try/except loop",
            3.0,
            "whole",
            timer("f()", f=retrying_block(flaky_factory())),
            timer("f()", f=hand_retry(sleep=noop_sleep)(flaky_factory())),
        )
    )
    return rows


def retrying_block(func: Callable[[], int]) -> Callable[[], int]:
    """The block form around ``func``, configured as the decorator rows."""
    block = pmp.retrying(max_attempts=3, exceptions=(OSError,), jitter=None, sleep=noop_sleep)

    def run() -> int:
        for attempt in block:
            with attempt:
                return func()
        raise AssertionError  # unreachable: the loop returns or raises

    return run


# ---- validate_types ----------------------------------------------------------------------


def exact_signature_reference(func: Callable[..., Any]) -> Callable[..., Any]:
    """A wrapper generated with exec for this exact signature, one isinstance per argument."""
    source = (
        "def create_user(name, age, email):\n"
        "    if not isinstance(name, str): raise TypeError('name')\n"
        "    if not isinstance(age, int): raise TypeError('age')\n"
        "    if not isinstance(email, str): raise TypeError('email')\n"
        "    return _f(name, age, email)\n"
    )
    namespace: dict[str, Any] = {"_f": func}
    exec(source, namespace)
    return namespace["create_user"]  # type: ignore[no-any-return]


def validation_rows() -> list[Row]:
    import beartype
    import pydantic
    import typeguard

    def create_user(name: str, age: int, email: str) -> None:
        return None

    ours = pmp.validate_types(name=str, age=int, email=str)(create_user)
    ref = exact_signature_reference(create_user)
    bear = beartype.beartype(create_user)
    guard = typeguard.typechecked(create_user)
    pyd = pydantic.validate_call(create_user)
    pyd_strict = pydantic.validate_call(config={"strict": True})(create_user)
    rows = []
    for label, stmt in (
        ("positional", "f('Ada', 36, 'ada@example.com')"),
        ("keyword", "f(name='Ada', age=36, email='ada@example.com')"),
    ):
        rows.append(
            Row(
                f"validate_types (name: str, age: int, email: str), {label}",
                "exec-generated exact-signature wrapper",
                1.5,
                "overhead",
                timer(stmt, f=ours),
                timer(stmt, f=ref),
                timer(stmt, f=create_user),
                {
                    "beartype": timer(stmt, f=bear),
                    "typeguard": timer(stmt, f=guard),
                    "pydantic": timer(stmt, f=pyd),
                    "pydantic strict": timer(stmt, f=pyd_strict),
                },
            )
        )

    def total(xs: list[int]) -> None:
        return None

    def hand_loop(xs: list[int]) -> None:
        if not isinstance(xs, list):
            raise TypeError
        for x in xs:
            if not isinstance(x, int):
                raise TypeError
        return total(xs)

    data = list(range(100))
    rows.append(
        Row(
            "validate_types list[int] of 100, every item",
            "hand-written isinstance loop",
            1.2,
            "overhead",
            timer("f(xs)", f=pmp.validate_types(xs=list[int])(total), xs=data),
            timer("f(xs)", f=hand_loop, xs=data),
            timer("f(xs)", f=total, xs=data),
            {
                "beartype (one item)": timer("f(xs)", f=beartype.beartype(total), xs=data),
                "typeguard (first item)": timer("f(xs)", f=typeguard.typechecked(total), xs=data),
                "pydantic strict": timer(
                    "f(xs)", f=pydantic.validate_call(config={"strict": True})(total), xs=data
                ),
            },
        )
    )
    return rows


# ---- CachedProperty ----------------------------------------------------------------------


def cached_rows() -> list[Row]:
    class Ours:
        @pmp.CachedProperty
        def value(self) -> int:
            return 1

    class Functools:
        @functools.cached_property
        def value(self) -> int:
            return 1

    class Plain:
        def __init__(self) -> None:
            pass

    ours, ref = Ours(), Functools()
    _ = ours.value, ref.value
    return [
        Row(
            "CachedProperty cached read",
            "functools.cached_property",
            1.05,
            "whole",
            timer("o.value; o.value; o.value; o.value", o=ours),
            timer("o.value; o.value; o.value; o.value", o=ref),
        ),
        Row(
            "CachedProperty first access",
            "functools.cached_property",
            1.0,
            "overhead",
            timer("C().value", C=Ours),
            timer("C().value", C=Functools),
            timer("C()", C=Plain),
        ),
    ]


# ---- timing ------------------------------------------------------------------------------


def hand_timed(logger: logging.Logger, level: int = logging.DEBUG) -> Callable[..., Any]:
    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            start = perf_counter_ns()
            try:
                return func(*args, **kwargs)
            finally:
                elapsed = perf_counter_ns() - start
                if logger.isEnabledFor(level):
                    logger.log(level, "%s took %d ns", func.__name__, elapsed)

        return wrapper

    return decorate


class HandBlock:
    __slots__ = ("elapsed", "logger", "name", "start")

    def __init__(self, name: str, logger: logging.Logger) -> None:
        self.name = name
        self.logger = logger
        self.start = 0
        self.elapsed = 0

    def __enter__(self) -> Self:
        self.start = perf_counter_ns()
        return self

    def __exit__(self, *exc: object) -> None:
        self.elapsed = perf_counter_ns() - self.start
        if self.logger.isEnabledFor(logging.DEBUG):
            self.logger.debug("%s took %d ns", self.name, self.elapsed)


def timing_rows() -> list[Row]:
    import codetiming

    logger = logging.getLogger("bench.quiet")
    logger.setLevel(logging.WARNING)
    logging.getLogger("pmp_decorators.timing").setLevel(logging.WARNING)

    def work(x: int) -> int:
        return x

    @contextlib.contextmanager
    def cm_block() -> Any:
        start = perf_counter_ns()
        yield
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("took %d", perf_counter_ns() - start)

    return [
        Row(
            "timed, logging disabled",
            "hand-written perf_counter_ns wrapper",
            1.2,
            "overhead",
            timer("f(1)", f=pmp.timed(unit="ms", logger=logger)(work)),
            timer("f(1)", f=hand_timed(logger)(work)),
            timer("f(1)", f=work),
            {
                "codetiming Timer(logger=None)": timer(
                    "f(1)", f=codetiming.Timer(logger=None)(work)
                ),
                "codetiming, disabled logging logger": timer(
                    "f(1)", f=codetiming.Timer(logger=logger.debug)(work)
                ),
            },
        ),
        Row(
            "measure_block, logging disabled",
            "hand-written __slots__ context manager",
            1.2,
            "overhead",
            timer("with B('x'):\n    pass", B=pmp.measure_block),
            timer("with B('x', lg):\n    pass", B=HandBlock, lg=logger),
            timer("pass"),
            {
                "codetiming with Timer()": timer(
                    "with T(logger=None):\n    pass", T=codetiming.Timer
                ),
                "contextlib.contextmanager": timer("with cm():\n    pass", cm=cm_block),
            },
        ),
    ]


# ---- instrumentation --------------------------------------------------------------------


def toggled(measure: Measure, on: Callable[[], Callable[[], object]]) -> Measure:
    """``measure`` with a process-wide setting switched on around it (``on`` returns the undo)."""

    def run(n: int) -> float:
        undo = on()
        try:
            return measure(n)
        finally:
            undo()

    return run


def otel_instrument() -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider

    from pmp_decorators.integrations.opentelemetry import OpenTelemetryInstrument

    tracer_provider = TracerProvider()  # spans recorded, not exported
    meter_provider = MeterProvider(metric_readers=[InMemoryMetricReader()])
    instrument = OpenTelemetryInstrument(
        tracer_provider=tracer_provider, meter_provider=meter_provider
    )
    return instrument, tracer_provider.get_tracer("bench")


def instrumentation_rows() -> list[Row]:
    import prometheus_client
    import stamina
    import stamina.instrumentation

    from pmp_decorators.instrumentation import set_instrumentation
    from pmp_decorators.integrations.logging import LoggingInstrument
    from pmp_decorators.integrations.prometheus import PrometheusInstrument

    otel, tracer = otel_instrument()
    prometheus = PrometheusInstrument(registry=prometheus_client.CollectorRegistry())
    quiet = logging.getLogger("bench.quiet")
    quiet.setLevel(logging.CRITICAL)
    logging_instrument = LoggingInstrument(quiet)

    def install(*instruments: Any) -> Callable[[], Callable[[], object]]:
        return lambda: set_instrumentation(*instruments).restore

    def stamina_on() -> Callable[[], object]:
        # stamina's own instrumentation: Prometheus counter and logging, no waiting
        logging.getLogger("stamina").setLevel(logging.CRITICAL)
        stamina.instrumentation.set_on_retry_hooks(
            [
                stamina.instrumentation.PrometheusOnRetryHook,
                stamina.instrumentation.LoggingOnRetryHook,
            ]
        )
        restore = stamina.set_testing(True, attempts=3)

        def undo() -> None:
            restore.__exit__(None, None, None)
            stamina.instrumentation.set_on_retry_hooks(())

        return undo

    def work(x: int) -> int:
        return x

    def flaky_factory() -> Callable[[], int]:
        pattern = itertools.cycle((True, True, False))

        def flaky() -> int:
            if next(pattern):
                raise OSError
            return 1

        return flaky

    def retried(**kwargs: Any) -> Callable[[], int]:
        return pmp.retry(max_attempts=3, exceptions=(OSError,), sleep=noop_sleep, **kwargs)(
            flaky_factory()
        )

    in_span = "with span('request'):\n    f()"
    success = pmp.retry(max_attempts=3, exceptions=(OSError,))(work)
    timed_work = pmp.timed(unit="ms", logger=quiet)(work)
    set_instrumentation(otel).restore()  # installed once, then turned off again
    return [
        Row(
            "retry: success path, sync, OpenTelemetry instrument on",
            "hand-written try/except loop",
            1.2,
            "overhead",
            toggled(timer("f(1)", f=success), install(otel)),
            timer("f(1)", f=hand_retry()(work)),
            timer("f(1)", f=work),
            {"pmp, instrumentation turned off": timer("f(1)", f=success)},
        ),
        Row(
            "timed, logging disabled, instrumentation turned off",
            "hand-written perf_counter_ns wrapper",
            1.2,
            "overhead",
            timer("f(1)", f=timed_work),
            timer("f(1)", f=hand_timed(quiet)(work)),
            timer("f(1)", f=work),
        ),
        Row(
            "retry: 2 failures then success in a span, OpenTelemetry SDK on",
            "hand-written loop in the same span",
            math.inf,
            "whole",
            toggled(timer(in_span, f=retried(), span=tracer.start_as_current_span), install(otel)),
            timer(
                in_span,
                f=hand_retry(sleep=noop_sleep)(flaky_factory()),
                span=tracer.start_as_current_span,
            ),
            None,
            {
                "pmp, instruments off": timer(
                    in_span, f=retried(), span=tracer.start_as_current_span
                ),
                "pmp, Prometheus instrument": toggled(
                    timer(in_span, f=retried(), span=tracer.start_as_current_span),
                    install(prometheus),
                ),
                "pmp, logging instrument (level disabled)": toggled(
                    timer(in_span, f=retried(), span=tracer.start_as_current_span),
                    install(logging_instrument),
                ),
                "stamina, its Prometheus + logging hooks": toggled(
                    timer(
                        in_span,
                        f=stamina.retry(on=OSError, attempts=3)(flaky_factory()),
                        span=tracer.start_as_current_span,
                    ),
                    stamina_on,
                ),
            },
        ),
        Row(
            "timed call, OpenTelemetry SDK on (span + histogram)",
            "hand-written perf_counter_ns wrapper",
            math.inf,
            "whole",
            toggled(timer("f(1)", f=timed_work), install(otel)),
            timer("f(1)", f=hand_timed(quiet)(work)),
            None,
            {
                "pmp, Prometheus instrument": toggled(
                    timer("f(1)", f=timed_work), install(prometheus)
                ),
                "a bare OpenTelemetry span around the call": timer(
                    "with span('work'):\n    f(1)", f=work, span=tracer.start_as_current_span
                ),
            },
        ),
    ]


# ---- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds (~20 s)")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    parser.add_argument("--only", metavar="TEXT", help="run only the rows whose name has TEXT")
    args = parser.parse_args()
    rounds, budget = (7, 0.01) if args.quick else (25, TARGET_SECONDS)
    rows = [
        *retry_rows(),
        *validation_rows(),
        *cached_rows(),
        *timing_rows(),
        *instrumentation_rows(),
    ]
    if args.only:
        rows = [row for row in rows if args.only in row.name]
    results = []
    peers = []
    python = platform.python_version()
    print(f"pmp-decorators benchmark, Python {python}, {rounds} interleaved rounds, medians")
    print(f"{'row':<58} {'ratio':>7}  {'target':<8} met")
    for row in rows:
        ratio, peer_ratios = run_row(row, rounds, budget)
        met = ratio <= row.target
        target = f"<= {row.target:g}x" if row.target < math.inf else "-"
        results.append(
            {
                "name": row.name,
                "baseline": row.baseline,
                "ratio": round(ratio, 3),
                "target": target,
                "met": met,
            }
        )
        print(f"{row.name:<58} {ratio:>6.2f}x  {target:<8} {'yes' if met else 'NO'}")
        for peer, peer_ratio in peer_ratios.items():
            peers.append({"row": row.name, "peer": peer, "ratio": round(peer_ratio, 3)})
            print(f"    {peer:<54} {peer_ratio:>6.2f}x")
        sys.stdout.flush()
    if args.json:
        payload = {
            "package": "pmp-decorators",
            "python": python,
            "date": dt.datetime.now(tz=dt.timezone.utc).date().isoformat(),
            "rows": results,
            "peers": peers,
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
