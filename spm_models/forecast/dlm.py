"""Rep-month amounts model: pooled Bayesian dynamic linear model (local trend + seasonality).

For bookings that arrive as one amount per rep and month (finance / ERP exports), where every
rep trends up or down at its own pace, has level shifts, zero or negative months, and reps'
scales differ by orders of magnitude.

Model (per rep ``r``, on the rep's standardised series ``z = y / s_r``, ``s_r`` = the rep's
mean ``|y|`` over its training months; with ``transform="log"`` on ``log z`` for reps whose
training amounts are all positive)::

    z_t      = level_t + season_t + v_t                     v_t ~ N(0, V_r)
    level_t  = level_{t-1} + phi * trend_{t-1} + w1_t       w1 ~ N(0, q_level  V_r)
    trend_t  = phi * trend_{t-1} + w2_t                     w2 ~ N(0, q_trend  V_r)
    season_t = -(season_{t-1} + ... + season_{t-11}) + w3   w3 ~ N(0, q_season V_r)
    1 / V_r  ~ Gamma(n0 / 2, n0 S0 / 2)                      (pooled observation variance)
    seasonal states at the rep's start ~ N(p, kappa_season V_r)  (p: seasonal pattern pooled
                                                                  over all reps)

i.e. a dynamic linear model with unknown observational variance (West & Harrison,
*Bayesian Forecasting and Dynamic Models*, 2nd ed., ch. 4 and 8; the Normal / inverse-gamma
conjugate filter). Its state and variance posteriors are exact given the hyper-parameters
``theta = (q_level, q_trend, q_season, phi, kappa_season, n0, S0)``, which are shared by all
reps (partial pooling: per-rep levels, trends, seasonal deviations and variances, one set of
dynamics). Level and trend move over time (local linear trend, damped by ``phi``), as in the
Bayesian exponential smoothing models of Smyl, Bergmeir et al. (IJF 2025) and Orbit's
DLT/LGT; the one-step predictive is Student-t (heavy-tailed early in a rep's history),
heteroscedastic across reps.

``theta`` is fitted by its posterior mode (sum of the reps' exact log marginal likelihoods
plus weakly-informative priors on the transformed parameters, L-BFGS) and its uncertainty
by a Laplace approximation: forecasts mix ``n_theta`` draws of ``theta`` (each an exact
conjugate forecast). The covariance recursion does not depend on the data (everything is
scaled by ``V_r``) and a rep's active months are contiguous, so it is computed once per
month-since-start and shared by all reps: a fit of 1,000 reps x 36 months takes seconds.

Forecast draws follow the generative model itself (:meth:`DLMFit.simulate`): draw ``V_r``,
the state at the origin, then propagate the state equation and add observation noise --
the same equations whose one-step predictive densities form the likelihood.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special

#: names of the hyper-parameters, in the order of the transformed vector
THETA_NAMES = ("q_level", "q_trend", "q_season", "phi", "kappa_season", "n0", "S0")
#: prior mean / sd of the transformed hyper-parameters (log, log, log, logit, log, log, log)
PRIOR_MEAN = np.array([np.log(0.05), np.log(0.002), np.log(0.005), 2.0, np.log(0.5), np.log(4.0), np.log(0.05)])
PRIOR_SD = np.array([2.0, 2.0, 2.0, 1.5, 2.0, 1.0, 2.5])
KAPPA_LEVEL = 1e4  # near-diffuse prior on the initial level and trend (V-scaled)
KAPPA_TREND = 1e2
NS = 11  # seasonal states (dummy seasonal, period 12)
NX = 2 + NS


def _theta(u: np.ndarray) -> dict[str, float]:
    q_l, q_b, q_s, lphi, lk, ln0, ls0 = u
    return {
        "q_level": float(np.exp(q_l)),
        "q_trend": float(np.exp(q_b)),
        "q_season": float(np.exp(q_s)),
        "phi": float(0.8 + 0.2 * special.expit(lphi)),  # damping in (0.8, 1)
        "kappa_season": float(np.exp(lk)),
        "n0": float(np.exp(ln0)),
        "S0": float(np.exp(ls0)),
    }


def _G(phi: float) -> np.ndarray:
    G = np.zeros((NX, NX))
    G[0, 0], G[0, 1], G[1, 1] = 1.0, phi, phi
    G[2, 2:] = -1.0
    for i in range(1, NS):
        G[2 + i, 1 + i] = 1.0
    return G


F = np.zeros(NX)
F[0] = F[2] = 1.0


def _W(th: dict[str, float]) -> np.ndarray:
    w = np.zeros(NX)
    w[0], w[1], w[2] = th["q_level"], th["q_trend"], th["q_season"]
    return w


def _cov_recursion(th: dict[str, float], K: int):
    """V-scaled covariance recursion for a rep's first ``K`` observations.

    Returns gains ``A (K, NX)``, one-step forecast variance factors ``Q (K,)`` and the
    posterior covariance factors ``C (K + 1, NX, NX)`` (``C[k]`` after ``k`` observations).
    """
    G, w = _G(th["phi"]), _W(th)
    C = np.zeros((K + 1, NX, NX))
    C[0] = np.diag(np.r_[KAPPA_LEVEL, KAPPA_TREND, np.full(NS, th["kappa_season"])])
    A = np.zeros((K, NX))
    Q = np.zeros(K)
    for k in range(K):
        R = G @ C[k] @ G.T + np.diag(w)
        RF = R @ F
        q = F @ RF + 1.0
        a = RF / q
        A[k], Q[k] = a, q
        C[k + 1] = R - np.outer(a, a) * q
        C[k + 1] = 0.5 * (C[k + 1] + C[k + 1].T)
    return A, Q, C


@dataclass
class Prepared:
    """Standardised data of a panel: ``z (R, T)``, ``active (R, T)`` (contiguous runs)."""

    z: np.ndarray
    active: np.ndarray
    start: np.ndarray  # (R,) first active month
    nobs: np.ndarray  # (R,) active months
    month: np.ndarray  # (T,) month of year 0..11 of each period
    scale: np.ndarray  # (R,)
    log: np.ndarray  # (R,) bool: modelled on log scale
    pattern: np.ndarray  # (12,) pooled seasonal pattern by month of year (sums to 0)


def prepare(y: np.ndarray, active: np.ndarray, month: np.ndarray, transform: str = "none") -> Prepared:
    """Standardise ``y (R, T)`` per rep and estimate the pooled seasonal pattern.

    ``transform``: ``"none"`` (additive on ``y / s_r``) or ``"log"`` (``log(y / s_r)`` for reps
    whose training amounts are all > 0; the others stay additive).
    """
    y = np.where(active, np.asarray(y, float), 0.0)
    active = np.asarray(active, bool)
    R, T = y.shape
    nobs = active.sum(axis=1)
    start = np.where(nobs > 0, np.argmax(active, axis=1), T)
    scale = np.array([np.mean(np.abs(y[r, active[r]])) if nobs[r] else 0.0 for r in range(R)])
    pooled = float(np.mean(scale[scale > 0])) if (scale > 0).any() else 1.0
    scale = np.where(scale > 0, scale, pooled)
    z = y / scale[:, None]
    log = np.zeros(R, bool)
    if transform == "log":
        pos = np.array([nobs[r] > 0 and bool(np.all(y[r, active[r]] > 0)) for r in range(R)])
        log = pos
        z = np.where(log[:, None] & active, np.log(np.where(active & (y > 0), z, 1.0)), z)
    # pooled seasonal pattern: mean over reps of month-of-year deviations from the rep's
    # 12-month centred moving average (reps with >= 24 months)
    devs = np.zeros(12)
    cnt = np.zeros(12)
    kern = np.r_[0.5, np.ones(11), 0.5] / 12.0
    for r in range(R):
        if nobs[r] < 24:
            continue
        s = start[r]
        zz = z[r, s : s + nobs[r]]
        ma = np.convolve(zz, kern, mode="valid")  # length n - 12, centred at 6..n-7
        d = zz[6 : 6 + len(ma)] - ma
        m = month[s + 6 : s + 6 + len(ma)]
        sd = np.std(d) or 1.0
        np.add.at(devs, m, np.clip(d, -3 * sd, 3 * sd))
        np.add.at(cnt, m, 1.0)
    pattern = np.where(cnt > 0, devs / np.maximum(cnt, 1), 0.0)
    pattern = pattern - pattern.mean()
    return Prepared(z, active, start, nobs, np.asarray(month, int), scale, log, pattern)


def _m0(prep: Prepared) -> np.ndarray:
    """Prior state means (R, NX): level at the rep's first-year mean, trend 0, the pooled
    seasonal pattern aligned to the month before the rep's first month."""
    R, T = prep.z.shape
    m0 = np.zeros((R, NX))
    for r in range(R):
        s, n = prep.start[r], prep.nobs[r]
        if n == 0:
            continue
        m0[r, 0] = np.mean(prep.z[r, s : s + min(n, 12)])
        first = prep.month[s] if s < T else 0
        m0[r, 2:] = prep.pattern[(first - 1 - np.arange(NS)) % 12]
    return m0


def filter_loglik(prep: Prepared, th: dict[str, float], keep: bool = False, one_step: bool = False):
    """Exact log marginal likelihood (sum over reps) of the conjugate DLM at ``th``.

    With ``keep`` also returns the filtered state ``m (R, NX)``, the covariance factor
    ``C (R, NX, NX)``, ``n (R,)`` and ``S (R,)`` at the end of the panel.
    """
    z, act = prep.z, prep.active
    R, T = z.shape
    K = int(prep.nobs.max()) if R else 0
    A, Q, C = _cov_recursion(th, K)
    G = _G(th["phi"])
    m = _m0(prep)
    n = np.full(R, th["n0"])
    S = np.full(R, th["S0"])
    k = np.zeros(R, int)
    ll = 0.0
    if one_step:
        osf, osq, osn = np.zeros((R, T)), np.ones((R, T)), np.full((R, T), 1e6)
    for t in range(T):
        a_t = act[:, t]
        if not a_t.any():
            continue
        idx = np.flatnonzero(a_t)
        mi = m[idx] @ G.T
        kk = k[idx]
        f = mi[:, 0] + mi[:, 2]
        e = z[idx, t] - f
        q = S[idx] * Q[kk]
        nu = n[idx]
        if one_step:
            osf[idx, t], osq[idx, t], osn[idx, t] = f, q, nu
        ll += float(np.sum(
            special.gammaln((nu + 1) / 2) - special.gammaln(nu / 2)
            - 0.5 * np.log(nu * np.pi * q) - (nu + 1) / 2 * np.log1p(e**2 / (nu * q))
        ))
        m[idx] = mi + A[kk] * e[:, None]
        d = n[idx] * S[idx] + e**2 / Q[kk]
        n[idx] = nu + 1
        S[idx] = d / n[idx]
        k[idx] = kk + 1
    # the log transform's Jacobian: densities are on the amounts' (standardised) scale
    if prep.log.any():
        ll -= float(np.sum(np.where(prep.log[:, None] & act, prep.z, 0.0)))
    if one_step:
        return osf, osq, osn
    if keep:
        return ll, m, C[k], n, S
    return ll


@dataclass
class DLMFit:
    """A fitted pooled DLM: the MAP hyper-parameters, their Laplace covariance and data."""

    prep: Prepared
    u_map: np.ndarray
    u_cov: np.ndarray
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def theta(self) -> dict[str, float]:
        return _theta(self.u_map)

    def theta_draws(self, n: int, rng: np.random.Generator) -> list[dict[str, float]]:
        """``n`` Laplace draws of the hyper-parameters (the first is the mode)."""
        out = [self.u_map]
        if n > 1:
            L = np.linalg.cholesky(self.u_cov + 1e-12 * np.eye(len(self.u_map)))
            out += [self.u_map + L @ rng.standard_normal(len(self.u_map)) for _ in range(n - 1)]
        return [_theta(u) for u in out]

    def simulate(self, h: int, n_draws: int, rng: np.random.Generator, n_theta: int = 8,
                 months_ahead: np.ndarray | None = None) -> np.ndarray:
        """Joint predictive draws ``(n_draws, R, h)`` of the next ``h`` months on the amounts'
        scale, for every rep (the caller selects the reps active at the origin).

        For each Laplace draw of ``theta``: the conjugate posterior at the origin gives
        ``V ~ InvGamma(n/2, nS/2)`` and ``x ~ N(m, V C)``; the state equation is propagated
        ``h`` months with ``N(0, W V)`` innovations and ``N(0, V)`` observation noise.
        """
        prep = self.prep
        R = prep.z.shape[0]
        ths = self.theta_draws(n_theta, rng)
        per = np.full(len(ths), n_draws // len(ths))
        per[: n_draws - per.sum()] += 1
        out = np.empty((n_draws, R, h))
        lo = 0
        for th, nd in zip(ths, per):
            if nd == 0:
                continue
            _, m, C, n, S = filter_loglik(prep, th, keep=True)
            G, w = _G(th["phi"]), np.sqrt(_W(th))
            V = (n * S)[None, :] / (2.0 * rng.gamma(n / 2.0, 1.0, size=(nd, R)))  # InvGamma
            L = np.linalg.cholesky(C + 1e-10 * np.eye(NX)[None])  # (R, NX, NX)
            x = m[None] + np.sqrt(V)[..., None] * np.einsum("rij,drj->dri", L, rng.standard_normal((nd, R, NX)))
            sv = np.sqrt(V)
            for j in range(h):
                x = x @ G.T + (sv[..., None] * w) * rng.standard_normal((nd, R, NX))
                out[lo : lo + nd, :, j] = x[..., 0] + x[..., 2] + sv * rng.standard_normal((nd, R))
            lo += nd
        perm = rng.permutation(n_draws)  # mix theta draws across the draw index
        return _unstandardise(prep, out[perm])

    def one_step_draws(self, n_draws: int, rng: np.random.Generator) -> np.ndarray:
        """In-sample one-step-ahead predictive draws ``(n_draws, R, T)`` (Student-t of the
        filter at the posterior mode of ``theta``; inactive months are 0 on the model scale)."""
        f, q, nu = filter_loglik(self.prep, self.theta, one_step=True)
        z = f[None] + np.sqrt(q)[None] * rng.standard_t(nu[None], size=(n_draws,) + f.shape)
        return _unstandardise(self.prep, z) * self.prep.active[None]


def _unstandardise(prep: Prepared, z: np.ndarray) -> np.ndarray:
    """``(..., R, T)`` draws on the model scale -> amounts."""
    z = np.where(prep.log[:, None], np.exp(np.clip(z, -50, 50)), z)
    return z * prep.scale[:, None]


def _neg_log_post(u: np.ndarray, prep: Prepared) -> float:
    if not np.all(np.isfinite(u)):
        return 1e300
    ll = filter_loglik(prep, _theta(u))
    lp = -0.5 * np.sum(((u - PRIOR_MEAN) / PRIOR_SD) ** 2)
    v = -(ll + lp)
    return v if np.isfinite(v) else 1e300


def _hessian(f, u: np.ndarray, eps: float = 1e-3) -> np.ndarray:
    n = len(u)
    H = np.zeros((n, n))
    f0 = f(u)
    E = np.eye(n) * eps
    fp = np.array([f(u + E[i]) for i in range(n)])
    fm = np.array([f(u - E[i]) for i in range(n)])
    for i in range(n):
        H[i, i] = (fp[i] - 2 * f0 + fm[i]) / eps**2
        for j in range(i + 1, n):
            fpp = f(u + E[i] + E[j])
            H[i, j] = H[j, i] = (fpp - fp[i] - fp[j] + f0) / eps**2
    return H


def fit_dlm(y: np.ndarray, active: np.ndarray, month: np.ndarray, transform: str = "none",
            maxiter: int = 200) -> DLMFit:
    """Fit the pooled DLM to amounts ``y (R, T)`` (``active (R, T)``, ``month (T,)`` 0..11).

    Deterministic (no random numbers): the posterior mode by L-BFGS-B from the prior mean,
    then a Laplace covariance from a finite-difference Hessian (regularised to be positive
    definite; with a flat direction the prior sd is used).
    """
    import time

    t0 = time.perf_counter()
    prep = prepare(y, active, month, transform)
    f = lambda u: _neg_log_post(u, prep)  # noqa: E731
    res = optimize.minimize(f, PRIOR_MEAN.copy(), method="L-BFGS-B",
                            bounds=[(m - 4 * s, m + 4 * s) for m, s in zip(PRIOR_MEAN, PRIOR_SD)],
                            options={"maxiter": maxiter})
    u = res.x
    H = _hessian(f, u)
    H = 0.5 * (H + H.T)
    evals, evecs = np.linalg.eigh(H)
    floor = 1.0 / PRIOR_SD.max() ** 2
    evals = np.maximum(evals, floor)
    cov = (evecs / evals) @ evecs.T
    info = {
        "method": "map-laplace",
        "optimizer_converged": bool(res.success),
        "optimizer_message": str(res.message),
        "iterations": int(res.nit),
        "log_posterior": float(-res.fun),
        "theta": _theta(u),
        "theta_sd_transformed": np.sqrt(np.diag(cov)).round(4).tolist(),
        "transform": transform,
        "n_log_reps": int(prep.log.sum()),
        "seconds": round(time.perf_counter() - t0, 3),
    }
    return DLMFit(prep, u, cov, info)
