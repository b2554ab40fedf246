"""Types users see from Pipeline: each add changes the output type."""

from __future__ import annotations

from typing_extensions import assert_type

from pmp_errors import PortfolioError
from pmp_typing import Outcome, Pipeline

result = Pipeline(5).add(lambda x: x * 2).add(lambda x: x + 3).add(lambda x: x**2).execute()
assert_type(result, int)

p0 = Pipeline("7")
assert_type(p0, Pipeline[str, str])
p1 = p0.add(int, name="parse")
assert_type(p1, Pipeline[str, int])
p2 = p1.add(lambda n: [n] * n)
assert_type(p2, Pipeline[str, list[int]])
assert_type(p2.execute(), list[int])
assert_type(p2.run("3"), list[int])
assert_type(p2.execute_result(), Outcome[list[int], PortfolioError])
assert_type(p2.run_result("3"), Outcome[list[int], PortfolioError])


async def fetch(n: int) -> str:
    return str(n)


async def use_async() -> None:
    p3 = p1.add_async(fetch).add(str.upper)
    assert_type(p3, Pipeline[str, str])
    assert_type(await p3.execute_async(), str)
    assert_type(await p3.run_async("1"), str)
