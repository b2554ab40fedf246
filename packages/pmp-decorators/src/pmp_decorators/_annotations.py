"""Read a function's annotations and resolve them to types, never failing on a missing name.

Names that cannot be resolved (classes imported only under ``if TYPE_CHECKING:``)
become :class:`~pmp_decorators._types.Unresolved` placeholders, so the rest of
the annotation is still checked. Names in the scope of the class that defines a
method resolve too. On Python 3.14+ annotations are read through ``annotationlib``
(PEP 649/749), so a missing name never raises while they are read.
"""

from __future__ import annotations

import builtins
import sys
import typing
from typing import TYPE_CHECKING, Any

from pmp_decorators._nodes import safe_repr
from pmp_decorators._types import Unresolved

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "UnresolvedAnnotationWarning",
    "annotated_function",
    "raw_annotations",
    "resolve_annotations",
]


class UnresolvedAnnotationWarning(UserWarning):
    """An annotation names something that cannot be resolved, so that part is not checked.

    Typical cause: a class imported only under ``if TYPE_CHECKING:`` together with
    ``from __future__ import annotations``. Issued once per function, at its first call.

    >>> import warnings
    >>> with warnings.catch_warnings():  # when skipping those names is intended
    ...     warnings.simplefilter("ignore", UnresolvedAnnotationWarning)
    """


def raw_annotations(func: Callable[..., Any]) -> dict[str, Any]:
    """The annotations as written: strings, objects, or (3.14+) forward references."""
    if sys.version_info >= (3, 14):  # pragma: no cover - exercised on Python 3.14 only
        import annotationlib

        return dict(annotationlib.get_annotations(func, format=annotationlib.Format.FORWARDREF))
    return dict(getattr(func, "__annotations__", None) or {})


def _class_namespace(func: Callable[..., Any], globalns: dict[str, Any]) -> dict[str, Any]:
    """The names of the classes enclosing a method (``Outer.Inner.method``), innermost last."""
    qualname = getattr(func, "__qualname__", "")
    parts = qualname.split(".")[:-1]
    if "<locals>" in parts:  # a function's local classes cannot be reached afterwards
        return {}
    namespace: dict[str, Any] = {}
    owner: object = None
    for part in parts:
        owner = globalns.get(part) if owner is None else getattr(owner, part, None)
        if not isinstance(owner, type):
            break
        namespace.update(
            (name, value) for name, value in vars(owner).items() if _names_a_type(value)
        )
    return namespace


def _names_a_type(value: object) -> bool:
    """Whether a class attribute can be what an annotation names (not a method or a value).

    A method called ``list`` must not hide the builtin in ``-> list[int]``.
    """
    return (
        isinstance(value, type | typing.TypeVar)
        or typing.get_origin(value) is not None
        or type(value).__name__ == "TypeAliasType"
    )


class _Lenient(dict[str, Any]):
    """Local names for ``eval``: the class scope, then a placeholder for any unknown name."""

    def __init__(self, local: dict[str, Any], globalns: dict[str, Any]) -> None:
        super().__init__(local)
        self.globalns = globalns
        self.missing: list[str] = []

    def __missing__(self, name: str) -> Any:
        if name in self.globalns or hasattr(builtins, name):
            raise KeyError(name)  # eval goes on to the globals and the builtins
        if name not in self.missing:
            self.missing.append(name)
        return Unresolved(name)


def _hint(annotation: object, globalns: dict[str, Any], localns: dict[str, Any]) -> object:
    def carrier() -> None:
        """Holds one annotation while ``typing.get_type_hints`` resolves it."""

    carrier.__annotations__ = {"x": annotation}
    return typing.get_type_hints(carrier, globalns=globalns, localns=localns, include_extras=True)[
        "x"
    ]


def _source(annotation: object) -> str | None:
    if isinstance(annotation, str):
        return annotation
    text = getattr(annotation, "__forward_arg__", None)  # typing / annotationlib ForwardRef
    return text if isinstance(text, str) else None


_SKIP: Any = object()


def _leniently(
    annotation: object, unknown: str | None, globalns: dict[str, Any], localns: dict[str, Any]
) -> tuple[object, list[str]]:
    """Resolve with unknown names as placeholders: ``(hint or _SKIP, names not resolved)``."""
    lenient = _Lenient(localns, globalns)
    source = _source(annotation)
    hint: object = _SKIP
    try:
        value = annotation if source is None else eval(source, globalns, lenient)  # noqa: S307 - an annotation the module itself wrote
    except Exception:  # noqa: BLE001 - not even an expression: not checked, with a warning
        unknown = unknown or source or safe_repr(annotation)
    else:
        try:
            hint = _hint(value, globalns, lenient)
        except NameError:  # a nested name still missing: not checked at all
            pass
        except Exception:  # noqa: BLE001 - compiling it explains what is wrong
            text = _source(value)
            if text is None:
                hint = value
            else:  # a string in a string that does not parse: not checked, with a warning
                unknown = unknown or text
    return hint, lenient.missing or ([unknown] if unknown else [])


def resolve_annotations(
    func: Callable[..., Any], raw: dict[str, Any]
) -> tuple[dict[str, object], list[str]]:
    """Resolve ``raw`` (name -> annotation) for ``func``; also return the unresolved names.

    An annotation with an unresolvable name is resolved with that name replaced by a
    placeholder that is not checked; one whose structure cannot be rebuilt at all is
    dropped (not checked).
    """
    import inspect

    globalns: dict[str, Any] = getattr(inspect.unwrap(func), "__globals__", {})
    localns = _class_namespace(func, globalns)
    hints: dict[str, object] = {}
    missing: list[str] = []
    for name, annotation in raw.items():
        try:
            hints[name] = _hint(annotation, globalns, localns)
            continue
        except NameError as exc:
            unknown: str | None = exc.name if isinstance(exc.name, str) else str(exc)
        except Exception:  # noqa: BLE001 - not a type (3.10 refuses it here): explained later
            unknown = None
        hint, names = _leniently(annotation, unknown, globalns, localns)
        if hint is not _SKIP:
            hints[name] = hint
        missing += [item for item in names if item not in missing]
    return hints, missing


def annotated_function(func: Callable[..., Any]) -> Callable[..., Any]:
    """The function whose annotations describe calls of ``func``.

    A ``functools.partial`` is described by its function (the bound parameters are
    not in its signature), a callable object by its class's ``__call__``.
    """
    import functools
    import inspect

    while isinstance(func, functools.partial):
        func = func.func
    own = getattr(func, "__dict__", {})
    if inspect.isroutine(func) or "__annotations__" in own or "__wrapped__" in own:
        return func  # a function, or a wrapper (lru_cache) carrying its function's annotations
    call: Callable[..., Any] | None = getattr(type(func), "__call__", None)  # noqa: B004
    return func if call is None else call
