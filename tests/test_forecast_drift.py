"""The constant-slope (drift) trend set of the rep-month model and the exact stacking CRPS."""

import numpy as np
import pytest

from spm_models.forecast import dlm, rep_month, scoring


def test_mean_abs_difference_is_the_mean_over_all_pairs():
    rng = np.random.default_rng(0)
    x = np.round(rng.normal(size=(4, 37)), 1)  # ties within and across the samples
    y = np.round(rng.normal(1.0, 2.0, size=(4, 23)), 1)
    brute = np.abs(x[:, :, None] - y[:, None, :]).mean(axis=(1, 2))
    np.testing.assert_allclose(scoring.mean_abs_difference(x, y), brute, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(scoring.mean_abs_difference(y, x), brute, rtol=1e-12, atol=1e-12)
    self_pairs = np.abs(x[:, :, None] - x[:, None, :]).mean(axis=(1, 2))
    np.testing.assert_allclose(scoring.mean_abs_difference(x, x), self_pairs, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="at least one draw"):
        scoring.mean_abs_difference(x, y[:, :0])


def test_stacking_scores_are_the_exact_crps_of_the_mixture():
    rng = np.random.default_rng(1)
    R, h, n = 5, 4, 10
    y = rng.normal(size=(R, h))
    low = y[..., None] - 1.0 + 0.3 * rng.normal(size=(R, h, n))  # biased low
    high = y[..., None] + 1.0 + 0.3 * rng.normal(size=(R, h, n))  # biased high
    far = y[..., None] + 5.0 + rng.normal(size=(R, h, n))
    mask = np.ones((R, h), bool)
    mask[0, 0] = False
    scale = rng.uniform(0.5, 2.0, R)
    weights, scores = rep_month.stack_weights({"low": low, "high": high, "far": far}, y, mask, scale)
    # the 0.3 / 0.7 mixture as one sample: every draw of `low` 3 times, of `high` 7 times
    pooled = np.concatenate([np.repeat(low, 3, axis=-1), np.repeat(high, 7, axis=-1)], axis=-1)
    exact = np.mean((scoring.crps_draws(y, pooled) / scale[:, None])[mask])
    assert scores["low=0.3,high=0.7,far=0.0"] == pytest.approx(exact, rel=1e-12)
    # two candidates biased in opposite directions: the even mixture beats either alone
    assert weights == {"low": 0.5, "high": 0.5, "far": 0.0}
    assert scores["low=0.5,high=0.5,far=0.0"] < min(scores["low=1.0,high=0.0,far=0.0"],
                                                    scores["low=0.0,high=1.0,far=0.0"])
    assert len(scores) == 66  # the 0.1 grid of the simplex of three candidates
    # one overflowing draw in a candidate: only the weightings that use it are out
    broken = far.copy()
    broken[1, 2, 3] = np.inf
    w2, s2 = rep_month.stack_weights({"low": low, "high": high, "far": broken}, y, mask, scale)
    assert w2 == weights and np.isnan(s2["low=0.5,high=0.4,far=0.1"])
    assert s2["low=0.3,high=0.7,far=0.0"] == pytest.approx(exact, rel=1e-12)
    with pytest.raises(ValueError, match="no finite CRPS"):
        rep_month.stack_weights({"far": broken}, y, mask, scale)
    # equal candidates: the tie goes to the first weighting of the grid, not to rounding noise
    w3, _ = rep_month.stack_weights({"a": low, "b": low.copy()}, y, mask, scale)
    assert w3 == {"a": 0.0, "b": 1.0}
    assert len(rep_month._simplex_grid(12, 0.2)) == 4368


def _drift_panel(R=6, T=60, seed=5):
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    y = 100 + rng.normal(0, 3, (R, T))
    y[:3] += 2.0 * t  # a constant slope, the same in every year
    return y, np.ones((R, T), bool), t % 12


def test_drift_set_learns_a_constant_slope_and_reuses_the_shared_fits():
    y, act, month = _drift_panel()
    forms: dict = {}
    local = dlm.fit_dlm(y, act, month, family="ssoe", forms=forms)
    drift = dlm.fit_dlm(y, act, month, family="ssoe", trend="drift", forms=forms)
    assert local.info["trend"] == "local" and drift.info["trend"] == "drift"
    # one pooled fit serves both trend sets; the drift set's forms have a fixed seasonal pattern
    assert drift.u_map is local.u_map
    assert set(forms["local_fits"]) == {"damped", "linear", "none", "drift", "level"}
    assert np.all(drift.U_rep[:, 2] == dlm.NO_TREND) and not np.any(local.U_rep[:, 2] == dlm.NO_TREND)
    assert np.all(dlm._gains(dlm._theta(drift.U_rep), y.shape[0])[:, 2:] < 1e-9)  # gamma = 0
    th = dlm._theta(drift.U_rep)
    sloped = drift.U_rep[:, 8] != dlm.NO_TREND
    assert sloped[:3].all() and drift.info["n_reps_drift"] == int(sloped.sum())
    # the drift form: no trend disturbance and no damping -- the slope is a constant
    assert np.all(drift.U_rep[sloped, 1] == dlm.NO_TREND) and np.all(th["phi"][sloped] == 1.0)
    assert np.all(dlm._gains(dlm._theta(drift.U_rep), y.shape[0])[sloped, 1] < 1e-9)  # q_trend = 1e-10
    assert drift.info["n_reps_drift"] + drift.info["n_reps_no_trend"] == y.shape[0]
    assert drift.info["n_reps_linear_trend"] == 0
    # forecasts continue the slope (2 a month): 11 months between the first and last month
    med = np.median(drift.simulate(12, 600, np.random.default_rng(0)), axis=0)
    rise = med[:3, -1] - med[:3, 0]
    assert np.all(np.abs(rise - 22.0) < 6.0), rise
    flat = np.flatnonzero(~sloped)
    assert len(flat) and np.all(np.abs(med[flat, -1] - med[flat, 0]) < 4.0)
    with pytest.raises(ValueError, match="trend must be one of"):
        dlm.fit_dlm(y, act, month, trend="global")


def test_drift_components_are_candidates_and_fit_through_the_memo():
    import pandas as pd
    import xarray as xr

    y, act, _ = _drift_panel(R=4, T=40)
    periods = [str(p) for p in pd.period_range("2021-01", periods=y.shape[1], freq="M")]
    panel = xr.Dataset({"amount": (("rep", "period"), y), "active": (("rep", "period"), act),
                        "deals": (("rep", "period"), act.astype(int))},
                       coords={"rep": [f"r{i}" for i in range(4)], "period": periods})
    names = rep_month.candidates(panel, "dlm", "auto")
    assert names[len(names) // 2:] == [f"{c}:drift" for c in names[: len(names) // 2]]
    memo: dict = {}
    rep_drift = rep_month.fit_component("ssoe:rep:drift", panel, memo)
    assert rep_drift.info["transform"] == "rep" and rep_drift.info["trend"] == "drift"
    # its form counts are those of the chosen rows: each rep's form from the scale it took
    none_fit = rep_month.fit_component("ssoe:none:drift", panel, memo)
    log_fit = rep_month.fit_component("ssoe:log:drift", panel, memo)
    pick = np.asarray(rep_drift.info["log_reps"], bool)
    expect = np.where(pick, log_fit.info["trend_form_rep"], none_fit.info["trend_form_rep"])
    assert rep_drift.info["trend_form_rep"] == expect.tolist()
    assert rep_drift.info["n_reps_drift"] == int(np.sum(expect == "drift"))
    assert rep_drift.info["n_reps_no_trend"] == int(np.sum(expect == "level"))
    # a log-scale rep whose form differs between the scales is counted with its log form
    import dataclasses

    from spm_models.forecast import dlm_scale

    assert pick.any()
    forms_log = ["linear" if p else f for p, f in zip(pick, none_fit.info["trend_form_rep"])]
    forms_none = ["drift" if p else f for p, f in zip(pick, none_fit.info["trend_form_rep"])]
    mixed = dlm_scale.combine_scales(
        dataclasses.replace(none_fit, info={**none_fit.info, "trend_form_rep": forms_none}),
        dataclasses.replace(log_fit, info={**log_fit.info, "trend_form_rep": forms_log}))
    assert mixed.info["trend_form_rep"] == np.where(pick, forms_log, forms_none).tolist()
    assert mixed.info["n_reps_linear_trend"] == int(np.sum(pick)) != none_fit.info["n_reps_linear_trend"]
    assert mixed.info["n_reps_drift"] == forms_none.count("drift") - int(np.sum(pick))
    # the `rep` component is built from the two single-scale drift fits, which the memo keeps
    assert rep_month.fit_component("ssoe:none:drift", panel, memo).info["trend"] == "drift"
    assert sum(1 for k in memo if k[0] == "forms") == 2  # one shared form cache per scale
