"""The scenario's one simulated world inside the run (``docs/scenario_world.md``).

:func:`build_world` calls :func:`spm_models.planning.scenario_world.world_inputs` and
:func:`~spm_models.planning.scenario_world.run_world`; the other functions turn the
:class:`~spm_models.planning.scenario_world.WorldResult` into the result tree's groups and
``summary.json``'s ``capacity`` and ``bridge`` figures, so revenue, cost, the capacity answer and
the bridge are all read from the same ``rep × period × draw`` arrays.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.cube import DRAW, PERIOD, REP
from spm_models.errors import InputError
from spm_models.scenario import Scenario

#: rep coordinates of the world carried into ``/forecast`` and ``/comp``
REP_COORDS = ("region", "territory_id", "role", "plan_role", "hire_month", "is_hire")


def build_world(scenario: Scenario, fcube: xr.Dataset, tables: dict[str, pd.DataFrame],
                plans: dict[str, Any], territory_result: Any | None = None) -> Any:
    """The scenario's :class:`~spm_models.planning.scenario_world.WorldResult`.

    ``fcube``: the forecast of today's reps (run without the forecast's own ``attrition``
    option: the world's ``capacity.attrition_monthly`` replaces it). Raises
    :class:`InputError` naming the section and key on bad input (e.g. ``forecast.attrition``
    set, ``capacity.hire_plan`` not one of the scenario's plans).
    """
    from spm_models.planning.scenario_world import run_world, world_inputs

    if scenario.section("forecast").get("attrition"):
        raise InputError(f"{scenario.path}, section 'forecast', key 'attrition': reps leave in the scenario "
                         "world at capacity.attrition_monthly; remove the forecast's own attrition")
    extra = [k for k in ("start", "months") if k in (scenario.spec.get("capacity") or {})]
    if extra:
        raise InputError(f"{scenario.path}, section 'capacity', key '{extra[0]}': the scenario world runs over "
                         "the scenario's horizon; set the months there")
    fc = fcube
    if "role" not in fc.coords and "reps" in tables:
        from spm_models.comp import roles as comp_roles

        ids = np.asarray(fc[REP].values).astype(str)
        fc = fc.assign_coords(role=(REP, comp_roles.rep_roles(tables["reps"], ids)))
    base_dir = Path(scenario.path).parent if scenario.path else None
    spec = dict(scenario.spec)
    spec["seed"] = scenario.seed
    inputs = world_inputs(spec, fc, tables, plans, territory_result, base_dir)
    return run_world(spec, inputs)


def forecast_group(world: xr.Dataset, fcube: xr.Dataset) -> xr.Dataset:
    """``/forecast``: the world's ``bookings`` (booked and credited, zero when inactive),
    ``potential_bookings`` (before attrition) and ``active`` ``(rep, period, draw)`` over
    today's reps then the hires, rep coords :data:`REP_COORDS`; the forecast cube's attrs."""
    ds = world[["bookings", "potential_bookings", "active", "leave_month"]]
    keep = [c for c in ds.coords if c in (REP, PERIOD, DRAW) or c in REP_COORDS]
    ds = ds.drop_vars([c for c in ds.coords if c not in keep])
    ds.attrs = {**fcube.attrs, **{k: v for k, v in world.attrs.items()
                                  if isinstance(v, (int, float, str))}}
    return ds


def comp_frame(world: xr.Dataset) -> xr.Dataset:
    """The world's ``quota(rep, period)``, ``payout(rep, period, draw)`` (in the last month of
    each payout period, zero from a leaver's leave month), ``plan(rep)`` (plan key: hires on
    ``capacity.hire_plan``) and ``target_incentive(rep)``."""
    return world[["quota", "payout", "plan", "target_incentive"]]


def overlay_group(world: xr.Dataset, tables: dict[str, pd.DataFrame],
                  plans: dict[str, Any]) -> xr.Dataset | None:
    """``/overlay``: payouts ``(rep, period, draw)`` of the overlay roles (managers, SEs: plans
    with no quota carrier in the world), credited by their plan's rules on the world's
    simulated bookings (:func:`spm_models.comp.roles.overlay_payouts`: managers by the
    ``manager_id`` hierarchy, hires joining a manager of their region; overlays by pods;
    ``where`` shares from the ``bookings`` history). ``None`` without overlay roles."""
    from spm_models.planning.scenario_world import overlay_payout
    from spm_models.planning.world import WorldInputs

    ov = overlay_payout(WorldInputs(forecast=world, quota={}, plans=plans, tables=tables), world)
    return None if ov is None else xr.Dataset({"payout": ov})


def capacity_group(res: Any) -> xr.Dataset:
    """``/capacity`` read from the world: ``headcount(period, draw)``, ``ramped_fte``
    (active reps weighted by their ramp share), ``capacity(period, draw)`` = company bookings
    per month (the same array as revenue), ``capacity_total(draw)`` = revenue,
    ``hires_opened``/``hires_starting(period)``; ``support_headcount``/``support_cost``
    ``(support_role, period, draw)``: the managers and SEs the hires need (FTE; plan currency a
    month), coords ``span`` (AEs per person) and ``annual_cost`` (base + on-target incentive)."""
    from spm_models.planning import roster as ros

    w = res.world
    periods = [str(p) for p in w[PERIOD].values]
    T = len(periods)
    tau = float(w.attrs.get("ramp_tau", 3.0))
    hm = np.asarray(w["hire_month"].values).astype(str)
    idx = pd.PeriodIndex(periods, freq="M")
    ramp = np.ones((w.sizes[REP], T))
    for i, m in enumerate(hm):
        if m and m != "nan":
            try:
                start = pd.Period(m[:7], freq="M")
            except ValueError:
                continue
            tenure = np.array([(p - start).n for p in idx], dtype=float)
            ramp[i] = np.where(tenure >= 0, 1 - np.exp(-(tenure + 1) / tau), 0.0)
    act = w["active"].transpose(REP, PERIOD, DRAW).values
    fte = (act * ramp[:, :, None]).sum(0)
    plan = res.inputs.roster.get("hiring_plan")
    lag = int(res.inputs.roster.get("hiring_lag_months", 0))
    from spm_models.planning.capacity import hiring_vector

    opened = np.asarray(hiring_vector(plan, T, periods), dtype=np.int64) if plan is not None else np.zeros(T, np.int64)
    starting = np.zeros(T, np.int64)
    starting[lag:] = opened[:T - lag] if lag < T else 0
    book = w["bookings"].sum(REP).transpose(PERIOD, DRAW)
    ds = xr.Dataset({"headcount": ros.headcount(w).transpose(PERIOD, DRAW).astype(float),
                     "ramped_fte": ((PERIOD, DRAW), fte), "capacity": book,
                     "capacity_total": book.sum(PERIOD),
                     "hires_opened": (PERIOD, opened), "hires_starting": (PERIOD, starting)})
    ds = ds.drop_vars([c for c in ds.coords if c not in ds.dims])
    if "support_cost" in w:
        ds = ds.merge(w[["support_headcount", "support_cost"]])
    sol = res.solution
    attrs: dict[str, Any] = {"attrition_monthly": float(res.inputs.roster.get("attrition_monthly", 0) or 0),
                             "hiring_lag_months": lag, "headcount_now": int((~w["is_hire"].values).sum()),
                             "source": "world"}
    if sol is not None:
        attrs.update(probability_reached=float(sol.probability),
                     probability_one_fewer=float(sol.probability_one_fewer), feasible=int(bool(sol.feasible)))
    return ds.assign_attrs(attrs)


def capacity_summary(res: Any, cap: xr.Dataset, target: float | None, probability: float | None) -> dict[str, Any]:
    """``summary["capacity"]`` from the world: hires (solved or planned), the probability of
    the target on the world's revenue (the summary's revenue), one hire fewer when solved,
    headcount start/end, leavers; ``capacity`` P10/P50/P90 equals the summary's revenue."""
    from spm_models.figures import quantiles
    from spm_models.workflow.planning_steps import fig

    wc = res.figures["capacity"]
    rev = cap["capacity_total"]
    hires = cap["hires_opened"].to_series()
    head_end = cap["headcount"].isel(period=-1)
    sol = res.solution
    reached = sol.probability if sol is not None else (float((rev >= target).mean()) if target is not None else None)
    return {
        "mode": "solve" if sol is not None else "simulate",
        "target": fig(target, 2),
        "probability_target": fig(probability),
        "probability_reached": fig(reached),
        "probability_one_fewer": fig(sol.probability_one_fewer) if sol is not None else None,
        "feasible": bool(sol.feasible) if sol is not None else None,
        "headcount_now": int(cap.attrs["headcount_now"]),
        "total_hires": int(hires.sum()),
        "hiring_plan": {str(k): int(v) for k, v in hires.items() if int(v)},
        "attrition_monthly": fig(cap.attrs["attrition_monthly"]),
        "hiring_lag_months": int(cap.attrs["hiring_lag_months"]),
        "capacity": quantiles(rev),
        "headcount_end": {k: round(v, 1) for k, v in quantiles(head_end).items()},
        "headcount_start_p50": fig(wc["headcount_start_p50"], 1),
        "leavers_p50": fig(res.figures["roster"]["leavers_p50"], 1),
        "hire_source": str(res.world.attrs.get("hire_source", "")),
        "hire_plan": res.inputs.roster.get("hire_plan"),
        "curve_exact": wc.get("curve_exact"),
        "support": support_summary(cap),
        "hires_economics": hires_economics(res),
    }


def support_summary(cap: xr.Dataset) -> dict[str, Any] | None:
    """``summary["capacity"]["support"]``: per support role the span of control (AEs per
    person), its loaded cost a year (base + on-target incentive), the extra headcount (FTE) at
    the end of the horizon (P50) and the plan-year cost (P10/P50/P90); ``total`` the plan-year
    support cost of all roles. None without support roles."""
    from spm_models.figures import quantiles

    if "support_cost" not in cap or not cap.sizes.get("support_role", 0):
        return None
    roles = {}
    for r in cap["support_role"].values:
        one = cap.sel(support_role=r)
        roles[str(r)] = {"span": round(float(one["span"]), 3), "annual_cost": round(float(one["annual_cost"]), 2),
                         "headcount_end_p50": round(float(one["support_headcount"].isel({PERIOD: -1}).median()), 2),
                         "cost": quantiles(one["support_cost"].sum(PERIOD))}
    return {"roles": roles, "total": quantiles(cap["support_cost"].sum(["support_role", PERIOD]))}


def hires_economics(res: Any) -> dict[str, Any] | None:
    """What the hires add: the bridge's ``Hires`` bar, read from its ``hires`` step (the same
    worlds as the bridge): ``revenue_p50``/``cost_p50`` (the change of the P50 when the hires
    are switched on — one definition with the bridge's bar and table, whose bars add up to
    the scenario's P50; the paired change's own quantiles are the bridge's "80 % range of
    the change"; cost = incentive of the hires and of the managers/SEs crediting them +
    support cost) and ``cost_per_revenue`` (their ratio: the hires' own cost of sales).
    None without a hires step."""
    if res.bridge is None or "hires" not in set(res.bridge["step"]):
        return None
    row = res.bridge.set_index("step").loc["hires"]
    r, c = float(row["revenue"]), float(row["cost"])
    return {"revenue_p50": round(r, 2), "cost_p50": round(c, 2),
            "cost_per_revenue": round(c / r, 6) if r > 0 else None}


def bridge_summary(res: Any) -> list[dict[str, Any]]:
    """``summary["bridge"]``: one row per step (today's roster → attrition → hires → territory
    → response → scenario) with revenue and incentive-cost P50 changes and the paired
    P10/P90 of the change (:func:`spm_models.planning.bridge.bridge_steps`); without any hire
    in the world (no capacity section, or a plan of none) there is no ``hires`` row."""
    if res.bridge is None:
        return []
    rows = []
    no_hires = "is_hire" in res.world and not bool(np.asarray(res.world["is_hire"].values).any())
    for rec in res.bridge.to_dict("records"):
        if no_hires and rec["step"] == "hires":  # a scenario that plans no hires has no Hires bar
            continue
        rows.append({str(k): (round(float(v), 2) if isinstance(v, (int, float, np.floating)) and np.isfinite(v)
                              else (None if isinstance(v, (float, np.floating)) else str(v)))
                     for k, v in rec.items()})
    return rows
