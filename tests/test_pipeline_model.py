"""In-quarter forecast assembly, baselines, KPIs and the pipeline CLI."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from spm_models.data.demo import make_demo
from spm_models.forecast.opportunities import OppBook, to_day
from spm_models.forecast.pipeline_backtest import stage_weighted
from spm_models.forecast.quarter import active_reps, levels_table, quarter_forecast
from spm_models.kpis import kpis, kpis_frame, pipeline_summary


@pytest.fixture(scope="module")
def small():
    return make_demo(n_reps=30, years=2, seed=3)


def test_quarter_parts_add_up_and_use_only_the_past(small):
    ds = quarter_forecast(small, "2026-08-15", None, n_draws=200, seed=1)
    assert ds.attrs["quarter"] == "2026-Q3" and "not_yet_created" in ds.attrs["parts"]
    assert "open_pipeline" not in ds.attrs["parts"]
    b = small["bookings"]
    sel = (b["date"] >= "2026-07-01") & (b["date"] < "2026-08-15")
    closed = b[sel].groupby("rep_id")["amount"].sum()
    got = ds["closed"].sum("period").to_series()
    common = closed.index.intersection(got.index)
    assert len(common) > 5
    assert np.allclose(got[common], closed[common])
    assert float(ds["closed"].sel(period="2026-09").sum()) == 0.0  # nothing closed in the future
    assert (ds["new"] >= 0).all() and (ds["cancel"] <= 0).all()
    assert float(ds["new"].sel(period="2026-07").sum()) == 0.0  # July is over
    total = ds["closed"] + ds["open"] + ds["new"] + ds["cancel"]
    assert np.allclose(total, ds["bookings"])
    # a booking dated on the as-of day is not closed-to-date
    rep = str(b[sel]["rep_id"].iloc[0])
    tables = {**small, "bookings": pd.concat([b, pd.DataFrame(
        {"rep_id": [rep], "date": [pd.Timestamp("2026-08-15")], "amount": [1e6]})])}
    ds2 = quarter_forecast(tables, "2026-08-15", None, n_draws=50, seed=1)
    assert float(ds2["closed"].sum()) == pytest.approx(float(ds["closed"].sum()))


def test_levels_table_rolls_up(small):
    ds = quarter_forecast(small, "2026-08-15", None, n_draws=300, seed=2)
    t = levels_table(ds["bookings"].sum("period"), ds["closed"].sum("period"), "2026-Q3")
    assert list(t.columns) == ["level", "id", "quarter", "closed_to_date", "mean", "q05", "q10",
                               "q25", "q50", "q75", "q90", "q95"]
    comp = t[t["level"] == "company"].iloc[0]
    assert comp["id"] == "__total__"
    for lvl in ("region", "rep"):
        assert t.loc[t["level"] == lvl, "closed_to_date"].sum() == pytest.approx(comp["closed_to_date"])
        assert t.loc[t["level"] == lvl, "mean"].sum() == pytest.approx(comp["mean"], rel=1e-9)
    q = t[["q05", "q10", "q25", "q50", "q75", "q90", "q95"]].to_numpy()
    assert (np.diff(q, axis=1) >= -1e-9).all()


def test_stage_weighted_is_amount_times_probability(small):
    book = OppBook.from_tables(small)
    a, h = to_day("2026-08-01"), to_day("2026-09-30")
    reps = active_reps(small, book, a)
    sw = stage_weighted(book, a, h, reps)
    snap = book.snapshot(a)
    inq = snap[(snap["close"] <= h) & snap["rep_id"].isin(reps["rep_id"])]
    assert sw.sum() == pytest.approx((inq["amount"] * inq["probability"]).sum())


def _kpi_tables():
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "region": ["West", "East"], "territory_id": ["T1", "T2"],
                         "hire_date": pd.to_datetime(["2023-01-01"] * 2)})
    opps = pd.DataFrame({
        "opp_id": ["O1", "O2", "O3"], "rep_id": ["R1", "R1", "R2"], "amount": [100.0, 50.0, 200.0],
        "stage": ["Closed Won", "Closed Lost", "Closed Won"],
        "created_date": pd.to_datetime(["2024-01-05", "2024-01-10", "2024-01-15"]),
        "close_date": pd.to_datetime(["2024-02-10", "2024-02-20", "2024-02-25"]),
        "status": ["won", "lost", "won"]})
    book = pd.DataFrame({"rep_id": ["R1", "R2"], "date": pd.to_datetime(["2024-02-10", "2024-02-25"]),
                         "amount": [100.0, 200.0]})
    quotas = pd.DataFrame({"rep_id": ["R1"] * 3 + ["R2"] * 3, "period": ["2024-01", "2024-02", "2024-03"] * 2,
                           "quota": [100.0] * 6})
    return {"reps": reps, "opportunities": opps, "bookings": book, "quotas": quotas}


def test_kpis_exact_on_a_small_book():
    t = _kpi_tables()
    c = kpis(t, "company", as_of="2024-03-01")
    assert list(c["period"].values) == ["2024-01", "2024-02"]
    feb = c.sel(id="__total__", period="2024-02")
    assert float(feb["win_rate"]) == pytest.approx(2 / 3)
    assert float(feb["avg_deal_size"]) == pytest.approx(150.0)
    assert float(feb["sales_cycle_days"]) == pytest.approx((36 + 41) / 2)
    assert float(feb["coverage"]) == pytest.approx(350 / 600)  # all three open on Feb 1, Q1 quota 600
    assert np.isnan(float(feb["slip_rate"]))  # no stage history
    assert float(c.sel(id="__total__", period="2024-01")["pipeline_created"]) == 350.0
    r = kpis(t, "region", as_of="2024-03-01")
    assert float(r.sel(id="West", period="2024-02")["win_rate"]) == pytest.approx(0.5)
    f = kpis_frame(t, as_of="2024-03-01")
    assert set(f["level"]) == {"company", "region", "rep"}
    s = pipeline_summary(None, c, r)
    assert s["kpis"]["win_rate"] == pytest.approx(2 / 3) and set(s["coverage_by_region"]) == {"West", "East"}


def test_kpis_on_demo_history(small):
    c = kpis(small, "company", as_of="2026-10-01")
    assert c["period"].values[-1] == "2026-09"
    wr = c["win_rate"].isel(id=0).values[6:]
    assert 0.2 < np.nanmean(wr) < 0.4  # demo win rate 0.30
    slip = c["slip_rate"].isel(id=0).values[6:]
    assert 0.05 < np.nanmean(slip) < 0.9
    cyc = c["sales_cycle_days"].isel(id=0).values[6:]
    assert 50 < np.nanmean(cyc) < 110


def _run(args, capsys):
    from spm_models.cli import main

    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_bad_as_of_one_line(tmp_path: Path, capsys):
    (tmp_path / "bookings.csv").write_text("rep_id,date,amount\nR1,2024-02-01,5\n")
    code, _out, err = _run(["forecast", "pipeline", "--data", str(tmp_path), "--as-of", "2024-13-45",
                           "--out", str(tmp_path / "o")], capsys)
    assert code == 1 and "--as-of" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_cli_without_opportunities_uses_bookings_model(tmp_path: Path, capsys):
    t = make_demo(n_reps=20, years=2, seed=4)
    from spm_models.data.write import write_source

    write_source({k: t[k] for k in ("reps", "bookings", "quotas")}, tmp_path / "src")
    code, _out, err = _run(["forecast", "pipeline", "--data", str(tmp_path / "src"), "--as-of", "2026-08-15",
                           "--out", str(tmp_path / "o"), "--n-draws", "200"], capsys)
    assert code == 0, err
    q = pd.read_csv(tmp_path / "o" / "quarter_forecast.csv")
    assert q.iloc[0]["level"] == "company" and q.iloc[0]["quarter"] == "2026-Q3"
    assert (q["q05"] <= q["q95"]).all()
    notes = (tmp_path / "o" / "notes.txt").read_text()
    assert "no opportunities table" in notes and "bookings_model" in notes
    assert (tmp_path / "o" / "kpis.csv").exists()


def test_join_replaces_only_the_current_quarter(small):
    import xarray as xr

    from spm_models.forecast.quarter import join_bookings_cube

    ds = quarter_forecast(small, "2026-08-15", None, n_draws=40, seed=1)
    reps = list(ds["rep"].values[:3]) + ["NEWREP"]
    periods = ["2026-08", "2026-09", "2026-10", "2026-11"]
    cube = xr.DataArray(np.full((4, 4, 60), -7.0), dims=("rep", "period", "draw"),
                        coords={"rep": reps, "period": periods, "draw": np.arange(60)})
    j = join_bookings_cube(cube, ds)
    assert j.dims == cube.dims and j.sizes == cube.sizes
    assert (j.sel(period=["2026-10", "2026-11"]) == -7).all()
    assert (j.sel(rep="NEWREP") == -7).all()
    got = j.sel(rep=reps[0], period="2026-09").values
    ref = ds["bookings"].sel(rep=reps[0], period="2026-09").values
    assert np.allclose(got, ref[np.arange(60) % 40])
    assert j.attrs["pipeline_quarter"] == "2026-Q3"


def test_win_model_features_centred_within_their_group():
    """Group means are exact; an empty group gets the overall mean; encoded training rows
    have mean zero within every group (so alpha does not trade off against beta)."""
    from spm_models.forecast.win_model import group_means

    X = np.array([[1.0, 10.0], [3.0, 20.0], [5.0, 0.0], [7.0, 2.0]])
    g = np.array([0, 0, 2, 2])
    m = group_means(X, g, 4)
    np.testing.assert_allclose(m[0], [2.0, 15.0])
    np.testing.assert_allclose(m[2], [6.0, 1.0])
    np.testing.assert_allclose(m[1], X.mean(axis=0))  # no rows: the overall mean
    np.testing.assert_allclose(m[3], X.mean(axis=0))
    Xc = X - m[g]
    for k in (0, 2):
        np.testing.assert_allclose(Xc[g == k].mean(axis=0), 0.0, atol=1e-12)


def test_win_model_note_states_diagnostics_and_cautions_above_threshold():
    from spm_models.reporting.pipeline_sections import win_model_note

    assert win_model_note(None) is None
    text, ok = win_model_note({"max_rhat": 1.004, "min_ess_bulk": 812.0, "chains": 4, "draws": 500})
    assert ok and "4 chains × 500 draws" in text and "1.004" in text and "812" in text
    text, ok = win_model_note({"max_rhat": 1.058, "min_ess_bulk": 154.0, "chains": 2, "draws": 150})
    assert not ok and "above 1.01" in text
