"""Tests for RFC 9457 problem documents: what is safe to send, the type URI, headers, rebuilding."""

from __future__ import annotations

import copy
import gc
import http
import json
import pickle
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_errors import (
    APIError,
    ConfigurationError,
    DataProcessingError,
    PortfolioError,
    ProblemError,
    RateLimitError,
    ValidationError,
    from_problem,
)

SECRET = "hunter2"  # noqa: S105 - the value that must never reach a client


class PaymentDeclinedError(PortfolioError):
    """A user subclass with a 4xx status and one public context entry."""

    status = 402
    public = frozenset({"order_id"})

    def __init__(self, *, order_id: int, card: str) -> None:
        super().__init__(f"payment for order {order_id} declined", order_id=order_id, card=card)


class DocumentedError(PortfolioError):
    """A user subclass whose problem type points at the user's documentation."""

    status = 409
    problem_base = "https://docs.example.com/errors/"


class GatewayTimeoutError(APIError):
    """An upstream failure answered with a configured status."""

    status = 504


EXAMPLES: list[PortfolioError] = [
    PortfolioError("base", order_id=7),
    ValidationError("Age cannot be negative", field="age", value=-1),
    RateLimitError("Too many requests", retry_after=60.0, limit=100),
    ConfigurationError("Missing required environment variable", config_key="API_KEY"),
    DataProcessingError("Failed to process row", step="validation", row_index=42),
    APIError("Upstream failed", status_code=503, endpoint="/users"),
    PaymentDeclinedError(order_id=7, card="4111"),
    DocumentedError("conflict", version=3).expose("version"),
    ValidationError("bad", field="f", value=[1], **{"1bad": 2}).expose("value", "1bad"),
]


@pytest.mark.parametrize("exc", EXAMPLES, ids=lambda e: type(e).__name__)
def test_problem_is_rfc9457(exc: PortfolioError) -> None:
    """Every problem has type, title, status, detail and code, and is strict JSON."""
    p = exc.to_problem()
    json.dumps(p, allow_nan=False)
    assert list(p)[:4] == ["type", "title", "status", "detail"]
    assert p["status"] == exc.http_status
    assert p["code"] == exc.code
    assert isinstance(p["type"], str)
    assert p["type"] == "about:blank" or p["type"].startswith("https://")


def test_private_context_never_reaches_the_problem() -> None:
    """A validation error shows its field but never the offending value."""
    p = ValidationError("Too short", field="password", value=SECRET, attempt=3).to_problem()
    assert p["field"] == "password"
    assert "value" not in p
    assert "attempt" not in p
    assert SECRET not in json.dumps(p)


def test_to_dict_stays_the_full_record() -> None:
    """to_dict() keeps every context entry and the real message of a 5xx error."""
    e = ConfigurationError("cannot reach postgres://app:hunter2@db", config_key="DB_URL")
    d = e.to_dict()
    assert d["message"] == e.message
    assert d["context"] == {"config_key": "DB_URL"}
    assert SECRET not in json.dumps(e.to_problem())


def test_raiser_marks_context_public() -> None:
    """expose() adds context entries to what the class already shows, and returns the error."""
    e = ValidationError("Not a colour", field="colour", value="purpl")
    assert e.expose("value") is e
    assert e.exposed == {"field", "value"}
    p = e.to_problem()
    assert (p["field"], p["value"]) == ("colour", "purpl")
    assert PortfolioError("m", order_id=1).expose("order_id").to_problem()["order_id"] == 1
    assert PortfolioError("m", a=1).expose("a").expose("b").exposed == {"a", "b"}


def test_any_context_name_is_still_context() -> None:
    """No keyword is taken from the context: "public" and "expose" are context entries too."""
    e = PortfolioError("m", public=[None], expose=1, exposed=2)
    assert e.context == {"public": [None], "expose": 1, "exposed": 2}
    assert e.exposed == frozenset()


def test_class_marks_context_public() -> None:
    """A subclass's public set is shown; its other context is not."""
    p = PaymentDeclinedError(order_id=7, card="4111").to_problem()
    assert p["order_id"] == 7
    assert "card" not in p
    assert p["detail"] == "payment for order 7 declined"


@pytest.mark.parametrize("bad", [5, None, b"value"])
def test_bad_exposed_names_are_refused(bad: object) -> None:
    """expose() takes names of context entries; anything else is a ValidationError."""
    with pytest.raises(ValidationError, match=r"expose\(\) takes the names") as info:
        PortfolioError("m").expose("ok", bad)  # type: ignore[arg-type]
    assert info.value.field == "expose()"


@pytest.mark.parametrize("bad", ["value", 5, [1], {"ok", 2}])
def test_bad_public_class_names_are_refused(bad: object) -> None:
    """A class's public must be a collection of names; anything else is a ValidationError."""
    with pytest.raises(ValidationError, match=r"BadPublic\.public takes the names"):

        class BadPublic(PortfolioError):
            public = bad  # type: ignore[assignment]


@pytest.mark.parametrize(
    "exc",
    [
        ConfigurationError(f"cannot reach postgres://app:{SECRET}@db", config_key="DB_URL"),
        DataProcessingError(f"row held {SECRET}", step="parse", row_index=1),
        PortfolioError(SECRET),
        APIError(f"GET https://api.example.com/?key={SECRET} failed", status_code=401),
    ],
    ids=lambda e: type(e).__name__,
)
def test_server_errors_carry_a_generic_detail(exc: PortfolioError) -> None:
    """A 5xx problem's detail is the class's generic text, never the message."""
    p = exc.to_problem()
    assert p["status"] >= 500  # type: ignore[operator]
    assert p["detail"] == type(exc).server_detail
    assert SECRET not in json.dumps(p)


def test_client_errors_carry_the_message() -> None:
    """A 4xx problem's detail is the message, written for the client."""
    assert RateLimitError("Slow down").to_problem()["detail"] == "Slow down"


@pytest.mark.parametrize("upstream", [401, 403, 404, 429, 500, 503, None, 200])
def test_upstream_status_is_never_ours(upstream: int | None) -> None:
    """An APIError answers 502 whatever the upstream said, and hides its status and endpoint."""
    e = APIError("upstream failed", status_code=upstream, endpoint="/v1/users?api_key=k")
    p = e.to_problem()
    assert (p["status"], e.http_status) == (502, 502)
    assert "status_code" not in p
    assert "endpoint" not in p
    assert e.status_code == upstream


def test_upstream_status_can_be_configured() -> None:
    """A subclass of APIError picks its own status, still not the upstream's."""
    p = GatewayTimeoutError("timed out", status_code=401).to_problem()
    assert p["status"] == 504
    assert p["title"] == "Gateway Timeout"


@pytest.mark.parametrize("exc", EXAMPLES[:6], ids=lambda e: type(e).__name__)
def test_default_type_is_about_blank_with_the_status_phrase(exc: PortfolioError) -> None:
    """Without a base the type is about:blank and the title the status's reason phrase."""
    p = exc.to_problem()
    assert p["type"] == "about:blank"
    assert p["title"] == http.HTTPStatus(exc.http_status).phrase


def test_unknown_status_keeps_the_class_title() -> None:
    """A status without a reason phrase keeps the class's own title under about:blank."""

    class OddError(PortfolioError):
        status = 499

    assert OddError("m").to_problem()["title"] == "Odd error"


def test_type_base_from_the_call_or_the_class() -> None:
    """base= or the class's problem_base makes the type a documentation URL plus the code."""
    base = "https://docs.example.com/errors#"
    p = ValidationError("bad", field="f").to_problem(base=base)
    assert p["type"] == base + "validation_error"
    assert p["title"] == "Validation failed"
    documented = DocumentedError("conflict").to_problem()
    assert documented["type"] == "https://docs.example.com/errors/documented_error"
    assert DocumentedError("c").to_problem(base="about:blank")["type"] == "about:blank"


@pytest.mark.parametrize("bad", ["urn:pmp:error:", "http://example.com/", "https://", "", 3])
def test_bad_type_bases_are_refused(bad: object) -> None:
    """A base that is neither about:blank nor an https:// URL is a ValidationError."""
    with pytest.raises(ValidationError, match="base must be 'about:blank' or the https://"):
        PortfolioError("m").to_problem(base=bad)  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"BadBase\.problem_base must be"):

        class BadBase(PortfolioError):
            problem_base = bad  # type: ignore[assignment]


def test_instance_is_a_member() -> None:
    """instance= becomes the problem's instance member."""
    assert PortfolioError("m").to_problem(instance="/orders/7")["instance"] == "/orders/7"


def test_reserved_and_invalid_public_names_go_under_context() -> None:
    """Public entries whose names RFC 9457 does not allow as members are nested under context."""
    e = PortfolioError("m", status=1, ab=2, ok_name=3, context={"a": 1}, **{"1bad": 4})
    e.expose("status", "ab", "ok_name", "1bad", "context")
    p = e.to_problem()
    assert p["status"] == 500
    assert p["ok_name"] == 3
    assert p["context"] == {"status": 1, "ab": 2, "1bad": 4, "context": {"a": 1}}


@pytest.mark.parametrize(
    ("retry_after", "headers"),
    [
        (2.5, {"Retry-After": "3"}),
        (60.0, {"Retry-After": "60"}),
        (0, {"Retry-After": "0"}),
        (-4.0, {"Retry-After": "0"}),
        (float("nan"), {}),
        (float("inf"), {}),
        (None, {}),
    ],
)
def test_rate_limit_answers_with_retry_after(
    retry_after: float | None, headers: dict[str, str]
) -> None:
    """A rate-limit error's response carries Retry-After in whole seconds, rounded up."""
    e = RateLimitError("Too many requests", retry_after=retry_after, limit=10)
    assert e.http_status == 429
    assert e.http_headers == headers


def test_other_errors_carry_no_headers() -> None:
    """Errors without a header of their own answer with none."""
    assert ValidationError("m").http_headers == {}
    assert APIError("m").http_headers == {}


@pytest.mark.parametrize("exc", EXAMPLES, ids=lambda e: type(e).__name__)
def test_from_problem_rebuilds_the_class(exc: PortfolioError) -> None:
    """from_problem() gives the same class back, whose problem is the same document."""
    problem = exc.to_problem(instance="/r/1")
    rebuilt = from_problem(json.loads(json.dumps(problem)))
    assert type(rebuilt) is type(exc)
    assert rebuilt.to_problem(instance="/r/1") == problem
    assert rebuilt.context["instance"] == "/r/1"
    assert str(rebuilt) == problem["detail"]


def test_from_problem_keeps_public_context_as_attributes() -> None:
    """The rebuilt error's named context reads as attributes again."""
    e = from_problem(RateLimitError("Slow down", retry_after=30.0, limit=5).to_problem())
    assert isinstance(e, RateLimitError)
    assert (e.retry_after, e.limit, e.http_headers) == (30.0, 5, {"Retry-After": "30"})
    v = from_problem(ValidationError("bad", field="age", value=-1).to_problem())
    assert isinstance(v, ValidationError)
    assert (v.field, v.value) == ("age", None)


def test_from_problem_finds_the_class_by_type() -> None:
    """Without a code member the last segment of the type URI names the class."""
    e = from_problem({"type": "https://docs.example.com/errors/rate_limit_error", "status": 429})
    assert type(e) is RateLimitError
    assert str(e) == ""
    e = from_problem({"type": "https://x.example/e#validation_error", "title": "Validation"})
    assert (type(e), str(e)) == (ValidationError, "Validation")


@pytest.mark.parametrize(
    "problem",
    [
        {"type": "https://example.com/probs/out-of-credit", "status": 403, "balance": 30},
        {"type": "about:blank", "status": 401, "title": "Unauthorized"},
        {"status": 404, "code": "no_such_class_anywhere", "detail": "gone"},
        {},
    ],
)
def test_from_problem_without_a_matching_class(problem: dict[str, Any]) -> None:
    """An unknown problem becomes a ProblemError that answers 502, never the remote's status."""
    e = from_problem(problem)
    assert type(e) is ProblemError
    assert isinstance(e, APIError)
    assert e.status_code == problem.get("status")
    assert e.problem_type == problem.get("type", "about:blank")
    mine = e.to_problem()
    assert mine["status"] == 502
    assert "status_code" not in mine
    assert "problem_type" not in mine
    if "balance" in problem:
        assert (e.context["balance"], mine["balance"]) == (30, 30)


@pytest.mark.parametrize("bad", [None, [("type", "x")], "about:blank", {1: "x"}])
def test_from_problem_refuses_what_is_not_a_document(bad: object) -> None:
    """Anything but a mapping of member names is a ValidationError naming the argument."""
    with pytest.raises(ValidationError, match="from_problem\\(\\) takes a problem document") as e:
        from_problem(bad)  # type: ignore[arg-type]
    assert e.value.field == "problem"


def test_from_problem_keeps_odd_members() -> None:
    """Members of the wrong type are ignored or kept as context, never an exception."""
    e = from_problem({"type": 5, "status": "500", "detail": ["x"], "context": 7, "code": None})
    assert type(e) is ProblemError
    assert e.context == {"context": 7, "problem_type": "about:blank"}
    assert str(e) == ""


def test_rebuilt_errors_pickle() -> None:
    """A rebuilt error survives pickle with its class, message and context."""
    e = from_problem({"type": "https://example.com/p/x", "status": 409, "detail": "d", "k": 1})
    clone = pickle.loads(pickle.dumps(e))
    assert (type(clone), str(clone), clone.context) == (ProblemError, "d", e.context)
    assert clone.to_problem() == e.to_problem()


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@given(context=st.dictionaries(st.text(min_size=1, max_size=8), _JSON, max_size=5))
def test_from_problem_round_trips_any_public_context(context: dict[str, Any]) -> None:
    """Whatever public context an error has, its problem rebuilds into the same problem."""
    e = PaymentDeclinedError(order_id=1, card="c")
    e.context.update(context)
    e.expose(*context)
    problem = e.to_problem()
    rebuilt = from_problem(json.loads(json.dumps(problem)))
    assert type(rebuilt) is PaymentDeclinedError
    assert rebuilt.to_problem() == problem


class SlottedError(ValidationError):
    """A user subclass that keeps its own state in __slots__."""

    __slots__ = ("__marker", "attempt", "unset")

    def __init__(self, attempt: int) -> None:
        super().__init__("failed", field="f")
        self.attempt = attempt
        self.__marker = "m"

    @property
    def marker(self) -> str:
        return self.__marker


@pytest.mark.parametrize(
    "clone",
    [lambda e: pickle.loads(pickle.dumps(e)), copy.copy, copy.deepcopy],
    ids=["pickle", "copy", "deepcopy"],
)
def test_slot_values_survive_round_trips(clone: Any) -> None:
    """pickle, copy and deepcopy keep the values of a subclass's __slots__."""
    other = clone(SlottedError(3))
    assert (other.attempt, other.marker, other.field) == (3, "m", "f")
    assert not hasattr(other, "unset")


@pytest.mark.parametrize("bad", ["404", 200, 600, True, 404.0])
def test_a_class_status_must_be_an_error_status(bad: object) -> None:
    """A subclass whose status is not an int 400-599 is refused when it is defined."""
    with pytest.raises(ValidationError, match=r"BadStatus\.status must be an HTTP error status"):

        class BadStatus(PortfolioError):
            status = bad  # type: ignore[assignment]


def test_an_odd_http_status_falls_back_to_the_class_status() -> None:
    """An overridden http_status that gives no error status never reaches the document."""

    class OddStatusError(PortfolioError):
        status = 409

        @property
        def http_status(self) -> int:
            return 200

    assert OddStatusError("m").to_problem()["status"] == 409


@pytest.mark.parametrize("bad", [5, b"/r/1", ["/r"]])
def test_instance_must_be_a_str(bad: object) -> None:
    """instance= takes a URI reference; anything else is a ValidationError."""
    with pytest.raises(ValidationError, match="instance must be a URI reference") as info:
        PortfolioError("m").to_problem(instance=bad)  # type: ignore[arg-type]
    assert info.value.field == "instance"


def test_errors_inside_public_context_show_only_what_is_public() -> None:
    """An error held in a public entry shows what its own to_problem() would, never its record."""
    inner = ValidationError("too short", field="password", value=SECRET)
    setattr(inner, "__notes__", [f"tried {SECRET}"])  # noqa: B010 - declared from 3.11 only
    inner.__cause__ = ValueError(SECRET)
    server = PortfolioError(f"db password={SECRET}", dsn=SECRET)
    foreign = KeyError(f"token={SECRET}")
    e = ValidationError("bad", field="form", errors=[inner, server, foreign])
    e.context["again"] = e  # a cycle through the error itself
    p = e.expose("errors", "again").to_problem()
    assert SECRET not in json.dumps(p, allow_nan=False)
    assert p["errors"] == [
        {"code": "validation_error", "status": 422, "detail": "too short", "field": "password"},
        {"code": "portfolio_error", "status": 500, "detail": PortfolioError.server_detail},
        {"code": None, "status": 500, "detail": PortfolioError.server_detail},
    ]
    again = p["again"]
    assert isinstance(again, dict)
    assert again["code"] == "validation_error"


@pytest.mark.parametrize("bad", [200, "503", None, 503.0, True])
def test_an_odd_status_set_on_the_error_falls_back_to_the_class_status(bad: object) -> None:
    """A status set on one error that is no error status never reaches the document."""
    e = PortfolioError(f"db password={SECRET}")
    e.status = bad  # type: ignore[misc,assignment]
    assert e.http_status == 500
    p = e.to_problem()
    assert p["status"] == 500
    assert p["detail"] == PortfolioError.server_detail


@pytest.mark.parametrize(
    "huge", [10**5000, 2**64, 1e300, float(2**31)], ids=["5000-digit", "2**64", "1e300", "2**31"]
)
def test_retry_after_is_capped_for_huge_waits(huge: float) -> None:
    """A huge retry_after gives a Retry-After clients can parse (a 31-bit int), never an error."""
    e = RateLimitError("Too many requests", retry_after=huge)
    assert e.http_headers == {"Retry-After": str(2**31 - 1)}
    json.dumps(e.to_problem(), allow_nan=False)


def test_a_shadowing_class_that_is_gone_gives_the_code_back() -> None:
    """A class that took a built-in's code leaves the built-in in place once collected."""

    def shadow() -> type[PortfolioError]:
        class ValidationError(PortfolioError):  # same name, so same code
            pass

        return ValidationError

    cls: type[PortfolioError] | None = shadow()
    assert type(from_problem({"code": "validation_error"})) is cls
    cls = None
    gc.collect()
    assert type(from_problem({"code": "validation_error"})) is ValidationError


@pytest.mark.parametrize(
    ("attribute", "bad"),
    [
        ("code", 5),
        ("code", ""),
        ("code", "a b/c"),
        ("code", "x?y"),
        ("title", 5),
        ("title", None),
        ("server_detail", None),
        ("server_detail", b"oops"),
    ],
)
def test_class_problem_members_must_be_valid(attribute: str, bad: object) -> None:
    """A class's code, title and server_detail are checked when it is defined."""
    with pytest.raises(ValidationError, match=rf"BadError\.{attribute} must be") as info:
        type("BadError", (PortfolioError,), {attribute: bad})
    assert info.value.field == f"BadError.{attribute}"


@pytest.mark.parametrize(
    ("problem", "attribute"),
    [
        ({"code": "rate_limit_error", "retry_after": "soon"}, "retry_after"),
        ({"code": "rate_limit_error", "retry_after": True}, "retry_after"),
        ({"code": "rate_limit_error", "limit": 2.5}, "limit"),
        ({"code": "validation_error", "field": ["a"]}, "field"),
        ({"code": "configuration_error", "config_key": 1}, "config_key"),
        ({"code": "data_processing_error", "step": None, "row_index": "3"}, "row_index"),
        ({"code": "data_processing_error", "step": {"a": 1}}, "step"),
        ({"code": "api_error", "status_code": "500"}, "status_code"),
        ({"code": "api_error", "endpoint": 404}, "endpoint"),
    ],
)
def test_rebuilt_attributes_keep_their_types(problem: dict[str, Any], attribute: str) -> None:
    """A member of the wrong type in a received document reads as None, never as a wrong type."""
    e = from_problem(problem)
    assert getattr(e, attribute) is None
    assert e.http_headers == {}
    assert attribute in e.context  # still there, as received


@pytest.mark.parametrize(
    "bad",
    ["https://exa mple.com/", "https://x.test/e/\n", 'https://x.test/"e"/', "https://x.test/é/"],
)
def test_type_bases_must_be_uris(bad: str) -> None:
    """A base with characters a URI cannot hold (spaces, controls, quotes) is refused."""
    with pytest.raises(ValidationError, match="base must be 'about:blank' or the https://"):
        PortfolioError("m").to_problem(base=bad)


def test_a_broken_error_inside_public_context_shows_nothing_of_its_own() -> None:
    """An error whose own rendering fails shows as a server error, never as its repr."""
    inner = ValidationError("too short", field="password", value=SECRET)
    inner.public = None  # type: ignore[misc,assignment]
    p = ValidationError("bad", field="form", errors=[inner]).expose("errors").to_problem()
    assert SECRET not in json.dumps(p, allow_nan=False)
    assert p["errors"] == [{"code": None, "status": 500, "detail": PortfolioError.server_detail}]


def test_errors_as_keys_of_public_context_show_nothing_of_their_own() -> None:
    """An error used as a mapping key in a public entry does not show its message."""
    e = ValidationError("bad", field="form", by_error={KeyError(SECRET): 1, ValueError(SECRET): 2})
    p = e.expose("by_error").to_problem()
    assert SECRET not in json.dumps(p, allow_nan=False)
    assert p["by_error"] == {"<error>": 1, "<error>#2": 2}


def test_a_document_naming_problem_error_keeps_its_status_and_type() -> None:
    """A forwarded ProblemError document is rebuilt with the status and type it carries."""
    e = from_problem({"type": "https://example.com/p/x", "status": 403, "code": "problem_error"})
    assert type(e) is ProblemError
    assert (e.status_code, e.problem_type) == (403, "https://example.com/p/x")
