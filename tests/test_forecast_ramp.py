"""Ramp-up of new hires in the rep-month models (spm_models.forecast.ramp)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from spm_models.forecast import ramp
from spm_models.forecast.model import BookingsForecast
from spm_models.forecast.panel import TENURED, monthly_panel

MONTHS = pd.period_range("2022-01", periods=36, freq="M")
SEASON = 1 + 0.15 * np.sin(2 * np.pi * np.arange(48) / 12)


def _bookings(hire_starts=(31, 30, 28, 24, 26, 20, 22, 18), ramp_months=4, n_steady=24, seed=1, trend=0.0):
    """Steady reps over 36 months plus hires starting at the given panel months, whose first
    ``ramp_months`` months book (k + 1) / ramp_months of their level."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(n_steady):
        lvl = rng.lognormal(np.log(50000), 0.4)
        for t, m in enumerate(MONTHS):
            rows.append((f"R{r:02d}", m.to_timestamp(), lvl * (1 + trend) ** t * SEASON[t] * rng.lognormal(0, 0.1)))
    for h, start in enumerate(hire_starts):
        for t in range(start, 36):
            frac = min(1.0, (t - start + 1) / ramp_months)
            rows.append((f"H{h}", MONTHS[t].to_timestamp(), 50000 * frac * SEASON[t] * rng.lognormal(0, 0.1)))
    bk = pd.DataFrame(rows, columns=["rep_id", "date", "amount"])
    reps = bk.groupby("rep_id", as_index=False)["date"].min().rename(columns={"date": "hire_date"})
    reps.loc[reps["rep_id"].str.startswith("R"), "hire_date"] = pd.Timestamp("2019-01-01")
    return {"bookings": bk, "reps": reps.assign(region="all", territory_id=reps["rep_id"])}


def test_curves_and_multipliers():
    assert np.allclose(ramp.curve("linear", 4.0)[:5], [0.25, 0.5, 0.75, 1.0, 1.0])
    e = ramp.curve("exponential", 4.0)
    assert np.all(np.diff(e) > 0) and e[0] == pytest.approx(1 - np.exp(-0.25))
    with pytest.raises(ValueError, match="unknown ramp family"):
        ramp.curve("cubic", 1.0)
    fit = {"used": True, "multipliers": list(ramp.curve("linear", 4.0))}
    ten = np.array([[-1, 0, 1, 3, 11, 12, 120]])
    assert np.allclose(ramp.multipliers(fit, ten), [[1, 0.25, 0.5, 1, 1, 1, 1]])
    assert np.allclose(ramp.multipliers({"used": False, "multipliers": [0.1] * 12}, ten), 1.0)
    assert np.allclose(ramp.multipliers(None, ten), 1.0)


def test_the_panels_own_ramp_is_recovered():
    est = ramp.estimate(monthly_panel(_bookings()))
    assert est["used"] and est["n_hires"] == 8
    r = np.asarray(est["multipliers"])
    assert np.allclose(r[:4], [0.25, 0.5, 0.75, 1.0], atol=0.1), r  # the generating linear ramp
    assert np.allclose(r[4:], 1.0, atol=0.05)


def test_no_ramp_without_one_in_the_data_even_when_reps_grow():
    """Hires that book their full level from the first month, in a panel growing 2 % a month:
    the common growth is not read as a ramp."""
    est = ramp.estimate(monthly_panel(_bookings(ramp_months=1, trend=0.02)))
    assert not est["used"] and "too weak" in est["reason"]
    assert np.allclose(ramp.deramp(monthly_panel(_bookings(ramp_months=1)), est),
                       monthly_panel(_bookings(ramp_months=1))["amount"].values)
    few = ramp.estimate(monthly_panel(_bookings(hire_starts=(30, 31))))
    assert not few["used"] and "(< 4)" in few["reason"]


def test_a_hires_ramp_months_are_not_forecast_as_its_season():
    """A rep hired a year before the origin ramped in January..April: without the ramp its
    next January was forecast at ~40 % of its level (the ramp read as seasonality)."""
    panel = monthly_panel(_bookings())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = BookingsForecast({"model": "dlm"}).fit(panel, method="fast", seed=0)
    assert all(f.info["ramp"]["used"] for f in m.dlm.values())
    fc = m.forecast("2025-01", 12, n_draws=400, seed=0)["bookings"].median("draw")
    steady = 50000 * SEASON[36:48]
    for rep in ("H3", "H4"):  # hired 12 and 10 months before the origin: ramped now
        ratio = fc.sel(rep=rep).values / steady
        assert np.all((ratio > 0.75) & (ratio < 1.3)), (rep, ratio.round(2))
    # in-sample draws carry the ramp: a hire's first month is low again
    pp = m.sample_posterior_predictive(n_draws=200, seed=0)["bookings"].median("draw")
    h0 = pp.sel(rep="H3").values[24:28] / (50000 * SEASON[24:28])
    assert h0[0] < 0.5 and h0[3] > 0.75, h0.round(2)


def test_the_ramp_survives_save_and_load(tmp_path):
    panel = monthly_panel(_bookings())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = BookingsForecast({"model": "dlm"}).fit(panel, method="fast", seed=0)
    a = m.forecast("2025-01", 6, n_draws=100, seed=3)["bookings"].values
    m.save(tmp_path / "m")
    b = BookingsForecast.load(tmp_path / "m").forecast("2025-01", 6, n_draws=100, seed=3)["bookings"].values
    assert np.array_equal(a, b)


def test_ramp_false_in_the_config_fits_the_raw_amounts():
    panel = monthly_panel(_bookings())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = BookingsForecast({"model": "dlm", "ramp": False}).fit(panel, method="fast", seed=0)
    assert all(not f.info["ramp"]["used"] for f in m.dlm.values())
    jan = m.forecast("2025-01", 1, n_draws=400, seed=0)["bookings"].median("draw").sel(rep="H3").item()
    assert jan < 0.6 * 50000  # the ramp months read as the rep's January, as before the ramp


def test_the_backtest_records_the_ramp():
    from spm_models.forecast.backtest import bayesian_forecaster, run_backtest

    diag: dict = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_backtest(_bookings(), 6, forecaster=bayesian_forecaster(method="fast", diagnostics=diag,
                                                                    config={"model": "dlm"}), n_draws=100)
    ramp_rec = diag["ramp"]  # the CLI writes these diagnostics to METRICS.json's metadata
    assert ramp_rec["used"] and ramp_rec["family"] in ("linear", "exponential") and "hires" in ramp_rec["reason"]


def _lumpy_deals(seed, rate=3.0, ramp_months=1):
    """Deal-level bookings (Poisson deals a month, lognormal sizes with sd 1): 30 tenured reps
    and 16 hires whose deal rate ramps over ``ramp_months`` months (1: no ramp)."""
    rng = np.random.default_rng(seed)
    rows, reps = [], []
    for name, start in [(f"R{r:02d}", 0) for r in range(30)] + [(f"H{h:02d}", s) for h, s in enumerate(range(2, 33, 2))]:
        reps.append((name, MONTHS[start].to_timestamp() if name[0] == "H" else pd.Timestamp("2019-01-01")))
        for t in range(start, 36):
            frac = min(1.0, (t - start + 1) / ramp_months)
            for _ in range(rng.poisson(rate * frac * SEASON[t])):
                rows.append((name, MONTHS[t].to_timestamp() + pd.Timedelta(days=int(rng.integers(0, 28))),
                             rng.lognormal(np.log(15000), 1.0)))
    return {"bookings": pd.DataFrame(rows, columns=["rep_id", "date", "amount"]),
            "reps": pd.DataFrame(reps, columns=["rep_id", "hire_date"])}


def test_lumpy_months_alone_do_not_make_a_ramp():
    """Without the resampling check, 5 of these 10 ramp-free deal-level panels got a ramp
    (hire month at 33-80 %), whose hires were then forecast far too high."""
    found = [ramp.estimate(monthly_panel(_lumpy_deals(seed))) for seed in range(10)]
    assert sum(f["used"] for f in found) <= 1, [f["reason"] for f in found]
    assert any("not clear of the noise" in f["reason"] for f in found)
    real = ramp.estimate(monthly_panel(_lumpy_deals(0, rate=20.0, ramp_months=4)))
    assert real["used"] and real["multipliers"][0] < 0.4  # a real ramp in busy months is still found


def test_negative_months_are_not_scaled_by_the_ramp():
    panel = monthly_panel(_bookings())
    est = ramp.estimate(panel)
    y = panel["amount"].transpose("rep", "period").values.copy()
    y[0, 0] = -5000.0
    panel["amount"] = (("rep", "period"), y)
    out = ramp.deramp(panel, est)
    ten = panel["tenure"].transpose("rep", "period").values
    assert out[0, 0] == -5000.0
    pos = (y > 0) & (ten >= 0) & (ten < 3)
    assert pos.any() and np.all(out[pos] > y[pos])  # positive ramp months are scaled up


def test_a_rep_with_bookings_before_the_hire_month_is_not_a_ramping_hire():
    """A rehired rep (or a hire_date that starts the current role) who booked at full level
    before the hire month: its months after the hire month were divided by the ramp, and it
    was forecast at 1.6-1.8x its level."""
    tables = _bookings()
    rng = np.random.default_rng(7)
    rows = [("X", m.to_timestamp(), 50000 * SEASON[t] * rng.lognormal(0, 0.1)) for t, m in enumerate(MONTHS)]
    tables["bookings"] = pd.concat([tables["bookings"], pd.DataFrame(rows, columns=["rep_id", "date", "amount"])],
                                   ignore_index=True)
    x = {"rep_id": "X", "hire_date": MONTHS[28].to_timestamp(), "region": "all", "territory_id": "X"}
    tables["reps"] = pd.concat([tables["reps"], pd.DataFrame([x])], ignore_index=True)
    panel = monthly_panel(tables)
    ten = panel["tenure"].sel(rep="X").values
    assert ten[28] == TENURED and ten[35] == TENURED + 7  # tenured from the hire month on
    assert panel["tenure"].sel(rep="H0").values[31] == 0  # hires keep their tenure
    # the earlier bookings count when the panel starts after them (start=), and a single early
    # deal or clawback row does not make a ramping hire tenured (a fresh-user review: one such
    # row had its ramp forecast as its season, at 0.22 of its level)
    assert monthly_panel(tables, start="2024-05")["tenure"].sel(rep="X").values[0] == TENURED  # its hire month
    early = {"H0": 500.0, "H1": -2000.0}
    rows = pd.DataFrame([(h, MONTHS[s].to_timestamp() - pd.Timedelta(days=1), a)
                         for (h, a), s in zip(early.items(), (31, 30))], columns=["rep_id", "date", "amount"])
    one_row = monthly_panel({**tables, "bookings": pd.concat([tables["bookings"], rows], ignore_index=True)})
    assert one_row["tenure"].sel(rep="H0").values[31] == 0 and one_row["tenure"].sel(rep="H1").values[30] == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = BookingsForecast({"model": "dlm"}).fit(panel, method="fast", seed=0)
    assert all(f.info["ramp"]["used"] for f in m.dlm.values())
    ratio = m.forecast("2025-01", 12, n_draws=400, seed=0)["bookings"].median("draw").sel(rep="X").values
    ratio = ratio / (50000 * SEASON[36:48])
    assert np.all((ratio > 0.75) & (ratio < 1.3)), ratio.round(2)
