"""Scenario comparison: summaries side by side (``compare.html`` and ``notebooks/compare.ipynb``)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from IPython.display import HTML, Image

from spm_models.plots.report import money, scenario_intervals
from spm_models.reporting import sections


def find_summaries(report_dir: str | Path) -> list[Path]:
    """``summary.json`` files one level below ``report_dir``, sorted by scenario folder."""
    return sorted(Path(report_dir).glob("*/summary.json"))


def load_summaries(paths: Sequence[str | Path]) -> list[dict[str, Any]]:
    """Read summary files."""
    return [json.loads(Path(p).read_text()) for p in paths]


def comparison_frame(summaries: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """One row per figure, one column per scenario (formatted text)."""
    def pct(v: Any, d: int = 0) -> str:
        return "n/a" if v is None else f"{v:.{d}%}"

    rows: dict[str, list[str]] = {
        "Revenue P50": [], "Revenue P10–P90": [], "P(company target)": [],
        "Incentive cost P50": [], "Incentive cost P10–P90": [],
        "Managers/SEs for hires P50": [], "Cost of sales P50": [],
        "Reps at quota P50": [], "Total quota": [], "Quota method": [],
        "Territory CV of potential (after)": [], "Accounts moved": [],
        "Hires in plan": [], "Headcount end P50": [],
        "Bridge: today's roster": [], "Bridge: attrition": [], "Bridge: hires": [],
        "Bridge: territory change": [], "Bridge: plan response": [], "Approved adjustments": [],
    }
    for s in summaries:
        r, c = s["revenue"], s["incentive_cost"]
        rows["Revenue P50"].append(money(r["p50"]))
        rows["Revenue P10–P90"].append(f"{money(r['p10'])} – {money(r['p90'])}")
        rows["P(company target)"].append(pct(s.get("prob_company_target")))
        rows["Incentive cost P50"].append(money(c["p50"]))
        rows["Incentive cost P10–P90"].append(f"{money(c['p10'])} – {money(c['p90'])}")
        rows["Managers/SEs for hires P50"].append(money(s["support_cost"]["p50"]) if s.get("support_cost") else "–")
        rows["Cost of sales P50"].append(pct(s["cost_of_sales"]["p50"], 1))
        rows["Reps at quota P50"].append(pct(s["share_reps_at_quota"]["p50"]))
        rows["Total quota"].append(money(s.get("total_quota") or 0.0))
        rows["Quota method"].append(str(s.get("quota_method", "")))
        terr, cap = s.get("territory") or {}, s.get("capacity") or {}
        after = terr.get("after") or {}
        rows["Territory CV of potential (after)"].append(
            pct(after["cv_potential"], 1) if "cv_potential" in after else "–")
        rows["Accounts moved"].append(str(terr["accounts_moved"]) if "accounts_moved" in terr else "–")
        rows["Hires in plan"].append(str(cap["total_hires"]) if "total_hires" in cap else "–")
        rows["Headcount end P50"].append(f"{cap['headcount_end']['p50']:.0f}" if "headcount_end" in cap else "–")
        steps = {r["step"]: r for r in s.get("bridge") or []}
        for label, key in (("today's roster", "base"), ("attrition", "attrition"), ("hires", "hires"),
                           ("territory change", "territory"), ("plan response", "response")):
            r = steps.get(key)
            rows[f"Bridge: {label}"].append(
                "–" if r is None else money(r["revenue"]) if key == "base"
                else f"{'+' if r['revenue'] >= 0 else '−'}{money(abs(r['revenue']))}")
        adj = s.get("adjustments") or {}
        rows["Approved adjustments"].append(str(adj.get("n_approved", 0)))
    df = pd.DataFrame(rows, index=[str(s["scenario"]) for s in summaries]).T
    df.insert(0, "figure", df.index)
    return df.reset_index(drop=True)


def comparison_table(summaries: Sequence[dict[str, Any]]) -> HTML:
    """The comparison as an escaped HTML table."""
    return sections.table(comparison_frame(summaries), caption="Scenarios side by side")


def comparison_figures(summaries: Sequence[dict[str, Any]]) -> list[Image]:
    """Revenue and incentive-cost ranges per scenario and each scenario's revenue bridge, as inline PNGs."""
    from spm_models.plots.bridge import plot_bridge

    out = [sections.figure(scenario_intervals(summaries, "revenue", "Plan-year revenue")),
           sections.figure(scenario_intervals(summaries, "incentive_cost", "Incentive cost"))]
    for s in summaries:  # the bridge of each scenario, read from its world
        if s.get("bridge"):
            out.append(sections.figure(plot_bridge(pd.DataFrame(s["bridge"]), "revenue",
                                                   title=f"{s['scenario']}: today's roster → scenario")))
    return out
