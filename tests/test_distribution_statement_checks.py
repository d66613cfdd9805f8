"""`spm comp statement` refuses payout files it cannot state truthfully, and shows what it
states in one format.

- a rep without a row for every payout period of the plan year (``spm comp calc`` writes them
  all): one line naming the file, the rep and the missing periods, exit 1, nothing written;
- without ``--quotas`` the file cannot be recomputed, but the statement's own arithmetic is
  checked: the payout must be what the plan's payout rules pay on the file's own
  earned-to-date sequence (due + draw top-up), else one line naming row and field;
- tier rates as percentages (as the plan documents), the rep's name with ``--reps``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from comp_helpers import monthly_quota, run_calc, write_csv, write_plan

from spm_models.cli import main

#: the new-hire draw plan of scenarios/plans/ae_new_hire_draw.yaml (monthly payout, draw 3,000)
DRAW_PLAN = {
    "name": "AE FY27 new hire", "currency": "USD", "plan_year_start": "2027-01",
    "payout_frequency": "month", "target_incentive": 90000,
    "measures": [{"name": "bookings", "quota_period": "year", "basis": "revenue",
                  "tiers": [{"to": 1.0, "rate": 0.09}, {"rate": 0.12}], "cap": {"payout": 200000}}],
    "draw": {"amount": 3000, "recoverable": True},
}
AMOUNTS = [0, 10000, 0, 120000, 5000, -30000, 0, 0, 0, 0, 0, 20000]
CREDITS = [{"rep_id": "N1", "period": f"2027-{m:02d}", "amount": a} for m, a in enumerate(AMOUNTS, 1)]


@pytest.fixture()
def files(tmp_path: Path, capsys):
    plan = write_plan(tmp_path, DRAW_PLAN)
    credits = write_csv(tmp_path, "c.csv", CREDITS)
    quotas = write_csv(tmp_path, "q.csv", monthly_quota("N1", 50000))
    payouts = tmp_path / "payouts.csv"
    code, err = run_calc(capsys, plan, credits, quotas, payouts)
    assert code == 0, err
    return plan, credits, quotas, payouts


def _statement(capsys, argv: list[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(["comp", "statement", *argv])
    cap = capsys.readouterr()
    return int(exc.value.code or 0), cap.out, cap.err


def _value(html: str, element_id: str) -> float:
    m = re.search(rf'id="{element_id}" data-value="(-?[0-9.]+)"', html)
    assert m, element_id
    return float(m.group(1))


@pytest.mark.parametrize("with_quotas", [False, True], ids=["payouts-only", "breakdown"])
@pytest.mark.parametrize("drop", [["2027-05"], ["2027-02", "2027-12"]], ids=["one", "two"])
def test_missing_payout_period_is_refused(files, tmp_path: Path, capsys, drop: list[str],
                                          with_quotas: bool) -> None:
    plan, credits, quotas, payouts = files
    calc = pd.read_csv(payouts, dtype={"period": str})
    bad = write_csv(tmp_path, "bad.csv", calc[~calc["period"].isin(drop)].to_dict("records"))
    out = tmp_path / "s"
    code, _, err = _statement(capsys, ["--payouts", str(bad), "--plan", str(plan), "--credits",
                                       str(credits), "--out", str(out)]
                              + (["--quotas", str(quotas)] if with_quotas else []))
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert str(bad) in lines[0] and "rep N1" in lines[0] and ", ".join(drop) in lines[0]
    assert "Traceback" not in err and not out.exists()


def test_wrong_payout_without_quotas_is_refused(files, tmp_path: Path, capsys) -> None:
    """April (row 4): earned to date 11,700, counted 9,000 (three draws): due 2,700 + top-up 300
    = 3,000; a file saying 3,500 does not add up."""
    plan, credits, _, payouts = files
    calc = pd.read_csv(payouts, dtype={"period": str})
    assert calc.loc[3, ["earned_to_date", "payout"]].tolist() == [11700.0, 3000.0]
    calc.loc[3, "payout"] = 3500.0
    bad = write_csv(tmp_path, "bad.csv", calc.to_dict("records"))
    out = tmp_path / "s"
    code, _, err = _statement(capsys, ["--payouts", str(bad), "--plan", str(plan), "--credits",
                                       str(credits), "--out", str(out)])
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1, err
    assert f"{bad}, row 4, field 'payout': 3500.00 in the payout file" in lines[0]
    assert "3000.00 (due 2,700.00 + draw top-up 300.00)" in lines[0]
    assert not out.exists()
    # the file as calc wrote it passes, and its April statement adds up
    code, _, err = _statement(capsys, ["--payouts", str(payouts), "--plan", str(plan),
                                          "--out", str(out)])
    assert code == 0, err
    april = (out / "N1_2027-04.html").read_text()
    assert _value(april, "due") + _value(april, "draw-topup") == _value(april, "payout") == 3000.0
