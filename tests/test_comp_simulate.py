"""Plan simulation: metrics with known answers, sweeps, the simulate command, plots."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from comp_helpers import MONTHS, monthly_quota, write_csv

from spm_models.comp import Plan, plan_metrics, simulate_plan, sweep_plans
from spm_models.comp.simulate import synthetic_bookings

PLANS = Path(__file__).resolve().parents[1] / "scenarios" / "plans"
BASE = {"name": "AE", "plan_year_start": "2027-01", "payout_frequency": "quarter",
        "measures": [{"name": "bookings", "quota_period": "year",
                      "tiers": [{"to": 1.0, "rate": 0.1}, {"to": 1.5, "rate": 0.15}, {"rate": 0.05}]}]}


def _quotas(n_reps: int = 8) -> xr.DataArray:
    return xr.DataArray(np.full((n_reps, 12), 100000.0), dims=["rep", "period"],
                        coords={"rep": [f"R{i}" for i in range(n_reps)], "period": MONTHS})


def test_metrics_known_answer() -> None:
    """Half the reps at exactly 100 %, half at 50 %, identical in every draw."""
    q = _quotas(4)
    level = xr.DataArray([1.0, 1.0, 0.5, 0.5], dims=["rep"], coords={"rep": q["rep"]})
    b = (q * level).expand_dims(draw=np.arange(5)).transpose("rep", "period", "draw")
    res = simulate_plan(Plan.from_dict(BASE), b, q)
    m = plan_metrics(res, budget=300000.0)
    cost = 2 * 120000 + 2 * 60000  # 10 % of credited revenue below 100 %
    assert m["incentive_cost"]["p50"] == pytest.approx(cost)
    assert m["revenue"]["p50"] == pytest.approx(2 * 1.2e6 + 2 * 0.6e6)
    assert m["cost_of_sales"]["p50"] == pytest.approx(0.1)
    assert m["share_reps_at_quota"]["p50"] == pytest.approx(0.5)
    assert m["prob_cost_exceeds_budget"] == 1.0
    assert m["pay_for_performance"]["corr_payout_attainment"] == pytest.approx(1.0)
    assert m["element_cost"]["bookings:tier1"] == pytest.approx(cost)
    assert m["element_cost"]["bookings:above_target"] == 0.0
    assert m["rep_payout"]["p10"] == pytest.approx(60000, rel=0.006)
    assert m["rep_payout"]["p90"] == pytest.approx(120000, rel=0.006)


def test_metrics_elements_add_up_and_accelerators_pay_for_performance() -> None:
    q = _quotas(30)
    b = synthetic_bookings(q, 200, cv=0.6, seed=4) * xr.DataArray(
        np.linspace(0.5, 1.6, 30), dims=["rep"], coords={"rep": q["rep"]})
    plan = Plan.from_yaml(PLANS / "ae_standard.yaml")
    res = simulate_plan(plan, b, q)
    m = plan_metrics(res)
    el = m["element_cost"]
    parts = sum(v for k, v in el.items() if "tier" in k) + el["unearned_paid"]
    assert parts == pytest.approx(m["incentive_cost"]["mean"], rel=1e-9)
    assert m["pay_for_performance"]["corr_payout_attainment"] > 0.9
    assert m["pay_for_performance"]["payout_p90_to_target"] > 1.0
    assert m["incentive_cost"]["p10"] <= m["incentive_cost"]["p50"] <= m["incentive_cost"]["p90"]


def test_sweep_accelerator_rate_raises_cost() -> None:
    q = _quotas(10)
    b = synthetic_bookings(q, 100, cv=0.5, seed=1)
    plan = Plan.from_dict(BASE)
    res = sweep_plans(plan, "measures[0].tiers[1].rate", [0.1, 0.2, 0.4], b, q)
    assert res.sizes["scenario"] == 3
    m = plan_metrics(res)
    costs = [m[f"measures[0].tiers[1].rate={v}"]["incentive_cost"]["p50"] for v in (0.1, 0.2, 0.4)]
    assert costs[0] < costs[1] < costs[2]
    # structural sweeps (quota period) are grouped and still line up on `scenario`
    res2 = sweep_plans(plan, "measures[0].quota_period", ["year", "quarter"], b, q)
    assert list(res2["scenario"].values) == ["measures[0].quota_period=year",
                                             "measures[0].quota_period=quarter"]
    single = simulate_plan(plan, b, q)
    xr.testing.assert_allclose(res2["payout"].sel(scenario="measures[0].quota_period=year", drop=True)
                               .transpose(*single["payout"].dims), single["payout"])


def test_simulate_command(tmp_path: Path, capsys) -> None:
    from spm_models.cli import main

    quotas = write_csv(tmp_path, "q.csv", monthly_quota("A", 100000) + monthly_quota("B", 80000))
    out = tmp_path / "m.json"
    with pytest.raises(SystemExit) as exc:
        main(["comp", "simulate", "--plan", str(PLANS / "ae_standard.yaml"), "--plan",
              str(PLANS / "ae_new_hire_draw.yaml"), "--quotas", str(quotas), "--draws", "50",
              "--budget", "100000", "--out", str(out)])
    assert exc.value.code == 0, capsys.readouterr().err
    data = json.loads(out.read_text())
    assert set(data["plans"]) == {"AE FY27 standard", "AE FY27 new hire"}
    assert 0 <= data["plans"]["AE FY27 standard"]["prob_cost_exceeds_budget"] <= 1


def test_plots_render() -> None:
    import matplotlib

    from spm_models.plots.comp import (
        cost_of_sales_fan,
        pay_curve,
        pay_curve_data,
        payout_distribution,
    )

    plan = Plan.from_yaml(PLANS / "ae_standard.yaml")
    curve = pay_curve_data(plan, max_attainment=2.0, n=201)
    # 4 % to 50 %, 10 % to 100 %: at 100 % of a 1 M quota → 20,000 + 50,000
    assert float(curve.sel(attainment=1.0)) == pytest.approx(70000.0)
    assert (np.diff(curve.values) >= -1e-9).all()
    q = _quotas(6)
    b = synthetic_bookings(q, 40, seed=2)
    res = sweep_plans(plan, "measures[0].tiers[2].rate", [0.15, 0.25], b, q)
    for fig in (pay_curve([plan, Plan.from_yaml(PLANS / "ae_quarterly_spif.yaml")]),
                payout_distribution(res), cost_of_sales_fan(res)):
        assert isinstance(fig, matplotlib.figure.Figure)
        matplotlib.pyplot.close(fig)
