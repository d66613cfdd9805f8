"""A scenario's world from its sections: solved hires, one revenue figure, bridge."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from world_helpers import ROOT, forecast_cube, history_tables, plans

from spm_models.errors import InputError
from spm_models.planning.scenario_world import run_world, world_inputs
from spm_models.planning.world import revenue


@pytest.fixture(scope="module")
def setup():
    fc = forecast_cube(n_reps=30, n_draws=300)
    tables = history_tables(fc)
    rep_ids = fc["rep"].values.astype(str)
    tables["reps"] = pd.DataFrame({"rep_id": rep_ids, "territory_id": fc["territory_id"].values.astype(str),
                                   "region": fc["region"].values.astype(str), "role": "AE",
                                   "hire_date": pd.to_datetime([f"{h}-01" for h in fc["hire_month"].values.astype(str)]),
                                   "target_incentive": 100_000.0})
    # potential proportional to each rep's median bookings (elasticity about 1 in the history)
    med = fc["bookings"].sum("period").median("draw").values
    tables["accounts"] = pd.DataFrame({"territory_id": fc["territory_id"].values.astype(str), "potential": 3 * med})
    terr = fc["territory_id"].values.astype(str)
    assignment = pd.DataFrame({"potential": 3 * med, "territory_id": np.roll(terr, 1), "territory_id_before": terr})
    return fc, tables, SimpleNamespace(assignment=assignment)


def spec(**capacity):
    return {"seed": 5, "target": None, "quota": {"method": "equal_probability", "probability": 0.6},
            "capacity": {"attrition_monthly": 0.015, "hiring_lag_months": 2, "ramp_tau": 3,
                         "hire_plan": "AE_new_hire", **capacity},
            "territory": {"transition_loss": 0.1, "transition_months": 6}}


def test_solved_world_reaches_the_target_on_its_own_revenue(setup):
    fc, tables, terr = setup
    s = spec(probability=0.8)
    base = run_world({**spec(hiring_plan={"2027-01": 0})}, world_inputs(spec(hiring_plan={"2027-01": 0}), fc, tables,
                                                                          plans(), terr), bridge=False)
    s["target"] = base.figures["revenue"]["p90"] * 1.05
    res = run_world(s, world_inputs(s, fc, tables, plans(), terr, base_dir=ROOT / "scenarios"), curve_slots=4)
    cap = res.figures["capacity"]
    assert res.levers == ("attrition", "hires", "territory")
    assert cap["total_hires"] > 0 and cap["probability_reached"] >= 0.8 > cap["probability_one_fewer"]
    rev = revenue(res.world).values
    assert res.figures["revenue"]["p50"] == pytest.approx(np.median(rev))
    assert res.figures["prob_company_target"] == pytest.approx(cap["probability_reached"])
    assert cap["revenue"]["p50"] == res.figures["revenue"]["p50"]  # one revenue figure
    assert int(res.world["is_hire"].sum()) == cap["total_hires"]
    assert 0.3 < res.figures["territory_effect"]["elasticity"] < 1.5
    steps = res.bridge.set_index("step")
    assert steps.loc["total", "revenue"] == pytest.approx(res.figures["revenue"]["p50"])
    assert steps.loc["hires", "revenue"] > 0 > steps.loc["attrition", "revenue"]
    assert steps.loc["territory", "revenue"] < 0  # every account changes hands: the transition loss


def test_fixed_plan_and_bad_sections(setup):
    fc, tables, _ = setup
    s = spec(hiring_plan={"2027-01": 3})
    res = run_world(s, world_inputs(s, fc, tables, plans(), None), bridge=False, curve_slots=4)
    assert res.solution is None and res.figures["capacity"]["headcount_end_p50"] > 0
    assert int(res.world["is_hire"].sum()) == 3 and "territory" not in res.levers
    with pytest.raises(InputError, match="hire_plan"):
        world_inputs(spec(hire_plan="nope"), fc, tables, plans())
    with pytest.raises(InputError, match="reference_plan"):
        world_inputs({**s, "response": {"reference_plan": "plans/missing.yaml"}}, fc, tables, plans(),
                     base_dir=ROOT / "scenarios")
    with pytest.raises(InputError, match="hiring_plan"):
        world_inputs(spec(hiring_plan=3, probability=0.8), fc, tables, plans())


def test_response_sensitivity_is_reported_when_the_response_is_on(setup):
    fc, tables, _ = setup
    s = {**spec(hiring_plan={"2027-01": 2}), "target": 1.0e8,
         "response": {"effort_elasticity": 0.1, "reference_plan": "plans/ae_new_hire_draw.yaml", "pull_in_share": 0.1}}
    res = run_world(s, world_inputs(s, fc, tables, plans(), None, base_dir=ROOT / "scenarios"), bridge=True, curve_slots=2)
    assert "response" in res.levers and res.sensitivity is not None
    eff = res.sensitivity[res.sensitivity.parameter == "effort_elasticity"].set_index("end")
    assert eff.loc["high", "revenue_p50"] != eff.loc["low", "revenue_p50"]
    assert {"prob_company_target", "cost_p50_change"} <= set(res.sensitivity.columns)
    assert res.bridge.set_index("step").loc["response", "revenue"] != 0
