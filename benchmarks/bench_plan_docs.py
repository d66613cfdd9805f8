"""Benchmark: plan documents for 1,000 reps (``spm plan-docs`` without the scenario run).

A synthetic world (``spm_models.distribution.synthetic``) of 1,000 quota-holding reps, each
in its own territory of 30 accounts (so 1,000 distinct maps), 1,000 draws; the timed part is
:func:`write_plan_docs`: figures from the cube, pay curves through the comp engine, plain
words, SVG images, HTML and the index, every file written.

Targets (exit code 1 when missed):
1. all 1,000 documents and the index in under 60 s;
2. ratio ≤ 1: one whole document costs less than one matplotlib pay-curve PNG from a reused
   figure, measured in the same run (the drawing the documents would otherwise use).

Run: ``.venv/bin/python benchmarks/bench_plan_docs.py`` (``--reps N`` to change the size).
"""

from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_SECONDS = 60.0
TARGET_RATIO = 1.0


def matplotlib_curve_seconds(n: int = 20) -> float:
    """Seconds per pay-curve PNG with one reused matplotlib figure (the baseline)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    grid = np.linspace(0, 2.75, 101)
    fig, ax = plt.subplots(figsize=(5.2, 2.9))
    (line,) = ax.plot([], [])
    (point,) = ax.plot([], [], "o")
    ax.grid(alpha=0.3)
    t0 = time.perf_counter()
    for i in range(n):
        y = np.cumsum(grid) * (1000 + i)
        line.set_data(grid * 100, y)
        point.set_data([100], [y[36]])
        ax.set_xlim(0, 275)
        ax.set_ylim(0, y[-1] * 1.08)
        fig.savefig(io.BytesIO(), format="png", dpi=80)
    seconds = (time.perf_counter() - t0) / n
    plt.close(fig)
    return seconds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=1000)
    args = ap.parse_args()

    from spm_models.distribution.plan_docs import write_plan_docs
    from spm_models.distribution.synthetic import synthetic_world

    with tempfile.TemporaryDirectory() as tmp:
        world = synthetic_world(Path(tmp) / "scenario", n_reps=args.reps, n_draws=args.draws)
        base = matplotlib_curve_seconds()
        t0 = time.perf_counter()
        docs = write_plan_docs(world, Path(tmp) / "docs")
        seconds = time.perf_counter() - t0
        n_files = len(list((Path(tmp) / "docs").glob("*.html")))
    per_doc = seconds / max(len(docs), 1)
    ratio = per_doc / base
    print(f"plan documents: {len(docs)} reps, {n_files} files in {seconds:.1f} s "
          f"({per_doc * 1000:.1f} ms per document; target < {TARGET_SECONDS:.0f} s for 1,000)")
    print(f"baseline: one matplotlib pay-curve PNG {base * 1000:.1f} ms; "
          f"ratio document / PNG = {ratio:.2f} (target <= {TARGET_RATIO:.1f})")
    ok = per_doc * 1000 < TARGET_SECONDS and ratio <= TARGET_RATIO and n_files == len(docs) + 1
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
