"""The what-if panel's hires control reads the scenario world's hiring curve (issue 11).

A synthetic forecast cube (no model fit) wired through ``scenario_world``: the what-if
figures with no change equal the world's, and changing the hires gives the same revenue and
incentive-cost P50 as a full world simulated with that hiring plan (within 1 %).
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from world_helpers import ROOT, forecast_cube, history_tables, plans

SPEC = {"seed": 3, "target": 42_000_000, "quota": {"method": "growth", "growth": 0.1},
        "capacity": {"hiring_plan": {"2027-01": 2, "2027-02": 2}, "attrition_monthly": 0.02,
                     "hiring_lag_months": 2, "hire_plan": "AE_new_hire"}}


@pytest.fixture(scope="module")
def whatif_result(tmp_path_factory):
    from spm_models.planning.scenario_world import run_world, world_inputs
    from spm_models.scenario import load_scenario
    from spm_models.workflow import ScenarioResult, world_step
    from spm_models.workflow.run import assemble_tree

    tmp = tmp_path_factory.mktemp("whatif-world")
    sc_path = tmp / "s.yaml"
    sc_path.write_text(yaml.safe_dump({
        "name": "s", "data": str(tmp / "x.duckdb"), **SPEC,
        "plans": {"AE": str(ROOT / "scenarios/plans/ae_standard.yaml"),
                  "AE_new_hire": str(ROOT / "scenarios/plans/ae_new_hire_draw.yaml")}}))
    sc = load_scenario(sc_path)
    fc = forecast_cube(n_reps=30, n_draws=200)
    tables = history_tables(fc)
    res = run_world(SPEC, world_inputs(SPEC, fc, tables, plans()), bridge=False)
    w = res.world
    fgroup = world_step.forecast_group(w, fc)
    wc = world_step.comp_frame(w)
    import pandas as pd

    rinfo = pd.DataFrame({"region": w["region"].values.astype(str),
                          "territory_id": w["territory_id"].values.astype(str)},
                         index=w["rep"].values.astype(str))
    tree = assemble_tree(fgroup, wc["quota"], wc[["payout", "plan"]], rinfo,
                         w["role"].values.astype(str), wc["target_incentive"], tables)
    return ScenarioResult(sc, tree, {}, tables, world=res), res


def test_unchanged_whatif_equals_the_world(whatif_result):
    from spm_models.planning.world import incentive_cost, revenue
    from spm_models.widgets import WhatIf

    result, res = whatif_result
    wi = WhatIf(result)
    assert wi.hires == 4 and wi.curve is not None
    base = wi.compute()
    assert base.revenue["p50"] == pytest.approx(float(np.median(revenue(res.world))), rel=1e-9, abs=0.01)
    assert base.incentive_cost["p50"] == pytest.approx(float(np.median(incentive_cost(res.world))), rel=1e-9, abs=0.01)
    assert wi.compute(hires=4).figures == base.figures


@pytest.mark.parametrize("hires", [0, 2, 10, 20])
def test_whatif_hires_agree_with_a_full_world(whatif_result, hires):
    from spm_models.planning.world import WorldInputs, incentive_cost, revenue, simulate_world
    from spm_models.widgets import WhatIf

    result, res = whatif_result
    wi = WhatIf(result)
    got = wi.compute(hires=hires)
    plan = wi.hiring_plan_for(hires)
    assert int(plan.sum()) == hires
    full = simulate_world(WorldInputs(**{**res.inputs.__dict__,
                                         "roster": {**res.inputs.roster, "hiring_plan": list(plan)}}), res.levers)
    assert got.revenue["p50"] == pytest.approx(float(np.median(revenue(full))), rel=0.01)
    assert got.incentive_cost["p50"] == pytest.approx(float(np.median(incentive_cost(full))), rel=0.01)
    base = wi.compute()
    if hires > 4:
        assert got.revenue["p50"] > base.revenue["p50"] and got.incentive_cost["p50"] > base.incentive_cost["p50"]
    elif hires < 4:
        assert got.revenue["p50"] < base.revenue["p50"]
