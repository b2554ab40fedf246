import pytest

from pmp_errors import ConfigurationError, DataProcessingError, PortfolioError, ValidationError
from pmp_typing import Serializable, is_serializable


class Row:
    def to_dict(self) -> dict[str, int]:
        return {"id": 1}


class NotCallable:
    to_dict = 5


@pytest.mark.parametrize(
    "error",
    [
        PortfolioError("x"),
        ValidationError("bad", field="age", value=-1),
        ConfigurationError("missing", config_key="KEY"),
        DataProcessingError("failed", step="load", row_index=3),
    ],
)
def test_pmp_errors_are_serializable(error: PortfolioError) -> None:
    """Every pmp_errors exception satisfies Serializable."""
    assert isinstance(error, Serializable)
    assert is_serializable(error)
    assert error.to_dict()["message"] == error.message


def test_structural_match() -> None:
    """Any class with to_dict() satisfies the protocol without inheriting it."""
    my_object: object = Row()
    if isinstance(my_object, Serializable):
        data = my_object.to_dict()
        assert data == {"id": 1}
    assert is_serializable(my_object)


@pytest.mark.parametrize("obj", [object(), {}, 5, NotCallable()])
def test_is_serializable_rejects(obj: object) -> None:
    """is_serializable rejects objects without a callable to_dict."""
    assert not is_serializable(obj)
