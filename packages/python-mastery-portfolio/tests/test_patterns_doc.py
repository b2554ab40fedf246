"""Every code example of the patterns document runs as written against the meta-package.

The document (``patterns.md``) is kept verbatim; its examples use a few names they never define
(``user_age``, ``DatabaseService``, …). The preludes below define exactly those names, the way a
reader's own program would, and each example then runs unchanged, in order, in one namespace.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import re
from pathlib import Path
from typing import Any

import pytest

import python_mastery_portfolio as pmp

DOC = Path(__file__).with_name("patterns.md")
_HERE = Path(__file__).resolve()
ORIGINAL = _HERE.parents[min(4, len(_HERE.parents) - 1)] / "shared/seed/000_d8e9abb8c4bc545b.txt"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks() -> list[str]:
    return BLOCK.findall(DOC.read_text(encoding="utf-8"))


class DatabaseService:
    def __init__(self, connection_string: str = "sqlite://") -> None:
        self.connection_string = connection_string

    def query(self) -> list[str]:
        return [f"row from {self.connection_string}"]


class RequestService:
    pass


class Config:
    pass


class Service:
    def __init__(self, config: Config) -> None:
        self.config = config


class User:
    pass


def _prelude() -> dict[str, Any]:
    """Names the examples use without defining them."""

    async def fetch_user_data(user_id: int) -> dict[str, int]:
        await asyncio.sleep(0)
        return {"id": user_id}

    def process_row(data: object, index: int) -> None:
        raise ValueError(f"row {index} is malformed: {data!r}")

    return {
        "__name__": "patterns_doc",
        "os": os,
        "user_age": -5,
        "DatabaseService": DatabaseService,
        "RequestService": RequestService,
        "Config": Config,
        "Service": Service,
        "User": User,
        "my_object": pmp.ValidationError("an error is Serializable"),
        "fetch_user_data": fetch_user_data,
        "process_large_dataset": lambda: sum(range(1000)),
        "load_large_ml_model": lambda: {"weights": [0.5]},
        "process_row": process_row,
        "data": {"id": 42},
        "user_requests": {"u1": 101},
        "LIMIT": 100,
    }


def test_document_is_the_original() -> None:
    """The kept copy equals the original document when that is at hand."""
    if not ORIGINAL.is_file():
        pytest.skip("the original patterns document is not beside this checkout")
    assert DOC.read_text(encoding="utf-8") == ORIGINAL.read_text(encoding="utf-8")


def test_every_example_runs_as_written(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """All examples run in order; their visible results are the documented ones."""
    blocks = _blocks()
    assert len(blocks) >= 20
    monkeypatch.delenv("API_KEY", raising=False)
    ns = _prelude()
    raised: dict[int, BaseException] = {}
    for index, source in enumerate(blocks):
        try:
            exec(compile(source, f"patterns.md block {index}", "exec"), ns)  # noqa: S102
        except pmp.PortfolioError as exc:
            raised[index] = exc
    out = capsys.readouterr().out
    # Section 1: the ValidationError was caught and rendered.
    assert "'field': 'age'" in out
    assert "'value': -5" in out
    # Section 3: Result, Container and Pipeline give the documented values.
    assert "5.0" in out
    assert ns["result"] == 169
    assert ns["int_container"].map(lambda x: x * 2).value == 84
    # Section 3.4: the error satisfies the protocol and was serialised.
    assert ns["data"]["message"] == "an error is Serializable"
    # Section 4: the cache and its statistics.
    assert ns["value"] == 42
    assert "Hit rate: 100.00%" in out
    # Section 5: singleton and transient lifecycles, factories and injection.
    container = ns["container"]
    assert ns["db"] is not ns["req"]
    assert isinstance(container.resolve(DatabaseService), DatabaseService)
    container.register(Config)  # the document's factory needs a Config: register one
    assert isinstance(container.resolve(Service).config, Config)
    assert ns["process_data"]() == ["row from postgresql://..."]
    # Section 9: the last examples raise the documented errors.
    errors = [type(exc).__name__ for exc in raised.values()]
    assert errors == ["DataProcessingError", "ConfigurationError"]
    assert isinstance(next(iter(raised.values())).__cause__, ValueError)
    with pytest.raises(pmp.RateLimitError) as limited:
        ns["check_rate_limit"]("u1")
    assert limited.value.retry_after == 60.0
    _exercise_definitions(ns)


def _exercise_definitions(ns: dict[str, Any]) -> None:
    """Call what the examples only define, so that the decorators really ran."""
    assert ns["unstable_operation"]() is None
    assert asyncio.run(ns["async_unstable_operation"]()) is None
    logging.getLogger().setLevel(logging.DEBUG)
    assert ns["slow_function"]() is None
    assert ns["create_user"]("ann", 33, "ann@example.com") is None
    with pytest.raises(pmp.ValidationError):
        ns["create_user"]("ann", "33", "ann@example.com")
    assert ns["ExpensiveComputation"]().result == sum(range(1000000))
    assert ns["DataProcessor"]().model == {"weights": [0.5]}
    assert ns["expensive_computation"](10) == 45
    assert ns["expensive_computation"](10) == 45
    assert ns["expensive_computation"].cache_stats()["hits"] == 1
    assert asyncio.run(ns["async_expensive_operation"](7)) == {"id": 7}
    assert ns["divide"](1, 0).error == "Cannot divide by zero"
    assert ns["apply_transform"]([1, 2], lambda x: x + 1) == [2, 3]
    assert inspect.isclass(ns["Repository"])
