"""Per-rep dynamics of the pooled rep-month model (:mod:`spm_models.forecast.dlm`): each rep's
own parameters at the mode of its likelihood times the pooled prior, by a damped Newton search
run for every rep separately, and each rep's Laplace evidence (compares the trend and the
no-trend form), and the choice of each rep's trend form (:func:`choose_trend_form`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from spm_models.forecast.dlm import (
    LOCAL,
    NO_TREND,
    PHI_LINEAR_U,
    TAU_LOCAL,
    Prepared,
    filter_loglik,
)


def fit_local(prep: Prepared, u_pool: np.ndarray, maxiter: int,
               free: tuple[int, ...] = LOCAL) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Per-rep dynamics: mode of each rep's ``LOCAL`` parameters under ``N(u_pool, TAU_LOCAL^2)``
    (the other parameters stay pooled), and each rep's diagonal Laplace sd ``(R, len(LOCAL))``.

    The objective is a sum of independent per-rep terms, so every rep takes its own damped
    Newton step (finite-difference gradient and Hessian: each evaluation of the panel filter
    perturbs one parameter of every rep at once) with its own backtracking line search and
    box bounds ``u_pool +- 3 TAU_LOCAL``. A joint quasi-Newton run over all ``R x 7``
    parameters shares one line search across reps and stalls long before every rep has
    converged; per-rep Newton converges in a few dozen panel sweeps.

    ``free``: the subset of :data:`LOCAL` searched (the others keep ``u_pool``'s values, e.g.
    the no-trend form). ``info["log_evidence"] (R,)``: each rep's Laplace approximation of its
    log marginal likelihood over its free parameters (full per-rep Hessian at the mode,
    normalised prior), which compares forms with different free parameters.
    """
    R = prep.z.shape[0]
    sel = [LOCAL.index(j) for j in free]
    tau_l = TAU_LOCAL[sel]
    k = len(free)
    mu = u_pool[list(free)]
    lo = mu - 3 * tau_l
    hi = mu + 3 * tau_l

    def per_rep(V):
        U = np.tile(u_pool, (R, 1))
        U[:, free] = V
        f = -filter_loglik(prep, U) + 0.5 * np.sum(((V - mu) / tau_l) ** 2, axis=1)
        return np.where(np.isfinite(f), f, 1e300)

    def grad_hess(V, f0, eps=1e-3):
        E = np.eye(k) * eps
        fp = np.stack([per_rep(V + E[i]) for i in range(k)], axis=1)  # (R, k)
        fm = np.stack([per_rep(V - E[i]) for i in range(k)], axis=1)
        g = (fp - fm) / (2 * eps)
        Hs = np.zeros((R, k, k))
        for i in range(k):
            Hs[:, i, i] = (fp[:, i] - 2 * f0 + fm[:, i]) / eps**2
            for j in range(i + 1, k):
                fij = per_rep(V + E[i] + E[j])
                Hs[:, i, j] = Hs[:, j, i] = (fij - fp[:, i] - fp[:, j] + f0) / eps**2
        return g, Hs

    V = np.tile(mu, (R, 1))
    f0 = per_rep(V)
    active = np.ones(R, bool)
    it = 0
    for it in range(1, maxiter + 1):
        g, Hs = grad_hess(V, f0)
        w, Q = np.linalg.eigh(0.5 * (Hs + np.swapaxes(Hs, 1, 2)))
        w = np.maximum(np.abs(w), 1.0 / tau_l.max() ** 2)  # a descent direction where H is indefinite
        step = -np.einsum("rij,rj->ri", Q, np.einsum("rji,rj->ri", Q, g) / w)
        nrm = np.linalg.norm(step, axis=1, keepdims=True)
        step = np.where(nrm > 2.0, step * 2.0 / np.maximum(nrm, 1e-300), step)  # trust radius 2
        step[~active] = 0.0
        t = np.ones(R)
        newV, newf = V.copy(), f0.copy()
        todo = active.copy()
        for _ in range(12):  # per-rep backtracking (Armijo)
            cand = np.clip(V + t[:, None] * step, lo, hi)
            fc = per_rep(cand)
            ok = todo & (fc <= f0 + 1e-4 * np.sum(g * (cand - V), axis=1))
            newV[ok], newf[ok] = cand[ok], fc[ok]
            todo &= ~ok
            if not todo.any():
                break
            t[todo] *= 0.5
        moved = np.abs(newV - V).max(axis=1)
        active &= (moved > 1e-5) & (f0 - newf > 1e-9)
        V, f0 = newV, newf
        if not active.any():
            break
    # per-rep Laplace: the Hessian of each rep's objective at its mode (eigenvalues floored at
    # the prior precision); its diagonal gives the per-parameter sd used for forecast draws
    _, Hs = grad_hess(V, f0, eps=1e-2)
    w, Q = np.linalg.eigh(0.5 * (Hs + np.swapaxes(Hs, 1, 2)))
    w = np.maximum(w, 1.0 / tau_l.max() ** 2)
    Hs = np.einsum("rij,rj,rkj->rik", Q, w, Q)
    sd_free = 1.0 / np.sqrt(np.maximum(np.einsum("rii->ri", Hs), 1.0 / tau_l**2))
    log_ev = -f0 - np.sum(np.log(tau_l)) - 0.5 * np.sum(np.log(w), axis=1)
    sd = np.zeros((R, len(LOCAL)))
    sd[:, sel] = sd_free
    U = np.tile(u_pool, (R, 1))
    U[:, free] = V
    return U, sd, {"local_converged": bool(not active.any()), "local_iterations": it,
                   "local_unconverged_reps": int(active.sum()), "log_evidence": log_ev}


#: the trend forms a rep chooses from, by Laplace evidence (:func:`choose_trend_form`): ``local``
#: -- the trend is a state that moves with the data (damped, Gardner & McKenzie 1985; linear,
#: Holt; or none), and so does the seasonal pattern; ``drift`` -- the structure is fixed and
#: only the level moves: a constant slope per rep learnt from its whole history (no trend
#: disturbance: simple exponential smoothing with drift, the model behind the Theta method,
#: Hyndman & Billah 2003) or none (``level``), on a fixed seasonal pattern (no seasonal
#: disturbance: the seasonal states are learnt from the whole history, as the Theta method's
#: classical decomposition does, Assimakopoulos & Nikolopoulos 2000). The panel's choice between
#: the two sets is made by out-of-sample evidence (``model: auto``): one-step evidence favours a
#: moving trend and a moving season on smooth series whose momentum does not last a year.
TREND_SETS = {"local": ("damped", "linear", "none"), "drift": ("drift", "level")}
#: forms without a trend state, and forms with a fixed seasonal pattern
NO_TREND_FORMS = ("none", "level")
FIXED_SEASON_FORMS = ("drift", "level")


def _form_start(u: np.ndarray, form: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Pooled parameters and free local parameters of a trend ``form``."""
    u = u.copy()
    fixed: tuple[int, ...] = ()
    if form == "linear":  # phi = 1 exactly (Holt's linear trend), not a free parameter
        u[3], fixed = PHI_LINEAR_U, (3,)
    elif form in NO_TREND_FORMS:  # q_trend = kappa_trend = 0: no trend state
        u[1], u[8], fixed = NO_TREND, NO_TREND, (1, 8)
    elif form == "drift":  # no trend disturbance, phi = 1: a constant slope, prior sd kappa_trend
        u[1], u[3], fixed = NO_TREND, PHI_LINEAR_U, (1, 3)
    elif form != "damped":
        raise ValueError(f"unknown trend form {form!r}")
    if form in FIXED_SEASON_FORMS:  # no seasonal disturbance: a fixed seasonal pattern
        u[2], fixed = NO_TREND, fixed + (2,)
    return u, tuple(j for j in LOCAL if j not in fixed)


def choose_trend_form(prep: Prepared, u: np.ndarray, maxiter: int, forms: tuple[str, ...],
                      cache: dict[str, Any] | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Every rep's local fit (:func:`spm_models.forecast.dlm_local.fit_local`) in each trend form
    of ``forms`` (in order; a later form replaces an earlier one only with strictly higher
    Laplace evidence). Returns the per-rep parameters ``(R, 10)``, their Laplace sd
    ``(R, len(LOCAL))`` and the fit info: ``log_evidence_rep``, convergence, each rep's form
    (``trend_form_rep``) and how many reps took each (``n_reps_no_trend``,
    ``n_reps_linear_trend``, ``n_reps_drift``). ``cache``
    keeps each form's fit by name."""
    cache = {} if cache is None else cache
    R = prep.z.shape[0]
    best = np.full(R, -np.inf)
    chosen = np.full(R, "", dtype=object)
    U = np.tile(u, (R, 1))
    U_sd = np.zeros((R, len(LOCAL)))
    info: dict[str, Any] = {}
    converged, unconverged = True, 0
    for form in forms:
        if form not in cache:
            u_f, free = _form_start(u, form)
            cache[form] = fit_local(prep, u_f, maxiter, free=free)
        Uf, sdf, finfo = cache[form]
        if not info:  # the first form's search details (iterations, ...) stand for the fit
            info.update({k: v for k, v in finfo.items() if k != "log_evidence"})
        ev = np.asarray(finfo["log_evidence"], float)
        take = ev > best if form != forms[0] else np.ones(R, bool)  # the first form always
        U[take], U_sd[take] = Uf[take], sdf[take]
        best = np.where(take, ev, best)
        chosen[take] = form
        converged = converged and bool(finfo["local_converged"])
        unconverged += int(finfo["local_unconverged_reps"])
    info["local_converged"] = converged
    info["local_unconverged_reps"] = unconverged
    info["log_evidence_rep"] = best.tolist()
    info["n_reps_no_trend"] = int(np.isin(chosen, NO_TREND_FORMS).sum())
    info["n_reps_linear_trend"] = int(np.sum(chosen == "linear"))
    info["n_reps_drift"] = int(np.sum(chosen == "drift"))
    info["trend_form_rep"] = chosen.tolist()
    return U, U_sd, info
