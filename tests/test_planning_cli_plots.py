"""`spm plan` commands (the planning typer app) and planning plots."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
from typer.testing import CliRunner

from spm_models.cli.planning import app
from spm_models.planning.capacity import simulate_capacity
from spm_models.planning.quota import set_quotas
from spm_models.planning.synthetic import synthetic_accounts, synthetic_forecast
from spm_models.planning.territory import balance_territories
from spm_models.plots.planning import (
    plot_capacity,
    plot_quota_fairness,
    plot_territory_balance,
    plot_territory_map,
)

runner = CliRunner()


def test_cli_territory(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    synthetic_accounts(400, 4, seed=3).to_csv(src / "accounts.csv", index=False)
    out, metrics = tmp_path / "assign.csv", tmp_path / "m.json"
    res = runner.invoke(app, ["territory", "--data", str(src), "--out", str(out), "--metrics", str(metrics)])
    assert res.exit_code == 0, res.output
    df = pd.read_csv(out)
    assert len(df) == 400 and {"account_id", "territory_id", "moved"} <= set(df.columns)
    m = json.loads(metrics.read_text())
    assert m["after"]["cv_potential"] <= 0.05 and m["after"]["share_moved"] <= 0.2


def test_cli_quotas_and_bad_config(tmp_path):
    cube = tmp_path / "fc.nc"
    synthetic_forecast(n_reps=6, n_draws=400, seed=1).to_netcdf(cube)
    out, fair = tmp_path / "quotas.csv", tmp_path / "fair.json"
    res = runner.invoke(app, ["quotas", "--cube", str(cube), "--out", str(out), "--fairness", str(fair),
                              "--config", '{"method": "equal_probability", "probability": 0.7}'])
    assert res.exit_code == 0, res.output
    q = pd.read_csv(out)
    assert list(q.columns) == ["rep_id", "period", "quota"] and len(q) == 6 * 12
    assert json.loads(fair.read_text())["p_reach_mean"] == pytest_approx(0.7)
    bad = runner.invoke(app, ["quotas", "--cube", str(cube), "--out", str(out),
                              "--config", '{"method": "growth", "grwth": 0.1}'])
    assert bad.exit_code != 0 and "grwth" in str(bad.exception)


def pytest_approx(x):
    import pytest

    return pytest.approx(x, abs=0.01)


def test_cli_hiring(tmp_path):
    out = tmp_path / "h.json"
    res = runner.invoke(app, ["hiring", "--target", "5e7", "--probability", "0.8", "--start", "2027-01",
                              "--headcount", "30", "--productivity", "120000", "--draws", "300",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    sol = json.loads(out.read_text())
    assert sol["probability"] >= 0.8 > sol["probability_one_fewer"]


def test_plots_return_figures():
    acc = synthetic_accounts(300, 3, seed=1)
    r = balance_territories(acc, max_iter=2)
    fig = plot_territory_map(r.assignment, r.centres)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # accounts + centres
    assert ax.collections[0].get_offsets().shape == (300, 2)
    np.testing.assert_allclose(ax.collections[1].get_offsets()[:, 0], r.centres["lon"])
    fig2 = plot_territory_balance(r.centres["potential"] * 0 + 1, r.centres["potential"])
    assert isinstance(fig2, matplotlib.figure.Figure)
    fc = synthetic_forecast(n_reps=5, n_draws=200, seed=2)
    ds = set_quotas({"method": "equal_probability", "probability": 0.5}, fc)
    assert isinstance(plot_quota_fairness({"equal": ds["p_reach"]}), matplotlib.figure.Figure)
    cap = simulate_capacity("2027-01", 6, 10, hiring_plan=1, n_draws=50)
    assert isinstance(plot_capacity(cap, target=5e6), matplotlib.figure.Figure)
    matplotlib.pyplot.close("all")


def test_map_outlines_only_moved_accounts():
    a = pd.DataFrame({"lat": [0, 1, 2, 3.0], "lon": [0, 1, 2, 3.0], "territory_id": ["a", "a", "b", "b"],
                      "potential": [1, 2, 3, 4.0], "moved": [True, False, False, True]})
    fig = plot_territory_map(a)
    np.testing.assert_array_equal(fig.axes[0].collections[0].get_edgecolors()[:, 3], [1, 0, 0, 1])
    matplotlib.pyplot.close("all")


def _history(reps, amounts):
    """A bookings table with one booking per rep in 2026-06 (the growth base)."""
    return pd.DataFrame({"rep_id": reps, "date": pd.Timestamp("2026-06-15"), "amount": amounts})


def test_growth_rep_without_positive_base_gets_peer_median_not_zero():
    fc = synthetic_forecast(n_reps=4, n_draws=50, seed=1)
    reps = [str(r) for r in fc["rep"].values]
    region = np.asarray(fc["region"].values).astype(str)
    tables = {"bookings": _history(reps, [100_000.0, 200_000.0, -5_000.0, 300_000.0])}
    ds = set_quotas({"method": "growth", "growth": 0.1}, fc, tables)
    q = ds["annual_quota"].values
    assert np.all(q > 0)
    peers = [i for i in (0, 1, 3) if region[i] == region[2]] or [0, 1, 3]
    expected = float(np.median([(100_000.0, 200_000.0, None, 300_000.0)[i] for i in peers])) * 1.1
    assert q[2] == pytest_approx_rel(expected)
    assert q[0] == pytest_approx_rel(110_000.0) and ds.attrs["n_reps_no_growth_base"] == 1


def pytest_approx_rel(x):
    import pytest

    return pytest.approx(x, rel=1e-9)


def test_cli_quotas_months_as_text_no_zero_rows_and_bad_cubes(tmp_path):
    fc = synthetic_forecast(n_reps=3, n_draws=50, seed=2)
    fc = fc.assign_coords(period=pd.to_datetime([f"{p}-01" for p in fc["period"].values]))
    cube = tmp_path / "fc.nc"
    fc.to_netcdf(cube)
    out = tmp_path / "q.csv"
    res = runner.invoke(app, ["quotas", "--cube", str(cube), "--out", str(out),
                              "--config", '{"method": "equal_probability", "probability": 0.5}'])
    assert res.exit_code == 0, res.output
    q = pd.read_csv(out, dtype={"period": str})
    assert q["period"].iloc[0] == "2027-01" and (q["quota"] > 0).all()
    # bad cubes: one line naming the file, nothing written
    (tmp_path / "bad.nc").write_text("garbage\n")
    (tmp_path / "empty").mkdir()
    nan = fc.copy(deep=True)
    nan["bookings"][1, 3, 7] = np.nan
    nan.to_netcdf(tmp_path / "nan.nc")
    for name, words in (("bad.nc", "not a readable forecast cube"), ("empty", "not a readable"),
                        ("nan.nc", "1 missing or non-finite draws")):
        o = tmp_path / f"out_{name}.csv"
        r = runner.invoke(app, ["quotas", "--cube", str(tmp_path / name), "--out", str(o),
                                "--config", '{"method": "equal_probability", "probability": 0.5}'])
        assert r.exit_code != 0 and words in str(r.exception) and name in str(r.exception)
        assert "\n" not in str(r.exception) and not o.exists()


def test_cli_hiring_bad_input_names_flags_and_json_has_no_nan(tmp_path):
    out = tmp_path / "h.json"
    base = ["hiring", "--start", "2027-01", "--draws", "100", "--out", str(out)]
    for args, flag in ((["--target", "nan", "--headcount", "3", "--productivity", "1e5"], "--target"),
                       (["--target", "0", "--headcount", "0", "--productivity", "1e5"], "--target"),
                       (["--target", "1e6", "--headcount", "3", "--productivity", "-5"], "--productivity"),
                       (["--target", "1e6", "--headcount", "3", "--productivity", "1e5",
                         "--attrition", "2"], "--attrition")):
        r = runner.invoke(app, base + args)
        assert r.exit_code != 0 and str(r.exception).startswith(flag), (args, r.exception)
        assert not out.exists()
    # target met with no hires: no "one fewer" -> null, strict JSON
    r = runner.invoke(app, base + ["--target", "1000", "--headcount", "5", "--productivity", "1e5"])
    assert r.exit_code == 0, r.output
    sol = json.loads(out.read_text(), parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    assert sol["total_hires"] == 0 and sol["probability_one_fewer"] is None


def test_cli_territory_errors_name_flags(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    synthetic_accounts(60, 3, seed=1).to_csv(src / "accounts.csv", index=False)
    r = runner.invoke(app, ["territory", "--data", str(src), "--out", str(tmp_path / "t.csv"),
                            "--max-moved", "1.5"])
    assert r.exit_code != 0 and str(r.exception).startswith("--max-moved")


def test_quotas_read_hire_month_and_region_from_the_reps_table():
    """A cube without rep coordinates: the reps table says who is new and who their peers are."""
    fc = synthetic_forecast(n_reps=4, n_draws=50, seed=1).drop_vars(["region", "territory_id"], errors="ignore")
    reps = [str(r) for r in fc["rep"].values]
    tables = {"bookings": _history(reps, [120_000.0, 500_000.0, 50_000.0, 240_000.0]),
              "reps": pd.DataFrame({"rep_id": reps, "region": ["West", "East", "West", "East"],
                                    "hire_date": ["2020-01-01", "2020-01-01", "2026-10-01", "2020-01-01"]})}
    ds = set_quotas({"method": "growth", "growth": 0.1}, fc, tables)
    q = ds["annual_quota"].values
    from spm_models.planning.quota import ramp_share, with_rep_attributes

    share = float(ramp_share(with_rep_attributes(fc, tables), 3.0).values[2])
    assert 0 < share < 1
    # rep 3 (hired 2026-10) gets its West peer's growth quota x ramp share, not growth on 3 months
    assert q[2] == pytest_approx_rel(132_000.0 * share)
    assert ds.attrs["n_reps_new_rule"] == 1


def test_cli_quotas_refuses_a_cube_of_several_scenarios(tmp_path):
    import xarray as xr

    fc = synthetic_forecast(n_reps=3, n_draws=20, seed=2)
    two = xr.concat([fc, fc * 2], dim=pd.Index(["s1", "s2"], name="scenario"))
    two.to_netcdf(tmp_path / "two.nc")
    r = runner.invoke(app, ["quotas", "--cube", str(tmp_path / "two.nc"), "--out", str(tmp_path / "q.csv"),
                            "--config", '{"method": "equal_probability", "probability": 0.5}'])
    assert r.exit_code != 0 and "2 scenarios" in str(r.exception) and not (tmp_path / "q.csv").exists()
