"""Hires bring managers and SEs (span of control): their cost is in the world's cost figures,
and the bridge, the hiring curve (capacity solve, what-if panel) and the summary read it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from world_helpers import forecast_cube, history_tables, plans

from spm_models import figures
from spm_models.errors import InputError
from spm_models.planning import support as sup
from spm_models.planning.world import (
    WorldInputs,
    hiring_curve,
    incentive_cost,
    revenue,
    simulate_world,
    support_cost,
    world_cost,
)

N_AE = 30


def reps_table() -> pd.DataFrame:
    """30 AEs (the cube's reps), 2 managers and 4 SEs employed on 2027-01-01, a manager who left
    in 2026 and an SE who joins in May 2027 (neither counts for the span)."""
    rows = [(f"R{i:03d}", "AE", "2020-01-01", None, 110_000, 70_000) for i in range(N_AE)]
    rows += [("M1", "Manager", "2019-01-01", None, 160_000, 50_000),
             ("M2", "Manager", "2019-01-01", None, 170_000, 60_000),
             ("M0", "Manager", "2018-01-01", "2026-06-30", 900_000, 900_000),
             ("S1", "SE", "2019-01-01", None, 130_000, 30_000), ("S2", "SE", "2019-01-01", None, 140_000, None),
             ("S3", "SE", "2019-01-01", None, 150_000, 40_000), ("S4", "SE", "2019-01-01", None, 120_000, 35_000),
             ("S5", "SE", "2027-05-01", None, 500_000, 500_000)]
    return pd.DataFrame(rows, columns=["rep_id", "role", "hire_date", "term_date", "base_salary", "target_incentive"])


@pytest.fixture(scope="module")
def fc():
    return forecast_cube(n_reps=N_AE, n_draws=200, n_recent=0)


def inputs(fc, roster, support=None) -> WorldInputs:
    roles = sup.support_roles(None, reps_table(), plans(), "2027-01") if support is None else support
    return WorldInputs(forecast=fc, quota={"method": "growth", "growth": 0.1}, plans=plans(),
                       tables=history_tables(fc), roster={"hire_plan": "AE_new_hire", "seed": 4, **roster},
                       support=roles)


def test_span_defaults_and_costs_come_from_the_reps_table():
    reps = reps_table()
    assert sup.span_defaults(reps, "2027-01") == {"Manager": 15.0, "SE": 7.5}
    roles = {r.role: r for r in sup.support_roles(None, reps, plans(), "2027-01")}
    assert roles["Manager"].span == 15.0 and roles["Manager"].source == "reps table"
    assert roles["Manager"].annual_cost == 165_000 + 55_000  # medians of the employed managers
    assert roles["SE"].annual_cost == 135_000 + 35_000  # S2's missing TI is left out of the median
    given = {r.role: r for r in sup.support_roles({"SE": 5}, reps, plans(), "2027-01")}
    assert given["SE"].span == 5.0 and given["SE"].source == "scenario" and given["Manager"].span == 15.0
    assert sup.support_roles(False, reps, plans(), "2027-01") == []


@pytest.mark.parametrize(("setting", "match"), [
    ({"Manager": 0}, "span_of_control.Manager'.*positive"),
    ({"SE": "three"}, "span_of_control.SE'.*positive"),
    ({"Director": 4}, "span_of_control.Director'.*no one with role"),
    ({"AE": 4}, "span_of_control.AE'.*own role"),
    (7, "span_of_control'.*mapping"),
])
def test_bad_span_settings_name_the_key(setting, match):
    with pytest.raises(InputError, match=match):
        sup.support_roles(setting, reps_table(), plans(), "2027-01")


def test_world_support_cost_follows_the_span_and_backfills_need_none(fc):
    roles = sup.support_roles(None, reps_table(), plans(), "2027-01")
    per_ae_month = sum(r.annual_cost / r.span for r in roles) / 12
    # hires, nobody leaves: every hire-month needs 1/15 manager and 1/7.5 SE
    w = simulate_world(inputs(fc, {"hiring_plan": {"2027-01": 3, "2027-03": 2}, "hiring_lag_months": 1}))
    hire_months = w["active"].isel(rep=w["is_hire"].values).sum(["rep", "period"]).values
    np.testing.assert_allclose(support_cost(w).values, hire_months * per_ae_month, rtol=1e-12)
    assert float(w["support_headcount"].sel(support_role="Manager").isel(period=-1).max()) == pytest.approx(5 / 15)
    # attrition without hires: fewer AEs than today, no extra support
    w = simulate_world(inputs(fc, {"attrition_monthly": 0.03}))
    assert float(support_cost(w).max()) == 0.0
    # both: only the AEs above today's headcount need support (a backfill needs none)
    w = simulate_world(inputs(fc, {"attrition_monthly": 0.03, "hiring_plan": {"2027-01": 4}}))
    ae = w["active"].sum("rep").transpose("period", "draw").values
    expect = np.maximum(ae - N_AE, 0).sum(0) * per_ae_month
    np.testing.assert_allclose(support_cost(w).values, expect, rtol=1e-12)
    assert 0 < float(np.median(support_cost(w))) < float(np.median(4 * 12 * per_ae_month))
    np.testing.assert_allclose(world_cost(w).values, incentive_cost(w).values + support_cost(w).values)


def test_hiring_curve_cost_includes_support_exactly(fc):
    inp = inputs(fc, {"attrition_monthly": 0.02, "hiring_lag_months": 2})
    curve = hiring_curve(inp, slots_per_month=3)
    plan = {"2027-01": 3, "2027-02": 1, "2027-05": 2}
    rev, cost = curve.evaluate(plan)
    _, inc, supp = curve.evaluate_parts(plan)
    w = simulate_world(WorldInputs(**{**inp.__dict__, "roster": {**inp.roster, "hiring_plan": plan}}))
    np.testing.assert_allclose(rev, revenue(w).values, rtol=1e-10)
    np.testing.assert_allclose(supp, support_cost(w).values, rtol=1e-10, atol=1e-6)
    np.testing.assert_allclose(cost, world_cost(w).values, rtol=1e-10)
    assert float(np.median(supp)) > 0 and np.allclose(inc + supp, cost)
    # without support roles the curve's cost is the incentive cost alone
    bare = hiring_curve(inputs(fc, {"attrition_monthly": 0.02, "hiring_lag_months": 2}, support=[]), 3)
    np.testing.assert_allclose(bare.evaluate(plan)[1], incentive_cost(w).values, rtol=1e-10)


def test_bridge_and_capacity_figures_read_the_support_cost(fc):
    from spm_models.planning.scenario_world import run_world, world_inputs
    from spm_models.workflow.world_step import hires_economics

    spec = {"seed": 2, "target": 1.0, "quota": {"method": "growth", "growth": 0.1},
            "capacity": {"hiring_plan": {"2027-01": 4, "2027-02": 4}, "attrition_monthly": 0.01,
                         "hiring_lag_months": 1, "hire_plan": "AE_new_hire"}}
    tables = {**history_tables(fc), "reps": reps_table()}
    res = run_world(spec, world_inputs(spec, fc, tables, plans()), curve_slots=4, sensitivity=False)
    w = res.world
    cost = world_cost(w).values
    assert res.figures["cost"]["p50"] == pytest.approx(float(np.median(cost)))
    assert res.figures["support_cost"]["p50"] > 0
    total = res.bridge.set_index("step").loc["total"]
    assert total["cost_p50"] == pytest.approx(float(np.median(cost)))
    econ = hires_economics(res)
    off = {**spec, "capacity": {**spec["capacity"], "span_of_control": False}}
    res0 = run_world(off, world_inputs(off, fc, tables, plans()), curve_slots=4, sensitivity=False)
    assert float(support_cost(res0.world).max()) == 0.0
    econ0 = hires_economics(res0)
    # same revenue, the hires' cost is higher by their managers' and SEs' cost
    assert econ["revenue_p50"] == pytest.approx(econ0["revenue_p50"])
    assert econ["cost_p50"] - econ0["cost_p50"] == pytest.approx(res.figures["support_cost"]["p50"], rel=0.05)


def test_cost_of_sales_counts_support_but_the_budget_does_not():
    rev = xr.DataArray([100.0, 200.0, 300.0], dims=["draw"])
    cost = xr.DataArray([10.0, 10.0, 10.0], dims=["draw"])
    support = xr.DataArray([5.0, 10.0, 15.0], dims=["draw"])
    att = xr.DataArray(np.ones((2, 3)), dims=["rep", "draw"])
    f = figures.decision_figures(rev, cost, att, budget=12.0, support=support)
    assert f["cost_of_sales"]["p50"] == pytest.approx(0.1)  # (10 + 10) / 200
    assert f["support_cost"]["p50"] == 10.0 and f["total_cost"]["p50"] == 20.0
    assert f["prob_cost_over_budget"] == 0.0  # the budget is an incentive budget
    assert figures.decision_figures(rev, cost, att)["cost_of_sales"]["p50"] == pytest.approx(0.05)


# --------------------------------------------------------------------------- TI proration
TI_PLAN = {"name": "TI annual", "plan_year_start": "2027-01", "payout_frequency": "year",
           "target_incentive": 60_000,
           "measures": [{"name": "bookings", "quota_period": "year", "basis": "target_incentive",
                         "tiers": [{"rate": 1.0}]}]}


def test_hires_on_an_annual_ti_plan_earn_a_prorated_target(fc):
    from spm_models.comp import Plan

    ti_plan = Plan.from_dict(TI_PLAN)
    inp = WorldInputs(forecast=fc, quota={"method": "growth", "growth": 0.1},
                      plans={**plans(), "AE_new_hire": ti_plan}, tables=history_tables(fc),
                      roster={"hiring_plan": {"2027-01": 1, "2027-04": 1, "2027-07": 2}, "hire_plan": "AE_new_hire",
                              "seed": 4})
    w = simulate_world(inp)
    hires = w.isel(rep=w["is_hire"].values)
    start = np.array([int(m[5:7]) for m in hires["hire_month"].values.astype(str)])
    months = 13 - start  # months employed in the plan year
    # NaN = the plan's own (a January hire works the whole year)
    np.testing.assert_allclose(hires["target_incentive"].fillna(60_000).values, 60_000 * months / 12)
    # no quota before the start month: the quota is prorated by the monthly quotas themselves
    for i, s in enumerate(start):
        assert float(hires["quota"].isel(rep=i, period=slice(0, s - 1)).sum()) == 0.0
    # one tier at rate 1.0: earnings = TI × months / 12 × attainment (the July hire earns its
    # half-year target at 100 %, not the full year's)
    att = hires["bookings"].sum("period") / hires["quota"].sum("period")
    paid = hires["payout"].sum("period")
    expect = att * xr.DataArray(60_000 * months / 12, dims=["rep"], coords={"rep": hires["rep"].values})
    np.testing.assert_allclose(paid.transpose("rep", "draw").values, expect.transpose("rep", "draw").values,
                               rtol=1e-9)
    # today's reps (revenue-basis plan, hired before the plan year) keep their target incentive
    assert np.isnan(w["target_incentive"].isel(rep=~w["is_hire"].values).values).all()


def test_proration_applies_to_annual_ti_quota_periods_only():
    from spm_models.comp import Plan
    from spm_models.planning.world import prorate_share

    annual = Plan.from_dict(TI_PLAN)
    quarterly = Plan.from_dict({**TI_PLAN, "measures": [{**TI_PLAN["measures"][0], "quota_period": "quarter"}]})
    revenue_plan = plans()["AE_new_hire"]
    assert prorate_share(annual, "2027-07") == 0.5 and prorate_share(annual, "2027-12") == pytest.approx(1 / 12)
    assert prorate_share(annual, "2026-03") == 1.0 and prorate_share(annual, "2028-01") == 0.0
    # quarterly quota periods: the quarters before the start have no quota and earn nothing already
    assert prorate_share(quarterly, "2027-07") == 1.0
    assert prorate_share(revenue_plan, "2027-07") == 1.0


@pytest.mark.parametrize(("value", "match"), [
    ("{Manager: 0}", "capacity.span_of_control': role 'Manager': must be a positive number"),
    ("{SE: x}", "capacity.span_of_control': role 'SE': must be a positive number"),
    ("true", "capacity.span_of_control': must be a mapping"),
])
def test_scenario_file_checks_span_of_control(tmp_path, value, match):
    from world_helpers import ROOT

    from spm_models.scenario import load_scenario

    text = (ROOT / "scenarios" / "base.yaml").read_text()
    text = text.replace("  schedule: constant", f"  span_of_control: {value}\n  schedule: constant")
    path = tmp_path / "s.yaml"
    path.write_text(text.replace("plans/", str(ROOT / "scenarios" / "plans") + "/"))
    with pytest.raises(InputError, match=match):
        load_scenario(path)
    path.write_text(text.replace(f"span_of_control: {value}", "span_of_control: {Manager: 8}")
                    .replace("plans/", str(ROOT / "scenarios" / "plans") + "/"))
    assert load_scenario(path).spec["capacity"]["span_of_control"] == {"Manager": 8}


def test_whatif_hires_carry_the_support_cost(tmp_path, fc):
    import yaml
    from world_helpers import ROOT

    from spm_models.planning.scenario_world import run_world, world_inputs
    from spm_models.scenario import load_scenario
    from spm_models.widgets import WhatIf
    from spm_models.workflow import ScenarioResult, world_step
    from spm_models.workflow.run import assemble_tree

    spec = {"seed": 3, "target": 42_000_000, "quota": {"method": "growth", "growth": 0.1},
            "capacity": {"hiring_plan": {"2027-01": 2, "2027-02": 2}, "attrition_monthly": 0.02,
                         "hiring_lag_months": 2, "hire_plan": "AE_new_hire"}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "data": str(tmp_path / "x.duckdb"), **spec,
                                    "plans": {"AE": str(ROOT / "scenarios/plans/ae_standard.yaml"),
                                              "AE_new_hire": str(ROOT / "scenarios/plans/ae_new_hire_draw.yaml")}}))
    tables = {**history_tables(fc), "reps": reps_table()}
    res = run_world(spec, world_inputs(spec, fc, tables, plans()), bridge=False)
    w = res.world
    wc = world_step.comp_frame(w)
    rinfo = pd.DataFrame({"region": w["region"].values.astype(str)}, index=w["rep"].values.astype(str))
    tree = assemble_tree(world_step.forecast_group(w, fc), wc["quota"], wc[["payout", "plan"]], rinfo,
                         w["role"].values.astype(str), wc["target_incentive"], tables)
    wi = WhatIf(ScenarioResult(load_scenario(path), tree, {}, tables, world=res))
    base = wi.compute()
    assert base.figures["support_cost"]["p50"] == pytest.approx(float(np.median(support_cost(w))), abs=0.01)
    got = wi.compute(hires=20)
    full = simulate_world(WorldInputs(**{**res.inputs.__dict__, "roster": {
        **res.inputs.roster, "hiring_plan": list(wi.hiring_plan_for(20))}}), res.levers)
    # the support part of the cost is exact (headcount does not depend on quotas or plans)
    assert got.figures["support_cost"]["p50"] == pytest.approx(float(np.median(support_cost(full))), abs=0.01)
    assert got.figures["support_cost"]["p50"] > 3 * base.figures["support_cost"]["p50"] > 0
    rev = xr.DataArray(np.asarray(revenue(full).values), dims=["draw"])
    cos = (xr.DataArray(got.cost_draws, dims=["draw"]) + support_cost(full).values) / rev
    assert got.cost_of_sales == pytest.approx(float(cos.median()), rel=0.02)


def test_capacity_sentence_says_what_the_hires_and_their_support_cost():
    from spm_models.reporting.capacity_section import capacity_sentence

    c = {"total_hires": 10, "hiring_plan": {"2027-01": 10}, "hiring_lag_months": 2, "mode": "simulate",
         "capacity": {"p10": 1e8, "p50": 1.1e8, "p90": 1.2e8}, "headcount_end": {"p50": 60}, "headcount_now": 50,
         "hires_economics": {"revenue_p50": 8e6, "cost_p50": 1.2e6, "cost_per_revenue": 0.15},
         "support": {"roles": {"Manager": {"span": 10.0, "annual_cost": 220_000, "headcount_end_p50": 1.0,
                                           "cost": {"p50": 1.8e5}}},
                     "total": {"p10": 1.5e5, "p50": 1.8e5, "p90": 2e5}}}
    text = capacity_sentence(c)
    assert "add 8.0M of bookings for 1.2M of cost" in text and "15.0% of what they add" in text
    assert "180.0k for the managers and SEs" in text and "1.0 Manager (1 per 10.0 AEs, 220.0k a year each)" in text
    bare = capacity_sentence({k: v for k, v in c.items() if k not in ("hires_economics", "support")})
    assert "managers" not in bare and bare.endswith("today).")


def test_executive_summary_renders_with_and_without_support_cost():
    from spm_models.reporting.sections import executive_summary

    s = {"revenue": {"p10": 1e8, "p50": 1.1e8, "p90": 1.2e8}, "incentive_cost": {"p10": 8e6, "p50": 9e6, "p90": 1e7},
         "cost_of_sales": {"p50": 0.09}, "share_reps_at_quota": {"p50": 0.5}, "n_reps": 10,
         "prob_company_target": None, "company_target": None, "prob_cost_over_budget": None,
         "incentive_cost_by_plan": {}}
    assert "incentive ÷ revenue" in executive_summary(s).data  # a summary without hires' support
    html = executive_summary({**s, "support_cost": {"p10": 1e6, "p50": 1.4e6, "p90": 2e6}}).data
    assert "(incentive + 1.4M managers/SEs for hires) ÷ revenue" in html
    assert "the managers and SEs the hires need 1.4M" in html
