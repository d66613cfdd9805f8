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
        ax.annotate(f"{val:+,.1f}{unit}", (i, max(run, top, run + p90)), ha="center", va="bottom", fontsize=8)
        run = top
        tops.append(top)
    ax.set_xticks(x, list(steps["label"]), rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"{column} P50 ({unit})")
    lo, hi = min(tops), max(tops)
    ax.set_ylim(max(0.0, lo - 0.6 * (hi - lo) - 0.02 * hi), hi + 0.15 * (hi - lo) + 0.02 * hi)
    ax.set_title(title or f"What moves {column}")
    fig.tight_layout()
    return fig


def plot_response_sensitivity(table: pd.DataFrame, figure: str = "revenue_p50", *, scale: float = 1e6,
                              unit: str = "M", ax: plt.Axes | None = None) -> Figure:
    """Tornado of :func:`spm_models.planning.response.response_sensitivity`: for each response
    parameter, the change of ``figure`` at the low and high end of its documented range."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 0.6 + 0.45 * table["parameter"].nunique()))
    else:
        fig = ax.figure
    params = list(dict.fromkeys(table["parameter"]))
    for i, p in enumerate(params):
        rows = table[table["parameter"] == p].set_index("end")
        for end, color in (("low", "#8172b2"), ("high", "#dd8452")):
            if end in rows.index:
                v = float(rows.loc[end, f"{figure}_change"]) / scale
                ax.barh(i, v, color=color, label=end if i == 0 else None)
                ax.annotate(f"{rows.loc[end, 'value']:g}", (v, i), ha="left" if v >= 0 else "right",
                            va="center", fontsize=7)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(range(len(params)), params, fontsize=8)
    ax.set_xlabel(f"change of {figure} ({unit})")
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title("Plan response: documented range")
    fig.tight_layout()
    return fig
