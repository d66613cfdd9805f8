"""The part-2 plans shipped in scenarios/plans/: each parsed, credited and computed."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pandas as pd
import pytest
from comp_helpers import monthly_quota

from spm_models.comp import Plan, calc_payouts
from spm_models.comp.crediting import credit_bookings

PLANS = Path(__file__).resolve().parents[1] / "scenarios" / "plans"


def _csv(text: str) -> pd.DataFrame:
    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


def _q1(plan: Plan, bookings: str, quotas: list[dict], reps: str | None = None,
        splits: str | None = None) -> dict[str, float]:
    credits = credit_bookings(plan, _csv(bookings), _csv(splits) if splits else None,
                              _csv(reps) if reps else None)
    df = calc_payouts(plan, credits, pd.DataFrame(quotas))
    first = df.groupby("rep_id").head(1)
    return dict(zip(first["rep_id"], first["payout"]))


def test_manager_rollup_plan() -> None:
    plan = Plan.from_yaml(PLANS / "manager_rollup.yaml")
    bookings = ("booking_id,rep_id,date,amount\n1,A,2027-01-10,150000\n2,A,2027-02-10,100000\n"
                "3,B,2027-03-01,20000\n")
    splits = "booking_id,rep_id,share\n2,A,0.5\n2,B,0.5\n"
    reps = "rep_id,manager_id\nA,M\nB,M\nM,\n"
    quotas = monthly_quota("A", 50000) + monthly_quota("B", 50000) + monthly_quota("M", 100000)
    pay = _q1(plan, bookings, quotas, reps, splits)
    # M: 270,000 / 300,000 = 0.9 of a quarter's 20,000; A: 200,000 / 150,000 = 1.333
    assert pay["M"] == 18000.0
    assert pay["A"] == pytest.approx(20000 * (1 + 2 / 3), abs=0.005)
    assert pay["B"] == 0.0  # 70,000 / 150,000 = 0.467: below the 0.5 threshold


def test_new_vs_renewal_plan() -> None:
    plan = Plan.from_yaml(PLANS / "ae_new_vs_renewal.yaml")
    bookings = ("booking_id,rep_id,date,amount,deal_type\n1,R,2027-01-05,600000,new\n"
                "2,R,2027-02-05,100000,upsell\n3,R,2027-03-05,500000,renewal\n")
    quotas = (monthly_quota("R", 50000, "new_business") + monthly_quota("R", 50000, "renewals"))
    # new: 600,000 × (0.10 × 1.0 + 0.15 × 0.1667) = 75,000; renewals 0.03 × 500,000 = 15,000
    assert _q1(plan, bookings, quotas) == {"R": 90000.0}


@pytest.mark.parametrize("margin, expected", [(23700, 0.2 * 25000 * 0.79),
                                              (27000, 0.8 * 25000 + 0.2 * 25000 * 0.9),
                                              (33000, 0.8 * 25000 * 1.1 + 0.2 * 25000 * 1.1)])
def test_gross_margin_gate_plan(margin: float, expected: float) -> None:
    plan = Plan.from_yaml(PLANS / "ae_gross_margin_gate.yaml")
    bookings = ("booking_id,rep_id,date,amount,margin\n"
                f"1,G,2027-02-01,300000,{margin}\n")
    quotas = monthly_quota("G", 100000, "bookings") + monthly_quota("G", 10000, "gross_margin")
    assert _q1(plan, bookings, quotas) == {"G": pytest.approx(expected, abs=0.005)}


def test_mbo_step_plan() -> None:
    plan = Plan.from_yaml(PLANS / "mbo_step_bonus.yaml")
    credits = pd.DataFrame([{"rep_id": "S", "period": p, "amount": a} for p, a in
                            [("2027-01", 230000), ("2027-06", 300000), ("2027-07", 359000),
                             ("2027-12", 360000)]])
    df = calc_payouts(plan, credits, pd.DataFrame(monthly_quota("S", 100000)))
    assert df["payout"].tolist() == [0.0, 10000.0, 10000.0, 15000.0]


def test_monthly_advance_plan() -> None:
    plan = Plan.from_yaml(PLANS / "ae_monthly_advance.yaml")
    credits = pd.DataFrame([{"rep_id": "V", "period": p, "amount": a} for p, a in
                            [("2027-01", 150000), ("2027-02", 30000), ("2027-03", 90000),
                             ("2027-04", 400000)]])
    df = calc_payouts(plan, credits, pd.DataFrame(monthly_quota("V", 100000)))
    # Q2: 400,000 in April = 1.333 → 30,000 × (1.0 + 1.1 × 0.333) = 41,000, paced at
    # 10,000 (April) and 20,000 (May), trued up in June
    assert df["payout"].tolist()[:6] == [10000.0, 8000.0, 9000.0, 10000.0, 10000.0, 21000.0]
