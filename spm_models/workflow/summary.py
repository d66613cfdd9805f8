"""``summary.json``: the decision figures of a scenario (no timestamps, stable across runs).

The headline figures come from the one reducer, :func:`spm_models.figures.decision_figures`;
this module adds the scenario's identity, quarterly revenue, cost by plan, quota fairness
and provenance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models import __version__, figures
from spm_models.cube import DRAW, PERIOD, REP, cube_view, tree_group
from spm_models.scenario import Scenario
from spm_models.workflow.forecast_step import horizon, jsonable


def incentive_cost_of(tree: xr.DataTree) -> xr.DataArray:
    """Incentive cost per draw of a result tree (``/comp`` plus ``/overlay`` payouts)."""
    overlay, comp = tree_group(tree, "overlay"), tree_group(tree, "comp")
    if comp is None:
        raise KeyError("the result tree has no /comp group")
    return figures.incentive_cost(comp["payout"],
                                  None if overlay is None else overlay["payout"])


def support_cost_of(tree: xr.DataTree) -> xr.DataArray | None:
    """Support cost per draw of a result tree (``/capacity``'s ``support_cost(support_role,
    period, draw)`` summed: the managers and SEs the hires need), None when it has none."""
    cap = tree_group(tree, "capacity")
    if cap is None or "support_cost" not in cap:
        return None
    return cap["support_cost"].sum([d for d in cap["support_cost"].dims if d != DRAW])


def cube_figures(tree: xr.DataTree, target: float | None,
                 budget: float | None) -> dict[str, Any]:
    """:func:`spm_models.figures.decision_figures` of a scenario result tree (incentive cost
    from ``/comp`` and ``/overlay``, support cost from ``/capacity``)."""
    cube = cube_view(tree)
    return figures.cube_figures(cube["bookings"], cube["quota"], incentive_cost_of(tree),
                                target, budget, support_cost_of(tree))[0]


def cost_by_plan(tree: xr.DataTree) -> dict[str, dict[str, float]]:
    """Incentive cost P10/P50/P90 per plan role (``AE``, ``SE`` …)."""
    out = {}
    comp = tree_group(tree, "comp")
    if comp is not None and "plan" in comp:
        for key in dict.fromkeys(map(str, comp["plan"].values)):
            mask = (comp["plan"] == key).values
            out[key] = figures.quantiles(figures.incentive_cost(comp["payout"].isel(rep=mask)))
    overlay = tree_group(tree, "overlay")
    if overlay is not None:
        roles = np.asarray(overlay["role"].values).astype(str)
        for key in dict.fromkeys(roles):
            out[str(key)] = figures.quantiles(figures.incentive_cost(
                overlay["payout"].isel({REP: roles == key})))
    return out


def quarterly_revenue(bookings: xr.DataArray) -> list[dict[str, Any]]:
    """Company bookings per calendar quarter: P10/P25/P50/P75/P90 over draws."""
    company = bookings.sum(REP)
    quarters = [str(pd.Period(p, freq="M").asfreq("Q")) for p in company[PERIOD].values]
    by_q = company.groupby(xr.DataArray(quarters, dims=[PERIOD], name="quarter")).sum(PERIOD)
    out = []
    for qlabel in by_q["quarter"].values:
        row: dict[str, Any] = {"quarter": str(qlabel)}
        row.update(figures.quantiles(by_q.sel(quarter=qlabel), (0.1, 0.25, 0.5, 0.75, 0.9)))
        out.append(row)
    return out


def quota_fairness(quota: xr.DataArray, bookings: xr.DataArray,
                   qds: xr.Dataset | None = None) -> tuple[pd.DataFrame, dict[str, float | None]]:
    """Per-rep fairness table (``rep_id``, annual ``quota``, ``forecast_p50``,
    ``p_reach_quota``, ``quota_to_forecast``) and the scalar figures of ``summary
    ["quota_fairness"]`` (plus planning's scalar figures from ``qds`` when given)."""
    annual_b = bookings.sum(PERIOD)
    annual_q = quota.sum(PERIOD)
    reached = annual_b >= annual_q
    med = annual_b.median(DRAW)
    df = pd.DataFrame({
        "rep_id": [str(r) for r in quota[REP].values],
        "quota": annual_q.values,
        "forecast_p50": med.values,
        "p_reach_quota": reached.mean(DRAW).values,
    })
    df["quota_to_forecast"] = df["quota"] / df["forecast_p50"].where(df["forecast_p50"] > 0)
    p = df["p_reach_quota"].to_numpy()
    figs = {
        "p_reach_mean": float(p.mean()), "p_reach_sd": float(p.std()),
        "p_reach_min": float(p.min()), "p_reach_max": float(p.max()),
        "expected_share_at_quota": float(reached.mean(REP).mean()),
        "quota_to_median_mean": float(np.nanmean(df["quota_to_forecast"])),
    }
    if qds is not None:
        for name, var in qds.data_vars.items():
            if var.ndim == 0:
                figs[str(name)] = float(var)
    return df, {k: (round(v, 6) if np.isfinite(v) else None) for k, v in figs.items()}


def n_with_quota(quota: xr.DataArray) -> int:
    """Reps with a positive plan-year quota (in any draw): the reps ``share_reps_at_quota``
    is a share of (:func:`spm_models.figures.share_at_quota`)."""
    annual_q = quota.sum(PERIOD)
    other = [d for d in annual_q.dims if d != REP]
    return int(((annual_q > 0).any(other) if other else annual_q > 0).sum())


def summarize(tree: xr.DataTree, scenario: Scenario, data_hash: str,
              diagnostics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The decision figures of a scenario result tree (``summary.json``; no timestamps)."""
    cube = cube_view(tree)
    target = scenario.spec.get("target")
    budget = scenario.spec.get("budget")
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "title": scenario.title,
        "horizon": horizon(scenario),
        "n_reps": int(cube.sizes[REP]),
        "n_reps_with_quota": n_with_quota(cube["quota"]),
        "n_draws": int(cube.sizes[DRAW]),
        **cube_figures(tree, target, budget),
        "incentive_cost_by_plan": cost_by_plan(tree),
        "company_target": float(target) if target is not None else None,
        "total_quota": round(float(cube["quota"].sum()), 2),
        "budget": float(budget) if budget is not None else None,
        "quarterly_revenue": quarterly_revenue(cube["bookings"]),
        "diagnostics": jsonable(diagnostics or {}),
        "provenance": {
            "package_version": __version__,
            "scenario_hash": scenario.scenario_hash(),
            "data_hash": data_hash,
            "seed": scenario.seed,
        },
    }
    return summary
