"""What-if computation and overlay comp on a synthetic cube (known answers, no forecast fit)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
import yaml

from spm_models.cube import month_range


def _plan(rate_hi: float = 0.15, cap: float | None = None, single: bool = False) -> dict:
    tiers = [{"rate": 0.10}] if single else [{"to": 1.0, "rate": 0.10}, {"rate": rate_hi}]
    m = {"name": "bookings", "quota_period": "year", "basis": "revenue", "tiers": tiers}
    if cap:
        m["cap"] = {"attainment": cap}
    return {"name": "t", "plan_year_start": "2027-01", "payout_frequency": "quarter",
            "target_incentive": 50000, "measures": [m]}


@pytest.fixture
def result(tmp_path):
    from spm_models.comp.roles import simulate_roles
    from spm_models.scenario import load_scenario
    from spm_models.workflow import ScenarioResult, load_plans
    from spm_models.workflow.run import assemble_tree

    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "ae.yaml").write_text(yaml.safe_dump(_plan(single=True)))
    (plans / "ae_accel.yaml").write_text(yaml.safe_dump(_plan(rate_hi=0.3, cap=2.0)))
    se = _plan(single=True)
    se["measures"][0]["credit"] = {"rollup": True}  # overlays are credited their pod's bookings
    (plans / "se.yaml").write_text(yaml.safe_dump(se))
    sc_path = tmp_path / "s.yaml"
    sc_path.write_text(yaml.safe_dump({"name": "s", "data": str(tmp_path / "x.duckdb"),
                                       "target": 5e6, "plans": {"AE": "plans/ae.yaml",
                                                                "SE": "plans/se.yaml"}}))
    sc = load_scenario(sc_path)
    rng = np.random.default_rng(0)
    reps = [f"R{i}" for i in range(20)]
    periods = month_range("2027-01", 12)
    bookings = xr.DataArray(rng.gamma(2.0, 10_000.0, (20, 12, 400)), dims=["rep", "period", "draw"],
                            coords={"rep": reps, "period": periods, "draw": np.arange(400)})
    region = np.array(["W"] * 10 + ["E"] * 10)
    bookings = bookings.assign_coords(region=("rep", region))
    quota = xr.DataArray(np.full((20, 12), 20_000.0), dims=["rep", "period"],
                         coords={"rep": reps, "period": periods})
    table = pd.DataFrame({"rep_id": reps + ["S1", "S2", "S3"], "role": ["AE"] * 20 + ["SE"] * 3,
                          "region": list(region) + ["W", "W", "E"],
                          "territory_id": [f"T{i}" for i in range(23)],
                          "hire_date": pd.Timestamp("2020-01-01"), "target_incentive": 50000.0})
    roles = np.array(["AE"] * 20)
    ti = xr.DataArray(np.full(20, 50000.0), dims=["rep"], coords={"rep": reps})
    p = load_plans(sc)
    comp = simulate_roles(p, bookings, quota, ti, roles)
    rinfo = table.set_index("rep_id").reindex(reps)
    tables = {"reps": table, "bookings": pd.DataFrame({"rep_id": reps, "date": "2026-01-05",
                                                       "amount": 1.0})}
    tree = assemble_tree(bookings.to_dataset(name="bookings"), quota, comp, rinfo, roles, ti,
                         tables)
    return ScenarioResult(sc, tree, {}, tables)


def test_single_tier_cost_is_rate_times_revenue(result):
    from spm_models.comp.roles import overlay_payouts
    from spm_models.workflow import load_plans

    cube = result.cube
    revenue = cube["bookings"].sum(["rep", "period"]).values
    np.testing.assert_allclose(cube["payout"].sum(["rep", "period"]).values, 0.10 * revenue,
                               rtol=1e-9)
    # overlay: each SE is credited its pod (no managers: the region's AEs dealt round-robin,
    # W: R0, R2, ... to S1 and R1, R3, ... to S2; E: all to S3) at 10 %
    ov = overlay_payouts(load_plans(result.scenario), cube["bookings"], cube["quota"],
                         result.tables["reps"], np.array(["AE"] * 20),
                         np.asarray(cube["region"].values))
    assert list(ov["rep"].values) == ["S1", "S2", "S3"]
    assert list(ov["role"].values) == ["SE"] * 3
    per_se = ov["payout"].sum("period")
    annual = cube["bookings"].sum("period")
    pod = {"S1": [f"R{i}" for i in range(0, 10, 2)], "S2": [f"R{i}" for i in range(1, 10, 2)],
           "S3": [f"R{i}" for i in range(10, 20)]}
    for se, members in pod.items():
        np.testing.assert_allclose(per_se.sel(rep=se), 0.10 * annual.sel(rep=members).sum("rep"),
                                   rtol=1e-9)


def test_whatif_known_answers_and_directions(result):
    from spm_models.widgets import WhatIf

    wi = WhatIf(result)
    base = wi.compute()
    revenue = result.cube["bookings"].sum(["rep", "period"]).values
    # AE 10 % of revenue + SE overlay 10 % of revenue (every region's bookings are credited once)
    np.testing.assert_allclose(np.sort(base.cost_draws), np.sort(0.20 * revenue), rtol=1e-9)
    assert base.n_reps == 20
    # switching to the accelerated plan raises cost; lowering its cap lowers it again
    accel = wi.compute(plan="ae_accel.yaml")
    assert accel.incentive_cost["p50"] > base.incentive_cost["p50"]
    more = wi.compute(plan="ae_accel.yaml", accelerator=0.5)
    assert more.incentive_cost["p50"] > accel.incentive_cost["p50"]
    capped = wi.compute(plan="ae_accel.yaml", accelerator=0.5, cap=1.0)
    assert capped.incentive_cost["p50"] < more.incentive_cost["p50"]
    # a higher quota: fewer reps at quota; same revenue
    up = wi.compute(quota_uplift=0.5)
    assert up.share_reps_at_quota < base.share_reps_at_quota
    assert up.revenue == base.revenue
    # a threshold above everyone's attainment: AE pays nothing, the SE overlay still pays
    thr = wi.compute(plan="ae_accel.yaml", threshold=10.0)
    np.testing.assert_allclose(np.sort(thr.cost_draws), np.sort(0.10 * revenue), rtol=1e-9)
    # a result without a world has no hiring curve: the hires control is off
    assert wi.curve is None and wi.max_hires == wi.hires == 0


HEADLINE = ("revenue", "incentive_cost", "cost_of_sales", "share_reps_at_quota",
            "prob_company_target", "prob_cost_over_budget")


def test_whatif_and_summary_give_identical_figures(result):
    """The one reducer: summary.json and the what-if panel agree exactly on the same inputs."""
    from spm_models.comp.roles import overlay_payouts
    from spm_models.widgets import WhatIf
    from spm_models.workflow import load_plans
    from spm_models.workflow.summary import summarize

    cube = result.cube
    ov = overlay_payouts(load_plans(result.scenario), cube["bookings"], cube["quota"],
                         result.tables["reps"], np.asarray(cube["role"].values),
                         np.asarray(cube["region"].values))
    result.tree["overlay"] = xr.DataTree(ov)
    assert result.tree["overlay"].to_dataset()["payout"].dims == ("rep", "period", "draw")
    result.scenario.spec["budget"] = float(np.median(
        result.cube["payout"].sum(["rep", "period"]) * 2.0))
    summary = summarize(result.tree, result.scenario, "h")
    figs = WhatIf(result).compute().figures
    assert {k: summary[k] for k in HEADLINE} == {k: figs[k] for k in HEADLINE}
    # every figure is informative here (no trivial 0/None agreement)
    assert summary["prob_company_target"] is not None and summary["prob_cost_over_budget"] is not None
    assert 0 < summary["share_reps_at_quota"]["p50"] < 1
    # the overlay is in both costs: twice the AE plan's 10 % of revenue
    assert summary["incentive_cost"]["p50"] == pytest.approx(0.2 * summary["revenue"]["p50"], rel=0.05)
    # a what-if change moves the figures away from the summary's
    assert WhatIf(result).compute(quota_uplift=0.3).figures["share_reps_at_quota"] != \
        summary["share_reps_at_quota"]


def test_overlay_payouts_of_scaled_quotas_equal_a_full_overlay_run(result):
    """The what-if panel credits overlays once and scales their quotas by the uplift: the
    same payouts as crediting and paying on carrier quotas × (1 + uplift), for a plan where
    the quota matters (accelerator above 100 %, cap at 200 %)."""
    from spm_models.comp.plan import Plan
    from spm_models.comp.roles import overlay_credits, overlay_payouts, overlay_payouts_of
    from spm_models.workflow import load_plans

    plans = dict(load_plans(result.scenario))
    accel = yaml.safe_load((result.scenario.path.parent / "plans" / "ae_accel.yaml")
                           .read_text())
    accel["measures"][0]["credit"] = {"rollup": True}
    path = result.scenario.path.parent / "plans" / "se_accel.yaml"
    path.write_text(yaml.safe_dump(accel))
    plans["SE"] = Plan.from_yaml(path)
    cube = result.cube
    args = (cube["bookings"], cube["quota"], result.tables["reps"], np.array(["AE"] * 20),
            np.asarray(cube["region"].values))
    credits = overlay_credits(plans, *args)
    months = [str(p) for p in cube["period"].values]
    for uplift in (0.0, 0.3, -0.2):
        want = overlay_payouts(plans, cube["bookings"], cube["quota"] * (1 + uplift), *args[2:])
        got = overlay_payouts_of(plans, credits, result.tables["reps"], months, 1 + uplift)
        np.testing.assert_allclose(got["payout"].values, want["payout"].values, rtol=1e-12)
    # the quota level matters for this plan: a higher quota pays the SEs less
    low = overlay_payouts_of(plans, credits, result.tables["reps"], months, 1.0)
    high = overlay_payouts_of(plans, credits, result.tables["reps"], months, 1.5)
    assert float(high["payout"].sum()) < float(low["payout"].sum())


def test_whatif_credits_a_filtered_plan_on_history_shares_like_the_world(result):
    """Switching to a where-filtered plan (new business vs renewals) in the what-if panel pays
    each rep on its history shares, exactly as the scenario world does
    (:func:`spm_models.planning.world.world_payouts` with the booking history)."""
    import shutil
    from pathlib import Path

    from spm_models.comp.plan import Plan
    from spm_models.planning.world import world_payouts
    from spm_models.widgets import WhatIf

    root = Path(__file__).resolve().parents[1] / "scenarios" / "plans"
    plans_dir = result.scenario.path.parent / "plans"
    shutil.copy(root / "ae_new_vs_renewal.yaml", plans_dir / "nvr.yaml")
    hist = result.tables["bookings"]
    # even reps sold only renewals, odd reps only new business
    hist["deal_type"] = np.where(hist["rep_id"].str[1:].astype(int) % 2 == 0, "renewal", "new")
    cube = result.cube
    nvr = Plan.from_yaml(plans_dir / "nvr.yaml")
    ti = xr.full_like(cube["bookings"].isel(period=0, draw=0, drop=True), np.nan, dtype=float)
    want_ae = world_payouts({"AE": nvr}, cube["bookings"], cube["quota"], ti,
                            np.array(["AE"] * 20), None, result.tables)["payout"]
    revenue = cube["bookings"].sum(["rep", "period"]).values
    got = WhatIf(result).compute(plan="nvr.yaml")
    # AE on the shares + the SE overlay's flat 10 % of revenue
    np.testing.assert_allclose(got.cost_draws, want_ae.sum(["rep", "period"]).values + 0.10 * revenue,
                               rtol=1e-9)
    # the shares matter: renewal-only reps earn 3 %, new-business reps 10 %+ of their quota
    per_rep = want_ae.sum(["period", "draw"])
    assert float(per_rep.sel(rep="R0")) < 0.5 * float(per_rep.sel(rep="R1"))
