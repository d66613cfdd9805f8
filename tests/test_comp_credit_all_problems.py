"""``spm comp credit`` reports every problem of its inputs in one run (as ``spm comp calc``
does): each check runs, one line per problem, exit 1, nothing written; the split checks that
named only their first bad row name every bad row (up to the shared cap)."""

from __future__ import annotations

import re

import pytest
from comp_helpers import write_csv, write_plan

from spm_models.cli import main
from spm_models.errors import MAX_ROWS_NAMED

REVENUE = {"name": "One", "plan_year_start": "2027-01", "payout_frequency": "quarter",
           "measures": [{"name": "bookings", "quota_period": "quarter", "basis": "revenue",
                         "tiers": [{"rate": 0.1}]}]}
ROLLUP = {**REVENUE, "measures": [{**REVENUE["measures"][0], "credit": {"rollup": True}}]}


def _credit(capsys, tmp_path, plan, bookings, splits=None, reps=None) -> tuple[int, list[str]]:
    out = tmp_path / "credits.csv"
    argv = ["comp", "credit", "--plan", str(plan), "--bookings", str(bookings), "--out", str(out)]
    argv += ["--splits", str(splits)] if splits else []
    argv += ["--reps", str(reps)] if reps else []
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert not out.exists()
    lines = [s.removeprefix("error: ") for s in err.strip().splitlines()]
    assert all(not s.startswith(("Traceback", "  File")) for s in lines)
    return int(exc.value.code or 0), lines


def test_credit_reports_every_kind_of_problem_in_one_run(tmp_path, capsys):
    plan = write_plan(tmp_path, ROLLUP)
    bookings = write_csv(tmp_path, "b.csv", "booking_id,rep_id,date,amount\n"
                         "b1,A,2027-01-05,100\n"      # row 1: fine
                         "b2,A,2027-13-01,100\n"      # row 2: not a date
                         "b3,A,2026-12-31,100\n"      # row 3: outside the plan year
                         "b4,,2027-02-01,100\n"       # row 4: empty rep_id
                         "b5,B,2027-02-01,abc\n"      # row 5: not a number
                         "b6,B,2027-02-01,50\n")
    splits = write_csv(tmp_path, "s.csv", "booking_id,rep_id,share\n"
                       "b1,A,0.5\n"                   # row 1: b1's shares sum to 0.9
                       "b1,B,0.4\n"
                       "zz,A,1\n"                     # row 3: unknown booking
                       "b6,B,-1\n")                   # row 4: negative share
    reps = write_csv(tmp_path, "r.csv", "rep_id,manager_id\nA,M\nA,M\n")  # row 2: duplicate rep
    code, lines = _credit(capsys, tmp_path, plan, bookings, splits, reps)
    assert code == 1
    expected = [
        (f"{bookings}, row 2, field 'date'", "not a date"),
        (f"{bookings}, row 3, field 'date'", "outside the plan year"),
        (f"{bookings}, row 4, field 'rep_id'", "empty rep_id"),
        (f"{bookings}, row 5, field 'amount'", "not a number"),
        (f"{splits}, row 1, field 'share'", "sum to 0.9, not 1"),
        (f"{splits}, row 3, field 'booking_id'", "unknown booking"),
        (f"{splits}, row 4, field 'share'", "negative share"),
        (f"{reps}, row 2, field 'rep_id'", "duplicate rep A"),
    ]
    for where, what in expected:
        assert sum(s.startswith(where + ":") and what in s for s in lines) == 1, (where, lines)
    assert len(lines) == len(expected)


def test_missing_bookings_column_is_reported_with_the_other_files_problems(tmp_path, capsys):
    plan = write_plan(tmp_path, ROLLUP)
    bookings = write_csv(tmp_path, "b.csv", "booking_id,rep_id,amount\nb1,A,100\n")
    splits = write_csv(tmp_path, "s.csv", "booking_id,rep\nb1,A\n")
    code, lines = _credit(capsys, tmp_path, plan, bookings, splits)
    assert code == 1
    assert [s.split(":")[0] for s in lines] == [
        f"{bookings}, header, field 'date'",
        f"{plan}, key 'measures[0].credit.rollup', field 'manager_id'",
        f"{splits}, header, field 'rep_id'", f"{splits}, header, field 'share'"]


def test_split_of_a_repeated_booking_names_every_split_row(tmp_path, capsys):
    plan = write_plan(tmp_path, REVENUE)
    bookings = write_csv(tmp_path, "b.csv", "booking_id,rep_id,date,amount\n"
                         "b1,A,2027-01-05,100\nb1,A,2027-01-06,100\n"
                         "b2,A,2027-01-05,100\nb2,A,2027-01-06,100\nb3,A,2027-01-07,10\n")
    splits = write_csv(tmp_path, "s.csv", "booking_id,rep_id,share\n"
                       "b1,A,0.5\nb1,B,0.5\nb3,A,1\nb2,B,1\n")
    code, lines = _credit(capsys, tmp_path, plan, bookings, splits)
    assert code == 1
    assert [re.match(r".*, row (\d+), field 'booking_id': booking '(b\d)' appears more than once",
                     s).groups() for s in lines] == [("1", "b1"), ("2", "b1"), ("4", "b2")]


def test_every_booking_whose_shares_do_not_sum_to_one_is_named_up_to_the_cap(tmp_path, capsys):
    plan = write_plan(tmp_path, REVENUE)
    n = MAX_ROWS_NAMED + 3
    bookings = write_csv(tmp_path, "b.csv", "booking_id,rep_id,date,amount\n" + "".join(
        f"b{i},A,2027-01-05,100\n" for i in range(n + 1)))
    # booking b0 is split correctly; b1..bn have shares summing to 0.75 (two rows each)
    splits = write_csv(tmp_path, "s.csv", "booking_id,rep_id,share\nb0,A,0.5\nb0,B,0.5\n"
                       + "".join(f"b{i},A,0.5\nb{i},B,0.25\n" for i in range(1, n + 1)))
    code, lines = _credit(capsys, tmp_path, plan, bookings, splits)
    assert code == 1 and len(lines) == MAX_ROWS_NAMED + 1
    # each named on its first split row: rows 3, 5, 7, ...
    for k, line in enumerate(lines[:-1]):
        assert line == (f"{splits}, row {3 + 2 * k}, field 'share': the shares of booking "
                        f"'b{k + 1}' sum to 0.75, not 1 (±1e-9)")
    first_rest = 3 + 2 * MAX_ROWS_NAMED
    assert lines[-1] == (f"{splits}, rows {first_rest}-{first_rest + 4}, field 'share': ... and 3 "
                         "more rows with the same problem (the shares of a booking do not sum "
                         "to 1 (±1e-9))")
