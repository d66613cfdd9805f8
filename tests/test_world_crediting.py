"""Crediting in the scenario world: managers on their team's simulated bookings (leavers and
hires per draw), overlays on their pods, ``where`` shares from the history, costs in the summary."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from world_helpers import ROOT, forecast_cube, history_tables, plans

from spm_models import figures
from spm_models.comp import Plan, team
from spm_models.comp import roles as comp_roles
from spm_models.errors import InputError
from spm_models.planning.world import WorldInputs, simulate_world

PLANS = ROOT / "scenarios" / "plans"
N_REPS = 12


@pytest.fixture(scope="module")
def world_setup():
    """12 AEs in two regions under managers M1 (East) and M2/M3 (West; M3 left in 2026),
    two SEs in East reporting to M1, one in West without a manager; hires in both regions;
    attrition so that reps leave in some draws."""
    fc = forecast_cube(n_reps=N_REPS, n_draws=200, n_recent=2)
    tables = history_tables(fc)
    b = tables["bookings"]
    # deal types: even reps sell 30 % renewals, odd reps none; margin 40 % of the amount
    rng = np.random.default_rng(3)
    rep_no = b["rep_id"].str[1:].astype(int)
    b["deal_type"] = np.where((rep_no % 2 == 0) & (rng.random(len(b)) < 0.3), "renewal", "new")
    b["margin"] = 0.4 * b["amount"]
    ids = fc["rep"].values.astype(str)
    region = fc["region"].values.astype(str)
    mgr = np.where(region == "East", "M1", np.where(np.arange(N_REPS) < 6, "M2", "M3"))
    reps = pd.DataFrame({"rep_id": ids, "role": "AE", "region": region, "manager_id": mgr,
                         "hire_date": pd.Timestamp("2020-01-01"), "term_date": pd.NaT,
                         "target_incentive": 100_000.0})
    staff = pd.DataFrame({
        "rep_id": ["M1", "M2", "M3", "S1", "S2", "S3", "S4"],
        "role": ["Manager", "Manager", "Manager", "SE", "SE", "SE", "SE"],
        "region": ["East", "West", "West", "East", "East", "West", "West"],
        "manager_id": [None, None, None, "M1", "M1", None, "M3"],
        "hire_date": pd.Timestamp("2019-01-01"),
        "term_date": [pd.NaT, pd.NaT, pd.Timestamp("2026-06-30"), pd.NaT, pd.NaT, pd.NaT, pd.NaT],
        "target_incentive": 60_000.0})
    tables["reps"] = pd.concat([reps, staff], ignore_index=True)
    ps = {**plans(), "Manager": Plan.from_yaml(PLANS / "manager_rollup.yaml"),
          "SE": Plan.from_yaml(PLANS / "se_overlay.yaml")}
    inputs = WorldInputs(forecast=fc, quota={"method": "equal_probability", "probability": 0.6},
                         plans=ps, tables=tables,
                         roster={"hiring_plan": {"2027-01": 3, "2027-03": 2}, "attrition_monthly": 0.05,
                                 "hiring_lag_months": 1, "ramp_tau": 3.0, "seed": 4,
                                 "hire_plan": "AE_new_hire"})
    world = simulate_world(inputs)
    return world, tables, ps


def _overlay(world, tables, ps):
    return comp_roles.overlay_credits(ps, world["bookings"], world["quota"], tables["reps"],
                                      np.asarray(world["plan_role"].values).astype(str),
                                      history=tables["bookings"])


def test_manager_is_credited_the_team_bookings_of_active_reps(world_setup):
    world, tables, ps = world_setup
    cr, qu, hier = _overlay(world, tables, ps)["Manager"]
    assert sorted(map(str, cr["rep"].values)) == ["M1", "M2"]  # M3 left before the plan year
    ids = world["rep"].values.astype(str)
    is_hire = world["is_hire"].values
    # M3's reps and every hire belong to an employed manager of their region
    region = world["region"].values.astype(str)
    for i, r in enumerate(ids):
        assert hier[r] == ("M1" if region[i] == "East" else "M2")
    assert is_hire.sum() == 5
    booked = world["bookings"] * world["active"]
    for m in ("M1", "M2"):
        team_mask = np.array([hier[r] == m for r in ids])
        expected = booked.isel(rep=team_mask).sum("rep").transpose("period", "draw")
        got = cr.sel(rep=m, measure="team_bookings").transpose("period", "draw")
        np.testing.assert_allclose(got.values, expected.values, rtol=1e-12)
        # the quota is the team's plan-day quota
        np.testing.assert_allclose(qu.sel(rep=m, measure="team_bookings").values,
                                   world["quota"].isel(rep=team_mask).sum("rep").values, rtol=1e-12)


def test_a_leaver_no_longer_reaches_the_manager(world_setup):
    world, tables, ps = world_setup
    cr, _qu, hier = _overlay(world, tables, ps)["Manager"]
    T = world.sizes["period"]
    leave = world["leave_month"].values
    r, d = np.argwhere((leave > 2) & (leave < T) & ~world["is_hire"].values[:, None])[0]
    rep = str(world["rep"].values[r])
    assert world["bookings"].values[r, leave[r, d]:, d].sum() == 0.0
    assert world["potential_bookings"].values[r, leave[r, d]:, d].sum() > 0.0
    # the manager's credit after the leave month is the sum over the other team members only
    team_ids = [x for x, m in hier.items() if m == hier[rep] and x in set(world["rep"].values.astype(str))]
    others = [x for x in team_ids if x != rep]
    after = slice(int(leave[r, d]), T)
    got = cr.sel(rep=hier[rep], measure="team_bookings").isel(draw=d, period=after).values
    np.testing.assert_allclose(got, world["bookings"].sel(rep=others).isel(draw=d, period=after)
                               .sum("rep").values, rtol=1e-12)
    # ...and before it the leaver's bookings are in (when it booked anything)
    before = slice(0, int(leave[r, d]))
    with_rep = world["bookings"].sel(rep=team_ids).isel(draw=d, period=before).sum("rep").values
    np.testing.assert_allclose(cr.sel(rep=hier[rep], measure="team_bookings").isel(draw=d, period=before).values,
                               with_rep, rtol=1e-12)


def test_overlay_pods_cover_each_carrier_once_and_conserve_money(world_setup):
    world, tables, ps = world_setup
    cr, _qu, cover = _overlay(world, tables, ps)["SE"]
    ids = world["rep"].values.astype(str)
    region = world["region"].values.astype(str)
    assert set(cover) == set(ids)  # every carrier covered by exactly one SE
    for r, g in zip(ids, region, strict=True):  # S4's manager M3 left: S4 covers its region
        assert cover[r] in ({"S1", "S2"} if g == "East" else {"S3", "S4"})
    for g, pair in (("East", ("S1", "S2")), ("West", ("S3", "S4"))):
        sizes = pd.Series([cover[r] for r, x in zip(ids, region, strict=True) if x == g]).value_counts()
        assert abs(sizes[pair[0]] - sizes[pair[1]]) <= 1  # round-robin pods
    total = cr.sel(measure="bookings").sum(["rep", "period"])
    np.testing.assert_allclose(total.values, world["bookings"].sum(["rep", "period"]).values, rtol=1e-12)


def test_where_shares_conserve_money_and_hires_take_their_region_share(world_setup):
    world, tables, _ps = world_setup
    plan = Plan.from_yaml(PLANS / "ae_new_vs_renewal.yaml")
    ids = world["rep"].values.astype(str)
    region = world["region"].values.astype(str)
    sh = team.world_shares(plan, tables["bookings"], tables["reps"], ids, region)
    # shares of the two measures (new + upsell, renewal) cover all of each rep's history
    np.testing.assert_allclose(sh.sum("measure").values, 1.0, rtol=1e-12)
    odd = np.array([not h and int(r[1:]) % 2 == 1 for r, h in zip(ids, world["is_hire"].values, strict=True)])
    assert (sh.sel(measure="renewals").values[odd] == 0).all()
    # a hire takes its region's pooled share: renewal amount ÷ all amount of the region's reps
    b = tables["bookings"].merge(tables["reps"][["rep_id", "region"]], on="rep_id")
    for i in np.flatnonzero(world["is_hire"].values):
        g = b[b["region"] == region[i]]
        want = g.loc[g["deal_type"] == "renewal", "amount"].sum() / g["amount"].sum()
        assert sh.sel(measure="renewals").values[i] == pytest.approx(want, rel=1e-12)
    # credits across the filtered measures sum to the simulated bookings × shares (= bookings)
    cr, qu = comp_roles.carrier_credits(plan, world["bookings"], world["quota"], sh)
    np.testing.assert_allclose(cr.sum("measure").values, world["bookings"].transpose(*cr.sum("measure").dims).values,
                               rtol=1e-12)
    np.testing.assert_allclose(cr.sel(measure="renewals").values,
                               (world["bookings"] * sh.sel(measure="renewals", drop=True))
                               .transpose(*cr.sel(measure="renewals").dims).values, rtol=1e-12)
    np.testing.assert_allclose(qu.sum("measure").values, world["quota"].transpose(*qu.sum("measure").dims).values,
                               rtol=1e-12)


def test_world_pays_a_where_plan_on_shares(world_setup):
    """A where-filtered AE plan in the world credits each rep its history shares: reps with
    no renewals earn the new-business rate on all their bookings."""
    _world, tables, _ps = world_setup
    fc = forecast_cube(n_reps=N_REPS, n_draws=200, n_recent=2)
    nvr = Plan.from_yaml(PLANS / "ae_new_vs_renewal.yaml")
    inputs = WorldInputs(forecast=fc, quota={"method": "equal_probability", "probability": 0.6},
                         plans={"AE": nvr}, tables=tables, roster={"seed": 4})
    w = simulate_world(inputs, ())
    pay = w["payout"].sum("period")
    odd = np.array([int(r[1:]) % 2 == 1 for r in w["rep"].values.astype(str)])
    # odd reps: renewals share 0 → renewals quota 0 in every period is dropped by the engine or
    # pays 0; new_business attainment = bookings attainment
    att = (w["bookings"].sum("period") / w["quota"].sum("period")).values
    rate = np.where(att <= 1, 0.10 * att, 0.10 + 0.15 * (att - 1))
    q = w["quota"].sum("period").values[:, None]
    np.testing.assert_allclose(pay.values[odd], (rate * q)[odd], rtol=1e-9)


def test_overlay_plan_without_rollup_is_an_error(world_setup):
    world, tables, ps = world_setup
    bad = {**ps, "SE": Plan.from_yaml(PLANS / "ae_standard.yaml")}
    with pytest.raises(InputError, match=r"ae_standard\.yaml, key 'measures\[0\]\.credit\.rollup'"):
        _overlay(world, tables, bad)
    # an overlay measure filtered by deal type needs the booking history for its shares
    raw = Plan.from_yaml(PLANS / "se_overlay.yaml").raw
    raw["measures"][1]["credit"] = {"rollup": True, "where": {"deal_type": ["new"]}}
    se_new = Plan.from_dict(raw, source="se_new.yaml")
    with pytest.raises(InputError, match=r"se_new\.yaml, key 'measures\[1\]\.credit'"):
        comp_roles.overlay_credits({**ps, "SE": se_new}, world["bookings"], world["quota"], tables["reps"],
                                   np.asarray(world["plan_role"].values).astype(str), history=None)
    # with the history, the filtered measure is credited the pod's bookings × its new-deal shares
    cr, _qu, cover = comp_roles.overlay_credits(
        {**ps, "SE": se_new}, world["bookings"], world["quota"], tables["reps"],
        np.asarray(world["plan_role"].values).astype(str), history=tables["bookings"])["SE"]
    ids = world["rep"].values.astype(str)
    sh = team.world_shares(se_new, tables["bookings"], tables["reps"], ids, world["region"].values.astype(str))
    want = (world["bookings"] * sh.sel(measure="new_logos", drop=True)).sel(rep=[r for r in ids if cover[r] == "S3"])
    np.testing.assert_allclose(cr.sel(rep="S3", measure="new_logos").transpose("period", "draw").values,
                               want.sum("rep").transpose("period", "draw").values, rtol=1e-12)
    assert float(sh.sel(measure="new_logos").min()) < 1.0  # renewals are not new business


def test_summary_cost_includes_manager_and_overlay_payouts(world_setup):
    world, tables, ps = world_setup
    ov = comp_roles.overlay_payouts(ps, world["bookings"], world["quota"], tables["reps"],
                                    np.asarray(world["plan_role"].values).astype(str),
                                    history=tables["bookings"])
    assert set(ov["role"].values.astype(str)) == {"Manager", "SE"}
    mgr = ov["payout"].isel(rep=ov["role"].values == "Manager").sum(["rep", "period"])
    assert float(mgr.median()) > 0
    carriers = figures.incentive_cost(world["payout"])
    total = figures.incentive_cost(world["payout"], ov["payout"])
    np.testing.assert_allclose(total.values, carriers.values + ov["payout"].sum(["rep", "period"]).values)
    assert (total > carriers).all()
    from spm_models.workflow.summary import cost_by_plan

    tree = xr.DataTree.from_dict({"/comp": xr.Dataset({"payout": world["payout"], "plan": world["plan"]}),
                                  "/overlay": ov})
    from spm_models.workflow.summary import incentive_cost_of

    np.testing.assert_allclose(incentive_cost_of(tree).values, total.values)  # summary.json's cost
    by_plan = cost_by_plan(tree)
    assert {"Manager", "SE", "AE"} <= set(by_plan)
    assert by_plan["Manager"]["p50"] == figures.quantiles(mgr)["p50"]


def test_director_above_managers_is_credited_every_level_below(world_setup):
    world, tables, ps = world_setup
    reps = tables["reps"].copy()
    reps.loc[reps["rep_id"].isin(["M1", "M2"]), "manager_id"] = "D"
    reps = pd.concat([reps, pd.DataFrame({"rep_id": ["D"], "role": ["Director"], "region": ["East"],
                                          "hire_date": [pd.Timestamp("2018-01-01")],
                                          "target_incentive": [90_000.0]})], ignore_index=True)
    plans2 = {**ps, "Director": ps["Manager"]}
    out = comp_roles.overlay_credits(plans2, world["bookings"], world["quota"], reps,
                                     np.asarray(world["plan_role"].values).astype(str),
                                     history=tables["bookings"])
    d = out["Director"][0].sel(rep="D", measure="team_bookings")
    np.testing.assert_allclose(d.transpose("period", "draw").values,
                               world["bookings"].sum("rep").transpose("period", "draw").values, rtol=1e-12)
    m = out["Manager"][0].sel(measure="team_bookings").sum("rep")
    np.testing.assert_allclose(m.transpose("period", "draw").values, d.transpose("period", "draw").values,
                               rtol=1e-12)


def test_without_a_hierarchy_managers_are_credited_region_pods(world_setup):
    world, tables, ps = world_setup
    reps = tables["reps"].drop(columns="manager_id")
    assert team.carrier_managers(reps, world["rep"].values, world["region"].values, world["period"].values) == {}
    cr, _qu, cover = comp_roles.overlay_credits(
        {"Manager": ps["Manager"]}, world["bookings"], world["quota"], reps,
        np.asarray(world["plan_role"].values).astype(str))["Manager"]
    region = dict(zip(world["rep"].values.astype(str), world["region"].values.astype(str), strict=True))
    assert {region[r] for r, m in cover.items() if m == "M1"} == {"East"}
    np.testing.assert_allclose(cr.sel(measure="team_bookings").sum("rep").values,
                               world["bookings"].sum("rep").transpose(*cr.sel(measure="team_bookings")
                                                                     .sum("rep").dims).values, rtol=1e-12)


def test_approved_quota_adjustment_re_pays_a_where_plan_on_shares(world_setup):
    """An approved quota adjustment re-pays the world with the booking history, so a
    where-filtered plan keeps its shares: a +25 % quota on one rep lowers that rep's pay and
    leaves every other rep's pay unchanged."""
    from spm_models.distribution.adjustments import Adjustment
    from spm_models.workflow.adjust_step import adjust_quotas

    _world, tables, _ps = world_setup
    fc = forecast_cube(n_reps=N_REPS, n_draws=200, n_recent=2)
    nvr = {"AE": Plan.from_yaml(PLANS / "ae_new_vs_renewal.yaml")}
    inputs = WorldInputs(forecast=fc, quota={"method": "equal_probability", "probability": 0.6},
                         plans=nvr, tables=tables, roster={"seed": 4})
    w = simulate_world(inputs, ())
    rep = str(w["rep"].values[0])
    adj = Adjustment(id="A1", scenario="s", target="rep", target_id=rep, what="quota", size=0.25,
                     sd=0.0, reason="test", proposed_by="x", proposed_os_user="x",
                     proposed_at="2027-01-01", status="approved")
    out = adjust_quotas(w, nvr, [adj], tables)
    np.testing.assert_allclose(out["quota"].sel(rep=rep).values, 1.25 * w["quota"].sel(rep=rep).values)
    before, after = w["payout"].sum(["period", "draw"]), out["payout"].sum(["period", "draw"])
    assert float(after.sel(rep=rep)) < float(before.sel(rep=rep))
    others = [r for r in w["rep"].values if str(r) != rep]
    np.testing.assert_allclose(after.sel(rep=others).values, before.sel(rep=others).values, rtol=1e-12)
