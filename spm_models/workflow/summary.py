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
from spm_models.cube import DRAW, PERIOD, REP
from spm_models.scenario import Scenario
from spm_models.workflow.forecast_step import horizon, jsonable

OVERLAY_REP = "overlay_rep"


def overlay_payout(cube: xr.Dataset) -> xr.DataArray | None:
    """The overlay reps' payouts of a scenario cube, if any."""
    return cube["overlay_payout"] if "overlay_payout" in cube else None


def cube_figures(cube: xr.Dataset, target: float | None, budget: float | None) -> dict[str, Any]:
    """:func:`spm_models.figures.decision_figures` of a scenario cube."""
    return figures.decision_figures(
        figures.revenue(cube["bookings"]),
        figures.incentive_cost(cube["payout"], overlay_payout(cube)),
        figures.attainment(cube["bookings"], cube["quota"]), target, budget)


def cost_by_plan(cube: xr.Dataset) -> dict[str, dict[str, float]]:
    """Incentive cost P10/P50/P90 per plan role (``AE``, ``SE`` …)."""
    out = {}
    if "plan" in cube:
        for key in dict.fromkeys(map(str, cube["plan"].values)):
            mask = (cube["plan"] == key).values
            out[key] = figures.quantiles(figures.incentive_cost(cube["payout"].isel(rep=mask)))
    if "overlay_payout" in cube:
        roles = np.asarray(cube["overlay_role"].values).astype(str)
        for key in dict.fromkeys(roles):
            out[key] = figures.quantiles(figures.incentive_cost(
                cube["overlay_payout"].isel({OVERLAY_REP: roles == key})))
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


def summarize(cube: xr.Dataset, scenario: Scenario, data_hash: str,
              diagnostics: dict[str, Any] | None = None) -> dict[str, Any]:
    """The decision figures of a scenario cube (``summary.json``; no timestamps)."""
    target = scenario.spec.get("target")
    budget = scenario.spec.get("budget")
    summary: dict[str, Any] = {
        "scenario": scenario.name,
        "title": scenario.title,
        "horizon": horizon(scenario),
        "n_reps": int(cube.sizes[REP]),
        "n_draws": int(cube.sizes[DRAW]),
        **cube_figures(cube, target, budget),
        "incentive_cost_by_plan": cost_by_plan(cube),
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
