import re
from importlib.metadata import version

import pytest

import pmp_typing
from pmp_errors import ValidationError


def test_version_matches_metadata() -> None:
    """__version__ comes from the installed distribution's metadata."""
    assert pmp_typing.__version__ == version("pmp-typing")
    assert re.fullmatch(r"\d+\.\d+\.\d+", pmp_typing.__version__)


def test_unknown_attribute() -> None:
    """Unknown module attributes raise AttributeError naming them."""
    with pytest.raises(AttributeError, match="nope"):
        _ = pmp_typing.nope


def test_all_is_sorted_and_importable() -> None:
    """__all__ is sorted and every name in it exists."""
    assert pmp_typing.__all__ == sorted(pmp_typing.__all__)
    for name in pmp_typing.__all__:
        assert getattr(pmp_typing, name) is not None


def test_argument_errors_are_not_exported() -> None:
    """Bad arguments raise pmp_errors.ValidationError; no clashing class is exported."""
    assert not hasattr(pmp_typing, "TypeValidationError")
    assert "TypeValidationError" not in pmp_typing.__all__
    with pytest.raises(ValidationError) as info:
        pmp_typing.as_result()
    assert isinstance(info.value, TypeError)
