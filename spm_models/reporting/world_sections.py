"""Report sections read from the scenario world: the bridge, what the hires cost and the
manager adjustments.

Both render ``summary.json`` figures (``bridge``, ``adjustments``; see
:mod:`spm_models.workflow.world_step` and :mod:`spm_models.workflow.adjust_step`), so the
report, ``compare.html`` and the summary agree by construction.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from spm_models.plots.report import money
from spm_models.reporting import sections


def bridge_frame(summary: dict[str, Any]) -> pd.DataFrame | None:
    """``summary["bridge"]`` as the frame :func:`spm_models.plots.bridge.plot_bridge` draws
    (None when the summary has no bridge)."""
    rows = summary.get("bridge") or []
    return pd.DataFrame(rows) if rows else None


def bridge_section(summary: dict[str, Any]) -> Any:
    """Waterfall of revenue from today's roster to the scenario (attrition, hires, territory
    change, plan response) and a table of each step's change of revenue and cost P50 with the
    paired 80 % range."""
    from IPython.display import display

    from spm_models.plots.bridge import plot_bridge

    df = bridge_frame(summary)
    if df is None:
        return sections.banner("No bridge: this summary was written before the scenario world.", "draft")
    display(sections.figure(plot_bridge(df, "revenue", title="Revenue: today's roster → scenario")))
    table = pd.DataFrame({
        "step": df["label"],
        "revenue P50": [money(v) if k == "level" else f"{'+' if v >= 0 else '−'}{money(abs(v))}"
                        for k, v in zip(df["kind"], df["revenue"], strict=True)],
        "80 % range of the change": ["" if k == "level" else f"{money(a)} … {money(b)}"
                                     for k, a, b in zip(df["kind"], df["revenue_change_p10"],
                                                        df["revenue_change_p90"], strict=True)],
        "cost P50": [money(v) if k == "level" else f"{'+' if v >= 0 else '−'}{money(abs(v))}"
                     for k, v in zip(df["kind"], df["cost"], strict=True)],
    })
    return sections.table(table, caption="From today's roster to the scenario",
                          note="Each step switches one lever on in the same simulated draws; the "
                               "bars add up to the scenario's P50. Cost is the incentive pay of "
                               "every plan (reps, managers and SEs, credited on each step's "
                               "bookings) plus the managers and SEs that AEs above today's "
                               "headcount need (span of control; base + on-target incentive).")


def support_sentence(c: dict[str, Any]) -> str:
    """What the hires cost and bring (``summary["capacity"]``'s ``hires_economics`` and
    ``support``), as one sentence with a leading space; "" when the summary has neither."""
    econ, sup = c.get("hires_economics"), c.get("support")
    out = ""
    if econ and econ.get("revenue_p50") is not None:
        out += (f" The hires add {money(econ['revenue_p50'])} of bookings for "
                f"{money(econ['cost_p50'])} of cost (change of the P50, the bridge's Hires bar")
        out += (f"; {econ['cost_per_revenue']:.1%} of what they add" if econ.get("cost_per_revenue") is not None
                else "") + ")"
    if sup and sup.get("roles"):
        parts = [f"{r['headcount_end_p50']:.1f} {name} (1 per {r['span']:.1f} AEs, "
                 f"{money(r['annual_cost'])} a year each)" for name, r in sup["roles"].items()]
        what = (f"{money(sup['total']['p50'])} for the managers and SEs the extra AEs need: "
                f"{', '.join(parts)} more by year end")
        out += f", including {what}" if out else f" The plan costs {what}"
    return out + "." if out else ""


def adjustments_section(summary: dict[str, Any]) -> Any:
    """The scenario's manager adjustments (all states) and the effect of each approved one."""
    a = summary.get("adjustments")
    if not a or not a.get("list"):
        return sections.banner("No manager adjustments for this scenario.", "draft")
    eff = {r["id"]: r for r in a.get("effects") or []}
    rows = []
    for x in a["list"]:
        e = eff.get(x["id"], {})
        rows.append({"id": x["id"], "status": x["status"], "target": f"{x['target']} {x['target_id']}",
                     "what": x["what"], "size": f"{float(x['size']):+.0%}",
                     "revenue P50 change": money(e["revenue_p50_change"]) if e else "–",
                     "cost P50 change": money(e["cost_p50_change"]) if e else "–",
                     "reason": x.get("reason", "")})
    if "all approved" in eff:
        e = eff["all approved"]
        rows.append({"id": "all approved", "status": "", "target": "", "what": "", "size": "",
                     "revenue P50 change": money(e["revenue_p50_change"]),
                     "cost P50 change": money(e["cost_p50_change"]), "reason": ""})
    return sections.table(pd.DataFrame(rows), caption="Manager adjustments",
                          note=f"{a.get('n_approved', 0)} approved adjustment(s) are in every figure of "
                               "this report; proposed and rejected ones change nothing. Effects on "
                               "today's reps' forecast, before attrition and hires.")
