"""Check a release tag against the package it names (stdlib only).

A tag ``<dist-name>-v<version>`` releases one package: the package must exist under
``packages/``, its pyproject version must equal ``<version>``, and its CHANGELOG.md must have
a ``## [<version>]`` section. On success the package's folder is printed, for the workflow to
build.

Usage: ``python tools/release.py TAG [ROOT]``.
"""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from depgraph import load_workspace

__all__ = ["ReleaseError", "Target", "check_tag", "main"]

_TAG = re.compile(r"(?P<name>[a-z0-9][a-z0-9-]*?)-v(?P<version>\d+(?:\.\d+)*(?:[a-z0-9.]*)?)\Z")


class ReleaseError(Exception):
    """The tag does not describe a releasable package; the message says why."""


@dataclass(frozen=True)
class Target:
    """The package a tag releases."""

    name: str
    version: str
    path: Path


def check_tag(tag: str, root: Path) -> Target:
    """Return the package *tag* releases, or raise :class:`ReleaseError` saying what is wrong."""
    match = _TAG.fullmatch(tag.removeprefix("refs/tags/"))
    if match is None:
        msg = f"tag {tag!r} is not of the form <dist-name>-v<version>, e.g. pmp-errors-v0.1.0"
        raise ReleaseError(msg)
    name, version = match.group("name"), match.group("version")
    packages = load_workspace(root)
    if name not in packages:
        msg = f"tag {tag!r} names {name!r}, which is not one of {sorted(packages)}"
        raise ReleaseError(msg)
    package = packages[name]
    if package.version != version:
        msg = f"tag {tag!r} says {version} but {name}'s pyproject.toml says {package.version}"
        raise ReleaseError(msg)
    changelog = package.path / "CHANGELOG.md"
    heading = re.compile(rf"^## \[{re.escape(version)}\]", re.MULTILINE)
    if not changelog.is_file() or not heading.search(changelog.read_text(encoding="utf-8")):
        msg = f"{name}/CHANGELOG.md has no '## [{version}]' section; add one before releasing"
        raise ReleaseError(msg)
    return Target(name=name, version=version, path=package.path)


def main(argv: list[str] | None = None) -> int:
    """Check the tag in ``argv[0]`` and print the package folder it releases."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        print("usage: python tools/release.py TAG [ROOT]", file=sys.stderr)  # noqa: T201
        return 2
    root = Path(args[1]) if len(args) > 1 else Path(__file__).resolve().parent.parent
    try:
        target = check_tag(args[0], root)
    except ReleaseError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        return 1
    print(target.path.relative_to(root.resolve()) if target.path.is_absolute() else target.path)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
