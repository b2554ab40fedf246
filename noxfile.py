"""The single task runner: every package, Python version and check lives here.

The test matrix runs on every supported Python; the other sessions run on the interpreter
that runs nox, so that they work on a machine with a single Python 3.10+.

``nox`` runs everything a release needs; ``nox -s bench`` runs the benchmarks; ``nox -l`` lists
the sessions. Packages are discovered from ``packages/*/pyproject.toml``; our own packages are
always installed from their local paths or locally built wheels, never from an index.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))

import depgraph  # noqa: E402 - needs the tools folder on sys.path

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
PACKAGES = depgraph.load_workspace(ROOT, read_toml=nox.project.load_toml)
ORDER = depgraph.build_order(PACKAGES)
TEST_TOOLS = ["pytest>=8", "pytest-asyncio>=0.24", "hypothesis>=6"]
TESTS_MYPY = [  # strict, except that test helpers and fixtures may stay unannotated
    "--strict",
    "--allow-untyped-defs",
    "--allow-incomplete-defs",
    "--allow-untyped-calls",
    "--check-untyped-defs",
    "--no-warn-return-any",
]

os.environ.setdefault("UV_PYTHON_DOWNLOADS", "never")  # never fetch interpreters
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.download_python = "never"
nox.options.error_on_missing_interpreters = bool(os.environ.get("CI"))
nox.options.reuse_existing_virtualenvs = False
nox.options.sessions = [
    "graph",
    "lint",
    "typecheck",
    "tests",
    "coverage",
    "isolated",
    "build",
    "tour",
    "docs",
    "workflows",
]


def _group(name: str, group: str) -> list[str]:
    pyproject = nox.project.load_toml(PACKAGES[name].path / "pyproject.toml")
    if group not in pyproject.get("dependency-groups", {}):
        return []
    return list(nox.project.dependency_groups(pyproject, group))


def _with_extras(name: str) -> str:
    path = str(PACKAGES[name].path)
    extras = sorted(PACKAGES[name].extras)
    return f"{path}[{','.join(extras)}]" if extras else path


def _fresh(session: nox.Session, packages: list[str]) -> list[str]:
    """uv flags that rebuild our own packages instead of reusing a cached build.

    uv keys a local build on its pyproject's mtime and a wheel on its file name, so an
    edited ``src/`` (or a rebuilt wheel of the same version) would otherwise install stale code.
    """
    if session.venv_backend != "uv":
        return []
    return [
        flag for pkg in packages for flag in ("--refresh-package", pkg, "--reinstall-package", pkg)
    ]


def _install_closure(session: nox.Session, name: str, *groups: str) -> None:
    """Install *name* and its pmp closure from local paths (non-editable), plus groups."""
    closure = depgraph.closure(PACKAGES, name)
    extra: list[str] = []
    for group in groups:
        extra += _group(name, group)
    session.install(*_fresh(session, closure), *[_with_extras(pkg) for pkg in closure], *extra)


def _pytest(session: nox.Session, name: str, *args: str) -> None:
    session.run(
        "python",
        "-m",
        "pytest",
        "-c",
        str(ROOT / "pyproject.toml"),
        "--rootdir",
        str(ROOT),
        "-p",
        "no:cacheprovider",
        str(PACKAGES[name].path / "tests"),
        *args,
        *session.posargs,
    )


@nox.session(python=PYTHONS)
@nox.parametrize("package", ORDER)
def tests(session: nox.Session, package: str) -> None:
    """Run one package's tests with only it and its declared dependencies installed."""
    _install_closure(session, package, "test")
    _pytest(session, package, "-q")


@nox.session
def coverage(session: nox.Session) -> None:
    """Branch coverage >= 95% for every package, measured on the installed code."""
    session.install(
        *_fresh(session, ORDER),
        *[_with_extras(pkg) for pkg in ORDER],
        "coverage[toml]>=7",
        *TEST_TOOLS,
    )
    session.install(*{req for name in ORDER for req in _group(name, "test")})
    data = Path(session.create_tmp()) / "coverage"
    shutil.rmtree(data, ignore_errors=True)
    failed = []
    for name in ORDER:
        folder = data / name
        folder.mkdir(parents=True)
        env = {"COVERAGE_FILE": str(folder / ".coverage")}
        session.run(
            "python", "-m", "coverage", "run", f"--source={PACKAGES[name].import_name}",
            "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(ROOT),
            "-p", "no:cacheprovider", "-q", str(PACKAGES[name].path / "tests"),
            env=env,
        )  # fmt: skip
        session.run("python", "-m", "coverage", "combine", "-q", "--keep", str(folder), env=env)
        try:
            session.run("python", "-m", "coverage", "report", "--fail-under=95", env=env)
        except nox.command.CommandFailed:
            failed.append(name)
    env = {"COVERAGE_FILE": str(data / ".coverage")}
    session.run("python", "-m", "coverage", "combine", "-q", "--keep",
                *[str(data / name / ".coverage") for name in ORDER], env=env)  # fmt: skip
    session.run("python", "-m", "coverage", "report", env=env)
    if failed:
        session.error(f"branch coverage below 95% in: {', '.join(failed)}")


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check over the whole repository."""
    session.install("ruff==0.17.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict (and pyright where configured) on every package and its usage files.

    The tests are type-checked too: their bodies are checked, but helpers and fixtures may be
    left unannotated.
    """
    session.install(
        *_fresh(session, ORDER),
        *[_with_extras(pkg) for pkg in ORDER],
        "mypy==2.4.1",
        "pyright==1.1.414",
        *TEST_TOOLS,
    )
    extra = {req for name in ORDER for group in ("typing", "test") for req in _group(name, group)}
    if extra:
        session.install(*extra)
    session.run("mypy", "--strict", str(ROOT / "tools"))
    for python in PYTHONS:
        for name in ORDER:
            pkg = PACKAGES[name].path
            targets = [str(pkg / "src")]
            if (pkg / "tests" / "typing").is_dir():
                targets.append(str(pkg / "tests" / "typing"))
            session.run("mypy", "--python-version", python, *targets)
            session.run("mypy", "--python-version", python, *TESTS_MYPY, str(pkg / "tests"))
            config = pkg / "pyrightconfig.json"
            if config.is_file():
                session.run("pyright", "--pythonversion", python, "-p", str(config))


@nox.session
@nox.parametrize("package", ORDER)
def isolated(session: nox.Session, package: str) -> None:
    """Build the wheel, install it with only its closure, and test the installed wheel."""
    dist = Path(session.create_tmp()) / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    closure = depgraph.closure(PACKAGES, package)
    for name in closure:
        session.run("uv", "build", "--wheel", "--out-dir", str(dist), "-q",
                    str(PACKAGES[name].path), external=True)  # fmt: skip
    session.install(*TEST_TOOLS, *_group(package, "test"))
    session.install(*_fresh(session, closure), "--no-index", f"--find-links={dist}", package)
    session.run("uv", "pip", "check", "--python", sys_python(session), external=True)
    absent = [PACKAGES[n].import_name for n in ORDER if n not in closure]
    session.run("python", "-c", _isolation_probe(package, closure, absent))
    with tempfile.TemporaryDirectory() as tmp:
        tests_copy = Path(tmp) / "tests"
        shutil.copytree(PACKAGES[package].path / "tests", tests_copy)
        session.run(
            "python", "-m", "pytest", "-c", str(ROOT / "pyproject.toml"), "--rootdir", tmp,
            "-p", "no:cacheprovider", "-q", str(tests_copy), *session.posargs,
        )  # fmt: skip


def sys_python(session: nox.Session) -> str:
    """The interpreter of the session's virtual environment."""
    return str(Path(session.virtualenv.location) / "bin" / "python")


def _isolation_probe(package: str, closure: list[str], absent: list[str]) -> str:
    """Source run in the isolated env: the wheel is what imports, and only its closure is there."""
    module = PACKAGES[package].import_name
    return f"""
import importlib, importlib.metadata as md, importlib.util, re
mod = importlib.import_module({module!r})
assert "site-packages" in mod.__file__, f"{{mod.__file__}} is not the installed wheel"
present = [name for name in {absent!r} if importlib.util.find_spec(name) is not None]
assert not present, f"undeclared siblings are installed: {{present}}"
seen, todo = set(), [{package!r}]
while todo:
    name = todo.pop()
    if name in seen:
        continue
    seen.add(name)
    for req in md.requires(name) or []:
        if "extra ==" not in req:
            todo.append(re.match(r"[A-Za-z0-9._-]+", req).group(0).lower().replace("_", "-"))
assert seen == set({closure!r}), f"installing {package} brings {{sorted(seen)}}"
print({module!r}, "imports from", mod.__file__, "and brings exactly", sorted(seen))
"""


@nox.session
def build(session: nox.Session) -> None:
    """sdist and wheel of every package into dist/, twine check, wheel contents checked."""
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    session.install("twine>=5")
    for name in ORDER:
        session.run("uv", "build", "--sdist", "--wheel", "--out-dir", str(dist), "-q",
                    str(PACKAGES[name].path), external=True)  # fmt: skip
    artifacts = sorted([*dist.glob("*.whl"), *dist.glob("*.tar.gz")])
    session.run("twine", "check", "--strict", *[str(p) for p in artifacts])
    for name in ORDER:
        module = PACKAGES[name].import_name
        wheels = list(dist.glob(f"{module}-*.whl"))
        if len(wheels) != 1:
            session.error(f"expected one wheel for {name} in dist/, found {wheels}")
        files = zipfile.ZipFile(wheels[0]).namelist()
        if f"{module}/py.typed" not in files:
            session.error(f"{wheels[0].name} lacks {module}/py.typed")
        leaked = [f for f in files if "/tests/" in f or f.startswith(("tests/", "benchmarks/"))]
        if leaked:
            session.error(f"{wheels[0].name} ships test or benchmark files: {leaked[:5]}")
    session.log(f"built {len(artifacts)} files into {dist}")


@nox.session
def graph(session: nox.Session) -> None:
    """Check the dependency graph and print the build order; test the repo tooling."""
    session.install(*TEST_TOOLS, "tomli>=2; python_version < '3.11'")
    session.run("python", str(ROOT / "tools" / "depgraph.py"))
    session.run("python", "-m", "pytest", "-c", str(ROOT / "pyproject.toml"),
                "--rootdir", str(ROOT), "-p", "no:cacheprovider", "-q",
                str(ROOT / "tools" / "tests"))  # fmt: skip


@nox.session
def tour(session: nox.Session) -> None:
    """Install the whole family and run the tour of every pattern."""
    _install_closure(session, depgraph.META)
    session.run("python", "-m", "python_mastery_portfolio", *session.posargs)


@nox.session(default=False)
def serve(session: nox.Session) -> None:
    """Run the example order service (FastAPI, the whole family) on http://127.0.0.1:8000."""
    _install_closure(session, depgraph.META)
    session.install("fastapi>=0.115", "uvicorn>=0.30")
    example = PACKAGES[depgraph.META].path / "examples" / "orders_service.py"
    session.run("python", str(example), *session.posargs)


@nox.session(python=["3.11", "3.13"], default=False)
def bench(session: nox.Session) -> None:
    """Benchmarks against the peer libraries, printed as ratios (opt-in, not run by default)."""
    out = ROOT / ".bench"
    out.mkdir(exist_ok=True)
    for name in ORDER:
        script = PACKAGES[name].path / "benchmarks" / "run.py"
        if not script.is_file():
            continue
        _install_closure(session, name, "bench")
        session.run("python", str(script), "--json",
                    str(out / f"{name}-{session.python}.json"), *session.posargs)  # fmt: skip
    session.install("matplotlib>=3.8")
    session.run("python", str(ROOT / "tools" / "bench_charts.py"), str(out),
                str(ROOT / "docs" / "assets" / "bench"))  # fmt: skip


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site in strict mode (broken links and references fail)."""
    session.install(
        "mkdocs==1.6.1",
        "mkdocs-material==9.8.1",
        "mkdocstrings[python]==1.0.8",
        "mkdocstrings-python==2.0.11",
        "ruff==0.17.6",
    )
    session.run(
        "mkdocs", "build", "--strict", "--site-dir", str(Path(session.create_tmp()) / "site"),
        env={"NO_MKDOCS_2_WARNING": "1"},
    )  # fmt: skip


@nox.session
def workflows(session: nox.Session) -> None:
    """Validate the GitHub workflow files against the workflow schema."""
    session.install("check-jsonschema>=0.29")
    files = sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))
    session.run("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *files)
