"""Comp plans by role: which plan pays which rep, and how overlay roles are credited.

A scenario names one plan per role (``plans: {AE: ae.yaml, SE: se.yaml}``). Reps carrying a
quota in the forecast are paid by the plan of their role (:func:`plan_key`); roles with a plan
but no rep in the forecast are *overlay* roles (managers, sales engineers), credited by the
``rollup`` rule of their plan on the world's crediting hierarchy (:mod:`spm_models.comp.team`,
:func:`overlay_payouts`); measures with ``where``/``amount`` credit each rep's share of its
bookings (:func:`carrier_credits`). Every payout goes
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

from spm_models.comp import team
from spm_models.comp.credit_cube import credit_cube
from spm_models.comp.engine import compute_payouts
from spm_models.comp.plan import CreditRule, Plan
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


def check_plan_roles(plans: Mapping[str, Any], reps: pd.DataFrame | None, *, where: str,
                     extra: tuple[str, ...] = ()) -> None:
    """Every key of a scenario's ``plans`` names someone it can pay: a role of the reps table
    (``AE`` for every rep when the table or its ``role`` column is missing), ``default``, or
    one of ``extra`` (``capacity.hire_plan`` / ``hire_role``). A misspelt key (``Mgr`` for
    ``Manager``) would otherwise pay nobody and understate the incentive cost.

    Raises :class:`InputError` with one line per unknown key, naming ``where`` (the scenario
    file), the key ``plans.<key>``, the roles the reps table has and those left without a plan.
    """
    roles = ({DEFAULT_ROLE} if reps is None or "role" not in reps.columns
             else {str(r) for r in reps["role"].dropna().astype(str).str.strip()} or {DEFAULT_ROLE})
    known = roles | {"default"} | {str(e) for e in extra if e}
    unknown = [str(k) for k in plans if str(k) not in known]
    if not unknown:
        return
    unpaid = sorted(roles - {str(k) for k in plans})
    tail = f"; roles without a plan: {', '.join(unpaid)}" if unpaid else ""
    raise InputError([f"{where}, key 'plans.{k}': no rep has role '{k}' in the reps table "
                      f"(roles: {', '.join(sorted(roles))}{tail})" for k in unknown])


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


def carrier_credits(plan: Plan, bookings: xr.DataArray, quota: xr.DataArray,
                    shares: xr.DataArray | None = None) -> tuple[xr.DataArray, xr.DataArray]:
    """Credits and quotas of quota carriers on ``plan``'s measures: ``bookings (rep, period,
    draw)`` and ``quota (rep, period)`` on every measure (:func:`with_measures`), or, when a
    measure credits a part of the bookings (``where``/``amount``), each rep's ``shares (rep,
    measure)`` of both (:func:`spm_models.comp.credit_cube.credit_cube`; quota and credits
    scale alike, so a measure's attainment is the rep's bookings attainment). Raises
    :class:`InputError` (plan key named) when such a plan has no ``shares``."""
    if not team.needs_shares(plan):
        return with_measures(bookings, plan), with_measures(quota, plan)
    if shares is None:
        i = next(k for k, m in enumerate(plan.measures)
                 if (m.credit or CreditRule()).where or (m.credit or CreditRule()).amount != "amount")
        raise InputError(f"{plan.source}, key 'measures[{i}].credit': a filtered measure needs the reps' "
                         "booking history (or a forecast split by measure) to be simulated")
    cr = credit_cube(plan, bookings, reps={}, shares=shares)
    qu = credit_cube(plan, quota, reps={}, shares=shares)
    if len(plan.measure_names) == 1:
        cr, qu = cr.squeeze("measure", drop=True), qu.squeeze("measure", drop=True)
    return cr, qu


def _region_of(bookings: xr.DataArray, region: np.ndarray | None) -> np.ndarray:
    if region is not None:
        return np.asarray(region).astype(str)
    if "region" in bookings.coords:
        return np.asarray(bookings["region"].values).astype(str)
    return np.full(bookings.sizes[REP], "")


def overlay_credits(plans: Mapping[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                    reps: pd.DataFrame, quota_roles: np.ndarray, region: np.ndarray | None = None,
                    history: pd.DataFrame | None = None,
                    ) -> dict[str, tuple[xr.DataArray, xr.DataArray, dict[str, str]]]:
    """Credits and quotas of every overlay role's reps (roles with a plan but no quota carrier,
    e.g. ``Manager``, ``SE``) from the quota carriers' simulated ``bookings (rep, period,
    draw)`` and ``quota (rep, period)``: role → ``(credits (rep, period, draw, measure),
    quotas (rep, period, measure), hierarchy carrier → overlay rep)``.

    A role whose reps manage quota carriers is credited on the management hierarchy
    (:func:`spm_models.comp.team.carrier_managers`: ``manager_id``, hires by region); other
    overlay roles on pods (:func:`spm_models.comp.team.overlay_cover`). The plan's ``rollup``
    measures are credited the bookings of every carrier below (any depth), filtered measures
    their shares (:func:`spm_models.comp.team.world_shares` from ``history``). Only reps of the
    role employed in the plan year with a positive plan-year quota on every measure are kept.
    ``region`` gives each carrier's region (default: the ``region`` coordinate).

    Raises :class:`InputError` naming the plan file and key when an overlay plan's measure has
    no ``credit: {rollup: true}`` (overlay reps book nothing of their own) or a filtered
    measure has no ``history``.
    """
    out: dict[str, tuple[xr.DataArray, xr.DataArray, dict[str, str]]] = {}
    roles_todo = overlay_roles(plans, quota_roles)
    if not roles_todo or "role" not in reps:
        return out
    reps = reps.assign(rep_id=reps["rep_id"].astype(str))
    carriers = [str(r) for r in bookings[REP].values]
    regions = _region_of(bookings, region)
    months = [str(p) for p in bookings[PERIOD].values]
    managers = team.carrier_managers(reps, carriers, regions, months)
    start, end = team.plan_year(months)
    for role in roles_todo:
        sel = reps[(reps["role"].astype(str) == role) & team.employed(reps, start, end)]
        if sel.empty:
            continue
        plan = plans[role]
        for i, m in enumerate(plan.measures):
            if not (m.credit or CreditRule()).rollup:
                raise InputError(f"{plan.source}, key 'measures[{i}].credit.rollup': overlay role {role!r} "
                                 "books nothing of its own; set credit: {rollup: true} so its reps are "
                                 "credited with the bookings of the reps they cover")
        ids = sel["rep_id"].tolist()
        if set(ids) & set(managers.values()):
            hier = managers
        else:
            hier = team.overlay_cover(reps, role, carriers, regions, managers, months)
        shares = None
        if team.needs_shares(plan):
            if history is None:
                credit_cube(plan, bookings, reps=hier)  # raises the plan-key error
            assert history is not None
            shares = team.world_shares(plan, history, reps, carriers, regions)
        cr = credit_cube(plan, bookings, reps=hier, shares=shares)
        qu = credit_cube(plan, quota, reps=hier, shares=shares)
        have = set(map(str, cr[REP].values))
        ids = [r for r in ids if r in have]
        if not ids:
            continue
        qsum = qu.sel({REP: ids}).sum(PERIOD)
        keep = [r for r, ok in zip(ids, (qsum > 0).all("measure").values, strict=True) if ok]
        if keep:
            out[role] = (cr.sel({REP: keep}), qu.sel({REP: keep}), hier)
    return out


def overlay_payouts(plans: Mapping[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                    reps: pd.DataFrame, quota_roles: np.ndarray,
                    region: np.ndarray | None = None,
                    history: pd.DataFrame | None = None) -> xr.Dataset | None:
    """Payouts of overlay roles (plan roles with no rep among the quota carriers: managers,
    ``SE``), credited by their plan's crediting rules on the world's hierarchy
    (:func:`overlay_credits`; ``history``: the bookings table, needed by filtered measures).

    Returns ``payout(rep, period, draw)`` (in the last month of each payout period) with
    coordinates ``role(rep)`` and ``region(rep)`` over the overlay reps, or ``None`` when there
    is none. Errors as :func:`overlay_credits`.
    """
    credits = overlay_credits(plans, bookings, quota, reps, quota_roles, region, history)
    return overlay_payouts_of(plans, credits, reps, [str(p) for p in bookings[PERIOD].values])


def overlay_payouts_of(plans: Mapping[str, Any],
                       credits: Mapping[str, tuple[xr.DataArray, xr.DataArray, dict[str, str]]],
                       reps: pd.DataFrame, months: list[str],
                       quota_scale: float = 1.0) -> xr.Dataset | None:
    """The payout step of :func:`overlay_payouts` on credits already made by
    :func:`overlay_credits` (role → credits, quotas, hierarchy), over the world's ``months``
    (``YYYY-MM``), with every overlay quota × ``quota_scale`` (the what-if panel's quota uplift:
    overlay quotas are sums of carrier quotas, so a uniform uplift scales them alike).
    Returns what :func:`overlay_payouts` returns."""
    if not credits:
        return None
    tab = reps.assign(rep_id=reps["rep_id"].astype(str)).drop_duplicates("rep_id").set_index("rep_id")
    parts = []
    for role, (cr, qu, _h) in credits.items():
        plan = plans[role]
        ids = [str(r) for r in cr[REP].values]
        ti = xr.DataArray(tab["target_incentive"].reindex(ids).astype(float).to_numpy()
                          if "target_incentive" in tab else np.full(len(ids), np.nan),
                          dims=[REP], coords={REP: ids})
        if quota_scale != 1.0:
            qu = qu * quota_scale
        if len(plan.measure_names) == 1:
            cr, qu = cr.squeeze("measure", drop=True), qu.squeeze("measure", drop=True)
        res = compute_payouts(plan, cr, qu, ti)
        pay = res["payout"].reindex({PERIOD: months}, fill_value=0.0).transpose(REP, PERIOD, DRAW)
        regions = (tab["region"].reindex(ids).fillna("").astype(str).to_numpy() if "region" in tab
                   else np.full(len(ids), ""))
        part = xr.Dataset({"payout": pay.drop_vars([c for c in pay.coords if c not in pay.dims])})
        parts.append(part.assign_coords(role=(REP, [role] * len(ids)), region=(REP, regions)))
    return xr.concat(parts, dim=REP) if len(parts) > 1 else parts[0]
