"""Bridge (waterfall) charts: from the forecast of today's roster to the scenario (matplotlib)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure


def plot_bridge(steps: pd.DataFrame, column: str = "revenue", *, title: str | None = None,
                scale: float = 1e6, unit: str = "M", ax: plt.Axes | None = None) -> Figure:
    """Waterfall of ``steps`` (:func:`spm_models.planning.bridge.bridge_steps`) for ``column``
    (``revenue`` or ``cost``): level bars for the first and last step, floating bars for the
    changes (green up, red down) with the paired P10–P90 of each change as an error bar."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.5, 3.6))
    else:
        fig = ax.figure
    x = np.arange(len(steps))
    run = 0.0
    tops: list[float] = []
    for i, row in enumerate(steps.itertuples(index=False)):
        val = float(getattr(row, column)) / scale
        if row.kind == "level":
            ax.bar(i, val, color="#4c72b0")
            run = val
            tops.append(val)
            ax.annotate(f"{val:,.1f}{unit}", (i, val), ha="center", va="bottom", fontsize=8)
            continue
        lo = run if val >= 0 else run + val
        ax.bar(i, abs(val), bottom=lo, color="#55a868" if val >= 0 else "#c44e52")
        p10 = float(getattr(row, f"{column}_change_p10")) / scale
        p90 = float(getattr(row, f"{column}_change_p90")) / scale
        top = run + val
        ax.errorbar(i, top, yerr=[[max(val - p10, 0)], [max(p90 - val, 0)]], color="black", capsize=3, lw=0.8)
        ax.annotate(f"{val:+,.1f}{unit}", (i, max(run, top)), ha="center", va="bottom", fontsize=8)
        run = top
        tops.append(top)
    ax.set_xticks(x, list(steps["label"]), rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"{column} P50 ({unit})")
    lo, hi = min(tops), max(tops)
    ax.set_ylim(max(0.0, lo - 0.6 * (hi - lo) - 0.02 * hi), hi + 0.15 * (hi - lo) + 0.02 * hi)
    ax.set_title(title or f"What moves {column}")
    fig.tight_layout()
    return fig
