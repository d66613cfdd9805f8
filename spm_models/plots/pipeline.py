"""Pipeline plots: the in-quarter fan, coverage by region, KPI trends.

Inputs are the labelled outputs of :func:`spm_models.forecast.quarter.quarter_forecast` and
:func:`spm_models.kpis.kpis`; each function returns a :class:`matplotlib.figure.Figure`.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, PercentFormatter

from spm_models.plots.report import money

#: money axes as in the rest of the report (1.2M, 850k), never matplotlib's "1e7" offset
_MONEY = FuncFormatter(money)
#: KPI axes: money, or rates as percentages
_KPI_AXIS = {"pipeline_created": _MONEY, "avg_deal_size": _MONEY,
             "win_rate": PercentFormatter(1.0), "slip_rate": PercentFormatter(1.0)}

_BANDS = ((0.05, 0.95), (0.10, 0.90), (0.25, 0.75))


def plot_quarter_fan(quarter: xr.Dataset, actual: float | None = None,
                     title: str | None = None, ax=None) -> Figure:
    """Cumulative bookings of the quarter by month end: closed-to-date, then the forecast's
    median and 90/80/50 % bands (company total of ``quarter["bookings"](rep, period, draw)``).
    ``actual`` (optional) marks the realised quarter total."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(8, 4))
    x = quarter["bookings"].sum("rep").cumsum("period").transpose("period", "draw").values
    periods = [str(p) for p in quarter["period"].values]
    t = np.arange(1, len(periods) + 1)
    closed = float(quarter["closed"].sum())
    ax.plot([0, *t], [0, *np.median(x, axis=1)], color="C0", lw=2, label="median")
    for i, (lo, hi) in enumerate(_BANDS):
        ql, qh = np.quantile(x, [lo, hi], axis=1)
        ax.fill_between([0, *t], [0, *ql], [0, *qh], color="C0", alpha=0.15 + 0.1 * i, lw=0,
                        label=f"{round((hi - lo) * 100)} % interval")
    ax.axhline(closed, color="k", ls=":", lw=1, label=f"closed to {quarter.attrs.get('as_of', '')}")
    if actual is not None:
        ax.scatter([t[-1]], [actual], color="C3", zorder=5, label="actual")
    ax.set_xticks([0, *t], ["start", *periods])
    ax.set_ylabel("cumulative bookings")
    ax.yaxis.set_major_formatter(_MONEY)
    ax.set_title(title or f"{quarter.attrs.get('quarter', '')} outlook as of {quarter.attrs.get('as_of', '')}")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def plot_coverage_by_region(region_kpis: xr.Dataset, period: str | None = None,
                            targets: Sequence[float] = (1.0, 3.0), ax=None) -> Figure:
    """Pipeline coverage (open pipeline ÷ remaining quota) by region in ``period`` (default the
    last month), with reference lines at ``targets`` (e.g. 3× coverage)."""
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(7, 3.5))
    cov = region_kpis["coverage"]
    p = period or str(cov["period"].values[-1])
    vals = cov.sel(period=p).to_series().sort_values()
    ax.barh(vals.index.astype(str), vals.to_numpy(), color="C0")
    for tgt in targets:
        ax.axvline(tgt, color="k", ls="--", lw=0.8)
    ax.set_xlabel("coverage (open pipeline ÷ remaining quota)")
    ax.set_title(f"Pipeline coverage by region, {p}")
    fig.tight_layout()
    return fig


def plot_kpi_trends(company_kpis: xr.Dataset,
                    names: Sequence[str] = ("pipeline_created", "coverage", "win_rate",
                                            "avg_deal_size", "sales_cycle_days", "slip_rate")) -> Figure:
    """Small multiples of the company KPIs by month (``company_kpis`` from
    :func:`spm_models.kpis.kpis` with ``level="company"``)."""
    n = len(names)
    cols = 3
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(11, 3 * rows), squeeze=False)
    periods = pd.PeriodIndex(company_kpis["period"].values.astype(str), freq="M").to_timestamp()
    for ax, name in zip(axes.ravel(), names, strict=False):
        y = company_kpis[name].isel(id=0).values
        ax.plot(periods, y, color="C0")
        ax.set_title(name.replace("_", " "), fontsize=10)
        if name in _KPI_AXIS:
            ax.yaxis.set_major_formatter(_KPI_AXIS[name])
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    lead = company_kpis.get("lead_months")
    if lead is not None and np.isfinite(float(lead.values[0])):
        fig.suptitle(f"Pipeline KPIs (pipeline created leads bookings by "
                     f"{float(lead.values[0]):.0f} months)")
    fig.tight_layout()
    return fig
