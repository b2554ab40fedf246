import importlib.metadata
import re
from pathlib import Path

import pytest

import pmp_decorators


def test_version_matches_metadata():
    """__version__ comes from the installed distribution metadata."""
    assert pmp_decorators.__version__ == importlib.metadata.version("pmp-decorators")


def test_version_matches_pyproject():
    """The installed version is the one in pyproject.toml."""
    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    if not pyproject.is_file():
        pytest.skip("pyproject.toml is not beside these tests (testing an installed wheel)")
    text = pyproject.read_text()
    match = re.search(r'^version = "(.+)"$', text, re.MULTILINE)
    assert match is not None
    assert match.group(1) == pmp_decorators.__version__


def test_unknown_attribute_raises_attribute_error():
    """Unknown module attributes raise AttributeError naming them."""
    with pytest.raises(AttributeError, match="nope"):
        pmp_decorators.nope  # noqa: B018


def test_all_is_sorted_and_complete():
    """__all__ is sorted and every name in it exists."""
    assert pmp_decorators.__all__ == sorted(pmp_decorators.__all__)
    for name in pmp_decorators.__all__:
        assert getattr(pmp_decorators, name) is not None


def test_every_public_name_has_a_docstring():
    """Every public name documents itself."""
    for name in pmp_decorators.__all__:
        assert getattr(pmp_decorators, name).__doc__, name


def test_doctests_in_the_package_pass():
    """The examples in the docstrings run as written."""
    import doctest

    from pmp_decorators import (
        _annotations,
        _cached,
        _check,
        _errors,
        _instrument,
        _retry,
        _retry_core,
        _retry_policy,
        _retrying,
        _settings,
        _stats,
        _timing,
        _validate,
    )

    modules = (
        pmp_decorators,
        _annotations,
        _cached,
        _check,
        _errors,
        _instrument,
        _retry,
        _retry_core,
        _retry_policy,
        _retrying,
        _settings,
        _stats,
        _timing,
        _validate,
    )
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0, module.__name__  # every module shows an example
        assert result.failed == 0, module.__name__


def test_doctests_of_the_instrumentation_modules_pass():
    """The examples of the hook module and of every ready instrument run as written."""
    import doctest
    import importlib

    for name in ("instrumentation", "opentelemetry", "prometheus", "logging"):
        prefix = "" if name == "instrumentation" else "integrations."
        module = importlib.import_module(f"pmp_decorators.{prefix}{name}")
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0, module.__name__
        assert result.failed == 0, module.__name__
