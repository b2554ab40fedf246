import pickle

from pmp_decorators import TypeValidationError
from pmp_errors import ValidationError


def test_is_both_validation_error_and_type_error():
    """TypeValidationError is caught by ValidationError and TypeError handlers."""
    err = TypeValidationError("bad", field="x", value=1, expected="str", path="x")
    assert isinstance(err, ValidationError)
    assert isinstance(err, TypeError)
    assert err.code == "type_validation_error"
    assert err.to_problem()["status"] == 422


def test_optional_context_is_left_out():
    """Without expected and path, the context holds only what was given."""
    err = TypeValidationError("bad", field="x")
    assert err.context == {"field": "x", "value": None}
    assert (err.expected, err.path) == (None, None)


def test_pickle_round_trip_keeps_context():
    """A pickled error comes back with its message and context."""
    err = TypeValidationError("bad", field="x", value=[1], expected="int", path="x[0]")
    back = pickle.loads(pickle.dumps(err))
    assert (str(back), back.field, back.path, back.expected) == ("bad", "x", "x[0]", "int")
