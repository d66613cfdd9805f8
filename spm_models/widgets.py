"""What-if workbench: ipywidgets controls that re-run the comp simulation on a cached cube.

:class:`WhatIf` is the computation (no widgets; benchmarked in ``benchmarks/bench_widgets.py``):
given a scenario result (its forecast cube is cached), :meth:`WhatIf.compute` applies

* ``quota_uplift`` — every quota × (1 + uplift);
* ``accelerator`` — the rate of the first tier starting at or above 100 % attainment;
* ``cap`` — the attainment cap of every measure (``None``: the plan's own);
* ``threshold`` — the attainment below which a measure earns nothing;
* ``hires`` — the planned hires of the plan year, read from the scenario world's hiring curve
  (:func:`spm_models.planning.world.hiring_curve`: each hire joins after the hiring lag,
  ramps, may leave, is paid on the new-hire plan — the same as a full run of that plan);
* ``plan`` — another plan file for the main role;

and re-runs the one comp engine (``spm_models.comp.compute_payouts``, through
``spm_models.comp.roles``) over all draws. Plan settings apply to the plans of the reps in the
forecast; overlay plans (e.g. ``SE``, credited with their region's bookings) are re-run
unchanged on the what-if bookings and quotas. The figures come from the one reducer,
:func:`spm_models.figures.decision_figures`, so with no setting changed they equal the
scenario's ``summary.json``.
:class:`WhatIfPanel` wires it to sliders, a dropdown, key-figure cards and two charts.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from spm_models import figures
from spm_models.comp import roles as comp_roles
from spm_models.cube import DRAW, PERIOD, REP


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


def _tier_starts(tiers: list[dict[str, Any]]) -> list[float]:
    starts, lo = [], 0.0
    for t in tiers:
        starts.append(lo)
        lo = float(t.get("to", np.inf))
    return starts


def modify_plan(plan: Any, accelerator: float | None = None, cap: float | None = None,
                threshold: float | None = None) -> Any:
    """A re-validated copy of ``plan`` with the what-if settings applied to every measure."""
    from spm_models.comp import Plan

    if accelerator is None and cap is None and threshold is None:
        return plan
    data = plan.to_dict()
    for m in data.get("measures", []):
        tiers = m.get("tiers") or []
        if accelerator is not None:
            for t, start in zip(tiers, _tier_starts(tiers), strict=True):
                if start >= 1.0 - 1e-12:
                    t["rate"] = float(accelerator)
                    break
        if cap is not None:
            c = dict(m.get("cap") or {})
            c["attainment"] = float(cap)
            m["cap"] = c
        if threshold is not None:
            m["threshold"] = float(threshold)
    return Plan.from_dict(data, source=f"{plan.source} (what-if)")


def accelerator_rate(plan: Any) -> float | None:
    """Rate of the plan's first tier starting at or above 100 % (its accelerator)."""
    for m in plan.to_dict().get("measures", []):
        tiers = m.get("tiers") or []
        for t, start in zip(tiers, _tier_starts(tiers), strict=True):
            if start >= 1.0 - 1e-12:
                return float(t["rate"])
    return None


class WhatIf:
    """Recompute comp figures on a cached scenario cube under what-if settings.

    The cube is the scenario's world (``rep × period × draw``: today's reps with leavers, the
    planned hires on their own plan key). Payouts are masked by the world's ``active`` (a
    leaver is paid nothing from the leave month on), so with no setting changed the figures
    equal ``summary.json``. The hires control reads the world's hiring curve
    (:func:`spm_models.planning.world.hiring_curve`): the change of revenue and incentive cost
    per draw between the scenario's hiring plan and the asked one is added to the recomputed
    figures (the added hires are paid on the scenario's plans, and ``share_reps_at_quota`` is
    over the scenario's roster).
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
        self.active = (cube["active"].transpose(REP, PERIOD, DRAW).astype(bool).load()
                       if "active" in cube else None)
        self._active_np = None if self.active is None else np.asarray(self.active.values)
        self.region = (np.asarray(cube["region"].values).astype(str) if "region" in cube.coords
                       else np.array([""] * cube.sizes[REP]))
        self.reps = result.tables.get("reps")
        self._overlay_cache: dict[float, xr.DataArray | None] = {}
        self.plans = comp_roles.load_plans(self.scenario.plans, self.scenario.path)
        self.main_role = comp_roles.plan_key(self.plans, comp_roles.DEFAULT_ROLE)
        self.target = self.scenario.spec.get("target")
        self.budget = self.scenario.spec.get("budget")
        self.rng_seed = seed
        plan_dir = Path(plan_dir) if plan_dir else Path(self.plans[self.main_role].source).parent
        self.plan_choices = plan_choices(plan_dir, self.plans[self.main_role])
        world = getattr(result, "world", None)
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
        self._curve_now = self.curve.evaluate(list(self.hiring_plan)) if self.curve is not None else None

    @property
    def n_reps(self) -> int:
        return int(self.bookings.sizes[REP])

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

    def compute(self, quota_uplift: float = 0.0, accelerator: float | None = None,
                cap: float | None = None, threshold: float | None = None,
                hires: int | None = None, plan: str | None = None) -> WhatIfFigures:
        """Key figures under the what-if settings (``None`` keeps the scenario's value).

        ``hires``: planned hires in the plan year (:meth:`hiring_plan_for`); raises
        :class:`~spm_models.errors.InputError` beyond the hiring curve's slots."""
        from spm_models.comp import Plan

        t0 = time.perf_counter()
        plans = dict(self.plans)
        if plan and plan in self.plan_choices:
            plans[self.main_role] = Plan.from_yaml(self.plan_choices[plan])
        b, q, ti, keys_of_rep = self.bookings, self.quota, self.ti, self.plan_keys
        if quota_uplift:
            q = q * (1.0 + float(quota_uplift))
        keys = {comp_roles.plan_key(plans, r) for r in set(keys_of_rep)} | {self.main_role}
        main = {k: modify_plan(plans[k], accelerator, cap, threshold) for k in keys}
        payout = comp_roles.simulate_roles(main, b, q, ti, keys_of_rep)["payout"]
        if self._active_np is not None:  # (rep, period, draw), as simulate_roles returns
            payout = payout.transpose(REP, PERIOD, DRAW)
            payout = payout.copy(data=np.where(self._active_np, payout.values, 0.0))
        overlay = None
        overlay_plans = {k: p for k, p in plans.items() if k not in keys}
        if self.reps is not None and overlay_plans:
            okey = float(quota_uplift)
            if okey not in self._overlay_cache:  # overlay plans are not what-if'd: reuse
                ov = comp_roles.overlay_payouts(overlay_plans, b, q, self.reps, keys_of_rep, self.region)
                self._overlay_cache[okey] = None if ov is None else ov["payout"]
            overlay = self._overlay_cache[okey]
        cost = figures.incentive_cost(payout, overlay)
        annual_b = figures.annual(b)
        att = figures.attainment(annual_b, q)
        rev = figures.revenue(annual_b)
        n = self.n_reps
        if (hires is not None and int(hires) != self.hires and self._curve_now is not None
                and self.curve is not None):
            r1, c1 = self.curve.evaluate(list(self.hiring_plan_for(int(hires))))
            rev = rev + (r1 - self._curve_now[0])
            cost = cost + (c1 - self._curve_now[1])
            n += int(hires) - self.hires
        figs = figures.decision_figures(rev, cost, att, self.target, self.budget)
        return WhatIfFigures(
            figures=figs, n_reps=n, seconds=time.perf_counter() - t0,
            cost_draws=np.asarray(cost.values), attainment=_row_median(
                np.asarray(att.transpose(REP, DRAW).values)),
        )


def _row_median(att: np.ndarray) -> np.ndarray:
    out = np.full(att.shape[0], np.nan)
    ok = np.isfinite(att).all(axis=1)
    out[ok] = np.median(att[ok], axis=1)
    return out


def plan_choices(plan_dir: Path, current: Any) -> dict[str, str]:
    """Plan files in ``plan_dir`` that validate and share ``current``'s plan year."""
    from spm_models.comp import Plan
    from spm_models.errors import InputError

    out = {Path(current.source).name: str(current.source)}
    for f in sorted(Path(plan_dir).glob("*.yaml")):
        try:
            p = Plan.from_yaml(f)
        except InputError:
            continue
        if p.plan_year_start == current.plan_year_start:
            out.setdefault(f.name, str(f))
    return out


def _bars(values: np.ndarray, bins: np.ndarray, color: str, marks: dict[str, tuple[float, str]],
          fmt: Any, title: str, ref: np.ndarray | None = None) -> str:
    """An HTML/CSS histogram (no plotting library: renders in well under a millisecond)."""
    import html

    counts, _ = np.histogram(values, bins=bins)
    top = max(int(counts.max()), 1)
    rc = np.histogram(ref, bins=bins)[0] if ref is not None else None
    if rc is not None:
        top = max(top, int(rc.max()))
    cols = []
    for i, c in enumerate(counts):
        ghost = (f"<div style='position:absolute;bottom:0;left:0;right:0;height:{100 * rc[i] / top:.1f}%;"
                 "border-top:2px solid #7f7f7f'></div>") if rc is not None else ""
        cols.append(f"<div style='flex:1;position:relative;height:100%'>{ghost}"
                    f"<div style='position:absolute;bottom:0;left:1px;right:1px;"
                    f"height:{100 * c / top:.1f}%;background:{color}'></div></div>")
    lo, hi = float(bins[0]), float(bins[-1])
    lines = "".join(
        f"<div title='{html.escape(k)}' style='position:absolute;top:0;bottom:0;width:2px;"
        f"left:{100 * (v - lo) / (hi - lo):.1f}%;background:{c}'></div>"
        for k, (v, c) in marks.items() if lo <= v <= hi)
    legend = " · ".join(f"<span style='color:{c}'>▍</span>{html.escape(k)} {fmt(v)}"
                        for k, (v, c) in marks.items())
    return (f"<div style='flex:1 1 380px;min-width:300px'><div style='font-weight:600;"
            f"font-size:0.9em'>{html.escape(title)}</div>"
            f"<div style='position:relative;display:flex;align-items:flex-end;height:110px;"
            f"border-bottom:1px solid #999'>{''.join(cols)}{lines}</div>"
            f"<div style='display:flex;justify-content:space-between;font-size:0.75em;color:#555'>"
            f"<span>{fmt(lo)}</span><span>{legend}</span><span>{fmt(hi)}</span></div></div>")


def figures_html(res: WhatIfFigures, base: WhatIfFigures | None = None) -> str:
    """Incentive-cost distribution (scenario as grey outline) and per-rep attainment, as HTML."""
    from spm_models.plots.report import BLUE, LIGHT, ORANGE

    cost = res.cost_draws
    ref = base.cost_draws if base is not None else None
    both = np.concatenate([cost, ref]) if ref is not None else cost
    lo, hi = np.quantile(both, [0.005, 0.995])
    if hi <= lo:
        lo, hi = lo - 1.0, hi + 1.0
    cost_bins = np.linspace(lo, hi, 41)
    att = res.attainment[np.isfinite(res.attainment)]
    att_bins = np.linspace(0.0, 3.0, 31)
    left = _bars(np.clip(cost, lo, hi), cost_bins, LIGHT,
                 {"P50": (res.incentive_cost["p50"], BLUE)}, _fmt_money,
                 "Total incentive cost (grey: scenario as written)",
                 np.clip(ref, lo, hi) if ref is not None else None)
    right = _bars(np.clip(att, 0, 3), att_bins, LIGHT, {"quota": (1.0, ORANGE)},
                  lambda v: f"{v:.0%}", "Projected attainment per rep (P50)")
    return f"<div style='display:flex;gap:24px;flex-wrap:wrap;margin-top:8px'>{left}{right}</div>"


def _fmt_money(v: float) -> str:
    from spm_models.plots.report import money

    return money(v)


class WhatIfPanel:
    """ipywidgets what-if panel around :class:`WhatIf` (``panel.show()`` in a notebook)."""

    def __init__(self, result: Any, plan_dir: str | Path | None = None):
        import ipywidgets as w

        self.model = WhatIf(result, plan_dir)
        main = self.model.plans[self.model.main_role]
        m0 = main.to_dict()["measures"][0]
        acc = accelerator_rate(main)
        style = {"description_width": "140px"}
        layout = w.Layout(width="420px")
        self.uplift = w.FloatSlider(value=0.0, min=-0.3, max=0.5, step=0.01,
                                    description="Quota uplift", readout_format="+.0%",
                                    continuous_update=False, style=style, layout=layout)
        self.accel = w.FloatSlider(value=acc if acc is not None else 0.0, min=0.0,
                                   max=max(1.0, 3 * (acc or 0.1)), step=max((acc or 0.1) / 20, 0.001),
                                   description="Accelerator rate", readout_format=".3f",
                                   continuous_update=False, style=style, layout=layout,
                                   disabled=acc is None)
        cap0 = float((m0.get("cap") or {}).get("attainment", 3.0))
        self.cap = w.FloatSlider(value=cap0, min=1.0, max=max(4.0, cap0), step=0.05,
                                 description="Cap (attainment)", readout_format=".0%",
                                 continuous_update=False, style=style, layout=layout)
        self.threshold = w.FloatSlider(value=float(m0.get("threshold", 0.0)), min=0.0, max=0.9,
                                       step=0.05, description="Threshold", readout_format=".0%",
                                       continuous_update=False, style=style, layout=layout)
        h, hmax = self.model.hires, self.model.max_hires
        self.headcount = w.IntSlider(value=h, min=0, max=max(hmax, h), step=1,
                                     description="Hires in plan", continuous_update=False,
                                     style=style, layout=layout, disabled=self.model.curve is None)
        self.plan = w.Dropdown(options=list(self.model.plan_choices),
                               value=Path(main.source).name, description="Plan",
                               style=style, layout=layout)
        self.reset = w.Button(description="Reset to scenario", icon="undo")
        self.figures = w.HTML()
        self.figures.add_class("spm-whatif-figures")
        self.chart = w.HTML()
        self.status = w.HTML()
        self.base = self.model.compute()
        self._defaults = {c: c.value for c in self._controls()}
        for c in self._controls():
            c.observe(self._on_change, names="value")
        self.reset.on_click(self._on_reset)
        self.ui = w.VBox([
            w.HBox([w.VBox([self.uplift, self.accel, self.cap]),
                    w.VBox([self.threshold, self.headcount, self.plan, self.reset])]),
            self.figures, self.chart, self.status,
        ])
        self._render(self.base)

    def _controls(self) -> list[Any]:
        return [self.uplift, self.accel, self.cap, self.threshold, self.headcount, self.plan]

    def settings(self) -> dict[str, Any]:
        """The current what-if settings as keyword arguments of :meth:`WhatIf.compute`."""
        return {"quota_uplift": self.uplift.value,
                "accelerator": None if self.accel.disabled else self.accel.value,
                "cap": self.cap.value, "threshold": self.threshold.value,
                "hires": self.headcount.value, "plan": self.plan.value}

    def _on_change(self, _change: Any = None) -> None:
        try:
            res = self.model.compute(**self.settings())
        except Exception as exc:  # noqa: BLE001 - show the problem, keep the panel alive
            import html

            self.status.value = f"<span style='color:#a4262c'>{html.escape(str(exc))}</span>"
            return
        self._render(res)

    def _on_reset(self, _b: Any = None) -> None:
        for c, v in self._defaults.items():
            c.value = v

    def _render(self, res: WhatIfFigures) -> None:
        import html

        b = self.base

        def delta(new: float, old: float) -> str:
            if old == 0:
                return ""
            d = new / old - 1
            color = "#a4262c" if d > 0.0005 else "#2e7d32" if d < -0.0005 else "#555"
            return f" <span style='color:{color};font-size:0.8em'>({d:+.1%})</span>"

        ic, rv = res.incentive_cost, res.revenue
        cards = [
            ("Incentive cost (P50)", f"<span class='spm-incentive-cost'>{_fmt_money(ic['p50'])}</span>"
             + delta(ic["p50"], b.incentive_cost["p50"]),
             f"80 %: {_fmt_money(ic['p10'])} – {_fmt_money(ic['p90'])}"),
            ("Cost of sales (P50)", f"{res.cost_of_sales:.2%}", "incentive ÷ revenue"),
            ("Reps at quota (P50)", f"{res.share_reps_at_quota:.0%}", f"{res.n_reps} reps"),
            ("Revenue (P50)", _fmt_money(rv["p50"]),
             f"80 %: {_fmt_money(rv['p10'])} – {_fmt_money(rv['p90'])}"),
            ("P(company target)", "n/a" if res.prob_company_target is None
             else f"{res.prob_company_target:.0%}", ""),
        ]
        cells = "".join(
            f"<div style='flex:1 1 150px;border:1px solid #d0d7de;border-radius:8px;padding:6px 10px;"
            f"background:#f8fafc'><div style='font-size:0.75em;color:#555;text-transform:uppercase'>"
            f"{html.escape(k)}</div><div style='font-size:1.4em;font-weight:700;color:#1f4e79'>{v}</div>"
            f"<div style='font-size:0.8em;color:#555'>{html.escape(r)}</div></div>"
            for k, v, r in cards)
        self.figures.value = f"<div style='display:flex;gap:8px;flex-wrap:wrap'>{cells}</div>"
        self.chart.value = figures_html(res, b)
        self.status.value = (f"<span style='color:#777;font-size:0.8em'>recomputed in "
                             f"{res.seconds * 1000:.0f} ms over {len(res.cost_draws)} draws</span>")

    def show(self) -> Any:
        """Display the panel (returns the widget for notebooks)."""
        from IPython.display import display

        display(self.ui)
        return None
