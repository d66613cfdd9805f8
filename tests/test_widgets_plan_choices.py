"""The what-if plan menu offers plans that can pay the quota carriers, not overlay plans."""

from pathlib import Path

from spm_models.comp import Plan
from spm_models.widgets.model import plan_choices

PLANS = Path(__file__).resolve().parents[1] / "scenarios" / "plans"


def test_rollup_plans_are_not_offered_for_quota_carriers():
    current = Plan.from_yaml(PLANS / "ae_standard.yaml")
    got = plan_choices(PLANS, current)
    rollup = {f.name for f in PLANS.glob("*.yaml")
              if any(m.credit is not None and m.credit.rollup for m in Plan.from_yaml(f).measures)}
    assert {"manager_rollup.yaml", "se_overlay.yaml", "mbo_step_bonus.yaml"} <= rollup
    assert not rollup & set(got)
    assert {"ae_standard.yaml", "ae_new_vs_renewal.yaml", "ae_monthly_advance.yaml"} <= set(got)
    # the scenario's own plan is always offered, even a roll-up one
    mgr = Plan.from_yaml(PLANS / "manager_rollup.yaml")
    assert "manager_rollup.yaml" in plan_choices(PLANS, mgr)
