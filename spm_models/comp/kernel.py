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
import os
import threading

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


@numba.njit(cache=True, inline="always", error_model="numpy")
def _factor(a, theta, i, j, off, n, kind):
    """``f(a)`` per unit of ``U`` and the index of the tier/point it falls in (-1: none).

    Marginal tiers: ``Σ rate_i × clip(a − start_i, 0, end_i − start_i)``; retroactive:
    the rate of the tier reached times ``max(a, 0)``; linear curve: interpolation between
    points, 0 below the first, the last factor above the last; step curve (and modifier
    tables): the factor of the last point at or below ``a``, 0 below the first.
    """
    if kind == KIND_MARGINAL:
        # branch-free over the tiers (attainments vary per draw: branches mispredict)
        total = 0.0
        k = -1
        for z in range(n):
            s = theta[i, j, off + z]
            x = max(a - s, 0.0)
            if z + 1 < n:
                x = min(x, theta[i, j, off + z + 1] - s)
            total += theta[i, j, off + n + z] * x
            k += 1 if a > s else 0
        return total, k
    if kind == KIND_RETRO:
        k = 0
        for z in range(1, n):
            if a >= theta[i, j, off + z] - TOL:
                k = z
            else:
                break
        return theta[i, j, off + n + k] * (a if a > 0.0 else 0.0), k
    # curves: points (x_i, y_i)
    if a < theta[i, j, off] - TOL:
        return 0.0, -1
    k = 0
    for z in range(1, n):
        if a >= theta[i, j, off + z] - TOL:
            k = z
        else:
            break
    y = theta[i, j, off + n + k]
    if kind == KIND_LINEAR and k + 1 < n:
        x0 = theta[i, j, off + k]
        x1 = theta[i, j, off + k + 1]
        if a > x0:
            y = y + (theta[i, j, off + n + k + 1] - y) * (a - x0) / (x1 - x0)
    return y, k


@numba.njit(cache=True, inline="always", error_model="numpy")
def _element(credits, quotas, ti, theta, layout, i, j,
             att, etd, earnings, payout, topup, tier_cost, accel, credited, bonus_cost):
    """The rules for one batch element (one rep, draw and scenario); writes the outputs."""
    n_m = layout[0]
    pm = layout[1]
    has_draw = layout[2] != 0
    draw_rec = layout[3] != 0
    n_b = layout[4]
    d_idx = layout[5]
    n_mod_total = layout[6]
    b_base = HEADER + MEASURE_FIELDS * n_m + MODIFIER_FIELDS * n_mod_total
    n_p = etd.shape[2]
    n_r = tier_cost.shape[3]
    for k in range(n_p):
        etd[i, j, k] = 0.0
    for b in range(bonus_cost.shape[2]):
        bonus_cost[i, j, b] = 0.0

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
        weight = theta[i, j, o]
        threshold = theta[i, j, o + 1] - TOL
        limit = theta[i, j, o + 2]
        cap_pay = theta[i, j, o + 3]
        adv = theta[i, j, o + 4]
        po = o + MEASURE_PARAMS
        for z in range(n_r):
            tier_cost[i, j, m, z] = 0.0
        accel[i, j, m] = 0.0
        credited[i, j, m] = 0.0
        prior = 0.0  # earnings of the completed quota periods
        m_bonus = False
        for b in range(n_b):
            if layout[b_base + BONUS_FIELDS * b] == m:
                m_bonus = True
        e_at_target = 0.0
        pc = 0  # months since the last payout period end
        k = 0  # payout period index
        for q0 in range(0, 12, L):
            q_sum = 0.0
            for u in range(q0, q0 + L):
                q_sum += quotas[i, j, m, u]
            valid = q_sum > 0.0
            unit = ti * weight * (L / 12.0) if ti_basis else q_sum
            if has_adv:
                a1 = 1.0 if limit > 1.0 else limit
                f1, _k1 = _factor(a1, theta, i, j, po, n_pts, kind)
                e_at_target = unit * f1 if 1.0 >= threshold else 0.0
            c = 0.0
            a_max = -math.inf
            for first in range(L):
                t = q0 + first
                c += credits[i, j, m, t]
                pc += 1
                q_end = first == L - 1
                pay_end = pc == pm
                if not (q_end or pay_end or m_bonus):
                    continue
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
                    f, kk = _factor(a_lim, theta, i, j, po, n_pts, kind)
                    e = unit * f
                mod = 1.0
                for jm in range(mod0, mod0 + n_mod):
                    jb = HEADER + MEASURE_FIELDS * n_m + MODIFIER_FIELDS * jm
                    mm = layout[jb]
                    cm = 0.0
                    qm = 0.0
                    for u in range(q0, q0 + L):
                        qm += quotas[i, j, mm, u]
                        if u <= t:
                            cm += credits[i, j, mm, u]
                    am = cm / qm if qm > 0.0 else 0.0
                    fm, _km = _factor(am, theta, i, j, layout[jb + 2], layout[jb + 1], KIND_STEP)
                    mod *= fm
                e *= mod
                if q_end:
                    credited[i, j, m] += c
                    prior += e
                    if kk >= 0 and e != 0.0:
                        if kind == KIND_MARGINAL:
                            # per-tier terms of the marginal sum
                            for z in range(kk + 1):
                                s = theta[i, j, po + z]
                                x = a_lim - s
                                if z + 1 < n_pts:
                                    width = theta[i, j, po + z + 1] - s
                                    if x > width:
                                        x = width
                                tier_cost[i, j, m, z] += unit * mod * theta[i, j, po + n_pts + z] * x
                        else:
                            tier_cost[i, j, m, kk] += e
                    if valid and a >= threshold and a_lim > 1.0:
                        f1, _k1 = _factor(1.0, theta, i, j, po, n_pts, kind)
                        accel[i, j, m] += e - unit * f1 * mod
                    total = prior
                    for b in range(n_b):
                        bb = b_base + BONUS_FIELDS * b
                        if layout[bb] == m and a_max >= theta[i, j, layout[bb + 1]] - TOL:
                            bonus_cost[i, j, b] += 1.0  # counts for now; money below
                else:
                    if has_adv:
                        cap_e = adv * ((first + 1) / L) * e_at_target
                        if e > cap_e:
                            e = cap_e
                    total = prior + e
                if pay_end:
                    pc = 0
                    att[i, j, m, k] = a if valid else np.nan
                    etd[i, j, k] += total if total < cap_pay else cap_pay
                    for b in range(n_b):
                        bb = b_base + BONUS_FIELDS * b
                        if layout[bb] != m:
                            continue
                        reached = 1.0 if a_max >= theta[i, j, layout[bb + 1]] - TOL else 0.0
                        count = bonus_cost[i, j, b] if q_end else bonus_cost[i, j, b] + reached
                        etd[i, j, k] += count * theta[i, j, layout[bb + 1] + 1]
                    k += 1
        # year-end breakdown: scale tier earnings down to the payout cap
        if cap_pay < math.inf:  # (with a payout cap, a year without earnings keeps none)
            scale = (cap_pay if prior > cap_pay else prior) / prior if prior > 0.0 else 0.0
            for z in range(n_r):
                tier_cost[i, j, m, z] *= scale
            accel[i, j, m] *= scale
    for b in range(n_b):
        bonus_cost[i, j, b] *= theta[i, j, layout[b_base + BONUS_FIELDS * b + 1] + 1]

    draw = theta[i, j, d_idx]
    carry_paid = draw_rec or not has_draw
    counted = 0.0
    total_paid = 0.0
    for k in range(n_p):
        due = etd[i, j, k] - counted
        earned_due = due if due > 0.0 else 0.0
        if not has_draw:
            paid = earned_due
        else:
            paid = due if due > draw else draw
        counted += paid if carry_paid else earned_due
        payout[i, j, k] = paid
        topup[i, j, k] = paid - earned_due
        earnings[i, j, k] = etd[i, j, k] if k == 0 else etd[i, j, k] - etd[i, j, k - 1]
        total_paid += paid
    return total_paid - etd[i, j, n_p - 1]


_A4 = numba.types.Array(numba.float64, 4, "A", readonly=True)
_A3 = numba.types.Array(numba.float64, 3, "A", readonly=True)
_A2 = numba.types.Array(numba.float64, 2, "A", readonly=True)
_C4 = numba.types.Array(numba.float64, 4, "C")
_C3 = numba.types.Array(numba.float64, 3, "C")
_C2 = numba.types.Array(numba.float64, 2, "C")
_I1 = numba.types.Array(numba.int64, 1, "C")


@numba.njit([numba.void(_A4, _A4, _A2, _A3, _I1, _C4, _C3, _C3, _C3, _C3, _C4, _C3, _C2, _C3,
                        _C3)], cache=True, nogil=True, error_model="numpy")
def payout_batch(credits, quotas, ti, theta, layout,
                 att, etd, earnings, payout, topup, tier_cost, accel, unearned, credited,
                 bonus_cost):
    """The kernel over a 2-D batch ``(B1, B2)`` of elements.

    Inputs (any strides, zero strides for broadcast axes): ``credits, quotas`` (B1, B2, M,
    12), ``ti`` (B1, B2), ``theta`` (B1, B2, K). Outputs (C-contiguous, preallocated):
    ``att`` (B1, B2, M, n), ``etd, earnings, payout, topup`` (B1, B2, n), ``tier_cost``
    (B1, B2, M, r), ``accel`` (B1, B2, M), ``unearned`` (B1, B2), ``credited`` (B1, B2, M),
    ``bonus_cost`` (B1, B2, b).
    """
    # full arrays and indices rather than per-element views: a view costs two atomic
    # reference-count updates, which dominated the run time
    for i in range(credits.shape[0]):
        for j in range(credits.shape[1]):
            unearned[i, j] = _element(credits, quotas, ti[i, j], theta, layout, i, j, att, etd,
                                      earnings, payout, topup, tier_cost, accel, credited,
                                      bonus_cost)



@numba.njit([numba.void(_A4, _A4, _A2, _A3, _I1, _C4, _C3, _C3, _C3, _C3, _C4, _C3, _C2, _C3,
                        _C3)], cache=True, nogil=True, error_model="numpy", parallel=True)
def payout_batch_parallel(credits, quotas, ti, theta, layout,
                          att, etd, earnings, payout, topup, tier_cost, accel, unearned,
                          credited, bonus_cost):
    """:func:`payout_batch` with the first batch axis spread over numba's threads."""
    for i in numba.prange(credits.shape[0]):
        for j in range(credits.shape[1]):
            unearned[i, j] = _element(credits, quotas, ti[i, j], theta, layout, i, j, att, etd,
                                      earnings, payout, topup, tier_cost, accel, credited,
                                      bonus_cost)


#: Batches smaller than this run on one thread (threads cost more than they save).
PARALLEL_MIN = 50_000
_LOCK = threading.Lock()
_PARALLEL_PID: list[int] = []


def run_batch(*args) -> None:
    """Run the kernel on a 2-D batch: threaded for large batches, else serial.

    The threaded kernel uses numba's threading layer (OpenMP here), which must not be
    used again in a process forked after it started; a forked child (another pid than the
    first user's) therefore runs the serial kernel. Concurrent callers (dask threads) take
    turns, each using every thread numba has."""
    n = args[0].shape[0] * args[0].shape[1]
    if n >= PARALLEL_MIN and args[0].shape[0] > 1:
        pid = os.getpid()
        if not _PARALLEL_PID:
            _PARALLEL_PID.append(pid)
        if _PARALLEL_PID[0] == pid:
            with _LOCK:
                payout_batch_parallel(*args)
            return
    payout_batch(*args)
