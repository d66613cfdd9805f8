"""Compiled (numba) conjugate DLM filter used by :mod:`spm_models.forecast.dlm`.

One loop per rep over its months; the state is ``[level, trend, season_t, ..., season_{t-10}]``
and the transition ``G`` is applied structurally (no 13 x 13 matrix products). Compiled
without fast-math (numba's default), so results are bit-identical whether the kernel was just
compiled or loaded from numba's on-disk cache (see issue 9, reproducible fits).
"""

from __future__ import annotations

import math

import numba
import numpy as np

NX = 13


@numba.njit(cache=True)
def ssoe_gains(ql, qb, qs):
    """Smoothing gains ``(alpha, beta, gamma)`` of the single-source-of-error form from the
    natural-scale parameters in the q slots: ``alpha = ql / (1 + ql)``, ``beta = alpha qb /
    (1 + qb)``, ``gamma = (1 - alpha) qs / (1 + qs)`` (ETS's usual region 0 < beta < alpha,
    0 < gamma < 1 - alpha; Hyndman et al. 2008, ch. 10)."""
    a = ql / (1.0 + ql)
    return a, a * qb / (1.0 + qb), (1.0 - a) * qs / (1.0 + qs)


@numba.njit(cache=True)
def filter_reps(z, act, m0, par, kappa_level, kappa_trend):
    """Filter every rep; ``par (R, 9)`` = q_level, q_trend, q_season, phi, kappa_season, n0, S0,
    season_weight (unused here), kappa_trend (natural scale; ``kappa_trend`` argument when
    ``par`` has 8 columns), optionally a 10th column: 1 for the single-source-of-error form
    (ETS-style innovations state space, :func:`ssoe_gains`). Returns ``ll (R,)``, ``m (R, NX)``, ``C (R, NX, NX)``, ``n (R,)``,
    ``S (R,)`` at the end, and one-step location / scale^2 / dof ``(R, T)``."""
    R, T = z.shape
    ll = np.zeros(R)
    M = np.zeros((R, NX))
    CC = np.zeros((R, NX, NX))
    NN = np.zeros(R)
    SS = np.zeros(R)
    osf = np.zeros((R, T))
    osq = np.ones((R, T))
    osn = np.full((R, T), 1e6)
    GC = np.zeros((NX, NX))
    Rm = np.zeros((NX, NX))
    RF = np.zeros(NX)
    mi = np.zeros(NX)
    for r in range(R):
        ql, qb, qs, phi, ks, n, S = par[r, 0], par[r, 1], par[r, 2], par[r, 3], par[r, 4], par[r, 5], par[r, 6]
        ssoe = par.shape[1] > 9 and par[r, 9] > 0.5
        ga, gb, gs = ssoe_gains(ql, qb, qs)
        C = np.zeros((NX, NX))
        C[0, 0] = kappa_level
        C[1, 1] = par[r, 8] if par.shape[1] > 8 else kappa_trend
        for i in range(2, NX):
            C[i, i] = ks
        m = m0[r].copy()
        for t in range(T):
            if not act[r, t]:
                continue
            # GC = G C
            for j in range(NX):
                GC[0, j] = C[0, j] + phi * C[1, j]
                GC[1, j] = phi * C[1, j]
                s = 0.0
                for i in range(2, NX):
                    s += C[i, j]
                GC[2, j] = -s
                for i in range(3, NX):
                    GC[i, j] = C[i - 1, j]
            # Rm = G (GC)' + W
            for j in range(NX):
                Rm[0, j] = GC[j, 0] + phi * GC[j, 1]
                Rm[1, j] = phi * GC[j, 1]
                s = 0.0
                for i in range(2, NX):
                    s += GC[j, i]
                Rm[2, j] = -s
                for i in range(3, NX):
                    Rm[i, j] = GC[j, i - 1]
            if ssoe:
                # single source of error: x_t = G x_{t-1} + g e_t, z_t = F G x_{t-1} + e_t, so
                # Cov(x_t, z_t) = R F' + g and Var(x_t) = R + g g' (units of V)
                for i in range(NX):
                    RF[i] = Rm[i, 0] + Rm[i, 2]
                q = RF[0] + RF[2] + 1.0
                RF[0] += ga
                RF[1] += gb
                RF[2] += gs
                Rm[0, 0] += ga * ga
                Rm[1, 1] += gb * gb
                Rm[2, 2] += gs * gs
                Rm[0, 1] += ga * gb
                Rm[1, 0] += ga * gb
                Rm[0, 2] += ga * gs
                Rm[2, 0] += ga * gs
                Rm[1, 2] += gb * gs
                Rm[2, 1] += gb * gs
            else:
                Rm[0, 0] += ql
                Rm[1, 1] += qb
                Rm[2, 2] += qs
                for i in range(NX):
                    RF[i] = Rm[i, 0] + Rm[i, 2]
                q = RF[0] + RF[2] + 1.0
            for i in range(NX):
                for j in range(NX):
                    C[i, j] = Rm[i, j] - RF[i] * RF[j] / q
            for i in range(NX):
                for j in range(i + 1, NX):
                    v = 0.5 * (C[i, j] + C[j, i])
                    C[i, j] = v
                    C[j, i] = v
            # mean
            mi[0] = m[0] + phi * m[1]
            mi[1] = phi * m[1]
            s = 0.0
            for i in range(2, NX):
                s += m[i]
            mi[2] = -s
            for i in range(3, NX):
                mi[i] = m[i - 1]
            f = mi[0] + mi[2]
            e = z[r, t] - f
            qsc = S * q
            osf[r, t] = f
            osq[r, t] = qsc
            osn[r, t] = n
            ll[r] += (math.lgamma((n + 1.0) / 2.0) - math.lgamma(n / 2.0)
                      - 0.5 * math.log(n * math.pi * qsc) - (n + 1.0) / 2.0 * math.log1p(e * e / (n * qsc)))
            for i in range(NX):
                m[i] = mi[i] + RF[i] / q * e
            d = n * S + e * e / q
            n = n + 1.0
            S = d / n
        M[r] = m
        CC[r] = C
        NN[r] = n
        SS[r] = S
    return ll, M, CC, NN, SS, osf, osq, osn
