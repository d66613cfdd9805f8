"""Plan response (opt-in): effort elasticity, pull-in, sensitivity; and the bridge."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import numpy as np
import pytest
import xarray as xr
from world_helpers import forecast_cube, plans

from spm_models.errors import InputError
from spm_models.planning import response as resp
from spm_models.planning.bridge import bridge_steps
from spm_models.planning.world import WorldInputs, incentive_cost, revenue, simulate_world
from spm_models.plots.bridge import plot_bridge, plot_response_sensitivity


@pytest.fixture(scope="module")
def fc():
    return forecast_cube(n_reps=30, n_draws=200)


def inputs(fc, response=None):
    return WorldInputs(forecast=fc, quota={"method": "equal_probability", "probability": 0.6}, plans=plans(),
                       roster={"hiring_plan": {"2027-01": 3}, "attrition_monthly": 0.02, "hiring_lag_months": 1,
                               "seed": 3}, response=response)


def test_response_is_off_by_default(fc):
    assert resp.response_settings(None)["enabled"] is False
    w0 = simulate_world(inputs(fc, None))
    w1 = simulate_world(inputs(fc, {"enabled": False, "effort_elasticity": 0.3}))
    np.testing.assert_array_equal(revenue(w0).values, revenue(w1).values)


def test_marginal_rate_follows_the_tiers():
    plan = plans()["AE"]  # 0.04 <50 %, 0.10 <100 %, 0.15 <150 %, 0.18 above, cap 250 %
    np.testing.assert_allclose(resp.marginal_rate(plan, np.array([0.3, 0.9, 1.2, 2.0, 3.0])),
                               [0.04, 0.10, 0.15, 0.18, 0.0])


def test_effort_elasticity_moves_bookings_by_the_marginal_rate(fc):
    # a richer reference rate than the plan pays -> less effort; a poorer one -> more
    w0 = simulate_world(inputs(fc, None))
    up = simulate_world(inputs(fc, {"effort_elasticity": 0.3, "reference_rate": 0.05}))
    down = simulate_world(inputs(fc, {"effort_elasticity": 0.3, "reference_rate": 0.20}))
    r0 = np.median(revenue(w0).values)
    assert np.median(revenue(up).values) > r0 * 1.1
    assert np.median(revenue(down).values) < r0 * 0.95
    assert np.median(incentive_cost(up).values) > np.median(incentive_cost(w0).values)


def test_pull_in_moves_bookings_to_the_period_end():
    b = xr.DataArray(np.array([[[90.0], [50.0], [50.0]]]), dims=("rep", "period", "draw"),
                     coords={"rep": ["a"], "period": ["2027-01", "2027-02", "2027-03"], "draw": [0]})
    q = xr.DataArray(np.array([[100.0, 100.0, 100.0]]), dims=("rep", "period"),
                     coords={"rep": ["a"], "period": ["2027-01", "2027-02", "2027-03"]})
    out = resp.pull_in(b, q, np.array([0, 1, 2]), share=0.2, window=0.15, discount=0.0)
    np.testing.assert_allclose(out.values[0, :, 0], [100.0, 40.0, 50.0])  # 90 % -> pulls 10 from Feb
    far = resp.pull_in(b, q, np.array([0, 1, 2]), share=0.2, window=0.05)
    np.testing.assert_allclose(far.values, b.values)  # 90 % is outside a 5 % window
    disc = resp.pull_in(b, q, np.array([0]), share=0.2, window=0.15, discount=0.05)
    assert float(disc.sum()) == pytest.approx(190.0 - 0.5)
    assert list(resp.period_ends(np.array([f"2027-{m:02d}" for m in range(1, 13)]), "quarter")) == [2, 5, 8, 11]


def test_sensitivity_covers_the_documented_ranges(fc):
    def evaluate(settings):
        w = simulate_world(inputs(fc, settings))
        return {"revenue_p50": float(np.median(revenue(w).values)),
                "cost_p50": float(np.median(incentive_cost(w).values))}
    table = resp.response_sensitivity(evaluate, {"reference_rate": 0.10},
                                      params=("effort_elasticity", "pull_in_share"))
    assert len(table) == 4 and set(table["end"]) == {"low", "high"}
    hi = table[(table.parameter == "effort_elasticity") & (table.end == "high")].iloc[0]
    lo = table[(table.parameter == "effort_elasticity") & (table.end == "low")].iloc[0]
    assert hi["value"] == 0.3 and lo["value"] == 0.0
    assert hi["revenue_p50"] != lo["revenue_p50"]
    fig = plot_response_sensitivity(table)
    assert len(fig.axes[0].patches) == 4
    with pytest.raises(InputError, match="effort_elasticity"):
        resp.response_settings({"effort_elasticity": "lots"})
    with pytest.raises(InputError, match="unknown key"):
        resp.response_settings({"elasticity": 0.1})


def test_bridge_steps_add_up_and_plot(fc):
    inp = inputs(fc, {"effort_elasticity": 0.2, "reference_rate": 0.08})

    def evaluate(on):
        w = simulate_world(inp, on)
        return revenue(w).values, incentive_cost(w).values
    steps = bridge_steps(evaluate, active=("attrition", "hires", "response"))
    assert list(steps["step"]) == ["base", "attrition", "hires", "response", "total"]
    deltas = steps[steps.kind == "delta"]
    total = steps.iloc[-1]
    assert steps.iloc[0]["revenue"] + deltas["revenue"].sum() == pytest.approx(total["revenue"])
    assert steps.iloc[0]["cost"] + deltas["cost"].sum() == pytest.approx(total["cost"])
    row = steps.set_index("step")
    assert row.loc["attrition", "revenue"] < 0 < row.loc["hires", "revenue"]
    assert row.loc["attrition", "revenue_change_p90"] <= 0  # paired: no draw gains from leavers
    full = simulate_world(inp)
    assert total["revenue"] == pytest.approx(float(np.median(revenue(full).values)))
    fig = plot_bridge(steps, "revenue")
    assert len(fig.axes[0].patches) == len(steps)


def test_effort_is_measured_against_the_reference_plan(fc):
    p = plans()
    w0 = simulate_world(inputs(fc, None))
    same = simulate_world(inputs(fc, {"effort_elasticity": 0.3, "reference_plan": p["AE"]}))
    np.testing.assert_allclose(revenue(same).values, revenue(w0).values)  # status quo: no change
    status_quo = simulate_world(inputs(fc, {"effort_elasticity": 0.3}))  # no reference: factor 1
    np.testing.assert_allclose(revenue(status_quo).values, revenue(w0).values)
    # versus a richer reference plan (the new-hire plan pays 0.12 above 100 % vs 0.15, 0.09 vs 0.10 below)
    att = resp.expected_attainment(w0["potential_bookings"], w0["quota"])
    f = resp.effort_factor(p["AE"], att, 0.3, reference_plan=p["AE_new_hire"])
    a = att.values
    hi = np.isfinite(a) & (a >= 1.0) & (a < 1.5)
    assert hi.any()
    np.testing.assert_allclose(f.values[hi], (0.15 / 0.12) ** 0.3)
    grid = xr.DataArray([0.3, 0.8, 1.2, 2.0, 3.0, np.nan], dims=("rep",))
    g = resp.effort_factor(p["AE"], grid, 0.3, reference_plan=p["AE_new_hire"]).values
    # AE: 0.04/0.10/0.15/0.18, cap 2.5; new-hire plan: 0.09 to 100 %, 0.12 above, no cap
    np.testing.assert_allclose(g[:4], [(0.04 / 0.09) ** 0.3, (0.10 / 0.09) ** 0.3, (0.15 / 0.12) ** 0.3,
                                       (0.18 / 0.12) ** 0.3])
    assert g[4] < 0.5 and g[5] == 1.0  # above the cap effort collapses; no attainment: unchanged
    with pytest.raises(InputError, match="reference_plan"):
        resp.response_settings({"effort_elasticity": 0.1, "reference_plan": "plans/x.yaml"})
