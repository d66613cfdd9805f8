"""The report's "Pipeline and quarter outlook" section (``notebooks/scenario_report.ipynb``).

Renders what the workflow's pipeline step left in the scenario (``summary["pipeline"]`` and the
tree groups ``/pipeline``, ``/pipeline_kpis``; :mod:`spm_models.workflow.pipeline_step`): the
in-quarter fan, a table of the quarter's outlook by region, pipeline coverage by region and the
KPI trends, with the notes saying which parts of the forecast were used. When the pipeline is
not available (no bookings, step switched off, a summary written before the step existed) it
says so plainly instead of drawing anything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import matplotlib.pyplot as plt
import pandas as pd
import xarray as xr

from spm_models.plots.report import money
from spm_models.reporting import sections

_KPI_LABELS = {"coverage": ("Pipeline coverage", "x"), "win_rate": ("Win rate", "%"),
               "avg_deal_size": ("Average deal size", "$"),
               "sales_cycle_days": ("Sales cycle (days)", "d"), "slip_rate": ("Slip rate", "%"),
               "pipeline_created": ("Pipeline created (month)", "$")}


def _fmt(v: float | None, kind: str) -> str:
    if v is None:
        return "n/a"
    if kind == "%":
        return f"{v:.0%}"
    if kind == "$":
        return money(v)
    if kind == "x":
        return f"{v:.2f}×"
    return f"{v:.0f}"


def outlook_frame(block: dict[str, Any]) -> pd.DataFrame:
    """Company and region rows of the quarter: closed to date, P10, P50, P90 (text)."""
    rows = [("Company", block.get("closed_to_date"), block["forecast"])]
    rows += [(g, r["closed_to_date"], r) for g, r in sorted(block.get("by_region", {}).items())]
    return pd.DataFrame([{"": name, "closed to date": money(c or 0.0), "P10": money(q["p10"]),
                          "P50": money(q["p50"]), "P90": money(q["p90"])}
                         for name, c, q in rows])


def kpi_frame(block: dict[str, Any]) -> pd.DataFrame | None:
    """The company KPIs: last month's value and the change of the last 3 months' mean."""
    k, trends = block.get("kpis") or {}, block.get("trends") or {}
    if not k:
        return None
    rows = []
    for name, (label, kind) in _KPI_LABELS.items():
        last = k.get(name) if name != "pipeline_created" else (trends.get(name, {}).get("values") or [None])[-1]
        ch = trends.get(name, {}).get("change_3m")
        rows.append({"KPI": label, f"{k.get('period', '')}": _fmt(last, kind),
                     "change (3 months vs 3 before)": _change(ch, kind)})
    return pd.DataFrame(rows)


def _change(ch: float | None, kind: str) -> str:
    """A KPI's 3-month change: a rate's in percentage points with one decimal (``−2.8 pp``,
    never ``−3%``, which reads as a relative change), others in their own unit."""
    if ch is None:
        return "n/a"
    sign = "+" if ch >= 0 else "−"
    if kind == "%":
        return f"{sign}{abs(ch) * 100:.1f} pp"
    return sign + _fmt(abs(ch), kind)


def quarter_complete(block: dict[str, Any]) -> bool:
    """True when the outlook has nothing left to forecast: P10 = P90 = closed to date (e.g. a
    monthly finance export whose last month already holds the quarter's last bookings)."""
    f, closed = block.get("forecast") or {}, block.get("closed_to_date")
    if closed is None or f.get("p10") is None or f.get("p90") is None:
        return False
    tol = 1e-6 * max(1.0, abs(float(closed)))
    return abs(f["p90"] - f["p10"]) <= tol and abs(f["p50"] - float(closed)) <= tol


def pipeline_section(tree: xr.DataTree, summary: dict[str, Any],
                     display: Callable[[Any], Any] | None = None) -> Any:
    """Show the section: the outlook table, the fan, coverage by region, KPI trends.

    Parameters
    ----------
    tree
        The scenario result tree (groups ``/pipeline``, ``/pipeline_kpis`` when present).
    summary
        ``summary.json`` figures (its ``pipeline`` block).
    display
        Called with each figure and table (default :func:`IPython.display.display`).

    Returns
    -------
    IPython.display.HTML
        The closing note (which parts of the forecast were used), or the banner saying the
        pipeline outlook is not available.
    """
    from spm_models.cube import tree_group
    from spm_models.plots.pipeline import plot_coverage_by_region, plot_kpi_trends, plot_quarter_fan

    if display is None:
        from IPython.display import display as ipy_display

        show: Callable[[Any], Any] = ipy_display
    else:
        show = display
    block = summary.get("pipeline")
    quarter = tree_group(tree, "pipeline")
    if not block or not block.get("available") or quarter is None:
        why = "; ".join((block or {}).get("notes") or ["this summary has no pipeline block"])
        return sections.banner(f"Pipeline and quarter outlook not available: {why}.", "draft")
    if quarter_complete(block):
        show(sections.banner(
            f"{block['quarter']} is already complete in the data as of {block['as_of']}: "
            f"{money(block.get('closed_to_date') or 0.0)} closed, no open pipeline and nothing "
            "left to forecast, so no quarter outlook is shown (the plan year's forecast is above).",
            "draft"))
    else:
        show(sections.table(
            outlook_frame(block), left=("",),
            caption=f"{block['quarter']} bookings as of {block['as_of']} (closed to date included)",
            note=outlook_note(summary)))
        fig = plot_quarter_fan(quarter)
        show(sections.figure(fig))
        plt.close(fig)
    kpis = tree_group(tree, "pipeline_kpis")
    if kpis is not None and kpis.sizes.get("period", 0):
        region = kpis.isel(id=(kpis["level"] == "region").values)
        company = kpis.isel(id=(kpis["level"] == "company").values)
        if region.sizes["id"]:
            fig = plot_coverage_by_region(region)
            show(sections.figure(fig))
            plt.close(fig)
        fig = plot_kpi_trends(company)
        show(sections.figure(fig))
        plt.close(fig)
        kf = kpi_frame(block)
        if kf is not None:
            show(sections.table(kf, left=("KPI",), caption="Company pipeline KPIs"))
    kind = "approved" if block.get("pipeline_used") else "warn"
    notes = list(block.get("notes") or [])
    diag = win_model_note(block.get("win_model"))
    if diag is not None:
        notes.append(diag[0])
        kind = "warn" if not diag[1] else kind
    return sections.banner("Parts of this outlook: " + " · ".join(notes), kind)


_LEVER_WORDS = {"attrition": "leavers", "hires": "hires", "territory": "territory moves",
                "response": "the reps' response to the plan"}


def two_figures_sentence(summary: dict[str, Any]) -> str | None:
    """One sentence on why the revenue fan's first quarter and the pipeline outlook differ
    (``summary["pipeline"]["world_quarter"]``, :func:`spm_models.workflow.pipeline_step.world_quarter`);
    None when the summary has no such comparison."""
    wq = (summary.get("pipeline") or {}).get("world_quarter")
    if not wq:
        return None
    changes = [_LEVER_WORDS[lv] for lv in wq.get("levers") or [] if lv in _LEVER_WORDS]
    after = (", then " + ", ".join(changes[:-1]) + (" and " if len(changes) > 1 else "") + changes[-1]
             if changes else "")
    part = "" if len(wq.get("months") or []) == 3 else f" ({len(wq['months'])} of its months in the plan year)"
    as_of = (summary.get("pipeline") or {}).get("as_of", "the end of the data")
    unseen = " and which sees none of those changes" if changes else ""
    return (f"Two figures for {wq['quarter']}{part}: the revenue forecast shows P50 "
            f"{money(wq['world']['p50'])}, the scenario's simulated year (today's reps' bookings "
            f"forecast of {money(wq['forecast']['p50'])}{after}) from which every annual figure "
            f"adds up, while the pipeline outlook's P50 {money(wq['pipeline']['p50'])} reads "
            f"today's open opportunities as of {as_of} with a separate model whose draws are not "
            f"paired with the scenario's{unseen}, so it stands beside the plan year rather than "
            "inside it.")


def outlook_note(summary: dict[str, Any]) -> str:
    """The note under the pipeline outlook table: the company range and, when the revenue fan
    shows the same quarter, a pointer to the sentence under the fan (:func:`quarter_note`)
    rather than a second copy of it."""
    block = summary["pipeline"]
    f = block["forecast"]
    text = f"Company P50 {money(f['p50'])}, 80 % range {money(f['p10'])} – {money(f['p90'])}."
    wq = block.get("world_quarter")
    if wq:
        text += (f" The scenario's own {wq['quarter']} figure (P50 {money(wq['world']['p50'])}) is under "
                 "the revenue forecast, with why the two differ.")
    return text


def quarter_note(summary: dict[str, Any]) -> Any:
    """:func:`two_figures_sentence` as a note under the revenue fan (HTML), or None (nothing
    shown) without a pipeline outlook of a plan-year quarter."""
    import html

    from IPython.display import HTML

    text = two_figures_sentence(summary)
    return None if text is None else HTML(f'<div class="spm"><div class="sub">{html.escape(text)}</div></div>')


def win_model_note(diag: dict[str, Any] | None) -> tuple[str, bool] | None:
    """The win model's convergence in words and whether it passed (max R-hat ≤ 1.01, the
    threshold of the forecast diagnostics, Vehtari et al. 2021); None without diagnostics."""
    if not diag or diag.get("max_rhat") is None:
        return None
    ok = float(diag["max_rhat"]) <= 1.01
    text = (f"win model: {diag.get('chains', '?')} chains × {diag.get('draws', '?')} draws, "
            f"max R-hat {float(diag['max_rhat']):.3f}, min bulk ESS {float(diag.get('min_ess_bulk', float('nan'))):.0f}")
    if not ok:
        text += (" (R-hat above 1.01: the in-quarter ranges carry sampling noise; raise "
                 "pipeline draws/chains in the scenario for a firmer outlook)")
    return text, ok
