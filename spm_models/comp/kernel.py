"""The fused payout kernel: one compiled pass over the 12 months of one rep (and draw).

:func:`payout_gufunc` is a numba ``@guvectorize`` generalised ufunc with signature
``(m,t),(m,t),(),(k),(s),(n),(r),(b)->(m,n),(n),(n),(n),(n),(m,r),(m),(),(m),(b)``: its core
dims are ``measure × period`` (credits, quotas), the plan parameters ``theta`` (``k``)
and the static plan layout ``layout`` (``s``, integers); every leading dim (``rep``,
``draw``, ``scenario``) broadcasts as in any numpy ufunc. The three trailing inputs are
size carriers for the output dims ``n`` (payout periods), ``r`` (tiers or curve points)
and ``b`` (bonuses). :mod:`spm_models.comp.engine` builds ``theta`` and ``layout`` from a
:class:`~spm_models.comp.plan.Plan` and calls this through :func:`xarray.apply_ufunc`.

Writing the rules as scalar code per batch element and letting numba compile the loop
(no numpy temporaries, one read of the inputs, one write of the outputs) is what keeps the
simulation near the memory-bandwidth floor of ``numpy.cumsum`` over the same cube
(``benchmarks/bench_comp.py``). Method: numba's generalised-ufunc target
(https://numba.readthedocs.io/en/stable/user/vectorize.html#the-guvectorize-decorator).

Layout of ``layout`` (int64): header ``[n_measures, payout_months, has_draw,
draw_recoverable, n_bonuses, draw_index, n_modifiers]``; then per measure
``[quota_months, ti_basis, kind, n_points, theta_offset, first_modifier, n_modifiers,
has_advance_cap]`` (kind 0 marginal tiers, 1 retroactive tiers, 2 linear curve, 3 step
curve); then per modifier ``[measure_index, n_rows, theta_offset]``; then per bonus
``[measure_index, theta_offset]``. Per measure ``theta`` holds ``weight, threshold,
attainment_limit, cap_payout, advance_cap`` followed by the tier starts (or curve
attainments) and the rates (or curve factors); each modifier table holds its attainments
then its factors; each bonus ``at, amount``; the last entry is the draw amount.
"""

from __future__ import annotations

import math

import numba
import numpy as np

#: Attainments within this distance of a boundary count as on it (see engine.BOUNDARY_TOL).
TOL = 1e-10

HEADER = 7
MEASURE_FIELDS = 8
MODIFIER_FIELDS = 3
BONUS_FIELDS = 2
MEASURE_PARAMS = 5  # weight, threshold, limit, cap_payout, advance_cap
KIND_MARGINAL, KIND_RETRO, KIND_LINEAR, KIND_STEP = 0, 1, 2, 3


@numba.njit(cache=True, inline="always")
def _factor(a, theta, off, n, kind):
    """``f(a)`` per unit of ``U`` and the index of the tier/point it falls in (-1: none).

    Marginal tiers: ``Σ rate_i × clip(a − start_i, 0, end_i − start_i)``; retroactive:
    the rate of the tier reached times ``max(a, 0)``; linear curve: interpolation between
    points, 0 below the first, the last factor above the last; step curve (and modifier
    tables): the factor of the last point at or below ``a``, 0 below the first.
    """
    if kind == KIND_MARGINAL:
        total = 0.0
        k = -1
        for i in range(n):
            s = theta[off + i]
            if a <= s:
                break
            x = a - s
            if i + 1 < n:
                width = theta[off + i + 1] - s
                if x > width:
                    x = width
            total += theta[off + n + i] * x
            k = i
        return total, k
    if kind == KIND_RETRO:
        k = 0
        for i in range(1, n):
            if a >= theta[off + i] - TOL:
                k = i
            else:
                break
        return theta[off + n + k] * (a if a > 0.0 else 0.0), k
    # curves: points (x_i, y_i)
    if a < theta[off] - TOL:
        return 0.0, -1
    k = 0
    for i in range(1, n):
        if a >= theta[off + i] - TOL:
            k = i
        else:
            break
    y = theta[off + n + k]
    if kind == KIND_LINEAR and k + 1 < n:
        x0 = theta[off + k]
        x1 = theta[off + k + 1]
        if a > x0:
            y = y + (theta[off + n + k + 1] - y) * (a - x0) / (x1 - x0)
    return y, k


_F8, _I8 = numba.float64, numba.int64
_SIGNATURE = "(m,t),(m,t),(),(k),(s),(n),(r),(b)->(m,n),(n),(n),(n),(n),(m,r),(m),(),(m),(b)"
_TYPES = (_F8[:, :], _F8[:, :], _F8, _F8[:], _I8[:], _F8[:], _F8[:], _F8[:],
          _F8[:, :], _F8[:], _F8[:], _F8[:], _F8[:], _F8[:, :], _F8[:], _F8[:], _F8[:], _F8[:])


@numba.guvectorize([_TYPES], _SIGNATURE, nopython=True, cache=True)
def payout_gufunc(credits, quotas, ti, theta, layout, _np, _nr, _nb,
                  att, etd, earnings, payout, topup, tier_cost, accel, unearned, credited, bonus_cost):
    n_m = layout[0]
    pm = layout[1]
    has_draw = layout[2] != 0
    draw_rec = layout[3] != 0
    n_b = layout[4]
    d_idx = layout[5]
    n_mod_total = layout[6]
    b_base = HEADER + MEASURE_FIELDS * n_m + MODIFIER_FIELDS * n_mod_total
    n_p = etd.shape[0]
    n_r = tier_cost.shape[1]
    for k in range(n_p):
        etd[k] = 0.0
    for b in range(bonus_cost.shape[0]):
        bonus_cost[b] = 0.0

    for m in range(n_m):
        base = HEADER + MEASURE_FIELDS * m
        L = layout[base]
        ti_basis = layout[base + 1] != 0
        kind = layout[base + 2]
        n_pts = layout[base + 3]
        o = layout[base + 4]
        mod0 = layout[base + 5]
        n_mod = layout[base + 6]
        has_adv = layout[base + 7] != 0
        weight = theta[o]
        threshold = theta[o + 1] - TOL
        limit = theta[o + 2]
        cap_pay = theta[o + 3]
        adv = theta[o + 4]
        po = o + MEASURE_PARAMS
        for i in range(n_r):
            tier_cost[m, i] = 0.0
        accel[m] = 0.0
        credited[m] = 0.0
        prior = 0.0  # earnings of the completed quota periods
        c = 0.0
        q_sum = 0.0
        a_max = -math.inf
        unit = 0.0
        e_at_target = 0.0
        for t in range(12):
            first = t % L
            q_end = first == L - 1
            pay_end = (t + 1) % pm == 0
            if first == 0:
                c = 0.0
                q_sum = 0.0
                for u in range(t, t + L):
                    q_sum += quotas[m, u]
                a_max = -math.inf
                unit = ti * weight * (L / 12.0) if ti_basis else q_sum
                if has_adv:
                    a1 = 1.0 if limit > 1.0 else limit
                    f1, _k1 = _factor(a1, theta, po, n_pts, kind)
                    e_at_target = unit * f1 if 1.0 >= threshold else 0.0
            c += credits[m, t]
            valid = q_sum > 0.0
            if q_end:
                credited[m] += c
            a = c / q_sum if valid else 0.0
            if valid and a > a_max:
                a_max = a
            if not (q_end or pay_end):
                continue
            # earnings of the current quota period as of t
            e = 0.0
            kk = -1
            a_lim = a if a < limit else limit
            if valid and a >= threshold:
                f, kk = _factor(a_lim, theta, po, n_pts, kind)
                e = unit * f
            mod = 1.0
            for j in range(mod0, mod0 + n_mod):
                jb = HEADER + MEASURE_FIELDS * n_m + MODIFIER_FIELDS * j
                mm = layout[jb]
                rows = layout[jb + 1]
                to = layout[jb + 2]
                q0 = t - first
                cm = 0.0
                qm = 0.0
                for u in range(q0, q0 + L):
                    qm += quotas[mm, u]
                    if u <= t:
                        cm += credits[mm, u]
                am = cm / qm if qm > 0.0 else 0.0
                fm, _km = _factor(am, theta, to, rows, KIND_STEP)
                mod *= fm
            e *= mod
            if q_end:
                prior += e
                if kk >= 0 and e != 0.0:
                    if kind == KIND_MARGINAL:
                        # per-tier terms of the marginal sum
                        for i in range(kk + 1):
                            s = theta[po + i]
                            x = a_lim - s
                            if i + 1 < n_pts:
                                width = theta[po + i + 1] - s
                                if x > width:
                                    x = width
                            tier_cost[m, i] += unit * mod * theta[po + n_pts + i] * x
                    else:
                        tier_cost[m, kk] += e
                if valid and a >= threshold and a_lim > 1.0:
                    f1, _k1 = _factor(1.0, theta, po, n_pts, kind)
                    accel[m] += e - unit * f1 * mod
                total = prior
            else:
                if has_adv:
                    cap_e = adv * ((first + 1) / L) * e_at_target
                    if e > cap_e:
                        e = cap_e
                total = prior + e
            if q_end:
                for b in range(n_b):
                    bb = b_base + BONUS_FIELDS * b
                    if layout[bb] == m and a_max >= theta[layout[bb + 1]] - TOL:
                        bonus_cost[b] += 1.0  # counts for now; money below
            if pay_end:
                k = (t + 1) // pm - 1
                att[m, k] = a if valid else np.nan
                etd[k] += total if total < cap_pay else cap_pay
                for b in range(n_b):
                    bb = b_base + BONUS_FIELDS * b
                    if layout[bb] != m:
                        continue
                    reached = 1.0 if a_max >= theta[layout[bb + 1]] - TOL else 0.0
                    count = bonus_cost[b] if q_end else bonus_cost[b] + reached
                    etd[k] += count * theta[layout[bb + 1] + 1]
        # year-end breakdown: scale tier earnings down to the payout cap
        if prior > cap_pay:
            scale = cap_pay / prior if prior > 0.0 else 0.0
            for i in range(n_r):
                tier_cost[m, i] *= scale
            accel[m] *= scale
    for b in range(n_b):
        bonus_cost[b] *= theta[layout[b_base + BONUS_FIELDS * b + 1] + 1]

    draw = theta[d_idx]
    carry_paid = draw_rec or not has_draw
    counted = 0.0
    total_paid = 0.0
    for k in range(n_p):
        due = etd[k] - counted
        earned_due = due if due > 0.0 else 0.0
        if not has_draw:
            paid = earned_due
        else:
            paid = due if due > draw else draw
        counted += paid if carry_paid else earned_due
        payout[k] = paid
        topup[k] = paid - earned_due
        earnings[k] = etd[k] if k == 0 else etd[k] - etd[k - 1]
        total_paid += paid
    unearned[0] = total_paid - etd[n_p - 1]

