"""The plan-year roster: leavers, hires, common random numbers, world revenue and cost."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from world_helpers import PERIODS, forecast_cube, history_tables, plans

from spm_models.errors import InputError
from spm_models.planning import roster as ros
from spm_models.planning.world import WorldInputs, incentive_cost, revenue, simulate_world

QUOTA = {"method": "equal_probability", "probability": 0.6}


@pytest.fixture(scope="module")
def fc():
    return forecast_cube()


def inputs(fc, hires, attrition=0.02, quota=QUOTA, tables=None):
    return WorldInputs(forecast=fc, quota=quota, plans=plans(), tables=tables,
                       roster={"hiring_plan": hires, "attrition_monthly": attrition, "hiring_lag_months": 2,
                               "ramp_tau": 3.0, "seed": 7, "hire_plan": "AE_new_hire"})


def test_adding_hires_raises_revenue_p50_and_incentive_cost(fc):
    w0 = simulate_world(inputs(fc, {"2027-01": 2}))
    w1 = simulate_world(inputs(fc, {"2027-01": 2, "2027-02": 4, "2027-03": 2}))
    r0, r1 = revenue(w0).values, revenue(w1).values
    assert np.median(r1) > np.median(r0) * 1.02
    assert np.median(incentive_cost(w1).values) > np.median(incentive_cost(w0).values)
    # common random numbers: no draw loses revenue when hires are added
    assert np.all(r1 >= r0 - 1e-6)
    assert int(w1["is_hire"].sum()) == 8 and w1.attrs["total_hires"] == 8


def test_leaver_books_and_earns_nothing_after_leaving(fc):
    w = simulate_world(inputs(fc, None, attrition=0.05))
    T = w.sizes["period"]
    leave = w["leave_month"].values  # (rep, draw)
    assert (leave < T).any(), "some reps must leave at 5 % a month"
    t = np.arange(T)[None, :, None]
    after = t >= leave[:, None, :]
    b, pay, pot = w["bookings"].values, w["payout"].values, w["potential_bookings"].values
    assert np.all(b[after] == 0) and np.all(pay[after] == 0)
    # before leaving they book exactly their forecast draws
    np.testing.assert_allclose(b[~after], pot[~after])
    # and the leavers are paid something before they leave (the mask is not blanket)
    r, d = np.argwhere((leave >= 6) & (leave < T))[0]
    assert pay[r, :leave[r, d], d].sum() > 0
    # attrition lowers revenue versus the same world without it
    w0 = simulate_world(inputs(fc, None, attrition=0.0))
    assert np.median(revenue(w).values) < np.median(revenue(w0).values)


def test_hire_has_no_bookings_before_start_and_a_ramped_quota(fc):
    w = simulate_world(inputs(fc, {"2027-03": 3}, attrition=0.0))
    hires = w["rep"].values[w["is_hire"].values]
    assert list(w["hire_month"].sel(rep=hires).values) == ["2027-05"] * 3  # lag 2
    start = PERIODS.index("2027-05")
    hb = w["bookings"].sel(rep=hires).values
    assert np.all(hb[:, :start] == 0) and np.all(hb[:, start:].sum(1) > 0)
    q = w["quota"].sel(rep=hires).values
    assert np.all(q[:, :start] == 0)
    assert np.all(np.diff(q[:, start:start + 4], axis=1) > 0)  # ramping months: quota rises
    tenured = ~w["is_hire"].values & (w["hire_month"].values == "2020-01")
    assert q.sum(1).max() < np.median(w["quota"].values[tenured].sum(1))
    assert set(w["plan"].sel(rep=hires).values) == {"AE_new_hire"}
    # nothing is paid before the start month
    assert np.all(w["payout"].sel(rep=hires).values[:, :start] == 0)


def test_growth_quota_gives_hires_a_ramped_peer_quota(fc):
    tables = history_tables(fc)
    w = simulate_world(inputs(fc, {"2027-01": 2}, attrition=0.0, quota={"method": "growth", "growth": 0.1},
                              tables=tables))
    annual = w["quota"].sum("period")
    hires = w["is_hire"].values
    recent = (w["hire_month"].values == "2026-10")
    full = ~hires & ~recent
    assert np.all(annual.values[hires] > 0)
    peer = np.median(annual.values[full])
    assert np.all(annual.values[hires] < peer) and np.all(annual.values[hires] > 0.3 * peer)
    # recent joiners (3 months of history) are not judged on a partial year either
    assert np.all(annual.values[recent] > 0.8 * peer * 0.9)


def test_hire_slots_are_prefix_stable_and_regions_follow_headcount():
    small = ros.hire_slots({"2027-01": 2}, PERIODS, 1, ["East", "West"], [3, 1])
    big = ros.hire_slots({"2027-01": 8, "2027-02": 1}, PERIODS, 1, ["East", "West"], [3, 1])
    assert list(small["rep_id"]) == list(big["rep_id"][:2])
    assert list(big["region"][:8]).count("East") == 6
    with pytest.raises(InputError, match="hiring_plan"):
        ros.hire_slots({"2031-01": 1}, PERIODS, 1)


def test_leave_months_are_geometric_with_the_scenario_rate():
    life = ros.leave_months(2000, 200, 12, 0.03, seed=3)
    # active in month 0, leaves at the end of each month w.p. 3 %: P(active all 12 months) = 0.97^11
    assert abs((life >= 12).mean() - 0.97**11) < 0.006
    assert abs((life >= 6).mean() - 0.97**5) < 0.006
    # prefix stability: the first reps' numbers do not depend on how many reps there are
    np.testing.assert_array_equal(ros.leave_months(10, 200, 12, 0.03, seed=3), life[:10])


def test_apply_roster_masks_values():
    act = xr.DataArray(np.array([[True, False]]), dims=("rep", "period"))
    val = xr.DataArray(np.array([[5.0, 7.0]]), dims=("rep", "period"))
    assert ros.apply_roster(val, act).values.tolist() == [[5.0, 0.0]]


def test_top_down_by_history_gives_hires_a_share(fc):
    tables = history_tables(fc)
    q = {"method": "top_down", "target": 5.0e7, "allocate_by": "history"}
    w = simulate_world(inputs(fc, {"2027-01": 2}, attrition=0.0, quota=q, tables=tables))
    annual = w["quota"].sum("period").values
    hires = w["is_hire"].values
    assert annual.sum() == pytest.approx(5.0e7)
    assert np.all(annual[hires] > 0)
    full = ~hires & (w["hire_month"].values == "2020-01")
    assert np.all(annual[hires] < np.median(annual[full]))
