"""The what-if panel: pay curve of the selected plan, settings passed, cached recomputes.

Uses the synthetic cube of ``test_report_widgets`` (20 AEs with an annual quota of 240,000,
an SE overlay; plans ``ae.yaml``: 10 % flat; ``ae_accel.yaml``: 10 % to 100 %, 30 % above,
capped at 200 %).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from test_report_widgets import result  # noqa: F401 - the fixture

from spm_models.widgets.charts import curve_svg

ROOT_PLANS = Path(__file__).resolve().parents[1] / "scenarios" / "plans"


def _series(html: str) -> dict[str, list[tuple[float, float]]]:
    out = {}
    for label, pts in re.findall(r"<polyline data-series='([^']*)' points='([^']*)'", html):
        out[label] = [tuple(map(float, p.split(","))) for p in pts.split()]
    return out


def test_switching_plan_changes_the_plotted_curve(result):  # noqa: F811
    from spm_models.widgets import WhatIfPanel

    panel = WhatIfPanel(result)
    before = _series(panel.curve.value)
    assert list(before) == ["t"]  # the scenario's plan alone (no reference while unchanged)
    panel.plan.value = "ae_accel.yaml"
    after = _series(panel.curve.value)
    assert set(after) == {"t", "t (scenario)"}
    assert after["t"] != before["t"]
    # the plotted lines are the engine's pay curves for a rep with the typical quota, 240,000:
    # flat 10 % → 0.1 × 3.0 × 240,000 = 72,000 at 300 %; accelerated, capped at 200 %
    # → (0.1 × 1 + 0.3 × 1) × 240,000 = 96,000
    curve = panel.model.pay_curve(plan="ae_accel.yaml")
    assert curve["quota"] == pytest.approx(240_000.0)
    att = curve["total"]["attainment"].values
    np.testing.assert_allclose(curve["total"].values,
                               240_000 * (0.1 * np.minimum(att, 1) + 0.3 * np.clip(att - 1, 0, 1)),
                               rtol=1e-9, atol=1e-6)
    bottom = max(y for _, y in after["t"])  # pixel row of earnings 0
    height = (bottom - after["t"][-1][1]) / (bottom - after["t (scenario)"][-1][1])
    assert height == pytest.approx(96_000 / 72_000, rel=0.01)
    # the curve updates with the plan's settings too; the hires control leaves it alone
    panel.cap.value = 1.5
    capped = _series(panel.curve.value)["t (what-if)"]
    assert capped != after["t"]
    html = panel.curve.value
    panel.uplift.value = 0.2
    assert panel.curve.value == html
    panel.plan.value = "ae.yaml"
    panel._on_reset()
    assert _series(panel.curve.value) == before


def test_modifier_is_drawn_as_a_family_of_curves(result):  # noqa: F811
    from spm_models.widgets import WhatIf, pay_curve_html

    plans = result.scenario.path.parent / "plans"
    shutil.copy(ROOT_PLANS / "ae_gross_margin_gate.yaml", plans / "gm.yaml")
    wi = WhatIf(result)
    curve = wi.pay_curve(plan="gm.yaml")
    (fam,) = curve["families"]
    assert fam.attrs["modifier"] == "gross_margin"
    levels = list(fam["modifier_attainment"].values)
    closed = fam.sel(modifier_attainment=[lv for lv in levels if lv < 0.8]).values
    open_ = fam.sel(modifier_attainment=[lv for lv in levels if lv >= 0.8]).values
    assert closed.size and np.all(closed == 0)  # the gate: nothing below 80 % margin
    assert np.all(open_[:, -1] > 0)
    html = pay_curve_html(curve, wi.pay_curve())
    assert len(_series(html)) == 2 + len(levels)  # plan, scenario's plan, one line per level


def test_panel_passes_only_moved_controls(result):  # noqa: F811
    from spm_models.widgets import WhatIfPanel

    panel = WhatIfPanel(result)
    assert panel.settings() == {"quota_uplift": 0.0, "accelerator": None, "cap": None,
                                "threshold": None, "hires": None, "plan": None}
    panel.threshold.value = 0.5
    assert panel.settings()["threshold"] == 0.5 and panel.settings()["cap"] is None
    assert panel.last_seconds > 0
    assert "updated in" in panel.status.value
    want = panel.model.compute(threshold=0.5).figures
    assert f"{want['share_reps_at_quota']['p50']:.0%}" in panel.figures.value


def test_cached_recomputes_equal_fresh_ones(result):  # noqa: F811
    """Every setting through one model (caches warm, in any order) equals a fresh model."""
    from spm_models.widgets import WhatIf

    settings = [{}, {"quota_uplift": 0.2}, {"plan": "ae_accel.yaml"},
                {"plan": "ae_accel.yaml", "quota_uplift": 0.2}, {"cap": 1.2},
                {"plan": "ae_accel.yaml", "accelerator": 0.5, "threshold": 0.3}, {"quota_uplift": 0.2}, {}]
    wi = WhatIf(result)
    seen = [wi.compute(**s) for s in settings]
    for s, got in zip(settings, seen, strict=True):
        fresh = WhatIf(result).compute(**s)
        assert got.figures == fresh.figures, s
        np.testing.assert_array_equal(got.cost_draws, fresh.cost_draws)
    assert seen[1].figures != seen[0].figures and seen[2].figures != seen[3].figures


def test_curve_svg_draws_steps_flat_until_the_next_point():
    html = curve_svg(np.array([0.0, 1.0, 2.0]), [("s", np.array([0.0, 1.0, 2.0]), "#000", False)],
                     "t", str, step=True)
    pts = _series(html)["s"]
    assert len(pts) == 5 and pts[1][1] == pts[0][1] and pts[2][0] == pts[1][0]


def test_accelerator_slider_follows_the_selected_plan(result):  # noqa: F811
    """The scenario's plan (flat 10 %) has no accelerator: the slider is disabled; switching
    to ae_accel.yaml (30 % above 100 %) enables it at that rate, and moving it then changes
    the figures; an untouched slider is disabled again on a plan without an accelerator, a
    moved one is kept (with the warning that it changes nothing); reset disables it."""
    from spm_models.widgets import WhatIfPanel
    from spm_models.widgets.charts import fmt_money

    panel = WhatIfPanel(result)
    assert panel.accel.disabled
    panel.plan.value = "ae_accel.yaml"
    assert not panel.accel.disabled
    assert panel.accel.value == pytest.approx(0.3) and panel.accel.max >= 0.3
    assert panel.settings()["accelerator"] is None  # untouched: the plan as written
    panel.plan.value = "ae.yaml"
    assert panel.accel.disabled and panel.settings()["accelerator"] is None
    panel.plan.value = "ae_accel.yaml"
    assert not panel.accel.disabled
    before = panel.figures.value
    panel.accel.value = 0.6
    assert panel.settings()["accelerator"] == pytest.approx(0.6)
    want = panel.model.compute(plan="ae_accel.yaml", accelerator=0.6).figures
    cost = f"<span class='spm-incentive-cost'>{fmt_money(want['incentive_cost']['p50'])}</span>"
    assert cost in panel.figures.value and panel.figures.value != before
    assert "changes nothing" not in panel.status.value
    panel.plan.value = "ae.yaml"  # moved: kept, and the status says it changes nothing
    assert not panel.accel.disabled and panel.settings()["accelerator"] == pytest.approx(0.6)
    assert "changes nothing" in panel.status.value
    panel._on_reset()
    assert panel.accel.disabled and panel.plan.value == "ae.yaml"
    assert panel.settings() == {"quota_uplift": 0.0, "accelerator": None, "cap": None,
                                "threshold": None, "hires": None, "plan": None}
