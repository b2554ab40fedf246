"""Time the hot paths of this checkout against another git revision, in one process.

    python packages/pmp-decorators/benchmarks/against_revision.py [REV] [--rounds N]

The package at ``REV`` (default ``main``) is extracted with ``git archive``, imported,
and moved aside under another name; then the working tree's package is imported. Both
decorate the same functions and are timed round by round, interleaved; each row prints
(this checkout's overhead) / (REV's overhead), where overhead is a call's time minus the
undecorated call's, from each variant's fastest round (the one least disturbed by other
work on the machine), and the median of the per-round ratios. 1.00 means unchanged; the
control row times REV against itself and so shows the noise of the run.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import statistics
import subprocess
import sys
import tarfile
import tempfile
import timeit
from pathlib import Path
from typing import Any

PACKAGE = Path(__file__).resolve().parents[1]
ROOT = PACKAGE.parents[1]


def import_revision(revision: str, into: Path) -> Any:
    """Import pmp_decorators as of ``revision``, then take it out of ``sys.modules``."""
    archive = into / "rev.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "-C", str(ROOT), "archive", revision, "packages/pmp-decorators/src"],
            check=True,
            stdout=out,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(into, filter="data")
    sys.path.insert(0, str(into / "packages" / "pmp-decorators" / "src"))
    try:
        old = importlib.import_module("pmp_decorators")
    finally:
        sys.path.pop(0)
    for name in [n for n in sys.modules if n.split(".")[0] == "pmp_decorators"]:
        sys.modules[f"revision_{name}"] = sys.modules.pop(name)
    return old


def rows(old: Any, new: Any) -> dict[str, tuple[str, dict[str, Any]]]:
    quiet = logging.getLogger("bench.quiet")
    quiet.setLevel(logging.WARNING)

    def work(x: int) -> int:
        return x

    def variants(make: Any) -> dict[str, Any]:
        return {"old": make(old), "new": make(new), "bare": work}

    return {
        "retry: success path, sync": (
            "f(1)",
            variants(lambda pmp: pmp.retry(max_attempts=3, exceptions=(OSError,))(work)),
        ),
        "timed, logging disabled": (
            "f(1)",
            variants(lambda pmp: pmp.timed(unit="ms", logger=quiet)(work)),
        ),
        "control: retry success, REV vs REV": (
            "f(1)",
            {
                "old": old.retry(max_attempts=3, exceptions=(OSError,))(work),
                "new": old.retry(max_attempts=3, exceptions=(OSError,))(work),
                "bare": work,
            },
        ),
        "measure_block, logging disabled": (
            "with f('x'):\n    pass",
            {"old": old.measure_block, "new": new.measure_block, "bare": None},
        ),
    }


def measure(stmt: str, func: Any, number: int) -> float:
    if func is None:
        return timeit.Timer("pass").timeit(number) / number
    return timeit.Timer(stmt, globals={"f": func}).timeit(number) / number


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", nargs="?", default="main")
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--number", type=int, default=200_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = import_revision(args.revision, Path(tmp))
        new = importlib.import_module("pmp_decorators")
        print(f"Python {sys.version.split()[0]}: this checkout vs {args.revision}, overhead ratio")
        for name, (stmt, funcs) in rows(old, new).items():
            ratios = []
            best = {"old": float("inf"), "new": float("inf"), "bare": float("inf")}
            for index in range(args.rounds):
                order = ["old", "new", "bare"] if index % 2 else ["new", "bare", "old"]
                times = {key: measure(stmt, funcs[key], args.number) for key in order}
                ratios.append((times["new"] - times["bare"]) / (times["old"] - times["bare"]))
                best = {key: min(best[key], times[key]) for key in best}
            fastest = (best["new"] - best["bare"]) / (best["old"] - best["bare"])
            print(
                f"{name:<36} fastest rounds {fastest:6.3f}, "
                f"median {statistics.median(ratios):.3f}  "
                f"({best['old'] * 1e9:.1f} -> {best['new'] * 1e9:.1f} ns per call)"
            )


if __name__ == "__main__":
    main()
