"""Every Python example in the READMEs and the documentation runs as written.

Package READMEs are read from the installed distributions' metadata (they are the long
descriptions users see on the package index); the repository README and the docs pages are
read from the checkout when it is beside these tests.
"""

from __future__ import annotations

import re
import sys
import types
from importlib.metadata import metadata
from pathlib import Path

import pytest

DISTRIBUTIONS = [
    "pmp-errors",
    "pmp-typing",
    "pmp-decorators",
    "pmp-cache",
    "pmp-di",
    "pmp-ratelimit",
    "python-mastery-portfolio",
]
REPO = Path(__file__).resolve().parents[3]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _examples() -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for dist in DISTRIBUTIONS:
        readme = metadata(dist).get_payload()  # type: ignore[attr-defined]
        found += [(f"{dist} README", block) for block in BLOCK.findall(readme)]
    pages = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md"))]
    for page in pages:
        if page.is_file():
            text = page.read_text(encoding="utf-8")
            name = str(page.relative_to(REPO))
            found += [(name, block) for block in BLOCK.findall(text)]
    return found


EXAMPLES = _examples()


def test_every_package_readme_has_examples() -> None:
    """Each package README shows at least one runnable example."""
    sources = {source for source, _ in EXAMPLES}
    for dist in DISTRIBUTIONS:
        assert f"{dist} README" in sources


@pytest.mark.parametrize(
    ("source", "code"), EXAMPLES, ids=[f"{s}#{i}" for i, (s, _) in enumerate(EXAMPLES)]
)
def test_example_runs(source: str, code: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The example runs without error in a fresh module, as a script would."""
    module = types.ModuleType("example")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    exec(compile(code, source, "exec"), module.__dict__)  # noqa: S102
