"""Property tests (hypothesis) over random plans with the keys of part 2 of the contract.

- the engine matches a literal, exact (Fraction) reading of the part-2 rules (curves,
  modifiers, advance caps);
- a plan without part-2 keys computes as before (the pre-part-2 numpy engine);
- a step curve never pays between steps; a linear curve is continuous in attainment;
- a modifier of 1 everywhere changes nothing;
- an advance-capped plan pays the same year total as the uncapped plan (no clawback, no draw);
- crediting conserves money.
"""

from __future__ import annotations

import copy
import itertools
from fractions import Fraction

import comp_legacy_engine
import numpy as np
import pandas as pd
import xarray as xr
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_comp_properties import _F, LENGTH, _arrays, _earn, books_st, plans_st

from spm_models.comp import Plan, compute_payouts
from spm_models.comp.crediting import credit_bookings

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# ---------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------
@st.composite
def table_st(draw, min_size: int = 1):
    n = draw(st.integers(min_size, 4))
    xs = sorted(draw(st.sets(st.integers(0, 50), min_size=n, max_size=n)))
    return [[x / 20, draw(st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 2.0]))] for x in xs]


@st.composite
def part2_plans_st(draw, allow_draw: bool = True, curves: bool = True, modifiers: bool = True,
                   advance: bool = True):
    plan = draw(plans_st(allow_draw=allow_draw))
    ms = plan["measures"]
    for m in ms:
        if curves and draw(st.booleans()):
            m.pop("tiers")
            m.pop("retroactive", None)
            m["curve"] = {"points": draw(table_st()),
                          "interpolate": draw(st.sampled_from(["linear", "step"]))}
        if advance and draw(st.booleans()):
            m["advance_cap"] = draw(st.sampled_from([0.5, 1.0, 1.2]))
    if modifiers and len(ms) == 2 and draw(st.booleans()):
        ms[1]["quota_period"] = ms[0]["quota_period"]
        ms[0]["modifiers"] = [{"measure": "m1", "table": draw(table_st())}
                              for _ in range(draw(st.integers(1, 2)))]
    return plan


# ---------------------------------------------------------------------------------------
# literal reference of part 2 (one rep, exact fractions)
# ---------------------------------------------------------------------------------------
def _table(points, a: Fraction, linear: bool) -> Fraction:
    pts = [(_F(x), _F(y)) for x, y in points]
    if a < pts[0][0]:
        return Fraction(0)
    k = max(i for i, (x, _) in enumerate(pts) if x <= a)
    if linear and k + 1 < len(pts):
        (x0, y0), (x1, y1) = pts[k], pts[k + 1]
        return y0 + (y1 - y0) * (a - x0) / (x1 - x0)
    return pts[k][1]


def earn2(m: dict, a: Fraction, unit: Fraction) -> Fraction:
    """Rule 3 with a curve (part 2) or tiers (part 1)."""
    if "curve" not in m:
        return _earn(m, a, unit)
    if a < _F(m.get("threshold", 0)):
        return Fraction(0)
    cap = m.get("cap", {})
    a1 = min(a, _F(cap["attainment"])) if "attainment" in cap else a
    return unit * _table(m["curve"]["points"], a1, m["curve"].get("interpolate") == "linear")


def reference2(plan: dict, credits: np.ndarray, quotas: np.ndarray, ti=40000):
    """(earned_to_date, payout) at each payout period end for one rep (credits (12, M))."""
    pm = LENGTH[plan["payout_frequency"]]
    names = [m["name"] for m in plan["measures"]]

    def att(mi: int, q0: int, L: int, upto: int) -> Fraction | None:
        Q = sum(_F(quotas[u, mi]) for u in range(q0, q0 + L))
        if Q == 0:
            return None
        return sum((_F(credits[u, mi]) for u in range(q0, upto + 1)), Fraction(0)) / Q

    etd_at = []
    for t in range(12):
        total = Fraction(0)
        for mi, m in enumerate(plan["measures"]):
            L = LENGTH[m["quota_period"]]
            earned = Fraction(0)
            for q0 in range(0, t + 1, L):
                upto = min(t, q0 + L - 1)
                a = att(mi, q0, L, upto)
                if a is None:
                    continue
                Q = sum(_F(quotas[u, mi]) for u in range(q0, q0 + L))
                unit = Q if m.get("basis", "revenue") == "revenue" else \
                    _F(ti) * _F(m.get("weight", 1.0)) * Fraction(L, 12)
                e = earn2(m, a, unit)
                for mod in m.get("modifiers", []):
                    am = att(names.index(mod["measure"]), q0, L, upto)
                    e *= _table(mod["table"], am if am is not None else Fraction(0), False)
                if "advance_cap" in m and upto < q0 + L - 1:
                    k = upto - q0 + 1
                    e = min(e, _F(m["advance_cap"]) * Fraction(k, L) * earn2(m, Fraction(1), unit))
                earned += e
                for b in plan.get("bonuses", []):
                    if b["measure"] == m["name"]:
                        best = max(att(mi, q0, L, s) for s in range(q0, upto + 1))
                        if best >= _F(b["at"]):
                            total += _F(b["amount"])
            cap = m.get("cap", {})
            total += min(earned, _F(cap["payout"])) if "payout" in cap else earned
        etd_at.append(total)
    draw = plan.get("draw")
    counted, etd, pay = Fraction(0), [], []
    for t in range(pm - 1, 12, pm):
        due = etd_at[t] - counted
        paid = max(due, _F(draw["amount"])) if draw else max(due, Fraction(0))
        counted += paid if (draw is None or draw.get("recoverable", True)) else max(due, Fraction(0))
        etd.append(etd_at[t])
        pay.append(paid)
    return [float(x) for x in etd], [float(x) for x in pay]


# ---------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------
@SETTINGS
@given(st.data())
def test_engine_matches_literal_part2_rules(data) -> None:
    plan = data.draw(part2_plans_st())
    credits, quotas = data.draw(books_st(plan))
    ds = compute_payouts(Plan.from_dict(plan), *_arrays(plan, credits, quotas))
    for r in range(credits.shape[0]):
        etd, pay = reference2(plan, credits[r], quotas[r])
        np.testing.assert_allclose(ds["earned_to_date"].values[r], etd, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(ds["payout"].values[r], pay, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(st.data())
def test_plan_without_part2_keys_computes_as_before(data) -> None:
    plan = data.draw(plans_st())
    credits, quotas = data.draw(books_st(plan))
    p = Plan.from_dict(plan)
    c, q = _arrays(plan, credits, quotas)
    new = compute_payouts(p, c, q)
    old = comp_legacy_engine.compute_payouts(p, c, q)
    for v in old.data_vars:
        np.testing.assert_allclose(new[v].values, old[v].values, rtol=1e-12, atol=1e-7,
                                   err_msg=v)
    # a credit section changes crediting only, never the payout of given credits
    with_credit = copy.deepcopy(plan)
    for m in with_credit["measures"]:
        m["credit"] = {"where": {"deal_type": ["new"]}}
    xr.testing.assert_identical(compute_payouts(Plan.from_dict(with_credit), c, q).drop_attrs(),
                                new.drop_attrs())


def _year_earnings(plan: dict, attainments: np.ndarray) -> np.ndarray:
    """Plan-year earnings of one TI-basis measure (annual quota, yearly payout) at each
    attainment (credits all in January)."""
    n = len(attainments)
    credits = np.zeros((n, 12, 1))
    credits[:, 0, 0] = attainments * 1200.0
    quotas = np.full((n, 12, 1), 100.0)
    ds = compute_payouts(Plan.from_dict(plan), *_arrays(plan, credits, quotas))
    return ds["earned_to_date"].values[:, -1]


def _curve_plan(points, interpolate: str) -> dict:
    return {"name": "c", "plan_year_start": "2027-01", "payout_frequency": "year",
            "target_incentive": 1000,
            "measures": [{"name": "m0", "basis": "target_incentive", "quota_period": "year",
                          "curve": {"points": points, "interpolate": interpolate}}]}


@SETTINGS
@given(table_st(min_size=2), st.lists(st.floats(0, 3.0), min_size=1, max_size=30))
def test_step_curve_never_pays_between_steps(points, attainments) -> None:
    got = _year_earnings(_curve_plan(points, "step"), np.array(attainments))
    allowed = {0.0} | {1000.0 * y for _, y in points}
    for a, e in zip(attainments, got):
        assert min(abs(e - v) for v in allowed) < 1e-9, (a, e)
        below = [y for x, y in points if x <= a]
        if all(abs(a - x) > 1e-9 for x, _ in points):  # off the boundaries: the exact step
            assert abs(e - (1000.0 * below[-1] if below else 0.0)) < 1e-9


@SETTINGS
@given(table_st(min_size=2), st.lists(st.floats(0, 3.0), min_size=1, max_size=30))
def test_linear_curve_is_continuous(points, attainments) -> None:
    a = np.array([x for x in attainments if x >= points[0][0]] + [points[0][0]])
    eps = 1e-7
    lo = _year_earnings(_curve_plan(points, "linear"), a)
    hi = _year_earnings(_curve_plan(points, "linear"), a + eps)
    slopes = [abs(y1 - y0) / (x1 - x0) for (x0, y0), (x1, y1) in itertools.pairwise(points)]
    bound = 1000.0 * max(slopes + [0.0]) * eps * 1.01 + 1e-9
    assert (np.abs(hi - lo) <= bound).all()
    # and between two points it is the straight line
    (x0, y0), (x1, y1) = points[0], points[1]
    mid = _year_earnings(_curve_plan(points, "linear"), np.array([(x0 + x1) / 2]))
    assert abs(mid[0] - 1000.0 * (y0 + y1) / 2) < 1e-6


@SETTINGS
@given(st.data())
def test_modifier_of_one_changes_nothing(data) -> None:
    plan = data.draw(part2_plans_st(modifiers=False))
    if len(plan["measures"]) < 2:
        return
    plan["measures"][1]["quota_period"] = plan["measures"][0]["quota_period"]
    credits, quotas = data.draw(books_st(plan, nonneg=True))  # attainments >= 0: factor 1
    mod = copy.deepcopy(plan)
    mod["measures"][0]["modifiers"] = [{"measure": "m1", "table": [[0.0, 1.0]]}]
    c, q = _arrays(plan, credits, quotas)
    xr.testing.assert_allclose(compute_payouts(Plan.from_dict(mod), c, q),
                               compute_payouts(Plan.from_dict(plan), c, q))


@SETTINGS
@given(st.data())
def test_advance_cap_keeps_the_year_total(data) -> None:
    plan = data.draw(part2_plans_st(allow_draw=False, advance=False))
    credits, quotas = data.draw(books_st(plan, nonneg=True))
    capped = copy.deepcopy(plan)
    for m in capped["measures"]:
        m["advance_cap"] = data.draw(st.sampled_from([0.0, 0.5, 1.0]))
    c, q = _arrays(plan, credits, quotas)
    base = compute_payouts(Plan.from_dict(plan), c, q)
    adv = compute_payouts(Plan.from_dict(capped), c, q)
    # reps whose earnings never fall (non-monotone tiers or curves can claw back)
    ok = ((np.diff(base["earned_to_date"].values, axis=-1) >= -1e-9).all(-1)
          & (np.diff(adv["earned_to_date"].values, axis=-1) >= -1e-9).all(-1))
    np.testing.assert_allclose(adv["payout"].sum("period").values[ok],
                               base["payout"].sum("period").values[ok], rtol=1e-12, atol=1e-6)
    # paced: earned to date never above the uncapped plan's
    assert (adv["earned_to_date"].values <= base["earned_to_date"].values + 1e-6).all()


@st.composite
def bookings_st(draw):
    n = draw(st.integers(1, 40))
    reps = ["A", "B", "C", "D"]
    rows, splits = [], []
    for i in range(n):
        rows.append({"booking_id": f"b{i}", "rep_id": draw(st.sampled_from(reps)),
                     "date": f"2027-{draw(st.integers(1, 12)):02d}-{draw(st.integers(1, 28)):02d}",
                     "amount": draw(st.integers(-5000, 50000)) / 4,
                     "deal_type": draw(st.sampled_from(["new", "renewal", "upsell"]))})
        if draw(st.booleans()):
            k = draw(st.integers(1, 3))
            who = draw(st.lists(st.sampled_from(reps + ["E"]), min_size=k, max_size=k,
                                unique=True))
            raw = [draw(st.integers(1, 10)) for _ in who]
            shares = [x / sum(raw) for x in raw]
            shares[-1] = 1.0 - sum(shares[:-1])
            splits += [{"booking_id": f"b{i}", "rep_id": w, "share": s}
                       for w, s in zip(who, shares)]
    return pd.DataFrame(rows), (pd.DataFrame(splits) if splits else None)


@SETTINGS
@given(bookings_st(), st.sampled_from([None, ["new"], ["new", "upsell"]]))
def test_crediting_conserves_money(tables, allowed) -> None:
    bookings, splits = tables
    credit = {"where": {"deal_type": allowed}} if allowed else {}
    plan = Plan.from_dict({"name": "c", "plan_year_start": "2027-01",
                           "measures": [{"name": "m", "tiers": [{"rate": 0.1}],
                                         "credit": credit}]})
    credits = credit_bookings(plan, bookings.astype(str), splits.astype(str)
                              if splits is not None else None)
    match = bookings if allowed is None else bookings[bookings["deal_type"].isin(allowed)]
    assert abs(credits["amount"].sum() - match["amount"].sum()) < 1e-5 * (1 + len(bookings))
    # per month, too; and rows are unique, non-zero and sorted
    by_month = credits.groupby("period")["amount"].sum()
    want = match.assign(period=match["date"].str[:7]).groupby("period")["amount"].sum()
    joined = pd.concat([by_month, want], axis=1).fillna(0.0)
    assert (np.abs(joined.iloc[:, 0] - joined.iloc[:, 1]) < 1e-5 * (1 + len(bookings))).all()
    assert (credits["amount"] != 0).all()
    assert not credits.duplicated(["rep_id", "period", "measure"]).any()
    keys = list(zip(credits["rep_id"], credits["measure"], credits["period"]))
    assert keys == sorted(keys)
    # with a roll-up to one top manager, the manager is credited the whole team's credits
    rolled = Plan.from_dict({**plan.to_dict(), "measures": [
        {"name": "m", "tiers": [{"rate": 0.1}], "credit": {**credit, "rollup": True}}]})
    reps = pd.DataFrame({"rep_id": ["A", "B", "C", "D", "E", "M1", "TOP"],
                         "manager_id": ["M1", "M1", "TOP", "M1", "TOP", "TOP", ""]})
    up = credit_bookings(rolled, bookings.astype(str), splits.astype(str)
                         if splits is not None else None, reps)
    top = up[up["rep_id"] == "TOP"]["amount"].sum()
    assert abs(top - match["amount"].sum()) < 1e-5 * (1 + len(bookings))
    own = credits.groupby("rep_id")["amount"].sum()
    m1 = up[up["rep_id"] == "M1"]["amount"].sum()
    assert abs(m1 - sum(own.get(r, 0.0) for r in ("A", "B", "D"))) < 1e-5 * (1 + len(bookings))
