import importlib.metadata

import pmp_cache


def test_version_matches_metadata():
    """__version__ comes from the installed distribution's metadata."""
    assert pmp_cache.__version__ == importlib.metadata.version("pmp-cache")


def test_unknown_attribute_raises_attribute_error():
    """Unknown module attributes raise AttributeError naming them."""
    try:
        _ = pmp_cache.nope
    except AttributeError as exc:
        assert "nope" in str(exc)
    else:
        raise AssertionError


def test_public_names_are_sorted_and_documented():
    """__all__ is sorted and every public name has a docstring with an example."""
    assert pmp_cache.__all__ == sorted(pmp_cache.__all__)
    for name in pmp_cache.__all__:
        doc = getattr(pmp_cache, name).__doc__ or ""
        assert ">>>" in doc, name
