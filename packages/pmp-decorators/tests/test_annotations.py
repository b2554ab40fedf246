"""validate_types never refuses a correct call, whatever the annotations look like."""

from __future__ import annotations

import numbers  # noqa: TC003 - validate_types reads the annotations at run time
import sys
import typing
import warnings
from collections.abc import Callable, Hashable  # noqa: TC003 - read at run time
from typing import TYPE_CHECKING, ParamSpec, Protocol, SupportsIndex, SupportsInt, TypeVar

import pytest
import typing_extensions

from pmp_decorators import TypeValidationError, UnresolvedAnnotationWarning, validate_types
from pmp_errors import ValidationError

if TYPE_CHECKING:
    from decimal import Decimal as Engine

P = ParamSpec("P")
M = TypeVar("M", bound="Model")


class Model:
    """A class named by a TypeVar bound as a string."""


def test_type_checking_import_is_skipped_with_one_warning():
    """A name imported under TYPE_CHECKING is not checked, with one warning; the rest is."""

    @validate_types()
    def connect(engine: Engine, retries: int, spare: list[Engine] | None = None) -> int:
        return retries

    with pytest.warns(UnresolvedAnnotationWarning, match="'Engine'") as record:
        assert connect(object(), 2) == 2  # type: ignore[arg-type]
    assert record[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert connect(object(), 3) == 3  # type: ignore[arg-type]  # no second warning
        with pytest.raises(TypeValidationError) as info:
            connect(object(), "2")  # type: ignore[arg-type]
        assert info.value.field == "retries"
        with pytest.raises(TypeValidationError) as info:
            connect(object(), 2, spare=5)  # type: ignore[arg-type]
        assert info.value.field == "spare"
        assert connect(object(), 2, spare=[object()]) == 2  # type: ignore[arg-type,list-item]


def test_unresolvable_annotation_is_skipped_not_failing():
    """A name defined nowhere is skipped (one warning) instead of failing every call."""

    @validate_types()
    def f(x: int, y: NoSuchName) -> None:  # type: ignore[name-defined]  # noqa: F821
        pass

    with pytest.warns(UnresolvedAnnotationWarning, match="'NoSuchName'"):
        f(1, 2)
    with pytest.raises(TypeValidationError):
        f("1", 2)  # type: ignore[arg-type]


_BUILDS: list[int] = []


def _counted_unsupported() -> object:
    _BUILDS.append(1)
    return 5  # not a type: the build fails


def test_failed_build_is_not_repeated_on_every_call():
    """A build that fails raises the same error on later calls without building again."""

    @validate_types()
    def f(x: _counted_unsupported()) -> None:  # type: ignore[valid-type]
        pass

    _BUILDS.clear()
    with pytest.raises(ValidationError, match="cannot check 'x'"):
        f(1)
    built = len(_BUILDS)
    assert built >= 1
    for _ in range(2):
        with pytest.raises(ValidationError, match="cannot check 'x'"):
            f(1)
    assert len(_BUILDS) == built


@pytest.mark.parametrize("value", [True, False])
def test_bool_passes_for_protocols_and_abcs_it_implements(value):
    """Bool is refused only for int (and float/complex), not for Hashable, Number, Supports*."""

    @validate_types()
    def f(a: Hashable, n: numbers.Number, i: SupportsIndex, j: SupportsInt) -> None:
        pass

    f(value, value, value, value)

    @validate_types()
    def g(n: int | str) -> None:
        pass

    with pytest.raises(TypeValidationError):
        g(value)


def test_paramspec_args_and_kwargs_are_not_refused():
    """*args: P.args and **kwargs: P.kwargs accept any arguments."""

    def forward(func: Callable[P, int]) -> Callable[P, int]:
        @validate_types()
        def inner(*args: P.args, **kwargs: P.kwargs) -> int:
            return func(*args, **kwargs)

        return inner

    assert forward(lambda x, *, y: x + y)(1, y=2) == 3


class Greeter(Protocol):
    def greet(self) -> str: ...


class Hello:
    def greet(self) -> str:
        return "hi"


def test_non_runtime_protocol_is_not_checked():
    """A Protocol without @runtime_checkable cannot be checked, so it is skipped."""

    @validate_types()
    def greet(g: Greeter, times: int) -> str:
        return g.greet() * times

    assert greet(Hello(), 2) == "hihi"
    with pytest.raises(TypeValidationError):
        greet(Hello(), "2")  # type: ignore[arg-type]


def test_typevar_bound_given_as_a_string_is_resolved():
    """TypeVar(bound="Model") checks against Model, resolved in the TypeVar's module."""

    @validate_types()
    def pick(m: M) -> M:
        return m

    model = Model()
    assert pick(model) is model
    with pytest.raises(TypeValidationError) as info:
        pick(1)  # type: ignore[type-var]
    assert info.value.expected is not None
    assert info.value.expected.endswith("Model")


class Tree(typing_extensions.TypedDict):
    value: int
    children: list[Tree]


def test_recursive_typeddict_is_checked_at_every_level():
    """A TypedDict that contains itself is checked to full depth."""

    @validate_types()
    def size(t: Tree) -> int:
        return 1 + sum(size(c) for c in t["children"])

    leaf: Tree = {"value": 2, "children": []}
    assert size({"value": 1, "children": [leaf, {"value": 3, "children": [leaf]}]}) == 4
    bad = {"value": 1, "children": [{"value": 2, "children": [{"value": "x", "children": []}]}]}
    with pytest.raises(TypeValidationError) as info:
        size(bad)  # type: ignore[arg-type]
    assert info.value.path == "t['children'][0]['children'][0]['value']"


class Options(typing_extensions.TypedDict):
    name: str
    size: typing_extensions.NotRequired[int]
    tag: typing_extensions.Annotated[typing_extensions.NotRequired[str], "label"]


class Patch(typing_extensions.TypedDict, total=False):
    id: typing_extensions.Required[int]
    name: str


def test_required_and_not_required_keys_hold_under_string_annotations():
    """NotRequired and Required decide the keys even where the class sees only strings."""

    @validate_types()
    def apply(options: Options, patch: Patch) -> str:
        return options["name"]

    assert apply({"name": "a"}, {"id": 1}) == "a"
    assert apply({"name": "a", "size": 2}, {"id": 1, "name": "b"}) == "a"
    with pytest.raises(TypeValidationError) as info:
        apply({"name": "a"}, {"name": "b"})  # type: ignore[typeddict-item]
    assert info.value.path == "patch['id']"
    with pytest.raises(TypeValidationError) as info:
        apply({"size": 2}, {"id": 1})  # type: ignore[typeddict-item]
    assert info.value.path == "options['name']"


Ts = typing_extensions.TypeVarTuple("Ts")


class Settings(typing_extensions.TypedDict):
    host: str
    port: typing_extensions.NotRequired[int]


def test_unpacked_keyword_and_variadic_arguments_are_checked_or_skipped():
    """**kwargs: Unpack[TD] checks the keywords as the TypedDict; *args: Unpack[Ts] is skipped."""

    @validate_types()
    def connect(**options: typing_extensions.Unpack[Settings]) -> str:
        return options["host"]

    @validate_types()
    def spread(*args: typing_extensions.Unpack[Ts]) -> int:
        return len(args)

    @validate_types()
    def pair(*args: typing_extensions.Unpack[tuple[int, str]]) -> int:
        return len(args)

    @validate_types()
    def head(row: tuple[int, typing_extensions.Unpack[Ts]]) -> int:
        return row[0]

    assert connect(host="db") == "db"
    assert connect(host="db", port=5432) == "db"
    with pytest.raises(TypeValidationError) as info:
        connect(host="db", port="5432")  # type: ignore[arg-type]
    assert info.value.path == "options['port']"
    assert spread(1, "a", None) == 3
    assert pair(1, "a") == 2
    with pytest.raises(TypeValidationError) as info:
        pair("a", 1)  # type: ignore[arg-type]
    assert info.value.path == "args[0]"
    assert head((1, "a", b"b")) == 1
    with pytest.raises(TypeValidationError):
        head([1, "a"])  # type: ignore[arg-type]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="*args: *tuple[...] needs 3.11")
def test_star_unpacked_tuple_checks_the_arguments_as_that_tuple():
    """*args: *tuple[int, str] checks the arguments as one tuple of that shape."""
    namespace: dict[str, object] = {"validate_types": validate_types}
    source = "@validate_types()\ndef pair(*args: *tuple[int, str]) -> int:\n    return len(args)\n"
    exec(source, namespace)  # noqa: S102 - syntax that 3.10 cannot parse
    pair: Callable[..., int] = namespace["pair"]  # type: ignore[assignment]
    assert pair(1, "a") == 2
    with pytest.raises(TypeValidationError) as info:
        pair("a", 1)
    assert info.value.path == "args[0]"


class Builder:
    class Part:
        """A name that only the class scope defines."""

    @validate_types()
    def add(self, part: Part) -> Builder:
        return self

    @validate_types()
    def clone(self) -> typing_extensions.Self:
        return self


def test_class_scope_names_and_self_resolve():
    """A nested class named in a method's annotation resolves; Self is not refused."""
    builder = Builder()
    assert builder.add(Builder.Part()) is builder
    assert builder.clone() is builder
    with pytest.raises(TypeValidationError) as info:
        builder.add(1)  # type: ignore[arg-type]
    assert info.value.expected is not None
    assert info.value.expected.endswith("Builder.Part")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="typing.Self needs 3.11")
def test_typing_self_is_not_refused():
    """typing.Self in a return annotation is not refused."""

    class Node:
        @validate_types()
        def me(self) -> typing.Self:  # type: ignore[name-defined,unused-ignore]
            return self

    node = Node()
    assert node.me() is node


_LAZY_SOURCE = """
from typing import TYPE_CHECKING

from pmp_decorators import validate_types

if TYPE_CHECKING:
    from decimal import Decimal as Engine


@validate_types()
def connect(engine: Engine, retries: int, spare: list[Engine] | None = None) -> int:
    return retries
"""


@pytest.mark.skipif(sys.version_info < (3, 14), reason="lazy annotations (PEP 649) need 3.14")
def test_lazy_annotations_with_type_checking_imports():  # pragma: no cover - runs on 3.14+
    """Without the __future__ import, 3.14 reads the annotations through annotationlib."""
    namespace: dict[str, object] = {"__name__": "lazy_example"}
    exec(_LAZY_SOURCE, namespace)  # noqa: S102 - a module body that 3.10-3.13 cannot define
    connect = namespace["connect"]
    assert callable(connect)
    with pytest.warns(UnresolvedAnnotationWarning, match="'Engine'"):
        assert connect(object(), 2) == 2
    with pytest.raises(TypeValidationError):
        connect(object(), "2")
    with pytest.raises(TypeValidationError):
        connect(object(), 2, spare=5)


@pytest.mark.parametrize(
    ("annotation", "good", "bad", "expected"),
    [
        ("list[Missing]", [object()], 5, "list[Missing]"),
        ("dict[str, Missing[int]]", {"a": 1}, {1: 1}, "str"),
        ("missing_module.Engine | int", "anything", None, None),
        (typing.ForwardRef("Missing"), "anything", None, None),
    ],
    ids=repr,
)
def test_unresolved_parts_of_annotations_are_skipped(annotation, good, bad, expected):
    """Only what names something missing is skipped; the rest of the annotation is checked."""
    f = validate_types(x=annotation)(lambda x: x)
    with pytest.warns(UnresolvedAnnotationWarning):
        assert f(good) is good
    if bad is not None:
        with pytest.raises(TypeValidationError) as info:
            f(bad)
        assert info.value.expected == expected


def test_annotation_that_is_not_an_expression_is_skipped_with_a_warning():
    """A string annotation that does not parse is not checked, and the warning names it."""

    @validate_types()
    def f(x: "list[int", y: int) -> None:  # type: ignore[valid-type]  # noqa: F722
        pass

    with pytest.warns(UnresolvedAnnotationWarning, match=r"list\[int"):
        f("anything", 1)
    with pytest.raises(TypeValidationError):
        f("anything", "1")  # type: ignore[arg-type]


class Repository:
    Id: typing.TypeAlias = int

    @validate_types()
    def list(self, since: Id = 0) -> list[int]:
        return [since]

    @validate_types()
    def broken(self) -> list[int]:  # type: ignore[valid-type]  # the point here
        return ["x"]


def test_methods_named_like_builtins_do_not_hide_them():
    """A method called list does not shadow the builtin in annotations; class aliases resolve."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Repository().list(3) == [3]
        with pytest.raises(TypeValidationError):
            Repository().list("3")  # type: ignore[arg-type]
        with pytest.raises(TypeValidationError) as info:
            Repository().broken()
    assert info.value.path == "return[0]"


def test_string_inside_a_generic_alias_is_not_refused():
    """list["Missing"]: the list is checked, the unresolvable item type is not."""
    f = validate_types(x=list["Missing"])(lambda x: x)  # type: ignore[name-defined]  # noqa: F821
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnresolvedAnnotationWarning)  # 3.11+ warns, 3.10 does not
        assert f([1, "a"]) == [1, "a"]
    with pytest.raises(TypeValidationError):
        f((1,))
