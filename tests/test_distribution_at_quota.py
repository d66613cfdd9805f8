"""Earnings at 100 % of quota in the plan documents are the pay curve at exactly 1.0 (not at
the nearest even grid step), checked against hand-computed values on the shipped plans."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from spm_models.comp import Plan
from spm_models.distribution import plan_docs
from spm_models.distribution.rep_figures import attainment_grid, pay_curves, quota_index
from spm_models.distribution.synthetic import synthetic_world

PLANS = Path(__file__).resolve().parents[1] / "scenarios" / "plans"
MONTHLY_QUOTA = 100_000.0
#: a tester's plan (/tmp/nu2 step_cap.yaml): the cap at 200 % stretched the old even grid so
#: that its point nearest 1.0 was 0.99, on the 0.5 step
STEP_CAP = {
    "name": "Step capped", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 40000,
    "measures": [{"name": "bookings", "quota_period": "quarter", "basis": "target_incentive",
                  "curve": {"points": [[0.8, 0.5], [1.0, 1.0], [1.2, 1.5]], "interpolate": "step"},
                  "cap": {"attainment": 2.0}}],
}

#: plan-year earnings when every quota period ends at attainment exactly 1.0 (quota 100,000 a
#: month, 1.2 M a year), worked by hand from the plan files and spec/comp_plan.md
AT_QUOTA = {
    # TI 70,000: retroactive, 1.0 is in the 1.0–1.3 band (a boundary belongs to the upper
    # tier): 12 % of 1.2 M; the 110 % SPIF is not reached
    ("ae_quarterly_spif", 70_000): 144_000.0,
    # marginal 4 % to 50 %, 10 % to 100 %: 0.04 × 600 k + 0.10 × 600 k
    ("ae_standard", 70_000): 84_000.0,
    # both measures credited the rep's quota: 10 % × 1.2 M + 3 % × 1.2 M
    ("ae_new_vs_renewal", 70_000): 156_000.0,
    # TI basis, rate 1.0 up to 100 %: the TI
    ("ae_monthly_advance", 70_000): 70_000.0,
    # step curve [[0.8, .5], [1, 1], [1.2, 1.5]] on TI: the factor 1.0 (the boundary belongs
    # to the upper step) × TI
    ("mbo_step_bonus", 67_000): 67_000.0,
    ("step_cap", 67_000): 67_000.0,
}


def _plan(name: str) -> Plan:
    return Plan.from_dict(STEP_CAP) if name == "step_cap" else Plan.from_yaml(PLANS / f"{name}.yaml")


@pytest.mark.parametrize(("name", "ti"), list(AT_QUOTA))
def test_pay_curve_is_read_at_exactly_one(name: str, ti: float) -> None:
    plan = _plan(name)
    grid = attainment_grid(plan)
    i = quota_index(grid)
    assert grid[i] == 1.0
    earn = pay_curves(plan, np.full((1, 12), MONTHLY_QUOTA), np.array([ti]), grid)[0]
    assert earn[i] == pytest.approx(AT_QUOTA[(name, ti)], abs=0.005)


def test_grid_holds_every_boundary_and_a_point_just_below() -> None:
    plan = Plan.from_yaml(PLANS / "ae_quarterly_spif.yaml")
    grid = attainment_grid(plan)
    assert np.all(np.diff(grid) > 0)
    for b in (0.25, 1.0, 1.1, 1.3, 2.0):  # threshold, tier bounds, SPIF, cap
        assert b in grid and np.any((grid < b) & (grid > b - 1e-5))
    earn = pay_curves(plan, np.full((1, 12), MONTHLY_QUOTA), np.array([70_000.0]), grid)[0]
    below = int(np.flatnonzero(grid < 1.0)[-1])
    assert earn[below] == pytest.approx(0.09 * 1.2e6 * grid[below], abs=0.01)  # the jump at 100 %


@pytest.mark.parametrize(("name", "ti"), [("ae_quarterly_spif", 70_000), ("step_cap", 67_000)])
def test_document_shows_earnings_at_exactly_one(tmp_path: Path, name: str, ti: float) -> None:
    world = synthetic_world(tmp_path / "scen", n_reps=2, n_draws=20, seed=1)
    world.plans["AE"] = _plan(name)
    world.cube["quota"][:] = MONTHLY_QUOTA
    world.cube["target_incentive"][:] = ti
    for doc in plan_docs.build_docs(world, approval=None):
        m = re.search(r'id="earn-at-quota" data-value="([0-9.]+)"', doc.html)
        assert m and float(m.group(1)) == pytest.approx(AT_QUOTA[(name, ti)], abs=0.006)
        assert doc.row["at_quota"] == pytest.approx(AT_QUOTA[(name, ti)], abs=0.006)
