"""Capacity: headcount/ramp/attrition known answers, hiring solved under its own simulation."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from spm_models.errors import InputError
from spm_models.planning.capacity import (
    capacity_from_config,
    productivity_from_forecast,
    schedule_hires,
    simulate_capacity,
    solve_hiring,
)
from spm_models.planning.synthetic import synthetic_forecast


def test_steady_state_known_answer():
    ds = simulate_capacity("2027-01", 12, headcount_now=10, hiring_plan=0, attrition_monthly=0.0,
                           ramp_tau=3.0, productivity=100.0, n_draws=5)
    assert ds["capacity"].dims == ("period", "draw")
    np.testing.assert_allclose(ds["headcount"].values, 10)
    np.testing.assert_allclose(ds["capacity_total"].values, 10 * 100.0 * 12)  # tenured: fully ramped


def test_ramp_and_lag_known_answer():
    ds = simulate_capacity("2027-01", 12, headcount_now=0, hiring_plan=[1] + [0] * 11,
                           attrition_monthly=0.0, ramp_tau=2.0, hiring_lag_months=3,
                           productivity=1000.0, n_draws=3)
    t = np.arange(12)
    expected = np.where(t >= 3, 1000.0 * (1 - np.exp(-(t - 3 + 1) / 2.0)), 0.0)
    np.testing.assert_allclose(ds["capacity"].isel(draw=0).values, expected)
    np.testing.assert_array_equal(ds["hires_starting"].values, (t == 3).astype(int))


def test_attrition_matches_geometric_survival():
    a = 0.05
    ds = simulate_capacity("2027-01", 12, headcount_now=50, attrition_monthly=a, ramp_tau=0.0,
                           productivity=1.0, n_draws=4000, seed=1)
    mean_head = ds["headcount"].mean("draw").values
    expected = 50 * (1 - a) ** np.arange(12)
    np.testing.assert_allclose(mean_head, expected, rtol=0.01)


def test_productivity_draws_carry_through():
    prod = xr.DataArray(np.array([100.0, 200.0, 300.0]), dims="draw")
    ds = simulate_capacity("2027-01", 2, headcount_now=1, attrition_monthly=0.0, productivity=prod, n_draws=3)
    np.testing.assert_allclose(ds["capacity_total"].values, [200.0, 400.0, 600.0])
    fc = synthetic_forecast(n_reps=5, n_draws=50, seed=0)
    p = productivity_from_forecast(fc)
    assert p.dims == ("draw",) and p.sizes["draw"] == 50
    np.testing.assert_allclose(p.values, fc["bookings"].mean(("rep", "period")).values)


def test_more_hires_never_lower_capacity():
    kw = {"headcount_now": 20, "attrition_monthly": 0.03, "ramp_tau": 4.0, "productivity": 1.0, "n_draws": 200,
              "seed": 4, "rep_sigma": 0.3}
    prev = None
    for h in range(0, 30, 7):
        cap = simulate_capacity("2027-01", 12, hiring_plan=schedule_hires(h, 12), **kw)["capacity_total"].values
        if prev is not None:
            assert np.all(cap >= prev - 1e-9)
        prev = cap


@pytest.mark.parametrize("schedule", ["constant", "front_loaded"])
def test_solved_hiring_reaches_target_under_own_simulation(schedule):
    rng = np.random.default_rng(0)
    prod = rng.normal(100_000, 10_000, 400)  # posterior of a ramped rep's monthly bookings
    common = {"start": "2027-01", "months": 12, "headcount_now": 40, "attrition_monthly": 0.02, "ramp_tau": 3.0,
                  "hiring_lag_months": 1, "productivity": prod, "n_draws": 1000, "seed": 7, "rep_sigma": 0.3}
    target, p = 6.0e7, 0.8
    sol = solve_hiring(target, p, schedule=schedule, **common)
    assert sol.feasible and sol.total_hires > 0
    assert sol.probability >= p
    assert sol.probability_one_fewer < p
    assert int(sol.hiring_plan.sum()) == sol.total_hires
    # re-simulating the returned plan reproduces the probability
    ds = simulate_capacity(hiring_plan=sol.hiring_plan.values, **common)
    assert float((ds["capacity_total"] >= target).mean()) == pytest.approx(sol.probability)
    ds_fewer = simulate_capacity(
        hiring_plan=schedule_hires(sol.total_hires - 1, 12, schedule, (0, 10)), **common)
    assert float((ds_fewer["capacity_total"] >= target).mean()) < p


def test_front_loading_needs_no_more_hires_than_constant():
    common = {"start": "2027-01", "months": 12, "headcount_now": 40, "attrition_monthly": 0.02, "ramp_tau": 3.0,
                  "productivity": 100_000.0, "n_draws": 500, "seed": 1, "rep_sigma": 0.2}
    c = solve_hiring(5.8e7, 0.9, schedule="constant", **common)
    f = solve_hiring(5.8e7, 0.9, schedule="front_loaded", **common)
    assert f.total_hires <= c.total_hires


def test_no_hires_needed_and_infeasible():
    common = {"start": "2027-01", "months": 6, "headcount_now": 10, "attrition_monthly": 0.0, "ramp_tau": 0.0,
                  "productivity": 100.0, "n_draws": 50}
    assert solve_hiring(1000.0, 0.9, **common).total_hires == 0
    sol = solve_hiring(1e12, 0.9, max_hires=64, **common)
    assert not sol.feasible


def test_config_runs_and_bad_keys_are_named():
    ds = capacity_from_config({"start": "2027-01", "months": 6, "headcount_now": 10, "hiring_plan": 1,
                               "n_draws": 20, "productivity": 50.0})
    assert ds.sizes == {"period": 6, "draw": 20}
    ds = capacity_from_config({"start": "2027-01", "months": 12, "headcount_now": 10, "target": 1.5e7,
                               "probability": 0.7, "n_draws": 200}, productivity=100_000.0)
    assert ds.attrs["probability_reached"] >= 0.7
    with pytest.raises(InputError, match="'hirng_plan'"):
        capacity_from_config({"start": "2027-01", "months": 6, "headcount_now": 1, "hirng_plan": 2})
    with pytest.raises(InputError, match="'attrition_monthly'"):
        simulate_capacity("2027-01", 6, 10, attrition_monthly=1.5)
    with pytest.raises(InputError, match="'hiring_plan'"):
        simulate_capacity("2027-01", 6, 10, hiring_plan=[1, 2])
    with pytest.raises(InputError, match="'start'"):
        simulate_capacity("January", 6, 10)
