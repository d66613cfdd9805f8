"""Engine rules on hand-checked cases, and numpy / dask / scenario broadcasting agreement."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from comp_helpers import MONTHS, monthly_quota

from spm_models.comp import Plan, calc_payouts, compute_payouts


def _plan(**over) -> Plan:
    base = {"name": "t", "plan_year_start": "2027-01", "payout_frequency": "quarter",
            "measures": [{"name": "bookings", "quota_period": "year",
                          "tiers": [{"to": 1.0, "rate": 0.1}, {"rate": 0.2}]}]}
    measure = over.pop("measure", {})
    base["measures"][0].update(measure)
    base.update(over)
    return Plan.from_dict(base)


def _credits(rows: dict[str, float], rep: str = "R1") -> pd.DataFrame:
    return pd.DataFrame([{"rep_id": rep, "period": p, "amount": a} for p, a in rows.items()])


def test_clawback_is_carried_until_earnings_catch_up() -> None:
    plan = _plan()
    credits = _credits({"2027-01": 100000, "2027-05": -40000, "2027-08": 20000, "2027-11": 70000})
    df = calc_payouts(plan, credits, pd.DataFrame(monthly_quota("R1", 100000)))
    # ETD 10,000 / 6,000 / 8,000 / 15,000 → pay 10,000, 0 (owes 4,000), 0, 5,000
    assert df["earned_to_date"].tolist() == [10000.0, 6000.0, 8000.0, 15000.0]
    assert df["payout"].tolist() == [10000.0, 0.0, 0.0, 5000.0]


def test_bonus_reached_stays_earned_once_per_quota_period() -> None:
    plan = _plan(measure={"quota_period": "quarter"},
                 bonuses=[{"name": "spif", "at": 1.0, "amount": 1000}])
    quotas = pd.DataFrame(monthly_quota("R1", 10000))
    # Q1 reaches 100 % in February, a March cancellation drops it to 80 %: still earned.
    # Q2 reaches 200 %: one bonus, not two. Q3 never reaches. Q4 reaches.
    credits = _credits({"2027-01": 20000, "2027-02": 10000, "2027-03": -6000,
                        "2027-04": 60000, "2027-07": 5000, "2027-10": 40000})
    df = calc_payouts(plan, credits, quotas)
    earn = [0.1 * 24000, 0.1 * 30000 + 0.2 * 30000, 0.1 * 5000, 0.1 * 30000 + 0.2 * 10000]
    etd = np.cumsum(earn) + np.cumsum([1000, 1000, 0, 1000])
    assert df["earned_to_date"].tolist() == pytest.approx(etd.tolist(), abs=0.005)


def test_decimal_boundary_belongs_to_the_upper_tier() -> None:
    """0.1 + 0.2 style float noise must not move an exact 100 % into the lower tier."""
    plan = _plan(payout_frequency="year",
                 measure={"retroactive": True, "tiers": [{"to": 1.0, "rate": 0.1}, {"rate": 0.2}]})
    quotas = pd.DataFrame([{"rep_id": "R1", "period": m, "quota": 0.3 if m == "2027-01" else 0.0}
                           for m in MONTHS])
    credits = _credits({"2027-01": 0.1, "2027-02": 0.2})
    assert 0.1 + 0.2 != 0.3
    df = calc_payouts(plan, credits, quotas)
    assert df["attainment_bookings"].iloc[-1] == pytest.approx(1.0)
    assert df["earned_to_date"].iloc[-1] == pytest.approx(0.06)  # 0.2 × 100 % × 0.3


def test_bounded_last_tier_stops_earnings() -> None:
    plan = _plan(payout_frequency="year", measure={"tiers": [{"to": 1.0, "rate": 0.1},
                                                             {"to": 1.5, "rate": 0.2}]})
    df = calc_payouts(plan, _credits({"2027-06": 3_000_000}),
                      pd.DataFrame(monthly_quota("R1", 100000)))
    assert df["earned_to_date"].tolist() == [120000 * 1.0 + 240000 * 0.5 * 1.0]


def test_multi_measure_ti_basis_and_rep_override() -> None:
    plan = Plan.from_dict({
        "name": "se", "plan_year_start": "2027-01", "payout_frequency": "year",
        "target_incentive": 40000,
        "measures": [
            {"name": "bookings", "weight": 0.75, "basis": "target_incentive", "tiers": [{"rate": 1.0}]},
            {"name": "logos", "weight": 0.25, "basis": "target_incentive", "quota_period": "quarter",
             "tiers": [{"rate": 2.0}]},
        ]})
    credits = pd.DataFrame([
        {"rep_id": "A", "period": "2027-03", "amount": 600000, "measure": "bookings"},
        {"rep_id": "A", "period": "2027-02", "amount": 1, "measure": "logos"},
        {"rep_id": "B", "period": "2027-03", "amount": 1200000, "measure": "bookings"},
    ])
    quotas = pd.DataFrame(monthly_quota("A", 100000, "bookings") + monthly_quota("A", 1, "logos")
                          + monthly_quota("B", 100000, "bookings") + monthly_quota("B", 1, "logos"))
    reps = pd.DataFrame({"rep_id": ["B"], "target_incentive": [80000]})
    df = calc_payouts(plan, credits, quotas, reps)
    # A: bookings 50 % of 30,000 = 15,000; logos Q1 1/3 × 2.0 × 10,000/4 = 1,666.67
    # B (TI 80,000): bookings 100 % of 60,000
    assert df["earned_to_date"].tolist() == [16666.67, 60000.0]
    assert df["attainment_logos"].tolist() == [0.0, 0.0]  # Q4 attainment as of December


def test_numpy_and_dask_and_scenarios_agree() -> None:
    dask = pytest.importorskip("dask")
    rng = np.random.default_rng(3)
    b = xr.DataArray(rng.gamma(2.0, 50000, size=(6, 12, 40)), dims=["rep", "period", "draw"],
                     coords={"period": MONTHS})
    q = xr.DataArray(np.full((6, 12), 100000.0), dims=["rep", "period"], coords={"period": MONTHS})
    plan = _plan(draw={"amount": 8000, "recoverable": False},
                 bonuses=[{"name": "club", "at": 1.1, "amount": 2500}],
                 measure={"cap": {"attainment": 1.8, "payout": 150000}, "threshold": 0.3})
    ref = compute_payouts(plan, b, q)
    lazy = compute_payouts(plan, b.chunk({"draw": 10, "rep": 3}), q)
    assert isinstance(lazy["payout"].data, dask.array.Array)
    xr.testing.assert_allclose(ref, lazy.compute())
    # plans stacked on `scenario` broadcast in one call and match separate runs
    other = plan.with_value("measures[0].tiers[1].rate", 0.3)
    both = compute_payouts([plan, other], b, q).assign_coords(scenario=["a", "b"])
    xr.testing.assert_allclose(both.sel(scenario="a", drop=True).transpose(*ref["payout"].dims, ...)["payout"],
                               ref["payout"])
    xr.testing.assert_allclose(both.sel(scenario="b", drop=True)["payout"].transpose(*ref["payout"].dims),
                               compute_payouts(other, b, q)["payout"])
    assert (both["payout"].sel(scenario="b").sum() >= both["payout"].sel(scenario="a").sum())
    # a plan without bonuses on a dask cube
    plain = _plan()
    xr.testing.assert_allclose(compute_payouts(plain, b, q),
                               compute_payouts(plain, b.chunk({"draw": 8}), q).compute())


def test_cost_elements_add_up_to_payouts() -> None:
    rng = np.random.default_rng(5)
    b = xr.DataArray(rng.gamma(1.5, 60000, size=(5, 12, 30)), dims=["rep", "period", "draw"],
                     coords={"period": MONTHS})
    q = xr.DataArray(np.full((5, 12), 100000.0), dims=["rep", "period"], coords={"period": MONTHS})
    plan = _plan(draw={"amount": 6000, "recoverable": True},
                 bonuses=[{"name": "club", "at": 1.2, "amount": 5000}],
                 measure={"tiers": [{"to": 0.5, "rate": 0.05}, {"to": 1.0, "rate": 0.1},
                                    {"to": 1.5, "rate": 0.15}, {"rate": 0.2}],
                          "cap": {"payout": 180000}})
    ds = compute_payouts(plan, b, q)
    total = ds["payout"].sum("period")
    parts = ds["tier_cost"].sum(["measure", "tier"]) + ds["bonus_cost"].sum("bonus") + ds["unearned_paid"]
    xr.testing.assert_allclose(total, parts)
    # above-target earnings are the tiers above 100 % (capped proportionally)
    xr.testing.assert_allclose(ds["accelerator_cost"].sel(measure="bookings"),
                               ds["tier_cost"].sel(measure="bookings", tier=[3, 4]).sum("tier"))


def test_kernel_input_layouts_and_blocks_agree_exactly() -> None:
    """The kernel reads unit-stride credits in place and copies strided ones, sums quotas
    once when they are constant along draws, and works in blocks of draws: every layout,
    and each draw computed alone, gives the same bits (a curve, a modifier, an advance
    cap, a bonus and a draw exercise every path)."""
    from spm_models.comp import engine, kernel

    plan = Plan.from_dict({
        "name": "layouts", "plan_year_start": "2027-01", "payout_frequency": "month",
        "target_incentive": 60000,
        "measures": [
            {"name": "m0", "quota_period": "quarter", "basis": "target_incentive", "weight": 0.7,
             "curve": {"points": [[0.5, 0.25], [1.0, 1.0], [1.5, 2.0]], "interpolate": "linear"},
             "modifiers": [{"measure": "m1", "table": [[0.0, 0.5], [0.9, 1.0], [1.2, 1.1]]}],
             "advance_cap": 1.0},
            {"name": "m1", "quota_period": "quarter", "basis": "target_incentive", "weight": 0.3,
             "tiers": [{"to": 1.0, "rate": 1.0}, {"rate": 1.5}]},
        ],
        "bonuses": [{"name": "b", "measure": "m1", "at": 1.1, "amount": 500}],
        "draw": {"amount": 2000, "recoverable": True},
    })
    struct, theta = engine.plan_structure(plan), engine.plan_theta(plan)
    rng = np.random.default_rng(3)
    n_draws = kernel.BLOCK + 37  # two blocks, the second partial
    by_draw = np.round(rng.uniform(-2000, 30000, size=(2, 2, 12, n_draws)), 2)  # rep, m, t, draw
    by_draw[0, 0, 4, 5] = np.nan
    quota = rng.integers(5000, 20000, size=(2, 1, 2, 12)).astype(float)
    quota[1, 0, 1, 3:6] = 0.0  # a quarter without quota
    ti = np.full((2, n_draws), 60000.0)
    unit_stride = by_draw.transpose(0, 3, 1, 2)  # (rep, draw, m, t), draws contiguous
    strided = np.ascontiguousarray(unit_stride)
    ref = engine.payout_kernel(unit_stride, quota, ti, theta, struct=struct)
    for credits, quotas in [(strided, quota),
                            (unit_stride, np.repeat(quota, n_draws, axis=1))]:
        out = engine.payout_kernel(credits, quotas, ti, theta, struct=struct)
        for a, b in zip(ref, out):
            np.testing.assert_array_equal(a, b)
    for j in (0, 5, kernel.BLOCK - 1, kernel.BLOCK, n_draws - 1):
        one = engine.payout_kernel(strided[:, j:j + 1], quota, ti[:, j:j + 1], theta,
                                   struct=struct)
        for a, b in zip(ref, one):
            np.testing.assert_array_equal(a[:, j:j + 1], b)
    assert np.isnan(ref[0][0, 5, 0, 4]) and not np.isnan(ref[0][0, 4, 0, 4])  # (rep, draw, m, t)
    assert (ref[3][:, kernel.BLOCK:] > 0).any()  # the partial block pays
