"""Tests for the exception hierarchy: construction, attributes, rendering, pickling."""

from __future__ import annotations

import builtins
import copy
import json
import pickle
import sys
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import pytest

import pmp_errors
from pmp_errors import (
    APIError,
    ConfigurationError,
    DataProcessingError,
    PortfolioError,
    RateLimitError,
    ValidationError,
)
from pmp_errors._json import MAX_NODES


class RequiredKwError(PortfolioError):
    """A user subclass with a required keyword-only argument."""

    def __init__(self, *, retry_after: float) -> None:
        super().__init__("wait", retry_after=retry_after)
        self.retry_after = retry_after


class BuiltMessageError(ValidationError):
    """A user subclass that builds its message in ``__init__``."""

    def __init__(self, field: str) -> None:
        super().__init__(f"invalid field {field!r}", field=field)


class CustomCodeError(PortfolioError):
    code = "payment_declined"
    status = 402
    title = "Payment declined"


EXAMPLES: list[PortfolioError] = [
    PortfolioError("base", order_id=7),
    ValidationError("Age cannot be negative", field="age", value=-1),
    RateLimitError("Too many requests", retry_after=60.0, limit=100),
    ConfigurationError("Missing required environment variable", config_key="API_KEY"),
    DataProcessingError("Failed to process row", step="validation", row_index=42),
    APIError("Upstream failed", status_code=503, endpoint="/users"),
    RequiredKwError(retry_after=1.5),
    BuiltMessageError("age"),
    CustomCodeError("declined", amount=3),
]


# BaseException declares __notes__ only from 3.11, so the tests reach it by name on every version
_NOTES = "__notes__"


def _add_note(exc: BaseException, note: str) -> None:
    """Add a PEP 678 note the way 3.11+ does, also on 3.10."""
    notes = getattr(exc, _NOTES, None)
    if notes is None:
        notes = []
        setattr(exc, _NOTES, notes)
    notes.append(note)


def _raise_in_worker(kind: str) -> None:
    if kind == "required":
        raise RequiredKwError(retry_after=2.0)
    raise ValidationError("bad", field="f", value=[1, 2])


def test_message_and_context() -> None:
    """The message is str(e) and context holds the keyword arguments."""
    e = PortfolioError("Payment failed", order_id=42, user="ann")
    assert str(e) == "Payment failed"
    assert e.message == "Payment failed"
    assert e.context == {"order_id": 42, "user": "ann"}
    assert e.args == ("Payment failed",)


@pytest.mark.parametrize(
    ("exc", "attrs"),
    [
        (ValidationError("m", field="age", value=-1), {"field": "age", "value": -1}),
        (RateLimitError("m", retry_after=60.0, limit=5), {"retry_after": 60.0, "limit": 5}),
        (ConfigurationError("m", config_key="API_KEY"), {"config_key": "API_KEY"}),
        (DataProcessingError("m", step="load", row_index=3), {"step": "load", "row_index": 3}),
        (APIError("m", status_code=404, endpoint="/x"), {"status_code": 404, "endpoint": "/x"}),
    ],
)
def test_named_context_is_in_context_and_attributes(
    exc: PortfolioError, attrs: dict[str, Any]
) -> None:
    """Each subclass exposes its named context both in .context and as attributes."""
    for name, expected in attrs.items():
        assert getattr(exc, name) == expected
        assert exc.context[name] == expected


def test_unset_named_context_is_absent() -> None:
    """Named context that was not given is absent from .context and reads as None."""
    e = ValidationError("m")
    assert e.context == {}
    assert e.field is None
    assert e.value is None


def test_explicit_none_value_is_recorded() -> None:
    """value=None is a real value for validation and is kept."""
    assert ValidationError("m", value=None).context == {"value": None}


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (PortfolioError, "portfolio_error"),
        (ValidationError, "validation_error"),
        (RateLimitError, "rate_limit_error"),
        (ConfigurationError, "configuration_error"),
        (DataProcessingError, "data_processing_error"),
        (APIError, "api_error"),
        (RequiredKwError, "required_kw_error"),
        (CustomCodeError, "payment_declined"),
    ],
)
def test_code_is_stable_snake_case(cls: type[PortfolioError], code: str) -> None:
    """Each class has a stable snake_case code derived from its name unless set."""
    assert cls.code == code


def test_context_is_copied() -> None:
    """Mutating the caller's dict or the rendered dict never changes the exception."""
    data = {"k": 1}
    e = PortfolioError("m", **data)
    data["k"] = 2
    rendered = e.to_dict()
    rendered["context"]["k"] = 3
    assert e.context == {"k": 1}
    assert e.to_dict()["context"] == {"k": 1}


def test_repr_shows_class_message_and_context() -> None:
    """Repr shows the class, the message and the context."""
    e = ValidationError("bad", field="age", value=-1)
    assert repr(e) == "ValidationError('bad', field='age', value=-1)"


def test_repr_survives_hostile_values() -> None:
    """A context value whose __repr__ raises does not break repr()."""

    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError

    assert "unrepresentable" in repr(PortfolioError("m", h=Hostile()))


def test_non_str_message_is_kept_readable() -> None:
    """A non-str message is stored as its repr instead of failing."""
    assert PortfolioError(123).message == "123"  # type: ignore[arg-type]


@pytest.mark.parametrize("exc", EXAMPLES, ids=lambda e: type(e).__name__)
def test_to_dict_is_json(exc: PortfolioError) -> None:
    """to_dict() has the documented keys and passes a strict json.dumps."""
    d = exc.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["type"] == type(exc).__qualname__
    assert d["code"] == exc.code
    assert d["message"] == exc.message
    assert set(d) >= {"type", "code", "message", "context", "notes"}


def test_to_dict_includes_notes_and_cause_chain() -> None:
    """Notes and the explicit cause chain appear in the rendered dict."""
    try:
        try:
            empty: dict[str, int] = {}
            empty["missing"]
        except KeyError as inner:
            err = DataProcessingError("Failed to process row", step="validation", row_index=42)
            _add_note(err, "row came from upload 7")
            raise err from inner
    except DataProcessingError as e:
        d = e.to_dict()
    assert d["notes"] == ["row came from upload 7"]
    assert d["cause"]["type"] == "KeyError"
    assert d["cause"]["chained"] == "cause"
    assert d["cause"]["message"] == "'missing'"


def test_to_dict_follows_implicit_context_unless_suppressed() -> None:
    """Implicit __context__ is followed, but not when suppressed by `from None`."""
    with pytest.raises(PortfolioError) as implicit:
        try:
            raise ValueError("first")
        except ValueError:
            raise PortfolioError("second")  # noqa: B904
    assert implicit.value.to_dict()["cause"]["chained"] == "context"
    with pytest.raises(PortfolioError) as suppressed:
        try:
            raise ValueError("first")
        except ValueError:
            raise PortfolioError("second") from None
    assert "cause" not in suppressed.value.to_dict()


def test_cause_chain_is_bounded_and_cycle_safe() -> None:
    """A cyclic or very long cause chain renders without looping."""
    a = PortfolioError("a")
    b = PortfolioError("b")
    a.__cause__ = b
    b.__cause__ = a
    d = a.to_dict()
    assert d["cause"]["message"] == "b"
    assert "cause" not in d["cause"]
    head = PortfolioError("0")
    current: BaseException = head
    for i in range(1, 100):
        nxt = PortfolioError(str(i))
        current.__cause__ = nxt
        current = nxt
    depth = 0
    node: dict[str, Any] = dict(head.to_dict())
    while "cause" in node:
        node = dict(node["cause"])
        depth += 1
    assert depth == 8
    json.dumps(head.to_dict(), allow_nan=False)


def test_to_dict_never_includes_traceback_or_locals() -> None:
    """No traceback text or local variable appears in the rendered data."""
    secret = "hunter2"  # noqa: S105
    try:
        raise PortfolioError("m") from RuntimeError("x")
    except PortfolioError as e:
        text = json.dumps(e.to_dict()) + json.dumps(e.to_problem())
    assert secret not in text
    assert "Traceback" not in text
    assert "line" not in text


def test_exception_in_its_own_context_is_a_cycle() -> None:
    """An error held in its own context (or in its cause's) renders a cycle marker once."""
    e = PortfolioError("outer")
    e.context["me"] = e
    assert e.to_dict()["context"] == {"me": "<cycle: pmp_errors._core.PortfolioError>"}
    inner = ValidationError("inner", field="f")
    inner.context["back"] = e
    e.__cause__ = inner
    cause = e.to_dict()["cause"]
    assert cause["context"]["back"] == "<cycle: pmp_errors._core.PortfolioError>"
    pair = PortfolioError("a"), PortfolioError("b")
    pair[0].context["other"], pair[1].context["other"] = pair[1], pair[0]
    other: Any = pair[0].to_dict()["context"]["other"]
    assert other["context"]["other"] == "<cycle: pmp_errors._core.PortfolioError>"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup needs Python 3.11")
def test_nested_groups_sharing_members_stay_bounded() -> None:
    """Groups that repeat the same member many times over are cut at the size limit."""
    group_cls: Any = vars(builtins)["ExceptionGroup"]
    group = group_cls("g0", [ValueError("v")] * 8)
    for level in range(5):
        group = group_cls(f"g{level + 1}", [group] * 8)  # 300,000 members, seven objects
    text = json.dumps(PortfolioError("m", failures=group).to_dict(), allow_nan=False)
    assert text.count('"type":') <= MAX_NODES


@pytest.mark.skipif(sys.version_info < (3, 11), reason="ExceptionGroup needs Python 3.11")
def test_exception_group_members_are_rendered() -> None:
    """An ExceptionGroup in the context or the cause renders each member."""
    group_cls: Any = vars(builtins)["ExceptionGroup"]
    group = group_cls("two failed", [ValueError("a"), ValidationError("b", field="x")])
    err = PortfolioError("batch failed", failures=group)
    err.__cause__ = group
    d = err.to_dict()
    members = d["cause"]["exceptions"]
    assert [m["type"] for m in members] == ["ValueError", "ValidationError"]
    assert members[1]["context"] == {"field": "x"}
    ctx: Any = d["context"]["failures"]
    assert len(ctx["exceptions"]) == 2
    json.dumps(d, allow_nan=False)


@pytest.mark.parametrize("exc", EXAMPLES, ids=lambda e: type(e).__name__)
@pytest.mark.parametrize(
    "clone",
    [lambda e: pickle.loads(pickle.dumps(e)), copy.copy, copy.deepcopy],
    ids=["pickle", "copy", "deepcopy"],
)
def test_round_trips_keep_everything(exc: PortfolioError, clone: Any) -> None:
    """pickle, copy and deepcopy keep class, message, context, attributes and notes."""
    _add_note(exc, "a note")
    try:
        other = clone(exc)
    finally:
        delattr(exc, _NOTES)
    assert type(other) is type(exc)
    assert other.message == exc.message
    assert other.context == exc.context
    assert other.args == exc.args
    assert getattr(other, _NOTES) == ["a note"]
    assert vars(other).keys() == vars(exc).keys() | {"__notes__"}
    assert other.to_dict()["context"] == exc.to_dict()["context"]


def test_copy_does_not_share_context() -> None:
    """A copy gets its own context dict."""
    e = PortfolioError("m", k=1)
    c = copy.copy(e)
    c.context["k"] = 2
    assert e.context == {"k": 1}


@pytest.mark.parametrize("kind", ["required", "plain"])
def test_exception_crosses_process_pool(kind: str) -> None:
    """An error raised in a worker process arrives as the same class and fields."""
    with ProcessPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_raise_in_worker, kind)
        error = future.exception(timeout=60)
    if kind == "required":
        assert isinstance(error, RequiredKwError)
        assert error.retry_after == 2.0
        assert error.context == {"retry_after": 2.0}
    else:
        assert isinstance(error, ValidationError)
        assert error.field == "f"
        assert error.value == [1, 2]


def test_version_matches_metadata() -> None:
    """__version__ comes from the installed distribution metadata."""
    from importlib.metadata import version

    assert pmp_errors.__version__ == version("pmp-errors")
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = pmp_errors.nope


def test_all_is_sorted_and_complete() -> None:
    """__all__ is sorted and every name in it exists."""
    assert list(pmp_errors.__all__) == sorted(pmp_errors.__all__)
    for name in pmp_errors.__all__:
        assert hasattr(pmp_errors, name)


class _RaisingNotes(Exception):
    @property
    def __notes__(self) -> list[str]:
        raise RuntimeError("unreadable")

    # from 3.11 BaseException.__notes__ is a writeable attribute, which a read-only property
    # may not override
    @__notes__.setter
    def __notes__(self, value: list[str]) -> None:
        raise RuntimeError("unwritable")


@pytest.mark.parametrize(
    ("notes", "expected"),
    [
        (["a", 1], ["a", "1"]),
        (("from", "tuple"), ["from", "tuple"]),
        ("not a list", ["'not a list'"]),
        (42, ["42"]),
        ([f"n{i}" for i in range(250)], [*(f"n{i}" for i in range(200)), "<truncated: 50 more>"]),
    ],
    ids=["list", "tuple", "str", "int", "many"],
)
def test_notes_of_any_shape_are_rendered(notes: object, expected: list[str]) -> None:
    """Notes that are not a list are rendered as the traceback module shows them, bounded."""
    err = ValueError("v")
    setattr(err, _NOTES, notes)
    assert pmp_errors.exception_to_dict(err)["notes"] == expected


def test_unreadable_notes_do_not_break_rendering() -> None:
    """A __notes__ that raises on access gives a placeholder note."""
    notes = pmp_errors.exception_to_dict(_RaisingNotes("v"))["notes"]
    assert notes == ["<__notes__ could not be read: RuntimeError('unreadable')>"]


class NoSuperInitError(ValidationError):
    """A user subclass whose __init__ forgets to call super().__init__."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


class LoudError(PortfolioError):
    """A user subclass that overrides __str__."""

    status = 409

    def __str__(self) -> str:
        return f"LOUD: {self.message.upper()}"


class HostileGroupError(Exception):
    """An exception whose attributes raise when read."""

    @property
    def exceptions(self) -> tuple[BaseException, ...]:
        raise RuntimeError("no members")


def test_subclass_without_super_init_still_renders() -> None:
    """str, repr, to_dict, to_problem and pickle work even if super().__init__ was skipped."""
    e = NoSuperInitError("too short")
    assert str(e) == "too short"
    assert repr(e) == "NoSuperInitError('too short')"
    d = e.to_dict()
    assert (d["message"], d["context"], d["code"]) == ("too short", {}, "no_super_init_error")
    p = e.to_problem()
    assert (p["detail"], p["status"]) == ("too short", 422)
    clone = pickle.loads(pickle.dumps(e))
    assert (type(clone), clone.reason, str(clone)) == (NoSuperInitError, "too short", "too short")
    json.dumps(d, allow_nan=False)


def test_raising_http_status_falls_back_to_the_class_status() -> None:
    """to_problem() uses the class's status when an overridden http_status raises."""

    class PerInstanceStatusError(PortfolioError):
        status = 409

        def __init__(self) -> None:
            pass  # skips super().__init__: no context

        @property
        def http_status(self) -> int:
            return int(self.context["status"])

    assert PerInstanceStatusError().to_problem()["status"] == 409


def test_overridden_str_is_the_rendered_message() -> None:
    """A subclass's own __str__ is what to_dict() and to_problem() show."""
    e = LoudError("disk full", device="sda")
    assert e.message == "disk full"
    assert e.to_dict()["message"] == "LOUD: DISK FULL"
    assert e.to_problem()["detail"] == "LOUD: DISK FULL"


def test_hostile_exception_attributes_never_escape() -> None:
    """An exception whose attributes raise renders with what could be read."""
    err = PortfolioError("outer")
    err.__cause__ = HostileGroupError("inner")
    cause = err.to_dict()["cause"]
    assert cause["type"] == f"{__name__}.HostileGroupError"
    assert cause["message"] == "inner"
    json.dumps(err.to_dict(), allow_nan=False)
