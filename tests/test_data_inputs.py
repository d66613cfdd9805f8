"""Files as CRMs and spreadsheets export them (issue 12, items 1-5): date-times with zones,
day-first dates, blank lines and report footers, mangled ZIP codes, huge numbers.

Every fixture is invented (no real people or accounts).
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spm_models.cli import main
from spm_models.data import load_source, validate_source
from spm_models.data.dates import parse_dates
from spm_models.data.zipcode import normalise_zips
from spm_models.errors import Problems

REPS = "rep_id,region,territory_id,hire_date\nR1,West,T1,2024-01-15\nR2,East,T2,2024-02-01\n"


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


# --------------------------------------------------------------------------- 1. timestamps


def test_crm_timestamps_with_zones_are_the_date_as_written(tmp_path, capsys):
    src = folder(tmp_path, {"bookings.csv": (
        "rep_id,date,amount\n"
        "R1,2026-03-04T00:00:00Z,1000\n"            # a CRM data-loader export
        "R1,2026-03-04T23:30:00-05:00,10\n"         # late evening in New York: still the 4th
        "R2,2026-03-05T00:15:00.000+0100,5\n"       # just after midnight in Paris: the 5th
        "R2,2026-03-06 09:30:00,7\n")})
    code, _, err = run_cli(["data", "validate", str(src)], capsys)
    assert code == 0, err
    assert "Traceback" not in err
    dates = load_source(src)["bookings"]["date"]
    assert dates.dtype == "datetime64[ns]"
    assert [d.date().isoformat() for d in dates] == [
        "2026-03-04", "2026-03-04", "2026-03-05", "2026-03-06"]


_ZONES = st.sampled_from(["", "Z", "+00:00", "-05:00", "+0530", "-1000", "+14:00", " UTC"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(
    st.dates(dt.date(1990, 1, 1), dt.date(2060, 12, 31)),
    st.times(), _ZONES, st.sampled_from(["T", " "]), st.booleans()),
    min_size=1, max_size=12))
def test_property_iso_datetimes_any_zone(cells):
    """Any ISO 8601 date-time, with or without zone or fraction, is its calendar date."""
    text, truth = [], []
    for d, t, zone, sep, frac in cells:
        clock = t.strftime("%H:%M:%S") + (f".{t.microsecond:06d}" if frac else "")
        text.append(f"{d.isoformat()}{sep}{clock}{zone}")
        truth.append(pd.Timestamp(d))
    res = parse_dates(pd.Series(text, dtype=object))
    assert not res.bad.any() and res.problem is None
    assert list(res.values) == truth


# --------------------------------------------------------------------------- 2. day-first


def test_day_first_column_is_read_with_one_format(tmp_path):
    # the column: 13/04 can only be day-first, so every row is day-first
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,03/04/2026,1\n"
                            "R1,13/04/2026,1\nR1,28/02/2026,1\nR1,01/03/2026,1\n"})
    dates = load_source(src)["bookings"]["date"].dt.strftime("%Y-%m-%d").tolist()
    assert dates == ["2026-04-03", "2026-04-13", "2026-02-28", "2026-03-01"]


def test_undecidable_column_is_one_line_then_source_yaml_or_option_decides(tmp_path, capsys):
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,03/04/2026,1\n"
                            "R1,01/02/2026,1\nR1,12/11/2026,1\n"})
    problems = validate_source(src)
    assert len(problems) == 1
    line = problems[0]
    assert line.startswith("bookings.csv, column 'date': ")
    assert "date_format: DD/MM/YYYY" in line and "source.yaml" in line
    # the option decides ...
    code, _, err = run_cli(["data", "validate", str(src), "--date-format", "MM/DD/YYYY"],
                             capsys)
    assert code == 0, err
    assert load_source(src, date_format="MM/DD/YYYY")["bookings"]["date"].iloc[0] == \
        pd.Timestamp("2026-03-04")
    # ... and so does source.yaml beside the files
    (src / "source.yaml").write_text("date_format: DD/MM/YYYY\n")
    assert validate_source(src) == []
    got = load_source(src)["bookings"]["date"].dt.strftime("%Y-%m-%d").tolist()
    assert got == ["2026-04-03", "2026-02-01", "2026-11-12"]
    # the option overrides source.yaml's date_format, even one that is not valid
    (src / "source.yaml").write_text("date_format: YYYY-MM-DD\n")
    assert any("key 'date_format'" in p for p in validate_source(src))
    assert validate_source(src, date_format="MM/DD/YYYY") == []
    (src / "source.yaml").write_text("date_format: DD/MM/YYYY\n")
    # a value contradicting the stated order is a row error, not a silent swap
    (src / "bookings.csv").write_text("rep_id,date,amount\nR1,03/04/2026,1\nR1,04/13/2026,1\n")
    assert validate_source(src) == [("bookings.csv, row 2, column 'date': not a date "
                                     "('04/13/2026'): reads only MM/DD/YYYY, not the column's DD/MM/YYYY")]


def test_a_stated_order_the_whole_column_contradicts_is_one_line(tmp_path):
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,01/15/2022,1\nR1,02/15/2022,2\n"
                            "R1,03/05/2022,3\n"})
    assert validate_source(src, date_format="DD/MM/YYYY") == [
        ("bookings.csv, column 'date': dates such as '01/15/2022' read only MM/DD/YYYY, not the stated "
         "DD/MM/YYYY: state date_format MM/DD/YYYY (source.yaml or --date-format)")]
    assert validate_source(src, date_format="MM/DD/YYYY") == []
    # a column that holds both orders: the stated order decides, the contradicting rows are named
    (src / "bookings.csv").write_text("rep_id,date,amount\nR1,01/15/2022,1\nR1,15/02/2022,2\n")
    assert validate_source(src, date_format="DD/MM/YYYY") == [
        ("bookings.csv, row 1, column 'date': not a date ('01/15/2022'): reads only MM/DD/YYYY, "
        "not the column's DD/MM/YYYY")]


def test_no_repeated_row_warning_while_the_dates_are_undecided(tmp_path, capsys):
    # unparsed dates are all NaT: rows that differ only in their date must not look repeated
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,01/05/2022,1\nR1,02/05/2022,1\n"})
    code, _, err = run_cli(["data", "validate", str(src)], capsys)
    assert code == 1 and "can be read day-first or month-first" in err and "repeat" not in err
    (src / "bookings.csv").write_text("rep_id,date,amount\nR1,2022-01-05,1\nR1,2022-01-05,1\n")
    code, _, err = run_cli(["data", "validate", str(src)], capsys)
    assert code == 0 and "row 2: 1 row(s) repeat an earlier row" in err


def test_an_unreadable_extra_table_is_skipped_with_a_warning(tmp_path, capsys):
    # docs/data.md: extra tables never break validation
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,2026-01-05,1\n",
                            "notes.csv": "note\nhello\nfoo,bar\n"})
    code, out, err = run_cli(["data", "validate", str(src)], capsys)
    assert code == 0 and out.startswith("valid: 1 bookings")
    assert err.strip() == ("warning: notes.csv: cannot read file (ParserError: Error tokenizing data. C error: "
                           "Expected 1 fields in line 3, saw 2); not a contract table, skipped")
    assert "notes" not in load_source(src, warn=False)
    # a contract table that cannot be read is still a problem
    (src / "reps.csv").write_bytes(b"\xff\xfe\x00bad")
    assert any(p.startswith("reps.csv:") for p in validate_source(src))


def test_a_date_of_neither_order_is_a_row_error_not_a_mixed_column(tmp_path):
    # 13/25/2026 is neither day-first nor month-first: it is not evidence of either order
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,01/15/2022,1\n"
                            "R1,02/15/2022,2\nR1,13/25/2026,3\n"})
    assert validate_source(src) == ["bookings.csv, row 3, column 'date': not a date ('13/25/2026')"]
    # with only ambiguous dates besides it, the order is undecided: one column line, and the
    # stated order then names the row
    (src / "bookings.csv").write_text("rep_id,date,amount\nR1,01/05/2022,1\nR1,02/05/2022,2\nR1,13/25/2026,3\n")
    (line,) = validate_source(src)
    assert "can be read day-first or month-first" in line and "spm forecast backtest also take" in line
    assert validate_source(src, date_format="MM/DD/YYYY") == [
        "bookings.csv, row 3, column 'date': not a date ('13/25/2026')"]


def test_a_lone_one_way_date_does_not_decide_a_column_of_ambiguous_dates(tmp_path):
    # month-first export, one typo '25/03/2022' among 24 ambiguous dates: before, the whole column
    # was silently read day-first (every month and day swapped)
    rows = [f"R1,{m:02d}/{d:02d}/2022,{i}" for i, (m, d) in enumerate((m, d) for m in range(1, 13) for d in (1, 5))]
    body = "rep_id,date,amount\n" + "\n".join(rows + ["R1,25/03/2022,99"]) + "\n"
    src = folder(tmp_path, {"bookings.csv": body})
    (line,) = validate_source(src)
    assert line.startswith("bookings.csv, column 'date': only 1 of 25 distinct dates read one way only "
                           "(such as '25/03/2022', DD/MM/YYYY)") and "date_format" in line
    # the stated order decides; the typo is then named on its row
    assert validate_source(src, date_format="MM/DD/YYYY") == [
        ("bookings.csv, row 25, column 'date': not a date ('25/03/2022'): reads only DD/MM/YYYY, "
        "not the column's MM/DD/YYYY")]
    # evidence from more than 1 in 20 distinct dates decides as before: day-first, read right
    body = "rep_id,date,amount\n" + "\n".join(rows + ["R1,25/03/2022,99", "R1,14/07/2022,98"]) + "\n"
    (src / "bookings.csv").write_text(body)
    assert validate_source(src) == []
    dates = load_source(src, warn=False)["bookings"]["date"]
    assert str(dates.iloc[1].date()) == "2022-05-01" and str(dates.iloc[-1].date()) == "2022-07-14"
    # exactly 20 distinct dates, one of them one-way: still one line; spellings and times of one
    # date count once ('1/2/2022' and '01/02/2022 9:30 AM' are one date)
    rows19 = rows[:19] + ["R1,25/03/2022,99"]
    (src / "bookings.csv").write_text("rep_id,date,amount\n" + "\n".join(rows19) + "\n")
    assert "only 1 of 20 distinct dates" in validate_source(src)[0]
    respelled = [r.replace("/2022", "/2022 9:30 AM") for r in rows] + ["R1,25/03/2022 9:15 AM,1",
                                                                       "R1,25/03/2022 10:15 AM,2"]
    (src / "bookings.csv").write_text("rep_id,date,amount\n" + "\n".join(rows + respelled) + "\n")
    assert "only 1 of 25 distinct dates" in validate_source(src)[0]
    # real day-first data (days 1-22 of each month: under half of it reads one way only) under a
    # stated month-first order: one column line, not a row line per day above 12
    dmy = [f"R1,{d:02d}/{m:02d}/2023,{d}" for m in range(1, 13) for d in range(1, 23)]
    (src / "bookings.csv").write_text("rep_id,date,amount\n" + "\n".join(dmy) + "\n")
    (line,) = validate_source(src, date_format="MM/DD/YYYY")
    assert "read only DD/MM/YYYY, not the stated MM/DD/YYYY" in line
    # a short column keeps deciding by a single value (too few dates to call it a typo)
    (tmp_path / "b").mkdir()
    src2 = folder(tmp_path / "b", {"bookings.csv": "rep_id,date,amount\nR1,01/05/2022,1\nR1,25/03/2022,2\n"})
    assert validate_source(src2) == []


def test_mixed_orders_and_bad_settings_are_reported(tmp_path):
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,13/04/2026,1\n"
                            "R1,04/13/2026,1\n"})
    (problem,) = validate_source(src)
    assert "mixes day-first ('13/04/2026') and month-first ('04/13/2026')" in problem
    (src / "source.yaml").write_text("date_format: YYYY/DD/MM\ncolour: red\n")
    lines = validate_source(src)
    assert any("key 'date_format': not one of DD/MM/YYYY, MM/DD/YYYY" in p for p in lines)
    assert any("key 'colour': unknown setting" in p for p in lines)


_SEPS = st.sampled_from(["/", ".", "-"])


@settings(max_examples=80, deadline=None)
@given(st.lists(st.dates(dt.date(1970, 1, 1), dt.date(2068, 12, 31)), min_size=1, max_size=15),
       _SEPS, st.booleans(), st.booleans(), st.sampled_from(["DMY", "MDY"]),
       st.sampled_from(["", " 09:30", " 9:30 AM", "T23:59:59Z"]))
def test_property_numeric_dates_one_order_per_column(days, sep, pad, short_year, order, clock):
    """Day-first or month-first, any separator/padding/2-digit year: the column is read in
    one order -- the right one when the column decides, else one column-level problem, and
    always the right one when the source states it."""
    def fmt(d: dt.date) -> str:
        a, b = (d.day, d.month) if order == "DMY" else (d.month, d.day)
        y = f"{d.year % 100:02d}" if short_year else f"{d.year}"
        part = (lambda v: f"{v:02d}") if pad else str
        return f"{part(a)}{sep}{part(b)}{sep}{y}{clock}"

    text = pd.Series([fmt(d) for d in days], dtype=object)
    truth = [pd.Timestamp(d) for d in days]
    stated = parse_dates(text, order)
    assert list(stated.values) == truth and not stated.bad.any()
    res = parse_dates(text)
    decidable = any(d.day > 12 for d in days if d.day != d.month)
    if decidable:
        assert res.problem is None and list(res.values) == truth
    elif all(d.day == d.month for d in days):  # 03/03: both orders give the same date
        assert res.problem is not None or list(res.values) == truth
    else:
        assert res.problem is not None and res.undecided.all() and not res.bad.any()


# --------------------------------------------------------------------------- 3. row numbers


def test_blank_lines_and_multiline_cells_count_as_spreadsheet_rows(tmp_path):
    src = folder(tmp_path, {"bookings.csv": (
        "rep_id,date,amount,product\n"
        "R1,2026-01-05,1000,Widget\n"
        "\n"                                            # row 2: a blank row
        'R1,2026-01-06,5,"Widget\nDeluxe"\n'            # row 3: one row over two lines
        "R2,2026-01-20,abc,Widget\n")})                 # row 4
    assert validate_source(src) == ["bookings.csv, row 4, column 'amount': not a number ('abc')"]


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from(["good", "blank", "multi", "empty_cells"]), max_size=12),
       st.lists(st.sampled_from(["good", "blank", "multi"]), max_size=5))
def test_property_rows_match_the_spreadsheet(before, after):
    """The bad cell is reported on the row a spreadsheet shows (header = row 0 here), by both
    `spm data validate` and `spm comp calc`'s reader."""
    from spm_models.comp.calc import _parse_rows
    from spm_models.comp.plan import Plan

    lines = {"good": "R1,2027-01,5,x", "blank": "", "multi": 'R1,2027-01,5,"a\nb"',
             "empty_cells": ",,,"}
    body = [lines[k] for k in before] + ["R1,2027-01,abc,x"] + [lines[k] for k in after]
    bad_row = len(before) + 1
    text = "rep_id,period,amount,note\n" + "\n".join(body) + "\n"
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bookings.csv"
        path.write_text(text.replace("period", "date").replace("2027-01", "2027-01-05"))
        assert validate_source(path) == [
            f"bookings.csv, row {bad_row}, column 'amount': not a number ('abc')"]
        cpath = Path(d) / "credits.csv"
        cpath.write_text(text)
        plan = Plan.from_dict({
            "name": "p", "plan_year_start": "2027-01", "payout_frequency": "month",
            "target_incentive": 1000, "measures": [{"name": "bookings", "quota_period": "month",
                                                    "tiers": [{"rate": 1.0}]}]})
        from spm_models.comp.calc import read_table

        problems = Problems()
        _parse_rows(read_table(cpath), "credits.csv", "amount", plan, problems)
        assert problems.lines() == [(f"credits.csv, row {bad_row}, field 'amount': not a "
                                   "number: 'abc'")]


SALESFORCE_FOOTER = (
    "\n"
    '"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."\n'
    '"Confidential Information - Do Not Distribute"\n'
    '"Generated By:  Casey Example  3/4/2026 9:30 AM"\n'
    '"Example Widgets, Inc."\n')


def test_report_footer_is_one_line(tmp_path, capsys):
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,2026-01-05,1000\n"
                            "R1,2026-01-06,2000\n" + SALESFORCE_FOOTER})
    assert validate_source(src) == [(
        "bookings.csv, rows 4-7: a report footer, not data ('Copyright (c) 2000-2026 "
        "salesforce.com, inc. Al...'): export the report without its footer (details only) or "
        "delete these rows")]
    # a footer without a blank line before it is recognised by its words
    (src / "bookings.csv").write_text("rep_id,date,amount\nR1,2026-01-05,1000\n"
                                      "Generated by Example CRM on 2026-03-04\n")
    (line,) = validate_source(src)
    assert line.startswith("bookings.csv, row 2: a report footer")


def test_semicolon_file_with_decimal_commas_gets_a_delimiter_hint(tmp_path, capsys):
    src = folder(tmp_path, {"bookings.csv": "rep_id;date;amount\nR1;2026-01-05;1000,50\n"
                            "R1;2026-01-06;20,25\n"})
    code, _, err = run_cli(["data", "validate", str(src)], capsys)
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1
    assert "separated by ';'" in lines[0] and "decimal" in lines[0]


def test_too_many_cells_names_the_row(tmp_path):
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,2026-01-05,1000\n\n"
                            "R1,2026-01-06,1,000\n"})
    assert validate_source(src) == [("bookings.csv, row 3: 4 cells but the header has 3 "
                                     "columns (quote cells that contain commas)")]


def test_bookings_before_the_hire_month_are_a_warning(tmp_path, capsys):
    # an HR file holding the current role's start date: the forecast would silently drop the
    # months before it (a fresh user's backtest coverage fell from .81 to .42)
    src = folder(tmp_path, {"reps.csv": "rep_id,region,territory_id,hire_date\nR1,East,T1,2017-01-01\n"
                                        "R2,East,T1,2015-01-01\n",
                            "bookings.csv": "rep_id,date,amount\nR1,2016-01-05,10\nR1,2016-12-31,10\n"
                                            "R1,2017-01-02,5\nR2,2016-01-06,5\n"})
    code, out, err = run_cli(["data", "validate", str(src)], capsys)
    assert code == 0 and out.startswith("valid: 2 reps, 4 bookings")
    assert err.strip() == ("warning: bookings.csv, rows 1, 2: 2 booking row(s) of 1 rep(s) dated before the rep's "
                           "hire month in reps.csv (e.g. 'R1' on 2016-01-05, hired 2017-01-01): the forecast counts a "
                           "rep from the hire month on and leaves these out (a rep with positive bookings in 2 or more "
                           "months before it is taken as tenured: no ramp-up); if hire_date is the start of the "
                           "current role, give the first day with the company")
    # a booking in the hire month itself is fine
    (src / "bookings.csv").write_text("rep_id,date,amount\nR1,2017-01-01,5\nR2,2016-01-06,5\n")
    assert load_source(src, warn=False).warnings == []


def test_rows_with_more_cells_than_the_header(tmp_path):
    # every row ends in a comma the header lacks (an export's trailing empty cell): read as
    # written; before, pandas took rep_id for an index and shifted date into amount
    src = folder(tmp_path, {"bookings.csv": "rep_id,date,amount\nR1,2026-01-05,10,\nR2,2026-01-06,5,\n"})
    assert validate_source(src) == []
    bk = load_source(src, warn=False)["bookings"]
    assert bk["rep_id"].tolist() == ["R1", "R2"] and bk["amount"].tolist() == [10.0, 5.0]
    # a header one name short: one line, not a 'not a date' per row
    (src / "bookings.csv").write_text("rep_id,date\nR1,2026-01-05,10\nR2,2026-01-06,5\n")
    assert validate_source(src) == [
        ("bookings.csv, row 1: 3 cells but the header has 2 columns (a column name missing from the "
         "header, or quote cells that contain commas)")]


def test_one_cell_title_above_the_header_is_named_not_a_cell_count(tmp_path, capsys):
    # a reporting tool's export: the report name alone in row 1, a blank row, then the header
    src = folder(tmp_path, {"bookings.csv": "Bookings by rep - FY26\n\nrep_id,date,amount\n"
                            "R1,2026-01-05,1000\nR1,2026-02-05,20\n"})
    code, _, err = run_cli(["data", "validate", str(src)], capsys)
    lines = err.strip().splitlines()
    assert code == 1 and len(lines) == 1
    assert lines[0] == ("error: bookings.csv, rows 1-2: a title above the header ('Bookings by rep - FY26'); the "
                        "header seems to be spreadsheet row 3 ('rep_id', 'date', 'amount'): delete the rows above it")
    # deleting the title and blank rows makes the file valid
    (src / "bookings.csv").write_text("rep_id,date,amount\nR1,2026-01-05,1000\nR1,2026-02-05,20\n")
    assert validate_source(src) == []
    # a one-column file with a data row of numbers is still a cell count, not a title
    (src / "bookings.csv").write_text("rep_id\nR1\nR2,5,6\n")
    assert "3 cells but the header has 1 column " in validate_source(src)[0]


@pytest.mark.parametrize("text, above, title, header_row", [
    ("Bookings by rep - FY26\nrep_id,date,amount\n", "row 1", "'Bookings by rep - FY26'", 2),  # no blank row
    ("Bookings by rep\n,,\n,,\nrep_id,date,amount\n", "rows 1-3", "'Bookings by rep'", 4),  # comma padding
    ('"Bookings, by rep",,\n\nrep_id,date,amount\n', "rows 1-2", "'Bookings, by rep'", 3),
    ("Title\n\nrep_id,date,amount,\n", "rows 1-2", "'Title'", 3),  # header with a trailing comma
    ("Bookings report\nGenerated 2026-11-30\n\nrep_id,date,amount\n", "rows 1-3", "'Bookings report'", 4),
    ("\n\nrep_id,date,amount\n", "rows 1-2", None, 3),  # blank rows above the header
    ("Bookings by rep,FY26\nrep_id,date,amount\n", "row 1", "'Bookings by rep, FY26'", 2),  # a two-cell title
    ("Bookings by rep,FY26,\nExported,2026-11-30,\n,,\nrep_id,date,amount\n", "rows 1-3",
     "'Bookings by rep, FY26'", 4),
    # a title, then a line of details, then the header (not the details taken for the header)
    ("Bookings by rep - FY26\nRegion: West,Currency: USD\nrep_id,date,amount\n", "rows 1-2",
     "'Bookings by rep - FY26'", 3),
    ("".join(f"Report line {i},x\n" for i in range(25)) + "rep_id,date,amount\n", "rows 1-25",
     "'Report line 0, x'", 26),  # a long preamble
])
def test_rows_above_the_header_are_named_in_one_line(tmp_path, text, above, title, header_row):
    src = folder(tmp_path, {"bookings.csv": text + "R1,2026-01-05,1000\nR1,2026-02-05,20\n"})
    (line,) = validate_source(src)
    what = f"a title above the header ({title})" if title else "blank above the header"
    assert line == (f"bookings.csv, {above}: {what}; the header seems to be spreadsheet row {header_row} "
                    "('rep_id', 'date', 'amount'): delete the rows above it")


def test_a_title_above_a_header_the_contract_does_not_name(tmp_path):
    # the header's names are wrong too: the title is named first (pandas would otherwise take
    # the title's cells for the header and the first column for an index)
    src = folder(tmp_path, {"bookings.csv": "Bookings by rep,FY26\nRep ID,Close Date,Deal Value\nR1,2026-01-05,10\n"})
    assert validate_source(src) == [
        ("bookings.csv, row 1: a title above the header ('Bookings by rep, FY26'); the header seems to be "
        "spreadsheet row 2 ('Rep ID', 'Close Date', 'Deal Value'): delete the rows above it")]


@pytest.mark.parametrize("text", [
    "Rep,Close Day,Value,Kind,Sub\nR1,2026-01-05,10,plan,role\n",  # a data row is not a header
    "Rep,Day,Value\nR1,2026-01-05,10\nrep_id,date,amount\nR2,2026-01-06,5\n",  # nor a data row a title
])
def test_data_rows_are_not_taken_for_a_title_or_a_header(tmp_path, text):
    src = folder(tmp_path, {"bookings.csv": text})
    assert not any("a title above the header" in p for p in validate_source(src)), validate_source(src)


def test_a_one_column_table_is_not_taken_for_a_title(tmp_path):
    # its first cell is a contract column name, or a bare name above more one-cell rows
    for text in ("rep_id\nR02,extra\n", "rep_id\nR01\nR02,extra\n", "note\nhello\nfoo,bar\n"):
        (tmp_path / "one").mkdir(exist_ok=True)
        src = folder(tmp_path / "one", {"bookings.csv": text})
        assert not any("title" in p for p in validate_source(src)), text


# --------------------------------------------------------------------------- 4. ZIP codes


@pytest.mark.parametrize("written", ["02134", "2134", "2134.0", "21341234", "021341234",
                                     "02134-1234", "2134-1234", " 02134 "])
def test_zip_spellings_resolve(tmp_path, written):
    src = folder(tmp_path, {"accounts.csv": f"account_id,zip,potential\nA1,{written},10\n"})
    assert load_source(src)["accounts"]["zip"].tolist() == ["02134"]


@pytest.mark.parametrize("written", ["213412", "0213412345", "SW1A 1AA", "00000", "2134-12"])
def test_bad_zip_spellings_are_rejected_with_the_row(tmp_path, written):
    src = folder(tmp_path, {"accounts.csv": f"account_id,zip,potential\nA0,02134,1\n"
                            f"A1,{written},10\n"})
    (line,) = validate_source(src)
    assert line.startswith("accounts.csv, row 2, column 'zip': not a US ZIP code")


def _real_zips() -> list[str]:
    from spm_models.planning.geo import all_zip_centroids

    return [str(z) for z in all_zip_centroids()[0]]


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_real_zips()), st.integers(0, 9999),
       st.sampled_from(["plain", "number", "float", "plus4", "plus4_number", "plus4_text"]))
def test_property_mangled_zips_come_back(zip5, plus4, how):
    """Whatever a spreadsheet did to a real ZIP (or ZIP+4), it comes back as that ZIP."""
    z9 = f"{zip5}{plus4:04d}"
    written = {"plain": zip5, "number": str(int(zip5)), "float": f"{int(zip5)}.0",
               "plus4": f"{zip5}-{plus4:04d}", "plus4_number": str(int(z9)),
               "plus4_text": z9}[how]
    got, bad = normalise_zips(pd.Series([written], dtype=object))
    assert not bad[0] and got[0] == zip5
    # and numbers straight from a typed source (Excel/Parquet floats)
    if how in ("number", "plus4_number"):
        got, bad = normalise_zips(pd.Series([float(written)]))
        assert not bad[0] and got[0] == zip5


def test_zip_plus4_account_is_placed_at_its_zip_not_a_prefix():
    """07030-1234 exported as 70301234 (New Jersey) is Hoboken, not a Louisiana prefix; an
    unknown ZIP is an error line, never a prefix centroid; the output carries the ZIP."""
    from spm_models.errors import InputError
    from spm_models.planning.territory import balance_territories, prepare_accounts

    acc = pd.DataFrame({"account_id": ["A1", "A2", "A3", "A4"],
                        "zip": ["70301234", "2134.0", "10001", "94105"],
                        "potential": [1.0, 1.0, 1.0, 1.0],
                        "territory_id": ["T1", "T1", "T1", "T2"]})
    out = prepare_accounts(acc, need_territory=True)
    assert out["zip"].tolist() == ["07030", "02134", "10001", "94105"]
    assert out["lat"].iloc[0] == pytest.approx(40.74, abs=0.05)  # Hoboken, NJ
    assert out["lon"].iloc[0] == pytest.approx(-74.03, abs=0.05)
    res = balance_territories(acc, k=2, time_limit=60)
    assert sorted(res.assignment["zip"]) == ["02134", "07030", "10001", "94105"]
    bad = acc.assign(zip=["07098", "213412", "10001", "94105"])  # 070 prefix exists; 07098 not
    with pytest.raises(InputError) as exc:
        prepare_accounts(bad, need_territory=True)
    assert exc.value.problems == [
        "table 'accounts', row 2, field 'zip': not a US ZIP code ('213412'): 5 digits, or ZIP+4",
        ("table 'accounts', row 1, field 'zip': no location for ZIP '07098' (not a known US "
         "ZIP with a centroid; give lat and lon)")]


# --------------------------------------------------------------------------- 5. numbers


def test_numbers_beyond_the_bound_are_one_line_each(tmp_path):
    src = folder(tmp_path, {"reps.csv": REPS, "bookings.csv": "rep_id,date,amount\n"
                            "R1,2026-01-05,1e308\nR1,2026-01-06,-2e15\nR1,2026-01-07,1e15\n"
                            "R1,2026-01-08,inf\n"})
    assert validate_source(src) == [
        "bookings.csv, row 1, column 'amount': number beyond ±1e15 ('1e308')",
        "bookings.csv, row 2, column 'amount': number beyond ±1e15 ('-2e15')",
        "bookings.csv, row 4, column 'amount': number beyond ±1e15 ('inf')"]


def test_validate_rejects_concatenated_quota_file(tmp_path):
    rows = "R1,2026-01,1000\nR1,2026-02,1000\n"
    src = folder(tmp_path, {"quotas.csv": "rep_id,period,quota\n" + rows + rows})
    assert validate_source(src) == [
        ("quotas.csv, row 3, column 'period': duplicate row for rep_id 'R1' and period "
         "'2026-01' (first at row 1)"),
        ("quotas.csv, row 4, column 'period': duplicate row for rep_id 'R1' and period "
         "'2026-02' (first at row 2)")]


def test_finance_export_months_read_as_first_day_and_period_column_hinted():
    from spm_models.data import validate_tables
    from spm_models.data.dates import parse_dates

    res = parse_dates(pd.Series(["2024-01", "2024/3", "2024-13", "2024-02-05"], dtype=object))
    assert [str(v)[:10] for v in res.values[[0, 1, 3]]] == ["2024-01-01", "2024-03-01",
                                                           "2024-02-05"]
    assert res.bad.tolist() == [False, False, True, False] and res.problem is None
    raw = pd.DataFrame({"rep_id": ["R1"], "period": ["2024-01"], "amount": ["10"]})
    _, problems = validate_tables({"bookings": raw})
    assert any("'date'" in p and "'period'" in p and "YYYY-MM" in p for p in problems), problems
