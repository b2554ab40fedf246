"""Turn benchmark results (``.bench/*.json``) into SVG charts and Markdown tables for the docs.

Each benchmark script writes ``{"package", "python", "date", "rows": [{"name", "baseline",
"ratio", "target", "met"}]}``; for every such file this writes ``<package>-<python>.svg`` (one
bar per row: our time divided by the baseline's, log scale, 1.0 marked) and
``<package>-<python>.md`` (the same numbers as a table) into the output folder.

Usage: ``python tools/bench_charts.py RESULTS_DIR OUT_DIR`` (needs matplotlib).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["main", "markdown_table", "render"]


def markdown_table(result: dict[str, Any]) -> str:
    """Return the result as a Markdown table, headed by the Python version and date."""
    lines = [
        (
            f"Measured on Python {result['python']}, {result['date']} "
            "(ratio = our time / baseline time; lower is better)."
        ),
        "",
        "| benchmark | baseline | ratio | target | met |",
        "|---|---|---:|---|:---:|",
    ]
    for row in result["rows"]:
        target = row.get("target") or "-"
        met = "-" if _informational(row) else ("yes" if row.get("met") else "**no**")
        value = f"{row['ratio']:.0f} B" if _is_size(row) else f"{row['ratio']:.2f}x"
        lines.append(f"| {row['name']} | {row['baseline']} | {value} | {target} | {met} |")
    return "\n".join(lines) + "\n"


def _informational(row: dict[str, Any]) -> bool:
    """A row without a target is shown for comparison only."""
    return row.get("target") in (None, "", "-", "info")


def _is_size(row: dict[str, Any]) -> bool:
    """A row whose value is a size in bytes, not a time ratio."""
    return row.get("baseline") == "bytes"


def render(result: dict[str, Any], svg: Path) -> None:
    """Draw one horizontal bar per row (log scale) with the 1.0 line, into *svg*."""
    import matplotlib as mpl

    mpl.use("svg")
    mpl.rcParams["svg.hashsalt"] = "pmp"  # deterministic ids: re-rendering gives the same file
    import matplotlib.pyplot as plt

    rows = [row for row in result["rows"] if not _is_size(row)]
    labels = [f"{row['name']}\nvs {row['baseline']}" for row in rows]
    ratios = [max(float(row["ratio"]), 1e-3) for row in rows]
    colors = [
        "#757575" if _informational(row) else "#2e7d32" if row.get("met") else "#c62828"
        for row in rows
    ]
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.4))
    ax.barh(range(len(rows)), ratios, color=colors)
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.axvline(1.0, color="#555555", linewidth=1)
    for index, ratio in enumerate(ratios):
        ax.text(ratio, index, f" {ratio:.2f}x", va="center", fontsize=7)
    ax.set_xlabel("our time / baseline time (log scale; < 1 means faster)")
    ax.set_title(
        f"{result['package']} — Python {result['python']}, {result['date']}\n"
        "green: target met, red: target missed, grey: peer shown for comparison",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(svg, metadata={"Date": None})
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Render every results file found in the results folder."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:  # noqa: PLR2004 - two positional arguments
        print("usage: python tools/bench_charts.py RESULTS_DIR OUT_DIR", file=sys.stderr)  # noqa: T201
        return 2
    results, out = Path(args[0]), Path(args[1])
    out.mkdir(parents=True, exist_ok=True)
    files = sorted(results.glob("*.json"))
    for file in files:
        result = json.loads(file.read_text(encoding="utf-8"))
        stem = f"{result['package']}-{result['python'].rsplit('.', 1)[0]}"
        (out / f"{stem}.md").write_text(markdown_table(result), encoding="utf-8")
        render(result, out / f"{stem}.svg")
        print(f"wrote {out / stem}.svg and .md")  # noqa: T201
    return 0 if files else 1


if __name__ == "__main__":
    raise SystemExit(main())
