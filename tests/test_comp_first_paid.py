"""A hire who starts during the plan year is owed no draw for the payout periods before the
start, and a recoverable draw recovers nothing for them (``compute_payouts(first_paid=...)``,
``planning.world.first_paid``). Without ``first_paid`` the engine computes the contract exactly."""

from __future__ import annotations

import numpy as np
import xarray as xr

from spm_models.comp import compute_payouts
from spm_models.comp.plan_parser import parse_plan
from spm_models.planning.world import first_paid

MONTHS = [f"2027-{m:02d}" for m in range(1, 13)]


def plan(frequency: str = "month", recoverable: bool = True):
    return parse_plan({"name": "draw", "plan_year_start": "2027-01", "payout_frequency": frequency,
                       "measures": [{"name": "bookings", "quota_period": "year", "basis": "revenue",
                                     "tiers": [{"rate": 0.1}]}],
                       "draw": {"amount": 2000, "recoverable": recoverable}}, "draw.yaml")


def inputs():
    """Rep ``h`` starts in March: no credits before, 90k in March and 10k in April."""
    credits = np.zeros((1, 12))
    credits[0, 2], credits[0, 3] = 90_000, 10_000
    cr = xr.DataArray(credits, dims=("rep", "period"), coords={"rep": ["h"], "period": MONTHS})
    qu = xr.full_like(cr, 100_000.0)
    return cr, qu


def test_no_draw_before_the_start_and_nothing_recovered_for_it():
    cr, qu = inputs()
    before = compute_payouts(plan(), cr, qu)["payout"].sel(rep="h").values
    start = xr.DataArray([2.0], dims="rep", coords={"rep": ["h"]})
    after = compute_payouts(plan(), cr, qu, first_paid=start)["payout"].sel(rep="h").values
    # contract (no start): the draw is paid in January and February and recovered in March
    np.testing.assert_allclose(before[:4], [2000, 2000, 5000, 2000])
    # from the start: nothing before March, March pays its full earnings, then the draw
    np.testing.assert_allclose(after[:4], [0, 0, 9000, 2000])
    # same total over the year, but paid from the start: blanking the months before the start
    # of the contract's schedule (what the world did before) lost the recovered 4,000
    assert after.sum() == before.sum()
    assert before[2:].sum() == after.sum() - 4000
    # first_paid = 0 is the contract's case exactly
    zero = compute_payouts(plan(), cr, qu, first_paid=xr.zeros_like(start))["payout"]
    np.testing.assert_array_equal(zero.values, compute_payouts(plan(), cr, qu)["payout"].values)


def test_first_paid_maps_the_first_active_month_to_its_payout_period():
    act = np.zeros((3, 12, 2), bool)
    act[0] = True          # on board all year
    act[1, 4:] = True      # starts in May
    # rep 2 never works in the plan year
    active = xr.DataArray(act, dims=("rep", "period", "draw"),
                          coords={"rep": ["a", "h", "x"], "period": MONTHS, "draw": [0, 1]})
    np.testing.assert_array_equal(first_paid(plan("month"), active).transpose("rep", "draw").values,
                                  [[0, 0], [4, 4], [12, 12]])
    # quarterly payouts: a May start is paid from the second quarter (its end, June, is worked)
    np.testing.assert_array_equal(first_paid(plan("quarter"), active).transpose("rep", "draw").values,
                                  [[0, 0], [1, 1], [4, 4]])
