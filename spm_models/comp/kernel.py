"""The fused payout kernel: one compiled pass over the 12 months of a block of elements.

:func:`payout_batch` runs the plan rules over a 2-D batch ``(B1, B2)`` of elements (reps,
draws, scenarios: :func:`spm_models.comp.engine.payout_kernel` picks the two axes and loops
over any others) in blocks of :data:`BLOCK` elements along ``B2``, month loop outside and
element loop inside: branches that depend on the month only (quota or payout period end,
modifier evaluation) are taken once per block; inputs are read along ``B2`` (contiguous
when it is the cube's ``draw`` axis); outputs are written ``B2``-contiguous and handed back
as strided views, and arrive zero-filled (no zeroing pass; rows never written cost no page
fault). No numpy temporaries: one read of the inputs, one write of the outputs
(near the memory-bandwidth floor of ``numpy.cumsum``, ``benchmarks/bench_comp.py``).

Every element loop is written so that LLVM vectorises it: over 1-D block views indexed from
0 (numba's negative-index wraparound folds away: no scatter/gather), few arrays per loop
(few runtime alias checks), selects rather than branches, unit-stride inputs read through a
C-typed view (:func:`_as_c1`; "A"-layout address arithmetic is opaque to LLVM). Tiers and
curves apply point by point with selects; months without an evaluation are summed with the
next one in one pass. Every sum keeps the month order of the scalar rules: results are
bit-identical to the element-by-element formulation. Method: numba ``@njit``
(https://numba.readthedocs.io/en/stable/user/jit.html, ``nogil``; rows spread over threads
by :func:`spm_models.comp.engine.run_batch`); ``fastmath`` off, so every sum and comparison
is the scalar IEEE one of the rules. Cached on disk (``cache=True``: ``__pycache__`` beside
this file, or ``NUMBA_CACHE_DIR``); the block helpers are called, not inlined (same speed,
half the first compile) and live in this file (numba's cache does not track other modules).
``layout`` and ``theta`` are described in :meth:`spm_models.comp.engine.PlanStructure.layout`.
"""
from __future__ import annotations

import math

import numba
import numpy as np
from numba.core import types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic

#: Attainments within this distance of a boundary count as on it (see engine.BOUNDARY_TOL).
TOL = 1e-10

HEADER = 7
MEASURE_FIELDS = 8
MODIFIER_FIELDS = 3
BONUS_FIELDS = 2
MEASURE_PARAMS = 5  # weight, threshold, limit, cap_payout, advance_cap
KIND_MARGINAL, KIND_RETRO, KIND_LINEAR, KIND_STEP = 0, 1, 2, 3
#: Elements of the inner batch axis processed together (256 to 1024 measured alike).
BLOCK = 1024


@numba.njit(cache=True, error_model="numpy")
def _factors(al, f, kk, nb, theta, off, n, kind):
    """``f(a)`` per unit of ``U`` and the tier/point reached ``kk`` (-1: none) for ``al[:nb]``,
    tier (point) outermost: marginal ``Σ rate_i × clip(a − start_i, 0, width_i)``;
    retroactive: the rate reached × ``max(a, 0)``; linear curve: interpolation, 0 below the
    first point, the last factor above the last; step curve: the factor of the last point at
    or below ``a``. The points ascend, so the last one reached wins (callers mask ``ok``)."""
    if kind == KIND_MARGINAL:
        for z in range(n):
            s = theta[off + z]
            r = theta[off + n + z]
            last = z + 1 >= n
            w = 0.0 if last else theta[off + z + 1] - s
            for jj in range(nb):  # (the first tier starts the sums: 0.0 + ..., kk -1 + ...)
                a = al[jj]
                x = max(a - s, 0.0)
                if not last:
                    x = min(x, w)
                f[jj] = (0.0 if z == 0 else f[jj]) + r * x
                kk[jj] = (-1 if z == 0 else kk[jj]) + (1 if a > s else 0)
    elif kind == KIND_RETRO:
        r0 = theta[off + n]
        for jj in range(nb):
            a = al[jj]
            f[jj] = r0 * (a if a > 0.0 else 0.0)
            kk[jj] = 0
        for z in range(1, n):
            s = theta[off + z] - TOL
            r = theta[off + n + z]
            for jj in range(nb):
                a = al[jj]
                hit = a >= s
                g = r * (a if a > 0.0 else 0.0)
                f[jj] = g if hit else f[jj]
                kk[jj] += 1 if hit else 0
    else:
        # curves: point by point, the value on the segment from point z (taken where the
        # attainment reaches it; the points ascend, so the last one reached wins)
        for z in range(n):
            xz = theta[off + z]
            s = xz - TOL
            yz = theta[off + n + z]
            seg = kind == KIND_LINEAR and z + 1 < n
            dy = theta[off + n + z + 1] - yz if seg else 0.0
            dx = theta[off + z + 1] - xz if seg else 1.0
            if z == 0:  # (below the first point: 0, kk = -1; the points ascend)
                for jj in range(nb):
                    a = al[jj]
                    g = yz + dy * (a - xz) / dx
                    g = g if (seg and a > xz) else yz
                    below = a < s
                    f[jj] = 0.0 if below else g
                    kk[jj] = -1 if below else 0
            else:
                for jj in range(nb):
                    a = al[jj]
                    hit = a >= s
                    g = yz + dy * (a - xz) / dx
                    g = g if (seg and a > xz) else yz
                    f[jj] = g if hit else f[jj]
                    kk[jj] += 1 if hit else 0


@numba.njit(cache=True, error_model="numpy")
def _step_table(al, f, nb, theta, off, n, z0):
    """A modifier (step) table over ``al[:nb]`` into ``f``, from point ``z0`` on."""
    for z in range(z0, n):
        s = theta[off + z] - TOL
        yz = theta[off + n + z]
        if z == 0:
            for jj in range(nb):
                f[jj] = 0.0 if al[jj] < s else yz
        else:
            for jj in range(nb):
                f[jj] = yz if al[jj] >= s else f[jj]


@intrinsic
def _as_c1(typingctx, arr):
    """A 1-D array of unit stride (the caller checks) typed C-contiguous (loops vectorise)."""
    ret = types.Array(arr.dtype, 1, "C")

    def codegen(context, builder, sig, args):
        src = context.make_array(sig.args[0])(context, builder, value=args[0])
        dst = context.make_array(sig.return_type)(context, builder)
        for name in ("meminfo", "parent", "nitems", "itemsize", "data", "shape", "strides"):
            setattr(dst, name, getattr(src, name))
        return impl_ret_borrowed(context, builder, sig.return_type, dst._getvalue())

    return ret(arr), codegen


@numba.njit(cache=True, error_model="numpy")
def _col(x, i, j0, j1, m, t, buf):
    """``x[i, j0:j1, m, t]`` contiguous: itself at unit stride, else copied into ``buf``."""
    v = x[i, j0:j1, m, t]
    if v.strides[0] == v.itemsize:
        return _as_c1(v)
    for jj in range(j1 - j0):
        buf[jj] = v[jj]
    return buf


@numba.njit(cache=True, inline="always", error_model="numpy")
def _row(i, credits, quotas, ti, start, theta, layout, att, etd, earnings, payout, topup, tier_cost,
         accel, unearned, credited, bonus_cost):
    """The rules for every element ``(i, j)`` of row ``i``, in blocks along ``j``."""
    n_m = layout[0]
    pm = layout[1]
    has_draw = layout[2] != 0
    draw_rec = layout[3] != 0
    n_b = layout[4]
    d_idx = layout[5]
    n_mod_total = layout[6]
    mod_base = HEADER + MEASURE_FIELDS * n_m
    b_base = mod_base + MODIFIER_FIELDS * n_mod_total
    n_p = etd.shape[1]
    n_j = credits.shape[1]
    draw = theta[d_idx]
    carry_paid = draw_rec or not has_draw
    q_const = quotas.strides[1] == 0  # quotas broadcast along j (a cube's draws)
    # scratch rows of one block
    c = np.empty(BLOCK)
    qsum = np.empty(BLOCK)
    unit = np.empty(BLOCK)
    eat = np.empty(BLOCK)
    amax = np.empty(BLOCK)
    prior = np.empty(BLOCK)
    mod = np.empty(BLOCK)
    al = np.empty(BLOCK)
    f = np.empty(BLOCK)
    ev = np.empty(BLOCK)
    ok = np.empty(BLOCK, dtype=np.bool_)
    kk = np.empty(BLOCK, dtype=np.int16)  # (2 bytes: fewer bytes per pass; < 32768 points)
    fm = np.empty(BLOCK)
    buf = np.empty(BLOCK)
    qmv = np.empty(BLOCK)
    one_a = np.empty(2)  # f(min(limit, 1)) and f(1) of a measure
    one_f = np.empty(2)
    one_k = np.empty(2, dtype=np.int16)
    buf2 = np.empty(BLOCK)
    buf3 = np.empty(BLOCK)
    tib = np.empty(BLOCK)
    for j0 in range(0, n_j, BLOCK):
        nb = min(BLOCK, n_j - j0)
        j1 = j0 + nb
        ti_v = ti[i, j0:j1]
        st_v = start[i, j0:j1]
        for jj in range(nb):
            tib[jj] = ti_v[jj]
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
            m_bonus = False
            for b in range(n_b):
                if layout[b_base + BONUS_FIELDS * b] == m:
                    m_bonus = True
            # plan constants of the measure
            a1 = 1.0 if limit > 1.0 else limit
            one_a[0] = a1
            one_a[1] = 1.0
            _factors(one_a, one_f, one_k, 2, theta, po, n_pts, kind)
            f_a1 = one_f[0]
            f_one = one_f[1]
            at_target_on = 1.0 >= threshold
            if n_mod == 0:
                for jj in range(nb):
                    mod[jj] = 1.0
            ac_v = accel[i, m, j0:j1]
            cr_v = credited[i, m, j0:j1]
            for jj in range(nb):
                prior[jj] = 0.0
            pc = 0  # months since the last payout period end
            k = 0  # payout period index
            for q0 in range(0, 12, L):
                if q_const:
                    qs = 0.0
                    for u in range(q0, q0 + L):
                        qs += quotas[i, j0, m, u]
                    for jj in range(nb):
                        qsum[jj] = qs
                else:
                    for jj in range(nb):
                        qs = 0.0
                        for u in range(q0, q0 + L):
                            qs += quotas[i, j0 + jj, m, u]
                        qsum[jj] = qs
                lw = L / 12.0
                for jj in range(nb):
                    uv = tib[jj] * weight * lw if ti_basis else qsum[jj]
                    unit[jj] = uv
                    c[jj] = 0.0
                    if has_adv:
                        eat[jj] = uv * f_a1 if at_target_on else 0.0
                if m_bonus:
                    for jj in range(nb):
                        amax[jj] = -math.inf
                n_pend = 0
                pend0 = 0
                pend1 = 0
                for first in range(L):
                    t = q0 + first
                    pc += 1
                    q_end = first == L - 1
                    pay_end = pc == pm
                    # credits: months that need no evaluation wait (up to two) and are
                    # added with the next one in one pass, in month order
                    if not (m_bonus or q_end or pay_end) and n_pend < 2:
                        if n_pend == 0:
                            pend0 = t
                        else:
                            pend1 = t
                        n_pend += 1
                        continue
                    evaluate = q_end or pay_end
                    if evaluate:
                        # modifiers: product of the step factors of the modifier measures'
                        # attainment as of t (``mod`` stays 1 for a measure without any);
                        # before this measure's credits (they share the column buffers)
                        for jm in range(mod0, mod0 + n_mod):
                            jb = mod_base + MODIFIER_FIELDS * jm
                            mm = layout[jb]
                            tgt = mod if jm == mod0 else fm  # (first factor: 1 × x = x)
                            toff = layout[jb + 2]
                            trows = layout[jb + 1]
                            # the quota of the period (``qm`` when constant along j), and the
                            # credits to t three months a pass (``ev``), sums in month order;
                            # the last pass divides and applies the table's first point
                            qm = 0.0
                            for u in range(q0, q0 + L):
                                if q_const:
                                    qm += quotas[i, j0, mm, u]
                                else:
                                    for jj in range(nb):
                                        qp = 0.0 if u == q0 else qmv[jj]
                                        qmv[jj] = qp + quotas[i, j0 + jj, mm, u]
                            u = q0
                            started = False
                            while t - u + 1 > 3:
                                xa = _col(credits, i, j0, j1, mm, u, buf)
                                xb = _col(credits, i, j0, j1, mm, u + 1, buf2)
                                xc = _col(credits, i, j0, j1, mm, u + 2, buf3)
                                for jj in range(nb):
                                    x = ev[jj] if started else 0.0
                                    ev[jj] = ((x + xa[jj]) + xb[jj]) + xc[jj]
                                started = True
                                u += 3
                            rem = t - u + 1
                            xa = _col(credits, i, j0, j1, mm, u, buf)
                            xb = _col(credits, i, j0, j1, mm, u + 1, buf2) if rem > 1 else xa
                            xc = _col(credits, i, j0, j1, mm, u + 2, buf3) if rem > 2 else xa
                            s0 = theta[toff] - TOL
                            y0 = theta[toff + trows]
                            for jj in range(nb):
                                x = (ev[jj] if started else 0.0) + xa[jj]
                                if rem > 1:
                                    x = x + xb[jj]
                                if rem > 2:
                                    x = x + xc[jj]
                                qv = qm if q_const else qmv[jj]
                                a = x / qv if qv > 0.0 else 0.0
                                f[jj] = a
                                tgt[jj] = 0.0 if a < s0 else y0
                            _step_table(f, tgt, nb, theta, toff, trows, 1)
                            if jm != mod0:
                                for jj in range(nb):
                                    mod[jj] *= fm[jj]
                    cv = _col(credits, i, j0, j1, m, t, buf)
                    xa = _col(credits, i, j0, j1, m, pend0, buf2) if n_pend > 0 else cv
                    xb = _col(credits, i, j0, j1, m, pend1, buf3) if n_pend > 1 else cv
                    add = evaluate and not m_bonus  # (else the credits are added here)
                    if not add:
                        for jj in range(nb):
                            x = c[jj]
                            if n_pend > 0:
                                x = x + xa[jj]
                            if n_pend > 1:
                                x = x + xb[jj]
                            c[jj] = x + cv[jj]
                        n_pend = 0
                        if m_bonus:
                            for jj in range(nb):
                                qs = qsum[jj]
                                a = c[jj] / qs if qs > 0.0 else -math.inf
                                amax[jj] = a if a > amax[jj] else amax[jj]
                        if not evaluate:
                            continue
                    # credits to t (pending months first, in month order) unless added
                    # above, attainment and its limit, in one pass (with the attainment
                    # output of the payout period at its end)
                    at_v = att[i, m, k, j0:j1]
                    for jj in range(nb):
                        x = c[jj]
                        if add:
                            if n_pend > 0:
                                x = x + xa[jj]
                            if n_pend > 1:
                                x = x + xb[jj]
                            x = x + cv[jj]
                            c[jj] = x
                        qs = qsum[jj]
                        valid = qs > 0.0
                        a = x / qs if valid else 0.0
                        al[jj] = a if a < limit else limit
                        ok[jj] = valid and a >= threshold
                        if pay_end:
                            at_v[jj] = a if valid else np.nan
                    n_pend = 0
                    _factors(al, f, kk, nb, theta, po, n_pts, kind)
                    # earnings as of t (× the modifiers; ``mod`` is 1 without any: e × 1 = e)
                    if q_end:
                        # ETD: the periods ended (``prior``) + this one, capped; the year's
                        # credits and the accelerator share, in one pass
                        et_v = etd[i, k, j0:j1]
                        if pay_end:
                            for jj in range(nb):
                                e = (unit[jj] * f[jj] if ok[jj] else 0.0) * mod[jj]
                                ev[jj] = e
                                total = prior[jj] + e
                                prior[jj] = total
                                et_v[jj] += total if total < cap_pay else cap_pay
                        else:
                            for jj in range(nb):
                                e = (unit[jj] * f[jj] if ok[jj] else 0.0) * mod[jj]
                                ev[jj] = e
                                prior[jj] += e
                        for jj in range(nb):
                            cr_v[jj] += c[jj]
                            x = ac_v[jj]
                            y = x + (ev[jj] - unit[jj] * f_one * mod[jj])
                            ac_v[jj] = y if (ok[jj] and al[jj] > 1.0) else x
                    else:  # (a payout period end inside the quota period)
                        cap_frac = adv * ((first + 1) / L)
                        et_v = etd[i, k, j0:j1]
                        for jj in range(nb):
                            e = (unit[jj] * f[jj] if ok[jj] else 0.0) * mod[jj]
                            if has_adv:
                                cap_e = cap_frac * eat[jj]
                                e = cap_e if e > cap_e else e
                            total = prior[jj] + e
                            et_v[jj] += total if total < cap_pay else cap_pay
                    if q_end:
                        # the year's earnings by tier (per-tier terms of the marginal sum)
                        if kind == KIND_MARGINAL:
                            for z in range(n_pts):
                                s = theta[po + z]
                                r = theta[po + n_pts + z]
                                last = z + 1 >= n_pts
                                width = 0.0 if last else theta[po + z + 1] - s
                                tc_v = tier_cost[i, m, z, j0:j1]
                                for jj in range(nb):
                                    x = al[jj] - s
                                    if not last and x > width:
                                        x = width
                                    tc = tc_v[jj]
                                    add = tc + unit[jj] * mod[jj] * r * x
                                    tc_v[jj] = add if (ok[jj] and kk[jj] >= z and ev[jj] != 0.0) else tc
                        else:
                            for z in range(n_pts):
                                tc_v = tier_cost[i, m, z, j0:j1]
                                for jj in range(nb):
                                    tc = tc_v[jj]
                                    add = tc + ev[jj]
                                    tc_v[jj] = add if (ok[jj] and kk[jj] == z and ev[jj] != 0.0) else tc
                    for b in range(n_b):
                        bb = b_base + BONUS_FIELDS * b
                        if layout[bb] != m:
                            continue
                        at = theta[layout[bb + 1]] - TOL
                        amount = theta[layout[bb + 1] + 1]
                        bc_v = bonus_cost[i, b, j0:j1]
                        et_v = etd[i, k, j0:j1]
                        for jj in range(nb):
                            if q_end and amax[jj] >= at:
                                bc_v[jj] += 1.0  # counts for now; money below
                            if pay_end:
                                reached = 1.0 if amax[jj] >= at else 0.0
                                count = bc_v[jj] if q_end else bc_v[jj] + reached
                                et_v[jj] += count * amount
                    if pay_end:
                        pc = 0
                        k += 1
            # year-end breakdown: scale tier earnings down to the payout cap
            if cap_pay < math.inf:  # (with a payout cap, a year without earnings keeps none)
                for jj in range(nb):
                    pr = prior[jj]
                    f[jj] = (cap_pay if pr > cap_pay else pr) / pr if pr > 0.0 else 0.0
                for z in range(n_pts):  # (rows past the measure's tiers stay 0)
                    tc_v = tier_cost[i, m, z, j0:j1]
                    for jj in range(nb):
                        tc_v[jj] *= f[jj]
                for jj in range(nb):
                    ac_v[jj] *= f[jj]
        for b in range(n_b):
            amount = theta[layout[b_base + BONUS_FIELDS * b + 1] + 1]
            bc_v = bonus_cost[i, b, j0:j1]
            for jj in range(nb):
                bc_v[jj] *= amount
        # payouts: draw, recovery and clawback carry, payout period by payout period
        # (running sums per element in scratch rows)
        counted = c
        total_paid = qsum
        prev = unit
        for jj in range(nb):
            counted[jj] = 0.0
            total_paid[jj] = 0.0
            prev[jj] = 0.0
        for k in range(n_p):
            et_v = etd[i, k, j0:j1]
            pa_v = payout[i, k, j0:j1]
            to_v = topup[i, k, j0:j1]
            ea_v = earnings[i, k, j0:j1]
            for jj in range(nb):
                cur = et_v[jj]
                due = cur - counted[jj]
                earned_due = due if due > 0.0 else 0.0
                if k < st_v[jj]:  # before the rep's first paid period (a hire): nothing paid
                    paid = 0.0
                    earned_due = 0.0
                elif not has_draw:
                    paid = earned_due
                else:
                    paid = due if due > draw else draw
                counted[jj] += paid if carry_paid else earned_due
                pa_v[jj] = paid
                to_v[jj] = paid - earned_due
                ea_v[jj] = cur if k == 0 else cur - prev[jj]
                prev[jj] = cur
                total_paid[jj] += paid
        et_v = etd[i, n_p - 1, j0:j1]
        un_v = unearned[i, j0:j1]
        for jj in range(nb):
            un_v[jj] = total_paid[jj] - et_v[jj]


_A4, _A2 = (numba.types.Array(numba.float64, d, "A", readonly=True) for d in (4, 2))
_T1, _C2, _C3, _C4 = (numba.types.Array(numba.float64, d, "C") for d in (1, 2, 3, 4))
_I1 = numba.types.Array(numba.int64, 1, "C")
_SIG = [numba.void(_A4, _A4, _A2, _A2, _T1, _I1, _C4, _C3, _C3, _C3, _C3, _C4, _C3, _C2, _C3, _C3)]


@numba.njit(_SIG, cache=True, nogil=True, error_model="numpy")
def payout_batch(credits, quotas, ti, start, theta, layout,
                 att, etd, earnings, payout, topup, tier_cost, accel, unearned, credited,
                 bonus_cost):
    """The kernel over a 2-D batch ``(B1, B2)`` of elements sharing one plan.

    Inputs (any strides, zero strides for broadcast axes): ``credits, quotas`` (B1, B2, M,
    12), ``ti`` (B1, B2), ``start`` (B1, B2: index of the first payout period the element is
    paid in; earlier periods pay nothing, not even a draw, and count nothing); ``theta`` (K,) and ``layout`` (S,) describe the plan. Outputs
    (C-contiguous, zero-filled: the sums start from them; ``B2`` last): ``att`` (B1, M, n,
    B2), ``etd, earnings, payout, topup`` (B1, n, B2), ``tier_cost`` (B1, M, r, B2; rows past
    a measure's tiers stay 0), ``accel, credited`` (B1, M, B2), ``unearned`` (B1, B2),
    ``bonus_cost`` (B1, b, B2)."""
    for i in range(credits.shape[0]):
        _row(i, credits, quotas, ti, start, theta, layout, att, etd, earnings, payout, topup,
             tier_cost, accel, unearned, credited, bonus_cost)
