"""Invalid input: exit 1, one line naming file, row and field, nothing written."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from comp_helpers import monthly_quota, run_calc, write_csv, write_plan

from spm_models.comp import Plan
from spm_models.errors import InputError

PLAN = {
    "name": "AE", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "measures": [{"name": "bookings", "quota_period": "quarter",
                  "tiers": [{"to": 1.0, "rate": 0.1}, {"rate": 0.15}]}],
}
TWO = {
    "name": "SE", "plan_year_start": "2027-01", "payout_frequency": "quarter",
    "target_incentive": 40000,
    "measures": [
        {"name": "bookings", "weight": 0.7, "basis": "target_incentive", "tiers": [{"rate": 1.0}]},
        {"name": "new_logos", "weight": 0.3, "basis": "target_incentive", "tiers": [{"rate": 1.0}]},
    ],
}
GOOD_CREDITS = "rep_id,period,amount\nR1,2027-01,1000\nR1,2027-02,2000\n"


def _quotas(tmp_path: Path, text: str | None = None) -> Path:
    return write_csv(tmp_path, "quotas.csv", text if text is not None else monthly_quota("R1", 10000))


CSV_CASES = {
    # name: (credits text, quotas text or None, expected file, row, field)
    "credit_outside_year": ("rep_id,period,amount\nR1,2027-01,5\nR1,2028-01,1000\n", None,
                            "credits.csv", 2, "period"),
    "quota_outside_year": (GOOD_CREDITS, "rep_id,period,quota\nR1,2027-01,10\nR1,2026-12,10\n",
                           "quotas.csv", 2, "period"),
    "measure_not_in_plan": ("rep_id,period,amount,measure\nR1,2027-01,5,bookings\nR1,2027-02,5,logos\n",
                            None, "credits.csv", 2, "measure"),
    "credits_without_quota": ("rep_id,period,amount\nR1,2027-01,5\nR2,2027-05,7\n", None,
                              "credits.csv", 2, "rep_id"),
    "credits_in_quota_period_without_quota": (
        "rep_id,period,amount\nR1,2027-01,5\nR1,2027-11,7\n",
        "rep_id,period,quota\n" + "".join(f"R1,2027-{m:02d},100\n" for m in range(1, 10)),
        "credits.csv", 2, "rep_id"),
    "quota_zero": (GOOD_CREDITS, "rep_id,period,quota\nR1,2027-01,0\nR1,2027-02,0\nR1,2027-03,0\n",
                   "quotas.csv", 1, "quota"),
    "bad_amount": ("rep_id,period,amount\nR1,2027-01,12x\n", None, "credits.csv", 1, "amount"),
    "bad_period": ("rep_id,period,amount\nR1,2027-01,1\nR1,Jan-27,5\n", None, "credits.csv", 2, "period"),
    "bad_quota": (GOOD_CREDITS, "rep_id,period,quota\nR1,2027-01,abc\n", "quotas.csv", 1, "quota"),
    "missing_column": ("rep_id,period,value\nR1,2027-01,5\n", None, "credits.csv", None, "amount"),
    "missing_quota_column": (GOOD_CREDITS, "rep_id,month,quota\nR1,2027-01,5\n", "quotas.csv",
                             None, "period"),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_invalid_tables(tmp_path: Path, capsys, case: str) -> None:
    credits_text, quotas_text, file, row, field = CSV_CASES[case]
    plan = write_plan(tmp_path, PLAN)
    credits = write_csv(tmp_path, "credits.csv", credits_text)
    quotas = _quotas(tmp_path, quotas_text)
    out = tmp_path / "out.csv"
    code, err = run_calc(capsys, plan, credits, quotas, out)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 1
    assert len(lines) == 1, err
    line = lines[0]
    assert file in line and f"field '{field}'" in line, line
    if row is not None:
        assert f"row {row}," in line, line
    else:
        assert "header" in line
    assert "Traceback" not in err
    assert not out.exists()
    assert not list(tmp_path.glob(".out.csv*"))


def test_missing_measure_column_for_multi_measure_plan(tmp_path: Path, capsys) -> None:
    code, err = run_calc(capsys, write_plan(tmp_path, TWO), write_csv(tmp_path, "c.csv", GOOD_CREDITS),
                         _quotas(tmp_path), tmp_path / "o.csv")
    assert code == 1
    assert "c.csv" in err and "field 'measure'" in err


def _bad(path: str, value, base: dict = PLAN) -> dict:
    plan = copy.deepcopy(base)
    obj = plan
    keys = path.replace("]", "").replace("[", ".").split(".")
    for k in keys[:-1]:
        obj = obj[int(k)] if k.isdigit() else obj[k]
    last = keys[-1]
    obj[int(last) if last.isdigit() else last] = value
    return plan


PLAN_CASES = {
    "unknown_key": (_bad("measures[0].retroactiv", True), "measures[0].retroactiv"),
    "unknown_top_key": (_bad("payout_frequncy", "month"), "payout_frequncy"),
    "negative_rate": (_bad("measures[0].tiers[1].rate", -0.1), "measures[0].tiers[1].rate"),
    "not_ascending": (_bad("measures[0].tiers", [{"to": 1.0, "rate": 0.1}, {"to": 0.8, "rate": 0.2},
                                                 {"rate": 0.1}]), "measures[0].tiers[1].to"),
    "not_starting_at_0": (_bad("measures[0].tiers", [{"from": 0.2, "to": 1.0, "rate": 0.1},
                                                     {"rate": 0.2}]), "measures[0].tiers[0].from"),
    "weights": (_bad("measures[1].weight", 0.2, TWO), "measures[1].weight"),
    "bad_frequency": (_bad("payout_frequency", "weekly"), "payout_frequency"),
    "bad_quota_period": (_bad("measures[0].quota_period", "semester"), "measures[0].quota_period"),
    "missing_to": (_bad("measures[0].tiers", [{"rate": 0.1}, {"rate": 0.2}]), "measures[0].tiers[0].to"),
    "bonus_measure": (_bad("bonuses", [{"measure": "x", "at": 1, "amount": 5}]), "bonuses[0].measure"),
    "bad_start": (_bad("plan_year_start", "Jan 2027"), "plan_year_start"),
}


@pytest.mark.parametrize("case", list(PLAN_CASES))
def test_invalid_plans(tmp_path: Path, capsys, case: str) -> None:
    plan, key = PLAN_CASES[case]
    path = write_plan(tmp_path, plan)
    with pytest.raises(InputError) as exc:
        Plan.from_yaml(path)
    assert len(exc.value.problems) == 1, exc.value.problems
    assert str(path) in exc.value.problems[0] and f"key '{key}'" in exc.value.problems[0]
    out = tmp_path / "out.csv"
    code, err = run_calc(capsys, path, write_csv(tmp_path, "c.csv", GOOD_CREDITS), _quotas(tmp_path), out)
    assert code == 1 and len(err.strip().splitlines()) == 1 and f"key '{key}'" in err
    assert not out.exists()


def test_negative_rate_message(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        Plan.from_dict(_bad("measures[0].tiers[1].rate", -0.1), source="plan.yaml")
    assert exc.value.problems == ["plan.yaml, key 'measures[0].tiers[1].rate': negative rate -0.1"]


def test_ti_basis_without_target_incentive(tmp_path: Path, capsys) -> None:
    plan = {k: v for k, v in TWO.items() if k != "target_incentive"}
    credits = write_csv(tmp_path, "c.csv", "rep_id,period,amount,measure\nR1,2027-01,5,bookings\n")
    quotas = write_csv(tmp_path, "q.csv", monthly_quota("R1", 10, "bookings"))
    reps = write_csv(tmp_path, "reps.csv", "rep_id,target_incentive\nR1,\n")
    code, err = run_calc(capsys, write_plan(tmp_path, plan), credits, quotas, tmp_path / "o.csv", reps)
    assert code == 1 and "reps.csv" in err and "target_incentive" in err
    reps.write_text("rep_id,target_incentive\nR1,50000\n")
    code, err = run_calc(capsys, write_plan(tmp_path, plan), credits, quotas, tmp_path / "o.csv", reps)
    assert code == 0, err


def test_shipped_plans_load() -> None:
    root = Path(__file__).resolve().parents[1] / "scenarios" / "plans"
    names = {p.stem for p in root.glob("*.yaml")}
    assert {"ae_standard", "se_overlay", "ae_new_hire_draw", "ae_quarterly_spif"} <= names
    for path in root.glob("*.yaml"):
        plan = Plan.from_yaml(path)
        assert plan.plan_year_start == "2027-01"


def test_with_value_revalidates() -> None:
    plan = Plan.from_dict(PLAN)
    assert plan.with_value("measures[0].tiers[1].rate", 0.2).measures[0].tiers[1].rate == 0.2
    with pytest.raises(InputError):
        plan.with_value("measures[0].tiers[1].rate", -1)
    with pytest.raises(InputError):
        plan.with_value("measures[3].threshold", 0.5)
