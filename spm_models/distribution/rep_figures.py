"""Per-rep figures of a scenario cube for the plan documents.

All figures are read from (or reduced from) the scenario cube, so a document shows exactly
what the scenario holds: the quota is the cube's ``quota(rep, period)``; expected earnings are
quantiles over ``draw`` of the rep's plan-year earnings (:func:`plan_year_earnings`: the
plan-year sum of the cube's ``payout(rep, period, draw)``, without draw top-ups); the
chance of reaching quota is the share of draws whose plan-year ``bookings`` reach the plan-year
quota (the same rule as the report's quota fairness). Pay curves come from the comp engine
(:func:`spm_models.comp.compute_payouts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

QUANTILES = (0.1, 0.5, 0.9)


def _coord(cube: xr.Dataset, name: str, default: str = "") -> np.ndarray:
    if name in cube.coords or name in cube:
        return np.asarray(cube[name].values).astype(str)
    return np.full(cube.sizes["rep"], default, dtype=object)


def plan_year_earnings(cube: xr.Dataset, plans: Mapping[str, Any] | None = None,
                       tables: Mapping[str, pd.DataFrame] | None = None) -> np.ndarray:
    """Plan-year earnings ``(rep, draw)`` (plan currency): what spec/comp_plan.md calls
    earnings (rules 3–4: earned to date, bonuses included), not payouts (rule 5), which add
    draw top-ups.

    For a rep whose plan (``cube["plan"]``, a key of ``plans``) has no draw this is the
    plan-year sum of the cube's ``payout``. For a rep on a plan with a draw it is the same
    world paid on the plan *without* its draw: the scenario run's own pay step
    (:func:`spm_models.planning.world.world_payouts`) on the cube's ``bookings``, ``quota``,
    ``target_incentive`` and ``active``, so draw top-ups (and the recovery of recoverable ones)
    are left out and only earnings remain (earned to date at the end of the plan year, or at
    the rep's leave month).
    """
    pay = np.array(cube["payout"].sum("period").transpose("rep", "draw").values, dtype=float)
    if not plans:
        return pay
    from spm_models.comp import Plan
    from spm_models.planning.world import world_payouts

    keys = _coord(cube, "plan")
    for key in dict.fromkeys(keys.tolist()):
        plan = plans.get(key)
        if plan is None or plan.draw is None:
            continue
        data = plan.to_dict()
        data.pop("draw", None)
        idx = np.flatnonzero(keys == key)
        sub = cube.isel(rep=idx)
        res = world_payouts({key: Plan.from_dict(data, source=plan.source)}, sub["bookings"],
                            sub["quota"], sub["target_incentive"], np.full(len(idx), key),
                            sub.get("active"), tables)
        pay[idx] = res["payout"].sum("period").transpose("rep", "draw").values
    return pay


def rep_table(cube: xr.Dataset, reps: pd.DataFrame | None = None,
              earnings: np.ndarray | None = None) -> pd.DataFrame:
    """One row per rep with a quota (plan-year quota > 0), in the cube's rep order.

    Columns: ``rep_id, name, role, territory_id, plan_key, target_incentive, annual_quota,
    p_reach_quota, earnings_p10/p50/p90`` (quantiles over draws of ``earnings``, plan-year
    earnings ``(rep, draw)`` in the cube's rep order, plan currency; default the plan-year
    sum of the cube's ``payout``), ``attainment_p10/p50/p90`` (plan-year bookings ÷
    plan-year quota).
    """
    rep_ids = np.asarray(cube["rep"].values).astype(str)
    annual_q = np.asarray(cube["quota"].sum("period").values, dtype=float)
    b = cube["bookings"].sum("period").transpose("rep", "draw").values
    pay = (cube["payout"].sum("period").transpose("rep", "draw").values if earnings is None
           else np.asarray(earnings, dtype=float))
    earn = np.quantile(pay, QUANTILES, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        att = np.quantile(b / annual_q[:, None], QUANTILES, axis=1)
    p_reach = (b >= annual_q[:, None]).mean(axis=1)
    names = rep_ids.copy().astype(object)
    if reps is not None and "name" in reps.columns:
        by_id = reps.assign(rep_id=reps["rep_id"].astype(str)).set_index("rep_id")["name"]
        by_id = by_id[~by_id.index.duplicated()]
        mapped = pd.Series(rep_ids).map(by_id)
        names = np.where(mapped.notna(), mapped.astype(str), rep_ids)
    df = pd.DataFrame({
        "rep_id": rep_ids, "name": names, "role": _coord(cube, "role", "AE"),
        "territory_id": _coord(cube, "territory_id"),
        "plan_key": _coord(cube, "plan"),
        "target_incentive": np.asarray(cube["target_incentive"].values, dtype=float)
        if "target_incentive" in cube else np.nan,
        "annual_quota": annual_q, "p_reach_quota": p_reach,
    })
    for i, q in enumerate(QUANTILES):
        df[f"earnings_p{int(q * 100)}"] = earn[i]
        df[f"attainment_p{int(q * 100)}"] = att[i]
    return df[df["annual_quota"] > 0].reset_index(drop=True)


def quota_by_period(monthly: np.ndarray, months: list[str], quota_months: int) -> list[tuple[str, float]]:
    """``(label, quota)`` per quota period: sums of ``quota_months`` consecutive months.

    Labels: ``2027-01`` (month), ``2027-Q1`` (quarter), ``2027-01..2027-12`` (year).
    """
    out = []
    for j in range(0, len(months) - quota_months + 1, quota_months):
        first = months[j]
        if quota_months == 1:
            label = first
        elif quota_months == 3:
            label = str(pd.Period(first, freq="M").asfreq("Q")).replace("Q", "-Q")
        else:
            label = f"{first}..{months[j + quota_months - 1]}"
        out.append((label, float(np.sum(monthly[j:j + quota_months]))))
    return out


def _breakpoints(plan: Any) -> set[float]:
    """Attainments where a plan's pay changes slope or jumps: tier bounds, curve points,
    thresholds, attainment caps, modifier table rows and bonus levels (1.0 = 100 %)."""
    out: set[float] = set()
    for m in plan.measures:
        for t in getattr(m, "tiers", ()) or ():
            out.update(float(v) for v in (getattr(t, "start", None), getattr(t, "end", None))
                       if v is not None)
        out.update(float(p[0]) for p in getattr(m, "curve", ()) or ())
        for mod in getattr(m, "modifiers", ()) or ():
            out.update(float(row[0]) for row in getattr(mod, "table", ()) or ())
        for key in ("threshold", "cap_attainment"):
            v = getattr(m, key, None)
            if v is not None:
                out.add(float(v))
    out.update(float(b.at) for b in getattr(plan, "bonuses", ()) or ())
    return {v for v in out if np.isfinite(v) and v > 0}


#: offset of the extra grid point just below each breakpoint, so a step or jump is drawn as a
#: vertical edge (well above the comp engine's boundary tolerance of 1e-10)
JUST_BELOW = 1e-6


def attainment_grid(plan: Any, points: int = 101, at_least: float = 0.0) -> np.ndarray:
    """Attainments (ascending, 1.0 = 100 %) from 0 to a little past where the plan stops paying
    more (≥ 150 %, at most 400 %): ``points`` evenly spaced values, plus exactly 1.0, plus every
    breakpoint of the plan (:func:`_breakpoints`) and a point just below each, so the curve is
    read *at* 100 % and at each boundary rather than at the nearest even step.

    ``at_least`` (e.g. the rep's attainment P90, the band a document shades): the grid goes on
    in the same even steps to at least 105 % of it (at most 400 %), so the band stays on the
    axis. The points up to the plan's own top do not depend on ``at_least``, so the grid of a
    lower ``at_least`` is a subset of that of a higher one (:func:`grid_subset`).
    """
    top = _plan_top(plan)
    step = top / max(points - 1, 1)
    even = np.linspace(0.0, top, points)
    need = min(float(at_least) * 1.05, 4.0) if np.isfinite(at_least) else 0.0
    n_more = max(int(np.ceil((need - top) / step - 1e-9)), 0)
    if n_more:
        even = np.concatenate([even, top + step * np.arange(1, n_more + 1)])
    end = float(even[-1])
    marks = {v for v in _breakpoints(plan) | {1.0} if v <= end}
    extra = list(marks) + [v - JUST_BELOW for v in marks]
    return np.unique(np.concatenate([even, np.asarray(extra, float)]))


def grid_subset(grid: np.ndarray, sub: np.ndarray) -> np.ndarray:
    """Indices of ``grid`` holding the points of ``sub`` (both from :func:`attainment_grid` of
    one plan; ``sub`` with a lower ``at_least``). Raises ValueError if ``sub ⊄ grid``."""
    idx = np.searchsorted(grid, sub)
    if (idx >= len(grid)).any() or not np.array_equal(grid[np.minimum(idx, len(grid) - 1)], sub):
        raise ValueError("the attainment grid is not a subset of the other")
    return idx


def _plan_top(plan: Any) -> float:
    """Where the plan stops paying more, a little past (≥ 150 %, at most 400 %)."""
    top = 1.5
    for m in plan.measures:
        lim = getattr(m, "attainment_limit", np.inf)
        if np.isfinite(lim):
            top = max(top, float(lim) * 1.1)
        else:
            starts = [float(getattr(t, "start", 0.0)) for t in getattr(m, "tiers", ())]
            starts += [float(p[0]) for p in getattr(m, "curve", ()) or ()]
            top = max(top, (max(starts) if starts else 1.0) * 1.4)
    for b in getattr(plan, "bonuses", ()) or ():
        top = max(top, float(b.at) * 1.2)
    return min(top, 4.0)


def quota_index(grid: np.ndarray) -> int:
    """The index of attainment exactly 1.0 in an :func:`attainment_grid`."""
    hits = np.flatnonzero(grid == 1.0)
    if not len(hits):
        raise ValueError("the attainment grid has no point at exactly 1.0")
    return int(hits[0])


def pay_curves(plan: Any, monthly_quota: np.ndarray, target_incentive: np.ndarray,
               grid: np.ndarray) -> np.ndarray:
    """Plan-year earnings ``(n_reps, len(grid))`` through the comp engine.

    Each rep is credited ``A × `` its own monthly quota every month, so every quota period ends
    at attainment ``A``; the value is earned-to-date at the end of the plan year (bonuses
    included, draws excluded). ``monthly_quota``: ``(n_reps, 12)`` in the plan's months.
    """
    from spm_models.comp import compute_payouts

    n, g = monthly_quota.shape[0], len(grid)
    q = np.repeat(monthly_quota, g, axis=0)  # (n*g, 12)
    credits = q * np.tile(grid, n)[:, None]
    ids = np.arange(n * g)
    dims = ["rep", "period"]
    coords = {"rep": ids, "period": plan.months}
    c = xr.DataArray(credits, dims=dims, coords=coords)
    qq = xr.DataArray(q, dims=dims, coords=coords)
    if len(plan.measures) > 1:
        c = c.expand_dims(measure=plan.measure_names)
        qq = qq.expand_dims(measure=plan.measure_names)
    ti = xr.DataArray(np.repeat(np.asarray(target_incentive, dtype=float), g), dims=["rep"],
                      coords={"rep": ids})
    ds = compute_payouts(plan, c, qq, ti)
    return ds["earned_to_date"].isel(period=-1).values.reshape(n, g)
