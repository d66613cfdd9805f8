"""Comp input files read as the data loader reads them (a new-user test, /tmp/nu2 fixtures
copied in small): header names in any case and with spaces, ids such as ``101.0`` read as
``101``, every bad row named (capped, then how many more), the missing-target-incentive line
naming the row, ``spm comp statement --quotas`` without ``--credits`` one line, and the docs
saying what the code does with duplicated rows."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from comp_helpers import MONTHS, run_calc, write_csv, write_plan

from spm_models.cli import main

DOCS = Path(__file__).resolve().parents[1] / "docs"
REVENUE = {"name": "One", "plan_year_start": "2027-01", "payout_frequency": "quarter",
           "measures": [{"name": "bookings", "quota_period": "quarter", "basis": "revenue",
                         "tiers": [{"to": 1.0, "rate": 0.1}, {"rate": 0.2}]}]}
TI = {"name": "Curve step", "plan_year_start": "2027-01", "payout_frequency": "quarter",
      "measures": [{"name": "bookings", "quota_period": "quarter", "basis": "target_incentive",
                    "curve": {"points": [[0.8, 0.5], [1.0, 1.0], [1.2, 1.5]],
                              "interpolate": "step"}}]}
ROLLUP = {"name": "Team", "plan_year_start": "2027-01", "payout_frequency": "quarter",
          "measures": [{"name": "bookings", "quota_period": "year", "basis": "revenue",
                        "tiers": [{"rate": 0.1}], "credit": {"rollup": True}}]}


def _quotas(reps: list[str], header: str = "rep_id,period,quota") -> str:
    return header + "\n" + "".join(f"{r},{m},100000\n" for r in reps for m in MONTHS)


def _cli(capsys, argv: list[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    return int(exc.value.code or 0), capsys.readouterr().err


def _errors(err: str) -> list[str]:
    return [line.removeprefix("error: ") for line in err.strip().splitlines()
            if line.startswith("error: ")]


# -- 3. header case and spaces ---------------------------------------------------------------

def test_calc_reads_headers_in_any_case(tmp_path, capsys):
    plan = write_plan(tmp_path, TI)
    body = "R1,2027-01,300000\nR1,2027-04,100000\nR2,2027-02,250000\n"
    lower = write_csv(tmp_path, "cr.csv", "rep_id,period,amount\n" + body)
    cased = write_csv(tmp_path, "cr_case.csv", "Rep_ID,Period,Amount\n" + body)  # nu2/cr_case.csv
    q_lower = write_csv(tmp_path, "q.csv", _quotas(["R1", "R2"]))
    q_cased = write_csv(tmp_path, "q_case.csv", _quotas(["R1", "R2"], " REP_ID , Period,QUOTA "))
    reps = "R1,80000\nR2,40000\n"
    r_lower = write_csv(tmp_path, "reps.csv", "rep_id,target_incentive\n" + reps)
    r_cased = write_csv(tmp_path, "reps_case.csv", "Rep_Id, Target_Incentive\n" + reps)
    code, err = run_calc(capsys, plan, lower, q_lower, tmp_path / "a.csv", r_lower)
    assert code == 0, err
    code, err = run_calc(capsys, plan, cased, q_cased, tmp_path / "b.csv", r_cased)
    assert code == 0, err
    a, b = pd.read_csv(tmp_path / "a.csv"), pd.read_csv(tmp_path / "b.csv")
    assert a["payout"].sum() > 0
    pd.testing.assert_frame_equal(a, b)


def _credit(capsys, tmp_path, plan, bookings, splits, reps):
    """``spm comp credit`` with splits and a reps hierarchy: ``(exit code, stderr, out path)``."""
    out = tmp_path / "c.csv"
    code, err = _cli(capsys, ["comp", "credit", "--plan", str(plan), "--bookings", str(bookings),
                              "--splits", str(splits), "--reps", str(reps), "--out", str(out)])
    return code, err, out


def test_credit_reads_splits_and_reps_headers_in_any_case(tmp_path, capsys):
    plan = write_plan(tmp_path, ROLLUP)
    bookings = write_csv(tmp_path, "b.csv", "Booking_ID,REP_ID,Date,Amount\n"
                         "b1,A,2027-01-05,100\nb2,B,2027-02-05,50\n")
    splits = write_csv(tmp_path, "s.csv", " Booking_Id ,Rep_ID,SHARE\nb1,A,0.5\nb1,B,0.5\n")
    reps = write_csv(tmp_path, "r.csv", "Rep_ID,Manager_ID\nA,M\nB,M\nM,\n")
    code, err, out = _credit(capsys, tmp_path, plan, bookings, splits, reps)
    assert code == 0, err
    got = pd.read_csv(out).groupby("rep_id")["amount"].sum().to_dict()
    assert got == {"A": 50.0, "B": 100.0, "M": 150.0}  # M: its team's credits rolled up


# -- 5. ids written as 101.0 -------------------------------------------------------------------

def test_calc_reads_integer_ids_written_with_a_fraction(tmp_path, capsys):
    plan = write_plan(tmp_path, TI)
    credits = write_csv(tmp_path, "cr.csv", "rep_id,period,amount\n101.0,2027-01,230000\n"
                        "101,2027-02,70000\n 102.00 ,2027-04,100000\n")
    quotas = write_csv(tmp_path, "q.csv", _quotas(["101", "102.0"]))
    reps = write_csv(tmp_path, "reps.csv", "rep_id,target_incentive\n101,80000\n102.0,40000\n")
    out = tmp_path / "o.csv"
    code, err = run_calc(capsys, plan, credits, quotas, out, reps)
    assert code == 0, err
    got = pd.read_csv(out, dtype={"rep_id": str})
    assert sorted(set(got["rep_id"])) == ["101", "102"]
    # 101: 300,000 in Q1 on a quota of 300,000 → 100 % → 1.0 × TI/4 = 20,000
    q1 = got[(got["rep_id"] == "101") & (got["period"] == "2027-03")]
    assert q1["payout"].item() == 20000.0


@pytest.mark.parametrize("blank_line", [False, True])  # pyarrow reader / the careful reader
def test_credit_reads_integer_ids_written_with_a_fraction(tmp_path, capsys, blank_line):
    plan = write_plan(tmp_path, ROLLUP)
    rows = ["7,101,2027-01-05,100", "8.0,101.0,2027-02-05,50", "9,102.0,2027-03-05,30"]
    if blank_line:
        rows.insert(1, "")
    bookings = write_csv(tmp_path, "b.csv", "booking_id,rep_id,date,amount\n"
                         + "\n".join(rows) + "\n")
    splits = write_csv(tmp_path, "s.csv", "booking_id,rep_id,share\n7.0,101,0.5\n7,102.0,0.5\n")
    reps = write_csv(tmp_path, "r.csv", "rep_id,manager_id\n101,900.0\n102.0,900\n900,\n")
    code, err, out = _credit(capsys, tmp_path, plan, bookings, splits, reps)
    assert code == 0, err
    assert "warning" not in err  # every credited rep is in the reps file
    got = pd.read_csv(out, dtype={"rep_id": str}).groupby("rep_id")["amount"].sum().to_dict()
    assert got == {"101": 100.0, "102": 80.0, "900": 180.0}


def test_data_validate_reads_integer_ids_written_with_a_fraction(tmp_path, capsys):
    from spm_models.data import load_source

    (tmp_path / "reps.csv").write_text("Rep_ID,region,territory_id,hire_date\n101,East,T1,"
                                       "2020-03-01\n102,East,T1,2021-12-15\n")
    (tmp_path / "bookings.csv").write_text("rep_id,date,amount\n101,2027-01-05,1234.50\n"
                                           "102,2027-02-05,500\n101.0,2027-03-05,1e3\n")
    code, err = _cli(capsys, ["data", "validate", str(tmp_path)])
    assert code == 0, err
    tables = load_source(tmp_path)
    assert list(tables["bookings"]["rep_id"]) == ["101", "102", "101"]


# -- 4. every bad row named ------------------------------------------------------------------

def test_credit_names_every_bad_amount_row(tmp_path, capsys):
    plan = write_plan(tmp_path, REVENUE)
    bookings = write_csv(tmp_path, "bk_num.csv", 'booking_id,rep_id,date,amount\n'
                         'x1,A,2027-01-05,"1,234.50"\nx2,A,2027-01-06,(500)\n'
                         'x3,A,2027-01-07,$1 200\nx4,A,2027-01-08, 300 \n')  # nu2/bk_num.csv
    out = tmp_path / "c.csv"
    code, err = _cli(capsys, ["comp", "credit", "--plan", str(plan), "--bookings",
                              str(bookings), "--out", str(out)])
    assert code == 1 and not out.exists()
    assert _errors(err) == [f"{bookings}, row {i}, field 'amount': not a number within ±1e+15: "
                            f"{v!r}: {how}" for i, v, how in (
                                (1, "1,234.50", "write it without thousands separators (1234.50)"),
                                (2, "(500)", "write a negative number as -500, not (500)"),
                                (3, "$1 200", "write the number without a currency symbol"))]


def test_credit_caps_the_named_rows_and_says_how_many_more(tmp_path, capsys):
    from spm_models.errors import MAX_ROWS_NAMED

    plan = write_plan(tmp_path, REVENUE)
    n = MAX_ROWS_NAMED + 5
    bookings = write_csv(tmp_path, "b.csv", "booking_id,rep_id,date,amount\n" + "".join(
        f"x{i},A,2027-01-05,n/a\n" for i in range(n)))
    code, err = _cli(capsys, ["comp", "credit", "--plan", str(plan), "--bookings",
                              str(bookings), "--out", str(tmp_path / "c.csv")])
    lines = _errors(err)
    assert code == 1 and len(lines) == MAX_ROWS_NAMED + 1
    assert [int(re.search(r"row (\d+),", s).group(1)) for s in lines[:-1]] == list(
        range(1, MAX_ROWS_NAMED + 1))
    assert lines[-1] == (f"{bookings}, rows {MAX_ROWS_NAMED + 1}-{n}, field 'amount': ... and 5 "
                         "more rows with the same problem (not a number within ±1e+15)")


def test_calc_caps_each_check_as_credit_and_validate_do(tmp_path, capsys):
    """One cap (``MAX_ROWS_NAMED``) and one ``... and N more`` line in every command: calc
    caps each check (not all problems together), so a second kind of problem is still shown."""
    from spm_models.errors import MAX_ROWS_NAMED

    plan = write_plan(tmp_path, REVENUE)
    credits = write_csv(tmp_path, "cr.csv", "rep_id,period,amount\n" + "R1,2027-01,x\n" * 60
                        + "R1,2026-05,1\n")
    quotas = write_csv(tmp_path, "q.csv", _quotas(["R1"]))
    code, err = run_calc(capsys, plan, credits, quotas, tmp_path / "o.csv")
    lines = _errors(err)
    assert code == 1 and len(lines) == MAX_ROWS_NAMED + 2
    assert lines[MAX_ROWS_NAMED] == (
        f"{credits}, rows {MAX_ROWS_NAMED + 1}-60, field 'amount': ... and {60 - MAX_ROWS_NAMED} "
        "more rows with the same problem (not a number within ±1e15)")
    assert lines[-1].startswith(f"{credits}, row 61, field 'period': 2026-05 is outside")


# -- 7. the missing target incentive names the row --------------------------------------------

def test_missing_target_incentive_names_the_row(tmp_path, capsys):
    plan = write_plan(tmp_path, TI)
    credits = write_csv(tmp_path, "cr.csv", "rep_id,period,amount\nR1,2027-01,100000\n"
                        "R2,2027-01,100000\nR3,2027-02,100000\n")
    quotas = write_csv(tmp_path, "q.csv", _quotas(["R1", "R2", "R3"]))
    reps = write_csv(tmp_path, "reps_ti.csv", "rep_id,target_incentive\nR1,80000\nR2,\n")
    out = tmp_path / "o.csv"
    code, err = run_calc(capsys, plan, credits, quotas, out, reps)
    assert code == 1 and not out.exists()
    tail = f"and none in the plan {plan} (it pays on a target-incentive basis)"
    assert _errors(err) == [
        f"{reps}, row 2, field 'target_incentive': no target incentive for rep R2 (empty) {tail}",
        f"{quotas}, row 25, field 'rep_id': no target incentive for rep R3 (not in {reps}) {tail}"]
    code, err = run_calc(capsys, plan, credits, quotas, out)  # no --reps at all
    assert code == 1
    assert _errors(err)[0].startswith(f"{quotas}, row 1, field 'rep_id': no target incentive "
                                      "for rep R1 (no --reps file with a target_incentive column")


# -- 2. statement --quotas without --credits ---------------------------------------------------

@pytest.mark.parametrize("two_measures", [False, True])
def test_statement_quotas_without_credits_is_one_line(tmp_path, capsys, two_measures):
    plan_dict = REVENUE if not two_measures else {**REVENUE, "measures": [
        {**REVENUE["measures"][0], "weight": 0.5},
        {**REVENUE["measures"][0], "name": "margin", "weight": 0.5}]}
    plan = write_plan(tmp_path, plan_dict)
    m = ",measure" if two_measures else ""
    credits = write_csv(tmp_path, "cr.csv", f"rep_id,period,amount{m}\n" + "".join(
        f"R1,2027-01,150000{',' + x if two_measures else ''}\n"
        for x in (["bookings", "margin"] if two_measures else [""])))
    quotas = write_csv(tmp_path, "q.csv", f"rep_id,period,quota{m}\n" + "".join(
        f"R1,{mo},100000{',' + x if two_measures else ''}\n" for mo in MONTHS
        for x in (["bookings", "margin"] if two_measures else [""])))
    pay = tmp_path / "payouts.csv"
    code, err = run_calc(capsys, plan, credits, quotas, pay)
    assert code == 0, err
    out = tmp_path / "st"
    code, err = _cli(capsys, ["comp", "statement", "--payouts", str(pay), "--plan", str(plan),
                              "--quotas", str(quotas), "--out", str(out)])
    assert code == 2 and not out.exists()  # a usage error (options that do not go together)
    lines = _errors(err)
    assert len(lines) == 1 and lines[0].startswith("--credits: missing: --quotas needs --credits")
    code, err = _cli(capsys, ["comp", "statement", "--payouts", str(pay), "--plan", str(plan),
                              "--credits", str(credits), "--quotas", str(quotas),
                              "--out", str(out)])
    assert code == 0, err


# -- 6. duplicated rows: the docs say what the code does ------------------------------------------

def test_docs_on_duplicate_rows_match_the_code(tmp_path, capsys):
    plan = write_plan(tmp_path, REVENUE)
    credits = write_csv(tmp_path, "cr.csv", "rep_id,period,amount\nR1,2027-01,100\n"
                        "R1,2027-01,100\n")
    quotas = write_csv(tmp_path, "q_dup.csv", _quotas(["R1"]) + "R1,2027-01,100000\n")
    code, err = run_calc(capsys, plan, credits, quotas, tmp_path / "o.csv")
    assert code == 1
    assert _errors(err) == [(f"{quotas}, row 13, field 'quota': duplicate quota row for rep R1, "
                             "month 2027-01, measure bookings (first at row 1)")]
    code, err = run_calc(capsys, plan, credits, write_csv(tmp_path, "q.csv", _quotas(["R1"])),
                         tmp_path / "o.csv")
    assert code == 0, err
    assert pd.read_csv(tmp_path / "o.csv")["earned_to_date"].iloc[0] == 20.0  # 200 summed × 10 %
    text = (DOCS / "comp.md").read_text()
    bullet = re.search(r"\* \*\*Duplicate rows\*\*(.*?)\n(?=\*|\n)", text, re.DOTALL).group(1)
    assert "summed" in bullet and "credits" in bullet
    assert "quota" in bullet and "error" in bullet
    assert "(credits and quotas)" not in bullet
