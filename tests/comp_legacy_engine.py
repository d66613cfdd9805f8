"""Reference only (tests): the numpy payout engine as it was before part 2 of the contract
(the property "a plan without part-2 keys computes as before" compares the fused kernel
against it; not imported by the package).

The payout engine: one vectorised kernel for actual payouts and for simulation.

:func:`payout_kernel` works on numpy arrays with a trailing ``period`` axis (the 12
months of the plan year) and any leading batch axes (``rep``, ``draw``, ``scenario``, ...)
that broadcast. :func:`compute_payouts` wraps it with :func:`xarray.apply_ufunc`
(``dask="parallelized"``) so numpy- and dask-backed cubes run through the same code;
``spm comp calc`` is this engine with no ``draw`` dimension.

Plan parameters travel as a numeric vector ``theta`` (core dim ``plan_param``) next to a
static :class:`PlanStructure`, so plan variants that share a structure (a swept rate, cap
or tier boundary) broadcast along ``scenario`` instead of being looped over.

Rules (``spec/comp_plan.md``): attainment ``A(t) = C(t)/Q`` per quota period; earnings by
marginal or retroactive tiers with threshold and attainment cap; earned-to-date sums the
quota periods begun (each as of ``min(t, end of q)``), capped at ``cap.payout`` per plan
year, plus bonuses reached once per quota period; payouts at the end of each payout period
with draw (recoverable or not) and clawback carry. Money is never rounded here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import xarray as xr

from spm_models.comp.plan import Plan
from spm_models.errors import InputError

#: Attainments within this distance of a boundary (tier start, threshold, bonus ``at``)
#: count as on it, so float noise in sums of decimal amounts (0.1 + 0.2) cannot move an
#: attainment that is exactly on a boundary into the lower tier.
BOUNDARY_TOL = 1e-10

MEASURE = "measure"
PERIOD = "period"
TIER = "tier"
BONUS = "bonus"
PARAM = "plan_param"
_PP = "payout_period"  # output core dim inside apply_ufunc, renamed to ``period``


@dataclass(frozen=True)
class MeasureStructure:
    quota_months: int
    ti_basis: bool
    retroactive: bool
    n_tiers: int


@dataclass(frozen=True)
class PlanStructure:
    """The static part of a plan: everything that sets array shapes or code paths."""

    measures: tuple[MeasureStructure, ...]
    payout_months: int
    bonus_measures: tuple[int, ...]
    has_draw: bool
    draw_recoverable: bool

    @property
    def n_tiers(self) -> int:
        return max(m.n_tiers for m in self.measures)

    @property
    def n_payouts(self) -> int:
        return 12 // self.payout_months

    def offsets(self) -> tuple[list[int], list[int], int]:
        """Start of each measure's and bonus' parameters in ``theta``; the draw's index."""
        pos, m_off = 0, []
        for m in self.measures:
            m_off.append(pos)
            pos += 4 + 2 * m.n_tiers  # weight, threshold, limit, cap_payout, starts, rates
        b_off = []
        for _ in self.bonus_measures:
            b_off.append(pos)
            pos += 2  # at, amount
        return m_off, b_off, pos

    @property
    def n_params(self) -> int:
        return self.offsets()[2] + 1


def plan_structure(plan: Plan) -> PlanStructure:
    names = plan.measure_names
    return PlanStructure(
        measures=tuple(
            MeasureStructure(m.quota_months, m.basis == "target_incentive", m.retroactive,
                             len(m.tiers))
            for m in plan.measures
        ),
        payout_months=plan.payout_months,
        bonus_measures=tuple(names.index(b.measure) for b in plan.bonuses),
        has_draw=plan.draw is not None,
        draw_recoverable=bool(plan.draw.recoverable) if plan.draw else True,
    )


def plan_theta(plan: Plan) -> np.ndarray:
    """The plan's numeric parameters in the layout of :meth:`PlanStructure.offsets`."""
    theta: list[float] = []
    for m in plan.measures:
        theta += [m.weight, m.threshold, m.attainment_limit,
                  np.inf if m.cap_payout is None else m.cap_payout]
        theta += [t.start for t in m.tiers] + [t.rate for t in m.tiers]
    for b in plan.bonuses:
        theta += [b.at, b.amount]
    theta.append(plan.draw.amount if plan.draw else 0.0)
    return np.asarray(theta, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# numpy kernel
# ---------------------------------------------------------------------------------------
def _earn(a: np.ndarray, mask: np.ndarray | None, unit: Any, starts: list, rates: list,
          ends: list, retroactive: bool, terms: bool) -> tuple[np.ndarray, list[np.ndarray]]:
    """Earnings ``U × f(a)`` for capped attainment ``a``; optional per-tier terms
    (already multiplied by ``U`` and masked)."""
    out_terms: list[np.ndarray] = []
    if not retroactive:
        shape = np.broadcast_shapes(np.shape(a), *[np.shape(v) for v in (*starts, *rates)])
        total = np.zeros(shape)
        scratch = np.empty(shape)
        for s, e, r in zip(starts, ends, rates):
            np.subtract(a, s, out=scratch)
            np.clip(scratch, 0.0, None if e is None else np.subtract(e, s), out=scratch)
            np.multiply(scratch, r, out=scratch)
            if terms:
                out_terms.append(scratch.copy())
            np.add(total, scratch, out=total)
    else:
        rate = rates[0]
        idx: Any = 0
        for i in range(1, len(starts)):
            hit = a >= np.subtract(starts[i], BOUNDARY_TOL)
            rate = np.where(hit, rates[i], rate)
            if terms:
                idx = np.where(hit, i, idx)
        total = _scale(np.maximum(a, 0.0), rate, None)
        if terms:
            out_terms = [np.where(idx == i, total, 0.0) for i in range(len(starts))]
    total = _scale(total, unit, mask)
    out_terms = [_scale(t, unit, mask) for t in out_terms]
    return total, out_terms


def _scale(x: np.ndarray, unit: Any, mask: np.ndarray | None) -> np.ndarray:
    if x.shape == np.broadcast_shapes(x.shape, np.shape(unit)):
        np.multiply(x, unit, out=x)
    else:
        x = x * unit
    if mask is not None:
        x = np.where(mask, x, 0.0)
    return x


def _above_target(a: np.ndarray, terms: list[np.ndarray], mask: np.ndarray | None, unit: Any,
                  starts: list, rates: list, ends: list, retroactive: bool) -> np.ndarray:
    """Earnings attributable to attainment above 100 %: ``E(a) − E(min(a, 1))``."""
    if retroactive:
        full = sum(terms)
        base, _ = _earn(np.minimum(a, 1.0), mask, unit, starts, rates, ends, True, False)
        return full - base
    acc: Any = 0.0
    for s, e, r, term in zip(starts, ends, rates, terms):
        if np.all(np.asarray(s) >= 1.0):
            acc = acc + term  # the whole tier lies above target
        elif e is not None and np.all(np.asarray(e) <= 1.0):
            continue  # the whole tier lies below target
        else:
            lo = np.maximum(s, 1.0)
            tmp = np.clip(a - lo, 0.0, None if e is None else np.maximum(np.subtract(e, lo), 0.0))
            acc = acc + _scale(tmp * r, unit, mask)
    return np.broadcast_to(acc, a.shape) if np.ndim(acc) == 0 else acc


def payout_kernel(credits: np.ndarray, quotas: np.ndarray, ti: np.ndarray, theta: np.ndarray,
                  *, struct: PlanStructure) -> tuple[np.ndarray, ...]:
    """Payouts of one plan over any batch of reps/draws/scenarios.

    Loops run over the 12 months, the tiers and the payout periods only; every step is a
    numpy operation over the whole batch.

    Parameters
    ----------
    credits, quotas : (..., measure, 12) monthly credited amounts and quotas.
    ti : (...) target incentive per batch element (NaN allowed when unused).
    theta : (..., n_params) plan parameters (see :func:`plan_theta`).

    Returns
    -------
    attainment (..., measure, n_payouts), earned_to_date, earnings (ETD increments),
    payout, draw_topup (each (..., n_payouts)), tier_cost (..., measure, tier),
    accelerator_cost (..., measure), unearned_paid (...), credited (..., measure: the
    plan year's credits) and, with bonuses, bonus_cost (..., bonus).
    """
    credits = np.asarray(credits, dtype=np.float64)
    quotas = np.asarray(quotas, dtype=np.float64)
    ti = np.asarray(ti, dtype=np.float64)
    theta = np.asarray(theta, dtype=np.float64)
    n_m = len(struct.measures)
    n_p, pm = struct.n_payouts, struct.payout_months
    shape = np.broadcast_shapes(credits.shape[:-2], quotas.shape[:-2], ti.shape, theta.shape[:-1])
    par = [theta[..., j] for j in range(theta.shape[-1])]
    m_off, b_off, d_idx = struct.offsets()

    att_out = np.empty((n_m, n_p) + shape)
    etd = np.zeros((n_p,) + shape)
    tier_cost = np.zeros((n_m, struct.n_tiers) + shape)
    accel_cost = np.zeros((n_m,) + shape)
    credited = np.zeros((n_m,) + shape)
    n_b = len(struct.bonus_measures)
    bonus_cost = np.zeros((n_b,) + shape)

    for m, ms in enumerate(struct.measures):
        o = m_off[m]
        weight, threshold, limit, cap_pay = par[o], par[o + 1], par[o + 2], par[o + 3]
        starts = par[o + 4: o + 4 + ms.n_tiers]
        rates = par[o + 4 + ms.n_tiers: o + 4 + 2 * ms.n_tiers]
        ends: list = list(starts[1:]) + [None]
        use_mask = bool(np.any(threshold > 0))
        use_limit = bool(np.any(np.isfinite(limit)))
        use_cap = bool(np.any(np.isfinite(cap_pay)))
        L = ms.quota_months
        x = np.moveaxis(credits[..., m, :], -1, 0)  # (12, ...)
        q = quotas[..., m, :]
        qsum = np.moveaxis(q.reshape(q.shape[:-1] + (12 // L, L)).sum(-1), -1, 0)  # (nq, ...)
        valid = qsum > 0
        all_valid = bool(valid.all())
        inv_q = np.divide(1.0, qsum, out=np.zeros_like(qsum), where=valid)
        bonuses = [b for b, bm in enumerate(struct.bonus_measures) if bm == m]
        prior = np.zeros(shape)  # earnings of the completed quota periods
        tiers_acc = [np.zeros(shape) for _ in range(ms.n_tiers)]
        b_prior = {b: np.zeros(shape) for b in bonuses}
        c: Any = None
        a_max: Any = None
        for t in range(12):
            j, first = divmod(t, L)
            q_end = first == L - 1
            pay_end = (t + 1) % pm == 0
            if first == 0:
                c = np.array(x[t], dtype=np.float64, copy=True)
            else:
                c += x[t]
            if q_end:
                credited[m] += c
            if not (q_end or pay_end or bonuses):
                continue
            a = c * inv_q[j]
            reached: dict[int, np.ndarray] = {}
            if bonuses:
                a_nan = a if all_valid else np.where(valid[j], a, -np.inf)
                a_max = a_nan.copy() if first == 0 else np.maximum(a_max, a_nan, out=a_max)
                for b in bonuses:
                    reached[b] = a_max >= np.subtract(par[b_off[b]], BOUNDARY_TOL)
            if not (q_end or pay_end):
                continue
            if pay_end:
                k = (t + 1) // pm - 1
                att_out[m, k] = a if all_valid else np.where(valid[j], a, np.nan)
            unit = (ti * weight * (L / 12.0)) if ms.ti_basis else qsum[j]
            mask = (a >= np.subtract(threshold, BOUNDARY_TOL)) if use_mask else None
            if use_limit:
                a_lim = (np.minimum(a, limit, out=a)
                         if a.shape == np.broadcast_shapes(a.shape, np.shape(limit))
                         else np.minimum(a, limit))
            else:
                a_lim = a
            e, terms = _earn(a_lim, mask, unit, starts, rates, ends, ms.retroactive, q_end)
            if q_end:
                prior = np.add(prior, e, out=prior) if prior.shape == e.shape else prior + e
                for i, term in enumerate(terms):
                    tiers_acc[i] += term
                accel_cost[m] += _above_target(a_lim, terms, mask, unit, starts, rates, ends,
                                               ms.retroactive)
                for b in bonuses:
                    b_prior[b] = b_prior[b] + reached[b]
                total = prior
            else:
                total = np.add(e, prior, out=e) if e.shape == prior.shape else e + prior
            if pay_end:
                etd[k] += np.minimum(total, cap_pay) if use_cap else total
                for b in bonuses:
                    count = b_prior[b] if q_end else b_prior[b] + reached[b]
                    etd[k] += count * par[b_off[b] + 1]
        # year-end breakdown: scale tier earnings down to the payout cap
        if use_cap:
            capped = np.minimum(prior, cap_pay)
            scale = np.divide(capped, prior, out=np.zeros(shape), where=prior > 0)
        else:
            scale = 1.0
        for i in range(ms.n_tiers):
            tier_cost[m, i] = tiers_acc[i] * scale
        accel_cost[m] *= scale
        for b in bonuses:
            bonus_cost[b] = b_prior[b] * par[b_off[b] + 1]

    payout = np.empty((n_p,) + shape)
    topup = np.empty((n_p,) + shape)
    earnings = np.empty((n_p,) + shape)
    counted = np.zeros(shape)
    draw = par[d_idx]
    carry_paid = struct.draw_recoverable or not struct.has_draw
    for k in range(n_p):
        due = np.subtract(etd[k], counted, out=payout[k])  # payout[k] holds `due` for now
        earned_due = np.maximum(due, 0.0, out=topup[k])  # topup[k] holds max(due, 0)
        if carry_paid and not struct.has_draw:
            counted += earned_due
            payout[k] = earned_due
            topup[k] = 0.0
        else:
            paid = np.maximum(due, draw, out=payout[k]) if struct.has_draw else due
            counted += paid if carry_paid else earned_due
            np.subtract(paid, earned_due, out=topup[k])
        if k == 0:
            earnings[0] = etd[0]
        else:
            np.subtract(etd[k], etd[k - 1], out=earnings[k])
    unearned = payout.sum(0) - etd[-1]

    outs = [np.moveaxis(att_out, (0, 1), (-2, -1)), np.moveaxis(etd, 0, -1),
            np.moveaxis(earnings, 0, -1), np.moveaxis(payout, 0, -1), np.moveaxis(topup, 0, -1),
            np.moveaxis(tier_cost, (0, 1), (-2, -1)), np.moveaxis(accel_cost, 0, -1), unearned,
            np.moveaxis(credited, 0, -1)]
    if n_b:
        outs.append(np.moveaxis(bonus_cost, 0, -1))
    return tuple(outs)


# ---------------------------------------------------------------------------------------
# xarray wrapper
# ---------------------------------------------------------------------------------------
def _as_plans(plan: Plan | Sequence[Plan] | xr.DataArray) -> tuple[PlanStructure, xr.DataArray, Plan]:
    """Structure, ``theta`` (with ``scenario`` for several plans) and a reference plan."""
    if isinstance(plan, Plan):
        return plan_structure(plan), xr.DataArray(plan_theta(plan), dims=[PARAM]), plan
    plans = list(plan)
    if not plans:
        raise ValueError("no plans given")
    struct = plan_structure(plans[0])
    for p in plans[1:]:
        if plan_structure(p) != struct or p.plan_year_start != plans[0].plan_year_start:
            raise ValueError("plans compared along 'scenario' in one call must share their "
                             "structure (measures, periods, tiers, bonuses, draw); "
                             "use simulate.sweep_plans, which groups them")
    theta = xr.DataArray(np.stack([plan_theta(p) for p in plans]), dims=["scenario", PARAM])
    return struct, theta, plans[0]


def _prepare(da: xr.DataArray, plan: Plan, what: str) -> xr.DataArray:
    names = plan.measure_names
    if MEASURE not in da.dims:
        if len(names) != 1:
            raise InputError(f"{what}: a '{MEASURE}' dimension is needed for a plan with "
                             f"several measures ({', '.join(names)})")
        da = da.expand_dims({MEASURE: names})
    else:
        missing = [n for n in names if n not in set(map(str, da[MEASURE].values))]
        if missing:
            raise InputError(f"{what}: measure(s) {', '.join(missing)} of the plan are missing")
        if list(map(str, da[MEASURE].values)) != names:
            da = da.sel({MEASURE: names})
    if PERIOD not in da.dims:
        raise InputError(f"{what}: needs a '{PERIOD}' dimension of months YYYY-MM")
    months = plan.months
    have = set(map(str, da[PERIOD].values))
    missing = [mo for mo in months if mo not in have]
    if missing:
        raise InputError(f"{what}: months {missing[0]}..{missing[-1]} of the plan year "
                         f"{months[0]}..{months[-1]} are missing")
    da = da.assign_coords({PERIOD: da[PERIOD].astype(str)})
    if list(map(str, da[PERIOD].values)) != months:
        da = da.sel({PERIOD: months})
    if da.chunks is not None:
        da = da.chunk({PERIOD: -1, MEASURE: -1})
    return da


def _target_incentive(plan: Plan, ti: Any) -> xr.DataArray:
    if ti is None:
        value = np.nan if plan.target_incentive is None else plan.target_incentive
        out = xr.DataArray(value)
    elif isinstance(ti, xr.DataArray):
        out = ti.astype(float)
        if plan.target_incentive is not None:
            out = out.fillna(plan.target_incentive)
    else:
        out = xr.DataArray(float(ti))
    if plan.needs_target_incentive and bool(out.isnull().any()):
        raise InputError(f"{plan.source}, key 'target_incentive': the plan pays on a "
                         "target_incentive basis but no target incentive is set for some reps")
    return out


def compute_payouts(plan: Plan | Sequence[Plan], credits: xr.DataArray, quotas: xr.DataArray,
                    target_incentive: xr.DataArray | float | None = None) -> xr.Dataset:
    """Attainment, earned-to-date and payouts of ``plan`` over labelled arrays.

    Parameters
    ----------
    plan : a :class:`Plan`, or several plans sharing one structure (stacked on ``scenario``).
    credits : monthly credits with dims ``(..., rep, period[, measure])``; any other dims
        (``draw``, ``scenario``) broadcast. Numpy- or dask-backed.
    quotas : monthly quotas ``(rep, period[, measure])`` (may carry more dims).
    target_incentive : per-rep DataArray over ``rep`` (NaN → the plan's), a number, or None.

    Returns
    -------
    Dataset with ``period`` = last month of each payout period: ``attainment`` (measure,
    period) and ``attainment_<measure>``, ``earned_to_date``, ``earnings`` (ETD
    increments), ``payout``, ``draw_topup``; and year-level cost elements
    ``tier_cost`` (measure, tier), ``accelerator_cost`` (measure), ``bonus_cost`` (bonus),
    ``unearned_paid`` (payouts above year-end earnings: draw top-ups not recovered, clawbacks
    not repaid); ``credited`` (measure): the plan year's credits.
    """
    struct, theta, ref = _as_plans(plan)
    credits = _prepare(credits, ref, "credits")
    quotas = _prepare(quotas, ref, "quotas")
    if "rep" in credits.dims and "rep" in quotas.dims and "rep" in credits.indexes \
            and "rep" in quotas.indexes and not credits.indexes["rep"].equals(quotas.indexes["rep"]):
        # simulation inputs from different sources: keep the reps that have both
        credits, quotas = xr.align(credits, quotas, join="inner", exclude={PERIOD, MEASURE})
    if isinstance(target_incentive, xr.DataArray) and "rep" in target_incentive.dims \
            and "rep" in credits.indexes:
        target_incentive = target_incentive.reindex(rep=credits.indexes["rep"])
    ti = _target_incentive(ref, target_incentive)
    n_b = len(struct.bonus_measures)
    out_core = [[MEASURE, _PP], [_PP], [_PP], [_PP], [_PP], [MEASURE, TIER], [MEASURE], [],
                [MEASURE]]
    if n_b:
        out_core.append([BONUS])
    results = xr.apply_ufunc(
        partial(payout_kernel, struct=struct),
        credits, quotas, ti, theta,
        input_core_dims=[[MEASURE, PERIOD], [MEASURE, PERIOD], [], [PARAM]],
        output_core_dims=out_core,
        dask="parallelized",
        output_dtypes=[np.float64] * len(out_core),
        dask_gufunc_kwargs={"output_sizes": {_PP: struct.n_payouts, TIER: struct.n_tiers,
                                             **({BONUS: n_b} if n_b else {})}},
    )
    names = ["attainment", "earned_to_date", "earnings", "payout", "draw_topup", "tier_cost",
             "accelerator_cost", "unearned_paid", "credited"] + (["bonus_cost"] if n_b else [])
    ds = xr.Dataset(dict(zip(names, results)))
    ds = ds.rename({_PP: PERIOD}).assign_coords({
        PERIOD: ref.payout_period_ends,
        MEASURE: ref.measure_names,
        TIER: np.arange(1, struct.n_tiers + 1),
    })
    if n_b:
        ds = ds.assign_coords({BONUS: [b.name for b in ref.bonuses]})
    for name in ref.measure_names:
        ds[f"attainment_{name}"] = ds["attainment"].sel({MEASURE: name}, drop=True)
    ds.attrs.update(plan=ref.name, payout_frequency=ref.payout_frequency,
                    plan_year_start=ref.plan_year_start)
    return ds
