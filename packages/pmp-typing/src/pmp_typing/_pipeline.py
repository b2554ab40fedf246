"""``Pipeline[I, O]``: an immutable, typed chain of transformation steps."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Coroutine
from inspect import isawaitable
from operator import length_hint
from typing import TYPE_CHECKING, Any, Generic, NoReturn, TypeVar, cast, final

from pmp_errors import DataProcessingError, PortfolioError
from pmp_typing._errors import ArgumentTypeError, safe_repr
from pmp_typing._result import Failure, Outcome, Success

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["Pipeline"]

I = TypeVar("I")  # noqa: E741 - the conventional name for an input type
O_co = TypeVar("O_co", covariant=True)
U = TypeVar("U")
T = TypeVar("T")

_NO_ASYNC: frozenset[int] = frozenset()
_NOT_GIVEN: Any = object()  # the default of add()'s hidden positional-only parameter
_new: Callable[[type[Pipeline[Any, Any]]], Pipeline[Any, Any]] = object.__new__


_Step = Any  # a step is any one-argument callable; the types are tracked by Pipeline's parameters


@final
class Pipeline(Generic[I, O_co]):
    """An immutable builder of steps run in order on a value.

    ``Pipeline(5)`` is a ``Pipeline[int, int]``: it takes an ``int`` and, with no
    steps, gives it back. Each ``add(fn)`` returns a *new* pipeline whose output
    type is ``fn``'s return type, so a step that does not fit is a type error.

    >>> square = Pipeline(5).add(lambda x: x * 2).add(lambda x: x + 3).add(lambda x: x**2)
    >>> square.execute()
    169
    >>> square.run(1)  # the same steps on another input
    25
    """

    __slots__ = ("_fns", "_meta", "_source")

    _source: I
    _fns: tuple[_Step, ...]
    # (step names by index, indexes of async steps); None until a step has either
    _meta: tuple[dict[int, str], frozenset[int]] | None

    def __init__(self: Pipeline[T, T], value: T, /) -> None:
        self._source = value
        self._fns = ()
        self._meta = None

    def __repr__(self) -> str:
        return f"Pipeline({safe_repr(self._source)}, steps={len(self._fns)})"

    def __len__(self) -> int:
        return len(self._fns)

    def _extend(self, fn: object, name: object, *, is_async: bool) -> Pipeline[I, Any]:
        # Hot when pipelines are built per call: no __init__, no helper calls.
        if not callable(fn):
            msg = f"a pipeline step must be a one-argument callable, got {safe_repr(fn)}"
            raise ArgumentTypeError(msg, field="fn", value=fn)
        fns = self._fns
        names, awaited = self._meta or ({}, _NO_ASYNC)
        if name is not None:
            if not isinstance(name, str):
                msg = f"a step name must be a str, got {safe_repr(name)}"
                raise ArgumentTypeError(msg, field="name", value=name)
            names = {**names, len(fns): name}
        if is_async:
            awaited |= {len(fns)}
        new: Pipeline[I, Any] = _new(Pipeline)  # no __init__: the fields are set below
        new._source = self._source
        new._fns = (*fns, fn)
        new._meta = (names, awaited)
        return new

    if TYPE_CHECKING:

        def add(self, fn: Callable[[O_co], U], /, *, name: str | None = None) -> Pipeline[I, U]:
            """Return a new pipeline with ``fn`` as its last step (``name`` labels errors).

            Raises:
                pmp_errors.ValidationError: (also a ``TypeError``) ``fn`` is not
                    callable (``field="fn"``) or ``name`` is not a ``str``
                    (``field="name"``).

            >>> Pipeline("7").add(int, name="parse").add(lambda n: n * 6).execute()
            42
            """
            ...

    else:
        # At run time ``name`` is not keyword-only: a function with keyword-only
        # parameters misses the interpreter's fast call path, which is most of the cost
        # of building a pipeline per call. A hidden positional-only parameter catches
        # ``add(f, "label")`` instead, and ``__signature__`` shows the public signature.
        def add(
            self,
            fn: Callable[[O_co], U],
            positional: object = _NOT_GIVEN,
            /,
            name: str | None = None,
        ) -> Pipeline[I, U]:
            """Return a new pipeline with ``fn`` as its last step (``name`` labels errors).

            Raises:
                pmp_errors.ValidationError: (also a ``TypeError``) ``fn`` is not
                    callable (``field="fn"``) or ``name`` is not a ``str``
                    (``field="name"``).

            >>> Pipeline("7").add(int, name="parse").add(lambda n: n * 6).execute()
            42
            """
            if name is None and positional is _NOT_GIVEN and callable(fn):
                # the common case, inlined for cheap building
                new: Pipeline[I, U] = _new(Pipeline)  # no __init__: the fields are copied below
                new._source = self._source
                new._fns = self._fns + (fn,)  # noqa: RUF005 - concatenating is faster than unpacking
                new._meta = self._meta
                return new
            if positional is not _NOT_GIVEN:
                msg = (
                    "Pipeline.add() takes 2 positional arguments but more were given"
                    " (name is keyword-only)"
                )
                raise TypeError(msg)
            return self._extend(fn, name, is_async=False)

        add.__signature__ = inspect.Signature(
            [
                inspect.Parameter("self", inspect.Parameter.POSITIONAL_ONLY),
                inspect.Parameter(
                    "fn", inspect.Parameter.POSITIONAL_ONLY, annotation="Callable[[O_co], U]"
                ),
                inspect.Parameter(
                    "name", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None"
                ),
            ],
            return_annotation="Pipeline[I, U]",
        )

    def add_async(
        self, fn: Callable[[O_co], Awaitable[U]], /, *, name: str | None = None
    ) -> Pipeline[I, U]:
        """Return a new pipeline whose last step is awaited (run with ``execute_async``).

        Bad arguments raise ``pmp_errors.ValidationError`` as for :meth:`add`.

        >>> import asyncio
        >>> async def fetch(n: int) -> str:
        ...     return f"user-{n}"
        >>> asyncio.run(Pipeline(7).add_async(fetch).add(str.upper).execute_async())
        'USER-7'
        """
        return self._extend(fn, name, is_async=True)

    def _step_label(self, index: int) -> str | int:
        meta = self._meta
        return meta[0].get(index, index) if meta else index

    def _failed(self, index: int, exc: Exception, given: object = None) -> PortfolioError:
        """Return what to raise for ``exc``: itself if a pmp error, else a DataProcessingError.

        A pmp error keeps its class and status; the step goes into its context
        (unless it names a step already, as one from a nested pipeline does).
        """
        label = self._step_label(index)
        awaitable = index and isinstance(given, Awaitable)  # an async step run synchronously
        if awaitable and isinstance(given, Coroutine):
            given.close()  # never awaited: no "coroutine was never awaited" warning
        if isinstance(exc, PortfolioError):
            context: object = vars(exc).get("context")  # absent if __init__ was skipped
            if isinstance(context, dict):
                cast("dict[str, object]", context).setdefault("step", label)
            return exc
        msg = f"pipeline step {label!r} failed: {type(exc).__name__}: {exc}"
        if awaitable:
            before = self._step_label(index - 1)
            msg += (
                f" (step {before!r} returned an awaitable: add it with add_async() and run the"
                " pipeline with execute_async() or run_async())"
            )
        return DataProcessingError(msg, step=label)

    def _refuse_async(self, awaited: frozenset[int]) -> NoReturn:
        index = min(awaited)
        label = self._step_label(index)
        msg = f"pipeline step {label!r} is async: use execute_async() or run_async()"
        raise DataProcessingError(msg, step=label)

    def run(self, value: I, /) -> O_co:
        """Run the steps on ``value`` and return the result.

        Raises:
            DataProcessingError: a step raised; ``step`` is its name or index and
                the original exception is the ``__cause__``.
            pmp_errors.PortfolioError: a step raised one (a ``ValidationError``,
                say): it propagates with its own class and status, and ``step`` is
                added to its context.

        >>> from pmp_errors import ValidationError
        >>> def positive(n: int) -> int:
        ...     if n < 0:
        ...         raise ValidationError("must be positive", field="n")
        ...     return n
        >>> try:
        ...     Pipeline(-1).add(positive, name="check").execute()
        ... except ValidationError as e:
        ...     (e.http_status, e.context)
        (422, {'field': 'n', 'step': 'check'})
        """
        meta = self._meta
        if meta is not None and meta[1]:
            self._refuse_async(meta[1])
        fns = self._fns
        steps = iter(fns)
        current: Any = value
        try:
            for fn in steps:
                current = fn(current)
        except Exception as exc:
            # the iterator knows how far it got: no counting on the fast path
            error = self._failed(len(fns) - length_hint(steps) - 1, exc, current)
            if error is exc:
                raise
            raise error from exc
        return current  # type: ignore[no-any-return]

    def execute(self) -> O_co:
        """Run the steps on the pipeline's own value (see :meth:`run`)."""
        # run() inlined: this is the hot path of a pre-built pipeline
        meta = self._meta
        if meta is not None and meta[1]:
            self._refuse_async(meta[1])
        fns = self._fns
        steps = iter(fns)
        current: Any = self._source
        try:
            for fn in steps:
                current = fn(current)
        except Exception as exc:
            error = self._failed(len(fns) - length_hint(steps) - 1, exc, current)
            if error is exc:
                raise
            raise error from exc
        return current  # type: ignore[no-any-return]

    def run_result(self, value: I, /) -> Outcome[O_co, PortfolioError]:
        """Like :meth:`run`, but return ``Failure(error)`` instead of raising.

        The error is the ``DataProcessingError`` or the step's own pmp error that
        :meth:`run` would raise.

        >>> Pipeline(0).add(lambda x: 1 / x, name="invert").execute_result().error.context
        {'step': 'invert'}
        """
        try:
            return Success(self.run(value))
        except PortfolioError as exc:
            return Failure(exc)

    def execute_result(self) -> Outcome[O_co, PortfolioError]:
        """Like :meth:`execute`, but return a ``Result`` instead of raising."""
        return self.run_result(self._source)

    async def run_async(self, value: I, /) -> O_co:
        """Run the steps on ``value``, awaiting what a step returns when it is awaitable.

        Steps added with :meth:`add_async` are awaited; so is the coroutine (or other
        awaitable) that a step added with :meth:`add` returns, e.g. an ``async def``
        function. Errors are raised as by :meth:`run`.

        >>> import asyncio
        >>> async def double(n: int) -> int:
        ...     return n * 2
        >>> asyncio.run(Pipeline(5).add(double).add(lambda n: n + 1).execute_async())
        11
        """
        current: Any = value
        index = 0
        try:
            for index, fn in enumerate(self._fns):  # noqa: B007 - the except clause reads it
                current = fn(current)
                if isawaitable(current):
                    current = await current
        except Exception as exc:
            error = self._failed(index, exc)
            if error is exc:
                raise
            raise error from exc
        return current  # type: ignore[no-any-return]

    async def execute_async(self) -> O_co:
        """Run the steps on the pipeline's own value (see :meth:`run_async`)."""
        return await self.run_async(self._source)
