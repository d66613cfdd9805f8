"""The report's plan section: plans table with cost per role and pay-curve figures."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spm_models.comp import Plan
from spm_models.reporting import plan_section

PLANS = Path(__file__).resolve().parents[1] / "scenarios" / "plans"


def _plans(**files: str) -> dict[str, Plan]:
    return {role: Plan.from_yaml(PLANS / f) for role, f in files.items()}


def test_plan_frame_lists_roles_crediting_elements_and_cost():
    plans = _plans(AE="ae_gross_margin_gate.yaml", SE="mbo_step_bonus.yaml",
                   Manager="manager_rollup.yaml", AE_new_hire="ae_monthly_advance.yaml")
    summary = {"incentive_cost_by_plan": {"AE": {"p50": 1.5e6}, "Manager": {"p50": 2.0e5}}}
    df = plan_section.plan_frame(plans, summary).set_index("role")
    assert df.loc["AE", "cost_p50"] == 1.5e6 and df.loc["Manager", "cost_p50"] == 2.0e5
    assert np.isnan(df.loc["SE", "cost_p50"])  # a role that paid nobody
    assert "gross_margin modifier" in df.loc["AE", "elements"]
    assert "on margin" in df.loc["AE", "credited"]
    assert "step pay curve" in df.loc["SE", "elements"] and "team roll-up" in df.loc["SE", "credited"]
    assert "advance cap 1" in df.loc["AE_new_hire", "elements"]
    assert df.loc["Manager", "elements"] == "tiers"


def test_plan_figures_one_pay_curve_per_curve_plan_and_a_family_per_modifier():
    plans = _plans(AE="ae_gross_margin_gate.yaml", SE="mbo_step_bonus.yaml",
                   Manager="manager_rollup.yaml", X="mbo_step_bonus.yaml")
    figs = plan_section.plan_figures(plans)
    captions = [c for c, _ in figs]
    # tiers-only plans get no figure; a plan used by two roles is drawn once
    assert len(figs) == 3
    assert captions[0].startswith("AE: ") and "by gross_margin attainment" in captions[1]
    assert captions[2].startswith("SE: ")
    # the step curve's figure: payout 0 below 80 %, half of TI at 80–100 %, TI at 100 %
    ax = figs[2][1].axes[0]
    x, y = ax.lines[0].get_data()
    y_at = {a: float(y[np.searchsorted(x, a)]) for a in (70.0, 90.0, 100.0, 130.0)}
    assert y_at == {70.0: 0.0, 90.0: pytest.approx(20000.0), 100.0: pytest.approx(40000.0),
                    130.0: pytest.approx(60000.0)}
    # the modifier family: one line per modifier level, the gate closed below 80 %, open at 80 %
    fam = figs[1][1].axes[0]
    assert len(fam.lines) >= 3
    closed = [ln for ln in fam.lines if ln.get_label().endswith(" at 0 %")]
    opened = [ln for ln in fam.lines if ln.get_label().endswith(" at 80 %")]
    assert closed and float(np.max(closed[0].get_data()[1])) == 0.0
    assert opened and float(np.max(opened[0].get_data()[1])) > 0.0


def test_plans_section_renders_table_and_images():
    plans = _plans(AE="ae_standard.yaml", SE="mbo_step_bonus.yaml")
    items = plan_section.plans_section(plans, {"incentive_cost_by_plan": {"AE": {"p50": 1e6}}})
    html = items[0].data
    assert "1.0M" in html and "MBO FY27 quarterly step bonus" in html
    assert sum(type(i).__name__ == "Image" for i in items) == 1


def test_advance_capped_plan_gets_a_pacing_figure_with_the_contract_example():
    from spm_models.plots.comp import advance_pacing_data

    plan = Plan.from_yaml(PLANS / "ae_monthly_advance.yaml")
    figs = plan_section.plan_figures({"AE": plan})
    assert len(figs) == 2 and "advance cap" in figs[1][0]
    # issue 14: TI 120,000, credits 150 k, 30 k, 90 k against 100 k a month
    data = advance_pacing_data(plan, (1.5, 0.3, 0.9), 100_000.0, 120_000.0)
    assert data.sel(plan="advance cap").values.tolist() == [10000.0, 8000.0, 9000.0]
    assert data.sel(plan="no advance cap").values.tolist() == [15000.0, 3000.0, 9000.0]
    bars = [p.get_height() for p in figs[1][1].axes[0].patches]
    assert len(bars) == 6
