"""A griffe extension for the docs: render docstring doctest examples as code blocks.

Docstrings here show usage as plain ``>>>`` sessions; Markdown would read those lines as a
block quote (and ``["key"]`` in them as a link), so each run of ``>>>``/``...`` lines and its
output is wrapped in a ``pycon`` fence before mkdocstrings renders it.
"""

from __future__ import annotations

from typing import Any

import griffe

__all__ = ["DoctestFences", "fence_doctests"]


def fence_doctests(text: str) -> str:
    """Wrap every doctest session (prompt lines plus their output) in a ``pycon`` fence."""
    out: list[str] = []
    in_session = False
    in_fence = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if not in_fence and not in_session and stripped.startswith(">>>"):
            out.append("```pycon")
            in_session = True
        elif in_session and not stripped:
            out.append("```")
            in_session = False
        out.append(line)
    if in_session:
        out.append("```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctest sessions of every docstring that griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:  # noqa: ARG002
        """Rewrite the object's docstring in place."""
        if obj.docstring is not None:
            obj.docstring.value = fence_doctests(obj.docstring.value)
