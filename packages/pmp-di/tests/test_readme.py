"""The README's examples run as written, and its cleanup pattern holds when a body raises."""

from __future__ import annotations

import re
import sys
import types
from importlib.metadata import metadata
from pathlib import Path
from typing import Any

import pytest

from pmp_di import DIContainer, LifecycleScope

README = Path(__file__).resolve().parents[1] / "README.md"  # in the checkout
TEXT = (  # else the installed wheel's long description
    README.read_text(encoding="utf-8")
    if README.is_file()
    else str(metadata("pmp-di").get_payload())  # type: ignore[attr-defined]
)
BLOCKS = re.findall(r"^```python\n(.*?)^```", TEXT, re.MULTILINE | re.DOTALL)


def run_block(code: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    module = types.ModuleType("readme_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, str(README), "exec"), module.__dict__)  # noqa: S102 - the README's own code
    return module.__dict__


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each python block of the README runs in a fresh module."""
    run_block(code, monkeypatch)


def test_readme_cleanup_runs_when_the_scope_body_raises(monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's generator factory, exactly as written, cleans up after a failing body."""
    block = next(b for b in BLOCKS if "def session_factory" in b)
    namespace = run_block(block, monkeypatch)
    container = DIContainer().register(
        namespace["Session"], factory=namespace["session_factory"], scope=LifecycleScope.SCOPED
    )
    session = None
    with pytest.raises(RuntimeError, match="request failed"), container.scope() as scope:
        session = scope.resolve(namespace["Session"])
        raise RuntimeError("request failed")
    assert session is not None
    assert not session.open
