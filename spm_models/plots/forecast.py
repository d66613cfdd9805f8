"""Forecast plots: fan chart of posterior-predictive bookings, parameter intervals."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure


def plot_forecast_fan(
    forecast: xr.DataArray,
    history: xr.DataArray | None = None,
    quantiles: Sequence[tuple[float, float]] = ((0.05, 0.95), (0.1, 0.9), (0.25, 0.75)),
    title: str = "Bookings forecast",
    ax=None,
) -> Figure:
    """Fan chart of ``forecast(period, draw)`` (e.g. the company roll-up) with the median,
    nested credible bands and optional actual ``history(period)``."""
    extra = [d for d in forecast.dims if d not in ("period", "draw")]
    if extra:
        raise ValueError(f"forecast must have dims (period, draw); roll up {extra} first")
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(9, 4))
    periods = [str(p) for p in forecast["period"].values]
    x = np.arange(len(periods))
    offset = 0
    labels = periods
    if history is not None:
        hp = [str(p) for p in history["period"].values]
        offset = len(hp)
        ax.plot(np.arange(offset), history.values, color="black", lw=1.5, label="actual")
        labels = hp + periods
    xf = x + offset
    for i, (lo, hi) in enumerate(quantiles):
        q = forecast.quantile([lo, hi], dim="draw").values
        ax.fill_between(xf, q[0], q[1], color="tab:blue", alpha=0.15 + 0.12 * i, lw=0,
                        label=f"{round((hi - lo) * 100)} % interval")
    ax.plot(xf, forecast.median("draw").values, color="tab:blue", lw=2, label="median")
    step = max(1, len(labels) // 12)
    ax.set_xticks(np.arange(len(labels))[::step], labels[::step], rotation=45, ha="right")
    ax.set_title(title)
    ax.set_ylabel("net bookings")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def plot_parameter_intervals(
    posterior: xr.Dataset,
    names: Sequence[str],
    truth: Mapping[str, float] | None = None,
    prob: float = 0.90,
) -> Figure:
    """Posterior median and equal-tailed ``prob`` interval of scalar parameters, each on its
    own row (own scale), with the generating value as a red mark when ``truth`` is given."""
    names = [n for n in names if n in posterior]
    fig, axes = plt.subplots(len(names), 1, figsize=(6, 0.7 * len(names) + 0.6), squeeze=False)
    a = (1 - prob) / 2
    for ax, n in zip(axes[:, 0], names):
        x = np.asarray(posterior[n].values).ravel()
        lo, med, hi = np.quantile(x, [a, 0.5, 1 - a])
        ax.hlines(0, lo, hi, color="tab:blue", lw=3)
        ax.plot([med], [0], "o", color="tab:blue")
        if truth and n in truth:
            ax.plot([truth[n]], [0], "|", color="tab:red", ms=14, mew=2)
        ax.set_yticks([0], [n])
        ax.margins(x=0.3)
    axes[0, 0].set_title(f"posterior median and {int(prob * 100)} % interval" + (" (red: truth)" if truth else ""))
    fig.tight_layout()
    return fig


def plot_pit_histogram(pit: Mapping[str, np.ndarray], bins: int = 10) -> Figure:
    """Histogram of probability integral transform values per method (one panel each).

    ``pit[method]``: PIT values in [0, 1] of the scored held-out cells (see
    :func:`spm_models.forecast.scoring.pit_from_draws`). A calibrated forecast gives a flat
    histogram (dashed line); a U shape means intervals too narrow, a hump too wide
    (Gneiting, Balabdaoui & Raftery 2007, J. R. Stat. Soc. B).
    """
    names = list(pit)
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.0), sharey=True, squeeze=False)
    for ax, name in zip(axes[0], names):
        v = np.asarray(pit[name], float)
        ax.hist(v, bins=np.linspace(0, 1, bins + 1), density=True, color="#4c72b0", edgecolor="white")
        ax.axhline(1.0, color="k", ls="--", lw=1)
        ax.set_title(f"{name} (n={len(v)})")
        ax.set_xlabel("PIT")
    axes[0][0].set_ylabel("density")
    fig.suptitle("PIT histogram of held-out rep-months")
    fig.tight_layout()
    return fig


def plot_coverage_by_horizon(coverage: Mapping[str, Mapping[str, Sequence[float]]],
                             periods: Sequence[str]) -> Figure:
    """Empirical coverage of the central 80 % and 95 % intervals by forecast horizon.

    ``coverage[method]["coverage_80" | "coverage_95"]``: share of scored rep-months of each
    held-out month inside the interval; dotted lines mark the nominal levels.
    """
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    h = np.arange(1, len(periods) + 1)
    for ax, key, nominal in zip(axes, ("coverage_80", "coverage_95"), (0.8, 0.95)):
        for name, cov in coverage.items():
            ax.plot(h, cov[key], marker="o", ms=3, label=name)
        ax.axhline(nominal, color="k", ls=":", lw=1)
        ax.set_title(f"{key.replace('coverage_', '')} % interval")
        ax.set_xlabel("horizon (months)")
        ax.set_ylim(0, 1.02)
    axes[0].set_ylabel("coverage")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    return fig
