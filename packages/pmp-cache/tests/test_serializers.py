import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_cache._serializers import (
    JsonSerializer,
    PayloadRejectedError,
    PickleSerializer,
    Serializer,
)
from pmp_errors import ValidationError

SECRET = b"s" * 32

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(json_values)
def test_json_round_trips_json_values(value):
    """Every JSON value comes back equal and of the same types."""
    s = JsonSerializer()
    back = s.loads(s.dumps(value))
    assert back == value
    assert repr(back) == repr(value)


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ((1, 2), "value is a tuple"),
        ({1: "a"}, "non-str key 1"),
        ([1, {"a": {2, 3}}], "value[1]['a'] is a set"),
        (float("nan"), "JSON cannot represent"),
        ({"x": object()}, "is a object"),
    ],
)
def test_json_refuses_values_it_would_change(value, part):
    """Values JSON would not give back unchanged raise ValidationError naming the part."""
    with pytest.raises(ValidationError, match="as JSON") as info:
        JsonSerializer().dumps(value)
    assert part in str(info.value)
    assert info.value.field == "value"


def test_json_loads_rejects_non_json():
    """Bytes that are not JSON (e.g. a pickle) are rejected, not decoded."""
    with pytest.raises(PayloadRejectedError):
        JsonSerializer().loads(pickle.dumps({"a": 1}))


@given(st.from_type(tuple) | st.sets(st.integers()) | st.lists(st.binary()))
def test_signed_pickle_round_trips(value):
    """A signed pickle gives back the value, tuples and sets included."""
    s = PickleSerializer(secret=SECRET)
    assert s.loads(s.dumps(value)) == value


class _Boom:
    calls = 0

    def __reduce__(self):
        return (_Boom.trigger, ())

    @staticmethod
    def trigger():
        _Boom.calls += 1
        return "exploited"


@pytest.mark.parametrize(
    "payload",
    [
        pickle.dumps(_Boom()),  # planted, unsigned
        b"pmp1" + b"\x00" * 32 + pickle.dumps(_Boom()),  # forged signature
        PickleSerializer(secret=b"x" * 32).dumps(_Boom()),  # signed with another secret
        b"pmp1short",
    ],
)
def test_signed_pickle_never_unpickles_unverified_payloads(payload):
    """A payload whose signature does not verify is rejected without unpickling it."""
    before = _Boom.calls
    with pytest.raises(PayloadRejectedError, match="not unpickled"):
        PickleSerializer(secret=SECRET).loads(payload)
    assert _Boom.calls == before


def test_signed_pickle_rejects_a_tampered_body():
    """Changing one byte of a signed payload makes it fail verification."""
    s = PickleSerializer(secret=SECRET)
    data = bytearray(s.dumps({"admin": False}))
    data[-3] ^= 1
    with pytest.raises(PayloadRejectedError):
        s.loads(bytes(data))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"secret": b"short"}, "secret"),
        ({"secret": "a" * 32}, "secret"),
        ({"secret": SECRET, "protocol": 1}, "protocol"),
        ({"secret": SECRET, "protocol": True}, "protocol"),
    ],
)
def test_pickle_serializer_checks_its_arguments(kwargs, field):
    """A short or non-bytes secret and a bad protocol raise ValidationError naming them."""
    with pytest.raises(ValidationError, match=field) as info:
        PickleSerializer(**kwargs)
    assert info.value.field == field


def test_pickle_serializer_refuses_unpicklable_values():
    """A value that does not pickle raises ValidationError at dumps time."""
    with pytest.raises(ValidationError, match="does not pickle"):
        PickleSerializer(secret=SECRET).dumps(lambda: 1)


def test_serializers_are_serializers_and_hide_the_secret():
    """Both satisfy the Serializer protocol; repr never shows the secret."""
    s = PickleSerializer(secret=SECRET)
    assert isinstance(s, Serializer)
    assert isinstance(JsonSerializer(), Serializer)
    assert "sss" not in repr(s)
    assert repr(JsonSerializer()) == "JsonSerializer()"
