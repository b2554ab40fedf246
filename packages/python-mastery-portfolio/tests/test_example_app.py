"""The example application runs and shows every part of the family working together."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pmp_decorators import set_retry_testing

if TYPE_CHECKING:
    from types import ModuleType

APP = Path(__file__).resolve().parent.parent / "examples" / "orders_app.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orders_app", APP)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["orders_app"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def app(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    if not APP.is_file():
        pytest.skip("the examples folder is not beside these tests")
    monkeypatch.delenv("REDIS_URL", raising=False)
    monkeypatch.delitem(sys.modules, "orders_app", raising=False)
    return _load()


def test_example_app_imports_orders(app: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    """The app retries (honouring retry_after), caches, validates and reports problems."""
    with set_retry_testing():
        assert app.main() == 0
    out = capsys.readouterr().out
    assert "attempt 1 failed (ConnectionError); retrying in 0.01 s" in out
    assert "attempt 2 failed (RateLimitError); retrying in 0.05 s" in out
    assert "imported 3 orders; upstream called 4 times" in out
    assert "page cache: 1 hit(s), 2 miss(es)" in out
    problems = json.loads(out[out.index("[\n") :])
    assert [(p["code"], p["status"]) for p in problems] == [
        ("validation_error", 422),
        ("data_processing_error", 500),
    ]
    assert problems[0]["field"] == "customer"
    assert problems[0]["instance"] == "/pages/2/rows/0"
    assert "step" not in problems[0]
    assert "invalid literal" not in json.dumps(problems)  # a 5xx detail stays generic


def test_example_app_logs_the_full_records(app: ModuleType) -> None:
    """The operators' log keeps what clients never see: the step and the cause."""
    importer = app.make_container().resolve(app.OrderImporter)
    with set_retry_testing():
        importer.import_page(2)
    steps = [record["context"]["step"] for record in importer.log]
    assert steps == ["validate", "convert"]
    assert importer.log[1]["cause"]["type"] == "ValueError"


def test_example_app_explains_its_graph(app: ModuleType) -> None:
    """The container validates and explains how the importer is built."""
    tree = app.make_container().explain(app.OrderImporter)
    assert "UpstreamClient" in tree
    assert "singleton" in tree


def test_make_order_rejects_bad_types(app: ModuleType) -> None:
    """Records are type-checked at run time."""
    from pmp_errors import ValidationError

    with pytest.raises(ValidationError):
        app.make_order("1", "Ann", 1.0)
