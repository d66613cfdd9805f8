"""Compensation plots: pay curve, payout distribution, cost-of-sales fan across scenarios."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from spm_models.comp.engine import compute_payouts
from spm_models.comp.plan import Plan


def pay_curve_data(plan: Plan, max_attainment: float = 2.5, n: int = 251,
                   quota: float = 1_000_000.0, target_incentive: float | None = None) -> xr.DataArray:
    """Plan-year earnings (through the engine) when a rep attains ``A`` evenly all year.

    Every month is credited ``A`` × its quota, so each quota period ends at attainment
    ``A``; returns earned-to-date at year end along an ``attainment`` dimension.
    """
    grid = np.linspace(0.0, max_attainment, n)
    months = plan.months
    monthly = quota / 12.0
    credits = xr.DataArray(np.repeat(grid[:, None] * monthly, 12, axis=1), dims=["rep", "period"],
                           coords={"rep": [f"A{i}" for i in range(n)], "period": months})
    quotas = xr.full_like(credits, monthly)
    if len(plan.measures) > 1:
        credits = credits.expand_dims(measure=plan.measure_names)
        quotas = quotas.expand_dims(measure=plan.measure_names)
    ti = target_incentive if target_incentive is not None else plan.target_incentive
    ds = compute_payouts(plan, credits, quotas, ti)
    etd = ds["earned_to_date"].isel(period=-1).values
    return xr.DataArray(etd, dims=["attainment"], coords={"attainment": grid},
                        name="earnings", attrs={"plan": plan.name})


def pay_curve(plans: Plan | Sequence[Plan], max_attainment: float = 2.5,
              quota: float = 1_000_000.0, target_incentive: float | None = None,
              labels: Sequence[str] | None = None) -> Figure:
    """Earnings against attainment for one or more plans (overlaid)."""
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    labels = list(labels) if labels is not None else [p.name for p in plans]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for plan, label in zip(plans, labels):
        curve = pay_curve_data(plan, max_attainment, quota=quota, target_incentive=target_incentive)
        ax.plot(curve["attainment"] * 100, curve.values, label=label)
    ax.axvline(100, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("attainment (%)")
    ax.set_ylabel(f"plan-year earnings ({plans[0].currency or 'currency'})")
    ax.set_title("Pay curve")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def payout_distribution(result: xr.Dataset, scenario: str | None = None, bins: int = 50) -> Figure:
    """Histogram of annual rep payouts (pooled over reps and draws) and of total cost."""
    payout = result["payout"]
    if "scenario" in payout.dims:
        payout = payout.sel(scenario=scenario) if scenario is not None else payout.isel(scenario=0)
    annual = payout.sum("period")
    rep_vals = np.asarray(annual.values).ravel()
    total = np.asarray(annual.sum("rep").values).ravel()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ax1.hist(rep_vals, bins=bins, color="#4C72B0", alpha=0.85)
    ax1.set_xlabel("annual payout per rep")
    ax1.set_ylabel("reps × draws")
    ax1.set_title("Rep payout distribution")
    ax2.hist(total, bins=min(bins, max(5, total.size // 5)), color="#DD8452", alpha=0.85)
    for q, ls in ((0.1, ":"), (0.5, "-"), (0.9, ":")):
        ax2.axvline(np.quantile(total, q), color="k", ls=ls, lw=1)
    ax2.set_xlabel("total incentive cost (P10 / P50 / P90 marked)")
    ax2.set_title("Incentive cost over draws")
    fig.tight_layout()
    return fig


def cost_of_sales_fan(result: xr.Dataset, revenue: xr.DataArray | None = None,
                      quantiles: Sequence[float] = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)) -> Figure:
    """Cost of sales (incentive ÷ revenue) quantiles over draws, across ``scenario``."""
    cost = result["payout"].sum(["period", "rep"])
    rev = revenue if revenue is not None else result["revenue"].sum("rep")
    cos = (cost / rev).compute()
    if "scenario" not in cos.dims:
        cos = cos.expand_dims(scenario=[result.attrs.get("plan", "plan")])
    qs = cos.quantile(list(quantiles), dim="draw")
    x = np.arange(cos.sizes["scenario"])
    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(x) + 3), 4))
    half = len(quantiles) // 2
    for i in range(half):
        lo, hi = qs.isel(quantile=i), qs.isel(quantile=-1 - i)
        ax.fill_between(x, lo * 100, hi * 100, alpha=0.15 + 0.15 * i, color="#4C72B0", lw=0,
                        label=f"P{int(quantiles[i] * 100)}–P{int(quantiles[-1 - i] * 100)}")
    ax.plot(x, qs.isel(quantile=half) * 100, color="#1f3b66", marker="o", label="P50")
    ax.set_xticks(x, [str(s) for s in cos["scenario"].values], rotation=20, ha="right")
    ax.set_ylabel("cost of sales (%)")
    ax.set_title("Cost of sales across scenarios")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
