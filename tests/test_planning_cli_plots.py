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
