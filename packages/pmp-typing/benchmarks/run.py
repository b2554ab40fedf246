"""Benchmark pmp_typing against result, returns, Expression and toolz, interleaved in one run.

Usage: python packages/pmp-typing/benchmarks/run.py [--quick] [--json OUT.json]
Each row times our variant, its baseline and the other libraries taking turns within
each round (best of 3 per variant) and reports the median of the per-round ratios
(variant / baseline).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import timeit
from dataclasses import dataclass
from typing import TYPE_CHECKING

import expression
import result as rs
import returns.pipeline
import returns.result as rt
import toolz

from pmp_typing import Failure, Pipeline, Result, Success, as_result

if TYPE_CHECKING:
    from collections.abc import Callable


@dataclass
class Row:
    name: str
    ours: Callable[[], object]
    baseline_name: str
    baseline: Callable[[], object]
    limit: float
    extra: dict[str, Callable[[], object]]


def inc(x: int) -> int:
    return x + 1


def dbl(x: int) -> int:
    return x * 2


def sq(x: int) -> int:
    return x * x


def parse(text: str) -> int:
    return int(text)


@as_result(ValueError)
def parse_ours(text: str) -> int:
    return int(text)


def parse_hand(text: str) -> Result[int, ValueError]:
    try:
        return Success(parse(text))
    except ValueError as exc:
        return Failure(exc)


@rs.as_result(ValueError)
def parse_rs(text: str) -> int:
    return int(text)


@returns.result.safe(exceptions=(ValueError,))
def parse_rt(text: str) -> int:
    return int(text)


def rows() -> list[Row]:
    ok_ours = Result.success(3)
    ok_rs = rs.Ok(3)
    ok_rt = rt.Success(3)
    ok_ex = expression.Ok(3)
    err_ours = Result.failure("e")
    err_rs = rs.Err("e")

    def ok_ours_chain() -> object:
        return ok_ours.map(inc).map(dbl).map(sq)

    def ok_rs_chain() -> object:
        return ok_rs.map(inc).map(dbl).map(sq)

    def bind_ours() -> object:
        return ok_ours.and_then(Success).and_then(Success).and_then(Success)

    def bind_rs() -> object:
        return ok_rs.and_then(rs.Ok).and_then(rs.Ok).and_then(rs.Ok)

    built = Pipeline(5).add(inc).add(dbl).add(sq)

    def loop() -> object:
        # the honest equivalent of building and running: the steps are gathered on each call
        x = 5
        for f in [inc, dbl, sq]:
            x = f(x)
        return x

    funcs = (inc, dbl, sq)

    def loop_prebuilt() -> object:
        # shown for reference: this loop does not build anything
        x = 5
        for f in funcs:
            x = f(x)
        return x

    class Holder:
        __slots__ = ("attr",)

        def __init__(self) -> None:
            self.attr = 1

    holder = Holder()

    return [
        Row(
            "Result.success(v)",
            lambda: Result.success(1),
            "result Ok(v)",
            lambda: rs.Ok(1),
            1.1,
            {
                "returns Success(v)": lambda: rt.Success(1),
                "Expression Ok(v)": lambda: expression.Ok(1),
            },
        ),
        Row(
            "map x3 (success)",
            ok_ours_chain,
            "result map x3",
            ok_rs_chain,
            1.1,
            {
                "returns map x3": lambda: ok_rt.map(inc).map(dbl).map(sq),
                "Expression map x3": lambda: ok_ex.map(inc).map(dbl).map(sq),
            },
        ),
        Row(
            "and_then x3 (success)",
            bind_ours,
            "result and_then x3",
            bind_rs,
            1.1,
            {"returns bind x3": lambda: ok_rt.bind(rt.Success).bind(rt.Success).bind(rt.Success)},
        ),
        Row(
            "map (failure short-circuit)",
            lambda: err_ours.map(inc),
            "result Err.map",
            lambda: err_rs.map(inc),
            1.1,
            {"slot attribute read": lambda: holder.attr},
        ),
        Row(
            "as_result, success path",
            lambda: parse_ours("12"),
            "hand-written try/except",
            lambda: parse_hand("12"),
            1.1,
            {"result @as_result": lambda: parse_rs("12"), "returns @safe": lambda: parse_rt("12")},
        ),
        Row(
            "as_result, failure path",
            lambda: parse_ours("x"),
            "hand-written try/except",
            lambda: parse_hand("x"),
            1.1,
            {"result @as_result": lambda: parse_rs("x"), "returns @safe": lambda: parse_rt("x")},
        ),
        Row(
            "pre-built 3-step Pipeline.execute()",
            built.execute,
            "toolz.pipe",
            lambda: toolz.pipe(5, inc, dbl, sq),
            1.0,
            {
                "returns flow": lambda: returns.pipeline.flow(5, inc, dbl, sq),
                "expression.pipe": lambda: expression.pipe(5, inc, dbl, sq),
            },
        ),
        Row(
            "build + run 3-step Pipeline",
            lambda: Pipeline(5).add(inc).add(dbl).add(sq).execute(),
            "loop over a fresh list",
            loop,
            4.0,
            {"loop over a pre-built tuple": loop_prebuilt},
        ),
    ]


def measure_round(variants: dict[str, Callable[[], object]], number: int) -> dict[str, float]:
    """Time every variant ``REPEAT`` times, taking turns, and keep each one's best (s/call).

    Taking turns within a round keeps a burst of load on the shared machine from
    landing on one variant only.
    """
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(REPEAT):
        for name, fn in variants.items():
            best[name] = min(best[name], timeit.timeit(fn, number=number))
    return {name: t / number for name, t in best.items()}


REPEAT = 3


def run(*, quick: bool) -> list[dict[str, object]]:
    rounds, number = (7, 10_000) if quick else (21, 20_000)
    out: list[dict[str, object]] = []
    for row in rows():
        ratios: list[float] = []
        extra: dict[str, list[float]] = {name: [] for name in row.extra}
        ours_ns: list[float] = []
        variants = {"<ours>": row.ours, "<baseline>": row.baseline, **row.extra}
        for _ in range(rounds):
            times = measure_round(variants, number)
            base = times["<baseline>"]
            ours_ns.append(times["<ours>"] * 1e9)
            ratios.append(times["<ours>"] / base)
            for name in row.extra:
                extra[name].append(times[name] / base)
        ratio = statistics.median(ratios)
        out.append(
            {
                "name": row.name,
                "baseline": row.baseline_name,
                "ratio": round(ratio, 3),
                "target": f"<= {row.limit}x",
                "met": ratio <= row.limit,
                "ours_ns": round(statistics.median(ours_ns), 1),
                "others": {name: round(statistics.median(v), 3) for name, v in extra.items()},
            }
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under ~20 s)")
    parser.add_argument("--json", metavar="OUT", help="also write the rows as JSON")
    args = parser.parse_args()
    results = run(quick=args.quick)
    print(f"pmp-typing benchmark, Python {platform.python_version()}, ratio = ours / baseline")
    header = (
        f"{'operation':38} {'baseline':26} {'ratio':>7} {'target':>8}  met  others (/ baseline)"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        others_map: dict[str, float] = r["others"]  # type: ignore[assignment]
        others = ", ".join(f"{k} {v:.2f}" for k, v in others_map.items())
        print(
            f"{r['name']:38} {r['baseline']:26} {r['ratio']:>7.2f} {r['target']:>8}  "
            f"{'yes' if r['met'] else 'NO ':3}  {others}"
        )
    if args.json:
        payload = {
            "package": "pmp-typing",
            "python": platform.python_version(),
            "date": dt.datetime.now(tz=dt.timezone.utc).date().isoformat(),
            "rows": results,
        }
        with open(args.json, "w", encoding="utf-8") as fh:  # noqa: PTH123
            json.dump(payload, fh, indent=2)


if __name__ == "__main__":
    main()
