"""The Redis tour section against a real server, and its fallback when none answers."""

from __future__ import annotations

import importlib.util
import os
import shutil
import socket
import subprocess
import time
from typing import TYPE_CHECKING

import pytest

from python_mastery_portfolio import _tour_redis

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    """A throw-away redis-server on a free loopback port."""
    binary = shutil.which("redis-server")
    if binary is None or importlib.util.find_spec("redis") is None:
        if os.environ.get("CI") and binary is None:
            pytest.fail("redis-server is missing on CI: apt-get install -y redis-server")
        pytest.skip("needs redis-server on PATH and redis-py (pip install 'pmp-cache[redis]')")
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603 - our own fixed command line
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_tour_uses_a_reachable_server(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """With a server at REDIS_URL the section shows two tiers and cleans up after itself."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    _tour_redis.show()
    out = capsys.readouterr().out
    assert f"Redis at {redis_url}" in out
    assert "computed=1" in out
    assert "local tier 1000" in out
    import redis

    client = redis.Redis.from_url(redis_url)
    try:
        assert client.keys("pmp-tour-*") == []
    finally:
        client.close()


def test_tour_explains_how_to_try_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a reachable server the section says how to start one, and does not fail."""
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{_free_port()}/0")
    _tour_redis.show()
    out = capsys.readouterr().out
    assert 'pip install "pmp-cache[redis]"' in out
    assert "export REDIS_URL=" in out
