"""The pooled rep-month DLM (spm_models.forecast.dlm) and ``model: auto``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special

from spm_models.forecast import dlm


def _reference_filter(z, act, m0, par):
    """Textbook West & Harrison conjugate filter with an explicit G matrix (reference)."""
    R, T = z.shape
    G = np.zeros((dlm.NX, dlm.NX))
    F = np.zeros(dlm.NX)
    F[0] = F[2] = 1.0
    ll = np.zeros(R)
    for r in range(R):
        ql, qb, qs, phi, ks, n, S = par[r, :7]
        G[:] = 0
        G[0, 0], G[0, 1], G[1, 1] = 1.0, phi, phi
        G[2, 2:] = -1.0
        for i in range(1, dlm.NS):
            G[2 + i, 1 + i] = 1.0
        W = np.diag(np.r_[ql, qb, qs, np.zeros(dlm.NS - 1)])
        C = np.diag(np.r_[dlm.KAPPA_LEVEL, par[r, 8], np.full(dlm.NS, ks)])
        m = m0[r].copy()
        for t in range(T):
            if not act[r, t]:
                continue
            a = G @ m
            if par.shape[1] > 9 and par[r, 9] > 0.5:
                # single source of error: x_t = G x_{t-1} + g e_t, z_t = F G x_{t-1} + e_t
                alpha = ql / (1 + ql)
                g = np.r_[alpha, alpha * qb / (1 + qb), (1 - alpha) * qs / (1 + qs), np.zeros(dlm.NS - 1)]
                P = G @ C @ G.T
                q = F @ P @ F + 1.0
                K = P @ F + g  # Cov(x_t, z_t)
                Rm = P + np.outer(g, g)  # Var(x_t)
            else:
                Rm = G @ C @ G.T + W
                q = F @ Rm @ F + 1.0
                K = Rm @ F
            f = F @ a
            e = z[r, t] - f
            qs_ = S * q
            ll[r] += (special.gammaln((n + 1) / 2) - special.gammaln(n / 2) - 0.5 * np.log(n * np.pi * qs_)
                      - (n + 1) / 2 * np.log1p(e**2 / (n * qs_)))
            A = K / q
            m = a + A * e
            C = Rm - np.outer(A, A) * q
            S = (n * S + e**2 / q) / (n + 1)
            n = n + 1
    return ll


def _panel_arrays(R=6, T=40, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(T)
    month = t % 12
    scale = 10.0 ** rng.uniform(0, 3, R)
    y = (1 + 0.01 * t + 0.3 * np.sin(2 * np.pi * month / 12) + rng.normal(0, 0.1, (R, T))) * scale[:, None]
    act = np.ones((R, T), bool)
    act[0, :10] = False  # a rep hired later
    if R >= 4:
        y[1, 5:8] = 0.0  # zero months
        y[2, 20] = -0.5 * scale[2]  # a negative month (cancellation)
        y[3, 25:] *= 1.8  # a level shift
    return y, act, month


def test_compiled_filter_matches_textbook_filter():
    y, act, month = _panel_arrays()
    prep = dlm.prepare(y, act, month)
    rng = np.random.default_rng(1)
    U = np.tile(dlm.PRIOR_MEAN, (y.shape[0], 1)) + rng.normal(0, 0.5, (y.shape[0], len(dlm.PRIOR_MEAN)))
    th = dlm._theta(U)
    par = np.stack([th[k] for k in dlm.THETA_NAMES], axis=1)
    m0 = prep.m0.copy()
    m0[:, 2:] *= th["season_weight"][:, None]
    U[:, 9] = 0.0  # DLM form
    th = dlm._theta(U)
    par = np.stack([th[k] for k in dlm.THETA_NAMES], axis=1)
    np.testing.assert_allclose(dlm.filter_loglik(prep, U), _reference_filter(prep.z, act, m0, par), rtol=1e-9)
    U[::2, 9] = 1.0  # every other rep in the single-source-of-error form
    th = dlm._theta(U)
    par = np.stack([th[k] for k in dlm.THETA_NAMES], axis=1)
    ll = dlm.filter_loglik(prep, U)
    np.testing.assert_allclose(ll, _reference_filter(prep.z, act, m0, par), rtol=1e-9)
    U[::2, 9] = 0.0
    assert np.all(np.abs(dlm.filter_loglik(prep, U)[::2] - ll[::2]) > 1e-3)  # the forms differ


def _transition(phi: float) -> np.ndarray:
    """The DLM's state transition matrix G written out (level, damped trend, seasons), the
    reference the filter's ``_apply_G`` is checked against."""
    G = np.zeros((dlm.NX, dlm.NX))
    G[0, 0], G[0, 1], G[1, 1] = 1.0, phi, phi
    G[2, 2:] = -1.0
    for i in range(1, dlm.NS):
        G[2 + i, 1 + i] = 1.0
    return G


def test_multistep_draws_match_the_exact_predictive_in_both_forms():
    """One model definition, both families: the simulator's 6-month-ahead draws have the mean
    and variance of the exact h-step predictive computed with explicit matrices from the
    filter's end state (DLM: ``P <- G P G' + W``; single source of error: ``P <- G P G'``,
    variance read off, then ``P += g g'``)."""
    y, act, month = _panel_arrays(R=4, T=40)
    fit = dlm.fit_dlm(y, act, month, local=False)
    U = fit.U_rep.copy()
    U[1::2, 9] = 1.0
    U[1::2, 0], U[1::2, 1], U[1::2, 2] = np.log(0.5), np.log(0.3), np.log(0.2)
    _, m, C, n, S = dlm.filter_loglik(fit.prep, U, keep=True)
    th = dlm._theta(U)
    sim = dlm.DLMFit(fit.prep, fit.u_map, np.zeros_like(fit.u_cov), U, dict(fit.info, rho=0.0))
    z = sim.simulate(6, 60000, np.random.default_rng(2), n_theta=1) / fit.prep.scale[None, :, None]
    F = np.zeros(dlm.NX)
    F[0] = F[2] = 1.0
    for r in range(4):
        G = _transition(th["phi"][r])
        a, P = m[r], C[r]
        ql, qb, qs = th["q_level"][r], th["q_trend"][r], th["q_season"][r]
        alpha = ql / (1 + ql)
        g = np.r_[alpha, alpha * qb / (1 + qb), (1 - alpha) * qs / (1 + qs), np.zeros(dlm.NS - 1)]
        W = np.diag(np.r_[ql, qb, qs, np.zeros(dlm.NS - 1)])
        for _ in range(6):
            a = G @ a
            if r % 2:
                P = G @ P @ G.T
                q = F @ P @ F + 1.0
                P = P + np.outer(g, g)
            else:
                P = G @ P @ G.T + W
                q = F @ P @ F + 1.0
        var = S[r] * q * n[r] / (n[r] - 2)
        assert abs(z[:, r, 5].mean() - F @ a) < 4 * np.sqrt(var / z.shape[0])
        assert z[:, r, 5].var() == pytest.approx(var, rel=0.06)


def test_forecast_draws_follow_the_filters_predictive():
    """One model definition: the simulator's one-month-ahead draws have the mean and variance
    of the conjugate filter's Student-t predictive (with the hyper-parameters at their mode)."""
    y, act, month = _panel_arrays(R=3, T=36)
    fit = dlm.fit_dlm(y, act, month, local=False)
    draws = fit.simulate(1, 40000, np.random.default_rng(0), n_theta=1)[:, :, 0]
    _, m, C, n, S = dlm.filter_loglik(fit.prep, fit.U_rep, keep=True)
    th = dlm._theta(fit.U_rep)
    for r in range(3):
        G = _transition(th["phi"][r])
        F = np.zeros(dlm.NX)
        F[0] = F[2] = 1.0
        W = np.diag(np.r_[th["q_level"][r], th["q_trend"][r], th["q_season"][r], np.zeros(dlm.NS - 1)])
        f = F @ G @ m[r]
        var = S[r] * (F @ (G @ C[r] @ G.T + W) @ F + 1.0) * n[r] / (n[r] - 2)
        z = draws[:, r] / fit.prep.scale[r]
        assert abs(z.mean() - f) < 4 * np.sqrt(var / len(z))
        assert z.var() == pytest.approx(var, rel=0.06)


def test_per_rep_scaling_and_odd_months():
    """Zero and negative months, a level shift and 1000x scales: finite forecasts, and a rep's
    forecast scales exactly with its amounts (per-rep standardisation)."""
    y, act, month = _panel_arrays()
    a = dlm.fit_dlm(y, act, month).simulate(6, 200, np.random.default_rng(3))
    y2 = y.copy()
    y2[4] *= 1000.0
    b = dlm.fit_dlm(y2, act, month).simulate(6, 200, np.random.default_rng(3))
    assert np.isfinite(a).all()
    a[:, 4] *= 1000.0
    rel = np.abs(b - a).max(axis=(0, 2)) / np.abs(a).mean(axis=(0, 2))
    assert rel.max() < 1e-3  # equal up to the optimiser's round-off


def test_fit_is_deterministic():
    y, act, month = _panel_arrays()
    f1, f2 = dlm.fit_dlm(y, act, month), dlm.fit_dlm(y, act, month)
    np.testing.assert_array_equal(f1.U_rep, f2.U_rep)
    np.testing.assert_array_equal(f1.simulate(3, 50, np.random.default_rng(0)),
                                  f2.simulate(3, 50, np.random.default_rng(0)))


def _amount_tables(R=8, T=40, seed=2):
    y, act, _ = _panel_arrays(R, T, seed)
    periods = pd.period_range("2022-01", periods=T, freq="M")
    rows = [(f"r{r}", str(periods[t].to_timestamp().date()), y[r, t]) for r in range(R) for t in range(T) if act[r, t]]
    bk = pd.DataFrame(rows, columns=["rep_id", "date", "amount"])
    reps = pd.DataFrame({"rep_id": [f"r{r}" for r in range(R)], "region": "all",
                         "territory_id": [f"t{r}" for r in range(R)],
                         "hire_date": [str(periods[int(np.argmax(act[r]))].to_timestamp().date()) for r in range(R)]})
    return {"bookings": bk, "reps": reps}


def test_auto_chooses_by_validation_and_round_trips(tmp_path):
    from spm_models.forecast import BookingsForecast, monthly_panel

    panel = monthly_panel(_amount_tables())
    m = BookingsForecast().fit(panel, seed=0)
    sel = m.diagnostics["model_selection"]
    # one amount per rep-month: the deal model is not a candidate; both families on both scales
    # and with each rep's scale chosen by evidence are
    local = ["dlm:none", "dlm:log", "ssoe:none", "ssoe:log", "dlm:rep", "ssoe:rep"]
    # ... each with the moving (local) trend forms, then with the constant-slope (drift) ones
    assert sel["candidates"] == local + [f"{c}:drift" for c in local]
    assert set(sel["validation_crps"]) == set(sel["candidates"])
    assert abs(sum(m.weights.values()) - 1) < 1e-9
    assert sel["validation_crps_chosen"] <= min(sel["validation_crps"].values()) + 1e-12
    fc = m.forecast("2025-05", 6, n_draws=100, seed=4)
    assert fc["bookings"].shape == (8, 6, 100)
    m.save(tmp_path / "fit")
    again = BookingsForecast.load(tmp_path / "fit").forecast("2025-05", 6, n_draws=100, seed=4)
    np.testing.assert_array_equal(fc["bookings"].values, again["bookings"].values)
    hires = pd.DataFrame({"rep_id": ["new"], "hire_date": ["2025-06-01"]})
    fh = m.forecast("2025-05", 6, n_draws=50, seed=1, future_reps=hires)
    assert float(fh["bookings"].sel(rep="new", period="2025-05").sum()) == 0.0
    assert float(abs(fh["bookings"].sel(rep="new", period="2025-07")).sum()) > 0.0


def test_bad_model_options_are_one_clear_error():
    from spm_models.errors import InputError
    from spm_models.forecast import ForecastConfig

    with pytest.raises(InputError, match="field 'model'"):
        ForecastConfig.from_dict({"model": "magic"})
    with pytest.raises(InputError, match="dlm_transform"):
        ForecastConfig.from_dict({"dlm_transform": "sqrt"})
    with pytest.raises(InputError, match="auto_holdout"):
        ForecastConfig.from_dict({"auto_holdout": 0})
    for bad in (5, 0, True, 1.5, "2"):  # True is an int in Python: refused all the same
        with pytest.raises(InputError, match="auto_origins"):
            ForecastConfig.from_dict({"auto_origins": bad})
    for bad in (2, True, 37):  # a window under 3 months cannot score a choice
        with pytest.raises(InputError, match="auto_holdout"):
            ForecastConfig.from_dict({"auto_holdout": bad})
    # existing scenario sections (deal-model keys only) stay valid, model defaults to auto
    assert ForecastConfig.from_dict({"count_likelihood": "negbin"}).model == "auto"


def test_local_dynamics_reach_each_reps_mode():
    """The per-rep Newton search ends at every rep's own mode: no small move of any rep's
    local parameters (inside the bounds) lowers that rep's objective."""
    y, act, month = _panel_arrays(R=6, T=48, seed=4)
    fit = dlm.fit_dlm(y, act, month)
    assert fit.info["local_converged"] and fit.info["local_unconverged_reps"] == 0
    prep, u = fit.prep, fit.u_map
    mu = u[list(dlm.LOCAL)]

    def objective(U):
        V = U[:, dlm.LOCAL]
        return -dlm.filter_loglik(prep, U) + 0.5 * np.sum(((V - mu) / dlm.TAU_LOCAL) ** 2, axis=1)

    f0 = objective(fit.U_rep)
    lo, hi = mu - 3 * dlm.TAU_LOCAL, mu + 3 * dlm.TAU_LOCAL
    no_trend = fit.U_rep[:, 1] == dlm.NO_TREND  # reps in the no-trend form keep trend fixed
    linear = fit.U_rep[:, 3] == dlm.PHI_LINEAR_U
    for i, j in enumerate(dlm.LOCAL):
        for step in (-0.05, 0.05):
            U = fit.U_rep.copy()
            U[:, j] = np.clip(U[:, j] + step, lo[i], hi[i])
            if j in (1, 8):
                U[no_trend] = fit.U_rep[no_trend]
            if j == 3:  # reps in the linear form keep phi = 1
                U[linear] = fit.U_rep[linear]
            assert np.all(objective(U) >= f0 - 1e-6), (dlm.THETA_NAMES[j], step)


def test_trend_form_chosen_per_rep_by_evidence():
    """A rep with a steady trend takes the linear form (phi = 1), a rep whose growth dies out
    the damped form (phi < 1), flat noisy reps the no-trend form (Laplace evidence over each
    form's own parameters), and no-trend forecasts are flat."""
    rng = np.random.default_rng(7)
    R, T = 6, 60
    t = np.arange(T)
    month = t % 12
    y = 100 + rng.normal(0, 5, (R, T))
    y[0] += 3.0 * t  # a strong steady trend
    y[1] += 40 * (1 - 0.93**t)  # growth that dies out
    fit = dlm.fit_dlm(y, np.ones((R, T), bool), month)
    no_trend = fit.U_rep[:, 1] == dlm.NO_TREND
    phi = dlm._theta(fit.U_rep)["phi"]
    assert not no_trend[0] and phi[0] == 1.0
    assert not no_trend[1] and phi[1] < 0.97
    assert no_trend[2:].sum() >= 3
    assert fit.info["n_reps_no_trend"] == int(no_trend.sum())
    assert fit.info["n_reps_linear_trend"] == 1
    med = np.median(fit.simulate(12, 400, np.random.default_rng(0)), axis=0)
    assert med[0, -1] - med[0, 0] > 15  # the trend continues
    r = int(np.flatnonzero(no_trend)[0])
    assert abs(med[r, -1] - med[r, 0]) < 6  # flat



def test_ssoe_family_fits_every_rep_in_its_form_and_rejects_unknown_families():
    y, act, month = _panel_arrays(R=5, T=48, seed=3)
    fit = dlm.fit_dlm(y, act, month, family="ssoe")
    assert fit.info["family"] == "ssoe" and np.all(fit.U_rep[:, 9] == 1.0)
    assert fit.u_cov[9, 9] == 0.0  # the form is fixed, not drawn
    draws = fit.simulate(12, 200, np.random.default_rng(0))
    assert np.isfinite(draws).all()
    # the per-rep mode maximises the rep's objective in its form, as for the DLM
    assert fit.info["local_converged"]
    assert np.all(dlm.fit_dlm(y, act, month).U_rep[:, 9] == 0.0)
    with pytest.raises(ValueError, match="family"):
        dlm.fit_dlm(y, act, month, family="arima")


def test_log_scale_draws_are_capped_at_ten_times_the_largest_month():
    y, act, month = _panel_arrays(R=5, T=36, seed=1)
    y[0] = np.abs(y[0]) + 1.0  # all positive: log scale
    prep = dlm.prepare(y, act, month, "log")
    assert prep.log[0]
    z = np.full((2, 5, 3), 40.0)  # absurd draws on the model scale
    out = dlm._unstandardise(prep, z)
    assert np.allclose(out[:, 0], dlm.LOG_CAP * y[0, act[0]].max())
    add = ~prep.log
    assert np.allclose(out[:, add], 40.0 * prep.scale[add][None, :, None])  # additive reps untouched


def _ets_damped_recursion(z, level, trend, alpha, beta, phi):
    """Textbook ETS(A,Ad,N) recursion (Gardner & McKenzie 1985; Hyndman, Koehler, Ord & Snyder
    2008, Table 2.1): one-step forecast ``l + phi b``, then ``l += phi b + alpha e``,
    ``b = phi b + beta e``; and the h-step forecast ``l + (phi + ... + phi^h) b``."""
    f = np.zeros(len(z))
    for t, v in enumerate(z):
        f[t] = level + phi * trend
        e = v - f[t]
        level, trend = level + phi * trend + alpha * e, phi * trend + beta * e
    return f, level, trend


@pytest.mark.parametrize("phi", [0.9, 1.0])
def test_ssoe_filter_with_known_start_is_the_damped_trend_recursion(phi):
    """With the initial state known (no prior variance) and no seasonality, the single-source-
    of-error filter's one-step forecasts are exactly the damped-trend exponential smoothing
    recursion, and at ``phi = 1`` Holt's linear trend; its end state gives the damped h-step
    forecast ``l + (phi + ... + phi^h) b`` through the transition (``_apply_G``)."""
    from spm_models.forecast.dlm_kernel import filter_reps, ssoe_gains

    rng = np.random.default_rng(5)
    T = 30
    z = (5.0 + 0.2 * np.arange(T) + rng.normal(0, 0.3, T))[None]
    ql, qb = 0.6, 0.25
    alpha, beta, _ = ssoe_gains(ql, qb, 0.0)
    par = np.array([[ql, qb, 0.0, phi, 0.0, 4.0, 0.1, 1.0, 0.0, 1.0]])
    m0 = np.zeros((1, dlm.NX))
    m0[0, 0], m0[0, 1] = 4.8, 0.1
    _, m, _, _, _, osf, _, _ = filter_reps(z, np.ones_like(z, bool), m0, par, 0.0, 0.0)
    f, level, trend = _ets_damped_recursion(z[0], 4.8, 0.1, alpha, beta, phi)
    np.testing.assert_allclose(osf[0], f, rtol=1e-12)
    np.testing.assert_allclose(m[0, :2], [level, trend], rtol=1e-12)
    x = m[0][:, None]
    for h in range(1, 13):
        x = dlm._apply_G(x, phi)
        assert x[0, 0] == pytest.approx(level + sum(phi**k for k in range(1, h + 1)) * trend, rel=1e-12)
    if phi == 1.0:  # Holt's linear trend: the h-step forecast grows by the trend every month
        assert x[0, 0] == pytest.approx(level + 12 * trend, rel=1e-12)


def test_per_rep_scale_takes_each_reps_scale_of_higher_evidence(tmp_path):
    """``dlm:rep``: every rep keeps the rows (data, parameters, forecasts) of the fit -- additive
    or log scale -- with the higher Laplace evidence; reps with a non-positive month stay
    additive; the component saves and reloads to identical forecasts."""
    from spm_models.forecast import BookingsForecast, dlm_scale, monthly_panel, rep_month

    tables = _amount_tables(R=8, T=40)
    bk = tables["bookings"]
    r6 = bk["rep_id"] == "r6"  # a rep with multiplicative seasonality: amplitude grows with the level
    t = np.arange(r6.sum())
    bk.loc[r6, "amount"] = np.exp(0.03 * t) * (1 + 0.6 * np.sin(2 * np.pi * t / 12)) * 100
    panel = monthly_panel(tables)
    memo: dict = {}
    none, log = (rep_month.fit_component(f"dlm:{tr}", panel, memo) for tr in ("none", "log"))
    mixed = rep_month.fit_component("dlm:rep", panel, memo)
    ev_n, ev_l = np.asarray(none.info["log_evidence_rep"]), np.asarray(log.info["log_evidence_rep"])
    pick = log.prep.log & (ev_l > ev_n)
    assert pick.any() and (~pick).any()
    np.testing.assert_array_equal(mixed.prep.log, pick)
    assert not mixed.prep.log[~log.prep.log].any()  # the rep with a negative month stays additive
    for r in range(len(pick)):
        src = log if pick[r] else none
        np.testing.assert_array_equal(mixed.U_rep[r], src.U_rep[r])
        np.testing.assert_array_equal(mixed.prep.z[r], src.prep.z[r])
    # with the parameters at their mode, each rep's draws are those of its own fit
    ll = dlm.filter_loglik(mixed.prep, mixed.U_rep)
    np.testing.assert_allclose(ll, np.where(pick, dlm.filter_loglik(log.prep, log.U_rep),
                                            dlm.filter_loglik(none.prep, none.U_rep)), rtol=1e-12)
    assert rep_month.fit_component("dlm:rep", panel, memo) is mixed  # reused, not refitted
    m = BookingsForecast({"model": "dlm"})
    m._fit_dlm("dlm:rep", panel, memo)
    m.weights = {"dlm:rep": 1.0}
    fc = m.forecast("2025-05", 6, n_draws=64, seed=2)
    m.save(tmp_path / "fit")
    again = BookingsForecast.load(tmp_path / "fit")
    np.testing.assert_array_equal(again.dlm["dlm:rep"].prep.z, mixed.prep.z)
    np.testing.assert_array_equal(fc["bookings"].values, again.forecast("2025-05", 6, n_draws=64, seed=2)["bookings"].values)
    with pytest.raises(ValueError, match="log_evidence_rep"):
        dlm_scale.combine_scales(dlm.fit_dlm(*_panel_arrays(R=3, T=30), local=False), log)


def test_a_rep_that_never_books_is_forecast_at_zero():
    """A rep with two years of zero months gets draws of exactly 0 (before: symmetric noise
    around 0, i.e. negative expected bookings, found by a new user); a new rep with three zero
    months keeps the model's draws."""
    rng = np.random.default_rng(3)
    R, T = 5, 24
    t = np.arange(T)
    y = 100 + 10 * np.sin(2 * np.pi * t / 12)[None] + rng.normal(0, 5, (R, T))
    act = np.ones((R, T), bool)
    y[3] = 0.0  # never books
    y[4, :21], act[4, :21] = 0.0, False  # joined 3 months ago
    y[4, 21:] = 0.0
    fit = dlm.fit_dlm(y, act, t % 12)
    d = fit.simulate(6, 200, np.random.default_rng(0))
    assert (d[:, 3] == 0).all()
    assert np.abs(d[:, 4]).max() > 0
    assert 80 < np.median(d[:, 0]) < 120
