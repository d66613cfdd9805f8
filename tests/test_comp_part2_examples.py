"""The worked examples of part 2 of the plan contract, exact to the cent, via CLI and API.

Split and roll-up (``spm comp credit`` and ``spm comp calc --bookings``), step curve,
advance cap and the modifier gate.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from comp_helpers import MONTHS, monthly_quota, write_csv, write_plan

from spm_models.cli import main
from spm_models.comp import Plan, calc_payouts
from spm_models.comp.crediting import credit_bookings

SPLIT_PLAN = {
    "name": "Team", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "measures": [{"name": "bookings", "quota_period": "year", "basis": "revenue",
                  "tiers": [{"rate": 0.10}], "credit": {"rollup": True}}],
}
BOOKINGS = "booking_id,rep_id,date,amount\nB1,A,2027-01-15,100000\n"
SPLITS = "booking_id,rep_id,share\nB1,A,0.6\nB1,B,0.4\n"
REPS = "rep_id,manager_id\nA,M\nB,M\nM,\n"
SPLIT_QUOTAS = monthly_quota("A", 100000) + monthly_quota("B", 100000) + monthly_quota("M", 200000)

STEP_PLAN = {
    "name": "MBO step", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 40000,
    "measures": [{"name": "bookings", "quota_period": "quarter", "basis": "target_incentive",
                  "curve": {"points": [[0.8, 0.5], [1.0, 1.0], [1.2, 1.5]],
                            "interpolate": "step"}}],
}
STEP_CREDITS = [{"rep_id": "S", "period": p, "amount": a} for p, a in
                [("2027-02", 230000), ("2027-05", 300000), ("2027-08", 359000),
                 ("2027-11", 360000)]]

ADVANCE_PLAN = {
    "name": "Advance", "plan_year_start": "2027-01", "payout_frequency": "month",
    "target_incentive": 120000,
    "measures": [{"name": "bookings", "quota_period": "quarter", "basis": "target_incentive",
                  "tiers": [{"to": 1.0, "rate": 1.0}, {"to": 1.5, "rate": 1.1}, {"rate": 1.2}],
                  "advance_cap": 1.0}],
}
ADVANCE_CREDITS = [{"rep_id": "V", "period": p, "amount": a} for p, a in
                   [("2027-01", 150000), ("2027-02", 30000), ("2027-03", 90000)]]

GATE_PLAN = {
    "name": "Gate", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 40000,
    "measures": [
        {"name": "bookings", "weight": 0.7, "quota_period": "quarter", "basis": "target_incentive",
         "tiers": [{"rate": 1.0}], "modifiers": [{"measure": "margin", "table": [[0, 0], [0.8, 1.0]]}]},
        {"name": "margin", "weight": 0.3, "quota_period": "quarter", "basis": "target_incentive",
         "tiers": [{"rate": 1.0}]},
    ],
}


def gate_tables(margin: float) -> tuple[list[dict], list[dict]]:
    credits = [{"rep_id": "G", "period": "2027-03", "amount": 300000, "measure": "bookings"},
               {"rep_id": "G", "period": "2027-03", "amount": margin * 3000, "measure": "margin"}]
    quotas = monthly_quota("G", 100000, "bookings") + monthly_quota("G", 1000, "margin")
    return credits, quotas


def _run(argv: list[str], capsys) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


# -- split and roll-up ---------------------------------------------------------------------
def test_split_rollup_api() -> None:
    plan = Plan.from_dict(SPLIT_PLAN)
    credits = credit_bookings(plan, _csv(BOOKINGS), _csv(SPLITS), _csv(REPS))
    assert credits.to_dict("records") == [
        {"rep_id": "A", "period": "2027-01", "amount": 60000.0, "measure": "bookings"},
        {"rep_id": "B", "period": "2027-01", "amount": 40000.0, "measure": "bookings"},
        {"rep_id": "M", "period": "2027-01", "amount": 100000.0, "measure": "bookings"},
    ]
    pay = calc_payouts(plan, credits, pd.DataFrame(SPLIT_QUOTAS))
    q1 = pay[pay["period"] == "2027-03"].set_index("rep_id")["payout"].to_dict()
    assert q1 == {"A": 6000.0, "B": 4000.0, "M": 10000.0}


def test_split_rollup_cli(tmp_path: Path, capsys) -> None:
    plan = write_plan(tmp_path, SPLIT_PLAN)
    b = write_csv(tmp_path, "bookings.csv", BOOKINGS)
    s = write_csv(tmp_path, "splits.csv", SPLITS)
    r = write_csv(tmp_path, "reps.csv", REPS)
    out = tmp_path / "credits.csv"
    code, err = _run(["comp", "credit", "--plan", str(plan), "--bookings", str(b), "--splits",
                      str(s), "--reps", str(r), "--out", str(out)], capsys)
    assert code == 0, err
    df = pd.read_csv(out)
    assert list(df.columns) == ["rep_id", "period", "amount", "measure"]
    assert df[["rep_id", "amount"]].values.tolist() == [["A", 60000.0], ["B", 40000.0],
                                                         ["M", 100000.0]]
    q = write_csv(tmp_path, "quotas.csv", SPLIT_QUOTAS)
    pay_out = tmp_path / "payouts.csv"
    code, err = _run(["comp", "calc", "--plan", str(plan), "--bookings", str(b), "--splits",
                      str(s), "--reps", str(r), "--quotas", str(q), "--out", str(pay_out)], capsys)
    assert code == 0, err
    pay = pd.read_csv(pay_out)
    q1 = pay[pay["period"] == "2027-03"].set_index("rep_id")["payout"].to_dict()
    assert q1 == {"A": 6000.0, "B": 4000.0, "M": 10000.0}
    # the same through a credits file
    pay2_out = tmp_path / "payouts2.csv"
    code, err = _run(["comp", "calc", "--plan", str(plan), "--credits", str(out), "--quotas",
                      str(q), "--out", str(pay2_out)], capsys)
    assert code == 0, err
    pd.testing.assert_frame_equal(pay, pd.read_csv(pay2_out))


def _csv(text: str) -> pd.DataFrame:
    from io import StringIO

    return pd.read_csv(StringIO(text), dtype=str, keep_default_na=False)


# -- step curve, advance cap, gate ------------------------------------------------------------
CASES = {
    "step_curve": (STEP_PLAN, STEP_CREDITS, monthly_quota("S", 100000),
                   [0.0, 10000.0, 10000.0, 15000.0]),
    "advance_cap": (ADVANCE_PLAN, ADVANCE_CREDITS, monthly_quota("V", 100000),
                    [10000.0, 8000.0, 9000.0]),
    "gate_closed": (GATE_PLAN, *gate_tables(0.79), [0.3 * 10000 * 0.79]),
    "gate_open": (GATE_PLAN, *gate_tables(0.8), [7000.0 + 0.3 * 10000 * 0.8]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_part2_example_api(case: str) -> None:
    plan, credits, quotas, payouts = CASES[case]
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(credits), pd.DataFrame(quotas))
    assert df["payout"].tolist()[:len(payouts)] == payouts


@pytest.mark.parametrize("case", list(CASES))
def test_part2_example_cli(tmp_path: Path, capsys, case: str) -> None:
    plan, credits, quotas, payouts = CASES[case]
    out = tmp_path / "p.csv"
    code, err = _run(["comp", "calc", "--plan", str(write_plan(tmp_path, plan)),
                      "--credits", str(write_csv(tmp_path, "c.csv", credits)),
                      "--quotas", str(write_csv(tmp_path, "q.csv", quotas)),
                      "--out", str(out)], capsys)
    assert code == 0, err
    assert pd.read_csv(out)["payout"].tolist()[:len(payouts)] == payouts


def test_step_curve_attainments_and_advance_cap_earnings() -> None:
    plan, credits, quotas, _ = CASES["step_curve"]
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(credits), pd.DataFrame(quotas))
    assert df["attainment_bookings"].round(3).tolist() == [0.767, 1.0, 1.197, 1.2]
    plan, credits, quotas, _ = CASES["advance_cap"]
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(credits), pd.DataFrame(quotas))
    # capped 10,000 (cap 10,000), 18,000 (cap 20,000), 27,000 (last month: in full)
    assert df["earned_to_date"].tolist()[:3] == [10000.0, 18000.0, 27000.0]
    assert df["period"].tolist() == MONTHS


def test_bookings_path_matches_credits_path_with_where_and_amount(tmp_path: Path) -> None:
    """new vs renewal (where) and margin (amount) measures credited from one bookings file."""
    plan = Plan.from_dict({
        "name": "NB", "plan_year_start": "2027-01", "payout_frequency": "quarter",
        "measures": [
            {"name": "new", "tiers": [{"rate": 0.1}],
             "credit": {"where": {"deal_type": ["new", "upsell"]}}},
            {"name": "renewal", "tiers": [{"rate": 0.03}],
             "credit": {"where": {"deal_type": ["renewal"]}}},
            {"name": "gm", "tiers": [{"rate": 0.05}], "credit": {"amount": "margin"}},
        ]})
    bookings = _csv("booking_id,rep_id,date,amount,deal_type,margin\n"
                    "1,R,2027-01-03,1000,new,400\n2,R,2027-01-20,500,renewal,300\n"
                    "3,R,2027-02-01,200,upsell,50\n4,R,2027-02-11,-100,new,-40\n")
    credits = credit_bookings(plan, bookings)
    got = {(r.measure, r.period): r.amount for r in credits.itertuples()}
    assert got == {("gm", "2027-01"): 700.0, ("gm", "2027-02"): 10.0,
                   ("new", "2027-01"): 1000.0, ("new", "2027-02"): 100.0,
                   ("renewal", "2027-01"): 500.0}
    assert credits["measure"].tolist() == ["gm", "gm", "new", "new", "renewal"]
