"""Quota setting: known answers, equal probability, reconciliation, fairness, config errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spm_models.errors import InputError
from spm_models.planning.quota import (
    annual_draws,
    fairness_summary,
    gini,
    implied_probability,
    quota_fairness,
    set_quotas,
)
from spm_models.planning.synthetic import synthetic_forecast


@pytest.fixture(scope="module")
def cube() -> xr.Dataset:
    return synthetic_forecast(n_reps=20, n_draws=20_000, seed=3)


@pytest.fixture(scope="module")
def history(cube) -> dict[str, pd.DataFrame]:
    """Bookings in 2025 (outside last year), 2026 (last year) and 2027 (plan year, ignored)."""
    rng = np.random.default_rng(0)
    rows = []
    for i, rep in enumerate(cube["rep"].values):
        for month in pd.period_range("2025-01", "2027-03", freq="M"):
            for _ in range(2):
                rows.append((rep, month.to_timestamp() + pd.Timedelta(days=int(rng.integers(0, 27))),
                             float(rng.integers(1, 100)) * 1000 * (1 + i % 4)))
    bk = pd.DataFrame(rows, columns=["rep_id", "date", "amount"])
    bk.loc[5, "amount"] = -3000.0  # a cancellation
    acc = pd.DataFrame({
        "account_id": [f"A{i}" for i in range(40)],
        "zip": "10001",
        "potential": np.arange(1, 41) * 1e4,
        "rep_id": [cube["rep"].values[i % 20] for i in range(40)],
    })
    return {"bookings": bk, "accounts": acc}


def test_gini_known_answers():
    assert gini([1, 1, 1, 1]) == pytest.approx(0.0)
    assert gini([0, 0, 0, 1]) == pytest.approx(0.75)
    assert gini([1, 2, 3, 4]) == pytest.approx(0.25)
    assert gini([5.0]) == pytest.approx(0.0)
    x = np.random.default_rng(1).lognormal(0, 1, 50)
    brute = np.abs(x[:, None] - x[None, :]).sum() / (2 * x.size**2 * x.mean())
    assert gini(x) == pytest.approx(brute)


def test_equal_probability_every_rep_at_p(cube):
    p = 0.6
    ds = set_quotas({"method": "equal_probability", "probability": p}, cube)
    assert set(ds["quota"].dims) == {"rep", "period"}
    assert np.all(np.abs(ds["p_reach"].values - p) <= 0.02)
    # out of sample: fresh draws for the same reps
    fresh = synthetic_forecast(n_reps=20, n_draws=20_000, seed=3, draw_seed=99)
    fair = quota_fairness(ds["annual_quota"], fresh)
    assert np.all(np.abs(fair["p_reach"].values - p) <= 0.02), fair["p_reach"].values
    # monthly quotas add up to the annual quota, phased by the forecast's seasonality
    np.testing.assert_allclose(ds["quota"].sum("period").values, ds["annual_quota"].values, rtol=1e-12)
    q = ds["quota"].mean("rep").values
    assert q[11] > q[5]  # Q4 peak in the cube → larger December quota than June
    assert "territory_id" in ds.coords and "region" in ds.coords


def test_growth_known_answer(cube, history):
    g = 0.1
    ds = set_quotas({"method": "growth", "growth": g, "phasing": "flat"}, cube, history)
    bk = history["bookings"]
    in_2026 = pd.to_datetime(bk["date"]).dt.year == 2026
    expected = bk[in_2026].groupby("rep_id")["amount"].sum() * (1 + g)
    np.testing.assert_allclose(ds["annual_quota"].values, expected.reindex(ds["rep"].values).values)
    np.testing.assert_allclose(ds["quota"].values, np.broadcast_to(ds["annual_quota"].values[:, None] / 12, (20, 12)))
    # growth quotas ignore the reps' different forecast spreads → unequal P(reach)
    assert ds["p_reach_sd"].item() > 0.02


def test_top_down_sums_to_target(cube, history):
    target, over = 2.0e7, 1.1
    for by in ("potential", "history", "forecast"):
        ds = set_quotas({"method": "top_down", "target": target, "allocate_by": by, "over_assignment": over},
                        cube, history)
        assert ds["annual_quota"].sum().item() == pytest.approx(target * over, rel=1e-12)
        assert ds["quota"].sum().item() == pytest.approx(target * over, rel=1e-9)
    ds = set_quotas({"method": "top_down", "target": target, "allocate_by": "potential"}, cube, history)
    pot = history["accounts"].groupby("rep_id")["potential"].sum().reindex(ds["rep"].values).values
    np.testing.assert_allclose(ds["annual_quota"].values, target * pot / pot.sum())
    assert ds["gini_quota_to_potential"].item() == pytest.approx(0.0, abs=1e-12)
    ds = set_quotas({"method": "top_down", "target": target, "allocate_by": "forecast"}, cube)
    med = annual_draws(cube).median("draw").values
    np.testing.assert_allclose(ds["annual_quota"].values, target * med / med.sum())
    assert ds["quota_to_median_sd"].item() == pytest.approx(0.0, abs=1e-9)


def test_reconcile_with_target_reports_implied_p(cube):
    annual = annual_draws(cube)
    p_true = 0.7
    total = float(np.quantile(annual.values, 1 - p_true, axis=1).sum())
    over = 1.05
    ds = set_quotas({"method": "equal_probability", "target": total / over, "over_assignment": over,
                     "probability": 0.5}, cube)
    assert ds.attrs["implied_probability"] == pytest.approx(p_true, abs=1e-6)
    assert ds.attrs["probability_requested"] == 0.5
    assert ds["annual_quota"].sum().item() == pytest.approx(total, rel=1e-6)
    assert np.all(np.abs(ds["p_reach"].values - p_true) <= 0.02)
    # a higher target implies a lower common probability
    assert implied_probability(annual, total * 1.1) < p_true
    # without reconciliation the quotas follow the asked p and the implied p is only reported
    ds2 = set_quotas({"method": "equal_probability", "target": total / over, "over_assignment": over,
                      "probability": 0.5, "reconcile": False}, cube)
    assert np.all(np.abs(ds2["p_reach"].values - 0.5) <= 0.02)
    assert ds2.attrs["implied_probability"] == pytest.approx(p_true, abs=1e-6)


def test_target_out_of_reach_is_input_error(cube):
    annual = annual_draws(cube)
    with pytest.raises(InputError, match="target"):
        set_quotas({"method": "equal_probability", "target": float(annual.max("draw").sum()) * 2}, cube)


def test_fairness_figures(cube):
    annual = annual_draws(cube)
    q = annual.median("draw")  # quota = median → P(reach) = 0.5 everywhere
    fair = quota_fairness(q, cube, potential=xr.ones_like(q))
    s = fairness_summary(fair)
    assert s["p_reach_mean"] == pytest.approx(0.5, abs=1e-3)
    assert s["quota_to_median_mean"] == pytest.approx(1.0)
    assert s["expected_share_at_quota"] == pytest.approx(s["p_reach_mean"])
    assert s["gini_quota_to_potential"] == pytest.approx(gini(q.values))
    assert fair["share_at_quota"].dims == ("draw",)


@pytest.mark.parametrize(
    "config, key",
    [
        ({"method": "growth", "grwth": 0.1}, "grwth"),
        ({"method": "growth"}, "growth"),
        ({"method": "growthy", "growth": 0.1}, "method"),
        ({"growth": 0.1}, "method"),
        ({"method": "growth", "growth": "ten"}, "growth"),
        ({"method": "top_down", "target": 1e6, "allocate_by": "vibes"}, "allocate_by"),
        ({"method": "top_down"}, "target"),
        ({"method": "equal_probability", "probability": 1.5}, "probability"),
        ({"method": "equal_probability"}, "probability"),
        ({"method": "equal_probability", "probability": 0.5, "phasing": "weekly"}, "phasing"),
    ],
)
def test_bad_config_names_key(cube, config, key):
    with pytest.raises(InputError) as err:
        set_quotas(config, cube)
    assert f"'{key}'" in str(err.value)
    assert "scenario section 'quota'" in str(err.value)


def test_growth_without_history_is_input_error(cube):
    with pytest.raises(InputError, match="bookings"):
        set_quotas({"method": "growth", "growth": 0.1}, cube, None)


def test_bad_forecast_cube():
    with pytest.raises(InputError, match="bookings"):
        set_quotas({"method": "equal_probability", "probability": 0.5}, xr.Dataset())


def test_dask_backed_cube_gives_same_quotas(cube):
    small = cube.isel(draw=slice(0, 2000))
    eager = set_quotas({"method": "equal_probability", "probability": 0.6}, small)
    lazy = set_quotas({"method": "equal_probability", "probability": 0.6},
                      small.chunk({"rep": 5, "draw": 500}))
    np.testing.assert_allclose(lazy["quota"].values, eager["quota"].values)


def test_inactive_rep_is_left_out_of_fairness(cube):
    fc = cube.isel(draw=slice(0, 2000)).copy(deep=True)
    fc["bookings"][0] = 0.0  # rep inactive for the whole plan year
    ds = set_quotas({"method": "equal_probability", "probability": 0.6}, fc)
    assert not bool(ds["evaluated"][0]) and int(ds["n_reps_evaluated"]) == 19
    assert ds["p_reach_max"].item() == pytest.approx(0.6, abs=1e-3)
