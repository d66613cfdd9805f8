"""The what-if computation: comp figures of a cached scenario cube under what-if settings.

:class:`WhatIf` (no widgets; benchmarked in ``benchmarks/bench_widgets.py``) applies

* ``quota_uplift`` — every quota × (1 + uplift);
* ``accelerator`` — the rate of the first tier starting at or above 100 % attainment;
* ``cap`` — the attainment cap of every measure (``None``: the plan's own);
* ``threshold`` — the attainment below which a measure earns nothing;
* ``hires`` — the planned hires of the plan year, read from the scenario world's hiring curve
  (:func:`spm_models.planning.world.hiring_curve`: each hire joins after the hiring lag,
  ramps, may leave, is paid on the new-hire plan — the same as a full run of that plan);
* ``plan`` — another plan file for the main role;

and re-runs the one comp engine (:func:`spm_models.comp.engine.payout_kernel`, the numpy
core of :func:`~spm_models.comp.engine.compute_payouts`) over all draws. Plan settings apply
to the plans of the reps in the forecast; overlay plans (e.g. ``SE``, credited with their
region's bookings by :func:`spm_models.comp.roles.overlay_payouts`) are re-run unchanged on
the what-if quotas. The figures come from the one reducer, :mod:`spm_models.figures`, so
with no setting changed they equal the scenario's ``summary.json``.

Speed (issue 11: a recompute under 300 ms on the demo). Everything that does not depend on a
control is prepared once: each plan group's credits as a C-contiguous ``(rep, draw, 1,
month)`` array (the kernel's layout), the ``active`` mask at each plan's payout months,
plan-year bookings and revenue. Each plan group's
plan-year payouts ``(rep, draw)`` are cached by (plan structure, parameters, uplift), so a
control only re-runs the plans it changes: the hires control runs no engine at all, a plan
switch only the main role's reps, the accelerator/cap/threshold the quota carriers' plans,
the quota uplift every plan; the overlay payouts and attainments depend on the uplift alone
and run in a worker thread beside the comp kernel (which releases the GIL). Arrays are wrapped
into xarray only for the reducer.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from spm_models import figures
from spm_models.comp import engine
from spm_models.comp import roles as comp_roles
from spm_models.cube import DRAW, PERIOD, REP
from spm_models.widgets import settings as _settings
from spm_models.widgets.plan_edits import (  # noqa: F401 - part of this module's API
    _tier_starts,
    accelerator_rate,
    modify_plan,
    plan_choices,
)

#: plan-group payouts, overlays, attainments and pay curves kept per cache (least recently used)
CACHE_SIZE = 32


@dataclass
class WhatIfFigures:
    """Key figures of one what-if setting (see :mod:`spm_models.figures` for definitions).

    ``figures`` is :func:`spm_models.figures.decision_figures`; ``cost_draws`` the incentive
    cost per draw ``(draw,)``; ``attainment`` each rep's median plan-year attainment ``(rep,)``.
    """

    figures: dict[str, Any]
    n_reps: int
    seconds: float
    cost_draws: np.ndarray
    attainment: np.ndarray

    @property
    def incentive_cost(self) -> dict[str, float]:
        return self.figures["incentive_cost"]

    @property
    def revenue(self) -> dict[str, float]:
        return self.figures["revenue"]

    @property
    def cost_of_sales(self) -> float:
        return self.figures["cost_of_sales"]["p50"]

    @property
    def share_reps_at_quota(self) -> float:
        return self.figures["share_reps_at_quota"]["p50"]

    @property
    def prob_company_target(self) -> float | None:
        return self.figures["prob_company_target"]


class _LRU(OrderedDict):
    """A small least-recently-used cache: ``get(key, make)``."""

    def __init__(self, size: int = CACHE_SIZE):
        super().__init__()
        self.size = size

    def get_or(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self:
            self.move_to_end(key)
            return self[key]
        value = self[key] = make()
        while len(self) > self.size:
            self.popitem(last=False)
        return value


def _row_median(att: np.ndarray) -> np.ndarray:
    out = np.full(att.shape[0], np.nan)
    ok = np.isfinite(att).all(axis=1)
    out[ok] = np.median(att[ok], axis=1)
    return out


class WhatIf:
    """Recompute comp figures on a cached scenario cube under what-if settings.

    The cube is the scenario's world (``rep × period × draw``: today's reps with leavers, the
    planned hires on their own plan key). Payouts are masked by the world's ``active`` (a
    leaver is paid nothing from the leave month on), so with no setting changed the figures
    equal ``summary.json``. The hires control reads the world's hiring curve
    (:func:`spm_models.planning.world.hiring_curve`): the change of revenue, of the quota
    carriers' incentive cost and of the support cost (managers and SEs the AE headcount needs,
    :mod:`spm_models.planning.support`) per draw between the scenario's hiring plan and the
    asked one is added to the recomputed figures (the added hires are paid on the scenario's
    plans, ``share_reps_at_quota`` is over the scenario's roster, and the overlay payouts stay
    those of the scenario's bookings).
    """

    def __init__(self, result: Any, plan_dir: str | Path | None = None, seed: int = 0):
        self.result = result
        self.scenario = result.scenario
        cube = result.cube
        self.bookings = cube["bookings"].transpose(REP, PERIOD, DRAW).load()
        self.quota = cube["quota"].transpose(REP, PERIOD).load()
        self.ti = cube["target_incentive"].load()
        self.roles = np.asarray(cube["role"].values).astype(str)
        self.plan_keys = (np.asarray(cube["plan"].values).astype(str) if "plan" in cube
                          else self.roles)
        self.region = (np.asarray(cube["region"].values).astype(str) if "region" in cube.coords
                       else np.array([""] * cube.sizes[REP]))
        self.reps = result.tables.get("reps")
        #: the bookings table: history shares of overlay measures with `where` filters
        self.history = result.tables.get("bookings")
        self._overlay_credits: dict[str, Any] | None = None
        self.plans = comp_roles.load_plans(self.scenario.plans, self.scenario.path)
        self.main_role = comp_roles.plan_key(self.plans, comp_roles.DEFAULT_ROLE)
        self.target = self.scenario.spec.get("target")
        self.budget = self.scenario.spec.get("budget")
        self.rng_seed = seed
        plan_dir = Path(plan_dir) if plan_dir else Path(self.plans[self.main_role].source).parent
        self.plan_choices = plan_choices(plan_dir, self.plans[self.main_role])
        self._init_world(getattr(result, "world", None))
        self._prepare(cube)

    # -- preparation (once) ---------------------------------------------------------------
    def _init_world(self, world: Any) -> None:
        self.curve = getattr(world, "curve", None)
        T = self.bookings.sizes[PERIOD]
        periods = [str(p) for p in self.bookings[PERIOD].values]
        self.schedule = str((self.scenario.spec.get("capacity") or {}).get("schedule", "constant"))
        if world is not None:
            from spm_models.planning.capacity import hiring_vector

            self.hiring_plan = np.asarray(hiring_vector(world.inputs.roster.get("hiring_plan"), T, periods),
                                          dtype=np.int64)
        else:
            self.hiring_plan = np.zeros(T, dtype=np.int64)
        self.hires = int(self.hiring_plan.sum())
        self._curve_now = self.curve.evaluate_parts(list(self.hiring_plan)) if self.curve is not None else None
        #: the scenario's support cost per draw (managers and SEs the hires need), or None
        self._support = None
        if world is not None and "support_cost" in world.world:
            from spm_models.planning.world import support_cost

            self._support = np.asarray(support_cost(world.world).values, dtype=float)

    def _prepare(self, cube: xr.Dataset) -> None:
        """Control-independent arrays and the caches."""
        self._b_np = np.asarray(self.bookings.values, dtype=np.float64)  # (rep, period, draw)
        self._q_np = np.asarray(self.quota.values, dtype=np.float64)  # (rep, period)
        self._ti_np = np.asarray(self.ti.transpose(REP).values, dtype=np.float64)
        self._active_np = (np.asarray(cube["active"].transpose(REP, PERIOD, DRAW).values).astype(bool)
                           if "active" in cube else None)
        self._periods = {str(p): i for i, p in enumerate(self.bookings[PERIOD].values)}
        self._annual_b = figures.annual(self.bookings)  # (rep, draw)
        self._revenue = figures.revenue(self._annual_b)  # (draw,)
        # reps by the plan key paying them (a plan switch replaces a plan, never a key)
        keys = np.array([comp_roles.plan_key(self.plans, r) for r in self.plan_keys])
        self._groups = {k: np.flatnonzero(keys == k) for k in dict.fromkeys(keys)}
        self._carrier_keys = set(self._groups) | {self.main_role}
        self._overlay_plans = {k: p for k, p in self.plans.items() if k not in self._carrier_keys}
        self._annual_pay = np.zeros((self.n_reps, self.bookings.sizes[DRAW]))
        self._plan_files: dict[str, Any] = {}
        self._layout = {"credits": _LRU(), "active": _LRU(), "shares": _LRU()}  # control-independent arrays
        self._caches: dict[str, _LRU] = {n: _LRU() for n in ("plans", "pay", "overlay", "att", "curve")}
        for key in self._groups:  # the scenario's plans' layouts now, not on a control's first move
            self._layout_of(key, self.plans[key])

    def _pool(self) -> Any:
        from concurrent.futures import ThreadPoolExecutor

        if getattr(self, "_executor", None) is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="spm-whatif")
        return self._executor

    def clear_cache(self, which: tuple[str, ...] = ("plans", "pay", "overlay", "att", "curve")) -> None:
        """Forget cached plan files and modified plans (``plans``), plan-group payouts
        (``pay``), overlay payouts, attainments and pay curves (benchmarks time the first move
        of a control with this); the control-independent arrays stay."""
        if "plans" in which:
            self._plan_files.clear()
        for name in which:
            self._caches[name].clear()

    @property
    def n_reps(self) -> int:
        return int(self.bookings.sizes[REP])

    # -- hires ------------------------------------------------------------------------------
    @property
    def max_hires(self) -> int:
        """The most hires the hiring curve holds with the scenario's schedule (0 without a curve)."""
        if self.curve is None:
            return self.hires
        window = max(len(self.curve.periods) - self.curve.hiring_lag_months, 0)
        return int(self.hires + self.curve.slots_per_month * window
                   - (self.hiring_plan.max(initial=0) if self.schedule == "front_loaded" else self.hires))

    def hiring_plan_for(self, hires: int) -> np.ndarray:
        """Requisitions opened per month with ``hires`` in total: more than the scenario's adds
        the extra hires by the capacity section's ``schedule`` over the months a hire can still
        start; fewer removes the latest requisitions first."""
        from spm_models.planning.capacity import schedule_hires

        hires = max(int(hires), 0)
        plan = self.hiring_plan.copy()
        T = len(plan)
        lag = self.curve.hiring_lag_months if self.curve is not None else 0
        if hires >= self.hires:
            if T - lag > 0:
                plan += schedule_hires(hires - self.hires, T, self.schedule, (0, T - lag - 1))
            return plan
        drop = self.hires - hires
        for m in range(T - 1, -1, -1):
            take = min(drop, int(plan[m]))
            plan[m] -= take
            drop -= take
        return plan

    # -- plans ------------------------------------------------------------------------------
    def plans_for(self, plan: str | None = None) -> dict[str, Any]:
        """The scenario's plans with ``plan`` (a :attr:`plan_choices` name) for the main role."""
        from spm_models.comp import Plan

        plans = dict(self.plans)
        if plan and plan in self.plan_choices:
            if plan not in self._plan_files:
                self._plan_files[plan] = Plan.from_yaml(self.plan_choices[plan])
            plans[self.main_role] = self._plan_files[plan]
        return plans

    def modified(self, plan: Any, accelerator: float | None = None, cap: float | None = None,
                 threshold: float | None = None) -> Any:
        """:func:`modify_plan`, cached (the cache keeps ``plan`` alive, so its id is a key)."""
        return self._caches["plans"].get_or(
            (id(plan), accelerator, cap, threshold),
            lambda: (plan, modify_plan(plan, accelerator, cap, threshold)))[1]

    def _months(self, months: list[str], what: str) -> np.ndarray:
        from spm_models.errors import InputError

        missing = [m for m in months if m not in self._periods]
        if missing:
            raise InputError(f"{what}: months {missing[0]}..{missing[-1]} of the plan year are "
                             "missing from the scenario cube")
        return np.array([self._periods[m] for m in months])

    # -- the engine -------------------------------------------------------------------------
    def _group_pay(self, key: str, plan: Any, uplift: float) -> np.ndarray:
        """Plan-year payouts ``(rep, draw)`` of the reps of plan ``key`` paid by ``plan``."""
        struct, theta = engine.plan_structure(plan), engine.plan_theta(plan)
        return self._caches["pay"].get_or(
            (key, struct, theta.tobytes(), tuple(plan.months), uplift),
            lambda: self._run_group(key, plan, struct, theta, uplift))

    def _run_group(self, key: str, plan: Any, struct: Any, theta: np.ndarray,
                   uplift: float) -> np.ndarray:
        from spm_models.errors import InputError

        idx = self._groups[key]
        mpos, credits, ppos, active = self._layout_of(key, plan)
        n_m = len(plan.measures)
        quotas = self._q_np[idx][:, mpos] * (1.0 + uplift)
        quotas = quotas[:, None, None, :]
        shares = self._shares(key, plan)
        if shares is not None:  # filtered measures: each rep's history share of both
            sh = shares[:, None, :, None]
            credits, quotas = credits * sh, quotas * sh
        elif n_m > 1:  # every measure is credited the rep's bookings and quota
            credits = np.broadcast_to(credits, credits.shape[:2] + (n_m, credits.shape[3]))
            quotas = np.broadcast_to(quotas, (quotas.shape[0], 1, n_m, quotas.shape[3]))
        ti = self._ti_np[idx].copy()
        if plan.target_incentive is not None:
            ti[np.isnan(ti)] = plan.target_incentive
        if plan.needs_target_incentive and np.isnan(ti).any():
            raise InputError(f"{plan.source}, key 'target_incentive': the plan pays on a "
                             "target_incentive basis but no target incentive is set for some reps")
        start = None
        if self._active_np is not None:  # no draw owed before a hire's start (as in the world)
            from spm_models.planning.world import first_paid_index

            start = first_paid_index(self._active_np[idx][:, mpos, :].transpose(0, 2, 1),
                                     [list(mpos).index(p) for p in ppos])
        payout = engine.payout_kernel(credits, quotas, ti[:, None], theta, start, struct=struct)[3]
        if active is None:  # payout (rep, draw, payout period)
            return payout.sum(axis=-1)
        return np.where(active, payout, 0.0).sum(axis=-1)  # paid only while on the roster

    def _shares(self, key: str, plan: Any) -> np.ndarray | None:
        """``(rep, measure)`` history shares of plan group ``key``'s reps when ``plan`` has
        ``where``/``amount`` measures (as the scenario run credits them:
        :func:`spm_models.comp.team.world_shares`), else None."""
        from spm_models.comp import team

        if not team.needs_shares(plan) or self.history is None:
            return None
        idx = self._groups[key]
        rules = tuple(repr(m.credit) for m in plan.measures)

        def make() -> np.ndarray:
            ids = [str(r) for r in np.asarray(self.bookings[REP].values)[idx]]
            da = team.world_shares(plan, self.history, self.reps, ids, self.region[idx])
            return np.asarray(da.transpose(REP, "measure").values, dtype=np.float64)
        return self._layout["shares"].get_or((key, rules), make)

    def _layout_of(self, key: str, plan: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        """Month positions, credits in the kernel's layout ``(rep, draw, 1, month)``, payout
        month positions and ``active`` at them ``(rep, draw, payout period)`` of plan group ``key``."""
        idx = self._groups[key]
        mpos = self._months(plan.months, f"{plan.source}: credits")
        credits = self._layout["credits"].get_or((key, tuple(mpos)), lambda: np.ascontiguousarray(
            self._b_np[idx][:, mpos, :].transpose(0, 2, 1))[:, :, None, :])
        ppos = self._months(plan.payout_period_ends, f"{plan.source}: payouts")
        act = self._active_np
        active = None if act is None else self._layout["active"].get_or(
            (key, tuple(ppos)), lambda: np.ascontiguousarray(act[idx][:, ppos, :].transpose(0, 2, 1)))
        return mpos, credits, ppos, active

    def _overlay(self, uplift: float) -> xr.DataArray | None:
        """Plan-year overlay payouts ``(rep, draw)`` (e.g. SEs) with quotas × (1 + uplift),
        credited by :func:`~spm_models.comp.roles.overlay_payouts` on the whole cube."""
        if not self._overlay_plans or self.reps is None:
            return None

        def run() -> xr.DataArray | None:
            if self._overlay_credits is None:  # crediting does not depend on the quotas' level
                self._overlay_credits = comp_roles.overlay_credits(
                    self._overlay_plans, self.bookings, self.quota, self.reps, self.plan_keys,
                    self.region, self.history)
            ov = comp_roles.overlay_payouts_of(
                self._overlay_plans, self._overlay_credits, self.reps,
                [str(p) for p in self.bookings[PERIOD].values], quota_scale=1.0 + uplift)
            return None if ov is None else ov["payout"].sum(PERIOD)
        return self._caches["overlay"].get_or(uplift, run)

    def _attainment(self, uplift: float) -> tuple[xr.DataArray, np.ndarray]:
        def run() -> tuple[xr.DataArray, np.ndarray]:
            att = figures.attainment(self._annual_b, self.quota * (1.0 + uplift))
            return att, _row_median(np.asarray(att.transpose(REP, DRAW).values))
        return self._caches["att"].get_or(uplift, run)

    # -- the figures ------------------------------------------------------------------------
    def compute(self, quota_uplift: float = 0.0, accelerator: float | None = None,
                cap: float | None = None, threshold: float | None = None,
                hires: int | None = None, plan: str | None = None) -> WhatIfFigures:
        """Key figures under the what-if settings (``None`` keeps the scenario's value).

        Allowed values (:mod:`spm_models.widgets.settings`): ``quota_uplift`` a finite number
        > -1; ``accelerator`` a finite rate ≥ 0; ``cap`` a finite attainment > 0; ``threshold``
        a finite attainment ≥ 0; ``hires`` a whole number ≥ 0 of planned hires in the plan
        year (:meth:`hiring_plan_for`), at most the hiring curve's slots; ``plan`` a name of
        :attr:`plan_choices`. Raises :class:`~spm_models.errors.InputError` naming the setting
        and the allowed range for any other value, an unknown plan, or when a plan does not
        fit the cube (months) or lacks a target incentive it pays on. Warns
        (:class:`~spm_models.widgets.settings.WhatIfWarning`) for a setting that changes
        nothing: an ``accelerator`` when no plan paid has a tier starting at 100 % (curve
        plans), ``hires`` without a hiring curve in the scenario world."""
        t0 = time.perf_counter()
        uplift = _settings.check_values(quota_uplift, accelerator, cap, threshold, plan,
                                        self.plan_choices)
        hires = _settings.check_hires(hires, self.hires, self.curve is not None)
        plans = self.plans_for(plan)
        _settings.warn_accelerator(accelerator, [plans[k] for k in self._groups],
                                   lambda p: accelerator_rate(p) is not None)

        def side() -> tuple[xr.DataArray | None, tuple[xr.DataArray, np.ndarray]]:
            return self._overlay(uplift), self._attainment(uplift)
        # the overlay (xarray, holds the GIL) runs beside the comp kernel (releases it)
        todo = (self._pool().submit(side) if uplift not in self._caches["overlay"]
                or uplift not in self._caches["att"] else None)
        for key, idx in self._groups.items():
            p = self.modified(plans[key], accelerator, cap, threshold)
            self._annual_pay[idx] = self._group_pay(key, p, uplift)
        overlay, (att, att_median) = todo.result() if todo is not None else side()
        payout = xr.DataArray(self._annual_pay, dims=[REP, DRAW],
                              coords={REP: self.bookings[REP].values, DRAW: self.bookings[DRAW].values})
        cost = figures.incentive_cost(payout, overlay)
        rev = self._revenue
        support = self._support
        n = self.n_reps
        if (hires is not None and int(hires) != self.hires and self._curve_now is not None
                and self.curve is not None):
            from spm_models.errors import InputError

            try:
                r1, c1, s1 = self.curve.evaluate_parts(list(self.hiring_plan_for(int(hires))))
            except InputError as exc:
                raise InputError(f"what-if setting 'hires': {hires} is beyond what the hiring "
                                 f"curve holds with the scenario's schedule (at most "
                                 f"{self.max_hires} hires in the plan year)") from exc
            rev = rev + (r1 - self._curve_now[0])
            cost = cost + (c1 - self._curve_now[1])
            support = (np.zeros_like(s1) if support is None else support) + (s1 - self._curve_now[2])
            n += int(hires) - self.hires
        sup = None if support is None else xr.DataArray(support, dims=[DRAW], coords={DRAW: rev[DRAW].values})
        figs = figures.decision_figures(rev, cost, att, self.target, self.budget, sup)
        return WhatIfFigures(figures=figs, n_reps=n, seconds=time.perf_counter() - t0,
                             cost_draws=np.asarray(cost.values), attainment=att_median)

    # -- the pay curve ----------------------------------------------------------------------
    def typical_quota(self, uplift: float = 0.0) -> float:
        """The median plan-year quota of the main role's reps (× (1 + uplift)): the quota the
        pay curve is drawn for (payouts on a revenue basis scale with it)."""
        idx = self._groups.get(self.main_role)
        q = self._q_np[idx].sum(axis=1) if idx is not None and len(idx) else self._q_np.sum(axis=1)
        q = q[q > 0]
        return float(np.median(q) * (1.0 + uplift)) if q.size else 1_000_000.0

    def pay_curve(self, plan: str | None = None, accelerator: float | None = None,
                  cap: float | None = None, threshold: float | None = None,
                  quota_uplift: float = 0.0, max_attainment: float = 3.0, n: int = 121
                  ) -> dict[str, Any]:
        """The main role's pay curve under the settings, through the engine
        (:func:`spm_models.plots.comp.pay_curve_data`): plan-year earnings ``(attainment,)`` of
        a rep with the :meth:`typical_quota` attaining evenly all year, and for each measure with
        a modifier the family of its curves by the modifier measure's attainment
        (:func:`~spm_models.plots.comp.modifier_curve_data`, ``(modifier_attainment,
        attainment)``). Cached per plan and settings; the settings are checked as by
        :meth:`compute` (:class:`~spm_models.errors.InputError`). Returns ``{"plan", "quota", "total",
        "families", "step"}``."""
        from spm_models.plots.comp import modifier_curve_data, pay_curve_data

        quota_uplift = _settings.check_values(quota_uplift, accelerator, cap, threshold, plan,
                                              self.plan_choices)
        max_attainment, n = _settings.check_grid(max_attainment, n)
        p = self.modified(self.plans_for(plan)[self.main_role], accelerator, cap, threshold)
        quota = self.typical_quota(float(quota_uplift or 0.0))

        def run() -> dict[str, Any]:
            grid = np.linspace(0.0, max_attainment, n)
            total = pay_curve_data(p, quota=quota, attainments=grid)
            fams = [modifier_curve_data(p, m.name, quota=quota, attainments=grid)
                    for m in p.measures if m.modifiers]
            step = all(m.has_curve and m.interpolate == "step" for m in p.measures)
            return {"plan": p, "quota": quota, "total": total, "families": fams, "step": step}
        key = (id(p), engine.plan_theta(p).tobytes(), quota, max_attainment, n)
        return self._caches["curve"].get_or(key, lambda: (p, run()))[1]
