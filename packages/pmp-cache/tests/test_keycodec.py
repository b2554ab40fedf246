import enum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pmp_cache._keycodec import encode_key
from pmp_cache._keys import make_key
from pmp_errors import ValidationError

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.binary()
)
keys = st.recursive(
    scalars, lambda inner: st.tuples(inner, inner) | st.frozensets(inner, max_size=3), max_leaves=8
)


@given(keys, keys)
def test_equal_keys_share_a_text_and_different_keys_do_not(a, b):
    """Keys that share an in-memory entry share a text; different keys get different texts."""
    same_entry = {a: 1}.get(b) == 1
    assert (encode_key(a) == encode_key(b)) == same_entry


def test_keys_of_calls_encode_with_types_and_keywords():
    """Keys made from calls (keywords, typed) have texts that tell them apart."""
    plain = encode_key(make_key((1,), {"x": 2}, typed=False))
    typed = encode_key(make_key((1,), {"x": 2}, typed=True))
    assert plain == '~(1,*,"x",2)'
    assert typed == '~(1,*,"x",2,<builtins.int>,<builtins.int>)'


@pytest.mark.parametrize(
    ("key", "text"),
    [
        ("user:1", "user:1"),
        ("~odd", '~"~odd"'),
        (None, "~null"),
        (True, "~1"),
        (b"\x01", '~b"01"'),
        (ValidationError, "~<pmp_errors._core.ValidationError>"),
    ],
)
def test_key_texts_are_readable(key, text):
    """Plain str keys stay readable; others get a marked canonical text."""
    assert encode_key(key) == text


def test_enum_members_and_long_keys_encode():
    """Enum members encode by class and name; very long texts become a SHA-256."""

    class Color(enum.Enum):
        RED = 1

    assert encode_key(Color.RED).endswith("Color.RED>")
    long = encode_key("x" * 1000)
    assert long.startswith("~#")
    assert len(long) == 66


def test_keys_without_a_stable_text_are_refused():
    """An object whose text would differ between processes raises naming the key."""
    with pytest.raises(ValidationError, match="shared cache key") as info:
        encode_key(("a", object()))
    assert info.value.field == "key"


@given(st.text())
def test_str_parts_encode_as_json_strings(text):
    """A str inside a key is encoded exactly as its JSON string."""
    import json

    assert encode_key((text,)) == "~(" + json.dumps(text, ensure_ascii=False) + ")"


def test_remembered_str_texts_stay_bounded():
    """The texts of short strs are remembered up to a bound, and stay correct past it."""
    from pmp_cache import _keycodec

    for i in range(_keycodec._STR_TEXTS_MAX + 10):
        assert encode_key((f"fn{i}", i)) == f'~("fn{i}",{i})'
    assert 0 < len(_keycodec._STR_TEXTS) <= _keycodec._STR_TEXTS_MAX
    assert encode_key(("x" * 150, 1)) == '~("' + "x" * 150 + '",1)'
    assert "x" * 150 not in _keycodec._STR_TEXTS
