"""Per-rep dynamics of the pooled rep-month model (:mod:`spm_models.forecast.dlm`): each rep's
own parameters at the mode of its likelihood times the pooled prior, by a damped Newton search
run for every rep separately, and each rep's Laplace evidence (compares the trend and the
no-trend form)."""

from __future__ import annotations

from typing import Any

import numpy as np

from spm_models.forecast.dlm import LOCAL, TAU_LOCAL, Prepared, filter_loglik


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
