"""Planning plots: territory map, quota fairness, capacity fan chart (matplotlib, no tiles)."""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure


def plot_territory_map(
    assignment: pd.DataFrame,
    centres: pd.DataFrame | None = None,
    *,
    column: str = "territory_id",
    title: str | None = None,
    size_by: str | None = "potential",
    ax: plt.Axes | None = None,
) -> Figure:
    """Accounts as a lat/lon scatter coloured by territory, with territory centres.

    ``assignment`` needs ``lat``, ``lon`` and ``column`` (e.g. a
    :class:`~spm_models.planning.territory.TerritoryResult` ``.assignment``; use
    ``column="territory_id_before"`` for the starting alignment). Moved accounts (column
    ``moved``) get a black edge. Longitude is scaled by cos(mean latitude) so shapes are true.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(9, 5.5))
    else:
        fig = ax.figure
    codes, uniques = pd.factorize(assignment[column].astype(str), sort=True)
    cmap = plt.get_cmap("tab20")
    # shuffle colours so neighbouring territory ids do not share similar colours
    perm = np.random.default_rng(0).permutation(max(len(uniques), 1))
    colours = cmap((perm[codes] % 20) / 19.0)
    colours[:, 3] = 0.85
    sizes = 8.0
    if size_by and size_by in assignment:
        v = assignment[size_by].to_numpy(float)
        sizes = 4 + 40 * np.sqrt(v / v.max()) if v.max() > 0 else 8.0
    moved = assignment["moved"].to_numpy(bool) if "moved" in assignment else np.zeros(len(assignment), bool)
    edge = np.zeros((len(assignment), 4))
    edge[moved, 3] = 1.0  # black outline for moved accounts, none otherwise
    ax.scatter(assignment["lon"], assignment["lat"], c=colours, s=sizes, edgecolors=edge, linewidths=0.6)
    if centres is not None and len(centres):
        ax.scatter(centres["lon"], centres["lat"], marker="X", s=60, c="k", edgecolors="w", linewidths=0.8,
                   label="territory centre")
        ax.legend(loc="lower left", fontsize=8)
    mean_lat = float(np.nanmean(assignment["lat"]))
    ax.set_aspect(1.0 / max(np.cos(np.radians(mean_lat)), 0.2))
    ax.set_xlabel("longitude")
    ax.set_ylabel("latitude")
    ax.set_title(title or f"{len(uniques)} territories, {len(assignment):,} accounts")
    fig.tight_layout()
    return fig


def plot_territory_balance(before: pd.Series, after: pd.Series, *, label: str = "potential") -> Figure:
    """Sorted territory totals before and after balancing, relative to the mean."""
    fig, ax = plt.subplots(figsize=(8, 3.5))
    for s, name in ((before, "before"), (after, "after")):
        v = np.sort(np.asarray(s, dtype=float) / np.mean(s))
        ax.plot(np.arange(v.size), v, marker=".", label=name)
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xlabel("territory (sorted)")
    ax.set_ylabel(f"{label} ÷ mean")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_quota_fairness(p_reach: Mapping[str, xr.DataArray] | xr.DataArray, *, bins: int = 20) -> Figure:
    """Distribution across reps of P(reaching quota), one histogram per quota method."""
    if isinstance(p_reach, xr.DataArray):
        p_reach = {"quotas": p_reach}
    fig, ax = plt.subplots(figsize=(7, 3.5))
    edges = np.linspace(0, 1, bins + 1)
    for name, p in p_reach.items():
        ax.hist(np.asarray(p).ravel(), bins=edges, alpha=0.55, label=f"{name} (sd {float(np.std(p)):.3f})")
    ax.set_xlabel("P(plan-year bookings ≥ quota)")
    ax.set_ylabel("reps")
    ax.legend()
    fig.tight_layout()
    return fig


def plot_capacity(ds: xr.Dataset, target: float | None = None, *, cumulative: bool = True) -> Figure:
    """Fan chart of bookings capacity (P10–P90, P50) by month, and headcount P50."""
    cap = ds["capacity"].cumsum("period") if cumulative else ds["capacity"]
    q = cap.quantile([0.1, 0.5, 0.9], dim="draw")
    x = np.arange(ds.sizes["period"])
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 5), sharex=True, height_ratios=[3, 1.3])
    ax.fill_between(x, q.sel(quantile=0.1), q.sel(quantile=0.9), alpha=0.3, label="P10–P90")
    ax.plot(x, q.sel(quantile=0.5), label="P50")
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label="target")
    ax.set_ylabel("cumulative capacity" if cumulative else "capacity")
    ax.legend(fontsize=8)
    ax2.plot(x, ds["headcount"].median("draw"), color="C2", label="headcount P50")
    ax2.plot(x, ds["ramped_fte"].median("draw"), color="C3", label="ramped FTE P50")
    ax2.legend(fontsize=8)
    ax2.set_xticks(x)
    ax2.set_xticklabels(ds["period"].values, rotation=45, fontsize=7)
    fig.tight_layout()
    return fig
