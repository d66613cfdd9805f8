"""One simulated world per scenario: forecast → territory → roster → quotas → response → pay.

:func:`simulate_world` composes the area's building blocks into the cube every decision
figure is read from (``rep × period × draw``):

1. **territory** (:mod:`~spm_models.planning.territory_effect`): today's reps' forecast draws
   follow their new potential (elasticity learnt from the history) and lose
   ``transition_loss`` on accounts moved in, for ``transition_months``;
2. **roster** (:mod:`~spm_models.planning.roster`): hires join (ramped, own draws), reps leave
   per draw (attrition);
3. **quotas** (:func:`spm_models.planning.quota.set_quotas`) on the plan-day roster — what each
   rep would book if they stayed (quotas are set before anyone leaves); hires get theirs by
   the method's new-rep rule;
4. **response** (:mod:`~spm_models.planning.response`, opt-in): effort and pull-in;
5. **pay** (:func:`spm_models.comp.compute_payouts`, per plan): on the active months' credits;
   a leaver is paid nothing from the leave month on (payouts masked by ``active``).

Each lever can be switched off (``levers``), which is how :mod:`~spm_models.planning.bridge`
walks from the forecast of today's roster to the scenario. Random numbers are common across
levers and hiring plans (see :mod:`~spm_models.planning.roster`), so differences between
worlds are paired draw by draw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.cube import DRAW, PERIOD, REP
from spm_models.planning import response as resp
from spm_models.planning import roster as ros
from spm_models.planning import support as sup
from spm_models.planning import territory_effect as te

LEVERS = ("attrition", "hires", "territory", "response")


@dataclass
class WorldInputs:
    """Everything a world needs besides the lever switches.

    ``forecast``: forecast cube of today's reps (``bookings(rep, period, draw)``, rep coords
    ``region``, ``territory_id``, ``role``, ``hire_month``). ``quota``: the scenario's quota
    section. ``plans``: plan key → :class:`spm_models.comp.Plan` (keys are roles, plus e.g. a
    new-hire plan key). ``target_incentive``: annual target incentive per rep id (NaN/missing →
    the plan's). ``roster``: keyword arguments of :func:`~spm_models.planning.roster.build_roster`
    (``hiring_plan``, ``attrition_monthly``, ``hiring_lag_months``, ``ramp_tau``, ``seed``,
    ``hire_pool``, ``hire_role``, ``hire_plan``). ``territory_potentials`` /
    ``elasticity`` / ``territory``: :func:`~spm_models.planning.territory_effect.rep_potentials`
    frame, elasticity draws ``(draw,)``, and the ``territory`` section (transition settings).
    ``response``: the ``response`` section. ``support``: the support roles that come with
    hires (:func:`spm_models.planning.support.support_roles`; empty = no support cost).
    """

    forecast: xr.Dataset
    quota: Mapping[str, Any]
    plans: Mapping[str, Any]
    tables: Mapping[str, pd.DataFrame] | None = None
    target_incentive: pd.Series | None = None
    roster: Mapping[str, Any] = field(default_factory=dict)
    territory_potentials: pd.DataFrame | None = None
    elasticity: xr.DataArray | None = None
    territory: Mapping[str, Any] | None = None
    response: Mapping[str, Any] | None = None
    support: list[sup.SupportRole] = field(default_factory=list)


def plan_key(plans: Mapping[str, Any], role: str) -> str:
    """The plan of ``role``: its own, else ``default``, ``AE``, or the first plan."""
    for key in (role, "default", "AE"):
        if key in plans:
            return key
    return next(iter(plans))


def first_paid(plan: Any, active: xr.DataArray) -> xr.DataArray:
    """Index of each rep's first payout period of ``plan`` in which the rep works, per draw:
    ``(rep, draw)`` from ``active (rep, period, draw)`` (the plan year's months); the number of
    payout periods for a rep who never works in the plan year. The comp engine pays nothing in
    earlier periods -- no draw is owed, and none recovered, before a hire's start
    (:func:`spm_models.comp.engine.compute_payouts`, ``first_paid``)."""
    months = [str(p) for p in active[PERIOD].values]
    ends = [months.index(e) if e in months else len(months) for e in plan.payout_period_ends]
    return xr.apply_ufunc(first_paid_index, active.astype(bool), kwargs={"ends": ends},
                          input_core_dims=[[PERIOD]])


def first_paid_index(active: np.ndarray, ends: list[int]) -> np.ndarray:
    """:func:`first_paid` on arrays: ``active (..., month)`` (bool) and the month positions of
    the payout periods' ends; returns ``(...)`` payout-period indices (float)."""
    first_month = np.where(active.any(axis=-1), active.argmax(axis=-1), active.shape[-1])
    return np.searchsorted(np.asarray(ends), first_month, side="left").astype(float)


def world_payouts(plans: Mapping[str, Any], bookings: xr.DataArray, quota: xr.DataArray,
                  target_incentive: xr.DataArray, plan_roles: np.ndarray,
                  active: xr.DataArray | None = None,
                  tables: Mapping[str, pd.DataFrame] | None = None) -> xr.Dataset:
    """Payouts ``(rep, period, draw)`` through the comp engine, one call per plan, landing in
    the last month of each payout period; masked by ``active`` (no pay after leaving or before
    starting; no draw owed or recovered for the payout periods before a hire's start,
    :func:`first_paid`). Also ``plan(rep)``: the plan key each rep is paid on. A plan whose measures
    credit a part of the bookings (``where``/``amount``) credits each rep its share from the
    ``tables``' booking history (:func:`spm_models.comp.team.world_shares`; region's share for
    hires) on credits and quotas alike (:func:`spm_models.comp.roles.carrier_credits`)."""
    from spm_models.comp import compute_payouts, team
    from spm_models.comp.roles import carrier_credits

    keys = np.array([plan_key(plans, str(r)) for r in plan_roles])
    months = [str(p) for p in bookings[PERIOD].values]
    reps = np.asarray(bookings[REP].values)
    pay = np.zeros((len(reps), len(months), bookings.sizes[DRAW]))
    for key in dict.fromkeys(keys):
        idx = np.flatnonzero(keys == key)
        sel = {REP: reps[idx]}
        shares = None
        if team.needs_shares(plans[key]) and tables is not None and "bookings" in tables:
            regions = (np.asarray(bookings["region"].values).astype(str)[idx] if "region" in bookings.coords
                       else np.full(len(idx), ""))
            shares = team.world_shares(plans[key], tables["bookings"], tables.get("reps"),
                                       [str(r) for r in reps[idx]], regions)
        cr, qu = carrier_credits(plans[key], bookings.sel(sel), quota.sel(sel), shares)
        first = None if active is None else first_paid(plans[key], active.sel(sel))
        res = compute_payouts(plans[key], cr, qu, target_incentive.sel(sel), first_paid=first)
        p = res["payout"].reindex({PERIOD: months}, fill_value=0.0).transpose(REP, PERIOD, DRAW)
        pay[idx] = p.values
    out = xr.DataArray(pay, dims=(REP, PERIOD, DRAW), coords={REP: reps, PERIOD: months,
                                                              DRAW: bookings[DRAW].values})
    if active is not None:
        out = ros.apply_roster(out, active)
    return xr.Dataset({"payout": out, "plan": (REP, keys)})


def prorate_share(plan: Any, hire_month: str) -> float:
    """The share of ``plan``'s target incentive a rep starting in ``hire_month`` (``YYYY-MM``)
    is on: months employed in the plan year ÷ 12 when every target-incentive-basis measure has
    an annual quota period, else 1.

    Rule 2 of ``spec/comp_plan.md`` makes a TI-basis unit ``TI × weight × months(q) / 12``
    whatever the quota; a hire's quota is the sum of the monthly quotas from the start month on
    (none before it), so an annual quota is prorated by itself while its unit would not be:
    without this a July hire on an annual TI-basis plan earned its full-year target for half a
    year's quota. The contract says nothing of proration; the rep's own ``target_incentive``
    (which overrides the plan's) is where it goes, so the engine is unchanged. With quarterly or
    monthly TI-basis quota periods the periods before the start earn nothing already (no
    quota); the one partly-worked period is paid at its full unit — a per-period TI is not
    expressible through the engine's one TI per rep (documented limitation). An unknown or
    out-of-year ``hire_month`` gives 1 (before the plan year) or 0 (after it)."""
    ti_measures = [m for m in getattr(plan, "measures", ()) if m.basis == "target_incentive"]
    if not ti_measures or any(m.quota_period != "year" for m in ti_measures):
        return 1.0
    try:
        start = pd.Period(str(hire_month)[:7], freq="M")
    except (ValueError, TypeError):
        return 1.0
    first = pd.Period(plan.plan_year_start, freq="M")
    return float(min(max(12 - (start - first).n, 0), 12)) / 12.0


def prorated_target_incentive(plans: Mapping[str, Any], ti: np.ndarray, plan_roles: np.ndarray,
                              hire_month: np.ndarray) -> np.ndarray:
    """Annual target incentive ``(rep,)`` each rep is paid on: the given ``ti`` (NaN → the
    plan's ``target_incentive``) × :func:`prorate_share` for reps whose ``hire_month`` lies in
    the plan year (hires; reps already on board keep their TI). Reps whose plan has no
    target-incentive measure keep ``ti`` unchanged (NaN stays NaN)."""
    out = np.asarray(ti, dtype=float).copy()
    for i, (role, hm) in enumerate(zip(plan_roles, hire_month, strict=True)):
        plan = plans[plan_key(plans, str(role))]
        share = prorate_share(plan, str(hm)) if str(hm) not in ("", "nan", "None") else 1.0
        if share == 1.0:
            continue
        base = out[i] if np.isfinite(out[i]) else float(getattr(plan, "target_incentive", 0.0) or 0.0)
        out[i] = base * share
    return out


def simulate_world(inputs: WorldInputs, levers: Iterable[str] = LEVERS) -> xr.Dataset:
    """The scenario's world with the given ``levers`` on (subset of :data:`LEVERS`).

    Returns a Dataset ``(rep, period, draw)``: ``bookings`` (what is booked and credited:
    zero when inactive), ``potential_bookings`` (before attrition), ``active``, ``quota``
    ``(rep, period)``, ``payout``, ``leave_month(rep, draw)``, ``target_incentive(rep)``
    (hires' prorated, :func:`prorated_target_incentive`), ``plan(rep)``, rep coords of
    :func:`~spm_models.planning.roster.build_roster`; ``support_headcount`` and
    ``support_cost`` ``(support_role, period, draw)``: the managers and SEs the AE headcount
    above today's needs (:mod:`spm_models.planning.support`); attrs ``levers``,
    ``total_hires``. Revenue = ``bookings`` summed over rep and period; incentive cost =
    ``payout`` summed likewise; support cost = ``support_cost`` summed over role and period.
    """
    from spm_models.planning.quota import set_quotas

    levers = set(levers)
    unknown = levers - set(LEVERS)
    if unknown:
        raise ValueError(f"unknown lever(s): {sorted(unknown)}")
    fc = inputs.forecast
    if "territory" in levers and inputs.territory_potentials is not None and inputs.elasticity is not None:
        ts = te.transition_settings(inputs.territory)
        fc = fc.copy()
        fc["bookings"] = te.apply_territory(fc["bookings"].transpose(REP, PERIOD, DRAW), inputs.territory_potentials,
                                            inputs.elasticity, ts["transition_loss"], ts["transition_months"])
    rkw = dict(inputs.roster)
    if "attrition" not in levers:
        rkw["attrition_monthly"] = 0.0
    if "hires" not in levers:
        rkw["hiring_plan"] = None
    world = ros.build_roster(fc, **rkw)
    plan_day = world[["potential_bookings"]].rename({"potential_bookings": "bookings"})
    qds = set_quotas(inputs.quota, plan_day, inputs.tables)
    quota = qds["quota"].reindex({REP: world[REP].values, PERIOD: world[PERIOD].values}).fillna(0.0)
    settings = resp.response_settings(inputs.response if "response" in levers else None)
    potential = world["potential_bookings"]
    if settings["enabled"]:
        plan_of_rep = {str(r): inputs.plans[plan_key(inputs.plans, str(k))]
                       for r, k in zip(world[REP].values, world["plan_role"].values, strict=True)}
        potential = resp.apply_response(potential, quota, plan_of_rep, settings)
    bookings = ros.apply_roster(potential, world["active"])
    ti = pd.Series(np.nan, index=pd.Index(world[REP].values.astype(str)))
    if inputs.target_incentive is not None:
        ti.update(inputs.target_incentive.astype(float))
    ti = prorated_target_incentive(inputs.plans, ti.to_numpy(), world["plan_role"].values,
                                   world["hire_month"].values)
    ti_da = xr.DataArray(ti, dims=(REP,), coords={REP: world[REP].values})
    pay = world_payouts(inputs.plans, bookings, quota, ti_da, world["plan_role"].values, world["active"],
                        inputs.tables)
    out = world.assign(bookings=bookings, potential_bookings=potential, quota=quota,
                       payout=pay["payout"], plan=pay["plan"], target_incentive=ti_da)
    carrier = str(inputs.roster.get("hire_role", "AE"))
    ae_active, ae_now = sup.carrier_headcount(out, carrier)
    out = out.merge(sup.support_frame(list(inputs.support), ae_active, ae_now))
    out.attrs.update(levers=",".join(x for x in LEVERS if x in levers),
                     quota_method=str(qds.attrs.get("quota_method", "")))
    return out


def revenue(world: xr.Dataset) -> xr.DataArray:
    """Plan-year revenue per draw ``(draw,)``."""
    return world["bookings"].sum([REP, PERIOD])


def incentive_cost(world: xr.Dataset) -> xr.DataArray:
    """Plan-year incentive cost of the world's reps per draw ``(draw,)``."""
    return world["payout"].sum([REP, PERIOD])


def world_cost(world: xr.Dataset, overlay_payout: xr.DataArray | None = None) -> xr.DataArray:
    """The world's plan-year cost per draw ``(draw,)``: incentive cost (quota carriers, plus
    ``overlay_payout`` ``(rep, period, draw)`` of managers and SEs when given) plus the support
    cost of the hires (:func:`support_cost`) — the cost the bridge, the capacity answer, the
    what-if panel and ``summary.json``'s cost of sales read."""
    from spm_models import figures

    return figures.incentive_cost(world["payout"], overlay_payout) + support_cost(world)


def support_cost(world: xr.Dataset) -> xr.DataArray:
    """Plan-year cost of the support headcount the hires bring (managers, SEs; base +
    on-target incentive) per draw ``(draw,)``; zeros when the world has none."""
    if "support_cost" not in world:
        return xr.zeros_like(revenue(world))
    return sup.support_cost_total(world)


# --------------------------------------------------------------------------- hiring curve
@dataclass
class HiringCurve:
    """Revenue and incentive cost per draw of any hiring plan up to ``slots_per_month`` starts
    per month, from one world holding every hire slot (:func:`hiring_curve`).

    ``base_revenue``/``base_cost`` ``(draw,)``: today's reps; ``slot_revenue``/``slot_cost``
    ``(start month, slot, draw)``: cumulative over slots (the first ``n`` hires of a month).
    Support headcount (:mod:`spm_models.planning.support`) is not additive over hires (hires
    first backfill leavers), so the curve keeps the active AEs instead: ``base_active``
    ``(period, draw)`` of today's AEs, ``slot_active`` ``(start month, slot, period, draw)``
    cumulative over slots, ``ae_now`` ``(draw,)``, and the ``support`` roles; the cost
    :meth:`evaluate` returns is incentive plus support cost, as :func:`world_cost`.
    ``exact`` is True for ``growth`` and ``equal_probability`` with a fixed ``probability``:
    no rep's quota depends on who else is on the roster, and :meth:`evaluate` equals
    :func:`simulate_world` with that plan, draw by draw. With a top-down split or a
    target-implied probability every quota moves with the headcount; the curve keeps the
    quotas of the all-slots world and is an approximation.
    """

    periods: list[str]
    hiring_lag_months: int
    slots_per_month: int
    base_revenue: np.ndarray
    base_cost: np.ndarray
    slot_revenue: np.ndarray
    slot_cost: np.ndarray
    exact: bool
    base_active: np.ndarray | None = None
    slot_active: np.ndarray | None = None
    ae_now: np.ndarray | None = None
    support: list[sup.SupportRole] = field(default_factory=list)

    def starts(self, hiring_plan: Any) -> np.ndarray:
        """Hires starting per month (length ``months``) of a hiring plan."""
        from spm_models.planning.capacity import hiring_vector

        T = len(self.periods)
        vec = hiring_vector(hiring_plan, T, self.periods)
        out = np.zeros(T, dtype=np.int64)
        lag = self.hiring_lag_months
        out[lag:] = vec[: T - lag] if lag < T else 0
        return out

    def evaluate(self, hiring_plan: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(revenue(draw), cost(draw))``: :meth:`evaluate_parts` with the cost's two parts
        added (incentive + support)."""
        rev, incentive, support = self.evaluate_parts(hiring_plan)
        return rev, incentive + support

    def evaluate_parts(self, hiring_plan: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(revenue(draw), incentive_cost(draw), support_cost(draw))`` with ``hiring_plan``
        (requisitions opened per month, as in the capacity section): the quota carriers'
        incentive cost and the support cost of the AE headcount (:func:`world_cost`'s parts
        without overlay payouts). Raises :class:`InputError` beyond the curve's slots."""
        from spm_models.errors import InputError

        n = self.starts(hiring_plan)
        if n.max(initial=0) > self.slots_per_month:
            raise InputError(f"scenario section 'capacity', key 'hiring_plan': {int(n.max())} hires starting in one "
                             f"month, the hiring curve holds {self.slots_per_month}")
        rev, cost = self.base_revenue.copy(), self.base_cost.copy()
        active = None if self.base_active is None else self.base_active.astype(float)
        for s in np.flatnonzero(n):
            rev += self.slot_revenue[s, n[s] - 1]
            cost += self.slot_cost[s, n[s] - 1]
            if active is not None and self.slot_active is not None:
                active = active + self.slot_active[s, n[s] - 1]
        support = np.zeros_like(rev)
        if self.support and active is not None and self.ae_now is not None:
            support = sup.support_cost_of(self.support, active, self.ae_now)
        return rev, cost, support


def hiring_curve(inputs: WorldInputs, slots_per_month: int, levers: Iterable[str] = LEVERS) -> HiringCurve:
    """Simulate the world once with ``slots_per_month`` hires starting in every month a hire
    can start in, and tabulate each slot's plan-year revenue and incentive cost per draw
    (:class:`HiringCurve`) — the what-if panel's headcount control and a fast path for
    :func:`spm_models.planning.capacity.solve_hiring_on_world` (``lambda p: curve.evaluate(p)[0]``)."""
    levers = set(levers) | {"hires"}
    periods = [str(p) for p in inputs.forecast[PERIOD].values]
    T = len(periods)
    lag = int(inputs.roster.get("hiring_lag_months", 0))
    plan = [int(slots_per_month) if m + lag < T else 0 for m in range(T)]
    w = simulate_world(WorldInputs(**{**inputs.__dict__, "roster": {**inputs.roster, "hiring_plan": plan}}), levers)
    rev = w["bookings"].sum(PERIOD).transpose(REP, DRAW).values
    cost = w["payout"].sum(PERIOD).transpose(REP, DRAW).values
    act = w["active"].transpose(REP, PERIOD, DRAW).values
    carrier = str(inputs.roster.get("hire_role", "AE"))
    is_ae = np.asarray(w["role"].values).astype(str) == carrier
    hire = w["is_hire"].values
    D = w.sizes[DRAW]
    K = int(slots_per_month)
    slot_rev = np.zeros((T, K, D))
    slot_cost = np.zeros((T, K, D))
    slot_act = np.zeros((T, K, T, D), dtype=np.int32)
    for i in np.flatnonzero(hire):
        rid = str(w[REP].values[i])  # hire-YYYY-MM-jjj
        s = periods.index(str(w["hire_month"].values[i]))
        j = int(rid.rsplit("-", 1)[1]) - 1
        slot_rev[s, j], slot_cost[s, j] = rev[i], cost[i]
        slot_act[s, j] = act[i] & is_ae[i]
    qcfg = dict(inputs.quota or {})
    exact = qcfg.get("method") == "growth" or (qcfg.get("method") == "equal_probability" and "target" not in qcfg)
    now = ~hire & is_ae
    return HiringCurve(periods, lag, K, rev[~hire].sum(0), cost[~hire].sum(0),
                       np.cumsum(slot_rev, axis=1), np.cumsum(slot_cost, axis=1), exact,
                       base_active=act[now].sum(0).astype(np.int32), slot_active=np.cumsum(slot_act, axis=1),
                       ae_now=act[now][:, 0, :].sum(0).astype(float), support=list(inputs.support))
