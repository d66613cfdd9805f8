"""The three worked examples of spec/comp_plan.md, exact to the cent, via CLI and API."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from comp_helpers import MONTHS, monthly_quota, run_calc, write_csv, write_plan

from spm_models.comp import Plan, calc_payouts

MARGINAL = {
    "name": "AE marginal",
    "plan_year_start": "2027-01",
    "payout_frequency": "quarter",
    "measures": [{
        "name": "bookings", "quota_period": "year", "basis": "revenue",
        "tiers": [{"to": 1.0, "rate": 0.10}, {"to": 1.5, "rate": 0.15}, {"rate": 0.05}],
    }],
}
# 300k, 400k, 500k, 600k by quarter, spread over the months of each quarter
MARGINAL_CREDITS = [
    {"rep_id": "R1", "period": "2027-01", "amount": 100000},
    {"rep_id": "R1", "period": "2027-03", "amount": 200000},
    {"rep_id": "R1", "period": "2027-04", "amount": 450000},
    {"rep_id": "R1", "period": "2027-06", "amount": -50000},  # a cancellation
    {"rep_id": "R1", "period": "2027-08", "amount": 500000},
    {"rep_id": "R1", "period": "2027-10", "amount": 250000},
    {"rep_id": "R1", "period": "2027-12", "amount": 350000},
]

RETRO = {
    "name": "SE retro",
    "plan_year_start": "2027-01",
    "payout_frequency": "quarter",
    "target_incentive": 40000,
    "measures": [{
        "name": "bookings", "quota_period": "quarter", "basis": "target_incentive",
        "weight": 1.0, "retroactive": True, "threshold": 0.5,
        "tiers": [{"to": 1.0, "rate": 1.0}, {"rate": 1.5}], "cap": {"attainment": 2.0},
    }],
}
RETRO_CREDITS = [
    {"rep_id": "S1", "period": "2027-02", "amount": 120000},
    {"rep_id": "S1", "period": "2027-05", "amount": 270000},
    {"rep_id": "S1", "period": "2027-07", "amount": 360000},
    {"rep_id": "S1", "period": "2027-12", "amount": 660000},
]


def draw_plan(recoverable: bool) -> dict:
    return {
        "name": "new hire", "plan_year_start": "2027-01", "payout_frequency": "month",
        "measures": [{"name": "bookings", "quota_period": "year", "tiers": [{"rate": 0.10}]}],
        "draw": {"amount": 2000, "recoverable": recoverable},
    }


DRAW_CREDITS = [
    {"rep_id": "N1", "period": "2027-01", "amount": 10000},
    {"rep_id": "N1", "period": "2027-02", "amount": 0},
    {"rep_id": "N1", "period": "2027-03", "amount": 90000},
]

CASES = {
    "marginal": (MARGINAL, MARGINAL_CREDITS, monthly_quota("R1", 100000),
                 [30000.0, 40000.0, 50000.0, 90000.0], [30000.0, 70000.0, 120000.0, 210000.0]),
    "marginal_bonus": ({**MARGINAL, "bonuses": [{"name": "club", "measure": "bookings",
                                                 "at": 1.0, "amount": 5000}]},
                       MARGINAL_CREDITS, monthly_quota("R1", 100000),
                       [30000.0, 40000.0, 55000.0, 90000.0], [30000.0, 70000.0, 125000.0, 215000.0]),
    "retroactive": (RETRO, RETRO_CREDITS, monthly_quota("S1", 100000),
                    [0.0, 9000.0, 18000.0, 30000.0], [0.0, 9000.0, 27000.0, 57000.0]),
    "draw_recoverable": (draw_plan(True), DRAW_CREDITS, monthly_quota("N1", 100000),
                         [2000.0, 2000.0, 6000.0], [1000.0, 1000.0, 10000.0]),
    "draw_nonrecoverable": (draw_plan(False), DRAW_CREDITS, monthly_quota("N1", 100000),
                            [2000.0, 2000.0, 9000.0], [1000.0, 1000.0, 10000.0]),
}


@pytest.mark.parametrize("case", list(CASES))
def test_worked_example_api(tmp_path: Path, case: str) -> None:
    plan, credits, quotas, payouts, etd = CASES[case]
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(credits), pd.DataFrame(quotas))
    n = len(payouts)
    assert df["payout"].tolist()[:n] == payouts
    assert df["earned_to_date"].tolist()[:n] == etd


@pytest.mark.parametrize("case", list(CASES))
def test_worked_example_cli(tmp_path: Path, capsys, case: str) -> None:
    plan, credits, quotas, payouts, etd = CASES[case]
    out = tmp_path / "payouts.csv"
    code, err = run_calc(capsys, write_plan(tmp_path, plan), write_csv(tmp_path, "c.csv", credits),
                         write_csv(tmp_path, "q.csv", quotas), out)
    assert code == 0, err
    df = pd.read_csv(out)
    n = len(payouts)
    assert df["payout"].tolist()[:n] == payouts
    assert df["earned_to_date"].tolist()[:n] == etd


def test_marginal_example_rows_and_attainment(tmp_path: Path) -> None:
    plan, credits, quotas, *_ = CASES["marginal"]
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(credits), pd.DataFrame(quotas))
    assert list(df.columns[:2]) == ["rep_id", "period"]
    assert {"earned_to_date", "payout", "attainment_bookings"} <= set(df.columns)
    assert df["period"].tolist() == ["2027-03", "2027-06", "2027-09", "2027-12"]
    assert df["attainment_bookings"].round(3).tolist() == [0.25, 0.583, 1.0, 1.5]


def test_retro_example_attainment(tmp_path: Path) -> None:
    plan, credits, quotas, *_ = CASES["retroactive"]
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(credits), pd.DataFrame(quotas))
    assert df["attainment_bookings"].round(6).tolist() == [0.4, 0.9, 1.2, 2.2]


def test_draw_example_rest_of_year(tmp_path: Path) -> None:
    """After month 3 the recoverable draw keeps paying 2,000 a month (no credits)."""
    plan, credits, quotas, *_ = CASES["draw_recoverable"]
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(credits), pd.DataFrame(quotas))
    assert df["period"].tolist() == MONTHS
    assert df["payout"].tolist()[3:] == [2000.0] * 9


def test_rep_with_quota_and_no_credits_gets_rows_and_draw(tmp_path: Path) -> None:
    plan, credits, quotas, *_ = CASES["draw_recoverable"]
    quotas = quotas + monthly_quota("A0", 50000)
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(credits), pd.DataFrame(quotas))
    assert df["rep_id"].tolist() == ["A0"] * 12 + ["N1"] * 12  # sorted by rep, then period
    a0 = df[df["rep_id"] == "A0"]
    assert a0["payout"].tolist() == [2000.0] * 12
    assert a0["earned_to_date"].tolist() == [0.0] * 12


def test_cli_binary_end_to_end(tmp_path: Path) -> None:
    """The installed `spm` entry point, as the checks outside the project call it."""
    plan, credits, quotas, payouts, _ = CASES["retroactive"]
    out = tmp_path / "p.csv"
    spm = Path(sys.executable).with_name("spm")
    proc = subprocess.run(
        [str(spm), "comp", "calc", "--plan", str(write_plan(tmp_path, plan)),
         "--credits", str(write_csv(tmp_path, "c.csv", credits)),
         "--quotas", str(write_csv(tmp_path, "q.csv", quotas)), "--out", str(out)],
        capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert pd.read_csv(out)["payout"].tolist() == payouts


def test_api_accepts_typed_frames() -> None:
    """Python callers may pass periods as pandas Periods/Timestamps and numeric columns."""
    plan, credits, quotas, payouts, _ = CASES["marginal"]
    c = pd.DataFrame(credits)
    c["period"] = pd.PeriodIndex(c["period"], freq="M")
    q = pd.DataFrame(quotas)
    q["period"] = pd.to_datetime(q["period"])
    df = calc_payouts(Plan.from_dict(plan), c, q)
    assert df["payout"].tolist() == payouts


def test_yearly_payout_single_row_per_rep() -> None:
    plan = {**MARGINAL, "payout_frequency": "year"}
    df = calc_payouts(Plan.from_dict(plan), pd.DataFrame(MARGINAL_CREDITS),
                      pd.DataFrame(monthly_quota("R1", 100000)))
    assert df[["period", "earned_to_date", "payout"]].values.tolist() == [["2027-12", 210000.0, 210000.0]]
