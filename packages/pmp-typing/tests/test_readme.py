"""Every Python example in the package README runs as written.

The README is read from the installed distribution's metadata (it is the long description),
so this also checks what users see on the package index.
"""

from __future__ import annotations

import re
import sys
import types
from importlib.metadata import metadata

import pytest

BLOCKS = re.findall(
    r"^```python\n(.*?)^```",
    metadata("pmp-typing").get_payload(),  # type: ignore[attr-defined]
    re.MULTILINE | re.DOTALL,
)


def test_readme_has_examples() -> None:
    """The README shows several examples."""
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(source: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each README example runs without error in a fresh module, as a script would."""
    module = types.ModuleType("readme_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(source, "README.md", "exec"), module.__dict__)  # noqa: S102
