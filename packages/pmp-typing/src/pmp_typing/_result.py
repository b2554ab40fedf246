"""``Result[T, E]``: a value or an error, with ``@final`` ``Success`` and ``Failure`` variants."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Generic, Literal, NoReturn, TypeAlias, TypeVar, cast, final

from pmp_typing._errors import FailureError, safe_repr

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from typing_extensions import Never, TypeIs

__all__ = ["Failure", "Outcome", "Result", "Success", "is_failure", "is_success"]

T = TypeVar("T")
E = TypeVar("E")
U = TypeVar("U")
F = TypeVar("F")
T_co = TypeVar("T_co", covariant=True)
E_co = TypeVar("E_co", covariant=True)

_SEALED: list[bool] = []  # non-empty once Success and Failure exist: no more subclasses


class Result(Generic[T_co, E_co]):
    """Either a value (``Success``) or an error (``Failure``).

    Build one with ``Result.success(value)`` or ``Result.failure(error)``; both are
    the ``@final`` classes themselves, so ``Result.success is Success``.

    >>> def divide(a: int, b: int) -> Result[float, str]:
    ...     if b == 0:
    ...         return Result.failure("Cannot divide by zero")
    ...     return Result.success(a / b)
    >>> divide(10, 2).map(round).get_or(0)
    5
    >>> divide(1, 0).error
    'Cannot divide by zero'
    """

    __slots__ = ()

    if TYPE_CHECKING:

        @staticmethod
        def success(value: U, /) -> Success[U]:
            """Wrap ``value`` in a ``Success`` (this is the ``Success`` class)."""
            ...

        @staticmethod
        def failure(error: F, /) -> Failure[F]:
            """Wrap ``error`` in a ``Failure`` (this is the ``Failure`` class)."""
            ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if _SEALED:
            msg = f"cannot subclass {cls.__mro__[1].__name__}: Result has only Success and Failure"
            raise TypeError(msg)
        super().__init_subclass__(**kwargs)

    def __init__(self) -> None:
        msg = "Result is abstract: build one with Result.success(value) or Result.failure(error)"
        raise TypeError(msg)

    @staticmethod
    def collect(results: Iterable[Result[T, E]], /) -> Outcome[list[T], E]:
        """Return ``Success`` of all values, or the first ``Failure``.

        The iterable is consumed only up to that first failure.

        >>> Result.collect([Result.success(1), Result.success(2)])
        Success([1, 2])
        >>> Result.collect(iter([Result.success(1), Result.failure("bad"), Result.success(3)]))
        Failure('bad')
        """
        values: list[T] = []
        append = values.append
        for item in results:
            if isinstance(item, Success):
                append(item.value)
            else:
                return cast("Failure[E]", item)
        return Success(values)

    @property
    def value(self) -> T_co | None:
        """The value of a ``Success``; ``None`` on a ``Failure``."""
        raise NotImplementedError

    @property
    def error(self) -> E_co | None:
        """The error of a ``Failure``; ``None`` on a ``Success``."""
        raise NotImplementedError

    def is_success(self) -> bool:
        """Return whether this is a ``Success``.

        Methods cannot narrow ``self`` for type checkers: use :func:`is_success`
        or ``match`` for that.
        """
        raise NotImplementedError

    def is_failure(self) -> bool:
        """Return whether this is a ``Failure``."""
        raise NotImplementedError

    def get_or_raise(self) -> T_co:
        """Return the value, or raise the error.

        An exception error is raised itself (same object, traceback kept); any
        other error raises :class:`~pmp_typing.FailureError` showing its ``repr``.
        """
        raise NotImplementedError

    def get_or(self, default: U, /) -> T_co | U:
        """Return the value, or ``default`` on a failure."""
        raise NotImplementedError

    def get_or_else(self, fn: Callable[[E_co], U], /) -> T_co | U:
        """Return the value, or ``fn(error)`` on a failure (``fn`` runs only then)."""
        raise NotImplementedError

    def map(self, fn: Callable[[T_co], U], /) -> Result[U, E_co]:
        """Apply ``fn`` to the value of a success; a failure is returned unchanged."""
        raise NotImplementedError

    def map_error(self, fn: Callable[[E_co], F], /) -> Result[T_co, F]:
        """Apply ``fn`` to the error of a failure; a success is returned unchanged."""
        raise NotImplementedError

    def and_then(self, fn: Callable[[T_co], Result[U, F]], /) -> Result[U, E_co | F]:
        """Chain a step that may fail: ``fn(value)`` on a success, else the failure."""
        raise NotImplementedError

    def or_else(self, fn: Callable[[E_co], Result[U, F]], /) -> Result[T_co | U, F]:
        """Recover from a failure with ``fn(error)``; a success is returned unchanged."""
        raise NotImplementedError


@final
class Success(Result[T_co, NoReturn]):
    """The success variant of :class:`Result`, holding ``.value``.

    >>> match Result.success(2).map(lambda x: x * 10):
    ...     case Success(value):
    ...         value
    20
    """

    __slots__ = ("_value",)
    __match_args__ = ("value",)

    def __init__(self, value: T_co, /) -> None:
        self._value = value

    def __repr__(self) -> str:
        return f"Success({self._value!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Success) and self._value == cast("Success[object]", other)._value

    def __hash__(self) -> int:
        return hash((Success, self._value))

    @property
    def value(self) -> T_co:
        """The wrapped value."""
        return self._value

    @property
    def error(self) -> None:
        """Always ``None``: a success holds no error."""
        return

    def is_success(self) -> Literal[True]:
        """Return ``True``."""
        return True

    def is_failure(self) -> Literal[False]:
        """Return ``False``."""
        return False

    def get_or_raise(self) -> T_co:
        """Return the value."""
        return self._value

    def get_or(self, _default: object, /) -> T_co:
        """Return the value (``default`` is ignored)."""
        return self._value

    def get_or_else(self, _fn: Callable[[Never], object], /) -> T_co:
        """Return the value (``fn`` is never called)."""
        return self._value

    def map(self, fn: Callable[[T_co], U], /) -> Success[U]:
        """Return ``Success(fn(value))``."""
        return Success(fn(self._value))

    def map_error(self, _fn: Callable[[Never], object], /) -> Success[T_co]:
        """Return this success unchanged (``fn`` is never called)."""
        return self

    def and_then(self, fn: Callable[[T_co], Result[U, F]], /) -> Result[U, F]:
        """Return ``fn(value)``."""
        return fn(self._value)

    def or_else(self, _fn: Callable[[Never], object], /) -> Success[T_co]:
        """Return this success unchanged (``fn`` is never called)."""
        return self


@final
class Failure(Result[NoReturn, E_co]):
    """The failure variant of :class:`Result`, holding ``.error``.

    >>> match Result.failure("no such user"):
    ...     case Failure(error):
    ...         error
    'no such user'
    """

    __slots__ = ("_error",)
    __match_args__ = ("error",)

    def __init__(self, error: E_co, /) -> None:
        self._error = error

    def __repr__(self) -> str:
        return f"Failure({safe_repr(self._error)})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Failure) and self._error == cast("Failure[object]", other)._error

    def __hash__(self) -> int:
        return hash((Failure, self._error))

    @property
    def value(self) -> None:
        """Always ``None``: a failure holds no value."""
        return

    @property
    def error(self) -> E_co:
        """The wrapped error."""
        return self._error

    def is_success(self) -> Literal[False]:
        """Return ``False``."""
        return False

    def is_failure(self) -> Literal[True]:
        """Return ``True``."""
        return True

    def get_or_raise(self) -> Never:
        """Raise the error itself if it is an exception, else ``FailureError``."""
        error = self._error
        if isinstance(error, BaseException):
            raise error
        msg = f"get_or_raise() called on Failure({safe_repr(error)})"
        raise FailureError(msg, error=error)

    def get_or(self, default: U, /) -> U:
        """Return ``default``."""
        return default

    def get_or_else(self, fn: Callable[[E_co], U], /) -> U:
        """Return ``fn(error)``."""
        return fn(self._error)

    def map(self, _fn: Callable[[Never], object], /) -> Failure[E_co]:
        """Return this failure unchanged (``fn`` is never called)."""
        return self

    def map_error(self, fn: Callable[[E_co], F], /) -> Failure[F]:
        """Return ``Failure(fn(error))``."""
        return Failure(fn(self._error))

    def and_then(self, _fn: Callable[[Never], object], /) -> Failure[E_co]:
        """Return this failure unchanged (``fn`` is never called)."""
        return self

    def or_else(self, fn: Callable[[E_co], Result[U, F]], /) -> Result[U, F]:
        """Return ``fn(error)``."""
        return fn(self._error)


Outcome: TypeAlias = Success[T] | Failure[E]
"""``Success[T] | Failure[E]``: annotate with it where ``match`` must be exhaustive.

A ``match`` on a ``Result`` cannot be proven exhaustive (``Result`` is a base
class), but one on an ``Outcome`` can, under both mypy and pyright::

    def describe(r: Outcome[int, str]) -> str:
        match r:
            case Success(value):
                return f"got {value}"
            case Failure(error):
                return f"failed: {error}"
            case _:
                assert_never(r)
"""

_SEALED.append(True)

# The factories are the classes themselves: a wrapper function would cost a call.
for _name, _variant in (("success", Success), ("failure", Failure)):
    setattr(Result, _name, _variant)
del _name, _variant


def is_success(result: Result[T, E], /) -> TypeIs[Success[T]]:
    """Narrow ``result`` to ``Success[T]`` for type checkers (a method cannot).

    >>> r: Result[int, str] = Result.success(3)
    >>> if is_success(r):
    ...     r.value + 1
    4
    """
    return type(result) is Success


def is_failure(result: Result[T, E], /) -> TypeIs[Failure[E]]:
    """Narrow ``result`` to ``Failure[E]`` for type checkers (a method cannot).

    >>> r: Result[int, str] = Result.failure("bad")
    >>> if is_failure(r):
    ...     r.error.upper()
    'BAD'
    """
    return type(result) is Failure
