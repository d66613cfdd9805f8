"""What-if workbench: ipywidgets controls that re-run the comp simulation on a cached cube.

:class:`WhatIf` is the computation (no widgets; benchmarked in ``benchmarks/bench_widgets.py``):
given a scenario result (its forecast cube is cached), :meth:`WhatIf.compute` applies

* ``quota_uplift`` — every quota × (1 + uplift);
* ``accelerator`` — the rate of the first tier starting at or above 100 % attainment;
* ``cap`` — the attainment cap of every measure (``None``: the plan's own);
* ``threshold`` — the attainment below which a measure earns nothing;
* ``headcount`` — fewer reps (a fixed random subset) or more (new hires at plan start,
  each drawing the forecast of a randomly chosen current rep scaled by the ramp curve
  ``1 − exp(−(τ + 1)/ramp_tau)``, with the quota ramped the same way);
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

DEFAULT_RAMP_TAU = 3.0


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
    """Recompute comp figures on a cached scenario cube under what-if settings."""

    def __init__(self, result: Any, plan_dir: str | Path | None = None, seed: int = 0):
        self.result = result
        self.scenario = result.scenario
        cube = result.cube
        self.bookings = cube["bookings"].transpose(REP, PERIOD, DRAW).load()
        self.quota = cube["quota"].transpose(REP, PERIOD).load()
        self.ti = cube["target_incentive"].load()
        self.roles = np.asarray(cube["role"].values).astype(str)
        self.region = (np.asarray(cube["region"].values).astype(str) if "region" in cube.coords
                       else np.array([""] * cube.sizes[REP]))
        self.reps = result.tables.get("reps")
        self._overlay_cache: dict[tuple[int, float], xr.DataArray | None] = {}
        self.plans = comp_roles.load_plans(self.scenario.plans, self.scenario.path)
        self.main_role = comp_roles.plan_key(self.plans, comp_roles.DEFAULT_ROLE)
        self.target = self.scenario.spec.get("target")
        self.budget = self.scenario.spec.get("budget")
        self.rng_seed = seed
        self.ramp_tau = _ramp_tau(result.tables)
        plan_dir = Path(plan_dir) if plan_dir else Path(self.plans[self.main_role].source).parent
        self.plan_choices = plan_choices(plan_dir, self.plans[self.main_role])

    @property
    def n_reps(self) -> int:
        return int(self.bookings.sizes[REP])

    def _headcount(self, n: int) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray, np.ndarray,
                                          np.ndarray]:
        b, q, ti, roles = self.bookings, self.quota, self.ti, self.roles
        cur = self.n_reps
        rng = np.random.default_rng(self.rng_seed)
        if n == cur:
            return b, q, ti, roles, self.region
        if n < cur:
            keep = np.sort(rng.permutation(cur)[:n])
            return (b.isel(rep=keep), q.isel(rep=keep), ti.isel(rep=keep), roles[keep],
                    self.region[keep])
        extra = n - cur
        pool = np.flatnonzero(roles == self.main_role) if (roles == self.main_role).any() else np.arange(cur)
        src = rng.choice(pool, extra)
        ramp = 1.0 - np.exp(-(np.arange(b.sizes[PERIOD]) + 1.0) / self.ramp_tau)
        new_ids = [f"new-hire-{i + 1}" for i in range(extra)]
        nb = b.isel(rep=src) * xr.DataArray(ramp, dims=[PERIOD], coords={PERIOD: b[PERIOD]})
        nq = q.isel(rep=src) * xr.DataArray(ramp, dims=[PERIOD], coords={PERIOD: q[PERIOD]})
        nb = nb.assign_coords(rep=new_ids)
        nq = nq.assign_coords(rep=new_ids)
        nti = ti.isel(rep=src).assign_coords(rep=new_ids)
        drop = [c for c in b.coords if c not in b.dims]
        b2 = xr.concat([b.drop_vars(drop), nb.drop_vars(drop, errors="ignore")], dim=REP)
        dropq = [c for c in q.coords if c not in q.dims]
        q2 = xr.concat([q.drop_vars(dropq), nq.drop_vars(dropq, errors="ignore")], dim=REP)
        dropt = [c for c in ti.coords if c not in ti.dims]
        ti2 = xr.concat([ti.drop_vars(dropt), nti.drop_vars(dropt, errors="ignore")], dim=REP)
        return (b2, q2, ti2, np.concatenate([roles, roles[src]]),
                np.concatenate([self.region, self.region[src]]))

    def compute(self, quota_uplift: float = 0.0, accelerator: float | None = None,
                cap: float | None = None, threshold: float | None = None,
                headcount: int | None = None, plan: str | None = None) -> WhatIfFigures:
        """Key figures under the what-if settings (``None`` keeps the scenario's value)."""
        from spm_models.comp import Plan

        t0 = time.perf_counter()
        plans = dict(self.plans)
        if plan and plan in self.plan_choices:
            plans[self.main_role] = Plan.from_yaml(self.plan_choices[plan])
        b, q, ti, roles, region = self._headcount(int(headcount) if headcount else self.n_reps)
        if quota_uplift:
            q = q * (1.0 + float(quota_uplift))
        keys = {comp_roles.plan_key(plans, r) for r in set(roles)} | {self.main_role}
        main = {k: modify_plan(plans[k], accelerator, cap, threshold) for k in keys}
        payout = comp_roles.simulate_roles(main, b, q, ti, roles)["payout"]
        overlay = None
        overlay_plans = {k: p for k, p in plans.items() if k not in keys}
        if self.reps is not None and overlay_plans:
            okey = (int(headcount or self.n_reps), float(quota_uplift))
            if okey not in self._overlay_cache:  # overlay plans are not what-if'd: reuse
                ov = comp_roles.overlay_payouts(overlay_plans, b, q, self.reps, roles, region)
                self._overlay_cache[okey] = None if ov is None else ov["payout"]
            overlay = self._overlay_cache[okey]
        cost = figures.incentive_cost(payout, overlay)
        figs, att = figures.cube_figures(b, q, cost, self.target, self.budget)
        return WhatIfFigures(
            figures=figs, n_reps=int(b.sizes[REP]), seconds=time.perf_counter() - t0,
            cost_draws=np.asarray(cost.values), attainment=_row_median(
                np.asarray(att.transpose(REP, DRAW).values)),
        )


def _row_median(att: np.ndarray) -> np.ndarray:
    out = np.full(att.shape[0], np.nan)
    ok = np.isfinite(att).all(axis=1)
    out[ok] = np.median(att[ok], axis=1)
    return out


def _ramp_tau(tables: dict[str, Any]) -> float:
    truth = tables.get("truth") if tables else None
    if truth is not None and "parameter" in truth:
        row = truth.loc[truth["parameter"] == "ramp_tau", "value"]
        if len(row):
            return float(row.iloc[0])
    return DEFAULT_RAMP_TAU


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
        n = self.model.n_reps
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
        self.headcount = w.IntSlider(value=n, min=max(1, n // 2), max=2 * n, step=1,
                                     description="Headcount", continuous_update=False,
                                     style=style, layout=layout)
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
                "headcount": self.headcount.value, "plan": self.plan.value}

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
