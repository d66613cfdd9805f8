"""The report's plan section: which plan pays whom, what each costs, and its pay curves.

:func:`plan_frame` lists the scenario's plans by role (how each is credited in the simulated
world and the part-2 elements it uses) with the incentive cost per plan from ``summary.json``
(``incentive_cost_by_plan``, the one reducer :mod:`spm_models.figures`);
:func:`plan_figures` draws, for every plan with a pay curve, modifiers or an advance cap, its
payout against attainment (:func:`spm_models.plots.comp.pay_curve`, through the comp engine)
each modifier as a family of curves (:func:`spm_models.plots.comp.modifier_curves`) and, for
an advance cap, the payouts of a quota period with and without it
(:func:`spm_models.plots.comp.advance_pacing`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import HTML, Image

from spm_models.comp.plan import CreditRule, Plan
from spm_models.plots.report import money
from spm_models.reporting import sections


def _credit_text(plan: Plan) -> str:
    parts = []
    for m in plan.measures:
        rule = m.credit or CreditRule()
        bits = []
        if rule.rollup:
            bits.append("team roll-up")
        if rule.where:
            bits.append(" & ".join(f"{c} in {'/'.join(v)}" for c, v in rule.where))
        if rule.amount != "amount":
            bits.append(f"on {rule.amount}")
        parts.append(f"{m.name}: {', '.join(bits) if bits else 'own bookings'}")
    return "; ".join(parts)


def _elements(plan: Plan) -> str:
    out = []
    for m in plan.measures:
        if m.has_curve:
            out.append(f"{m.interpolate} pay curve ({m.name})")
        if m.modifiers:
            out += [f"{m.name} × {x.measure} modifier" for x in m.modifiers]
        if m.advance_cap is not None:
            out.append(f"advance cap {m.advance_cap:g} ({m.name})")
    if plan.bonuses:
        out.append("bonus")
    if plan.draw is not None:
        out.append("draw")
    return ", ".join(dict.fromkeys(out)) or "tiers"


def has_curve_elements(plan: Plan) -> bool:
    """Whether ``plan`` has a pay curve, a modifier or an advance cap (a plan worth a pay-curve
    figure in the plan section)."""
    return any(m.has_curve or m.modifiers or m.advance_cap is not None for m in plan.measures)


def plan_frame(plans: Mapping[str, Plan], summary: Mapping[str, Any]) -> pd.DataFrame:
    """One row per role: ``role``, ``plan`` (name), ``pays`` (frequency), ``credited``,
    ``elements`` (curves, modifiers, advance caps, bonuses, draws) and ``cost_p50`` (the
    role's plan-year incentive cost P50 from ``summary["incentive_cost_by_plan"]``, NaN when
    the role paid nobody)."""
    cost = summary.get("incentive_cost_by_plan") or {}
    rows = []
    for role, plan in plans.items():
        rows.append({"role": role, "plan": plan.name, "pays": plan.payout_frequency,
                     "credited": _credit_text(plan), "elements": _elements(plan),
                     "cost_p50": float((cost.get(role) or {}).get("p50", float("nan")))})
    return pd.DataFrame(rows)


def plan_figures(plans: Mapping[str, Plan]) -> list[tuple[str, Any]]:
    """``(caption, matplotlib figure)`` per plan with a curve, modifier or advance cap (each
    plan once, in role order): its pay curve, then one family of curves per modified measure,
    then for an advance cap the pacing of a quota period's payouts with and without it."""
    from spm_models.plots.comp import advance_pacing, modifier_curves, pay_curve

    out: list[tuple[str, Any]] = []
    seen: set[str] = set()
    for role, plan in plans.items():
        if plan.source in seen or not has_curve_elements(plan):
            continue
        seen.add(plan.source)
        out.append((f"{role}: {plan.name} — plan-year payout against attainment",
                    pay_curve(plan, max_attainment=2.0)))
        for m in plan.measures:
            if m.modifiers:
                out.append((f"{role}: {plan.name} — {m.name} earnings by {m.modifiers[0].measure} attainment",
                            modifier_curves(plan, m.name, max_attainment=2.0)))
        if any(m.advance_cap is not None for m in plan.measures):
            caption = (f"{role}: {plan.name} — payouts of a quota period with a strong first month, "
                       "with and without the advance cap")
            out.append((caption, advance_pacing(plan)))
    return out


def plans_section(plans: Mapping[str, Plan], summary: Mapping[str, Any]) -> list[HTML | Image]:
    """The plan section's items in order (display each): the plans table, then the pay-curve
    figures of :func:`plan_figures` (figures are closed once rendered)."""
    df = plan_frame(plans, summary)
    shown = df.assign(cost_p50=[money(v) if np.isfinite(v) else "—" for v in df["cost_p50"]])
    shown.columns = ["Role", "Plan", "Pays", "Credited with", "Plan elements", "Cost P50"]
    items: list[HTML | Image] = [sections.table(
        shown, note="Managers and overlays are credited from the same simulated bookings as the "
                    "reps (team roll-up); measures filtered by deal type take each rep's historical share.")]
    for caption, fig in plan_figures(plans):
        items.append(HTML(f"<p class='sub'>{caption}</p>"))
        items.append(sections.figure(fig))
        plt.close(fig)
    return items
