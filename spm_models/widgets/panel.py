"""The ipywidgets what-if panel around :class:`spm_models.widgets.WhatIf`.

Sliders (quota uplift, accelerator rate, cap, threshold, hires), a plan dropdown, key-figure
cards, the cost and attainment histograms and the pay curve of the selected plan. A control
passes only the settings that differ from the scenario's (an untouched control keeps every
plan as written), and each output is re-rendered only when its content changed: the pay curve
only when the plan, accelerator, cap or threshold changed (cached per plan and setting).
"""

from __future__ import annotations

import html
import time
import warnings
from pathlib import Path
from typing import Any

from spm_models.widgets.charts import figures_html, fmt_money, pay_curve_html
from spm_models.widgets.model import WhatIf, WhatIfFigures, accelerator_rate
from spm_models.widgets.settings import WhatIfWarning

#: the settings the pay curve depends on
CURVE_SETTINGS = ("plan", "accelerator", "cap", "threshold")


class WhatIfPanel:
    """ipywidgets what-if panel around :class:`WhatIf` (``panel.show()`` in a notebook).

    ``last_seconds`` is the time of the last update from a control's new value to every output
    widget holding the new figures and charts (what the user waits for, browser drawing aside).
    """

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
        #: the selected plan's accelerator rate (the slider's untouched value); None: it has none
        self._accel_base = acc
        self._syncing = False
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
        self.curve = w.HTML()
        self.status = w.HTML()
        self._defaults = {c: c.value for c in self._controls()}
        self.base = self.model.compute()
        self._reference_curve = self.model.pay_curve()
        self._curve_key: tuple | None = None
        self.last_seconds = 0.0
        for c in self._controls():
            c.observe(self._on_change, names="value")
        self.reset.on_click(self._on_reset)
        self.ui = w.VBox([
            w.HBox([w.VBox([self.uplift, self.accel, self.cap]),
                    w.VBox([self.threshold, self.headcount, self.plan, self.reset])]),
            self.figures, self.chart, self.curve, self.status,
        ])
        self._render(self.base, self.settings())

    def _controls(self) -> list[Any]:
        return [self.uplift, self.accel, self.cap, self.threshold, self.headcount, self.plan]

    def settings(self) -> dict[str, Any]:
        """The current what-if settings as keyword arguments of :meth:`WhatIf.compute`; a
        control at its scenario value gives ``None`` (the plans as written)."""
        def moved(c: Any) -> Any:
            base = (self._accel_base if self._accel_base is not None else 0.0) \
                if c is self.accel else self._defaults[c]
            return None if c.disabled or c.value == base else c.value

        return {"quota_uplift": self.uplift.value, "accelerator": moved(self.accel),
                "cap": moved(self.cap), "threshold": moved(self.threshold),
                "hires": moved(self.headcount), "plan": moved(self.plan)}

    def _sync_accelerator(self, keep_moved: bool = True) -> None:
        """Fit the accelerator slider to the selected plan: an untouched slider moves to the
        plan's accelerator rate and is enabled when the plan has one (a tier starting at
        100 %), disabled otherwise; a slider the user moved keeps its value (``keep_moved``;
        on a plan without an accelerator the status line then warns that it changes nothing).
        Called when the plan changes; setting the slider here does not recompute."""
        old = self._accel_base if self._accel_base is not None else 0.0
        moved = not self.accel.disabled and self.accel.value != old
        name = self.plan.value if self.plan.value in self.model.plan_choices else None
        acc = accelerator_rate(self.model.plans_for(name)[self.model.main_role])
        self._accel_base = acc
        self._syncing = True
        try:
            if acc is not None:
                self.accel.max = max(self.accel.max, 1.0, 3 * acc)
                self.accel.step = max(acc / 20, 0.001)
            if keep_moved and moved:
                return
            self.accel.value = acc if acc is not None else 0.0
            self.accel.disabled = acc is None
        finally:
            self._syncing = False

    def _on_change(self, change: Any = None) -> None:
        """Recompute and re-render; an error (an invalid setting) is shown in the status line
        in red and leaves the outputs as they were, a :class:`WhatIfWarning` (a setting that
        changes nothing for the chosen plan) is shown below the timing line. A plan change
        first fits the accelerator slider to the new plan (:meth:`_sync_accelerator`)."""
        if self._syncing:
            return
        if isinstance(change, dict) and change.get("owner") is self.plan:
            self._sync_accelerator()
        t0 = time.perf_counter()
        settings = self.settings()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", WhatIfWarning)
                res = self.model.compute(**settings)
                self._render(res, settings)
        except Exception as exc:  # noqa: BLE001 - show the problem, keep the panel alive
            self.status.value = f"<span style='color:#a4262c'>{html.escape(str(exc))}</span>"
            return
        self.last_seconds = time.perf_counter() - t0
        notes = "".join(f"<br><span class='spm-whatif-warning' style='color:#8a6d00'>"
                        f"{html.escape(str(w.message))}</span>" for w in caught
                        if issubclass(w.category, WhatIfWarning))
        self.status.value = (f"<span style='color:#777;font-size:0.8em'>updated in "
                             f"{self.last_seconds * 1000:.0f} ms over {len(res.cost_draws)} draws"
                             "</span>" + notes)

    def _on_reset(self, _b: Any = None) -> None:
        for c, v in self._defaults.items():
            c.value = v
        self._sync_accelerator(keep_moved=False)  # the scenario plan's, enabled or not

    def _render(self, res: WhatIfFigures, settings: dict[str, Any]) -> None:
        b = self.base

        def delta(new: float, old: float) -> str:
            if old == 0:
                return ""
            d = new / old - 1
            color = "#a4262c" if d > 0.0005 else "#2e7d32" if d < -0.0005 else "#555"
            return f" <span style='color:{color};font-size:0.8em'>({d:+.1%})</span>"

        ic, rv = res.incentive_cost, res.revenue
        cards = [
            ("Incentive cost (P50)", f"<span class='spm-incentive-cost'>{fmt_money(ic['p50'])}</span>"
             + delta(ic["p50"], b.incentive_cost["p50"]),
             f"80 %: {fmt_money(ic['p10'])} – {fmt_money(ic['p90'])}"),
            ("Cost of sales (P50)", f"{res.cost_of_sales:.2%}",
             "incentive ÷ revenue" if "support_cost" not in res.figures else
             f"(incentive + {fmt_money(res.figures['support_cost']['p50'])} managers/SEs for hires) ÷ revenue"),
            ("Reps at quota (P50)", f"{res.share_reps_at_quota:.0%}", f"{res.n_reps} reps"),
            ("Revenue (P50)", fmt_money(rv["p50"]),
             f"80 %: {fmt_money(rv['p10'])} – {fmt_money(rv['p90'])}"),
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
        key = tuple(settings[k] for k in CURVE_SETTINGS)
        if key != self._curve_key:  # the hires control leaves the pay curve as it is
            curve = self.model.pay_curve(**{k: settings[k] for k in CURVE_SETTINGS})
            self.curve.value = pay_curve_html(curve, self._reference_curve)
            self._curve_key = key

    def show(self) -> Any:
        """Display the panel (returns the widget for notebooks)."""
        from IPython.display import display

        display(self.ui)
        return None
