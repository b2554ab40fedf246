import importlib.metadata
import subprocess
import sys

import pytest

import pmp_ratelimit


def test_version_matches_metadata():
    """__version__ comes from the installed distribution's metadata."""
    assert pmp_ratelimit.__version__ == importlib.metadata.version("pmp-ratelimit")


def test_unknown_attribute_raises_attribute_error():
    """Unknown module attributes raise AttributeError naming them."""
    with pytest.raises(AttributeError, match="nope"):
        _ = pmp_ratelimit.nope


def test_public_names_are_sorted_and_documented():
    """__all__ is sorted and every public name has a docstring with an example."""
    assert pmp_ratelimit.__all__ == sorted(pmp_ratelimit.__all__)
    for name in pmp_ratelimit.__all__:
        doc = getattr(pmp_ratelimit, name).__doc__ or ""
        assert ">>>" in doc, name


def test_importing_the_package_does_not_import_redis():
    """``import pmp_ratelimit`` leaves redis-py unimported."""
    code = "import sys, pmp_ratelimit; assert 'redis' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)  # noqa: S603 - our own code


def test_doctests_in_the_package_pass():
    """The examples in the docstrings run as written."""
    import doctest

    from pmp_ratelimit import _decorator, _gcra, _limiter, _memory, _rate, _redis

    for module in (pmp_ratelimit, _decorator, _gcra, _limiter, _memory, _rate, _redis):
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.attempted > 0, module.__name__
        assert result.failed == 0, module.__name__
