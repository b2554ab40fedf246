"""The README's examples and the docstrings' examples run as written."""

import doctest
import re
import sys
import types
from importlib.metadata import metadata

import pytest

import pmp_typing
from pmp_typing import _catch, _container, _errors, _pipeline, _protocols, _result

BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)
# the README as users see it: the installed distribution's long description
BLOCKS = BLOCK.findall(metadata("pmp-typing").get_payload())  # type: ignore[attr-defined]


def test_readme_has_examples() -> None:
    """The installed README carries its examples (a README without them tests nothing)."""
    assert len(BLOCKS) >= 5


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each README example runs in a fresh module, as a script would."""
    module = types.ModuleType("readme_example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, "pmp-typing README", "exec"), module.__dict__)  # noqa: S102


@pytest.mark.parametrize(
    "module", [pmp_typing, _catch, _container, _errors, _pipeline, _protocols, _result]
)
def test_docstring_examples_pass(module: types.ModuleType) -> None:
    """The examples in the docstrings run and print what they show."""
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
