"""HTML sections of the executive scenario report (used by ``notebooks/scenario_report.ipynb``).

Every section is rendered through a Jinja2 environment with autoescaping on, so data
(rep names, territory labels, notes) always appears as text, never as markup. Figures are
returned as PNG ``Image`` objects, which nbconvert embeds inline (base64).
"""

from __future__ import annotations

import io
from typing import Any

import jinja2
import numpy as np
import pandas as pd
import xarray as xr
from IPython.display import HTML, Image

from spm_models.plots.report import money

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)
_ENV.filters["money"] = lambda v: "n/a" if v is None else money(float(v))
_ENV.filters["pct"] = lambda v, d=0: "n/a" if v is None or not np.isfinite(v) else f"{float(v):.{d}%}"

STYLE = """
<style>
.spm {font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; color:#1b1b1b;
      max-width: 1100px;}
.spm h1 {font-size: 1.8em; margin: 0.2em 0;} .spm .sub {color:#555;}
.spm .banner {padding: 8px 14px; border-radius: 6px; margin: 8px 0; font-weight: 600;}
.spm .approved {background:#e2f0d9; border:1px solid #70ad47;}
.spm .draft {background:#f2f2f2; border:1px solid #a6a6a6;}
.spm .changed, .spm .warn, .spm .unverified {background:#fff2cc; border:1px solid #bf9000;}
.spm .cards {display:flex; flex-wrap:wrap; gap:12px; margin:12px 0;}
.spm .card {flex:1 1 180px; border:1px solid #d0d7de; border-radius:8px; padding:10px 14px;
            background:#f8fafc;}
.spm .card .v {font-size:1.6em; font-weight:700; color:#1f4e79;}
.spm .card .k {font-size:0.85em; color:#555; text-transform:uppercase; letter-spacing:.04em;}
.spm .card .r {font-size:0.85em; color:#555;}
.spm table {border-collapse: collapse; font-size: 0.9em; margin: 6px 0;}
.spm th, .spm td {border-bottom:1px solid #e1e4e8; padding:4px 10px; text-align:right;}
.spm th:first-child, .spm td:first-child, .spm td.l, .spm th.l {text-align:left;}
.spm footer {color:#666; font-size:0.8em; border-top:1px solid #ccc; margin-top:16px;
             padding-top:6px;}
</style>
"""

_HEADER = _ENV.from_string("""{{ style|safe }}<div class="spm">
<h1>{{ title }}</h1>
<div class="sub">Scenario <b>{{ name }}</b> · plan year {{ start }} + {{ months }} months ·
{{ n_reps }} reps · {{ n_draws }} simulated outcomes</div>
{% if description %}<p>{{ description }}</p>{% endif %}
<div class="banner {{ approval.state }}" id="approval-banner">{{ approval.label }}
{% if approval.note %}<span style="font-weight:400"> — “{{ approval.note }}”</span>{% endif %}</div>
</div>""")

_SUMMARY = _ENV.from_string("""<div class="spm" id="executive-summary">
<h2>Executive summary</h2>
<div class="cards">
 <div class="card" id="kpi-revenue"><div class="k">Plan-year revenue (P50)</div>
  <div class="v">{{ s.revenue.p50|money }}</div>
  <div class="r">80 % range {{ s.revenue.p10|money }} – {{ s.revenue.p90|money }}</div></div>
 <div class="card" id="kpi-target"><div class="k">P(company target)</div>
  <div class="v">{{ s.prob_company_target|pct }}</div>
  <div class="r">{% if s.company_target %}target {{ s.company_target|money }}{% else %}no target set{% endif %}</div></div>
 <div class="card" id="kpi-incentive"><div class="k">Incentive cost (P50)</div>
  <div class="v">{{ s.incentive_cost.p50|money }}</div>
  <div class="r">80 % range {{ s.incentive_cost.p10|money }} – {{ s.incentive_cost.p90|money }}
  {% if s.incentive_cost_by_plan and s.incentive_cost_by_plan|length > 1 %}<br>{% for k, v in s.incentive_cost_by_plan.items() %}{{ k }} {{ v.p50|money }}{{ " · " if not loop.last }}{% endfor %}{% endif %}</div></div>
 <div class="card" id="kpi-cos"><div class="k">Cost of sales (P50)</div>
  <div class="v">{{ s.cost_of_sales.p50|pct(1) }}</div>
  <div class="r">{% if s.get("support_cost") and s.support_cost.p50 %}(incentive + {{ s.support_cost.p50|money }} managers/SEs for hires) ÷ revenue{% else %}incentive ÷ revenue{% endif %}</div></div>
 <div class="card" id="kpi-at-quota"><div class="k">Reps at quota (P50)</div>
  <div class="v">{{ s.share_reps_at_quota.p50|pct }}</div>
  <div class="r">of {{ s.get("n_reps_with_quota", s.n_reps) }} reps with a quota</div></div>
</div>
<p>{{ narrative }}</p>
</div>""")

_TABLE = _ENV.from_string("""<div class="spm">{% if caption %}<h3>{{ caption }}</h3>{% endif %}
<table><thead><tr>{% for c in columns %}<th{% if loop.first or c in left %} class="l"{% endif %}>{{ c }}</th>{% endfor %}</tr></thead>
<tbody>{% for row in rows %}<tr>{% for v in row %}<td{% if loop.first or columns[loop.index0] in left %} class="l"{% endif %}>{{ v }}</td>{% endfor %}</tr>{% endfor %}</tbody></table>
{% if note %}<div class="sub">{{ note }}</div>{% endif %}</div>""")

_BANNER = _ENV.from_string('<div class="spm"><div class="banner {{ kind }}">{{ text }}</div></div>')

_FOOTER = _ENV.from_string("""<div class="spm"><footer id="provenance">
Provenance — spm-workbench {{ p.package_version }} · scenario hash {{ p.scenario_hash }} ·
data hash {{ p.data_hash }} · seed {{ p.seed }}{% if source %} · data {{ source }}{% endif %}.
Same scenario, data and seed reproduce these figures exactly.</footer></div>""")


def figure(fig: Any) -> Image:
    """A matplotlib figure as an inline PNG (embedded base64 by nbconvert)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return Image(data=buf.getvalue(), format="png")


def header(summary: dict[str, Any], approval: Any, description: str | None = None) -> HTML:
    """Title, scope line and the approval banner."""
    appr = approval.to_dict() if hasattr(approval, "to_dict") else dict(approval)
    hz = summary.get("horizon", {})
    return HTML(_HEADER.render(style=STYLE, title=summary.get("title") or summary["scenario"],
                               name=summary["scenario"], start=hz.get("start"),
                               months=hz.get("months"), n_reps=summary.get("n_reps"),
                               n_draws=summary.get("n_draws"), description=description,
                               approval=appr))


def narrative(s: dict[str, Any]) -> str:
    """One plain-language paragraph of the headline figures."""
    rev, cost = s["revenue"], s["incentive_cost"]
    text = (f"We expect plan-year bookings of {money(rev['p50'])}, with an 80 % chance of landing "
            f"between {money(rev['p10'])} and {money(rev['p90'])}. ")
    if s.get("prob_company_target") is not None:
        text += (f"The probability of reaching the company target of "
                 f"{money(s['company_target'])} is {s['prob_company_target']:.0%}. ")
    sup = (s.get("support_cost") or {}).get("p50") or 0.0
    text += (f"Incentive pay is expected to cost {money(cost['p50'])} "
             f"({money(cost['p10'])}–{money(cost['p90'])})"
             + (f" and the managers and SEs the hires need {money(sup)}" if sup > 0 else "")
             + f", a cost of sales of {s['cost_of_sales']['p50']:.1%}; about "
             f"{s['share_reps_at_quota']['p50']:.0%} of reps are expected to reach quota.")
    if s.get("prob_cost_over_budget") is not None:
        text += (f" The chance that incentive cost exceeds the budget of {money(s['budget'])} is "
                 f"{s['prob_cost_over_budget']:.0%}.")
    return text


def executive_summary(summary: dict[str, Any]) -> HTML:
    """The headline figures as cards plus a narrative paragraph, after a warning banner when
    loading the data raised warnings (``summary["data_warnings"]``: repeated booking rows,
    files not used; :func:`spm_models.data.data_warnings`) -- a doubled export doubles every
    figure below it."""
    html = _SUMMARY.render(s=summary, narrative=narrative(summary))
    warnings = summary.get("data_warnings") or []
    if warnings:
        html = _BANNER.render(text="Check the data before reading on: " + " · ".join(warnings),
                              kind="warn") + html
    return HTML(html)


def table(df: pd.DataFrame, caption: str | None = None, note: str | None = None,
          left: tuple[str, ...] = ()) -> HTML:
    """An escaped HTML table of ``df`` (values already formatted as text)."""
    return HTML(_TABLE.render(columns=[str(c) for c in df.columns],
                              rows=df.astype(str).values.tolist(), caption=caption, note=note,
                              left=left))


def banner(text: str, kind: str = "warn") -> HTML:
    """A coloured banner (``warn``, ``approved``, ``draft``, ``changed``)."""
    return HTML(_BANNER.render(text=text, kind=kind))


def leaderboard_frame(cube: Any, reps: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """Per-rep attainment to date (actual) and projected (forecast), sorted by projection.

    Attainment to date uses actual bookings in plan months already in the data; when the data
    ends before the plan year, it is last year's actual attainment (the 12 months before it).
    """
    from spm_models.cube import cube_view, tree_group

    history = tree_group(cube, "history") if isinstance(cube, xr.DataTree) else None
    cube = cube_view(cube)
    plan_periods = [str(p) for p in cube["period"].values]
    annual_q = cube["quota"].sum("period").values
    hist_periods = [str(p) for p in history["period"].values] if history is not None else []
    ytd = [p for p in plan_periods if p in hist_periods]
    if ytd:
        assert history is not None
        done = history["bookings"].sel(period=ytd).sum("period").values
        to_date = done / np.where(annual_q > 0, annual_q, np.nan)
        label = f"attainment to date ({ytd[0]}–{ytd[-1]})"
    elif history is not None and hist_periods:
        last = [p for p in hist_periods if p < plan_periods[0]][-12:]
        hb = history["bookings"].sel(period=last).sum("period").values
        hq = history["quota"].sel(period=last).sum("period", min_count=1).values
        with np.errstate(divide="ignore", invalid="ignore"):
            to_date = hb / np.where(hq > 0, hq, np.nan)
        label = f"last year attainment ({last[0]}–{last[-1]}, actual)" if last else "attainment to date"
    else:
        to_date = np.full(len(annual_q), np.nan)
        label = "attainment to date"
    from spm_models import figures

    att = figures.attainment(cube["bookings"], cube["quota"]).transpose("rep", "draw").values
    pay = cube["payout"].sum("period").transpose("rep", "draw").values
    ok = np.isfinite(att).any(axis=1)
    proj = np.full(len(annual_q), np.nan)
    p_quota = np.full(len(annual_q), np.nan)
    proj[ok] = np.nanmedian(att[ok], axis=1)
    p_quota[ok] = np.mean(att[ok] >= 1.0 - figures.AT_QUOTA_TOL, axis=1)
    hire = (np.asarray(cube["is_hire"].values).astype(bool) if "is_hire" in cube.coords
            else np.zeros(len(annual_q), bool))
    df = pd.DataFrame({
        "rep": [str(r) for r in cube["rep"].values],
        "is_hire": hire,
        "region": [str(r) for r in cube["region"].values] if "region" in cube.coords else "",
        "territory": [str(r) for r in cube["territory_id"].values] if "territory_id" in cube.coords else "",
        "to_date": to_date,
        "projected_p50": proj,
        "p_quota": p_quota,
        "payout_p50": np.median(pay, axis=1),
    })
    if reps is not None and "name" in reps.columns:
        names = reps.assign(rep_id=reps["rep_id"].astype(str)).set_index("rep_id")["name"]
        df.insert(1, "name", df["rep"].map(names).fillna("").astype(str))
    return df.sort_values("projected_p50", ascending=False, kind="stable"), label


#: projected attainments (P50) of all ranked reps within this many points of each other: the
#: leaderboard says that its order is mostly noise
FLAT_SPREAD = 0.10


def leaderboard(cube: Any, reps: pd.DataFrame | None = None, n: int = 10) -> HTML:
    """Top and bottom ``n`` of today's reps by projected attainment, formatted for executives.
    Planned hires (``is_hire``: a simulated seat, not a person) and reps without a quota (no
    attainment) are not ranked; the note counts them, and says so when all ranked reps'
    projected attainments lie within :data:`FLAT_SPREAD` of each other. ``reps`` (optional) adds
    names."""
    full, label = leaderboard_frame(cube, reps)
    ranked = ~full["is_hire"] & np.isfinite(full["projected_p50"].to_numpy(dtype=float))
    df = full[ranked]
    n_hires = int(full["is_hire"].sum())
    n_noquota = int((~full["is_hire"] & ~ranked).sum())
    left_out = [f"{n_hires} planned hire{'s' if n_hires != 1 else ''}"] if n_hires else []
    left_out += [f"{n_noquota} rep{'s' if n_noquota != 1 else ''} without a quota"] if n_noquota else []
    note = (f"{len(df)} of today's reps ranked"
            + (f"; not ranked: {' and '.join(left_out)}" if left_out else "")
            + ". The full table is in cube.zarr.")
    proj = df["projected_p50"].to_numpy(dtype=float)
    if len(df) > 1 and proj.max() - proj.min() < FLAT_SPREAD:  # a ranking of noise: say so
        pq = df["p_quota"].to_numpy(dtype=float)
        note += (f" Projected attainments lie within {_pct(proj.min())}-{_pct(proj.max())} and P(reach "
                 f"quota) within {_pct(np.nanmin(pq))}-{_pct(np.nanmax(pq))}: the reps' prospects barely "
                 "differ (what equal-chance quotas aim for), so the order says little.")

    def fmt(part: pd.DataFrame) -> pd.DataFrame:
        out = pd.DataFrame({"Rep": part["rep"]})
        if "name" in part:
            out["Name"] = part["name"]
        out["Region"] = part["region"]
        out["Territory"] = part["territory"]
        out[label[:1].upper() + label[1:]] = [_pct(v) for v in part["to_date"]]
        out["Projected attainment (P50)"] = [_pct(v) for v in part["projected_p50"]]
        out["P(reach quota)"] = [_pct(v) for v in part["p_quota"]]
        out["Payout (P50)"] = [money(v) for v in part["payout_p50"]]
        return out

    left = ("Name", "Region", "Territory")
    n_bottom = min(n, max(len(df) - n, 0))  # no rep in both tables
    top = _TABLE.render(columns=list(fmt(df.head(n)).columns), rows=fmt(df.head(n)).values.tolist(),
                        caption=f"Top {min(n, len(df))} of today's reps by projected attainment",
                        note=None if n_bottom else note, left=left)
    bottom = "" if n_bottom == 0 else _TABLE.render(
        columns=list(fmt(df.tail(n_bottom)).columns), rows=fmt(df.tail(n_bottom)).values.tolist(),
        caption=f"Bottom {n_bottom} reps (coaching focus)", note=note, left=left)
    return HTML(top + bottom)


def _pct(v: float | None) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:.0%}"


_DIAG_KEYS = {
    "rhat": ("r_hat_max", "rhat_max", "max_rhat", "rhat"),
    "ess": ("ess_bulk_min", "min_ess_bulk", "ess_min", "ess_bulk"),
    "div": ("divergences", "n_divergences", "divergent"),
}


def _find(diag: dict[str, Any], keys: tuple[str, ...]) -> Any:
    for k in keys:
        if k in diag and isinstance(diag[k], (int, float)):
            return diag[k]
    return None


def convergence_problems(diag: dict[str, Any]) -> list[str]:
    """Human-readable convergence failures found in a diagnostics record."""
    problems: list[str] = []
    failed = diag.get("ok") is False or diag.get("converged") is False
    rhat = _find(diag, _DIAG_KEYS["rhat"])
    if rhat is not None and rhat > 1.01:
        problems.append(f"max R-hat {rhat:.3f} > 1.01")
    ess = _find(diag, _DIAG_KEYS["ess"])
    if ess is not None and ess < 400:
        problems.append(f"min bulk ESS {ess:.0f} < 400")
    div = _find(diag, _DIAG_KEYS["div"])
    if div is not None and div > 0:
        problems.append(f"{int(div)} divergent transitions")
    if failed:
        messages = [str(m) for m in diag.get("messages") or []]
        problems = messages or problems or ["the sampler reports that the fit did not converge"]
    return problems


def diagnostics(diag: dict[str, Any]) -> HTML:
    """Model diagnostics table, with a warning banner when convergence failed."""
    problems = convergence_problems(diag)
    parts = []
    if problems:
        parts.append(_BANNER.render(kind="warn", text="Forecast model warning: "
                                    + "; ".join(problems)
                                    + ". Treat the ranges in this report with caution."))
    elif diag:
        notes = [str(m) for m in diag.get("messages") or []]
        parts.append(_BANNER.render(kind="approved", text="Forecast model diagnostics passed"
                                    + (" — " + "; ".join(notes) if notes else ".")))
    labels = {"method": "fit method", "rhat_max": "max R-hat (≤ 1.01)",
              "ess_bulk_min": "min bulk ESS, hyper-parameters (≥ 400)",
              "ess_tail_min": "min tail ESS, hyper-parameters",
              "ess_bulk_min_all": "min bulk ESS, all parameters",
              "divergences": "divergent transitions (0)", "n_samples": "posterior samples",
              "chains": "chains", "ok": "all checks passed",
              "holdout_crps": "holdout scaled CRPS, model used", "holdout_coverage_80": "holdout 80 % coverage",
              "holdout_coverage_95": "holdout 95 % coverage", "model": "model used (weights)",
              "model_reason": "why this model"}
    rows = [(labels.get(k, k), _fmt_value(v)) for k, v in sorted(diag.items())
            if not isinstance(v, (dict, list)) and v is not None]
    if rows:
        parts.append(_TABLE.render(columns=["diagnostic", "value"], rows=rows, caption=None,
                                   note=None, left=()))
    else:
        parts.append(_BANNER.render(kind="draft", text="No sampler diagnostics were recorded."))
    return HTML("".join(parts))


#: what each part of a candidate's name means (the model-choice table's legend)
_NAME_PARTS = {
    "deals": "deals = deal counts x deal sizes",
    "dlm": "dlm = dynamic linear model per rep",
    "ssoe": "ssoe = the same in exponential smoothing's single-source-of-error form",
    "none": "none = on amounts",
    "log": "log = on log amounts (multiplicative)",
    "rep": "rep = each rep on the scale its data favour",
    "drift": "drift = each rep's trend a constant slope (or none) and its seasonal pattern fixed, instead of a trend and a season that move",
}


def _name_legend(names: list[str]) -> str:
    """The legend of the name parts that occur in ``names`` (e.g. ``ssoe:log:drift``)."""
    parts = {p for n in names for p in str(n).split(":")}
    return "; ".join(text for key, text in _NAME_PARTS.items() if key in parts)


def model_choice(diag: dict[str, Any]) -> HTML:
    """Which model ``model: auto`` used and why: each candidate's stacking weight, holdout
    scaled CRPS and 80 % / 95 % interval coverage on the last training months (rolling
    origin, ``diagnostics["model_selection"]``), and the same for the model used."""
    sel = diag.get("model_selection") or {}
    crps = sel.get("validation_crps") or {}
    if not crps:
        why = sel.get("reason") or "no model-selection record in this fit"
        return HTML(_BANNER.render(kind="draft", text=f"Model used: {diag.get('model', '–')}. {why}."))
    c80, c95, w = (sel.get("validation_coverage_80") or {}, sel.get("validation_coverage_95") or {},
                   sel.get("weights") or {})
    rows = [(k, f"{w.get(k, 0.0):.1f}", f"{v:.3f}", _pct(c80.get(k)), _pct(c95.get(k))) for k, v in crps.items()]
    rows.append(("model used", diag.get("model", "–"), f"{sel.get('validation_crps_chosen', float('nan')):.3f}",
                 _pct(sel.get("validation_coverage_80_chosen")), _pct(sel.get("validation_coverage_95_chosen"))))
    lo, hi = (sel.get("validation_periods") or ["?", "?"])[:2]
    n_orig = int(sel.get("validation_origins", 1))
    where = (f"fitted on the training data before {lo} and forecast {lo}..{hi}" if n_orig == 1 else
             f"fitted and forecast at {n_orig} rolling origins, each window on the months before it, "
             f"together {lo}..{hi}")
    note = (f"Each candidate was {where} "
            f"({sel.get('validation_rep_months', '?')} rep-months); lower CRPS is better, well-calibrated "
            f"intervals cover about 80 % and 95 %. Holdout fits: {sel.get('validation_fit', '–')}. "
            f"Why: {sel.get('reason', '')}. Names: {_name_legend(list(crps))}.")
    return HTML(_TABLE.render(columns=["model", "weight", "holdout scaled CRPS", "80 % coverage",
                                       "95 % coverage"], rows=rows,
                              caption="Model choice: out-of-sample evidence", note=note, left=()))


def _fmt_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.4g}"
    return str(v)


def footer(summary: dict[str, Any], source: str | None = None) -> HTML:
    """The provenance footer."""
    from spm_models.masking import mask_url

    return HTML(_FOOTER.render(p=summary["provenance"],
                               source=mask_url(source) if source else source))


_FAIR_LABELS = {
    "p_reach_mean": ("Mean P(reach quota)", "pct"),
    "p_reach_sd": ("Spread of P(reach quota) across reps (SD)", "pct"),
    "p_reach_min": ("Lowest rep's P(reach quota)", "pct"),
    "p_reach_max": ("Highest rep's P(reach quota)", "pct"),
    "expected_share_at_quota": ("Expected share of today's reps at quota", "pct"),
    "quota_to_median_mean": ("Quota ÷ forecast median (mean)", "ratio"),
    "gini_quota_to_potential": ("Gini of quota ÷ potential", "ratio"),
}

#: what the fairness figures measure (``workflow.summary.quota_fairness``; docs/reports.md)
FAIRNESS_BASIS = ("on the forecast the quotas were set on: today's reps for the whole year, "
                  "before attrition, hires, territory moves and plan response")


def fairness_table(summary: dict[str, Any]) -> HTML:
    """The quota-fairness figures as a two-column table, saying what they measure (the
    quota-setting forecast, :data:`FAIRNESS_BASIS`) and giving the scenario's own share of
    reps at quota beside them (``summary["share_reps_at_quota"]``, the executive summary's)."""
    figs = summary.get("quota_fairness") or {}
    rows = []
    for key, (label, kind) in _FAIR_LABELS.items():
        v = figs.get(key)
        if v is None:
            continue
        rows.append((label, _pct(v) if kind == "pct" else f"{v:.2f}"))
    method = summary.get("quota_method") or "–"
    note = (f"Quota method: {method}. These figures are measured {FAIRNESS_BASIS}: whether the "
            "quotas themselves give every rep the same chance (an equal-probability set does so "
            "by construction; a spread shows where it could not).")
    world = (summary.get("share_reps_at_quota") or {}).get("p50")
    if world is not None:
        rows.append((("Share of reps at quota in the scenario (P50; after attrition, hires, "
                     "territory moves and response)"), _pct(world)))
        note += (" The last row is the scenario's own figure, as in the executive summary and "
                 "the leaderboard: leavers book nothing after they leave, hires ramp up and "
                 "territories move, so it can differ.")
    return HTML(_TABLE.render(columns=["Quota fairness (quota-setting forecast)", "value"],
                              rows=rows, caption=None, note=note, left=()))


def territory_section(tables: dict[str, pd.DataFrame]) -> Any:
    """Territory map plus potential/workload balance per territory (or a note without data)."""
    from IPython.display import display

    from spm_models.plots.report import territory_map

    acc = tables.get("accounts")
    fig = territory_map(acc) if acc is not None else None
    if fig is None or acc is None:
        return banner("No account locations in the data: territory map not available.", "draft")
    display(figure(fig))
    agg = {"accounts": ("account_id", "count"), "potential": ("potential", "sum")}
    if "workload" in acc:
        agg["workload"] = ("workload", "sum")
    per = acc.groupby(acc["territory_id"].astype(str)).agg(**agg)
    rows = [("Territories", f"{len(per)}"),
            ("Accounts per territory (min–max)", f"{per['accounts'].min()}–{per['accounts'].max()}"),
            ("Potential: coefficient of variation", f"{per['potential'].std() / per['potential'].mean():.1%}"),
            ("Potential: max ÷ min", f"{per['potential'].max() / max(per['potential'].min(), 1e-9):.2f}")]
    if "workload" in per:
        rows.append(("Workload: coefficient of variation",
                     f"{per['workload'].std() / per['workload'].mean():.1%}"))
    return HTML(_TABLE.render(columns=["Territory balance", "value"], rows=rows, caption=None,
                              note=None, left=()))


#: rows of the before/after territory table: summary key, label, format
_TERR_ROWS = (
    ("cv_potential", "Potential: coefficient of variation", "pct1"),
    ("max_min_potential", "Potential: largest ÷ smallest territory", "ratio"),
    ("cv_workload", "Workload: coefficient of variation", "pct1"),
    ("max_min_workload", "Workload: largest ÷ smallest territory", "ratio"),
    ("mean_distance_km", "Mean distance account → territory centre", "km"),
    ("median_p90_radius_km", "Territory radius (90 % of accounts), median", "km"),
    ("max_p90_radius_km", "Territory radius (90 % of accounts), largest", "km"),
)


def _terr_fmt(v: Any, kind: str) -> str:
    if v is None:
        return "n/a"
    if kind == "pct1":
        return f"{float(v):.1%}"
    if kind == "km":
        return f"{float(v):,.0f} km"
    return f"{float(v):.2f}"


def territory_table(summary: dict[str, Any]) -> HTML:
    """Before/after balance and compactness of the territory alignment (``summary["territory"]``)."""
    t = summary["territory"]
    rows = [(label, _terr_fmt(t["before"].get(key), kind), _terr_fmt(t["after"].get(key), kind))
            for key, label, kind in _TERR_ROWS if key in t["before"] or key in t["after"]]
    limit = t.get("max_moved_share")
    moved = f"{t['accounts_moved']:,} of {t['n_accounts']:,} ({t['share_moved']:.1%})"
    rows.append(("Accounts moved", "–", moved))
    note = (f"{t['n_territories']} territories. Balanced with HiGHS (spm_models.planning.territory) "
            + (f"moving at most {limit:.0%} of accounts." if limit is not None else "without a move limit."))
    out, tol = t.get("territories_outside_potential_band"), t.get("potential_tol")
    if out is not None and tol is not None:
        band = f"±{float(tol):.0%}" if round(float(tol) * 100, 6) == round(float(tol) * 100) else f"±{float(tol):.1%}"
        rows.append((f"Territories outside {band} of the mean potential", "–", f"{out} of {t['n_territories']}"))
        if out:
            note += (f" The {band} band asked for is met where the move limit and distances allow: "
                     f"{out} territories stay outside it.")
    return HTML(_TABLE.render(columns=["Territory balance", "current", "balanced"], rows=rows,
                              caption=None, note=note, left=()))


def territory_plan(cube: Any, summary: dict[str, Any], tables: dict[str, pd.DataFrame]) -> Any:
    """Before/after territory maps and metrics when the scenario balanced territories (cube
    variables along ``account``, ``summary["territory"]``); else the current alignment
    (:func:`territory_section`)."""
    from IPython.display import display

    from spm_models.plots.report import territory_before_after

    fig = territory_before_after(cube) if summary.get("territory") else None
    if fig is None:
        return territory_section(tables)
    display(figure(fig))
    return territory_table(summary)
