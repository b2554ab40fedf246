"""Tests for the benchmark chart and table renderer."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

import bench_charts

if TYPE_CHECKING:
    from pathlib import Path

RESULT = {
    "package": "pmp-cache",
    "python": "3.11.7",
    "date": "2026-11-28",
    "rows": [
        {"name": "hit", "baseline": "lru_cache", "ratio": 1.1, "target": "<= 1.2x", "met": True},
        {"name": "get", "baseline": "cachetools", "ratio": 0.9, "target": "<= 0.67x", "met": False},
        {"name": "peer", "baseline": "lru_cache", "ratio": 2.0, "target": "-", "met": True},
        {"name": "memory", "baseline": "bytes", "ratio": 105.4, "target": "<= 110B", "met": True},
    ],
}


def test_markdown_table_states_version_date_and_misses() -> None:
    """The table names the Python version and date and marks a missed target."""
    table = bench_charts.markdown_table(RESULT)
    assert "Python 3.11.7, 2026-11-28" in table
    assert "| hit | lru_cache | 1.10x | <= 1.2x | yes |" in table
    assert "| get | cachetools | 0.90x | <= 0.67x | **no** |" in table
    assert "| peer | lru_cache | 2.00x | - | - |" in table
    assert "| memory | bytes | 105 B | <= 110B | yes |" in table


def test_main_writes_chart_and_table(tmp_path: Path) -> None:
    """main() writes an SVG and a table per results file."""
    pytest.importorskip("matplotlib")
    results = tmp_path / "results"
    results.mkdir()
    (results / "pmp-cache-3.11.json").write_text(json.dumps(RESULT))
    assert bench_charts.main([str(results), str(tmp_path / "out")]) == 0
    svg = (tmp_path / "out" / "pmp-cache-3.11.svg").read_text()
    assert svg.lstrip().startswith("<?xml")
    assert (tmp_path / "out" / "pmp-cache-3.11.md").is_file()


def test_main_charts_hit_ratios(tmp_path: Path) -> None:
    """A hit-ratio file gets a chart of its own, one panel per cache size."""
    pytest.importorskip("matplotlib")
    results = tmp_path / "results"
    results.mkdir()
    row = {"pmp s3fifo": 40.0, "pmp lru": 30.0, "Belady (offline)": 50.0, "cachetools LFU": 1.0}
    hit_ratio = {
        "package": "pmp-cache",
        "python": "3.11.7",
        "date": "2026-12-03",
        "requests": 1000,
        "hit_ratio": {f"{trace} @ {size}": row for size in ("0.1%", "1.0%") for trace in "ab"},
    }
    (results / "pmp-cache-3.11.hit-ratio").write_text(json.dumps(hit_ratio))
    assert bench_charts.main([str(results), str(tmp_path / "out")]) == 0
    svg = (tmp_path / "out" / "pmp-cache-hit-ratio-3.11.svg").read_text()
    assert "pmp s3fifo" in svg
    assert "cachetools LFU" not in svg


def test_main_usage_and_empty_folder(tmp_path: Path) -> None:
    """main() explains its usage and fails when there is nothing to render."""
    assert bench_charts.main([]) == 2
    assert bench_charts.main([str(tmp_path), str(tmp_path / "out")]) == 1
