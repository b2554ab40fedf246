import asyncio
import functools
import inspect
import operator
import threading
import weakref
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_errors import APIError, DataProcessingError, RateLimitError, ValidationError
from pmp_typing import Failure, Pipeline, Success


def test_seed_example_returns_169() -> None:
    """The seed's fluent example returns 169."""
    result = Pipeline(5).add(lambda x: x * 2).add(lambda x: x + 3).add(lambda x: x**2).execute()
    assert result == 169


def test_no_steps_returns_input() -> None:
    """A pipeline without steps gives its value back."""
    assert Pipeline("x").execute() == "x"
    assert len(Pipeline("x")) == 0


def test_add_never_changes_the_original() -> None:
    """Adding returns a new pipeline; the original keeps its steps."""
    base = Pipeline(2).add(lambda x: x + 1)
    doubled = base.add(lambda x: x * 2)
    squared = base.add(lambda x: x**2)
    assert (base.execute(), doubled.execute(), squared.execute()) == (3, 6, 9)
    assert (len(base), len(doubled)) == (1, 2)


def test_run_reuses_steps_on_other_inputs() -> None:
    """run(x) applies the same steps to another input."""
    square = Pipeline(0).add(lambda x: x + 1).add(lambda x: x * x)
    assert [square.run(n) for n in range(4)] == [1, 4, 9, 16]
    assert square.execute() == 1


@pytest.mark.parametrize(("name", "label"), [(None, 1), ("invert", "invert")])
def test_failing_step_raises_data_processing_error(name: str | None, label: object) -> None:
    """A failing step raises DataProcessingError with its name or index, chained."""
    pipeline = Pipeline(0).add(str, name="text").add(lambda s: 1 / int(s), name=name)
    with pytest.raises(DataProcessingError) as info:
        pipeline.execute()
    assert info.value.step == label
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert "ZeroDivisionError" in str(info.value)
    assert repr(label) in str(info.value)


@pytest.mark.parametrize("failing", [0, 1, 2, 3])
def test_failing_index_is_exact(failing: int) -> None:
    """The reported index is the step that raised, wherever it is."""

    def boom(_: int) -> int:
        raise ValueError

    pipeline = Pipeline(1)
    for index in range(4):
        pipeline = pipeline.add(boom if index == failing else abs)
    with pytest.raises(DataProcessingError) as info:
        pipeline.execute()
    assert info.value.step == failing


def test_base_exceptions_are_not_wrapped() -> None:
    """KeyboardInterrupt from a step propagates unwrapped."""

    def interrupt(_: int) -> int:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        Pipeline(1).add(interrupt).execute()


def test_execute_result() -> None:
    """execute_result returns Success or Failure(DataProcessingError) instead of raising."""
    assert Pipeline(4).add(lambda x: x // 2).execute_result() == Success(2)
    result = Pipeline(0).add(lambda x: 1 // x, name="invert").execute_result()
    assert isinstance(result, Failure)
    assert isinstance(result.error, DataProcessingError)
    assert result.error.step == "invert"
    assert Pipeline(0).add(lambda x: 10 // x).run_result(5) == Success(2)


@pytest.mark.parametrize("bad", [42, "step", None])
def test_add_rejects_non_callables(bad: object) -> None:
    """Adding a non-callable step raises ValidationError (a TypeError) naming it."""
    with pytest.raises(ValidationError, match="callable") as info:
        Pipeline(1).add(bad)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == ("fn", bad)
    assert isinstance(info.value, TypeError)
    with pytest.raises(ValidationError, match="callable"):
        Pipeline(1).add_async(bad)  # type: ignore[arg-type]


def test_add_rejects_non_string_names() -> None:
    """A step name that is not a str is rejected."""
    with pytest.raises(ValidationError, match="name") as info:
        Pipeline(1).add(abs, name=3)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == ("name", 3)
    assert isinstance(info.value, TypeError)


@pytest.mark.parametrize(
    ("args", "kwargs"), [(("label",), {}), ((None,), {}), (("a",), {"name": "b"}), (("a", "b"), {})]
)
def test_step_name_is_keyword_only(args: tuple[object, ...], kwargs: dict[str, object]) -> None:
    """A step name given positionally is refused with a TypeError, as the signature says."""
    with pytest.raises(TypeError, match=r"2 positional arguments.*keyword-only"):
        Pipeline(1).add(abs, *args, **kwargs)  # type: ignore[arg-type]


def test_add_signature_is_the_public_one() -> None:
    """Inspect shows the public signature of add: fn positional-only, name keyword-only."""
    kinds = [
        (p.name, p.kind, p.default) for p in inspect.signature(Pipeline.add).parameters.values()
    ]
    empty = inspect.Parameter.empty
    assert kinds == [
        ("self", inspect.Parameter.POSITIONAL_ONLY, empty),
        ("fn", inspect.Parameter.POSITIONAL_ONLY, empty),
        ("name", inspect.Parameter.KEYWORD_ONLY, None),
    ]
    assert str(inspect.signature(Pipeline(1).add)).startswith("(fn: 'Callable[[O_co], U]', /, *,")


def test_repr() -> None:
    """The repr shows the value and the number of steps."""
    assert repr(Pipeline([1]).add(len)) == "Pipeline([1], steps=1)"


def test_immutable() -> None:
    """A pipeline gains no new attributes."""
    with pytest.raises(AttributeError):
        Pipeline(1).extra = 2  # type: ignore[attr-defined]


async def fetch(n: int) -> str:
    await asyncio.sleep(0)
    return f"user-{n}"


@pytest.mark.asyncio
async def test_execute_async_mixes_sync_and_async_steps() -> None:
    """execute_async awaits async steps and calls sync ones."""
    pipeline = Pipeline(6).add(lambda x: x + 1).add_async(fetch, name="fetch").add(str.upper)
    assert await pipeline.execute_async() == "USER-7"
    assert await pipeline.run_async(1) == "USER-2"
    assert await Pipeline(3).add(lambda x: x * 2).execute_async() == 6


@pytest.mark.asyncio
async def test_async_failure_names_step() -> None:
    """A failing async step raises DataProcessingError with its label."""

    async def broken(_: str) -> str:
        raise LookupError("gone")

    pipeline = Pipeline(1).add_async(fetch).add_async(broken, name="lookup")
    with pytest.raises(DataProcessingError) as info:
        await pipeline.execute_async()
    assert info.value.step == "lookup"
    assert isinstance(info.value.__cause__, LookupError)


def test_sync_execute_refuses_async_steps() -> None:
    """execute() on a pipeline with async steps names the step and what to use."""
    pipeline = Pipeline(1).add(abs).add_async(fetch, name="fetch")
    with pytest.raises(DataProcessingError, match="execute_async") as info:
        pipeline.execute()
    assert info.value.step == "fetch"
    with pytest.raises(DataProcessingError, match="run_async"):
        pipeline.run(2)


def test_shared_pipeline_across_threads() -> None:
    """One pre-built pipeline runs concurrently on many threads."""
    pipeline = Pipeline(0).add(lambda x: x + 1).add(lambda x: x * 3)
    barrier = threading.Barrier(4)
    results: dict[int, list[int]] = {}

    def worker(offset: int) -> None:
        barrier.wait()
        results[offset] = [pipeline.run(offset + i) for i in range(200)]

    threads = [threading.Thread(target=worker, args=(n * 1000,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for offset, values in results.items():
        assert values == [(offset + i + 1) * 3 for i in range(200)]


@given(st.integers(), st.lists(st.sampled_from([abs, lambda x: x + 1, lambda x: x * 2])))
def test_pipeline_equals_composition(start: int, steps) -> None:
    """A pipeline computes the same as applying its steps in order."""
    pipeline = Pipeline(start)
    expected = start
    for step in steps:
        pipeline = pipeline.add(step)
        expected = step(expected)
    assert pipeline.execute() == expected
    assert len(pipeline) == len(steps)


class _Holder:
    def __init__(self, pipeline: Pipeline[int, int]) -> None:
        self.pipeline = pipeline


_GLOBAL = Pipeline(1).add(lambda x: x + 1)


def _step(k: int) -> Callable[[int], int]:
    return lambda x: x * 10 + k


def test_held_pipelines_never_change() -> None:
    """Wherever a pipeline is held, adding to it leaves it as it was."""
    base = Pipeline(1).add(_step(1))
    in_list, in_dict = [base.add(_step(2))], {"p": base.add(_step(3))}
    holder, in_tuple = _Holder(base.add(_step(4))), (base.add(_step(5)),)
    bound_add = base.add(_step(6)).add

    def in_cell() -> Pipeline[int, int]:
        return base.add(_step(7))

    held = [base, in_list[0], in_dict["p"], holder.pipeline, in_tuple[0], in_cell(), _GLOBAL]
    before = [(len(p), p.execute()) for p in held]
    in_list[0].add(_step(8)).add(_step(9))
    in_dict["p"].add(_step(8))
    holder.pipeline.add(_step(8))
    in_tuple[0].add(_step(8))
    in_cell().add(_step(8))
    _GLOBAL.add(_step(8))
    assert bound_add(_step(8)).execute() == 11_68
    assert functools.reduce(Pipeline.add, [_step(8), _step(9)], base).execute() == 11_89
    assert [p.execute() for p in map(Pipeline.add, held, [_step(9)] * len(held))][:2] == [
        119,
        11_29,
    ]
    assert operator.methodcaller("add", _step(9))(base).execute() == 119
    assert [(len(p), p.execute()) for p in held] == before


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 9), st.booleans()), max_size=30))
def test_any_sequence_of_adds_is_persistent(ops: list[tuple[int, int, bool]]) -> None:
    """Adding in any order, chained or not, never changes a pipeline built earlier."""
    pipelines = [Pipeline(0)]
    expected = [0]
    for index, digit, chain in ops:
        i = index % len(pipelines)
        if chain:  # a temporary, extended twice in one expression
            pipelines.append(pipelines[i].add(_step(digit)).add(_step(digit)))
            expected.append((expected[i] * 10 + digit) * 10 + digit)
        else:
            pipelines.append(pipelines[i].add(_step(digit)))
            expected.append(expected[i] * 10 + digit)
    assert [p.execute() for p in pipelines] == expected


class _WeakPipeline(Pipeline[int, int]):  # type: ignore[misc]  # final for checkers only
    """A subclass gains __weakref__: an observer that holds no reference."""


def test_a_pipeline_seen_only_through_a_weakref_never_changes() -> None:
    """A temporary that a weak reference still sees is copied by add, not grown."""
    refs: list[weakref.ref[Pipeline[int, int]]] = []

    def watched(pipeline: Pipeline[int, int]) -> Pipeline[int, int]:
        refs.append(weakref.ref(pipeline))
        return pipeline

    grown = watched(_WeakPipeline(1)).add(_step(2))
    seen = refs[0]()
    assert seen is not grown
    assert seen is None or len(seen) == 0
    assert (len(grown), grown.execute()) == (1, 12)


def test_concurrent_adds_to_a_shared_pipeline() -> None:
    """Threads adding to one shared pipeline never see or cause a change to it."""
    base = Pipeline(0).add(_step(1))
    barrier = threading.Barrier(4)
    results: dict[int, list[int]] = {}

    def worker(digit: int) -> None:
        barrier.wait()
        results[digit] = [base.add(_step(digit)).add(_step(digit)).execute() for _ in range(300)]

    threads = [threading.Thread(target=worker, args=(d,)) for d in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {d: [100 + 11 * d] * 300 for d in range(4)}
    assert (len(base), base.execute()) == (1, 1)


def test_sync_run_names_a_step_that_returned_a_coroutine() -> None:
    """A step fed a coroutine in execute() says which step returned it and what to use."""
    pipeline = Pipeline(1).add(fetch, name="fetch").add(str.upper)  # type: ignore[arg-type]
    with pytest.raises(DataProcessingError, match=r"'fetch' returned an awaitable.*add_async"):
        pipeline.execute()
    with pytest.raises(DataProcessingError, match=r"step 0 returned an awaitable"):
        Pipeline(1).add(fetch).add(str.upper).run(2)  # type: ignore[arg-type]


def _reject(n: int) -> int:
    raise ValidationError("must be positive", field="n", value=n)


def _limited(n: int) -> int:
    raise RateLimitError("slow down", retry_after=n)


@pytest.mark.parametrize(
    ("run", "label"),
    [
        (lambda p: p.execute(), "check"),
        (lambda p: p.run(-1), "check"),
        (lambda p: p.execute_result().get_or_raise(), "check"),
        (lambda p: asyncio.run(p.execute_async()), "check"),
    ],
    ids=["execute", "run", "execute_result", "execute_async"],
)
def test_a_step_raising_a_pmp_error_keeps_its_class_and_status(
    run: Callable[[Pipeline[int, int]], object], label: str
) -> None:
    """A step's own pmp error propagates as itself, with the step added to its context."""
    pipeline = Pipeline(1).add(abs).add(_reject, name=label)
    with pytest.raises(ValidationError) as info:
        run(pipeline)
    error = info.value
    assert not isinstance(error, DataProcessingError)
    assert error.http_status == 422
    assert error.context == {"field": "n", "value": 1, "step": label}
    assert error.__cause__ is None
    assert error.to_problem()["status"] == 422


def test_a_pmp_error_keeps_headers_and_index_label() -> None:
    """An unnamed step is labelled by index; a RateLimitError keeps its Retry-After."""
    result = Pipeline(3).add(abs).add(_limited).execute_result()
    assert isinstance(result, Failure)
    error = result.error
    assert isinstance(error, RateLimitError)
    assert error.context["step"] == 1
    assert error.http_headers == {"Retry-After": "3"}


def test_a_nested_pipeline_keeps_the_inner_step() -> None:
    """An error that already names a step (from an inner pipeline) keeps that step."""
    inner = Pipeline("0").add(int, name="parse")
    outer = Pipeline("x").add(inner.run, name="inner")
    with pytest.raises(DataProcessingError) as info:
        outer.execute()
    assert info.value.step == "parse"
    error = APIError("upstream", step="fetch")
    with pytest.raises(APIError) as api:
        Pipeline(1).add(lambda _: (_ for _ in ()).throw(error), name="outer").execute()
    assert api.value.context["step"] == "fetch"


@pytest.mark.asyncio
async def test_execute_async_awaits_a_coroutine_function_added_with_add() -> None:
    """An async def step added with add() is awaited by execute_async and run_async."""

    async def double(n: int) -> int:
        await asyncio.sleep(0)
        return n * 2

    pipeline = Pipeline(5).add(double).add(lambda n: n + 1)  # type: ignore[operator]
    assert await pipeline.execute_async() == 11
    assert await pipeline.run_async(1) == 3
    assert await Pipeline(5).add(double).execute_async() == 10  # type: ignore[comparison-overlap]


@pytest.mark.asyncio
async def test_execute_async_awaits_any_awaitable_result() -> None:
    """A step returning a future (not a coroutine) has it awaited too."""
    loop = asyncio.get_running_loop()

    def later(n: int) -> asyncio.Future[int]:
        future: asyncio.Future[int] = loop.create_future()
        loop.call_soon(future.set_result, n + 1)
        return future

    assert await Pipeline(1).add(later).add(str).execute_async() == "2"


@pytest.mark.asyncio
async def test_execute_async_failure_in_an_awaited_add_step_names_it() -> None:
    """An async def step added with add() that raises is labelled like any step."""

    async def broken(_: int) -> int:
        raise KeyError("gone")

    with pytest.raises(DataProcessingError) as info:
        await Pipeline(1).add(broken, name="lookup").execute_async()  # type: ignore[unused-coroutine]
    assert info.value.step == "lookup"
    assert isinstance(info.value.__cause__, KeyError)


def test_a_pmp_error_without_context_propagates_as_itself() -> None:
    """A pmp error without a context (its __init__ skipped the base's) still propagates."""

    class BareError(ValidationError):
        def __init__(self) -> None:
            pass

    def fail(_: int) -> int:
        raise BareError

    with pytest.raises(BareError) as info:
        Pipeline(1).add(fail, name="bare").execute()
    assert "context" not in vars(info.value)


@pytest.mark.asyncio
async def test_cancelling_an_awaited_step_propagates() -> None:
    """Cancelling execute_async while a step is awaited raises CancelledError, not a step error."""
    started = asyncio.Event()

    async def forever(n: int) -> int:
        started.set()
        await asyncio.Event().wait()
        return n

    for pipeline in (Pipeline(1).add(forever), Pipeline(1).add_async(forever)):
        started.clear()
        task = asyncio.ensure_future(pipeline.execute_async())
        await started.wait()
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
