"""A scenario's world from its plain-data sections: one call for the workflow to wire in.

:func:`run_world` takes the scenario spec (the parsed YAML mapping: ``seed``, ``target``,
``quota``, ``capacity``, ``territory``, ``response``), the forecast cube of today's reps, the
source tables, the loaded plans and (optionally) the territory balancing result, and returns
the world (:func:`spm_models.planning.world.simulate_world`), the solved hiring plan when the
``capacity`` section asks for one, the what-if hiring curve, the bridge and the decision
figures read from that one world. See ``docs/scenario_world.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from spm_models.cube import DRAW, PERIOD, REP
from spm_models.errors import InputError
from spm_models.planning import response as resp
from spm_models.planning import roster as ros
from spm_models.planning import support as sup
from spm_models.planning import territory_effect as te
from spm_models.planning.bridge import bridge_steps
from spm_models.planning.capacity import (
    WorldHiringSolution,
    solve_hiring_on_world,
    world_capacity_summary,
)
from spm_models.planning.world import (
    LEVERS,
    HiringCurve,
    WorldInputs,
    hiring_curve,
    incentive_cost,
    revenue,
    simulate_world,
    support_cost,
    world_cost,
)


@dataclass
class WorldResult:
    """What :func:`run_world` returns."""

    world: xr.Dataset
    inputs: WorldInputs
    levers: tuple[str, ...]
    solution: WorldHiringSolution | None = None
    curve: HiringCurve | None = None
    bridge: pd.DataFrame | None = None
    figures: dict[str, Any] = field(default_factory=dict)
    #: :func:`~spm_models.planning.response.response_sensitivity` table when the response is on
    sensitivity: pd.DataFrame | None = None


def _q(x: np.ndarray) -> dict[str, float]:
    q = np.quantile(np.asarray(x, dtype=float), [0.1, 0.5, 0.9])
    return {"p10": float(q[0]), "p50": float(q[1]), "p90": float(q[2])}


def world_inputs(spec: Mapping[str, Any], forecast: xr.Dataset, tables: Mapping[str, pd.DataFrame],
                 plans: Mapping[str, Any], territory_result: Any | None = None,
                 base_dir: str | Path | None = None, hire_pool: xr.DataArray | None = None) -> WorldInputs:
    """:class:`~spm_models.planning.world.WorldInputs` of a scenario.

    ``capacity`` → roster settings (:func:`~spm_models.planning.roster.roster_settings`; the
    solved plan is filled in by :func:`run_world`); ``territory`` + ``territory_result`` →
    potentials before/after and the elasticity learnt from ``tables``; ``response`` with
    ``reference_plan`` a path (relative to ``base_dir``) is loaded. ``hire_plan`` must name one
    of ``plans``. ``capacity.span_of_control`` + the ``reps`` table → the support roles that
    come with hires (:func:`spm_models.planning.support.support_roles`). Raises
    :class:`InputError` naming the section and key.
    """
    seed = int(spec.get("seed", 0))
    roster, _ = ros.roster_settings(spec.get("capacity"), seed=seed)
    if roster["hire_plan"] is not None and roster["hire_plan"] not in plans:
        raise InputError(f"scenario section 'capacity', key 'hire_plan': {roster['hire_plan']!r} is not one of "
                         f"the scenario's plans ({', '.join(plans)})")
    if hire_pool is not None:
        roster["hire_pool"] = hire_pool
    pots = el = None
    tsec = spec.get("territory")
    if territory_result is not None:
        _, _trans = te.split_section(tsec)  # validates the transition keys
        rep_terr = pd.Series(np.asarray(forecast["territory_id"].values).astype(str),
                             index=np.asarray(forecast[REP].values).astype(str))
        pots = te.rep_potentials(territory_result.assignment, rep_terr)
        el = te.elasticity_from_history(tables, str(forecast[PERIOD].values[0]), forecast.sizes[DRAW], seed)
    rsec = dict(spec.get("response") or {})
    if isinstance(rsec.get("reference_plan"), (str, Path)):
        from spm_models.comp import Plan

        path = Path(rsec["reference_plan"])
        path = path if path.is_absolute() or base_dir is None else Path(base_dir) / path
        if not path.exists():
            raise InputError(f"scenario section 'response', key 'reference_plan': file not found: {path}")
        rsec["reference_plan"] = Plan.from_yaml(path)
    resp.response_settings(rsec or None)  # validate early
    ti = None
    reps = tables.get("reps")
    if reps is not None and "target_incentive" in reps:
        ti = pd.Series(reps["target_incentive"].astype(float).to_numpy(), index=reps["rep_id"].astype(str))
    support = sup.support_roles((spec.get("capacity") or {}).get(sup.KEY), reps, plans,
                                str(forecast[PERIOD].values[0]), roster["hire_role"])
    return WorldInputs(forecast=forecast, quota=spec.get("quota") or {}, plans=plans, tables=tables,
                       target_incentive=ti, roster=roster, territory_potentials=pots, elasticity=el,
                       territory=tsec, response=rsec or None, support=support)


def overlay_payout(inputs: WorldInputs, world: xr.Dataset) -> xr.DataArray | None:
    """Payouts ``(rep, period, draw)`` of the overlay roles (managers, SEs: plans with no quota
    carrier in the world) credited on ``world``'s bookings and quotas by their plans' rollup
    (:func:`spm_models.comp.roles.overlay_payouts`); None without a reps table or overlay roles."""
    from spm_models.comp import roles as comp_roles

    tables = inputs.tables or {}
    if "reps" not in tables:
        return None
    reps = tables["reps"].copy()
    reps["rep_id"] = reps["rep_id"].astype(str)
    ov = comp_roles.overlay_payouts(inputs.plans, world["bookings"], world["quota"], reps,
                                    np.asarray(world["plan_role"].values).astype(str),
                                    np.asarray(world["region"].values).astype(str),
                                    history=tables.get("bookings"))
    return None if ov is None else ov["payout"]


def scenario_levers(inputs: WorldInputs) -> tuple[str, ...]:
    """The levers a scenario uses: attrition when its rate is positive, hires when it plans or
    solves any, territory with a balancing result, response when the section is on."""
    on = []
    if float(inputs.roster.get("attrition_monthly", 0) or 0) > 0:
        on.append("attrition")
    on.append("hires")
    if inputs.territory_potentials is not None:
        on.append("territory")
    if resp.response_settings(inputs.response)["enabled"]:
        on.append("response")
    return tuple(lv for lv in LEVERS if lv in on)


def run_world(spec: Mapping[str, Any], inputs: WorldInputs, *, bridge: bool = True,
              curve_slots: int = 16, sensitivity: bool = True) -> WorldResult:
    """Solve (when asked), simulate and read the decision figures of a scenario's world.

    With ``capacity.probability`` the hiring plan is solved on the world's revenue through a
    :class:`~spm_models.planning.world.HiringCurve` (doubling its slots until the answer fits),
    then the full world is simulated with it and the probability reported is re-read from that
    world; with a fixed ``hiring_plan`` the curve is still built for the what-if panel.
    ``figures``: ``revenue``, ``incentive_cost`` (quota carriers and overlay roles: managers,
    SEs), ``support_cost`` (the managers and SEs the hires need, base + on-target incentive) and
    ``cost`` (the two together, :func:`~spm_models.planning.world.world_cost`) P10/P50/P90,
    ``prob_company_target``,
    ``capacity`` (:func:`~spm_models.planning.capacity.world_capacity_summary`), ``roster``,
    ``territory_effect`` (elasticity point and 90 % interval, moved-in share). With the
    ``response`` section on and ``sensitivity``, ``WorldResult.sensitivity`` holds revenue and
    cost P50 and P(target) at both ends of each response parameter's documented range (the
    hiring plan held at the scenario's). The bridge's cost is :func:`world_cost` of each
    step's world (overlay payouts re-credited on that world's bookings, support cost of its
    AE headcount), so its last bar is the scenario's cost.
    """
    levers = scenario_levers(inputs)
    _, solve = ros.roster_settings(spec.get("capacity"), seed=int(spec.get("seed", 0)))
    target = spec.get("target")
    T = inputs.forecast.sizes[PERIOD]
    lag = int(inputs.roster.get("hiring_lag_months", 0))
    sol = None
    curve = hiring_curve(inputs, curve_slots, levers) if T - lag > 0 else None
    if solve:
        tgt = solve.get("target") if solve.get("target") is not None else target
        if tgt is None:
            raise InputError("scenario key 'target': needed to solve the hiring plan (capacity.probability)")
        while True:
            window = T - lag
            max_h = curve.slots_per_month * (window if solve["schedule"] == "constant" else 1)
            sol = solve_hiring_on_world(lambda plan, c=curve: c.evaluate(plan)[0], float(tgt), float(solve["probability"]),
                                        months=T, hiring_lag_months=lag, schedule=solve["schedule"],
                                        max_hires=min(max_h, int(solve["max_hires"])))
            if sol.feasible or max_h >= int(solve["max_hires"]):
                break
            curve = hiring_curve(inputs, 2 * curve.slots_per_month, levers)
        inputs = WorldInputs(**{**inputs.__dict__, "roster": {**inputs.roster, "hiring_plan": [int(x) for x in sol.hiring_plan]}})
    world = simulate_world(inputs, levers)
    overlay = overlay_payout(inputs, world)
    rev = revenue(world).values
    incentive = incentive_cost(world).values + (0.0 if overlay is None else overlay.sum([REP, PERIOD]).values)
    cost = world_cost(world, overlay).values
    if sol is not None:  # the reported probability is the full world's
        sol.probability = float((rev >= float(tgt)).mean())
    figures: dict[str, Any] = {
        "revenue": _q(rev), "incentive_cost": _q(incentive), "support_cost": _q(support_cost(world).values),
        "cost": _q(cost),
        "prob_company_target": float((rev >= float(target)).mean()) if target is not None else None,
        "capacity": world_capacity_summary(sol, rev, ros.headcount(world), float(target) if target is not None else None),
        "roster": dict(ros.roster_summary(world)), "levers": list(levers),
    }
    if curve is not None:
        figures["capacity"]["curve_exact"] = bool(curve.exact)
    if inputs.elasticity is not None:
        e = inputs.elasticity.values
        figures["territory_effect"] = {
            "elasticity": float(inputs.elasticity.attrs.get("point", np.median(e))),
            "elasticity_p05": float(np.quantile(e, 0.05)), "elasticity_p95": float(np.quantile(e, 0.95)),
            "moved_in_share_mean": float(inputs.territory_potentials["moved_in_share"].mean()),
            **te.transition_settings({k: v for k, v in dict(inputs.territory or {}).items() if k in te.TRANSITION_KEYS}),
        }
    steps = None
    if bridge:
        def evaluate(on: frozenset[str]) -> tuple[np.ndarray, np.ndarray]:
            if set(on) == set(levers):
                return rev, cost
            w = simulate_world(inputs, on)
            return revenue(w).values, world_cost(w, overlay_payout(inputs, w)).values
        steps = bridge_steps(evaluate, active=levers)
    table = None
    if sensitivity and "response" in levers:
        def figs(settings: dict[str, Any]) -> dict[str, float]:
            w = simulate_world(WorldInputs(**{**inputs.__dict__, "response": settings}), levers)
            r, c = revenue(w).values, incentive_cost(w).values
            out = {"revenue_p50": float(np.median(r)), "cost_p50": float(np.median(c))}
            if target is not None:
                out["prob_company_target"] = float((r >= float(target)).mean())
            return out
        table = resp.response_sensitivity(figs, resp.response_settings(inputs.response))
    return WorldResult(world, inputs, levers, sol, curve, steps, figures, table)
