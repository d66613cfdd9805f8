"""Pay-curve plots: the figures carry the engine's earnings (tiers, curves, modifiers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spm_models.comp import Plan
from spm_models.plots.comp import (
    modifier_curve_data,
    modifier_curves,
    pay_curve,
    pay_curve_data,
)

PLANS = Path(__file__).resolve().parents[1] / "scenarios" / "plans"


def _y_at(line, x: float) -> float:
    xs, ys = np.asarray(line.get_xdata()), np.asarray(line.get_ydata())
    i = int(np.argmin(np.abs(xs - x)))
    assert abs(xs[i] - x) < 1e-9
    return float(ys[i])


def test_step_curve_figure_values() -> None:
    plan = Plan.from_yaml(PLANS / "mbo_step_bonus.yaml")  # TI 40,000, steps 0.5/1.0/1.5
    fig = pay_curve(plan)  # 251 points on 0..250 %
    line = fig.axes[0].lines[0]
    assert line.get_drawstyle() == "steps-post"
    assert _y_at(line, 70.0) == 0.0
    assert _y_at(line, 90.0) == pytest.approx(20000.0)
    assert _y_at(line, 100.0) == pytest.approx(40000.0)
    assert _y_at(line, 150.0) == pytest.approx(60000.0)


def test_tiered_and_linear_curve_values() -> None:
    plan = Plan.from_yaml(PLANS / "ae_standard.yaml")
    data = pay_curve_data(plan, attainments=np.array([0.5, 1.0, 1.5]), quota=1_200_000)
    # 4 % to 50 %, 10 % to 100 %, 15 % to 150 % on 1.2 M
    np.testing.assert_allclose(data.values, [24000, 84000, 174000])
    lin = Plan.from_dict({"name": "l", "plan_year_start": "2027-01", "target_incentive": 10000,
                          "measures": [{"name": "m", "basis": "target_incentive",
                                        "curve": {"points": [[0.5, 0.25], [1.0, 1.0],
                                                             [1.5, 2.0]]}}]})
    data = pay_curve_data(lin, attainments=np.array([0.4, 0.5, 0.75, 1.25, 3.0]))
    np.testing.assert_allclose(data.values, [0, 2500, 6250, 15000, 20000])


def test_modifier_family_of_curves() -> None:
    plan = Plan.from_yaml(PLANS / "ae_gross_margin_gate.yaml")  # TI 100,000, weight 0.8
    data = modifier_curve_data(plan, "bookings", levels=[0.79, 0.8, 1.2],
                               attainments=np.array([0.5, 1.0]))
    np.testing.assert_allclose(data.values, [[0, 0], [40000, 80000], [44000, 88000]])
    fig = modifier_curves(plan, "bookings", levels=[0.79, 0.8, 1.2])
    lines = [ln for ln in fig.axes[0].lines if not ln.get_label().startswith("_")]
    assert len(lines) == 3
    assert [_y_at(ln, 100.0) for ln in lines] == pytest.approx([0.0, 80000.0, 88000.0])
    with pytest.raises(ValueError):
        modifier_curve_data(plan, "gross_margin")
