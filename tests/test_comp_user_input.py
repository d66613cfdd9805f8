"""Inputs as users write them (found by trying the CLI as a new user): duplicated YAML keys,
``where`` values YAML would coerce, blank rows before a bad cell, repeated booking ids,
day-first dates, headers in another case, half cents, bad output paths, usage errors."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from comp_helpers import monthly_quota, write_csv

from spm_models.cli import main
from spm_models.comp import Plan
from spm_models.comp.calc import round_cents
from spm_models.comp.crediting import CreditingWarning, credit_bookings
from spm_models.errors import InputError

PLAN_YAML = """name: P
plan_year_start: 2027-01
measures:
  - name: bookings
    tiers: [{rate: 0.1}]
"""


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    cap = capsys.readouterr()
    return int(exc.value.code or 0), cap.out, cap.err


def _plan(tmp_path: Path, text: str = PLAN_YAML) -> Path:
    p = tmp_path / "plan.yaml"
    p.write_text(text)
    return p


def test_duplicated_plan_key_is_an_error_naming_the_line(tmp_path: Path) -> None:
    text = PLAN_YAML.replace("tiers: [{rate: 0.1}]", "tiers: [{rate: 0.1, rate: 0.5}]")
    with pytest.raises(InputError) as exc:
        Plan.from_yaml(_plan(tmp_path, text))
    (line,) = exc.value.problems
    assert "line 5" in line and "'rate' appears twice" in line


def test_where_values_are_compared_as_written(tmp_path: Path) -> None:
    # yes / 007 / on would be True / 7 / True under YAML 1.1: they must match the CSV text
    plan = Plan.from_yaml(_plan(tmp_path, PLAN_YAML.replace(
        "    tiers:", "    credit: {where: {flag: [yes, on], code: ['1', 007]}}\n    tiers:")))
    assert plan.measures[0].credit.where == (("flag", ("yes", "on")), ("code", ("1", "007")))
    b = pd.DataFrame({"booking_id": ["B1", "B2", "B3"], "rep_id": ["A", "A", "A"],
                      "date": ["2027-01-05"] * 3, "amount": ["100", "10", "1"],
                      "flag": ["yes", "yes", "no"], "code": ["007", "7", "007"]})
    out = credit_bookings(plan, b)
    assert out["amount"].tolist() == [100.0]  # B2's code 7 is not '007'; B3's flag is no


def test_where_value_matching_no_row_warns(tmp_path: Path, capsys) -> None:
    plan = _plan(tmp_path, PLAN_YAML.replace(
        "    tiers:", "    credit: {where: {deal_type: [New, upsell]}}\n    tiers:"))
    bookings = write_csv(tmp_path, "b.csv", "booking_id,rep_id,date,amount,deal_type\n"
                         "B1,A,2027-01-05,100,new\nB2,A,2027-01-06,50,upsell\n")
    code, _, err = _run(["comp", "credit", "--plan", str(plan), "--bookings", str(bookings),
                         "--out", str(tmp_path / "c.csv")], capsys)
    assert code == 0
    assert "warning:" in err and "'New' matches no row" in err and "upsell" not in err.split(
        "matches")[0]
    assert pd.read_csv(tmp_path / "c.csv")["amount"].tolist() == [50.0]


def test_row_numbers_count_blank_rows(tmp_path: Path, capsys) -> None:
    # the bad cell is on spreadsheet row 4 below the header (blank line and empty row before)
    bookings = write_csv(tmp_path, "b.csv", "booking_id,rep_id,date,amount\n"
                         "B1,A,2027-01-05,100\n\n,,,\nB2,A,2027-01-06,$50\n")
    code, _, err = _run(["comp", "credit", "--plan", str(_plan(tmp_path)), "--bookings",
                         str(bookings), "--out", str(tmp_path / "c.csv")], capsys)
    assert code == 1
    (line,) = [ln for ln in err.splitlines() if ln.strip()]
    assert "row 4, field 'amount'" in line, line
    splits = write_csv(tmp_path, "s.csv", "booking_id,rep_id,share\n\n\nB1,A,-1\n")
    code, _, err = _run(["comp", "credit", "--plan", str(_plan(tmp_path)), "--bookings",
                         str(write_csv(tmp_path, "b2.csv", "booking_id,rep_id,date,amount\n"
                                       "B1,A,2027-01-05,100\n")),
                         "--splits", str(splits), "--out", str(tmp_path / "c.csv")], capsys)
    assert code == 1 and "s.csv, row 3, field 'share'" in err, err


def test_repeated_booking_id_warns_and_credits_each_row() -> None:
    plan = Plan.from_dict({"name": "P", "plan_year_start": "2027-01",
                           "measures": [{"name": "bookings", "tiers": [{"rate": 0.1}]}]})
    b = pd.DataFrame({"booking_id": ["X1", "X1"], "rep_id": ["A", "A"],
                      "date": ["2027-01-05", "2027-01-05"], "amount": [100.0, 5.0]})
    with pytest.warns(CreditingWarning, match=r"rows 1 and 2, field 'booking_id'"):
        out = credit_bookings(plan, b)
    assert out["amount"].tolist() == [105.0]


def test_day_first_dates_and_header_case(tmp_path: Path, capsys) -> None:
    folder = tmp_path / "crm"
    folder.mkdir()
    (folder / "source.yaml").write_text("date_format: DD/MM/YYYY\n")
    bookings = write_csv(folder, "bookings.csv", "Booking_ID,Rep_ID,Date,Amount\n"
                         "B1,A,03/01/2027,100\nB2,A,13/02/2027,50\nB3,A,2027/03/05,7\n")
    code, _, err = _run(["comp", "credit", "--plan", str(_plan(tmp_path)), "--bookings",
                         str(bookings), "--out", str(tmp_path / "c.csv")], capsys)
    assert code == 0, err
    out = pd.read_csv(tmp_path / "c.csv")
    # 03/01 is 3 January (day first), not 1 March
    assert dict(zip(out["period"], out["amount"])) == {"2027-01": 100.0, "2027-02": 50.0,
                                                       "2027-03": 7.0}


@pytest.mark.parametrize(("x", "cents"), [(100.05 * 0.1, 10.01), (0.35 * 0.1, 0.04),
                                          (3.05 * 0.1, 0.31), (-2.675, -2.68), (0.0049999, 0.0),
                                          (1e15 / 3, 333333333333333.3)])
def test_half_cents_round_away_from_zero(x: float, cents: float) -> None:
    assert round_cents(x) == cents


def test_half_cent_payout_through_calc(tmp_path: Path, capsys) -> None:
    plan = _plan(tmp_path, PLAN_YAML.replace("name: P", "name: P\npayout_frequency: month"))
    credits = write_csv(tmp_path, "c.csv", "rep_id,period,amount\nA,2027-01,100.05\n")
    quotas = write_csv(tmp_path, "q.csv", monthly_quota("A", 1000))
    out = tmp_path / "o.csv"
    code, _, err = _run(["comp", "calc", "--plan", str(plan), "--credits", str(credits),
                         "--quotas", str(quotas), "--out", str(out)], capsys)
    assert code == 0, err
    assert pd.read_csv(out)["payout"].iloc[0] == 10.01


@pytest.mark.parametrize("target", ["folder", "under_file", "same_as_input"])
def test_bad_output_path_is_one_line(tmp_path: Path, capsys, target: str) -> None:
    credits = write_csv(tmp_path, "c.csv", "rep_id,period,amount\nA,2027-01,100\n")
    quotas = write_csv(tmp_path, "q.csv", monthly_quota("A", 1000))
    (tmp_path / "folder").mkdir()
    out = {"folder": tmp_path / "folder", "under_file": credits / "x.csv",
           "same_as_input": credits}[target]
    before = credits.read_text()
    code, _, err = _run(["comp", "calc", "--plan", str(_plan(tmp_path)), "--credits",
                         str(credits), "--quotas", str(quotas), "--out", str(out)], capsys)
    assert code == 1
    assert len([ln for ln in err.splitlines() if ln.strip()]) == 1, err
    assert "Traceback" not in err and str(out) in err
    assert credits.read_text() == before


def test_usage_errors_exit_2(tmp_path: Path, capsys) -> None:
    quotas = write_csv(tmp_path, "q.csv", monthly_quota("A", 1000))
    code, _, err = _run(["comp", "calc", "--plan", str(_plan(tmp_path)), "--quotas", str(quotas),
                         "--out", str(tmp_path / "o.csv")], capsys)
    assert code == 2 and "--credits" in err and "--bookings" in err
    assert not (tmp_path / "o.csv").exists()


def test_scenario_plan_columns_checked_against_the_data_before_the_forecast() -> None:
    from spm_models.comp.credit_cube import check_plan_columns

    plan = Plan.from_dict({"name": "P", "plan_year_start": "2027-01", "measures": [
        {"name": "new", "tiers": [{"rate": 0.1}], "credit": {"where": {"deal_type": ["new"]}}}]})
    table = pd.DataFrame(columns=["booking_id", "rep_id", "date", "amount"])
    with pytest.raises(InputError) as exc:
        check_plan_columns({"AE": plan}, table, where="s.yaml")
    (line,) = exc.value.problems
    assert line.startswith("s.yaml, key 'plans.AE'") and "'deal_type'" in line
    check_plan_columns({"AE": plan}, table.assign(deal_type=[]), where="s.yaml")  # no error


@pytest.mark.parametrize(("content", "expected"), [
    (b"booking_id,rep_id,date,amount\nB1,Jos\xe9,2027-01-05,100\n", "not UTF-8 text"),
    (b"booking_id,rep_id,date,amount,Amount\nB1,A,2027-01-05,100,5\n",
     "field 'Amount': the column appears twice (columns 4 and 5)"),
])
def test_unreadable_bookings_are_one_line(tmp_path: Path, capsys, content: bytes,
                                          expected: str) -> None:
    bookings = tmp_path / "b.csv"
    bookings.write_bytes(content)
    code, _, err = _run(["comp", "credit", "--plan", str(_plan(tmp_path)), "--bookings",
                         str(bookings), "--out", str(tmp_path / "c.csv")], capsys)
    (line,) = [ln for ln in err.splitlines() if ln.strip()]
    assert code == 1 and expected in line and "b.csv" in line, line
    assert not (tmp_path / "c.csv").exists()


def test_credited_rep_missing_from_reps_file_warns() -> None:
    plan = Plan.from_dict({"name": "P", "plan_year_start": "2027-01", "measures": [
        {"name": "team", "tiers": [{"rate": 0.1}], "credit": {"rollup": True}}]})
    b = pd.DataFrame({"booking_id": ["B1", "B2"], "rep_id": ["A", "Z"],
                      "date": ["2027-01-05"] * 2, "amount": [100.0, 50.0]})
    reps = pd.DataFrame({"rep_id": ["A", "M"], "manager_id": ["M", ""]})
    with pytest.warns(CreditingWarning, match=r"1 credited rep\(s\) not in the file \('Z'\)"):
        out = credit_bookings(plan, b, reps=reps)
    assert dict(zip(out["rep_id"], out["amount"])) == {"A": 100.0, "M": 100.0, "Z": 50.0}
