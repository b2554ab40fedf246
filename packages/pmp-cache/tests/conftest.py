"""Shared fixtures: the repository's real redis-server plugin."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SUPPORT = Path("tools", "testsupport")


def pytest_configure(config: pytest.Config) -> None:
    """Load the shared ``redis_server``/``redis_url`` fixtures from ``tools/testsupport``.

    The folder is found beside the configuration file (the repository's pyproject.toml, given
    with ``-c`` when a copy of these tests runs elsewhere) or above this file.
    """
    roots = [config.inipath.parent] if config.inipath is not None else []
    roots.append(Path(__file__).resolve().parents[3])
    for root in roots:
        if (root / SUPPORT / "pmp_redis_server.py").is_file():
            sys.path.insert(0, str(root / SUPPORT))
            config.pluginmanager.import_plugin("pmp_redis_server")
            return
    msg = f"{SUPPORT} not found above {roots}: run the tests with -c <repository>/pyproject.toml"
    raise pytest.UsageError(msg)
