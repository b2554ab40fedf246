from __future__ import annotations

import asyncio
import threading
from typing import Any, Optional

import pytest

from pmp_decorators import TypeValidationError, set_validation_enabled, validate_types
from pmp_errors import ValidationError


@validate_types(name=str, age=int, email=str)
def create_user(name, age, email):
    return {"name": name, "age": age, "email": email}


def test_seed_form_accepts_good_arguments():
    """The seed's explicit form passes correct positional and keyword arguments."""
    assert create_user("Ada", 36, "a@x")["age"] == 36
    assert create_user(email="a@x", age=36, name="Ada")["name"] == "Ada"


@pytest.mark.parametrize(
    ("args", "field", "value"),
    [
        (("Ada", "36", "a@x"), "age", "36"),
        (("Ada", True, "a@x"), "age", True),
        (("Ada", 36.0, "a@x"), "age", 36.0),
        ((None, 36, "a@x"), "name", None),
        (("Ada", 36, b"a@x"), "email", b"a@x"),
    ],
)
def test_seed_form_rejects_bad_arguments(args, field, value):
    """A bad argument raises TypeValidationError (ValidationError and TypeError)."""
    with pytest.raises(TypeValidationError) as info:
        create_user(*args)
    err = info.value
    assert isinstance(err, ValidationError)
    assert isinstance(err, TypeError)
    assert (err.field, err.value, err.path) == (field, value, field)
    assert f"argument {field!r} must be" in str(err)
    assert err.expected in {"str", "int"}


def test_keyword_arguments_are_checked():
    """Arguments passed by keyword are checked like positional ones."""
    with pytest.raises(TypeValidationError) as info:
        create_user(name="Ada", age="x", email="e")
    assert info.value.field == "age"


def test_signature_is_exact_for_binding_errors():
    """Missing or extra arguments raise the usual TypeError from the signature."""
    with pytest.raises(TypeError, match="missing 1 required positional argument: 'email'"):
        create_user("Ada", 36)  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        create_user("Ada", 36, "e", x=1)  # type: ignore[call-arg]


def test_annotations_are_used_without_arguments():
    """validate_types() checks every annotated parameter, not unannotated ones."""

    @validate_types()
    def f(a: int, b, *, c: str = "x") -> int:
        return a

    assert f(1, object()) == 1
    assert f(1, 2, c="y") == 1
    with pytest.raises(TypeValidationError) as info:
        f(1, 2, c=3)  # type: ignore[arg-type]
    assert info.value.field == "c"


def test_defaults_are_checked_once_with_a_clear_message():
    """A default that does not match its annotation is reported as the default's fault."""

    @validate_types()
    def f(a: int = "zero"):  # type: ignore[assignment]
        return a

    for call in (f, lambda: f(3)):  # at the first call, whichever arguments it has
        with pytest.raises(TypeValidationError) as info:
            call()
        assert (info.value.field, info.value.value, info.value.expected) == ("a", "zero", "int")
        assert "the default of argument 'a' must be int, got str 'zero'" in str(info.value)


def test_explicit_types_check_defaults_at_decoration():
    """With explicit types a bad default fails when the function is decorated."""

    def f(items=(1, "2"), *, limit=None):
        return items, limit

    with pytest.raises(TypeValidationError) as info:
        validate_types(items=tuple[int, ...])(f)
    assert info.value.path == "items[1]"
    assert "default of argument 'items' at items[1]" in str(info.value)
    with pytest.raises(TypeValidationError, match="default of argument 'limit'"):
        validate_types(limit=int)(f)
    assert validate_types(limit=int | None)(f)() == ((1, "2"), None)


def test_return_value_is_checked_from_the_annotation():
    """The return annotation is checked in annotation mode."""

    @validate_types()
    def f(x: object) -> int:
        return x  # type: ignore[return-value]

    assert f(1) == 1
    with pytest.raises(TypeValidationError) as info:
        f("1")
    assert info.value.field == "return"
    assert "return value must be int" in str(info.value)


def test_return_key_in_explicit_map():
    """An explicit "return" entry checks the return value."""
    f = validate_types(x=int, **{"return": str})(lambda x: x)
    with pytest.raises(TypeValidationError):
        f(1)


def test_forward_reference_resolved_at_first_call():
    """Annotations naming a class defined after decoration resolve lazily."""

    @validate_types()
    def register(node: Later) -> Later:
        return node

    assert register(Later()).__class__ is Later
    with pytest.raises(TypeValidationError) as info:
        register(1)  # type: ignore[arg-type]
    assert info.value.expected is not None
    assert info.value.expected.endswith("Later")


class Later:
    pass


def test_string_in_explicit_map_is_resolved_lazily():
    """A string in the explicit map is resolved at the first call."""

    @validate_types(items="list[Later]")
    def f(items):
        return len(items)

    assert f([Later()]) == 1
    with pytest.raises(TypeValidationError) as info:
        f([Later(), 1])
    assert info.value.path == "items[1]"


def test_unknown_name_in_type_map_fails_at_decoration():
    """A name that the function does not have is refused at decoration."""
    with pytest.raises(ValidationError) as info:
        validate_types(nmae=str)(lambda name: name)
    assert info.value.field == "nmae"
    assert "has no parameter 'nmae'" in str(info.value)


def test_unsupported_type_fails_at_decoration():
    """A value in the map that is not a type is refused at decoration."""
    with pytest.raises(ValidationError) as info:
        validate_types(x=5)(lambda x: x)
    assert info.value.field == "x"


def test_reserved_parameter_names_are_refused():
    """Parameters named like the generated internals are refused."""
    with pytest.raises(ValidationError):
        validate_types(_pmp_f=int)(lambda _pmp_f: _pmp_f)


def test_non_callable_is_refused():
    """Decorating something that is not callable is a clear error."""
    with pytest.raises(ValidationError) as info:
        validate_types()(42)  # type: ignore[arg-type]
    assert (info.value.field, info.value.value) == ("func", 42)
    assert "got int 42" in str(info.value)


def test_a_class_is_refused_instead_of_becoming_a_function():
    """A class would turn into a function (isinstance breaks): refused, pointing at __init__."""

    class Point:
        def __init__(self, x: int) -> None:
            self.x = x

    with pytest.raises(ValidationError, match="__init__") as info:
        validate_types()(Point)
    assert info.value.field == "func"
    Point.__init__ = validate_types()(Point.__init__)  # type: ignore[method-assign]
    assert isinstance(Point(1), Point)
    with pytest.raises(TypeValidationError):
        Point("1")  # type: ignore[arg-type]


def test_a_dataclass_init_with_a_default_factory_is_validated():
    """The __init__ a dataclass generates passes a sentinel for default_factory fields."""
    import dataclasses

    @dataclasses.dataclass
    class Order:
        id: int
        items: list[str] = dataclasses.field(default_factory=list)

    Order.__init__ = validate_types()(Order.__init__)  # type: ignore[method-assign]
    assert Order(1).items == []
    assert Order(1, ["a"]).items == ["a"]
    with pytest.raises(TypeValidationError) as info:
        Order(1, [2])  # type: ignore[list-item]
    assert info.value.path == "items[0]"
    with pytest.raises(TypeValidationError):
        Order("1")  # type: ignore[arg-type]


def test_callable_objects_and_partials_are_checked_from_their_functions():
    """A callable instance is checked against its __call__, a partial against its function."""
    import functools

    class Scale:
        def __call__(self, value: int) -> int:
            return value * 2

    def area(width: int, height: int) -> int:
        return width * height

    scale = validate_types()(Scale())
    assert scale(2) == 4
    with pytest.raises(TypeValidationError) as info:
        scale("2")  # type: ignore[arg-type]
    assert info.value.field == "value"
    column = validate_types()(functools.partial(area, 3))
    assert column(2) == 6
    with pytest.raises(TypeValidationError) as info:
        column("2")
    assert info.value.field == "height"


def test_star_args_and_kwargs_items_are_checked():
    """*args items and **kwargs values are checked against their annotation."""

    @validate_types()
    def f(*args: int, **kwargs: str) -> int:
        return len(args) + len(kwargs)

    assert f(1, 2, a="x") == 3
    with pytest.raises(TypeValidationError) as info:
        f(1, "2")  # type: ignore[arg-type]
    assert (info.value.field, info.value.path) == ("args", "args[1]")
    with pytest.raises(TypeValidationError) as info:
        f(a=1)  # type: ignore[arg-type]
    assert info.value.path == "kwargs['a']"


def test_positional_only_and_keyword_only_parameters():
    """Positional-only and keyword-only parameters keep their kinds."""

    @validate_types(a=int, b=int, c=int)
    def f(a, /, b, *, c):
        return a + b + c

    assert f(1, 2, c=3) == 6
    assert f(1, b=2, c=3) == 6
    with pytest.raises(TypeError, match="positional"):
        f(a=1, b=2, c=3)  # type: ignore[call-arg]
    with pytest.raises(TypeValidationError):
        f(1, 2, c="3")


def test_positional_only_alone():
    """A function with only positional-only parameters is wrapped correctly."""
    f = validate_types(a=int)(eval("lambda a, /: a"))  # noqa: S307
    assert f(1) == 1


def test_container_error_has_the_path_of_the_bad_item():
    """The path points at the first bad item, also the last of a long list."""

    @validate_types(xs=list[int])
    def total(xs):
        return sum(xs)

    with pytest.raises(TypeValidationError) as info:
        total([*range(99), "x"])
    err = info.value
    assert (err.field, err.path, err.value, err.expected) == ("xs", "xs[99]", "x", "int")
    assert "at xs[99] must be int, got str 'x'" in str(err)


@pytest.mark.asyncio
async def test_async_functions_are_checked_and_awaited():
    """validate_types works on async def, including the awaited return value."""

    @validate_types()
    async def fetch(n: int) -> str:
        await asyncio.sleep(0)
        return "x" * n if n >= 0 else n  # type: ignore[return-value]

    assert asyncio.iscoroutinefunction(fetch)
    assert await fetch(2) == "xx"
    with pytest.raises(TypeValidationError):
        await fetch("2")  # type: ignore[arg-type]
    with pytest.raises(TypeValidationError):
        await fetch(-1)


@pytest.mark.asyncio
async def test_async_with_explicit_map():
    """The explicit map form works on async def too."""

    @validate_types(n=int)
    async def fetch(n):
        return n

    assert await fetch(1) == 1
    with pytest.raises(TypeValidationError):
        await fetch(None)


def test_methods_and_self_referencing_annotations():
    """Methods are checked; self is skipped; the class itself resolves lazily."""

    class Vec:
        def __init__(self, x: int) -> None:
            self.x = x

        @validate_types(other=Any)
        def anything(self, other):
            return other

    @validate_types()
    def add(a: Point, b: Point) -> Point:
        return Point(a.x + b.x)

    assert add(Point(1), Point(2)).x == 3
    with pytest.raises(TypeValidationError):
        add(Point(1), 2)  # type: ignore[arg-type]
    v = Vec(1)
    assert v.anything(object) is object

    class Account:
        @validate_types(amount=int)
        def deposit(self, amount):
            return amount

    assert Account().deposit(3) == 3
    with pytest.raises(TypeValidationError):
        Account().deposit(3.5)


class Point:
    def __init__(self, x: int) -> None:
        self.x = x


def test_switch_disables_and_restores_checking():
    """set_validation_enabled(False) forwards unchecked; leaving the block restores."""

    @validate_types()
    def f(x: int) -> int:
        return x

    with set_validation_enabled(False):
        assert f("not checked") == "not checked"  # type: ignore[arg-type, comparison-overlap]
    with pytest.raises(TypeValidationError):
        f("checked")  # type: ignore[arg-type]
    handle = set_validation_enabled(False)
    assert create_user(1, 2, 3)["name"] == 1
    handle.restore()
    with pytest.raises(TypeValidationError):
        create_user(1, 2, 3)


def test_switch_off_skips_return_check_too():
    """With checks off, the return value is not checked either."""

    @validate_types()
    def f(x: int) -> str:
        return x  # type: ignore[return-value]

    with set_validation_enabled(False):
        assert f(1) == 1  # type: ignore[comparison-overlap]
    with pytest.raises(TypeValidationError):
        f(1)


def test_first_calls_from_many_threads_build_once():
    """Concurrent first calls all get checked results; the wrapper is built once."""

    @validate_types()
    def f(x: int) -> int:
        return x

    barrier = threading.Barrier(4)
    results: list[object] = []

    def call(value):
        barrier.wait()
        try:
            results.append(f(value))
        except TypeValidationError as exc:
            results.append(exc.field)

    threads = [threading.Thread(target=call, args=(v,)) for v in (1, 2, "x", 3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(map(str, results)) == ["1", "2", "3", "x"]


def test_metadata_is_kept():
    """__name__, __doc__, __wrapped__ and the signature stay those of the function."""
    import inspect

    def f(a: int, b: Optional[str] = None) -> int:  # noqa: UP045
        """Doc."""
        return a

    wrapped = validate_types()(f)
    assert (wrapped.__name__, wrapped.__doc__, wrapped.__wrapped__) == ("f", "Doc.", f)  # type: ignore[attr-defined]
    assert inspect.signature(wrapped) == inspect.signature(f)
    assert wrapped.__defaults__ == (None,)


def test_odd_function_name_still_works():
    """A function whose __name__ is not an identifier is still wrapped."""
    f = validate_types(x=int)(lambda x: x)
    assert f.__name__ == "<lambda>"
    assert f(1) == 1


def test_function_without_checks_just_forwards():
    """With nothing to check (Any, unannotated) the call is forwarded."""

    @validate_types()
    def f(a, b: Any) -> Any:
        return (a, b)

    assert f(1, 2) == (1, 2)


def test_keyword_only_after_star_args():
    """Keyword-only parameters after *args keep their kind."""

    @validate_types()
    def f(*args: int, k: int) -> int:
        return sum(args) + k

    assert f(1, 2, k=3) == 6
    with pytest.raises(TypeValidationError) as info:
        f(1, k="3")  # type: ignore[arg-type]
    assert info.value.field == "k"


def test_building_twice_is_harmless():
    """A second build request after the first call changes nothing."""

    @validate_types()
    def f(x: int) -> int:
        return x

    assert f(1) == 1
    code = f.__code__
    f.__globals__["_pmp_build"]()
    assert f.__code__ is code
    with pytest.raises(TypeValidationError):
        f("1")  # type: ignore[arg-type]


def test_static_and_class_methods_keep_their_kind():
    """Placed above @staticmethod or @classmethod, the method kind is kept."""

    class Tools:
        @validate_types()
        @staticmethod
        def double(x: int) -> int:
            return 2 * x

        @validate_types()
        @classmethod
        def name(cls, suffix: str) -> str:
            return cls.__name__ + suffix

    assert Tools.double(2) == 4
    assert Tools().double(3) == 6
    assert Tools.name("!") == "Tools!"
    with pytest.raises(TypeValidationError):
        Tools.double("2")  # type: ignore[arg-type]
    with pytest.raises(TypeValidationError):
        Tools.name(1)  # type: ignore[arg-type]
