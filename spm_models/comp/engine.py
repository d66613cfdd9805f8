"""The payout engine: one vectorised kernel for actual payouts and for simulation.

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

import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numba
import numpy as np
import xarray as xr

from spm_models.comp import kernel
from spm_models.comp.plan import Measure, Plan
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
    kind: int  # kernel.KIND_*: marginal, retroactive, linear curve, step curve
    n_tiers: int  # tiers, or curve points
    modifiers: tuple[tuple[int, int], ...] = ()  # (modifier measure index, table rows)
    advance_cap: bool = False

    @property
    def retroactive(self) -> bool:
        return self.kind == kernel.KIND_RETRO


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

    def offsets(self) -> tuple[list[int], list[list[int]], list[int], int]:
        """Start of each measure's, modifier table's and bonus' parameters in ``theta``;
        the draw's index."""
        pos, m_off, mod_off = 0, [], []
        for m in self.measures:
            m_off.append(pos)
            pos += kernel.MEASURE_PARAMS + 2 * m.n_tiers
        for m in self.measures:
            offs = []
            for _, rows in m.modifiers:
                offs.append(pos)
                pos += 2 * rows
            mod_off.append(offs)
        b_off = []
        for _ in self.bonus_measures:
            b_off.append(pos)
            pos += 2  # at, amount
        return m_off, mod_off, b_off, pos

    @property
    def n_params(self) -> int:
        return self.offsets()[3] + 1

    def layout(self) -> np.ndarray:
        """The integer layout the kernel reads (:mod:`spm_models.comp.kernel`).

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
        m_off, mod_off, b_off, d_idx = self.offsets()
        n_mod = sum(len(m.modifiers) for m in self.measures)
        out = [len(self.measures), self.payout_months, int(self.has_draw),
               int(self.draw_recoverable), len(self.bonus_measures), d_idx, n_mod]
        first = 0
        for i, m in enumerate(self.measures):
            out += [m.quota_months, int(m.ti_basis), m.kind, m.n_tiers, m_off[i], first,
                    len(m.modifiers), int(m.advance_cap)]
            first += len(m.modifiers)
        for i, m in enumerate(self.measures):
            for (mm, rows), off in zip(m.modifiers, mod_off[i]):
                out += [mm, rows, off]
        for bm, off in zip(self.bonus_measures, b_off):
            out += [bm, off]
        return np.asarray(out, dtype=np.int64)


def _kind(m: Measure) -> int:
    if m.has_curve:
        return kernel.KIND_STEP if m.interpolate == "step" else kernel.KIND_LINEAR
    return kernel.KIND_RETRO if m.retroactive else kernel.KIND_MARGINAL


def plan_structure(plan: Plan) -> PlanStructure:
    names = plan.measure_names
    return PlanStructure(
        measures=tuple(
            MeasureStructure(m.quota_months, m.basis == "target_incentive", _kind(m),
                             len(m.curve) if m.has_curve else len(m.tiers),
                             tuple((names.index(x.measure), len(x.table)) for x in m.modifiers),
                             m.advance_cap is not None)
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
                  np.inf if m.cap_payout is None else m.cap_payout,
                  0.0 if m.advance_cap is None else m.advance_cap]
        if m.has_curve:
            theta += [x for x, _ in m.curve] + [f for _, f in m.curve]
        else:
            theta += [t.start for t in m.tiers] + [t.rate for t in m.tiers]
    for m in plan.measures:
        for mod in m.modifiers:
            theta += [x for x, _ in mod.table] + [f for _, f in mod.table]
    for b in plan.bonuses:
        theta += [b.at, b.amount]
    theta.append(plan.draw.amount if plan.draw else 0.0)
    return np.asarray(theta, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# the kernel
# ---------------------------------------------------------------------------------------
#: Batches smaller than this run on one thread (threads cost more than they save).
PARALLEL_MIN = 50_000


def _threads() -> int:
    return max(1, min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else (os.cpu_count() or 1), int(getattr(numba.config, "NUMBA_NUM_THREADS", 1))))


def run_batch(*args) -> None:
    """Run the kernel on a 2-D batch: large batches split by rows over one Python thread per
    CPU (the compiled loop releases the GIL), small ones on the calling thread.

    Plain threads rather than numba's ``parallel=True``: the same compiled function serves
    both (half the first-compile time), and no threading layer is started, which a process
    forked later (dask, multiprocessing) could not use again."""
    b1 = args[0].shape[0]
    n = b1 * args[0].shape[1]
    k = min(_threads(), b1)
    if n < PARALLEL_MIN or k < 2:
        kernel.payout_batch(*args)
        return
    from concurrent.futures import ThreadPoolExecutor

    cuts = np.linspace(0, b1, k + 1).astype(int)
    parts = [tuple(a[lo:hi] if idx not in (4, 5) else a for idx, a in enumerate(args))
             for lo, hi in itertools.pairwise(cuts)]
    with ThreadPoolExecutor(k) as pool:
        for fut in [pool.submit(kernel.payout_batch, *p) for p in parts]:
            fut.result()


def payout_kernel(credits: np.ndarray, quotas: np.ndarray, ti: np.ndarray, theta: np.ndarray,
                  start: np.ndarray | None = None, *, struct: PlanStructure) -> tuple[np.ndarray, ...]:
    """Payouts of one plan over any batch of reps/draws/scenarios.

    The rules run as one compiled pass over blocks of batch elements
    (:mod:`spm_models.comp.kernel`); the leading batch axes broadcast as in any numpy ufunc.
    Outputs are strided views of arrays laid out with the inner batch axis (``draw`` in a
    cube) contiguous.

    Parameters
    ----------
    credits, quotas : (..., measure, 12) monthly credited amounts and quotas.
    ti : (...) target incentive per batch element (NaN allowed when unused).
    theta : (..., n_params) plan parameters (see :func:`plan_theta`).
    start : (...) index of the first payout period each element is paid in (None: 0). The
        periods before it pay nothing -- not even a draw -- and count towards no recovery:
        a hire who starts in the plan year (:func:`compute_payouts`, ``first_paid``).

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
    start = np.zeros(()) if start is None else np.asarray(start, dtype=np.float64)
    n_m = len(struct.measures)
    n_p, n_r, n_b = struct.n_payouts, struct.n_tiers, len(struct.bonus_measures)
    batch = np.broadcast_shapes(credits.shape[:-2], quotas.shape[:-2], ti.shape, start.shape,
                                theta.shape[:-1])
    nd = len(batch)
    c = np.broadcast_to(credits, batch + credits.shape[-2:])
    q = np.broadcast_to(quotas, batch + quotas.shape[-2:])
    u = np.broadcast_to(ti, batch)
    st = np.broadcast_to(start, batch)
    th = np.broadcast_to(theta, batch + theta.shape[-1:])
    # The compiled loop takes a 2-D batch (B1, B2) sharing one plan, B2 innermost: B2 is
    # the axis along which the credits lie closest (``draw`` in a cube), B1 the largest
    # other axis over which the plan is constant; further axes (plan variants along
    # ``scenario``, ...) are looped over here. Only views are taken: no copy, no transpose.
    big = [ax for ax in range(nd) if batch[ax] > 1 and th.strides[ax] == 0]
    inner: list[int] = []
    if big:
        j_ax = min(big, key=lambda ax: (abs(c.strides[ax]), -batch[ax]))
        rest = [ax for ax in big if ax != j_ax]
        inner = ([max(rest, key=lambda ax: batch[ax])] if rest else []) + [j_ax]
    lead = [ax for ax in range(nd) if ax not in inner]
    perm = lead + inner
    pad = (slice(None),) * len(lead) + (None,) * (2 - len(inner))

    def arrange(x: np.ndarray, core: int) -> np.ndarray:
        return x.transpose(perm + list(range(nd, nd + core)))[pad]

    c, q, u, st, th = arrange(c, 2), arrange(q, 2), arrange(u, 0), arrange(st, 0), arrange(th, 1)
    lead_shape, (b1, b2) = c.shape[:len(lead)], c.shape[len(lead):len(lead) + 2]
    cores = [(n_m, n_p), (n_p,), (n_p,), (n_p,), (n_p,), (n_m, n_r), (n_m,), (), (n_m,), (n_b,)]
    # zero-filled: the kernel's sums start from these zeros (fresh pages are zero anyway)
    outs = [np.zeros(lead_shape + (b1,) + core + (b2,)) for core in cores]
    layout = struct.layout()
    for idx in np.ndindex(*lead_shape):
        run_batch(c[idx], q[idx], u[idx], st[idx], np.array(th[idx + (0, 0)]), layout,
                         *(o[idx] for o in outs))
    # back to the caller's order (views): batch..., core...
    inv = list(np.argsort(perm))
    drop = (slice(None),) * len(lead) + (0,) * (2 - len(inner))
    res = []
    for o, core in zip(outs, cores):
        y = np.moveaxis(o, -1, len(lead) + 1)[drop]
        res.append(y.transpose(inv + list(range(nd, nd + len(core)))))
    return tuple(res) if n_b else tuple(res[:-1])


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
                    target_incentive: xr.DataArray | float | None = None,
                    first_paid: xr.DataArray | None = None) -> xr.Dataset:
    """Attainment, earned-to-date and payouts of ``plan`` over labelled arrays.

    Parameters
    ----------
    plan : a :class:`Plan`, or several plans sharing one structure (stacked on ``scenario``).
    credits : monthly credits with dims ``(..., rep, period[, measure])``; any other dims
        (``draw``, ``scenario``) broadcast. Numpy- or dask-backed.
    quotas : monthly quotas ``(rep, period[, measure])`` (may carry more dims).
    target_incentive : per-rep DataArray over ``rep`` (NaN → the plan's), a number, or None.
    first_paid : optional index (over ``rep``, may carry ``draw``) of each rep's first payout
        period: the periods before it pay nothing, not even the draw, and a recoverable draw
        recovers nothing for them -- a rep hired during the plan year is not owed a draw for
        months before the start. None (the contract's case): every period is paid.

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
    start = xr.DataArray(0.0) if first_paid is None else first_paid.astype(float)
    if "rep" in start.dims and "rep" in credits.indexes:
        start = start.reindex(rep=credits.indexes["rep"], fill_value=0.0)
    n_b = len(struct.bonus_measures)
    out_core = [[MEASURE, _PP], [_PP], [_PP], [_PP], [_PP], [MEASURE, TIER], [MEASURE], [],
                [MEASURE]]
    if n_b:
        out_core.append([BONUS])
    results = xr.apply_ufunc(
        partial(payout_kernel, struct=struct),
        credits, quotas, ti, theta, start,
        input_core_dims=[[MEASURE, PERIOD], [MEASURE, PERIOD], [], [PARAM], []],
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
