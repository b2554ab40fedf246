"""Turn benchmark results (``.bench/*.json``) into SVG charts and Markdown tables for the docs.

Each benchmark script writes ``{"package", "python", "date", "rows": [{"name", "baseline",
"ratio", "target", "met"}]}``; for every such file this writes ``<package>-<python>.svg`` (one
bar per row: our time divided by the baseline's, log scale, 1.0 marked) and
``<package>-<python>.md`` (the same numbers as a table) into the output folder.

A hit-ratio file (``*.hit-ratio``, from ``packages/pmp-cache/benchmarks/hit_ratio.py``) holds
``{"package", "python", "date", "hit_ratio": {trace: {policy: percent}}}``; for each this writes
``<package>-hit-ratio-<python>.svg``: per cache size, grouped bars per trace for the policies of
``HIT_RATIO_POLICIES`` found in it.

Usage: ``python tools/bench_charts.py RESULTS_DIR OUT_DIR`` (needs matplotlib).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["HIT_RATIO_POLICIES", "main", "markdown_table", "render", "render_hit_ratio"]

# The policies a hit-ratio chart shows, in this order, with their colors.
HIT_RATIO_POLICIES = {
    "pmp s3fifo": "#2e7d32",
    "pmp lru": "#c62828",
    "theine (W-TinyLFU)": "#1565c0",
    "top-k (offline)": "#9e9e9e",
    "Belady (offline)": "#424242",
}


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


def render_hit_ratio(result: dict[str, Any], svg: Path) -> None:
    """Draw the hit ratios as grouped bars per trace, one panel per cache size, into *svg*."""
    import matplotlib as mpl

    mpl.use("svg")
    mpl.rcParams["svg.hashsalt"] = "pmp"  # deterministic ids: re-rendering gives the same file
    import matplotlib.pyplot as plt

    table: dict[str, dict[str, float]] = result["hit_ratio"]
    sizes: dict[str, list[str]] = {}  # cache size -> its rows, in order
    for row in table:
        sizes.setdefault(row.rsplit(" @ ", 1)[1], []).append(row)
    shown = [p for p in HIT_RATIO_POLICIES if any(p in ratios for ratios in table.values())]
    width = 0.8 / max(1, len(shown))
    fig, axes = plt.subplots(1, len(sizes), figsize=(4.2 * len(sizes), 4.6), sharey=True)
    panels = list(getattr(axes, "flat", [axes]))
    for ax, (size, rows) in zip(panels, sizes.items(), strict=True):
        for index, policy in enumerate(shown):
            offset = (index - (len(shown) - 1) / 2) * width
            xs = [row_index + offset for row_index in range(len(rows))]
            values = [table[row].get(policy, 0.0) for row in rows]
            ax.bar(xs, values, width, label=policy, color=HIT_RATIO_POLICIES[policy])
        ax.set_xticks(range(len(rows)), [row.rsplit(" @ ", 1)[0] for row in rows])
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        ax.set_title(f"cache = {size} of the keys", fontsize=9)
        ax.grid(axis="y", linewidth=0.3)
    first = panels[0]
    first.set_ylabel("hit ratio (%)")
    first.legend(fontsize=7, loc="upper left")
    fig.suptitle(
        f"{result['package']} hit ratios by eviction policy — Python {result['python']}, "
        f"{result['date']}, {result['requests']:,} requests per trace",
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
    ratios = sorted(results.glob("*.hit-ratio"))
    for file in ratios:
        result = json.loads(file.read_text(encoding="utf-8"))
        svg = out / f"{result['package']}-hit-ratio-{result['python'].rsplit('.', 1)[0]}.svg"
        render_hit_ratio(result, svg)
        print(f"wrote {svg}")  # noqa: T201
    return 0 if files or ratios else 1


if __name__ == "__main__":
    raise SystemExit(main())
