"""Property tests over random valid plans and credits (hypothesis).

The engine is checked against a literal, scalar, exact-arithmetic (Fraction) reading of
the rules in spec/comp_plan.md, plus the invariants of the issue.
"""

from __future__ import annotations

import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from comp_helpers import MONTHS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spm_models.cli import main
from spm_models.comp import Plan, compute_payouts, simulate_plan
from spm_models.comp.calc import ATTAINMENT_DECIMALS

SETTINGS = settings(max_examples=40, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
LENGTH = {"month": 1, "quarter": 3, "year": 12}


# ---------------------------------------------------------------------------------------
# strategies
# ---------------------------------------------------------------------------------------
@st.composite
def tiers_st(draw, basis: str):
    n = draw(st.integers(1, 4))
    bounds = sorted(draw(st.sets(st.integers(1, 50), min_size=n - 1, max_size=n - 1)))
    bounds = [b / 20 for b in bounds]  # multiples of 0.05 up to 2.5
    rates = [0.0, 0.02, 0.05, 0.1, 0.15, 0.2] if basis == "revenue" else [0.0, 0.5, 1.0, 1.5, 2.0]
    tiers = [{"to": b, "rate": draw(st.sampled_from(rates))} for b in bounds]
    last = {"rate": draw(st.sampled_from(rates))}
    if draw(st.booleans()) and draw(st.booleans()):
        last["to"] = (bounds[-1] if bounds else 0.0) + draw(st.sampled_from([0.25, 1.0]))
    return tiers + [last]


@st.composite
def plans_st(draw, marginal_only: bool = False, allow_draw: bool = True,
             allow_bonus: bool = True):
    n_m = draw(st.integers(1, 2))
    measures = []
    bases = [draw(st.sampled_from(["revenue", "target_incentive"])) for _ in range(n_m)]
    ti_idx = [i for i, b in enumerate(bases) if b == "target_incentive"]
    weights = {1: [1.0], 2: [0.7, 0.3]}.get(len(ti_idx), [])
    for i in range(n_m):
        m = {
            "name": f"m{i}",
            "quota_period": draw(st.sampled_from(list(LENGTH))),
            "basis": bases[i],
            "retroactive": False if marginal_only else draw(st.booleans()),
            "threshold": draw(st.sampled_from([0.0, 0.0, 0.25, 0.5, 0.8])),
            "tiers": draw(tiers_st(bases[i])),
        }
        if i in ti_idx:
            m["weight"] = weights[ti_idx.index(i)]
        cap = {}
        if draw(st.booleans()):
            cap["attainment"] = draw(st.sampled_from([0.8, 1.5, 2.0]))
        if draw(st.booleans()):
            cap["payout"] = draw(st.sampled_from([500.0, 5000.0, 20000.0]))
        if cap:
            m["cap"] = cap
        measures.append(m)
    plan = {
        "name": "random", "plan_year_start": "2027-01",
        "payout_frequency": draw(st.sampled_from(list(LENGTH))),
        "target_incentive": 40000, "measures": measures,
    }
    if allow_bonus and draw(st.booleans()):
        plan["bonuses"] = [{"name": f"b{j}", "measure": f"m{draw(st.integers(0, n_m - 1))}",
                            "at": draw(st.sampled_from([0.5, 1.0, 1.2])),
                            "amount": draw(st.sampled_from([100.0, 1000.0]))}
                           for j in range(draw(st.integers(1, 2)))]
    if allow_draw and draw(st.booleans()):
        plan["draw"] = {"amount": draw(st.sampled_from([0.0, 500.0, 2000.0])),
                        "recoverable": draw(st.booleans())}
    return plan


@st.composite
def books_st(draw, plan: dict, nonneg: bool = False):
    n_r = draw(st.integers(1, 3))
    n_m = len(plan["measures"])
    lo = 0 if nonneg else -3000
    amounts = st.one_of(st.just(0), st.integers(lo, 20000), st.integers(0, 5000),
                        st.integers(min(lo, 0) * 5, 0))
    credits = np.array(draw(st.lists(amounts, min_size=n_r * 12 * n_m, max_size=n_r * 12 * n_m)),
                       dtype=float).reshape(n_r, 12, n_m)
    quotas = np.array(draw(st.lists(st.integers(1000, 10000), min_size=n_r * 12 * n_m,
                                    max_size=n_r * 12 * n_m)), dtype=float).reshape(n_r, 12, n_m)
    return credits, quotas


def _arrays(plan: dict, credits: np.ndarray, quotas: np.ndarray):
    names = [m["name"] for m in plan["measures"]]
    coords = {"rep": [f"R{i}" for i in range(credits.shape[0])], "period": MONTHS, "measure": names}
    dims = ["rep", "period", "measure"]
    return xr.DataArray(credits, dims=dims, coords=coords), xr.DataArray(quotas, dims=dims, coords=coords)


# ---------------------------------------------------------------------------------------
# literal reference of the rules (one rep, exact fractions)
# ---------------------------------------------------------------------------------------
def _F(x) -> Fraction:
    return Fraction(str(x))


def _earn(m: dict, a: Fraction, unit: Fraction) -> Fraction:
    if a < _F(m.get("threshold", 0)):
        return Fraction(0)
    cap = m.get("cap", {})
    a1 = min(a, _F(cap["attainment"])) if "attainment" in cap else a
    tiers, start, bands = m["tiers"], Fraction(0), []
    for t in tiers:
        end = _F(t["to"]) if "to" in t else None
        bands.append((start, end, _F(t["rate"])))
        start = end
    if not m.get("retroactive", False):
        return unit * sum((r * max(Fraction(0), (a1 if e is None else min(a1, e)) - s)
                           for s, e, r in bands), Fraction(0))
    if bands[-1][1] is not None:
        a1 = min(a1, bands[-1][1])
    k = max(i for i, (s, e, r) in enumerate(bands) if i == 0 or a1 >= s)
    return unit * bands[k][2] * max(Fraction(0), a1)


def reference(plan: dict, credits: np.ndarray, quotas: np.ndarray, ti=40000):
    """(earned_to_date, payout) at each payout period end for one rep (credits (12, M))."""
    pm = LENGTH[plan["payout_frequency"]]
    etd_at = []
    for t in range(12):
        total = Fraction(0)
        for mi, m in enumerate(plan["measures"]):
            L = LENGTH[m["quota_period"]]
            earned = Fraction(0)
            for q0 in range(0, t + 1, L):
                Q = sum(_F(quotas[u, mi]) for u in range(q0, q0 + L))
                upto = min(t, q0 + L - 1)
                if Q == 0:
                    continue
                a = sum((_F(credits[u, mi]) for u in range(q0, upto + 1)), Fraction(0)) / Q
                unit = Q if m.get("basis", "revenue") == "revenue" else \
                    _F(ti) * _F(m.get("weight", 1.0)) * Fraction(L, 12)
                earned += _earn(m, a, unit)
                for b in plan.get("bonuses", []):
                    if b["measure"] == m["name"]:
                        best = max(sum((_F(credits[u, mi]) for u in range(q0, s + 1)), Fraction(0)) / Q
                                   for s in range(q0, upto + 1))
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
def test_engine_matches_literal_rules(data) -> None:
    plan = data.draw(plans_st())
    credits, quotas = data.draw(books_st(plan))
    ds = compute_payouts(Plan.from_dict(plan), *_arrays(plan, credits, quotas))
    for r in range(credits.shape[0]):
        etd, pay = reference(plan, credits[r], quotas[r])
        np.testing.assert_allclose(ds["earned_to_date"].values[r], etd, rtol=1e-9, atol=1e-6)
        np.testing.assert_allclose(ds["payout"].values[r], pay, rtol=1e-9, atol=1e-6)


@SETTINGS
@given(st.data())
def test_payouts_never_negative(data) -> None:
    plan = data.draw(plans_st())
    credits, quotas = data.draw(books_st(plan))
    ds = compute_payouts(Plan.from_dict(plan), *_arrays(plan, credits, quotas))
    assert (ds["payout"].values >= 0).all()
    assert (ds["draw_topup"].values >= -1e-9).all()


@SETTINGS
@given(st.data())
def test_year_payouts_sum_to_year_earnings(data) -> None:
    plan = data.draw(plans_st(allow_draw=False))
    credits, quotas = data.draw(books_st(plan, nonneg=True))
    ds = compute_payouts(Plan.from_dict(plan), *_arrays(plan, credits, quotas))
    etd = ds["earned_to_date"].values
    no_clawback = (np.diff(etd, axis=-1) >= -1e-9).all(axis=-1)
    total = ds["payout"].sum("period").values
    np.testing.assert_allclose(total[no_clawback], etd[no_clawback, -1], rtol=1e-12, atol=1e-6)
    assert (total >= etd[:, -1] - 1e-6).all()  # a clawback not earned back is never owed


@SETTINGS
@given(st.data())
def test_raising_a_credit_never_lowers_marginal_earnings(data) -> None:
    plan = data.draw(plans_st(marginal_only=True, allow_draw=False))
    credits, quotas = data.draw(books_st(plan))
    r = data.draw(st.integers(0, credits.shape[0] - 1))
    t = data.draw(st.integers(0, 11))
    m = data.draw(st.integers(0, credits.shape[2] - 1))
    more = credits.copy()
    more[r, t, m] += data.draw(st.integers(1, 20000))
    p = Plan.from_dict(plan)
    before = compute_payouts(p, *_arrays(plan, credits, quotas))["earned_to_date"].values
    after = compute_payouts(p, *_arrays(plan, more, quotas))["earned_to_date"].values
    assert (after >= before - 1e-9).all()


@SETTINGS
@given(st.data())
def test_capped_earnings_never_exceed_cap(data) -> None:
    plan = data.draw(plans_st(allow_bonus=False))
    plan["measures"] = plan["measures"][:1]
    if plan["measures"][0]["basis"] == "target_incentive":
        plan["measures"][0]["weight"] = 1.0
    cap = data.draw(st.sampled_from([100.0, 1000.0, 7000.0]))
    plan["measures"][0]["cap"] = {"payout": cap}
    credits, quotas = data.draw(books_st(plan))
    ds = compute_payouts(Plan.from_dict(plan), *_arrays(plan, credits, quotas))
    assert (ds["earned_to_date"].values <= cap + 1e-9).all()
    assert (ds["tier_cost"].sum("tier").values <= cap + 1e-9).all()
    # the attainment cap: earnings of a quota period never pass those at the cap
    m = plan["measures"][0]
    m["cap"] = {"attainment": 1.0}
    m["quota_period"] = "year"
    plan["payout_frequency"] = "year"
    plan.pop("draw", None)
    ds = compute_payouts(Plan.from_dict(plan), *_arrays(plan, credits, quotas))
    unit = quotas[:, :, 0].sum(1) if m["basis"] == "revenue" else np.full(credits.shape[0], 40000.0)
    etd = ds["earned_to_date"].values[:, -1]
    for r, u in enumerate(unit):
        a = _F(credits[r, :, 0].sum()) / _F(quotas[r, :, 0].sum())
        if a >= 1:  # beyond the attainment cap, pay stays at its value at the cap
            assert etd[r] == pytest.approx(float(_earn(m, Fraction(1), _F(u))), abs=1e-6)
        assert etd[r] == pytest.approx(float(_earn(m, a, _F(u))), abs=1e-6)


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_cli_calc_equals_simulation_with_one_draw(data) -> None:
    plan = data.draw(plans_st())
    credits, quotas = data.draw(books_st(plan))
    names = [m["name"] for m in plan["measures"]]
    reps = [f"R{i}" for i in range(credits.shape[0])]
    crow = [{"rep_id": reps[r], "period": MONTHS[t], "measure": names[m], "amount": credits[r, t, m]}
            for r in range(len(reps)) for t in range(12) for m in range(len(names))
            if credits[r, t, m] != 0 or t == 0]
    qrow = [{"rep_id": reps[r], "period": MONTHS[t], "measure": names[m], "quota": quotas[r, t, m]}
            for r in range(len(reps)) for t in range(12) for m in range(len(names))]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        import yaml

        (tmp / "plan.yaml").write_text(yaml.safe_dump(plan))
        pd.DataFrame(crow).to_csv(tmp / "c.csv", index=False)
        pd.DataFrame(qrow).to_csv(tmp / "q.csv", index=False)
        with pytest.raises(SystemExit) as exc:
            main(["comp", "calc", "--plan", str(tmp / "plan.yaml"), "--credits", str(tmp / "c.csv"),
                  "--quotas", str(tmp / "q.csv"), "--out", str(tmp / "out.csv")])
        assert exc.value.code == 0
        out = pd.read_csv(tmp / "out.csv")
    c, q = _arrays(plan, credits, quotas)
    sim = simulate_plan(Plan.from_dict(plan), c.expand_dims(draw=[0]), q)
    pay = sim["payout"].isel(draw=0).transpose("rep", "period").values.ravel()
    etd = sim["earned_to_date"].isel(draw=0).transpose("rep", "period").values.ravel()
    np.testing.assert_allclose(out["payout"].to_numpy(), np.round(pay, 2), atol=0.01 + 1e-9)  # half-cent ties may round either way
    np.testing.assert_allclose(out["earned_to_date"].to_numpy(), np.round(etd, 2), atol=0.01 + 1e-9)
    for n in names:
        att = sim[f"attainment_{n}"].isel(draw=0).transpose("rep", "period").values.ravel()
        # attainment is written rounded to ATTAINMENT_DECIMALS (no float noise in the file)
        np.testing.assert_allclose(out[f"attainment_{n}"].to_numpy(),
                                   np.round(att, ATTAINMENT_DECIMALS), rtol=1e-12)
