"""Compensation plots: pay curve, payout distribution, cost-of-sales fan across scenarios."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from spm_models.comp.engine import compute_payouts
from spm_models.comp.plan import Plan


def _even_credits(plan: Plan, att: np.ndarray, quota: float,
                  levels: dict[str, float] | None = None, focus: str | None = None
                  ) -> tuple[xr.DataArray, xr.DataArray]:
    """Credits of reps (one per attainment) crediting ``A × quota`` evenly every month.

    ``focus`` measure at ``att``; measures in ``levels`` at their fixed attainment; others
    at ``att`` too when no focus is given, else 0."""
    n = len(att)
    monthly = quota / 12.0
    names = plan.measure_names
    per = []
    for name in names:
        if levels and name in levels:
            a = np.full(n, levels[name])
        elif focus is None or name == focus:
            a = att
        else:
            a = np.zeros(n)
        per.append(np.repeat(a[:, None] * monthly, 12, axis=1))
    credits = xr.DataArray(np.stack(per, axis=-1), dims=["rep", "period", "measure"],
                           coords={"rep": [f"A{i}" for i in range(n)], "period": plan.months,
                                   "measure": names})
    return credits, xr.full_like(credits, monthly)


def pay_curve_data(plan: Plan, max_attainment: float = 2.5, n: int = 251,
                   quota: float = 1_000_000.0, target_incentive: float | None = None,
                   measure: str | None = None, attainments: np.ndarray | None = None
                   ) -> xr.DataArray:
    """Plan-year earnings (through the engine) when a rep attains ``A`` evenly all year.

    Every month is credited ``A`` × its quota, so each quota period ends at attainment
    ``A``. With ``measure``, only that measure is credited and only its earnings are
    returned (after modifiers and caps; other measures at 0). Works for tiers and pay
    curves alike. Returns earnings (plan currency) along an ``attainment`` dimension
    (``attainments``, else ``n`` points on ``[0, max_attainment]``).
    """
    grid = np.linspace(0.0, max_attainment, n) if attainments is None else np.asarray(attainments, float)
    credits, quotas = _even_credits(plan, grid, quota, focus=measure)
    ti = target_incentive if target_incentive is not None else plan.target_incentive
    ds = compute_payouts(plan, credits, quotas, ti)
    if measure is None:
        vals = ds["earned_to_date"].isel(period=-1).values
    else:
        vals = ds["tier_cost"].sel(measure=measure).sum("tier").values
    return xr.DataArray(vals, dims=["attainment"], coords={"attainment": grid},
                        name="earnings", attrs={"plan": plan.name, "measure": measure or ""})


def modifier_curve_data(plan: Plan, measure: str, levels: Sequence[float] | None = None,
                        max_attainment: float = 2.5, n: int = 251, quota: float = 1_000_000.0,
                        target_incentive: float | None = None,
                        attainments: np.ndarray | None = None) -> xr.DataArray:
    """A measure's plan-year earnings against its attainment, one curve per attainment of
    its modifier measure (a family of pay curves).

    Dims ``(modifier_attainment, attainment)``; the first modifier of ``measure`` sets the
    family (``levels``: its attainments, default the rows of its table and midpoints).
    Raises ValueError when ``measure`` has no modifiers.
    """
    m = plan.measure(measure)
    if not m.modifiers:
        raise ValueError(f"measure {measure!r} of plan {plan.name!r} has no modifiers")
    mod = m.modifiers[0]
    if levels is None:
        xs = [x for x, _ in mod.table]
        levels = sorted(set(xs + [max(xs) + 0.1] + ([xs[0] - 0.01] if xs[0] > 0 else [])))
    grid = np.linspace(0.0, max_attainment, n) if attainments is None else np.asarray(attainments, float)
    rows = []
    ti = target_incentive if target_incentive is not None else plan.target_incentive
    for level in levels:
        credits, quotas = _even_credits(plan, grid, quota, levels={mod.measure: level},
                                        focus=measure)
        ds = compute_payouts(plan, credits, quotas, ti)
        rows.append(ds["tier_cost"].sel(measure=measure).sum("tier").values)
    return xr.DataArray(np.array(rows), dims=["modifier_attainment", "attainment"],
                        coords={"modifier_attainment": list(levels), "attainment": grid},
                        name="earnings", attrs={"plan": plan.name, "measure": measure,
                                                "modifier": mod.measure})


def pay_curve(plans: Plan | Sequence[Plan], max_attainment: float = 2.5,
              quota: float = 1_000_000.0, target_incentive: float | None = None,
              labels: Sequence[str] | None = None, measure: str | None = None) -> Figure:
    """Earnings against attainment for one or more plans (overlaid): tiers or curves."""
    plans = [plans] if isinstance(plans, Plan) else list(plans)
    labels = list(labels) if labels is not None else [p.name for p in plans]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for plan, label in zip(plans, labels):
        curve = pay_curve_data(plan, max_attainment, quota=quota,
                               target_incentive=target_incentive, measure=measure)
        ax.plot(curve["attainment"] * 100, curve.values, label=label,
                drawstyle="steps-post" if _is_step(plan, measure) else "default")
    ax.axvline(100, color="grey", lw=0.8, ls="--")
    ax.set_xlabel("attainment (%)")
    ax.set_ylabel(f"plan-year earnings ({plans[0].currency or 'currency'})")
    ax.set_title("Pay curve" + (f": {measure}" if measure else ""))
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _is_step(plan: Plan, measure: str | None) -> bool:
    ms = [plan.measure(measure)] if measure else list(plan.measures)
    return all(m.has_curve and m.interpolate == "step" for m in ms)


def modifier_curves(plan: Plan, measure: str, levels: Sequence[float] | None = None,
                    max_attainment: float = 2.5, quota: float = 1_000_000.0,
                    target_incentive: float | None = None) -> Figure:
    """A measure's pay curve as a family: one line per attainment of its modifier measure
    (e.g. a margin gate closed below 80 % and a kicker above 110 %)."""
    data = modifier_curve_data(plan, measure, levels, max_attainment, quota=quota,
                               target_incentive=target_incentive)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    cmap = plt.get_cmap("viridis")
    k = data.sizes["modifier_attainment"]
    for i, level in enumerate(data["modifier_attainment"].values):
        ax.plot(data["attainment"] * 100, data.sel(modifier_attainment=level).values,
                color=cmap(i / max(k - 1, 1)),
                label=f"{data.attrs['modifier']} at {float(level) * 100:.0f} %")
    ax.axvline(100, color="grey", lw=0.8, ls="--")
    ax.set_xlabel(f"{measure} attainment (%)")
    ax.set_ylabel(f"plan-year earnings on {measure} ({plan.currency or 'currency'})")
    ax.set_title(f"Pay curve of {measure} by {data.attrs['modifier']} attainment")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _months_per(period: str) -> int:
    return {"month": 1, "quarter": 3, "year": 12}[period]


def advance_pacing_data(plan: Plan, attainments: Sequence[float] = (1.5, 0.3, 0.9),
                        quota: float = 100_000.0, target_incentive: float | None = None) -> xr.DataArray:
    """Payouts (through the engine) in the payout periods of the first quota period of the
    plan's advance-capped measure, with the plan's ``advance_cap`` and without it, when a rep
    is credited ``attainments[k]`` × the monthly ``quota`` in its ``k``-th month (cycled; every
    measure alike) — the pacing of advances and the true-up at the end of the quota period.

    Dims ``(plan, period)``: ``plan`` = ``["advance cap", "no advance cap"]``, ``period`` = the
    last month of each payout period inside the first quota period. Raises ValueError when no
    measure has an ``advance_cap``.
    """
    capped = [m for m in plan.measures if m.advance_cap is not None]
    if not capped:
        raise ValueError(f"plan {plan.name!r} has no measure with an advance_cap")
    raw = dict(plan.raw)
    raw["measures"] = [{k: v for k, v in dict(m).items() if k != "advance_cap"} for m in raw["measures"]]
    uncapped = Plan.from_dict(raw, source=plan.source)
    months = plan.months
    k = _months_per(capped[0].quota_period)
    att = np.resize(np.asarray(attainments, dtype=float), k)
    pattern = np.zeros(len(months))
    pattern[:k] = att
    names = plan.measure_names
    credits = xr.DataArray(np.tile((pattern * quota)[None, :, None], (1, 1, len(names))),
                           dims=["rep", "period", "measure"],
                           coords={"rep": ["A"], "period": months, "measure": names})
    quotas = xr.full_like(credits, quota)
    ti = target_incentive if target_incentive is not None else plan.target_incentive
    rows = []
    for p in (plan, uncapped):
        pay = compute_payouts(p, credits, quotas, ti)["payout"].isel(rep=0)
        pay = pay.sel(period=[m for m in map(str, pay["period"].values) if m <= months[k - 1]])
        rows.append(pay.values)
    return xr.DataArray(np.array(rows), dims=["plan", "period"],
                        coords={"plan": ["advance cap", "no advance cap"], "period": pay["period"].values},
                        name="payout", attrs={"plan": plan.name, "attainments": list(map(float, att))})


def advance_pacing(plan: Plan, attainments: Sequence[float] = (1.5, 0.3, 0.9),
                   quota: float = 100_000.0, target_incentive: float | None = None) -> Figure:
    """Grouped bars of :func:`advance_pacing_data`: each payout of the first quota period with
    and without the advance cap (same total: the last month trues up)."""
    data = advance_pacing_data(plan, attainments, quota, target_incentive)
    periods = [str(p) for p in data["period"].values]
    x = np.arange(len(periods))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for i, (label, color) in enumerate(zip(data["plan"].values, ("#4C72B0", "#BBBBBB"), strict=True)):
        ax.bar(x + (i - 0.5) * 0.38, data.sel(plan=label).values, width=0.38, color=color, label=str(label))
    att = ", ".join(f"{a:.0%}" for a in data.attrs["attainments"])
    ax.set_xticks(x, periods)
    ax.set_ylabel(f"payout ({plan.currency or 'currency'})")
    ax.set_title(f"Advance pacing: months credited {att} of their quota")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3, axis="y")
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
