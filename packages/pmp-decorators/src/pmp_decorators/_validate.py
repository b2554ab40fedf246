"""Runtime type validation of a function's arguments: ``validate_types``."""

from __future__ import annotations

import copy
import functools
import keyword
import threading
import typing
import warnings
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from pmp_decorators._annotations import (
    UnresolvedAnnotationWarning,
    annotated_function,
    raw_annotations,
    resolve_annotations,
)
from pmp_decorators._check import describe, make_error
from pmp_decorators._containers import ContainerNode
from pmp_decorators._nodes import AnyNode, Generator, Node, safe_repr
from pmp_decorators._settings import Layers, Restorer
from pmp_decorators._types import compile_type, unpacked
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["set_validation_enabled", "validate_types"]

P = ParamSpec("P")
R = TypeVar("R")

_ENABLED = [True]


def _apply_enabled(enabled: bool) -> None:
    _ENABLED[0] = enabled


_ENABLED_LAYERS: Layers[bool] = Layers(_apply_enabled, base=True)
_RESERVED = "_pmp_"


def set_validation_enabled(enabled: bool) -> Restorer:
    """Switch the checks of every ``validate_types`` function on or off, at once.

    Turned off, a validated function only forwards its arguments (for production hot
    paths). Used in a ``with`` statement, the previous setting returns on exit.
    :func:`check_type` always checks.

    >>> @validate_types(age=int)
    ... def birthday(age):
    ...     return age + 1
    >>> with set_validation_enabled(False):
    ...     birthday(1.5)
    2.5
    """
    return _ENABLED_LAYERS.push(bool(enabled))


class _Validated:
    """Builds and owns the generated wrapper of one validated function."""

    def __init__(
        self, func: Callable[..., Any], explicit: dict[str, Any] | None, is_async: bool
    ) -> None:
        import inspect

        self.func = func
        self.source = annotated_function(func)  # where the annotations are written
        self.explicit = explicit
        self.is_async = is_async
        self.label = f"{getattr(func, '__qualname__', repr(func))}()"
        self.signature = inspect.signature(func)
        self.nodes: list[tuple[str, Node]] = []
        self.lock = threading.Lock()
        self.built = False
        self.error: ValidationError | None = None
        self.sentinels: dict[
            str, str
        ] = {}  # parameter -> the name its sentinel default is bound to
        names = list(self.signature.parameters)
        for name in names:
            if name.startswith(_RESERVED):
                raise ValidationError(
                    f"{self.label}: parameter names starting with {_RESERVED!r} are reserved "
                    f"by validate_types, got {name!r}",
                    field=name,
                )
        if explicit is not None:
            for key in explicit:
                if key != "return" and key not in self.signature.parameters:
                    raise ValidationError(
                        f"{self.label} has no parameter {key!r} (parameters: {', '.join(names)})",
                        field=key,
                        value=explicit[key],
                        expected=" | ".join(repr(name) for name in [*names, "return"]),
                    )
        self.namespace: dict[str, Any] = {
            "_pmp_on": _ENABLED,
            "_pmp_f": func,
            "_pmp_build": self.build,
            "_pmp_fail": self.fail,
        }
        self.header, self.call = self._signature_source()
        self.wrapper = self._exec(self._trampoline_source())
        self.namespace["_pmp_self"] = self.wrapper

    def _signature_source(self) -> tuple[str, str]:
        import inspect

        params: list[str] = []
        call: list[str] = []
        star_seen = False
        kind = inspect.Parameter
        previous = None
        for index, param in enumerate(self.signature.parameters.values()):
            if previous is kind.POSITIONAL_ONLY and param.kind is not kind.POSITIONAL_ONLY:
                params.append("/")
            text = param.name
            if param.default is not param.empty:
                self.namespace[f"_pmp_d{index}"] = param.default
                text += f"=_pmp_d{index}"
            if param.kind is kind.VAR_POSITIONAL:
                star_seen = True
                params.append(f"*{param.name}")
                call.append(f"*{param.name}")
            elif param.kind is kind.VAR_KEYWORD:
                params.append(f"**{param.name}")
                call.append(f"**{param.name}")
            elif param.kind is kind.KEYWORD_ONLY:
                if not star_seen:
                    params.append("*")
                    star_seen = True
                params.append(text)
                call.append(f"{param.name}={param.name}")
            else:
                params.append(text)
                call.append(param.name)
            previous = param.kind
        if previous is kind.POSITIONAL_ONLY:
            params.append("/")
        return ", ".join(params), ", ".join(call)

    def _def(self) -> str:
        name = getattr(self.func, "__name__", "")
        if not name.isidentifier() or keyword.iskeyword(name) or name.startswith(_RESERVED):
            name = "validated"
        return f"{'async ' if self.is_async else ''}def {name}({self.header}):"

    def _await(self) -> str:
        return "await " if self.is_async else ""

    def _trampoline_source(self) -> str:
        wait = self._await()
        return "\n".join(
            [
                self._def(),
                "    if _pmp_on[0]:",
                "        _pmp_build()",
                f"        return {wait}_pmp_self({self.call})",
                f"    return {wait}_pmp_f({self.call})",
                "",
            ]
        )

    def _exec(self, source: str) -> Callable[..., Any]:
        scope: dict[str, Any] = {}
        exec(compile(source, f"<validate_types {self.label}>", "exec"), self.namespace, scope)  # noqa: S102 - generated from the signature and bound names
        (function,) = scope.values()
        return function  # type: ignore[no-any-return]

    def _hints(self) -> dict[str, object]:
        raw = self.explicit if self.explicit is not None else raw_annotations(self.source)
        hints, missing = resolve_annotations(self.source, raw)
        if missing:
            names = ", ".join(repr(name) for name in missing)
            warnings.warn(
                f"{self.label}: cannot resolve {names} in its annotations (imported only "
                f"under TYPE_CHECKING?); what they name is not checked",
                UnresolvedAnnotationWarning,
                stacklevel=5,  # warn -> _hints -> _compile -> build -> wrapper -> caller
            )
        return hints

    def _compile(self) -> None:
        import inspect

        hints = self._hints()
        kind = inspect.Parameter
        nodes: list[tuple[str, Node]] = []
        for name, param in self.signature.parameters.items():
            if name not in hints:
                continue
            # *args: Unpack[tuple[...]] and **kw: Unpack[TypedDict] describe the whole
            whole = unpacked(hints[name])
            node = self._compile_one(name, hints[name] if whole is None else whole)
            if whole is not None or isinstance(node, AnyNode):
                nodes.append((name, node))
                continue
            if param.kind is kind.VAR_POSITIONAL:
                node = ContainerNode(tuple, node, None, f"tuple[{node.expected}, ...]")
            elif param.kind is kind.VAR_KEYWORD:
                node = ContainerNode(dict, node, AnyNode(), f"dict[str, {node.expected}]")
            nodes.append((name, node))
        if "return" in hints:
            nodes.append(("return", self._compile_one("return", hints["return"])))
        self.nodes = [(name, node) for name, node in nodes if not isinstance(node, AnyNode)]

    def _compile_one(self, name: str, tp: object) -> Node:
        try:
            return compile_type(tp, strict=False)
        except ValidationError as exc:
            what = "the return value" if name == "return" else repr(name)
            raise ValidationError(
                f"{self.label}: cannot check {what} against {safe_repr(tp)}: {exc.message}",
                field=name,
                value=safe_repr(tp),
            ) from exc

    def _fast_source(self) -> str:
        gen = Generator(self.namespace)
        wait = self._await()
        checks: list[str] = []
        returns: str | None = None
        for index, (name, node) in enumerate(self.nodes):
            if name == "return":
                returns = f"    if not ({node.expr('_pmp_r', gen)}): _pmp_fail({index}, _pmp_r)"
                continue
            check = node.expr(name, gen)
            if name in self.sentinels:
                check = f"{name} is {self.sentinels[name]} or ({check})"
            checks.append(f"        if not ({check}): _pmp_fail({index}, {name})")
        lines = [self._def()]
        if returns is None:
            if checks:
                lines += ["    if _pmp_on[0]:", *checks]
            lines.append(f"    return {wait}_pmp_f({self.call})")
        else:
            lines += ["    if not _pmp_on[0]:", f"        return {wait}_pmp_f({self.call})"]
            lines += [line[4:] for line in checks]
            lines += [f"    _pmp_r = {wait}_pmp_f({self.call})", returns, "    return _pmp_r"]
        return "\n".join([*lines, ""])

    def build(self) -> None:
        """Resolve the types and switch the wrapper to the fast generated code (once)."""
        with self.lock:
            if self.built:
                if self.error is not None:  # built once and failed: fail the same way, fast
                    raise copy.copy(self.error) from self.error.__cause__
                return
            try:
                self._compile()
                self._check_defaults()
            except ValidationError as exc:
                self.error = exc
                self.built = True
                raise
            fast = self._exec(self._fast_source())
            self.wrapper.__code__ = fast.__code__
            self.built = True

    def _check_defaults(self) -> None:
        """A default that breaks its own annotation is a bug in the function: report it."""
        parameters = self.signature.parameters
        for name, node in self.nodes:
            param = parameters.get(name)
            if param is None or param.default is param.empty:  # "return", or no default
                continue
            failure = node.find(param.default, name)
            if failure is not None and type(param.default).__module__ == "dataclasses":
                # the sentinel of a default_factory in a dataclass's __init__: let it through
                bound = self.sentinels[name] = f"_pmp_s{len(self.sentinels)}"
                self.namespace[bound] = param.default
            elif failure is not None:
                raise make_error(self.label, name, failure, default=True)

    def fail(self, index: int, value: object) -> typing.NoReturn:
        name, node = self.nodes[index]
        failure = node.find(value, name)
        assert failure is not None
        raise make_error(self.label, name, failure)


def validate_types(**types: Any) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Check argument types at call time; with no arguments, check the annotations.

    ``validate_types(name=str, age=int)`` checks the named parameters against the
    given types (a ``"return"`` entry checks the return value);
    ``validate_types()`` checks every annotated parameter and the return annotation,
    resolving forward references (and ``from __future__ import annotations``) at the
    first call. Positional, keyword, keyword-only arguments, defaults, ``*args`` items
    and ``**kwargs`` values are all covered; ``async def`` functions and methods work.
    A default that breaks its own type is reported as such, once the types are known
    (at decoration with explicit types, else at the first call).

    Supported: classes, tuples of classes, ``X | Y``, ``Optional``, ``Union``,
    ``Literal``, ``Any``, ``None``, ``list``/``set``/``frozenset``/``dict``/``tuple``
    (variadic and fixed), the ``collections.abc`` ABCs (``Sequence``, ``Mapping``,
    ``Iterable``, ...), ``type[T]``, ``Callable``, runtime-checkable protocols,
    ``TypedDict``, ``NewType``, ``TypeVar``, ``Annotated``, nested to any depth. Every
    container item is checked. ``bool`` does not pass for ``int`` (write
    ``int | bool`` to allow it); ``int`` passes for ``float`` (PEP 484); nothing is
    converted. A mismatch raises :class:`TypeValidationError` (a
    ``pmp_errors.ValidationError`` and a ``TypeError``) with ``field``, ``value``,
    ``expected`` and ``path``. The generated wrapper has the function's exact
    signature, so a check costs about what a hand-written ``isinstance`` costs;
    :func:`set_validation_enabled` turns every check off.

    >>> @validate_types(name=str, age=int, email=str)
    ... def create_user(name, age, email):
    ...     return name
    >>> create_user("Ada", 36, "ada@example.com")
    'Ada'
    >>> create_user("Ada", "36", "ada@example.com")
    Traceback (most recent call last):
    ...
    pmp_decorators._errors.TypeValidationError: create_user(): argument 'age' must be int, got str '36'
    """  # noqa: E501
    explicit = dict(types) if types else None

    def decorate(func: Callable[P, R]) -> Callable[P, R]:
        import inspect

        if isinstance(func, staticmethod | classmethod):  # placed above @staticmethod/@classmethod
            return type(func)(decorate(func.__func__))
        if not callable(func):
            raise ValidationError(
                f"validate_types decorates callables, got {describe(func)}",
                field="func",
                value=func,
                expected="a function",
            )
        if isinstance(func, type):
            raise ValidationError(
                f"validate_types cannot wrap the class {func.__qualname__}: the wrapper is a "
                f"function, so isinstance() and subclassing would break; decorate its "
                f"__init__ (or a factory function) instead",
                field="func",
                value=func,
                expected="a function or method",
            )
        validated = _Validated(func, explicit, inspect.iscoroutinefunction(func))
        wrapper = functools.update_wrapper(validated.wrapper, func)
        if explicit is not None and not any(
            isinstance(tp, str | typing.ForwardRef) or _has_forward_ref(tp)
            for tp in explicit.values()
        ):
            validated.build()  # bad explicit types fail here, at decoration
        return wrapper

    return decorate


def _has_forward_ref(tp: object) -> bool:
    return any(
        isinstance(arg, str | typing.ForwardRef) or _has_forward_ref(arg)
        for arg in typing.get_args(tp)
    )
