"""The demo organisation: generating process, realism features, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from spm_models.data.demo import make_demo
from spm_models.data.validate import validate_tables

HIST_START = pd.Timestamp("2024-01-01")
HIST_END = pd.Timestamp("2026-12-31")


def _truth(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    return dict(zip(tables["truth"]["parameter"], tables["truth"]["value"], strict=True))


def _rep_months(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Active AE rep-months computed from the reps table alone."""
    reps = tables["reps"][tables["reps"]["role"] == "AE"]
    months = pd.period_range("2024-01", "2026-12", freq="M")
    rows = []
    for r in reps.itertuples():
        hire = pd.Period(r.hire_date, "M")
        term = pd.Period(r.term_date, "M") if pd.notna(r.term_date) else months[-1]
        for t, m in enumerate(months):
            if hire <= m <= term:
                rows.append((r.rep_id, str(m), t, (m - hire).n, m.month))
    return pd.DataFrame(rows, columns=["rep_id", "period", "t", "tau", "fm"])


def test_demo_is_valid_and_has_all_tables(demo_tables):
    names = {"reps", "bookings", "quotas", "accounts", "opportunities", "truth", "truth_reps"}
    assert names <= set(demo_tables)
    _, problems = validate_tables(demo_tables)
    assert problems == []


def test_truth_has_the_contract_parameters(demo_tables):
    truth = _truth(demo_tables)
    for name in ("base_deals", "deal_median", "deal_sigma", "season_amp", "season_peak", "trend",
                 "ramp_tau", "rep_sigma", "territory_sigma", "cancel_rate",
                 "attrition_monthly"):
        assert name in truth
    assert truth["season_peak"] == 11.5


def test_deterministic_for_a_seed():
    a = make_demo(n_reps=15, years=1, seed=7)
    b = make_demo(n_reps=15, years=1, seed=7)
    c = make_demo(n_reps=15, years=1, seed=8)
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name])
    assert not a["bookings"]["amount"].equals(c["bookings"]["amount"])


def test_zero_booking_rep_months_exist(demo_tables):
    rm = _rep_months(demo_tables)
    b = demo_tables["bookings"]
    booked = set(zip(b["rep_id"], b["date"].dt.strftime("%Y-%m"), strict=True))
    zero = [k for k in zip(rm["rep_id"], rm["period"], strict=True) if k not in booked]
    assert 0.02 * len(rm) < len(zero) < 0.5 * len(rm)


def test_cancellations_are_negative_rows_of_earlier_deals(demo_tables):
    b = demo_tables["bookings"]
    neg = b[b["amount"] < 0]
    assert len(neg) > 0
    deals = b[b["amount"] > 0].set_index("opp_id")
    orig = deals.loc[neg["opp_id"]]
    # a cancellation keeps its deal's type, so deal_type filters claw it back
    assert (neg["deal_type"].to_numpy() == orig["deal_type"].to_numpy()).all()
    np.testing.assert_allclose(orig["amount"].to_numpy(), -neg["amount"].to_numpy())
    lag = (neg["date"].dt.to_period("M").to_numpy() - orig["date"].dt.to_period("M").to_numpy())
    assert {x.n for x in lag} <= {1, 2, 3}
    share = len(neg) / len(deals)
    assert 0.01 < share < 0.06  # cancel_rate 0.03, minus those falling after the history


def test_hires_and_terminations_inside_history(demo_tables):
    reps = demo_tables["reps"]
    hired = reps["hire_date"].between(HIST_START, HIST_END)
    termed = reps["term_date"].between(HIST_START, HIST_END)
    assert hired.sum() >= 3 and termed.sum() >= 3
    assert (reps["term_date"].dropna() > reps.loc[reps["term_date"].notna(), "hire_date"]).all()
    # a terminated AE's territory gets a new hire 1-3 months later (or the seat is still open)
    ae = reps[reps["role"] == "AE"]
    for r in ae[ae["term_date"].notna()].itertuples():
        later = ae[(ae["territory_id"] == r.territory_id) & (ae["hire_date"] > r.term_date)]
        gap = (pd.Period(later["hire_date"].min(), "M") - pd.Period(r.term_date, "M")).n \
            if len(later) else None
        assert gap is None and r.term_date >= pd.Timestamp("2026-09-01") or gap in (1, 2, 3)


def test_visible_q4_peak(demo_tables):
    b = demo_tables["bookings"]
    monthly = b.groupby(b["date"].dt.to_period("M"))["amount"].sum()
    by_q = monthly.groupby(monthly.index.quarter).mean()
    assert by_q[4] > 1.1 * by_q[[1, 2, 3]].max()


def test_roles_and_who_books(demo_tables):
    reps = demo_tables["reps"]
    share = reps.drop_duplicates("rep_id")["role"].value_counts(normalize=True)
    assert set(share.index) == {"AE", "SE", "Manager"}
    assert 0.7 < share["AE"] < 0.9
    role = reps.set_index("rep_id")["role"]
    assert (role.loc[demo_tables["bookings"]["rep_id"].unique()] == "AE").all()
    assert (role.loc[demo_tables["quotas"]["rep_id"].unique()] == "AE").all()
    mgr = reps["manager_id"].dropna()
    assert (role.loc[mgr] == "Manager").all()
    assert reps.loc[reps["role"] != "Manager", "manager_id"].notna().all()


def test_bookings_within_tenure_and_territory(demo_tables):
    reps = demo_tables["reps"].set_index("rep_id")
    b = demo_tables["bookings"]
    new = b[b["amount"] > 0]
    r = reps.loc[new["rep_id"]]
    assert (new["date"].to_numpy() >= r["hire_date"].to_numpy()).all()
    term = r["term_date"].to_numpy()
    assert ((new["date"].to_numpy() <= term) | pd.isna(term)).all()
    # every booking (cancellations too) falls in a month with a quota for its rep
    q = demo_tables["quotas"]
    has_quota = set(zip(q["rep_id"], q["period"], strict=True))
    assert set(zip(b["rep_id"], b["date"].dt.strftime("%Y-%m"), strict=True)) <= has_quota
    acc = demo_tables["accounts"].set_index("account_id")
    assert (acc.loc[new["account_id"], "territory_id"].to_numpy()
            == r["territory_id"].to_numpy()).all()


def test_accounts_at_real_zips_and_unbalanced_territories(demo_tables):
    import zipcodes

    acc = demo_tables["accounts"]
    for row in acc.sample(20, random_state=0).itertuples():
        z = zipcodes.matching(row.zip)
        assert z and float(z[0]["lat"]) == pytest.approx(row.lat)
        assert z[0]["state"] == row.state
    pot = acc.groupby("territory_id")["potential"].sum()
    cv = pot.std() / pot.mean()
    assert 0.15 < cv < 0.45
    assert np.corrcoef(np.log(acc["potential"]), np.log(acc["workload"]))[0, 1] > 0.6
    ae_terr = set(demo_tables["reps"].query("role == 'AE'")["territory_id"])
    assert set(acc["territory_id"]) == ae_terr


def test_opportunities_match_deals_and_win_rate(demo_tables):
    o = demo_tables["opportunities"]
    b = demo_tables["bookings"]
    won = o[o["status"] == "won"]
    assert len(won) == (b["amount"] > 0).sum()
    closed = o["status"].isin(["won", "lost"])
    assert 0.25 < len(won) / closed.sum() < 0.35
    open_ = o[o["status"] == "open"]
    assert len(open_) > 0 and (open_["close_date"] > HIST_END).all()
    assert set(open_["stage"]) <= {"Prospecting", "Qualification", "Proposal", "Negotiation"}
    assert (o["close_date"] >= o["created_date"]).all()


def test_deal_counts_follow_the_documented_process(demo_tables):
    """Observed deal counts match the expected Poisson rate recomputed from truth tables."""
    tr = _truth(demo_tables)
    rm = _rep_months(demo_tables)
    tr_reps = demo_tables["truth_reps"].set_index("rep_id")
    x = tr_reps.loc[rm["rep_id"]]
    lam = np.exp(np.log(tr["base_deals"]) + x["region_eff"].to_numpy() + x["terr_eff"].to_numpy()
                 + x["skill"].to_numpy() + tr["trend"] * rm["t"].to_numpy() / 12
                 + tr["season_amp"] * np.cos(2 * np.pi * (rm["fm"].to_numpy()
                                                          - tr["season_peak"]) / 12)
                 + np.log(1 - np.exp(-(rm["tau"].to_numpy() + 1) / tr["ramp_tau"])))
    rm["lam"] = lam
    b = demo_tables["bookings"]
    new = b[b["amount"] > 0]
    obs = new.groupby([new["rep_id"], new["date"].dt.strftime("%Y-%m")]).size()
    rm["n"] = obs.reindex(pd.MultiIndex.from_frame(rm[["rep_id", "period"]])).fillna(0).to_numpy()
    for key in ("fm", "t"):  # by calendar month (seasonality) and by month index (trend)
        g = rm.groupby(key)[["lam", "n"]].sum()
        z = (g["n"] - g["lam"]) / np.sqrt(g["lam"])
        assert np.abs(z).max() < 4.5, z
    early = rm[rm["tau"] <= 1]
    if len(early) > 10:  # ramp: new hires book clearly less than their skill-adjusted rate
        assert early["n"].sum() < 0.75 * (early["lam"] / (1 - np.exp(
            -(early["tau"] + 1) / tr["ramp_tau"]))).sum()
    # deal sizes: median of log size near log(deal_median) + region_size_eff
    size_eff = demo_tables["truth_reps"].set_index("rep_id").loc[new["rep_id"], "region_size_eff"]
    resid = np.log(new["amount"].to_numpy()) - np.log(tr["deal_median"]) - size_eff.to_numpy()
    assert abs(np.median(resid)) < 0.06
    assert abs(resid.std() - tr["deal_sigma"]) < 0.05


def test_quotas_monthly_for_active_aes(demo_tables):
    q = demo_tables["quotas"]
    assert q["period"].str.fullmatch(r"\d{4}-\d{2}").all()
    assert (q["quota"] >= 0).all()
    rm = _rep_months(demo_tables)
    assert set(zip(q["rep_id"], q["period"], strict=True)) == set(
        zip(rm["rep_id"], rm["period"], strict=True))
    b = demo_tables["bookings"]
    attain = b["amount"].sum() / q["quota"].sum()
    assert 0.7 < attain < 1.2


def test_bad_arguments_are_input_errors():
    from spm_models.errors import InputError

    with pytest.raises(InputError, match="--reps"):
        make_demo(n_reps=1)
    with pytest.raises(InputError, match="--years"):
        make_demo(years=0)


def test_deal_types_and_margins(demo_tables):
    """An account's first won deal is new business, its later ones renewals or upsells; the
    gross margin is a product-dependent share of the amount, reversed by a cancellation."""
    b = demo_tables["bookings"].sort_values(["date", "booking_id"])
    won = b[b["amount"] > 0]
    assert set(won["deal_type"]) == {"new", "renewal", "upsell"}
    first = won.groupby("account_id")["deal_type"].first()
    assert (first == "new").all()
    assert (won.groupby("account_id")["deal_type"].apply(lambda s: (s == "new").sum()) == 1).all()
    rate = won["margin"] / won["amount"]
    assert rate.between(0.10, 0.95).all()
    by_product = rate.groupby(won["product"]).mean()
    assert by_product["Core Platform"] > by_product["Professional Services"] + 0.3
    cancel = b[b["amount"] < 0]
    assert (cancel["margin"] < 0).all() and (cancel["amount"] < 0).all()
    deal_rate = won.set_index("opp_id")["margin"] / won.set_index("opp_id")["amount"]
    c_rate = cancel["margin"].to_numpy() / cancel["amount"].to_numpy()
    assert np.allclose(c_rate, deal_rate.reindex(cancel["opp_id"]).to_numpy(), atol=1e-3)
