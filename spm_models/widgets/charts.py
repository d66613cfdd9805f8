"""The what-if panel's charts as plain HTML/SVG (no plotting library: each renders in about a
millisecond, so a control's recompute is not spent drawing).

* :func:`figures_html` — incentive-cost distribution over draws (scenario as grey outline) and
  per-rep median attainment, as CSS histograms;
* :func:`pay_curve_html` — the selected plan's pay curve (plan-year earnings against
  attainment, from :meth:`spm_models.widgets.WhatIf.pay_curve`, i.e. through the comp engine)
  with the scenario's plan as a grey reference, and each modifier as a family of curves (one
  line per attainment of the modifier measure), as inline SVG.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: colours of a family of curves (viridis at 5 stops, dark to light)
FAMILY = ("#440154", "#3b528b", "#21918c", "#5ec962", "#c8a800")


def fmt_money(v: float) -> str:
    from spm_models.plots.report import money

    return money(v)


def _bars(values: np.ndarray, bins: np.ndarray, color: str, marks: dict[str, tuple[float, str]],
          fmt: Any, title: str, ref: np.ndarray | None = None) -> str:
    """An HTML/CSS histogram."""
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


def figures_html(res: Any, base: Any | None = None) -> str:
    """Incentive-cost distribution (scenario as grey outline) and per-rep attainment, as HTML
    (``res``, ``base``: :class:`~spm_models.widgets.WhatIfFigures`)."""
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
                 {"P50": (res.incentive_cost["p50"], BLUE)}, fmt_money,
                 "Total incentive cost (grey: scenario as written)",
                 np.clip(ref, lo, hi) if ref is not None else None)
    right = _bars(np.clip(att, 0, 3), att_bins, LIGHT, {"quota": (1.0, ORANGE)},
                  lambda v: f"{v:.0%}", "Projected attainment per rep (P50)")
    return f"<div style='display:flex;gap:24px;flex-wrap:wrap;margin-top:8px'>{left}{right}</div>"


def _steps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A step function drawn flat until the next point (matplotlib's ``steps-post``)."""
    xs = np.repeat(x, 2)[1:]
    ys = np.repeat(y, 2)[:-1]
    return xs, ys


def curve_svg(x: np.ndarray, series: Sequence[tuple[str, np.ndarray, str, bool]], title: str,
              fmt_y: Callable[[float], str], step: bool | Sequence[bool] = False, width: int = 380,
              height: int = 150) -> str:
    """Line chart as inline SVG: ``series`` of ``(label, y, colour, dashed)`` over ``x``
    (attainment, drawn in %), a dashed line at 100 %, the legend below. ``step``: draw a
    series as a step function (one flag for all, or one per series). Each line is a
    ``<polyline data-series=label>``."""
    ml, mr, mt, mb = 52, 16, 6, 18
    steps = [step] * len(series) if isinstance(step, bool) else list(step)
    pw, ph = width - ml - mr, height - mt - mb
    x = np.asarray(x, dtype=float)
    ys = [np.nan_to_num(np.asarray(y, dtype=float)) for _, y, _, _ in series]
    top = max((float(np.max(y)) for y in ys), default=0.0)
    top = top * 1.05 if top > 0 else 1.0
    x0, x1 = float(x[0]), float(x[-1]) if x[-1] > x[0] else float(x[0]) + 1.0

    def px(v: Any) -> Any:
        return ml + (v - x0) / (x1 - x0) * pw

    def py(v: Any) -> Any:
        return mt + ph - np.clip(v, 0.0, top) / top * ph

    lines = []
    for (label, _, color, dashed), y, st in zip(series, ys, steps, strict=True):
        xx, yy = _steps(x, y) if st else (x, y)
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(xx), py(yy), strict=True))
        dash = " stroke-dasharray='4 3'" if dashed else ""
        lines.append(f"<polyline data-series='{html.escape(label)}' points='{pts}' fill='none' "
                     f"stroke='{color}' stroke-width='1.8'{dash}/>")
    ticks = []
    for a in np.arange(0.0, x1 + 1e-9, 0.5):
        ticks.append(f"<text x='{px(a):.1f}' y='{height - 4}' font-size='9' text-anchor='middle' "
                     f"fill='#555'>{a:.0%}</text>")
    for v in (0.0, top / 2, top / 1.05):
        ticks.append(f"<text x='{ml - 4}' y='{py(v) + 3:.1f}' font-size='9' text-anchor='end' "
                     f"fill='#555'>{html.escape(fmt_y(v))}</text>")
    frame = (f"<line x1='{ml}' y1='{mt + ph}' x2='{ml + pw}' y2='{mt + ph}' stroke='#999'/>"
             f"<line x1='{ml}' y1='{mt}' x2='{ml}' y2='{mt + ph}' stroke='#999'/>")
    if x0 <= 1.0 <= x1:
        frame += (f"<line x1='{px(1.0):.1f}' y1='{mt}' x2='{px(1.0):.1f}' y2='{mt + ph}' "
                  "stroke='#7f7f7f' stroke-dasharray='3 3'/>")
    legend = " · ".join(
        f"<span style='color:{c}'>{'┅' if d else '━'}</span> {html.escape(lab)}"
        for lab, _, c, d in series)
    return (f"<div style='flex:1 1 380px;min-width:300px'><div style='font-weight:600;"
            f"font-size:0.9em'>{html.escape(title)}</div>"
            f"<svg viewBox='0 0 {width} {height}' width='100%' style='max-width:{width * 1.4:.0f}px'"
            f" xmlns='http://www.w3.org/2000/svg'>{frame}{''.join(ticks)}{''.join(lines)}</svg>"
            f"<div style='font-size:0.75em;color:#555'>{legend}</div></div>")


def pay_curve_html(curve: dict[str, Any], reference: dict[str, Any] | None = None) -> str:
    """The pay curve of :meth:`~spm_models.widgets.WhatIf.pay_curve` (and the scenario's as
    a grey dashed ``reference``), plus one family chart per measure with a modifier."""
    from spm_models.plots.report import BLUE, GREY

    total = curve["total"]
    plan = curve["plan"]
    money = fmt_money
    label = plan.name + (" (what-if)" if str(plan.source).endswith("(what-if)") else "")
    series = [(label, total.values, BLUE, False)]
    steps = [bool(curve["step"])]
    if reference is not None and not np.array_equal(reference["total"].values, total.values):
        series.insert(0, (f"{reference['plan'].name} (scenario)", reference["total"].values, GREY, True))
        steps.insert(0, bool(reference["step"]))
    charts = [curve_svg(total["attainment"].values, series,
                        f"Pay curve: plan-year earnings, quota {money(curve['quota'])}", money,
                        step=steps)]
    for fam in curve["families"]:
        levels = fam["modifier_attainment"].values
        colors = [FAMILY[round(i * (len(FAMILY) - 1) / max(len(levels) - 1, 1))]
                  for i in range(len(levels))]
        fs = [(f"{fam.attrs['modifier']} at {float(lv):.0%}", fam.values[i], colors[i], False)
              for i, lv in enumerate(levels)]
        charts.append(curve_svg(fam["attainment"].values, fs,
                                f"{fam.attrs['measure']} by {fam.attrs['modifier']} attainment", money))
    return (f"<div class='spm-whatif-paycurve' data-plan='{html.escape(plan.name)}' "
            f"style='display:flex;gap:24px;flex-wrap:wrap;margin-top:8px'>{''.join(charts)}</div>")
