"""The report's capacity and hiring section: the plain-language answer (how many reps to hire,
with what probability the plan reaches the target) above the capacity fan and the plan table.

Probabilities near the target are printed with enough digits that a figure below the target
never reads as the target (:func:`pct_vs_target`); what the hires add is the bridge's
``Hires`` bar (:func:`spm_models.reporting.world_sections.support_sentence`).
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from IPython.display import HTML

from spm_models.plots.report import money
from spm_models.reporting import sections
from spm_models.reporting.world_sections import support_sentence


def pct_vs_target(p: float, target: float | None) -> str:
    """``p`` as a percentage with the fewest digits (0 to 3 decimals) that keep it on the same
    side of ``target`` as its exact value (79.9 % against an 80 % target, never "80 %");
    e.g. ``pct_vs_target(0.799, 0.8) == "79.9%"``, ``pct_vs_target(0.83, 0.8) == "83%"``;
    without a target, whole percents."""
    if target is None:
        return f"{p:.0%}"
    for d in range(4):
        shown = round(p * 100, d) / 100
        if (shown >= target) == (p >= target) and (shown == target) == (p == target):
            return f"{p:.{d}%}"
    return f"{p:.3%}"


_CAPACITY = sections._ENV.from_string("""<div class="spm" id="capacity-plan"><p>{{ text }}</p>
{% if plan %}<table><thead><tr><th class="l">Requisitions opened</th>{% for m, n in plan %}<th>{{ m }}</th>{% endfor %}<th>total</th></tr></thead>
<tbody><tr><td class="l">new reps</td>{% for m, n in plan %}<td>{{ n }}</td>{% endfor %}<td><b>{{ total }}</b></td></tr></tbody></table>{% endif %}
<div class="sub">{{ note }}</div></div>""")


def _month_label(m: str) -> str:
    return pd.Period(m, freq="M").strftime("%b %Y")


def capacity_sentence(c: dict[str, Any]) -> str:
    """Plain-language answer of the capacity section (``summary["capacity"]``)."""
    hires, plan = c["total_hires"], c.get("hiring_plan") or {}
    lag = c.get("hiring_lag_months") or 0
    when = ""
    if plan:
        months = sorted(plan)
        when = (f" (requisitions opened {_month_label(months[0])}"
                + (f" to {_month_label(months[-1])}" if len(months) > 1 else "")
                + (f"; each starts {lag} month{'s' if lag != 1 else ''} later" if lag else "") + ")")
    reps = f"{hires} rep{'s' if hires != 1 else ''}"
    cap = c["capacity"]
    tail = (f" With that plan the scenario books {money(cap['p50'])} "
            f"(80 % range {money(cap['p10'])}–{money(cap['p90'])}) and headcount ends the year at "
            f"about {c['headcount_end']['p50']:.0f} (from {c['headcount_now']} today).")
    tail += support_sentence(c)
    if c.get("mode") == "solve" and c.get("target") is not None:
        p = c.get("probability_target")
        reached = pct_vs_target(c["probability_reached"], p)
        if c.get("feasible") is False:
            return (f"Even {reps} do not reach {money(c['target'])} with probability {p:.0%}: "
                    f"the best plan reaches it with probability {reached}." + tail)
        if hires == 0:
            return (f"To reach {money(c['target'])} with probability {p:.0%}, no hires are needed: "
                    f"the current team reaches it with probability {reached}." + tail)
        fewer = c.get("probability_one_fewer")
        return (f"To reach {money(c['target'])} with probability {p:.0%}, hire {reps}{when}; "
                f"the plan reaches it with probability {reached}"
                + (f" ({pct_vs_target(fewer, p)} with one hire fewer)" if fewer is not None else "")
                + "." + tail)
    text = f"The hiring plan adds {reps}{when}."
    if c.get("target") is not None and c.get("probability_reached") is not None:
        text += (f" It reaches the target of {money(c['target'])} with probability "
                 f"{c['probability_reached']:.0%}.")
    return text + tail


#: What the capacity figures are, shown only when the scenario has a capacity section
CAPACITY_INTRO = ("Each simulated year lets current reps leave at the attrition rate, brings new hires "
                  "in after the hiring lag and ramps them up; new hires are paid on the new-hire plan. "
                  "The band holds 80 % of the simulated cumulative bookings — the same simulated years "
                  "as the revenue above — the dashed line is the target; below, headcount and ramped "
                  "reps over the year.")


def capacity_section(cube: Any, summary: dict[str, Any]) -> Any:
    """Capacity fan vs target and the hiring answer (or a note when the scenario plans none)."""
    import html

    from IPython.display import display

    from spm_models.plots.report import capacity_fan

    c = summary.get("capacity")
    if not c:
        return sections.banner("This scenario has no capacity section: no hiring plan computed.", "draft")
    display(HTML(f'<div class="spm"><div class="sub">{html.escape(CAPACITY_INTRO)}</div></div>'))
    fig = capacity_fan(cube, c.get("target"))
    if fig is not None:
        display(sections.figure(fig))
    items = sorted((c.get("hiring_plan") or {}).items())
    one_year = len({m[:4] for m, _ in items}) <= 1
    plan = [(_month_label(m).split()[0] if one_year else _month_label(m), n) for m, n in items]
    note = (f"Attrition {c['attrition_monthly']:.1%} a month, hiring lag {c['hiring_lag_months']} "
            "months; the figures are read from the scenario's simulated world (the same draws as "
            "the revenue above): current reps leave at the attrition rate, a new rep ramps up over "
            "the first months and is paid on the new-hire plan.")
    return HTML(_CAPACITY.render(text=capacity_sentence(c), plan=plan, total=c["total_hires"],
                                 note=note))
