"""Comp plans by role: which plan pays which rep, and how overlay roles are credited.

A scenario names one plan per role (``plans: {AE: ae.yaml, SE: se.yaml}``). Reps carrying a
quota in the forecast are paid by the plan of their role (:func:`plan_key`); roles with a plan
but no rep in the forecast are *overlay* roles (e.g. sales engineers), credited with an equal
share of their region's bookings and quotas (:func:`overlay_payouts`). Every payout goes
through the one engine, :func:`spm_models.comp.engine.compute_payouts`, with the Monte Carlo
``draw`` dimension broadcast.

Dimensions: ``rep`` (string ``rep_id``), ``period`` (``YYYY-MM`` months), ``draw`` (Monte Carlo
draws). Money in the plan currency.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.comp.engine import compute_payouts
from spm_models.comp.plan import Plan
from spm_models.cube import DRAW, PERIOD, REP
from spm_models.errors import InputError

#: role used for reps without one
DEFAULT_ROLE = "AE"


def load_plans(paths: Mapping[str, str | Path], source: str | Path | None = None) -> dict[str, Plan]:
    """Role → validated plan (:meth:`Plan.from_yaml`) for a ``plans:`` mapping.

    Raises :class:`InputError` (naming ``source`` and key ``plans``) when no plan is given,
    or the plan file's own error when a plan is invalid.
    """
    if not paths:
        raise InputError(f"{source}, key 'plans': the scenario names no comp plan")
    return {str(role): Plan.from_yaml(p) for role, p in paths.items()}


def plan_key(plans: Mapping[str, Any], role: str) -> str:
    """The plan of ``role``; reps whose role has no plan use ``default``, ``AE`` or the first."""
    for key in (role, "default", DEFAULT_ROLE):
        if key in plans:
            return key
    return next(iter(plans))


def plan_for_role(plans: Mapping[str, Any], role: str) -> Any:
    """The plan object paying ``role`` (see :func:`plan_key`)."""
    return plans[plan_key(plans, role)]


def rep_roles(reps: pd.DataFrame, rep_ids: np.ndarray) -> np.ndarray:
    """Role of each of ``rep_ids`` from the reps table (``AE`` when missing)."""
    info = reps.assign(rep_id=reps["rep_id"].astype(str)).set_index("rep_id").reindex(rep_ids)
    if "role" not in info:
        return np.array([DEFAULT_ROLE] * len(rep_ids))
    return info["role"].fillna(DEFAULT_ROLE).astype(str).to_numpy()


def target_incentive_of(plans: Mapping[str, Any], reps: pd.DataFrame, rep_ids: np.ndarray,
                        roles: np.ndarray) -> xr.DataArray:
    """Each rep's annual target incentive ``(rep,)``: the reps table's value, else the plan's."""
    ti = pd.Series(np.nan, index=pd.Index(rep_ids, name=REP), dtype=float)
    if "target_incentive" in reps.columns:
        ti.update(reps.set_index(reps["rep_id"].astype(str))["target_incentive"].astype(float))
    for i in range(len(rep_ids)):
        if not np.isfinite(ti.iloc[i]):
            ti.iloc[i] = float(getattr(plan_for_role(plans, roles[i]), "target_incentive", 0.0) or 0.0)
    return xr.DataArray(ti.values, dims=[REP], coords={REP: rep_ids})


def with_measures(da: xr.DataArray, plan: Any) -> xr.DataArray:
    """``da`` credited on every measure of ``plan`` (a ``measure`` dimension when it has several)."""
    names = list(getattr(plan, "measure_names", []) or [])
    return da.expand_dims(measure=names) if len(names) > 1 else da


def payouts_by_plan(plans: Mapping[str, Any], roles: np.ndarray, bookings: xr.DataArray,
                    quota: xr.DataArray, target_incentive: xr.DataArray,
                    ) -> Iterator[tuple[str, np.ndarray, xr.Dataset]]:
    """The role loop around the engine: for each plan in use, ``(plan key, rep positions,
    compute_payouts result)`` over the reps it pays. ``bookings (rep, period, draw)``,
    ``quota (rep, period)``, ``target_incentive (rep,)``, ``roles`` aligned with ``rep``."""
    keys = np.array([plan_key(plans, r) for r in roles])
    for key in dict.fromkeys(keys):
        idx = np.flatnonzero(keys == key)
        sel = {REP: idx}
        plan = plans[key]
        yield key, idx, compute_payouts(plan, with_measures(bookings.isel(sel), plan),
                                        with_measures(quota.isel(sel), plan),
                                        target_incentive.isel(sel))


def simulate_roles(plans: Mapping[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                   target_incentive: xr.DataArray, roles: np.ndarray) -> xr.Dataset:
    """Payouts ``payout(rep, period, draw)`` and the paying ``plan(rep)`` for quota carriers.

    Payouts land in the last month of each payout period (zero in other months), so plans with
    different payout frequencies share the monthly ``period`` axis. A plan with several
    measures is credited the rep's bookings (and quota) on each measure.
    """
    months = [str(p) for p in bookings[PERIOD].values]
    month_pos = {m: i for i, m in enumerate(months)}
    rep_ids = np.asarray(bookings[REP].values)
    n_draw = bookings.sizes[DRAW]
    payout = np.zeros((len(rep_ids), len(months), n_draw))
    plan = np.empty(len(rep_ids), dtype=object)
    for key, idx, res in payouts_by_plan(plans, roles, bookings, quota, target_incentive):
        pay = res["payout"]
        if set(pay.dims) != {REP, PERIOD, DRAW}:
            raise ValueError(f"payouts of plan {key!r} have dims {pay.dims}; expected rep, period, draw")
        pay = pay.transpose(REP, PERIOD, DRAW)
        pos = np.array([month_pos[str(p)] for p in pay[PERIOD].values])  # payout months
        payout[idx[:, None], pos[None, :], :] = pay.values
        plan[idx] = key
    coords = {REP: bookings[REP].values, PERIOD: bookings[PERIOD].values,
              DRAW: bookings[DRAW].values}
    return xr.Dataset({"payout": ((REP, PERIOD, DRAW), payout), "plan": (REP, plan.astype(str))},
                      coords=coords)


def payout_totals(plans: Mapping[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                  target_incentive: xr.DataArray, roles: np.ndarray) -> np.ndarray:
    """Total plan-year payout per draw ``(draw,)`` of the quota carriers (what-if fast path)."""
    total = np.zeros(bookings.sizes[DRAW])
    for _key, _idx, res in payouts_by_plan(plans, roles, bookings, quota, target_incentive):
        pay = res["payout"].transpose(..., DRAW).values
        total += pay.reshape(-1, pay.shape[-1]).sum(axis=0)
    return total


def overlay_roles(plans: Mapping[str, Any], quota_roles: np.ndarray) -> list[str]:
    """Roles with a plan but no rep among the quota carriers (``quota_roles``)."""
    present = set(map(str, quota_roles))
    return [r for r in plans if r not in present]


def _active(sel: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    if "term_date" in sel:
        term = pd.to_datetime(sel["term_date"], errors="coerce")
        sel = sel[term.isna() | (term >= start)]
    if "hire_date" in sel:
        sel = sel[pd.to_datetime(sel["hire_date"], errors="coerce").fillna(start) <= end]
    return sel


def overlay_payouts(plans: Mapping[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                    reps: pd.DataFrame, quota_roles: np.ndarray,
                    region: np.ndarray | None = None) -> xr.Dataset | None:
    """Payouts of overlay roles (plan roles with no rep among the quota carriers, e.g. ``SE``).

    Each overlay rep active during the plan year is credited an equal share of its region's
    bookings (every draw) against the same share of the region's quotas, so its attainment is
    the region's attainment; a plan with several measures is credited that on each measure.
    ``region`` gives the region of each quota carrier (default: ``bookings``' ``region``
    coordinate). Returns ``payout(rep, period, draw)`` with coordinates ``role(rep)`` and
    ``region(rep)`` over the overlay reps, or ``None`` when there is none.
    """
    if "role" not in reps or "region" not in reps:
        return None
    roles_todo = overlay_roles(plans, quota_roles)
    if not roles_todo:
        return None
    region = region if region is not None else np.asarray(bookings["region"].values).astype(str)
    plan_start = pd.Period(str(bookings[PERIOD].values[0]), freq="M").to_timestamp()
    plan_end = pd.Period(str(bookings[PERIOD].values[-1]), freq="M").to_timestamp("M")
    months = [str(p) for p in bookings[PERIOD].values]
    # region totals by a one-hot product (much faster than groupby on a large cube)
    names = np.unique(region)
    onehot = (region[None, :] == names[:, None]).astype(float)
    b_np = np.asarray(bookings.transpose(REP, PERIOD, DRAW).values)
    reg_b = xr.DataArray(np.tensordot(onehot, b_np, axes=(1, 0)), dims=["region", PERIOD, DRAW],
                         coords={"region": names, PERIOD: months, DRAW: bookings[DRAW].values})
    reg_q = xr.DataArray(onehot @ np.asarray(quota.transpose(REP, PERIOD).values),
                         dims=["region", PERIOD], coords={"region": names, PERIOD: months})
    parts = []
    for role in roles_todo:
        plan = plans[role]
        sel = _active(reps[reps["role"].astype(str) == role], plan_start, plan_end)
        sel = sel[sel["region"].astype(str).isin(set(map(str, names)))]
        if sel.empty:
            continue
        ids = sel["rep_id"].astype(str).to_numpy()
        regions = sel["region"].astype(str).to_numpy()
        share = 1.0 / pd.Series(regions).map(pd.Series(regions).value_counts()).to_numpy()
        shr = xr.DataArray(share, dims=[REP], coords={REP: ids})
        at = xr.DataArray(regions, dims=[REP], coords={REP: ids})
        credits = (reg_b.sel(region=at) * shr).drop_vars("region")
        quotas = (reg_q.sel(region=at) * shr).drop_vars("region")
        ti = xr.DataArray(sel["target_incentive"].astype(float).to_numpy()
                          if "target_incentive" in sel else np.full(len(ids), np.nan),
                          dims=[REP], coords={REP: ids})
        res = compute_payouts(plan, with_measures(credits, plan), with_measures(quotas, plan), ti)
        pay = res["payout"].reindex({PERIOD: months}, fill_value=0.0)
        part = xr.Dataset({"payout": pay.transpose(REP, PERIOD, DRAW)})
        parts.append(part.assign_coords(role=(REP, [role] * len(ids)), region=(REP, regions)))
    if not parts:
        return None
    return xr.concat(parts, dim=REP) if len(parts) > 1 else parts[0]
