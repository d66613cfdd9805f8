"""Territory balancing and capacity planning in the scenario pipeline and the report.

A tiny demo organisation (20 reps) with the fast forecast: the pipeline puts the territory
(``account`` dim) and capacity (``period × draw``) variables in the cube and their figures in
the summary, caches the balancing on disk (shared by scenarios on the same data), stays
deterministic, and the report sections render them.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from test_report_helpers import PLAN, XSS, private_tmp, scenario, write_tiny_org

pytestmark = pytest.mark.slow  # one fast (ADVI) forecast fit of the tiny organisation, ~35 s

TERRITORY = {"max_moved_share": 0.2}
CAPACITY = {"probability": 0.8, "attrition_monthly": 0.015, "hiring_lag_months": 2}


@pytest.fixture(scope="module")
def org():
    """(root, data, plan, scenario path) with the cache in a private folder."""
    root = private_tmp("spm-report-planning-")
    data = write_tiny_org(root / "tiny.duckdb", n_reps=20, seed=5)
    plan = root / "ae.yaml"
    plan.write_text(yaml.safe_dump(PLAN, sort_keys=False))
    path = scenario(root / "plan_a.yaml", "plan_a", data, plan, seed=1,
                    territory=dict(TERRITORY), capacity=dict(CAPACITY))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPM_CACHE_DIR", str(root / "cache"))
        yield root, data, plan, path


@pytest.fixture(scope="module")
def result(org):
    from spm_models import workflow

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPM_CACHE_DIR", str(org[0] / "cache"))
        return workflow.run(org[3])


def _cv(x: np.ndarray) -> float:
    return float(np.std(x) / np.mean(x))


def test_territory_variables_and_figures(result):
    cube, s = result.tree["territory"].to_dataset(), result.summary
    for name in ("territory_before", "territory_after", "potential", "workload", "lat", "lon",
                 "account_moved"):
        assert cube[name].dims == ("account",), name
    accounts = result.tables["accounts"]
    assert cube.sizes["account"] == len(accounts)
    assert set(cube["account"].values.astype(str)) == set(accounts["account_id"].astype(str))
    before = cube["territory_before"].values.astype(str)
    after = cube["territory_after"].values.astype(str)
    moved = before != after
    t = s["territory"]
    assert t["accounts_moved"] == int(moved.sum()) == int(cube["account_moved"].sum())
    assert t["share_moved"] == pytest.approx(moved.mean(), abs=1e-6)
    assert 0 < t["share_moved"] <= TERRITORY["max_moved_share"] + 1e-9
    pot = cube["potential"].values
    # the summary's CV of potential is the one of the cube's alignments (known answer)
    for key, labels in (("before", before), ("after", after)):
        by_t = np.array([pot[labels == k].sum() for k in np.unique(labels)])
        assert t[key]["cv_potential"] == pytest.approx(_cv(by_t), abs=1e-5)
    assert t["after"]["cv_potential"] < 0.5 * t["before"]["cv_potential"]
    assert {"cv_workload", "max_min_potential", "mean_distance_km"} <= set(t["after"])


def test_capacity_variables_and_figures(result):
    cap, s = result.tree["capacity"].to_dataset(), result.summary
    cube = result.cube
    assert cap["capacity"].dims == ("period", "draw")
    assert list(cap["period"].values) == list(cube["period"].values)
    assert cap["headcount"].dims == ("period", "draw")
    assert cap.sizes["draw"] == 200  # one capacity draw per forecast draw
    c = s["capacity"]
    total = cap["capacity_total"].values
    np.testing.assert_allclose(total, cap["capacity"].sum("period").values)
    assert c["mode"] == "solve" and c["target"] == 15_000_000
    # the solved plan reaches the target with the asked probability, one hire fewer does not
    assert c["probability_reached"] == pytest.approx(float((total >= 15_000_000).mean()))
    assert c["probability_reached"] >= 0.8
    if c["total_hires"] > 0:
        assert c["probability_one_fewer"] < 0.8
    assert c["total_hires"] == int(cap["hires_opened"].sum())
    assert sum(c["hiring_plan"].values()) == c["total_hires"]
    assert c["capacity"]["p50"] == pytest.approx(float(np.quantile(total, 0.5)), abs=0.01)
    # headcount now: the AE reps of the forecast hired before the horizon start
    hired = cube["hire_month"].values.astype(str) if "hire_month" in cube.coords else None
    if hired is not None:
        assert c["headcount_now"] == int(((cube["role"].values == "AE") & (hired <= "2027-01")).sum())
    assert float(cap["headcount"].isel(period=0).max()) <= c["headcount_now"]


def test_balancing_is_cached_and_shared(org, result, monkeypatch):
    from spm_models import workflow
    from spm_models.planning import territory

    root, data, plan, _ = org
    monkeypatch.setenv("SPM_CACHE_DIR", str(root / "cache"))
    calls = []
    real = territory.balance_from_config
    monkeypatch.setattr(territory, "balance_from_config",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    other = scenario(root / "plan_b.yaml", "plan_b", data, plan, seed=2,
                     quota={"method": "growth", "growth": 0.3},
                     territory=dict(TERRITORY), capacity={"hiring_plan": 1})
    res_b = workflow.run(other)
    assert calls == []  # same data + territory section: the first scenario's balancing is reused
    assert (res_b.tree["territory"]["territory_after"].values
            == result.tree["territory"]["territory_after"].values).all()
    assert res_b.summary["territory"] == result.summary["territory"]
    changed = scenario(root / "plan_c.yaml", "plan_c", data, plan, seed=1,
                       territory={"max_moved_share": 0.1})
    res_c = workflow.run(changed)
    assert calls == [1]  # a different section is a different cache entry
    assert res_c.summary["territory"]["share_moved"] <= 0.1 + 1e-9
    assert "capacity" not in res_c.summary and "capacity" not in res_c.tree.children


def test_hiring_plan_is_simulated(org, monkeypatch):
    from spm_models import workflow

    root, data, plan, _ = org
    monkeypatch.setenv("SPM_CACHE_DIR", str(root / "cache"))
    path = scenario(root / "plan_d.yaml", "plan_d", data, plan, seed=1,
                    capacity={"hiring_plan": {"2027-02": 3, "2027-05": 2}, "hiring_lag_months": 1})
    res = workflow.run(path)
    c = res.summary["capacity"]
    assert c["mode"] == "simulate" and c["total_hires"] == 5
    assert c["hiring_plan"] == {"2027-02": 3, "2027-05": 2}
    # the /capacity group is read from the world: the scenario's horizon, revenue per month
    cap = res.tree["capacity"].to_dataset()
    assert cap["capacity"].dims == ("period", "draw")
    assert list(cap["period"].values) == list(res.cube["period"].values)
    assert int(cap["hires_starting"].sel(period="2027-03")) == 3
    assert int(cap["hires_starting"].sel(period="2027-06")) == 2
    np.testing.assert_allclose(cap["capacity_total"].values,
                               res.cube["bookings"].sum(["rep", "period"]).values)
    assert sorted(res.cube["hire_month"].values[res.cube["is_hire"].values].astype(str)) == \
        ["2027-03"] * 3 + ["2027-06"] * 2
    # the world's months are the horizon's: a capacity window of its own is refused
    from spm_models.errors import InputError

    other = scenario(root / "plan_e.yaml", "plan_e", data, plan, seed=1,
                     capacity={"hiring_plan": 1, "start": "2027-02", "months": 6})
    with pytest.raises(InputError, match="capacity.*start"):
        workflow.run(other)
    assert "territory" not in res.summary


def test_summary_is_deterministic_and_strict_json(org, result, monkeypatch):
    from spm_models import workflow

    monkeypatch.setenv("SPM_CACHE_DIR", str(org[0] / "cache"))
    again = workflow.run(org[3])
    first = json.dumps(result.summary, indent=2, sort_keys=True, allow_nan=False)
    assert json.dumps(again.summary, indent=2, sort_keys=True, allow_nan=False) == first
    for key in ("revenue", "incentive_cost", "quota_fairness", "provenance"):
        assert key in result.summary  # the existing contract keys stay


def test_report_sections_render_planning(result):
    from IPython.display import HTML

    from spm_models.plots.report import capacity_fan, territory_before_after
    from spm_models.reporting import capacity_section, sections

    s = result.summary
    fig = territory_before_after(result.tree)
    assert fig is not None and len(fig.axes) == 2
    assert capacity_fan(result.tree, s["capacity"]["target"]) is not None
    terr = sections.territory_plan(result.tree, s, result.tables)
    assert isinstance(terr, HTML)
    assert "balanced" in terr.data and f"{s['territory']['accounts_moved']:,}" in terr.data
    cap = capacity_section.capacity_section(result.tree, s).data
    n = s["capacity"]["total_hires"]
    assert "with probability 80%" in cap
    assert (f"hire {n} rep" in cap) if n else ("no hires are needed" in cap)


def test_planning_sections_escape_data(result):
    from spm_models.reporting import sections

    s = json.loads(json.dumps(result.summary))
    s["territory"]["n_territories"] = XSS
    html = sections.territory_table(s).data
    assert XSS not in html and "&lt;script&gt;" in html


def test_sections_without_planning(result):
    from spm_models.reporting import capacity_section, sections

    s = {k: v for k, v in result.summary.items() if k not in ("territory", "capacity")}
    assert "no capacity section" in capacity_section.capacity_section(result.tree, s).data
    # without a balancing the territory section falls back to the current alignment
    assert "Territory balance" in sections.territory_plan(result.tree, s, result.tables).data


def test_whatif_panel_equals_summary_json(result):
    """summary.json and the what-if panel (no setting changed) give identical figures."""
    from spm_models.widgets import WhatIf

    figs = WhatIf(result).compute().figures
    for key in ("revenue", "incentive_cost", "cost_of_sales", "share_reps_at_quota",
                "prob_company_target", "prob_cost_over_budget"):
        assert figs[key] == result.summary[key], key
