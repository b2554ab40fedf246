"""Tests for the dependency-graph check and the release-tag check."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import depgraph
import release

REPO = Path(__file__).resolve().parent.parent.parent
MEMBERS = ["pmp-errors", "pmp-typing", "pmp-decorators", "pmp-cache", "pmp-di", "pmp-ratelimit"]
DEPS = {
    "pmp-errors": [],
    "pmp-typing": ["pmp-errors>=0.1,<0.2"],
    "pmp-decorators": ["pmp-errors>=0.1,<0.2"],
    "pmp-cache": ["pmp-errors>=0.1,<0.2"],
    "pmp-di": ["pmp-errors>=0.1,<0.2"],
    "pmp-ratelimit": ["pmp-errors>=0.1,<0.2"],
    "python-mastery-portfolio": [f"{m}>=0.1,<0.2" for m in MEMBERS],
}


def make_package(
    root: Path,
    name: str,
    deps: list[str],
    *,
    source: str = "",
    typed: bool = True,
    extras: str = "",
    version: str = "0.1.0",
) -> Path:
    path = root / "packages" / name
    src = path / "src" / name.replace("-", "_")
    src.mkdir(parents=True)
    (src / "__init__.py").write_text(source)
    if typed:
        (src / "py.typed").write_text("")
    (path / "pyproject.toml").write_text(
        textwrap.dedent(
            f"""
            [project]
            name = "{name}"
            version = "{version}"
            dependencies = {deps!r}
            {extras}
            """
        )
    )
    (path / "CHANGELOG.md").write_text(f"# Changelog\n\n## [{version}] - 2026-11-28\n")
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    for name, deps in DEPS.items():
        make_package(tmp_path, name, deps, source="import pmp_errors\n" if deps else "")
    return tmp_path


def problems(root: Path) -> list[str]:
    return depgraph.check(depgraph.load_workspace(root))


def test_valid_workspace_has_no_problems_and_an_order(workspace: Path) -> None:
    """A workspace shaped like the design passes and puts pmp-errors first."""
    assert problems(workspace) == []
    order = depgraph.build_order(depgraph.load_workspace(workspace))
    assert order[0] == "pmp-errors"
    assert order[-1] == "python-mastery-portfolio"


def test_repository_itself_passes() -> None:
    """This repository's own packages satisfy every rule."""
    packages = depgraph.load_workspace(REPO)
    assert depgraph.check(packages) == []


def test_undeclared_import_is_reported(tmp_path: Path) -> None:
    """Importing a sibling that the pyproject does not require is an error naming the file."""
    for name, deps in DEPS.items():
        source = "from pmp_cache import x\n" if name == "pmp-di" else ""
        make_package(tmp_path, name, deps, source=source)
    found = problems(tmp_path)
    assert any("pmp-di: imports pmp_cache" in p and "__init__.py" in p for p in found)


def test_disallowed_edge_and_cycle_are_reported(tmp_path: Path) -> None:
    """An edge the design forbids is reported, and so is the cycle it makes."""
    deps = dict(DEPS)
    deps["pmp-errors"] = ["pmp-di>=0.1,<0.2"]
    for name, reqs in deps.items():
        make_package(tmp_path, name, reqs)
    found = problems(tmp_path)
    assert "pmp-errors: requires pmp-di, an edge the design does not allow" in found
    assert any(p.startswith("dependency cycle: ") and "pmp-di -> pmp-errors" in p for p in found)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("pmp-errors==0.1.0", "must be a range"),
        ("pmp-errors", "must be a range"),
        ("pmp-errors>=0.2,<0.3", "excludes its version 0.1.0"),
        ("pmp-errors>=0.0,<0.1", "excludes its version 0.1.0"),
    ],
)
def test_sibling_requirements_must_be_ranges(tmp_path: Path, spec: str, message: str) -> None:
    """Sibling requirements are version ranges that admit the sibling's version."""
    for name, deps in DEPS.items():
        make_package(tmp_path, name, [spec] if name == "pmp-di" else deps)
    assert any(message in p for p in problems(tmp_path))


def test_missing_py_typed_and_bad_import_name(tmp_path: Path) -> None:
    """A package without py.typed, or with the wrong import name, is reported."""
    for name, deps in DEPS.items():
        make_package(tmp_path, name, deps, typed=name != "pmp-typing")
    (tmp_path / "packages" / "pmp-di" / "src" / "pmp_di").rename(
        tmp_path / "packages" / "pmp-di" / "src" / "di"
    )
    found = problems(tmp_path)
    assert "pmp-typing: src/pmp_typing/py.typed is missing" in found
    assert any("pmp-di: src/ must hold exactly the import package 'pmp_di'" in p for p in found)


def test_third_party_requirements(tmp_path: Path) -> None:
    """Only redis in the pmp-cache and pmp-ratelimit [redis] extras is allowed as third party."""
    for name, deps in DEPS.items():
        extras = ""
        if name == "pmp-ratelimit":
            extras = '[project.optional-dependencies]\nredis = ["redis>=5"]\nweb = ["flask"]'
        if name == "pmp-cache":
            extras = '[project.optional-dependencies]\nredis = ["redis>=5"]\nfast = ["orjson"]'
        reqs = [*deps, "requests"] if name == "pmp-typing" else deps
        make_package(tmp_path, name, reqs, extras=extras)
    found = problems(tmp_path)
    assert "pmp-typing: third-party runtime requirements ['requests'] are not allowed" in found
    assert "pmp-cache[fast]: requirement 'orjson' is not allowed" in found
    assert "pmp-ratelimit[web]: requirement 'flask' is not allowed" in found
    assert not any("redis" in p for p in found)


def test_observability_extras(tmp_path: Path) -> None:
    """opentelemetry-api and prometheus-client are allowed in their extras, nothing else."""
    observability = (
        '[project.optional-dependencies]\nopentelemetry = ["opentelemetry-api>=1.20"]\n'
        'prometheus = ["prometheus-client>=0.17"]'
    )
    for name, deps in DEPS.items():
        extras = ""
        if name in {"pmp-decorators", "pmp-cache", "pmp-di"}:
            extras = observability
        elif name == "pmp-typing":
            extras = observability + '\nsdk = ["opentelemetry-sdk"]'
        make_package(tmp_path, name, deps, extras=extras)
    (tmp_path / "packages" / "pmp-di" / "pyproject.toml").write_text(
        (tmp_path / "packages" / "pmp-di" / "pyproject.toml")
        .read_text()
        .replace('"opentelemetry-api>=1.20"', '"opentelemetry-api>=1.20", "opentelemetry-sdk"')
    )
    assert sorted(problems(tmp_path)) == [
        "pmp-di[opentelemetry]: requirement 'opentelemetry-sdk' is not allowed",
        "pmp-typing[opentelemetry]: requirement 'opentelemetry-api' is not allowed",
        "pmp-typing[prometheus]: requirement 'prometheus-client' is not allowed",
        "pmp-typing[sdk]: requirement 'opentelemetry-sdk' is not allowed",
    ]


def test_meta_must_depend_on_exactly_the_members(tmp_path: Path) -> None:
    """The meta-package depends on exactly the six members."""
    for name, deps in DEPS.items():
        make_package(tmp_path, name, deps[:-1] if name == depgraph.META else deps)
    assert any("must depend on exactly" in p for p in problems(tmp_path))


def test_unknown_package_and_missing_meta(tmp_path: Path) -> None:
    """A package the design does not know and a missing meta-package are reported."""
    make_package(tmp_path, "pmp-errors", [])
    make_package(tmp_path, "pmp-extra", [])
    found = problems(tmp_path)
    assert "pmp-extra: not a package the design knows; add it to ALLOWED" in found
    assert "python-mastery-portfolio is missing" in found


def test_closure_lists_dependencies_first(workspace: Path) -> None:
    """closure() gives a package and its siblings, dependencies first."""
    packages = depgraph.load_workspace(workspace)
    assert depgraph.closure(packages, "pmp-cache") == ["pmp-errors", "pmp-cache"]
    assert depgraph.closure(packages, "pmp-errors") == ["pmp-errors"]
    assert len(depgraph.closure(packages, depgraph.META)) == 7
    assert depgraph.closure(packages, "pmp-ratelimit") == ["pmp-errors", "pmp-ratelimit"]


def test_main_prints_order_or_problems(
    workspace: Path, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command prints the build order, or the problems with exit status 1."""
    assert depgraph.main([str(workspace)]) == 0
    assert capsys.readouterr().out.startswith("build order: pmp-errors -> ")
    broken = tmp_path_factory.mktemp("broken")
    make_package(broken, "pmp-errors", [])
    assert depgraph.main([str(broken)]) == 1
    assert "error: python-mastery-portfolio is missing" in capsys.readouterr().err


def test_release_tag_matches_version_and_changelog(workspace: Path) -> None:
    """A tag naming a package, its version and a changelog section is accepted."""
    target = release.check_tag("pmp-cache-v0.1.0", workspace)
    assert target.name == "pmp-cache"
    assert target.path == workspace / "packages" / "pmp-cache"
    assert (
        release.check_tag("refs/tags/python-mastery-portfolio-v0.1.0", workspace).version == "0.1.0"
    )


@pytest.mark.parametrize(
    ("tag", "message"),
    [
        ("v0.1.0", "is not of the form"),
        ("pmp-nope-v0.1.0", "not one of"),
        ("pmp-cache-v0.2.0", "says 0.2.0 but pmp-cache's pyproject.toml says 0.1.0"),
    ],
)
def test_release_tag_errors(workspace: Path, tag: str, message: str) -> None:
    """A malformed tag, an unknown package or a version mismatch is refused with a reason."""
    with pytest.raises(release.ReleaseError, match=message):
        release.check_tag(tag, workspace)


def test_release_needs_changelog_section(workspace: Path) -> None:
    """A version without a changelog section cannot be released."""
    (workspace / "packages" / "pmp-di" / "CHANGELOG.md").write_text("# Changelog\n")
    with pytest.raises(release.ReleaseError, match=r"has no '## \[0.1.0\]' section"):
        release.check_tag("pmp-di-v0.1.0", workspace)


def test_release_main(workspace: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The release command prints the package folder, or the reason and exit status 1."""
    assert release.main(["pmp-di-v0.1.0", str(workspace)]) == 0
    assert capsys.readouterr().out.strip() == str(Path("packages/pmp-di"))
    assert release.main(["pmp-di-v9.9.9", str(workspace)]) == 1
    assert "error:" in capsys.readouterr().err
    assert release.main([]) == 2
