"""Check the workspace's package graph and print the build order (stdlib only on 3.11+).

Checks, for every ``packages/*/pyproject.toml``:

- the distribution name matches its single import package under ``src/``, which ships ``py.typed``;
- sibling requirements are only the edges the design allows, use version ranges that admit the
  sibling's current version, and form no cycle;
- every ``import pmp_*`` in a package's source names itself or a declared sibling;
- third-party runtime requirements are only the ones the design allows: ``redis`` in the
  ``pmp-cache[redis]`` and ``pmp-ratelimit[redis]`` extras, a web framework in the extra named
  after it (pmp-errors and pmp-di), and for pmp-decorators, pmp-cache and pmp-di
  ``opentelemetry-api`` in their ``[opentelemetry]`` extra and ``prometheus-client`` in their
  ``[prometheus]`` extra;
- the meta-package depends on exactly the six members (those present in the workspace).

Usage: ``python tools/depgraph.py [ROOT]`` prints the build order or the problems (exit 1).
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "ALLOWED",
    "META",
    "Package",
    "build_order",
    "check",
    "closure",
    "load_workspace",
    "main",
]

META = "python-mastery-portfolio"
MEMBERS = ("pmp-errors", "pmp-typing", "pmp-decorators", "pmp-cache", "pmp-di", "pmp-ratelimit")
ALLOWED: Mapping[str, frozenset[str]] = {
    "pmp-errors": frozenset(),
    "pmp-typing": frozenset({"pmp-errors"}),
    "pmp-decorators": frozenset({"pmp-errors"}),
    "pmp-cache": frozenset({"pmp-errors"}),
    "pmp-di": frozenset({"pmp-errors"}),
    "pmp-ratelimit": frozenset({"pmp-errors"}),
    META: frozenset(MEMBERS),
}
_WEB_EXTRAS: Mapping[str, frozenset[str]] = {
    "flask": frozenset({"flask", "werkzeug"}),
    "django": frozenset({"django", "asgiref"}),
    "fastapi": frozenset({"fastapi"}),
    "starlette": frozenset({"starlette"}),
    "litestar": frozenset({"litestar"}),
}
_OBSERVABILITY: Mapping[str, frozenset[str]] = {
    "opentelemetry": frozenset({"opentelemetry-api"}),
    "prometheus": frozenset({"prometheus-client"}),
}
THIRD_PARTY_EXTRAS: Mapping[str, Mapping[str, frozenset[str]]] = {
    "pmp-decorators": _OBSERVABILITY,
    "pmp-cache": {"redis": frozenset({"redis"}), **_OBSERVABILITY},
    "pmp-di": {**_WEB_EXTRAS, **_OBSERVABILITY},
    "pmp-ratelimit": {"redis": frozenset({"redis"})},
    "pmp-errors": _WEB_EXTRAS,
}
_OWN_IMPORTS = re.compile(r"(pmp_[a-z_]+|python_mastery_portfolio)\Z")
_CLAUSE = re.compile(r"(>=|<)\s*([0-9][0-9.]*)")
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*([^;]*)")

TomlReader = Callable[[Path], Mapping[str, Any]]


@dataclass(frozen=True)
class Package:
    """One workspace package as its pyproject describes it."""

    name: str
    path: Path
    version: str
    requires: dict[str, str] = field(default_factory=dict)
    extras: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def import_name(self) -> str:
        """The import package that the distribution name implies."""
        return self.name.replace("-", "_")

    @property
    def siblings(self) -> frozenset[str]:
        """Names of the workspace packages this one requires at run time."""
        return frozenset(name for name in self.requires if _is_own(name))


def _is_own(name: str) -> bool:
    return name.startswith("pmp-") or name == META


def _read_toml(path: Path) -> Mapping[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib

        with path.open("rb") as handle:
            data: dict[str, Any] = tomllib.load(handle)
        return data
    msg = (
        "reading pyproject.toml needs Python 3.11+ (tomllib), or pass read_toml"  # pragma: no cover
    )
    raise RuntimeError(msg)  # pragma: no cover


def _parse_requirements(lines: Iterable[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in lines:
        match = _REQUIREMENT.match(line)
        if match:
            out[match.group(1).lower().replace("_", "-")] = match.group(3).strip()
    return out


def load_workspace(root: Path, read_toml: TomlReader = _read_toml) -> dict[str, Package]:
    """Read every ``packages/*/pyproject.toml`` under *root*, keyed by distribution name."""
    packages: dict[str, Package] = {}
    for pyproject in sorted((root / "packages").glob("*/pyproject.toml")):
        project = read_toml(pyproject)["project"]
        extras = {
            extra: _parse_requirements(reqs)
            for extra, reqs in project.get("optional-dependencies", {}).items()
        }
        package = Package(
            name=project["name"],
            path=pyproject.parent,
            version=project["version"],
            requires=_parse_requirements(project.get("dependencies", [])),
            extras=extras,
        )
        packages[package.name] = package
    return packages


def build_order(packages: Mapping[str, Package]) -> list[str]:
    """Return the packages with every dependency before its dependents.

    Raises ``ValueError`` naming the cycle when there is one.
    """
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == "done":
            return
        if state.get(name) == "active":
            cycle = [*path[path.index(name) :], name]
            raise ValueError("dependency cycle: " + " -> ".join(cycle))
        state[name] = "active"
        for dep in sorted(packages[name].siblings & packages.keys()):
            visit(dep, [*path, name])
        state[name] = "done"
        order.append(name)

    for name in sorted(packages):
        visit(name, [])
    return order


def closure(packages: Mapping[str, Package], name: str) -> list[str]:
    """Return *name* and every sibling it needs, dependencies first."""
    needed: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current not in needed:
            needed.add(current)
            stack.extend(packages[current].siblings)
    return [pkg for pkg in build_order(packages) if pkg in needed]


def _imported_own_modules(src: Path) -> dict[str, set[str]]:
    """Map each top-level pmp module imported under *src* to the files importing it."""
    found: dict[str, set[str]] = {}
    for file in sorted(src.rglob("*.py")):
        tree = ast.parse(file.read_text(encoding="utf-8"), filename=str(file))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                if _OWN_IMPORTS.match(top):
                    found.setdefault(top, set()).add(str(file.relative_to(src.parent.parent)))
    return found


def _check_package(pkg: Package, packages: Mapping[str, Package]) -> list[str]:
    src = pkg.path / "src"
    import_dirs = sorted(p.name for p in src.iterdir() if p.is_dir() and not p.name.startswith("."))
    if import_dirs != [pkg.import_name]:
        return [
            (
                f"{pkg.name}: src/ must hold exactly the import package {pkg.import_name!r}, "
                f"found {import_dirs}"
            )
        ]
    problems: list[str] = []
    if not (src / pkg.import_name / "py.typed").is_file():
        problems.append(f"{pkg.name}: src/{pkg.import_name}/py.typed is missing")
    allowed = ALLOWED.get(pkg.name)
    if allowed is None:
        return [*problems, f"{pkg.name}: not a package the design knows; add it to ALLOWED"]
    problems += [
        f"{pkg.name}: requires {sibling}, an edge the design does not allow"
        for sibling in sorted(pkg.siblings - allowed)
    ]
    for sibling in sorted(pkg.siblings):
        problems += _check_range(pkg, sibling, packages)
    return problems + _check_third_party(pkg) + _check_imports(pkg, packages)


def _check_third_party(pkg: Package) -> list[str]:
    problems: list[str] = []
    third = sorted(name for name in pkg.requires if not _is_own(name))
    if third:
        problems.append(f"{pkg.name}: third-party runtime requirements {third} are not allowed")
    for extra, reqs in pkg.extras.items():
        allowed_extra = THIRD_PARTY_EXTRAS.get(pkg.name, {}).get(extra, frozenset())
        problems += [
            f"{pkg.name}[{extra}]: requirement {req!r} is not allowed"
            for req in sorted(set(reqs) - allowed_extra)
        ]
    return problems


def _check_imports(pkg: Package, packages: Mapping[str, Package]) -> list[str]:
    declared = {packages[s].import_name for s in pkg.siblings if s in packages}
    return [
        f"{pkg.name}: imports {module} ({', '.join(sorted(files))}) "
        "without requiring its distribution"
        for module, files in sorted(_imported_own_modules(pkg.path / "src").items())
        if module != pkg.import_name and module not in declared
    ]


def _check_range(pkg: Package, sibling: str, packages: Mapping[str, Package]) -> list[str]:
    spec = pkg.requires[sibling]
    if sibling not in packages:
        return [f"{pkg.name}: requires {sibling}, which is not in the workspace"]
    clauses = [_CLAUSE.fullmatch(part.strip()) for part in spec.split(",")]
    ops = {match.group(1) for match in clauses if match}
    if None in clauses or ops != {">=", "<"}:
        return [
            f"{pkg.name}: requirement on {sibling} must be a range like '>=0.1,<0.2', got {spec!r}"
        ]
    version = _version_tuple(packages[sibling].version)
    for match in clauses:
        assert match is not None  # checked above
        bound = _version_tuple(match.group(2))
        if (match.group(1) == ">=" and version < bound) or (
            match.group(1) == "<" and version >= bound
        ):
            return [
                (
                    f"{pkg.name}: range {spec!r} on {sibling} excludes its version "
                    f"{packages[sibling].version}"
                )
            ]
    return []


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text))


def check(packages: Mapping[str, Package]) -> list[str]:
    """Return every problem found in the workspace graph (empty when all is well)."""
    problems: list[str] = []
    for pkg in packages.values():
        problems += _check_package(pkg, packages)
    meta = packages.get(META)
    if meta is None:
        problems.append(f"{META} is missing")
    elif meta.siblings != frozenset(MEMBERS) & packages.keys():
        members = sorted(frozenset(MEMBERS) & packages.keys())
        problems.append(
            f"{META} must depend on exactly the members {members}, "
            f"depends on {sorted(meta.siblings)}"
        )
    try:
        build_order(packages)
    except ValueError as exc:
        problems.append(str(exc))
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check the workspace at ``argv[0]`` (default: this repository) and print the build order."""
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent
    packages = load_workspace(root)
    problems = check(packages)
    if problems:
        for problem in problems:
            print(f"error: {problem}", file=sys.stderr)  # noqa: T201
        return 1
    print("build order: " + " -> ".join(build_order(packages)))  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
