"""The scenario run reads every figure from one simulated world (issue 11).

A tiny demo organisation with the fast forecast (shared by all scenarios through the cache):
hires raise revenue and incentive cost, scenarios with more hires report more revenue, the
solved hiring plan reaches its probability on the summary's revenue and one hire fewer does
not, the bridge adds up, and hires are paid on the new-hire plan.
"""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from test_report_helpers import PLAN, private_tmp, scenario, write_tiny_org

from spm_models.cube import PERIOD, REP

pytestmark = pytest.mark.slow  # one fast (ADVI) forecast fit of the tiny organisation

REPO_PLANS = __import__("pathlib").Path(__file__).resolve().parents[1] / "scenarios" / "plans"
BASE_CAP = {"attrition_monthly": 0.015, "hiring_lag_months": 2, "hire_plan": "AE_new_hire"}
TARGET = 15_000_000


@pytest.fixture(scope="module")
def org():
    root = private_tmp("spm-workflow-world-")
    data = write_tiny_org(root / "tiny.duckdb", n_reps=20, seed=5)
    plan = root / "ae.yaml"
    plan.write_text(yaml.safe_dump(PLAN, sort_keys=False))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPM_CACHE_DIR", str(root / "cache"))
        yield root, data, plan


def _run(org, name: str, **extra):
    from spm_models import workflow

    root, data, plan = org
    plans = {"AE": str(plan), "AE_new_hire": str(REPO_PLANS / "ae_new_hire_draw.yaml")}
    path = scenario(root / f"{name}.yaml", name, data, plan, seed=1, plans=plans, **extra)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPM_CACHE_DIR", str(root / "cache"))
        return workflow.run(path)


@pytest.fixture(scope="module")
def runs(org):
    none = _run(org, "no_hires", capacity={**BASE_CAP, "hiring_plan": 0})
    push = _run(org, "push", capacity={**BASE_CAP, "hiring_plan": {"2027-01": 3, "2027-02": 3, "2027-03": 2}})
    solved = _run(org, "solved", target=TARGET, capacity={**BASE_CAP, "probability": 0.8})
    return {"none": none, "push": push, "solved": solved}


def _revenue(res) -> np.ndarray:
    return res.cube["bookings"].sum([REP, PERIOD]).values


def test_summary_reads_the_world(runs):
    for res in runs.values():
        s, rev = res.summary, _revenue(res)
        assert s["revenue"]["p50"] == pytest.approx(float(np.quantile(rev, 0.5)), rel=1e-9, abs=0.01)
        # the capacity section's "capacity" is the same revenue figure: no second bookings number
        assert s["capacity"]["capacity"]["p50"] == pytest.approx(s["revenue"]["p50"], abs=0.01)
        assert s["capacity"]["capacity"]["p10"] == pytest.approx(s["revenue"]["p10"], abs=0.01)
        w = res.world.world
        np.testing.assert_allclose(rev, w["bookings"].sum([REP, PERIOD]).values)
        # leavers: a rep inactive from its leave month books and is paid nothing afterwards
        act = res.cube["active"].values
        assert (res.cube["bookings"].values[~act] == 0).all()
        assert s["world"]["leavers_p50"] > 0


def test_hires_raise_revenue_and_cost(runs):
    none, push = runs["none"].summary, runs["push"].summary
    assert push["capacity"]["total_hires"] == 8 and none["capacity"]["total_hires"] == 0
    assert push["revenue"]["p50"] > none["revenue"]["p50"]
    assert push["incentive_cost"]["p50"] > none["incentive_cost"]["p50"]
    # paired draws: adding hires never lowers a draw's revenue
    assert (_revenue(runs["push"]) >= _revenue(runs["none"]) - 1e-6).all()
    cube = runs["push"].cube
    hires = cube["is_hire"].values
    assert hires.sum() == 8
    assert set(cube["plan"].values[hires].astype(str)) == {"AE_new_hire"}
    assert set(cube["hire_month"].values[hires].astype(str)) <= {"2027-03", "2027-04", "2027-05"}
    assert float(cube["payout"].isel(rep=hires).sum()) > 0


def test_revenue_follows_hiring_plans(runs):
    by_hires = sorted(runs.values(), key=lambda r: r.summary["capacity"]["total_hires"])
    hires = [r.summary["capacity"]["total_hires"] for r in by_hires]
    revs = [r.summary["revenue"]["p50"] for r in by_hires]
    assert len(set(hires)) == 3
    assert revs == sorted(revs) and len(set(revs)) == 3


def test_capacity_solution_on_scenario_revenue(runs):
    res = runs["solved"]
    c, rev = res.summary["capacity"], _revenue(res)
    assert c["mode"] == "solve" and c["total_hires"] > 0
    reached = float((rev >= TARGET).mean())
    assert c["probability_reached"] == pytest.approx(reached, abs=1e-9)
    assert res.summary["prob_company_target"] == pytest.approx(reached, abs=1e-6)
    assert reached >= 0.8
    # one hire fewer, as a full world (not the curve), falls short
    from spm_models.planning.capacity import schedule_hires
    from spm_models.planning.world import WorldInputs, revenue, simulate_world

    inp = res.world.inputs
    T, lag = res.cube.sizes[PERIOD], BASE_CAP["hiring_lag_months"]
    assert list(inp.roster["hiring_plan"]) == list(schedule_hires(c["total_hires"], T, "constant", (0, T - 1 - lag)))
    plan = schedule_hires(c["total_hires"] - 1, T, "constant", (0, T - 1 - lag))
    fewer = simulate_world(WorldInputs(**{**inp.__dict__, "roster": {**inp.roster, "hiring_plan": list(plan)}}),
                           res.world.levers)
    assert float((revenue(fewer).values >= TARGET).mean()) < 0.8
    assert c["probability_one_fewer"] < 0.8


def test_bridge_adds_up(runs):
    for res in runs.values():
        rows = res.summary["bridge"]
        steps = [r["step"] for r in rows]
        assert steps[0] == "base" and steps[-1] == "total"
        # a world without hires (the no_hires scenario) has no Hires bar, one with hires has one
        has_hires = bool(res.summary["capacity"]["total_hires"])
        assert "attrition" in steps and ("hires" in steps) == has_hires
        deltas = sum(r["revenue"] for r in rows[1:-1])
        assert rows[0]["revenue"] + deltas == pytest.approx(rows[-1]["revenue"], rel=1e-6)
        assert rows[-1]["revenue"] == pytest.approx(res.summary["revenue"]["p50"], rel=1e-6)
        # the bridge's cost is the summary's: every plan's incentive (managers and SEs too) plus
        # the managers and SEs the hires need
        assert rows[-1]["cost"] == pytest.approx(res.summary["total_cost"]["p50"], rel=1e-6)


def test_hires_bring_managers_and_ses_into_cost_of_sales(runs):
    from spm_models.workflow.summary import incentive_cost_of, support_cost_of

    none, push = runs["none"], runs["push"]
    assert none.summary["support_cost"]["p50"] == 0.0  # no hires, nobody to support
    sup = push.summary["capacity"]["support"]
    assert set(sup["roles"]) == {"Manager", "SE"} and push.summary["support_cost"]["p50"] > 0
    assert sup["total"]["p50"] == pytest.approx(push.summary["support_cost"]["p50"], abs=0.01)
    tree = push.tree
    rev = push.cube["bookings"].sum([REP, PERIOD])
    cos = ((incentive_cost_of(tree) + support_cost_of(tree)) / rev).median()
    assert push.summary["cost_of_sales"]["p50"] == pytest.approx(float(cos), abs=1e-6)
    econ = push.summary["capacity"]["hires_economics"]
    hires_step = next(r for r in push.summary["bridge"] if r["step"] == "hires")
    # one definition with the bridge's Hires bar (the change of the P50)
    assert econ["cost_p50"] == pytest.approx(hires_step["cost"], abs=0.01) and econ["revenue_p50"] > 0
    assert econ["revenue_p50"] == pytest.approx(hires_step["revenue"], abs=0.01)


def test_forecast_attrition_is_refused(org):
    from spm_models.errors import InputError

    with pytest.raises(InputError, match="attrition"):
        _run(org, "double_leave", capacity=BASE_CAP,  # (its hire_plan names AE_new_hire)
             forecast={"method": "fast", "n_steps": 1500, "fit_draws": 100, "attrition": True})


def _territory_with_reps(res) -> str:
    fc = res.cube
    now = ~fc["is_hire"].values
    terr = fc["territory_id"].values.astype(str)[now]
    vals, counts = np.unique(terr, return_counts=True)
    return str(vals[np.argmax(counts)])


def test_approved_adjustment_lowers_forecast_and_revenue(org, runs):
    from spm_models.distribution import adjustments as adj

    root = org[0]
    plain = runs["none"]
    terr = _territory_with_reps(plain)
    store = root / "adjustments"
    a = adj.propose(store, "no_hires", target="territory", target_id=terr, what="potential",
                    size="-20%", reason="key account lost", by="mgr")
    adj.review(store, a.id, "approved", by="vp")
    b = adj.propose(store, "no_hires", target="territory", target_id=terr, what="forecast",
                    size="-50%", reason="too pessimistic", by="mgr")
    adj.review(store, b.id, "rejected", by="vp", comment="no evidence")
    res = _run(org, "no_hires", capacity={**BASE_CAP, "hiring_plan": 0})
    sel = (res.cube["territory_id"].values.astype(str) == terr) & ~res.cube["is_hire"].values
    before = plain.cube["potential_bookings"].isel(rep=sel).sum(["rep", "period"]).median()
    after = res.cube["potential_bookings"].isel(rep=sel).sum(["rep", "period"]).median()
    assert float(after) == pytest.approx(0.8 * float(before), rel=1e-6)  # elasticity 1, sd 0
    assert res.summary["revenue"]["p50"] < plain.summary["revenue"]["p50"]
    others = ~sel & ~res.cube["is_hire"].values
    np.testing.assert_allclose(res.cube["potential_bookings"].isel(rep=others).values,
                               plain.cube["potential_bookings"].isel(rep=others).values)
    s = res.summary["adjustments"]
    assert [x["status"] for x in s["list"]] == ["approved", "rejected"] and s["n_approved"] == 1
    eff = {r["id"]: r for r in s["effects"]}
    assert set(eff) == {a.id, "all approved"} and eff[a.id]["revenue_p50_change"] < 0


def test_rejected_adjustment_changes_nothing(org, runs):
    from spm_models.distribution import adjustments as adj

    root = org[0]
    plain = runs["push"]
    store = root / "adjustments"
    a = adj.propose(store, "push", target="territory", target_id=_territory_with_reps(plain),
                    what="potential", size="-20%", reason="x", by="mgr")
    adj.review(store, a.id, "rejected", by="vp", comment="no")
    res = _run(org, "push", capacity={**BASE_CAP, "hiring_plan": {"2027-01": 3, "2027-02": 3, "2027-03": 2}})
    for key in ("revenue", "incentive_cost", "capacity"):
        assert res.summary[key] == plain.summary[key]
    np.testing.assert_array_equal(res.cube["bookings"].values, plain.cube["bookings"].values)
    assert res.summary["adjustments"]["n_approved"] == 0 and res.summary["adjustments"]["effects"] == []


def test_report_and_compare_render_the_bridge(runs):
    from spm_models.reporting import compare, world_sections

    s = runs["push"].summary
    html = world_sections.bridge_section(s).data
    hires = next(r for r in s["bridge"] if r["step"] == "hires")
    assert "roster to the scenario" in html
    assert hires["revenue"] > 0
    frame = compare.comparison_frame([runs["none"].summary, s])
    row = frame[frame["figure"] == "Bridge: hires"].iloc[0]
    assert row["no_hires"] != row["push"] and row["push"].startswith("+")
    assert "Capacity P50" not in set(frame["figure"])
    assert len(compare.comparison_figures([runs["none"].summary, s])) == 4
    assert "No manager adjustments" in world_sections.adjustments_section(runs["solved"].summary).data
