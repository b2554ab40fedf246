"""Types users see from as_result on sync and async functions."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from typing_extensions import assert_type

from pmp_typing import Outcome, as_result


@as_result(ValueError)
def parse(text: str, *, base: int = 10) -> int:
    return int(text, base)


@as_result(KeyError, IndexError)
def pick(data: dict[str, list[int]], key: str, index: int) -> int:
    return data[key][index]


@as_result(KeyError, IndexError, ZeroDivisionError)
def ratio(data: dict[str, int], key: str) -> float:
    return 1 / data[key]


@as_result(ValueError)
async def parse_async(text: str) -> int:
    return int(text)


assert_type(parse("1"), Outcome[int, ValueError])
assert_type(parse("ff", base=16), Outcome[int, ValueError])
assert_type(pick({}, "k", 0), Outcome[int, KeyError | IndexError])
assert_type(ratio({}, "k"), Outcome[float, KeyError | IndexError | ZeroDivisionError])
pending = assert_type(parse_async("1"), Coroutine[Any, Any, Outcome[int, ValueError]])
pending.close()


async def use() -> None:
    assert_type(await parse_async("1"), Outcome[int, ValueError])


async def _parse_text(text: str) -> int:
    return int(text)


def parse_via_plain(text: str) -> Coroutine[Any, Any, int]:
    return _parse_text(text)


async def use_plain() -> None:
    wrapped = as_result(ValueError)(parse_via_plain)
    assert_type(await wrapped("1"), Outcome[int, ValueError])
