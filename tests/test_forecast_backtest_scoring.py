"""Scoring functions and baselines of the forecast backtest, against known answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from spm_models.forecast import baselines, scoring


# ------------------------------------------------------------------------------ CRPS
def test_crps_of_point_mass_is_absolute_error():
    y = np.array([0.0, 3.0, -2.5, 10.0])
    draws = np.repeat(np.array([1.0, 1.0, 1.0, -4.0])[:, None], 7, axis=1)
    np.testing.assert_allclose(scoring.crps_draws(y, draws), np.abs(y - draws[:, 0]))


def test_crps_standard_normal_at_zero():
    draws = np.random.default_rng(1).standard_normal(200_000)
    expected = 2 * norm.pdf(0) - 1 / math.sqrt(math.pi)  # 0.23370...
    assert expected == pytest.approx(0.2337, abs=1e-4)
    assert scoring.crps_draws(0.0, draws) == pytest.approx(expected, abs=3e-3)


def test_crps_matches_closed_form_normal():
    mu, sd, y = 2.0, 3.0, 4.5
    z = (y - mu) / sd
    closed = sd * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / math.sqrt(math.pi))
    draws = scoring.normal_draws(np.array(mu), np.array(sd), 4000)
    assert scoring.crps_draws(y, draws) == pytest.approx(closed, rel=2e-3)


def test_crps_sorted_formula_equals_pairwise_definition():
    rng = np.random.default_rng(0)
    x = rng.gamma(2.0, size=(5, 31))
    y = rng.normal(size=5)
    brute = np.abs(x - y[:, None]).mean(1) - 0.5 * np.abs(x[:, :, None] - x[:, None, :]).mean((1, 2))
    np.testing.assert_allclose(scoring.crps_draws(y, x), brute, rtol=1e-12)
    # two-point ensemble {0, 1} at 0: 0.5 - 0.25
    assert scoring.crps_draws(0.0, np.array([0.0, 1.0])) == pytest.approx(0.25)


def test_crps_prefers_the_true_distribution():
    rng = np.random.default_rng(3)
    y = rng.normal(size=2000)
    good = scoring.crps_draws(y, np.broadcast_to(scoring.normal_draws(np.array(0.0), np.array(1.0), 200), (2000, 200)))
    wide = scoring.crps_draws(y, np.broadcast_to(scoring.normal_draws(np.array(0.0), np.array(3.0), 200), (2000, 200)))
    assert good.mean() < wide.mean()


# ------------------------------------------------------------------------------ MASE
def test_mase_known_answer_nonseasonal():
    history = np.array([1.0, 2.0, 3.0, 4.0, 5.0])  # lag-1 scale = 1
    assert scoring.seasonal_period(len(history)) == 1
    assert scoring.mase([6.0, 7.0], [5.0, 5.0], history) == pytest.approx(1.5)


def test_mase_known_answer_seasonal():
    base = np.arange(12, dtype=float)
    history = np.concatenate([base, base + 2.0])  # 24 months: lag-12 differences all 2
    assert scoring.seasonal_period(len(history)) == 12
    assert scoring.mase_scale(history) == pytest.approx(2.0)
    assert scoring.mase([10.0, 20.0], [11.0, 17.0], history) == pytest.approx(2.0 / 2.0)


def test_mase_undefined_for_constant_or_too_short_history():
    assert math.isnan(scoring.mase([1.0], [2.0], np.full(10, 3.0)))
    assert math.isnan(scoring.mase([1.0], [2.0], np.array([3.0])))


# ------------------------------------------------------------------------------ coverage / quantiles
def test_coverage_closed_interval():
    got = scoring.covered(np.array([0.0, 1.0, 2.0, 3.0]), np.array([0.0, 0.0, 0.0, 0.0]), np.array([0.0, 1.0, 1.5, 5.0]))
    assert got.tolist() == [True, True, False, True]


def test_quantiles_from_draws():
    q = scoring.quantiles_from_draws(np.arange(1001, dtype=float)[None, :])
    assert q["mean"][0] == pytest.approx(500.0)
    assert q["q50"][0] == pytest.approx(500.0)
    assert q["q025"][0] == pytest.approx(25.0)
    assert q["q975"][0] == pytest.approx(975.0)
    assert list(q) == ["mean", *scoring.PRED_QUANTILES]


def test_normal_draws_have_the_right_moments():
    d = scoring.normal_draws(np.array([5.0]), np.array([2.0]), 2000)
    assert d.mean() == pytest.approx(5.0, abs=1e-9)
    assert d.std() == pytest.approx(2.0, rel=1e-2)


# ------------------------------------------------------------------------------ baselines
def _seasonal(n: int, noise: float, rng: np.random.Generator, level: float = 100.0) -> np.ndarray:
    t = np.arange(n)
    return level * (1 + 0.4 * np.cos(2 * np.pi * (t - 10) / 12)) + noise * rng.standard_normal(n)


def test_seasonal_naive_repeats_an_exact_season():
    y = _seasonal(36, 0.0, np.random.default_rng(0))
    d = baselines.seasonal_naive(y, 14, 50)
    expect = np.concatenate([y[24:36], y[24:26]])
    np.testing.assert_allclose(d, np.repeat(expect[:, None], 50, axis=1))


def test_seasonal_naive_short_history_is_naive():
    y = np.array([3.0, 5.0, 4.0, 6.0, 5.0, 7.0, 6.0, 8.0])
    d = baselines.seasonal_naive(y, 3, 101)
    med = np.median(d, axis=1)
    diffs = np.diff(y)
    # horizon h uses the lag-h in-sample errors around the last value
    assert med[0] == pytest.approx(y[-1] + np.median(diffs), abs=0.6)
    assert np.all(np.isfinite(d))


def test_seasonal_naive_intervals_are_calibrated_on_seasonal_noise():
    rng = np.random.default_rng(7)
    hits80 = hits95 = n = 0
    for _ in range(150):
        y = _seasonal(48, 8.0, rng)
        d = baselines.seasonal_naive(y[:36], 12, 400)
        q = scoring.quantiles_from_draws(d)
        hits80 += scoring.covered(y[36:], q["q10"], q["q90"]).sum()
        hits95 += scoring.covered(y[36:], q["q025"], q["q975"]).sum()
        n += 12
    assert 0.72 <= hits80 / n <= 0.88
    # 24 in-sample errors: empirical 2.5 % / 97.5 % quantiles are a little narrow
    assert 0.85 <= hits95 / n <= 0.985


def test_seasonal_naive_borrows_pooled_errors_when_history_is_tiny():
    rng = np.random.default_rng(2)
    series = [_seasonal(36, 5.0, rng) for _ in range(5)] + [np.array([100.0, 90.0])]
    d = baselines.baseline_draws("seasonal_naive", series, 6, 200)
    assert d.shape == (6, 6, 200)
    assert np.ptp(d[-1, 0]) > 0  # spread borrowed from the pool, scaled to the rep
    assert np.all(np.isfinite(d))


def test_ets_tracks_seasonal_data_and_is_roughly_calibrated():
    rng = np.random.default_rng(11)
    hits80 = n = 0
    errs = []
    for _ in range(40):
        y = _seasonal(48, 5.0, rng)
        d = baselines.ets(y[:36], 12, 400)
        q = scoring.quantiles_from_draws(d)
        truth = _seasonal(48, 0.0, rng)[36:]
        errs.append(np.mean(np.abs(q["q50"] - truth)))
        hits80 += scoring.covered(y[36:], q["q10"], q["q90"]).sum()
        n += 12
    assert np.mean(errs) < 10.0  # seasonal amplitude is 40: the season is captured
    assert 0.65 <= hits80 / n <= 0.95


@pytest.mark.parametrize(
    "y",
    [np.array([5.0]), np.array([5.0, 7.0]), np.array([1.0, -3.0, 2.0]), np.zeros(30), np.full(30, 4.0)],
)
def test_baselines_never_crash_on_degenerate_series(y):
    for method in baselines.BASELINES:
        d = baselines.baseline_draws(method, [y, _seasonal(30, 3.0, np.random.default_rng(0))], 5, 64)
        assert d.shape == (2, 5, 64)
        assert np.all(np.isfinite(d))
    np.testing.assert_allclose(baselines.ets(np.full(30, 4.0), 3, 8), 4.0)


def test_unknown_baseline_raises():
    with pytest.raises(ValueError):
        baselines.baseline_draws("arima", [np.ones(5)], 2, 4)


def test_pit_is_uniform_for_calibrated_draws_and_mid_for_point_masses():
    from spm_models.forecast.scoring import pit_from_draws

    rng = np.random.default_rng(0)
    y = rng.normal(size=4000)
    draws = rng.normal(size=(4000, 400))
    pit = pit_from_draws(y, draws)
    hist = np.histogram(pit, bins=10, range=(0, 1))[0] / len(pit)
    assert np.all(np.abs(hist - 0.1) < 0.025)
    # too-narrow forecasts pile PIT values at the edges
    narrow = pit_from_draws(y, 0.3 * draws)
    assert np.mean((narrow < 0.1) | (narrow > 0.9)) > 0.4
    # an exact zero month under a point mass at zero sits in the middle
    assert pit_from_draws(np.zeros(1), np.zeros((1, 50)))[0] == 0.5
