"""Capacity = revenue: the hiring plan is solved on the world's own revenue."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from world_helpers import forecast_cube

from spm_models.errors import InputError
from spm_models.planning import capacity as cap
from spm_models.planning import roster as ros


@pytest.fixture(scope="module")
def fc():
    return forecast_cube(n_reps=30, n_draws=400)


def revenue_of(fc):
    def f(plan):
        w = ros.build_roster(fc, plan, attrition_monthly=0.015, hiring_lag_months=2, ramp_tau=3.0, seed=5)
        return ros.revenue(w).values
    return f


def test_solution_reaches_probability_and_one_fewer_does_not(fc):
    base = revenue_of(fc)(np.zeros(12, dtype=int))
    target = float(np.quantile(base, 0.9)) * 1.06
    sol = cap.solve_hiring_on_world(revenue_of(fc), target, 0.8, months=12, hiring_lag_months=2)
    assert sol.feasible and sol.total_hires > 0
    assert sol.probability >= 0.8 > sol.probability_one_fewer
    # re-simulating the solved plan gives the same world revenue (one number, not two)
    again = revenue_of(fc)(sol.hiring_plan)
    np.testing.assert_allclose(again, sol.revenue)
    assert (again >= target).mean() == pytest.approx(sol.probability)
    fewer = cap.schedule_hires(sol.total_hires - 1, 12, "constant", (0, 9))
    assert (revenue_of(fc)(fewer) >= target).mean() < 0.8
    # probabilities evaluated along the way never fall with more hires (common random numbers)
    ps = [sol.evaluated[h] for h in sorted(sol.evaluated)]
    assert all(b >= a for a, b in itertools.pairwise(ps))
    summ = cap.world_capacity_summary(sol, again, ros.headcount(ros.build_roster(
        fc, sol.hiring_plan, attrition_monthly=0.015, hiring_lag_months=2, seed=5)), target)
    assert summ["total_hires"] == sol.total_hires and summ["revenue"]["p50"] == pytest.approx(np.median(again))


def test_unreachable_target_is_infeasible_and_bad_input_fails(fc):
    sol = cap.solve_hiring_on_world(revenue_of(fc), 1e12, 0.8, months=12, hiring_lag_months=2, max_hires=8)
    assert not sol.feasible and sol.total_hires == 8
    with pytest.raises(InputError, match="hiring_lag_months"):
        cap.solve_hiring_on_world(revenue_of(fc), 1.0, 0.8, months=12, hiring_lag_months=12)
    with pytest.raises(InputError, match="probability"):
        cap.solve_hiring_on_world(revenue_of(fc), 1.0, 1.5, months=12)


def test_hiring_curve_agrees_with_a_full_world_run(fc):
    from world_helpers import plans

    from spm_models.planning.world import (
        WorldInputs,
        hiring_curve,
        incentive_cost,
        revenue,
        simulate_world,
    )

    inp = WorldInputs(forecast=fc, quota={"method": "equal_probability", "probability": 0.6}, plans=plans(),
                      roster={"attrition_monthly": 0.02, "hiring_lag_months": 2, "seed": 4, "hire_plan": "AE_new_hire"},
                      response={"effort_elasticity": 0.2, "reference_rate": 0.1, "pull_in_share": 0.1})
    curve = hiring_curve(inp, slots_per_month=4)
    assert curve.exact
    plan = {"2027-01": 3, "2027-04": 1, "2027-06": 4}
    r, c = curve.evaluate(plan)
    w = simulate_world(WorldInputs(**{**inp.__dict__, "roster": {**inp.roster, "hiring_plan": plan}}))
    np.testing.assert_allclose(r, revenue(w).values, rtol=1e-10)
    np.testing.assert_allclose(c, incentive_cost(w).values, rtol=1e-10)
    r0, _ = curve.evaluate(None)
    assert np.all(r >= r0) and np.median(r) > np.median(r0)
    with pytest.raises(InputError, match="hiring curve holds 4"):
        curve.evaluate({"2027-01": 5})
