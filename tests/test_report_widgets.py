"""What-if computation and overlay comp on a synthetic cube (known answers, no forecast fit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from spm_models.cube import month_range


def _plan(rate_hi: float = 0.15, cap: float | None = None, single: bool = False) -> dict:
    tiers = [{"rate": 0.10}] if single else [{"to": 1.0, "rate": 0.10}, {"rate": rate_hi}]
    m = {"name": "bookings", "quota_period": "year", "basis": "revenue", "tiers": tiers}
    if cap:
        m["cap"] = {"attainment": cap}
    return {"name": "t", "plan_year_start": "2027-01", "payout_frequency": "quarter",
            "target_incentive": 50000, "measures": [m]}


@pytest.fixture
def result(tmp_path):
    from spm_models.comp.roles import simulate_roles
    from spm_models.workflow import ScenarioResult, load_plans
    from spm_models.workflow.run import assemble_cube
    from spm_models.scenario import load_scenario

    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ae.yaml").write_text(yaml.safe_dump(_plan(single=True)))
    (plans / "ae_accel.yaml").write_text(yaml.safe_dump(_plan(rate_hi=0.3, cap=2.0)))
    (plans / "se.yaml").write_text(yaml.safe_dump(_plan(single=True)))
    sc_path = tmp_path / "s.yaml"
    sc_path.write_text(yaml.safe_dump({"name": "s", "data": str(tmp_path / "x.duckdb"),
                                       "target": 5e6, "plans": {"AE": "plans/ae.yaml",
                                                                "SE": "plans/se.yaml"}}))
    sc = load_scenario(sc_path)
    rng = np.random.default_rng(0)
    reps = [f"R{i}" for i in range(20)]
    periods = month_range("2027-01", 12)
    bookings = xr.DataArray(rng.gamma(2.0, 10_000.0, (20, 12, 400)), dims=["rep", "period", "draw"],
                            coords={"rep": reps, "period": periods, "draw": np.arange(400)})
    region = np.array(["W"] * 10 + ["E"] * 10)
    bookings = bookings.assign_coords(region=("rep", region))
    quota = xr.DataArray(np.full((20, 12), 20_000.0), dims=["rep", "period"],
                         coords={"rep": reps, "period": periods})
    table = pd.DataFrame({"rep_id": reps + ["S1", "S2", "S3"], "role": ["AE"] * 20 + ["SE"] * 3,
                          "region": list(region) + ["W", "W", "E"],
                          "territory_id": [f"T{i}" for i in range(23)],
                          "hire_date": pd.Timestamp("2020-01-01"), "target_incentive": 50000.0})
    roles = np.array(["AE"] * 20)
    ti = xr.DataArray(np.full(20, 50000.0), dims=["rep"], coords={"rep": reps})
    p = load_plans(sc)
    comp = simulate_roles(p, bookings, quota, ti, roles)
    rinfo = table.set_index("rep_id").reindex(reps)
    tables = {"reps": table, "bookings": pd.DataFrame({"rep_id": reps, "date": "2026-01-05",
                                                       "amount": 1.0})}
    cube = assemble_cube(bookings, quota, comp, rinfo, roles, ti, tables)
    return ScenarioResult(sc, cube, {}, tables)


def test_single_tier_cost_is_rate_times_revenue(result):
    from spm_models.comp.roles import overlay_payouts
    from spm_models.workflow import load_plans

    cube = result.cube
    revenue = cube["bookings"].sum(["rep", "period"]).values
    np.testing.assert_allclose(cube["payout"].sum(["rep", "period"]).values, 0.10 * revenue,
                               rtol=1e-9)
    # overlay: the three SEs share their region's bookings (W: two halves, E: all) at 10 %
    ov = overlay_payouts(load_plans(result.scenario), cube["bookings"], cube["quota"],
                         result.tables["reps"], np.array(["AE"] * 20),
                         np.asarray(cube["region"].values))
    assert list(ov["rep"].values) == ["S1", "S2", "S3"]
    assert list(ov["role"].values) == ["SE"] * 3
    per_se = ov["payout"].sum("period").rename(rep="overlay_rep")
    w = cube["bookings"].where(cube["region"] == "W").sum(["rep", "period"])
    e = cube["bookings"].where(cube["region"] == "E").sum(["rep", "period"])
    np.testing.assert_allclose(per_se.sel(overlay_rep="S1"), 0.05 * w, rtol=1e-9)
    np.testing.assert_allclose(per_se.sel(overlay_rep="S2"), 0.05 * w, rtol=1e-9)
    np.testing.assert_allclose(per_se.sel(overlay_rep="S3"), 0.10 * e, rtol=1e-9)


def test_whatif_known_answers_and_directions(result):
    from spm_models.widgets import WhatIf

    wi = WhatIf(result)
    base = wi.compute()
    revenue = result.cube["bookings"].sum(["rep", "period"]).values
    # AE 10 % of revenue + SE overlay 10 % of revenue (every region's bookings are credited once)
    np.testing.assert_allclose(np.sort(base.cost_draws), np.sort(0.20 * revenue), rtol=1e-9)
    assert base.n_reps == 20
    # switching to the accelerated plan raises cost; lowering its cap lowers it again
    accel = wi.compute(plan="ae_accel.yaml")
    assert accel.incentive_cost["p50"] > base.incentive_cost["p50"]
    more = wi.compute(plan="ae_accel.yaml", accelerator=0.5)
    assert more.incentive_cost["p50"] > accel.incentive_cost["p50"]
    capped = wi.compute(plan="ae_accel.yaml", accelerator=0.5, cap=1.0)
    assert capped.incentive_cost["p50"] < more.incentive_cost["p50"]
    # a higher quota: fewer reps at quota; same revenue
    up = wi.compute(quota_uplift=0.5)
    assert up.share_reps_at_quota < base.share_reps_at_quota
    assert up.revenue == base.revenue
    # a threshold above everyone's attainment: AE pays nothing, the SE overlay still pays
    thr = wi.compute(plan="ae_accel.yaml", threshold=10.0)
    np.testing.assert_allclose(np.sort(thr.cost_draws), np.sort(0.10 * revenue), rtol=1e-9)
    # headcount: fewer and more reps; new hires ramp, so +5 reps add less than 5 full reps
    assert wi.compute(headcount=10).n_reps == 10
    plus = wi.compute(headcount=25)
    assert plus.n_reps == 25
    gain = plus.revenue["p50"] / base.revenue["p50"] - 1
    assert 0 < gain < 5 / 20
