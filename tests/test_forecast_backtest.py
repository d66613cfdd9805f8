"""`run_backtest` and `spm forecast backtest` with stand-in forecasters (no PyMC), plus one
slow end-to-end run of the real model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spm_models.errors import InputError
from spm_models.forecast import backtest as bt
from spm_models.forecast.scoring import PRED_QUANTILES

PRED_COLUMNS = ["rep_id", "period", "mean", *PRED_QUANTILES]
LEVELS = ("rep", "total")
KEYS = ("crps", "mase", "coverage_80", "coverage_95")


# ------------------------------------------------------------------------------ data
def synth_bookings(
    n_reps: int = 6, months: int = 36, seed: int = 0, start: str = "2024-01", hard: bool = False
) -> pd.DataFrame:
    """Seasonal Poisson deal counts × log-normal sizes; reps start at different months and
    differ in scale ~1000×. ``hard`` adds a rep with two months of history, a constant rep,
    a negative month, a trend break and a rep that goes silent in the holdout."""
    rng = np.random.default_rng(seed)
    per = pd.period_range(start, periods=months, freq="M")
    rows = []
    for r in range(n_reps):
        scale = 100.0 * 10 ** (3.0 * r / max(n_reps - 1, 1))
        first = int(rng.integers(0, 14)) if r % 2 else 0
        for t in range(first, months):
            lam = 3.0 * np.exp(0.6 * np.cos(2 * np.pi * (per[t].month - 11.5) / 12))
            for _ in range(rng.poisson(lam)):
                day = per[t].to_timestamp() + pd.Timedelta(days=int(rng.integers(0, 27)))
                rows.append((f"R{r}", day, scale * rng.lognormal(0.0, 0.5)))
    if hard:
        for t in range(months - 14, months):  # two months of history before a 12-month holdout
            rows.append(("SHORT", per[t].to_timestamp(), 500.0 * rng.lognormal(0, 0.5)))
        for t in range(months):  # constant rep
            rows.append(("CONST", per[t].to_timestamp(), 1000.0))
        rows.append(("R0", per[5].to_timestamp(), -2000.0))  # a negative month (R0 deals ~100)
        for t in range(months // 2, months):  # trend break: level jumps 5x
            rows.append(("BREAK", per[t].to_timestamp(), 5000.0 * rng.lognormal(0, 0.3)))
        for t in range(months // 2):
            rows.append(("BREAK", per[t].to_timestamp(), 1000.0 * rng.lognormal(0, 0.3)))
        for t in range(months - 12):  # silent (all-zero) in the holdout, active until then
            rows.append(("SILENT", per[t].to_timestamp(), 200.0))
    return pd.DataFrame(rows, columns=["rep_id", "date", "amount"])


def climatology(panel: xr.Dataset, periods: list[str], hires, n_draws: int, seed: int) -> xr.Dataset:
    """Stand-in model: each rep's active training months, resampled (deterministic)."""
    amount = panel["amount"].values
    active = panel["active"].values
    levels = (np.arange(n_draws) + 0.5) / n_draws
    draws = np.zeros((len(panel.rep), len(periods), n_draws))
    for i in range(len(panel.rep)):
        hist = amount[i][active[i]]
        if active[i, -1] and len(hist):
            draws[i] = np.quantile(hist, levels)[None, :]
    da = xr.DataArray(draws, dims=("rep", "period", "draw"), coords={"rep": panel.rep.values, "period": periods})
    return xr.Dataset({"bookings": da})


def oracle_for(bookings: pd.DataFrame):
    """Stand-in model that knows the answer: a point mass at the actual bookings."""
    b = bookings.assign(period=pd.to_datetime(bookings["date"]).dt.to_period("M").astype(str))
    actual = b.groupby(["rep_id", "period"])["amount"].sum()

    def forecast(panel, periods, hires, n_draws, seed):
        reps = [str(r) for r in panel.rep.values]
        vals = np.array([[actual.get((r, p), 0.0) for p in periods] for r in reps])
        da = xr.DataArray(
            np.repeat(vals[:, :, None], n_draws, axis=2),
            dims=("rep", "period", "draw"),
            coords={"rep": reps, "period": periods},
        )
        total = b[b["period"].isin(periods)].groupby("period")["amount"].sum().reindex(periods, fill_value=0.0)
        company = xr.DataArray(
            np.repeat(total.to_numpy()[:, None], n_draws, axis=1), dims=("period", "draw"), coords={"period": periods}
        )
        return xr.Dataset({"bookings": da, "company": company})

    return forecast


# ------------------------------------------------------------------------------ library
def test_metrics_layout_and_predictions_columns():
    bk = synth_bookings()
    res = bt.run_backtest({"bookings": bk}, 12, forecaster=climatology, n_draws=200)
    m = res.metrics
    for method in bt.METHODS:
        for level in LEVELS:
            for key in KEYS:
                assert np.isfinite(m[method][level][key]), (method, level, key)
            assert 0 <= m[method][level]["coverage_80"] <= m[method][level]["coverage_95"] <= 1
    md = m["metadata"]
    assert md["holdout"] == 12 and len(md["periods"]) == 12 and md["periods"][-1] == "2026-12"
    assert md["n_reps"] == 6 and md["seed"] == 0 and md["data_hash"]
    p = res.predictions
    assert list(p.columns) == PRED_COLUMNS
    assert len(p) == (6 + 1) * 12
    assert set(p.loc[p.rep_id == bt.TOTAL_ID, "period"]) == set(md["periods"])
    q = p[list(PRED_QUANTILES)].to_numpy()
    assert np.all(np.diff(q, axis=1) >= -1e-9)  # quantiles ordered


def test_total_is_from_summed_draws_not_summed_quantiles():
    bk = synth_bookings()
    kept = {}

    def shuffled(panel, periods, hires, n_draws, seed):
        ds = climatology(panel, periods, hires, n_draws, seed)
        rng = np.random.default_rng(0)
        vals = ds["bookings"].values.copy()
        for i in range(vals.shape[0]):  # independent across reps
            vals[i] = vals[i][:, rng.permutation(n_draws)]
        ds["bookings"].values = vals
        kept["draws"] = ds["bookings"]
        return ds

    res = bt.run_backtest({"bookings": bk}, 6, forecaster=shuffled, n_draws=400)
    p = res.predictions
    reps = p[p.rep_id != bt.TOTAL_ID].groupby("period")[["mean", "q10"]].sum()
    tot = p[p.rep_id == bt.TOTAL_ID].set_index("period")[["mean", "q10"]]
    np.testing.assert_allclose(tot["mean"], reps.loc[tot.index, "mean"], rtol=1e-9)
    total_draws = kept["draws"].sum("rep").sel(period=list(tot.index)).values
    np.testing.assert_allclose(tot["q10"].to_numpy(), np.quantile(total_draws, 0.10, axis=1), rtol=1e-9)
    # independent reps: the total's q10 is well above the sum of the reps' q10
    assert np.all(tot["q10"].to_numpy() > reps.loc[tot.index, "q10"].to_numpy() * 1.01)


def test_oracle_scores_perfectly_and_alignment_is_right():
    bk = synth_bookings(hard=True)
    res = bt.run_backtest({"bookings": bk}, 12, forecaster=oracle_for(bk), n_draws=20)
    for level in LEVELS:
        mm = res.metrics["model"][level]
        assert mm["crps"] == pytest.approx(0.0, abs=1e-9)
        assert mm["coverage_80"] == 1.0 and mm["coverage_95"] == 1.0
        assert mm["mase"] == pytest.approx(0.0, abs=1e-9)
    # a useless baseline cannot beat the oracle
    assert res.metrics["seasonal_naive"]["total"]["crps"] > 0


def test_robust_on_hard_bookings_only_source():
    bk = synth_bookings(n_reps=5, hard=True, seed=3)
    res = bt.run_backtest({"bookings": bk}, 12, forecaster=climatology, n_draws=100)
    m = res.metrics
    for method in bt.METHODS:
        for level in LEVELS:
            for key in ("crps", "coverage_80", "coverage_95"):
                assert m[method][level][key] is not None and np.isfinite(m[method][level][key])
    reps = set(res.predictions.rep_id)
    assert {"SHORT", "CONST", "BREAK"} <= reps
    # the silent rep is judged gone (no reps table: last booking > 6 months before the end)
    assert "SILENT" not in set(res.scores.rep_id)
    # scores exist for the rep with only two months of history
    assert (res.scores.rep_id == "SHORT").sum() == 3 * 12
    assert res.metrics["metadata"]["n_reps"] == 5 + 4  # with training history, incl. SILENT
    assert res.metrics["metadata"]["n_reps_scored"] == 5 + 3  # SILENT is not scored


def test_reps_table_is_blinded_and_hires_passed():
    bk = synth_bookings(n_reps=4)
    reps = pd.DataFrame(
        {
            "rep_id": ["R0", "R1", "R2", "R3", "NEW", "MGR", "NEWSE"],
            "role": ["AE", "AE", "AE", "AE", "AE", "Manager", "SE"],
            "region": ["E", "E", "W", "W", "W", "W", "E"],
            "territory_id": ["T1", "T2", "T3", "T4", "T4", "T4", "T1"],
            "hire_date": pd.to_datetime(["2020-01-01", "2024-01-01", "2020-01-01", "2020-01-01", "2026-08-01",
                                         "2020-01-01", "2026-09-01"]),
            "term_date": pd.to_datetime([None, None, "2026-09-30", None, "2026-11-15", None, None]),
        }
    )
    new_rows = pd.DataFrame({"rep_id": ["NEW"] * 3, "date": pd.to_datetime(["2026-08-05", "2026-09-05", "2026-10-05"]),
                             "amount": [10.0, 20.0, 30.0]})
    bk = pd.concat([bk[~((bk.rep_id == "R2") & (pd.to_datetime(bk.date) >= "2026-10-01"))], new_rows])
    seen = {}

    def spy(panel, periods, hires, n_draws, seed):
        seen["term"] = dict(zip(panel.rep.values, panel.term_month.values))
        seen["hires"] = hires
        seen["end"] = str(panel.period.values[-1])
        return climatology(panel, periods, hires, n_draws, seed)

    res = bt.run_backtest({"bookings": bk, "reps": reps}, 6, forecaster=spy, n_draws=50, headcount="attrition")
    assert seen["end"] == "2026-06"
    assert seen["term"]["R2"] == ""  # the future departure is not revealed to the model
    assert "MGR" not in seen["term"]  # non-selling rep (no bookings, long tenure) left out
    assert list(seen["hires"].rep_id) == ["NEW"] and "term_date" not in seen["hires"]
    sc = res.scores[res.scores.method == "model"]
    # R2 is scored only while employed (Jul-Sep), NEW is not a training rep
    assert sorted(sc[sc.rep_id == "R2"].period) == ["2026-07", "2026-08", "2026-09"]
    assert "NEW" not in set(sc.rep_id)
    # the company total includes the new hire's bookings
    actual_total = bk[pd.to_datetime(bk.date).dt.to_period("M").astype(str) == "2026-10"].amount.sum()
    assert res.metrics["metadata"]["n_planned_hires"] == 1
    assert actual_total > 0


def _ones(panel, periods, hires, n_draws, seed):
    """Stand-in: 1.0 per employed rep-month (hires from their hire month, honouring term dates)."""
    reps = [str(r) for r in panel.rep.values[panel.active.values[:, -1]]]
    out = xr.Dataset({"bookings": xr.DataArray(np.ones((len(reps), len(periods), n_draws)),
                                               dims=("rep", "period", "draw"), coords={"rep": reps, "period": periods})})
    if hires is not None and len(hires):
        per = pd.PeriodIndex(periods, freq="M")
        hire = pd.to_datetime(hires.hire_date).dt.to_period("M")
        term = pd.to_datetime(hires.get("term_date"), errors="coerce").dt.to_period("M") if "term_date" in hires else None
        on = np.array([[(p >= h) and (term is None or pd.isna(term.iloc[i]) or p <= term.iloc[i]) for p in per]
                       for i, h in enumerate(hire)], float)
        out["hires"] = xr.DataArray(np.repeat(on[:, :, None], n_draws, 2), dims=("hire", "period", "draw"),
                                    coords={"hire": list(hires.rep_id), "period": periods})
    return out


@pytest.mark.parametrize("headcount, expect", [
    ("steady", [3, 3, 3, 3, 3, 3]),          # R0..R2 at the origin, staying
    ("hindsight", [3, 3, 3, 2, 3, 3]),       # R2 leaves in Sep; NEW hired in Nov
    ("attrition", [3, 3, 3, 3, 4, 4]),       # stand-in has no attrition; NEW joins in Nov
])
def test_headcount_modes_define_the_model_total(headcount, expect):
    bk = synth_bookings(n_reps=3)
    reps = pd.DataFrame({
        "rep_id": ["R0", "R1", "R2", "NEW"], "region": "E", "territory_id": "T1",
        "hire_date": pd.to_datetime(["2020-01-01"] * 3 + ["2026-11-01"]),
        "term_date": pd.to_datetime([None, None, "2026-09-30", None]),
    })
    bk = bk[~((bk.rep_id == "R2") & (pd.to_datetime(bk.date) >= "2026-10-01"))]
    res = bt.run_backtest({"bookings": bk, "reps": reps}, 6, forecaster=_ones, n_draws=4, headcount=headcount)
    tot = res.predictions[res.predictions.rep_id == bt.TOTAL_ID]
    assert tot["mean"].tolist() == [float(x) for x in expect]
    assert res.metrics["metadata"]["headcount"] == headcount
    if headcount == "steady":  # the total row is the sum of the rep rows
        reps_sum = res.predictions[res.predictions.rep_id != bt.TOTAL_ID].groupby("period")["mean"].sum()
        assert reps_sum.tolist() == tot["mean"].tolist()


def test_same_seed_same_numbers():
    bk = synth_bookings()
    a = bt.run_backtest({"bookings": bk}, 6, forecaster=climatology, n_draws=64, seed=5).metrics
    b = bt.run_backtest({"bookings": bk}, 6, forecaster=climatology, n_draws=64, seed=5).metrics
    assert {k: a[k] for k in bt.METHODS} == {k: b[k] for k in bt.METHODS}


@pytest.mark.parametrize("holdout", [0, -1, 34, 36, 50])
def test_bad_holdout_is_one_clear_line(holdout):
    bk = synth_bookings()
    with pytest.raises(InputError) as ei:
        bt.run_backtest({"bookings": bk}, holdout, forecaster=climatology)
    assert len(ei.value.problems) == 1 and "--holdout" in ei.value.problems[0]


def test_tiny_source_four_months():
    bk = synth_bookings(n_reps=3, months=4)
    res = bt.run_backtest({"bookings": bk}, 1, forecaster=climatology, n_draws=50)
    assert res.metrics["metadata"]["n_train_months"] == 3
    for method in bt.METHODS:
        assert np.isfinite(res.metrics[method]["rep"]["crps"])
        assert res.metrics[method]["rep"]["mase"] is not None  # lag-1 scale from 3 months
    with pytest.raises(InputError, match="the largest holdout is 1"):
        bt.run_backtest({"bookings": bk}, 2, forecaster=climatology)


def test_last_month_cuts_an_incomplete_month():
    bk = synth_bookings(n_reps=3, months=25)  # 2024-01 .. 2026-01
    res = bt.run_backtest({"bookings": bk}, 3, forecaster=climatology, n_draws=20, last_month="2025-12")
    assert res.metrics["metadata"]["periods"] == ["2025-10", "2025-11", "2025-12"]
    assert res.metrics["metadata"]["last_booking_date"] < "2026-01-01"
    with pytest.raises(InputError, match="--last-month"):
        bt.run_backtest({"bookings": bk}, 3, forecaster=climatology, last_month="Dec 2025x")
    assert res.metrics["metadata"]["last_month"] == "2025-12"
    # only YYYY-MM: pandas would read '2025' as 2025-01 and 'Sep 2025' as 2025-09
    for loose in ("2025", "Sep 2025", "06/2025", "2025-13"):
        with pytest.raises(InputError, match="not a month YYYY-MM"):
            bt.run_backtest({"bookings": bk}, 3, forecaster=climatology, last_month=loose)


def test_incomplete_last_months_are_flagged(tmp_path, monkeypatch, capsys):
    """One rep's rows run three months past the others': those months are named (metadata and a
    warning on stderr naming the --last-month that ends the data before them)."""
    from spm_models.forecast.panel import incomplete_last_months

    bk = synth_bookings(n_reps=6, months=36)  # 2024-01 .. 2026-12, every rep books most months
    assert incomplete_last_months(bk) == []
    late = pd.DataFrame({"rep_id": "R0", "date": pd.to_datetime(["2027-01-10", "2027-02-10", "2027-03-10"]),
                         "amount": 100.0})
    ragged = pd.concat([bk, late], ignore_index=True)
    assert incomplete_last_months(ragged) == ["2027-01", "2027-02", "2027-03"]
    monkeypatch.setattr(bt, "bayesian_forecaster", lambda **kw: climatology)
    src = _write_folder(tmp_path, ragged)
    out = tmp_path / "m.json"
    code = _main(["forecast", "backtest", "--data", str(src), "--holdout", "6", "--n-draws", "50", "--out", str(out)])
    cap = capsys.readouterr()
    assert code == 0, cap.err
    assert json.loads(out.read_text())["metadata"]["incomplete_last_months"] == ["2027-01", "2027-02", "2027-03"]
    assert "warning:" in cap.err and "2027-01..2027-03" in cap.err and "--last-month 2026-12" in cap.err
    assert cap.out.startswith("scored 2026-10..2027-03 (6 months")


def test_cli_outputs_must_be_different_files(tmp_path, monkeypatch, capsys):
    # before: the predictions overwrote METRICS.json's temp file and the run died on an internal path
    monkeypatch.setattr(bt, "bayesian_forecaster", lambda **kw: climatology)
    src = _write_folder(tmp_path, synth_bookings())
    out = tmp_path / "m.json"
    code = _main(["forecast", "backtest", "--data", str(src), "--holdout", "12", "--out", str(out),
                  "--predictions", str(tmp_path / "." / "m.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and err == [(f"error: --predictions: {tmp_path / '.' / 'm.json'} is also given as --out; "
                                 "give each output its own file")]
    assert not out.exists() and not list(tmp_path.glob(".*.tmp"))


def test_missing_bookings_table():
    with pytest.raises(InputError, match="bookings"):
        bt.run_backtest({"reps": pd.DataFrame()}, 3, forecaster=climatology)
    # a bookings file with a header only: named, not "bookings: table is empty"
    empty = synth_bookings(n_reps=1, months=3).iloc[:0]
    with pytest.raises(InputError, match=r"^src, table 'bookings': no rows \(a header only\?\)"):
        bt.run_backtest({"bookings": empty}, 3, forecaster=climatology, source="src")


# ------------------------------------------------------------------------------ CLI
def _write_folder(tmp_path: Path, bk: pd.DataFrame) -> Path:
    src = tmp_path / "src"
    src.mkdir()
    bk.assign(date=pd.to_datetime(bk.date).dt.strftime("%Y-%m-%d")).to_csv(src / "bookings.csv", index=False)
    return src


def _main(argv: list[str]) -> int:
    from spm_models.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_cli_end_to_end_with_stand_in_model(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(bt, "bayesian_forecaster", lambda **kw: climatology)
    src = _write_folder(tmp_path, synth_bookings(hard=True))
    out, pred = tmp_path / "metrics.json", tmp_path / "pred.csv"
    code = _main(["forecast", "backtest", "--data", str(src), "--holdout", "12", "--out", str(out),
                  "--predictions", str(pred), "--n-draws", "100", "--scores", str(tmp_path / "s.csv")])
    assert code == 0, capsys.readouterr().err
    m = json.loads(out.read_text())
    assert set(bt.METHODS) <= set(m)
    for method in bt.METHODS:
        for level in LEVELS:
            assert set(KEYS) <= set(m[method][level])
    p = pd.read_csv(pred, dtype={"rep_id": str, "period": str})
    assert list(p.columns) == PRED_COLUMNS
    assert p.period.str.fullmatch(r"\d{4}-\d{2}").all()
    assert (p.rep_id == "__total__").sum() == 12
    assert not list(tmp_path.glob(".*.tmp*"))
    # calibration plots next to METRICS.json: real PNGs
    for path in bt.plot_paths(out).values():
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", path


def test_cli_date_format_option_reads_month_first_exports(tmp_path, monkeypatch, capsys):
    """A US export whose every date could be day-first too (days <= 12): refused in one line
    that names the column, then read month-first with ``--date-format``."""
    monkeypatch.setattr(bt, "bayesian_forecaster", lambda **kw: climatology)
    bk = synth_bookings(n_reps=3, months=24)
    d = pd.to_datetime(bk.date)
    bk = bk.assign(date=d.dt.strftime("%m/") + np.minimum(d.dt.day, 12).map("{:02d}".format) + d.dt.strftime("/%Y"))
    src = tmp_path / "src"
    src.mkdir()
    bk.to_csv(src / "bookings.csv", index=False)
    out = tmp_path / "m.json"
    base = ["forecast", "backtest", "--data", str(src), "--holdout", "6", "--out", str(out), "--n-draws", "50"]
    assert _main(base) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bookings.csv, column 'date'" in err[0] and not out.exists()
    assert _main([*base, "--date-format", "MM/DD/YYYY"]) == 0, capsys.readouterr().err
    m = json.loads(out.read_text())
    # read month-first: 24 months, the last six held out (day-first would give other months)
    months = pd.period_range(d.min().to_period("M"), d.max().to_period("M"), freq="M").astype(str).tolist()
    assert m["metadata"]["periods"] == months[-6:]
    assert m["metadata"]["train_periods"] == [months[0], months[-7]]


@pytest.mark.parametrize("args", [["--headcount", "foo"], ["--standardise", "maybe"], ["--date-format", "YYYY-MM-DD"]])
def test_cli_value_outside_fixed_choices_is_a_usage_error(tmp_path, capsys, args):
    # README: a value outside an option's fixed choices is exit 2, one line
    src = _write_folder(tmp_path, synth_bookings(n_reps=2, months=20))
    code = _main(["forecast", "backtest", "--data", str(src), "--holdout", "3", "--out", str(tmp_path / "m.json"), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(f"error: {args[0]}")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--holdout", "40"], "--holdout"),
        (["--holdout", "0"], "--holdout"),
    ],
)
def test_cli_bad_input_exit_1_one_line(tmp_path, capsys, args, needle):
    src = _write_folder(tmp_path, synth_bookings())
    out = tmp_path / "m.json"
    code = _main(["forecast", "backtest", "--data", str(src), "--out", str(out), *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and needle in err[0]
    assert "Traceback" not in err[0] and not out.exists()


def test_cli_missing_source_exit_1(tmp_path, capsys):
    code = _main(["forecast", "backtest", "--data", str(tmp_path / "nope"), "--holdout", "3",
                  "--out", str(tmp_path / "m.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) >= 1 and all(line.startswith("error:") for line in err)


@pytest.mark.slow
def test_cli_real_model_fast_fit(tmp_path):
    """The real Bayesian model, fast (ADVI) fit, on a tiny bookings-only CSV folder."""
    src = _write_folder(tmp_path, synth_bookings(n_reps=3, months=20, seed=1))
    out, pred = tmp_path / "metrics.json", tmp_path / "pred.csv"
    proc = subprocess.run(
        [sys.executable, "-m", "spm_models.cli", "forecast", "backtest", "--data", str(src), "--holdout", "4",
         "--out", str(out), "--predictions", str(pred), "--fast", "--draws", "200", "--n-draws", "200"],
        check=False, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    m = json.loads(out.read_text())
    for level in LEVELS:
        assert 0 <= m["model"][level]["coverage_95"] <= 1 and m["model"][level]["crps"] > 0
    p = pd.read_csv(pred, dtype={"rep_id": str, "period": str})
    assert list(p.columns) == PRED_COLUMNS and len(p) == (3 + 1) * 4
    # provenance: the method asked for and the one that produced the forecast
    settings = m["metadata"]["settings"]
    assert settings["method"] == "fast"
    assert settings["method_used"] == m["metadata"]["diagnostics"]["method"]
    assert settings["method_used"] in ("map-laplace", "fast")


# ------------------------------------------------------------------------------ standardising
class _FakeModel:
    """Stands in for BookingsForecast: forecasts each rep's mean monthly amount (fit units)."""

    seen: ClassVar[list] = []

    def __init__(self, config=None):
        self.diagnostics = {"ok": True}

    def fit(self, panel, **kw):
        _FakeModel.seen.append(panel)
        self.panel = panel
        return self

    def forecast(self, start, months, n_draws=10, seed=0, future_reps=None, attrition=False):
        per = [str(p) for p in pd.period_range(start, periods=months, freq="M")]
        mean = self.panel["amount"].mean("period")
        reps = list(self.panel.rep.values)
        vals = np.repeat(mean.values[:, None], months, 1)
        if future_reps is not None:
            reps += list(future_reps.rep_id)
            vals = np.vstack([vals, np.ones((len(future_reps), months))])
        da = xr.DataArray(np.repeat(vals[:, :, None], n_draws, 2), dims=("rep", "period", "draw"),
                          coords={"rep": reps, "period": per, "territory_id": ("rep", ["t"] * len(reps))})
        return xr.Dataset({"bookings": da})


def test_standardise_detection_and_round_trip(monkeypatch):
    import spm_models.forecast.model as model_mod

    monkeypatch.setattr(model_mod, "BookingsForecast", _FakeModel)
    bk = synth_bookings(n_reps=6)  # scales 100 .. 100,000 (1000x)
    panel = bt.monthly_panel({"bookings": bk})
    assert bt.needs_standardising(panel)
    scale, common = bt.rep_scales(panel)
    assert float(scale.max() / scale.min()) > 300
    similar = synth_bookings(n_reps=1)
    similar = pd.concat([similar.assign(rep_id=f"S{i}") for i in range(5)])
    assert not bt.needs_standardising(bt.monthly_panel({"bookings": similar}))

    hires = pd.DataFrame({"rep_id": ["H"], "hire_date": ["2026-01-01"]})
    periods = ["2026-01", "2026-02"]
    for mode in ("on", "off"):
        _FakeModel.seen.clear()
        diag: dict = {}
        out = bt.bayesian_forecaster(standardise=mode, diagnostics=diag, headcount="attrition")(
            panel, periods, hires, 3, 0)
        fit_amount = _FakeModel.seen[0]["amount"]
        if mode == "on":
            # fitted in units of each rep's mean deal size: all reps on a similar scale
            assert float(abs(fit_amount).mean("period").max() / abs(fit_amount).mean("period").min()) < 10
            assert float(out["hires"].mean()) == pytest.approx(common)
        else:
            assert float(out["hires"].mean()) == pytest.approx(1.0)
        # forecasts are back in currency either way
        expect = panel["amount"].mean("period")
        np.testing.assert_allclose(out["bookings"].isel(period=0, draw=0).sel(rep=expect.rep).values, expect.values)
        assert diag["standardised"] is (mode == "on")
    with pytest.raises(InputError):
        bt.bayesian_forecaster(standardise="maybe")


def test_cli_output_folders_are_settled_before_the_fit(tmp_path, monkeypatch, capsys):
    """A missing output folder is made; an impossible one is refused before any fitting (a
    new user lost a 2-minute fit to "output folder does not exist" at the end)."""
    calls = []

    def forecaster(**kw):
        calls.append(kw)
        return climatology

    monkeypatch.setattr(bt, "bayesian_forecaster", forecaster)
    src = _write_folder(tmp_path, synth_bookings())
    (tmp_path / "afile").write_text("x")
    code = _main(["forecast", "backtest", "--data", str(src), "--holdout", "12", "--n-draws", "50",
                  "--out", str(tmp_path / "afile" / "METRICS.json")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1 and len(err) == 1 and err[0].startswith("error: --out: cannot create the folder")
    assert calls == []
    code = _main(["forecast", "backtest", "--data", str(src), "--holdout", "12", "--n-draws", "50",
                  "--out", str(tmp_path)])
    assert code == 1 and "is a folder" in capsys.readouterr().err and calls == []
    out = tmp_path / "new" / "sub" / "METRICS.json"
    code = _main(["forecast", "backtest", "--data", str(src), "--holdout", "12", "--n-draws", "50",
                  "--out", str(out)])
    assert code == 0, capsys.readouterr().err
    assert json.loads(out.read_text())["model"]["rep"]["crps"] > 0 and len(calls) == 1
