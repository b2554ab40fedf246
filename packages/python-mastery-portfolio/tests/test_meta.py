"""Tests for the meta-package: re-exports and the tour."""

from __future__ import annotations

import importlib
import runpy
import subprocess
import sys

import pytest

import python_mastery_portfolio as pmp
from python_mastery_portfolio._tour import SECTIONS, main

MEMBERS = ["pmp_errors", "pmp_typing", "pmp_decorators", "pmp_cache", "pmp_di", "pmp_ratelimit"]


def _installed_members() -> list[str]:
    found = []
    for name in MEMBERS:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        found.append(name)
    return found


def test_all_is_the_union_of_member_alls() -> None:
    """__all__ is exactly the union of the members' __all__."""
    union: set[str] = set()
    for name in _installed_members():
        union |= set(importlib.import_module(name).__all__)
    assert set(pmp.__all__) == union
    assert list(pmp.__all__) == sorted(pmp.__all__)


def test_reexports_are_the_same_objects() -> None:
    """Every re-exported name is the member's own object, not a copy or wrapper."""
    for name in _installed_members():
        member = importlib.import_module(name)
        for attr in member.__all__:
            assert getattr(pmp, attr) is getattr(member, attr), f"{name}.{attr}"


def test_version_matches_metadata() -> None:
    """__version__ comes from the distribution metadata."""
    from importlib.metadata import version

    assert pmp.__version__ == version("python-mastery-portfolio")
    with pytest.raises(AttributeError, match="nope"):
        _ = pmp.nope


def test_tour_shows_every_section(capsys: pytest.CaptureFixture[str]) -> None:
    """The tour prints every section's title and finishes."""
    assert main([]) == 0
    out = capsys.readouterr().out
    for title, _ in SECTIONS:
        assert title in out
    assert f"{len(SECTIONS)} section(s) shown" in out


def test_tour_filters_sections(capsys: pytest.CaptureFixture[str]) -> None:
    """Words on the command line pick the sections whose titles contain them."""
    assert main(["no-such-section"]) == 0
    assert "0 section(s) shown" in capsys.readouterr().out


def test_main_module_runs_the_tour(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Running the package as __main__ runs the tour and exits with status 0."""
    monkeypatch.setattr(sys, "argv", ["python_mastery_portfolio", "errors"])
    with pytest.raises(SystemExit) as done:
        runpy.run_module("python_mastery_portfolio", run_name="__main__")
    assert done.value.code == 0
    assert "problem details" in capsys.readouterr().out


def test_tour_runs_as_module() -> None:
    """Running the package as a module runs the tour in a fresh interpreter."""
    result = subprocess.run(
        [sys.executable, "-m", "python_mastery_portfolio", "errors"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    assert "problem details" in result.stdout
