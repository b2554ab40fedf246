"""Reading signatures and annotations, including names that exist only for type checkers.

On Python 3.14+ annotations are evaluated lazily (PEP 649/749) and read here through
``annotationlib`` in the ``FORWARDREF`` format, so that a name imported only under
``TYPE_CHECKING`` never breaks the reading of the others. Elsewhere string
annotations (``from __future__ import annotations``) are evaluated one by one.
"""

from __future__ import annotations

import inspect
import sys
import typing
from typing import Any

__all__ = ["Unresolved", "read_hints", "signature"]


class Unresolved:
    """An annotation that cannot be evaluated where the container reads it."""

    __slots__ = ("reason", "text")

    def __init__(self, text: str, reason: str) -> None:
        self.text = text
        self.reason = reason

    def __eq__(self, other: object) -> bool:
        return type(other) is Unresolved and other.text == self.text

    def __hash__(self) -> int:
        return hash((Unresolved, self.text))

    def __repr__(self) -> str:
        return self.text


if sys.version_info >= (3, 14):
    import annotationlib

    def signature(obj: Any) -> inspect.Signature:
        """``inspect.signature`` leaving names it cannot evaluate as forward references."""
        return inspect.signature(obj, annotation_format=annotationlib.Format.FORWARDREF)

    def _evaluate_ref(ref: Any, namespace: dict[str, Any]) -> Any:
        del namespace  # the reference carries its own globals and owner
        return ref.evaluate()

else:

    def signature(obj: Any) -> inspect.Signature:
        """``inspect.signature`` (annotations are evaluated eagerly before 3.14)."""
        return inspect.signature(obj)

    def _evaluate_ref(ref: Any, namespace: dict[str, Any]) -> Any:
        return eval(ref.__forward_arg__, namespace)  # noqa: S307 - a source annotation


def _evaluate(annotation: Any, namespace: dict[str, Any]) -> Any:
    """One annotation's value, or ``Unresolved`` naming what could not be read."""
    if isinstance(annotation, str):
        try:
            return eval(annotation, namespace)  # noqa: S307 - a source annotation, as typing.get_type_hints does
        except Exception as exc:  # noqa: BLE001 - any failure leaves the annotation unread
            return Unresolved(annotation, f"{type(exc).__name__}: {exc}")
    if isinstance(annotation, typing.ForwardRef):  # annotationlib's FORWARDREF format
        text = annotation.__forward_arg__
        try:
            return _evaluate_ref(annotation, namespace)
        except Exception as exc:  # noqa: BLE001
            return Unresolved(text, f"{type(exc).__name__}: {exc}")
    return annotation


def read_hints(target: Any, sig: inspect.Signature) -> dict[str, Any]:
    """Parameter annotations by name; each one that cannot be read is ``Unresolved``.

    A return annotation or a parameter naming a type imported only under
    ``TYPE_CHECKING`` must not stop the other parameters from being read.
    """
    try:
        return typing.get_type_hints(target, include_extras=True)
    except Exception:  # noqa: BLE001, S110 - read each annotation on its own below
        pass
    namespace = dict(getattr(inspect.unwrap(target), "__globals__", {}))
    return {name: _evaluate(p.annotation, namespace) for name, p in sig.parameters.items()}
