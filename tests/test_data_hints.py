"""New-user findings on the data layer: total lines, repeated rows reaching every command,
blank Excel rows, hints for lost leading zeros / title rows / wide exports / near-miss headers,
files not used, Excel files given as CSV, Excel error values, readable non-breaking spaces."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from spm_models.data import data_warnings, load_source, validate_source
from spm_models.data.hints import is_total_label
from spm_models.errors import MAX_ROWS_NAMED, InputError

HEAD = "rep_id,date,amount\n"
ROWS = "".join(f"R{r},2024-{m:02d},{100 + r * m}\n" for r in (1, 2) for m in range(1, 7))
THREE = "".join(ROWS.splitlines(keepends=True)[:3])


def _write(tmp_path, text, name="bookings.csv"):
    (tmp_path / name).write_text(text)
    return tmp_path


@pytest.mark.parametrize("label", ["Total", "Grand Total", "  GRAND   TOTAL: ", "Subtotal",
                                   "Sub-Total", "sum", "West Total", "Total Result",
                                   "Sum of amount", "Gesamtsumme", "totals"])
def test_total_labels_are_recognised(label):
    assert is_total_label(label)


@pytest.mark.parametrize("rep", ["R1", "00001", "Tot", "Totalis", "Summer Smith", "Sum Lee", "ALL", "1"])
def test_rep_ids_are_not_total_labels(rep):
    assert not is_total_label(rep)


@pytest.mark.parametrize("tail", ["Grand Total,2024-12,2600\n", "\nTotal,2024-06,2600\n",
                                  "Total,,2600\n"])
def test_a_labelled_total_row_is_refused_without_a_reps_table(tmp_path, tail):
    src = _write(tmp_path, HEAD + ROWS + tail)
    lines = validate_source(src)
    assert len(lines) == 1, lines
    assert lines[0].startswith("bookings.csv, row 1") and "column 'rep_id'" in lines[0]
    assert "total/subtotal line" in lines[0]
    with pytest.raises(InputError):
        load_source(src)


def test_a_total_row_with_reps_is_one_line_not_unknown_rep(tmp_path):
    _write(tmp_path, "rep_id,region,territory_id,hire_date\nR1,W,T1,2020-01-01\n"
                     "R2,W,T1,2020-01-01\n", "reps.csv")
    src = _write(tmp_path, HEAD + ROWS + "Grand Total,2024-12,2600\n")
    assert validate_source(src) == [
        ("bookings.csv, row 13, column 'rep_id': 'Grand Total' looks like a total/subtotal line "
        "of a report, not a rep's data: delete the row (or export the details without totals)")]


def test_repeated_rows_warn_from_load_source_and_are_exposed(tmp_path, capsys):
    src = _write(tmp_path, HEAD + ROWS + THREE)
    tables = load_source(src)
    warns = data_warnings(tables)
    assert len(warns) == 1 and warns[0].startswith("bookings.csv, rows 13, 14, 15: 3 row(s)")
    assert "repeat an earlier row" in warns[0]
    assert capsys.readouterr().err == f"warning: {warns[0]}\n"
    load_source(src)  # printed once per process
    assert capsys.readouterr().err == ""
    assert data_warnings({"bookings": tables["bookings"]}) == []


def test_backtest_prints_the_repeat_warning(tmp_path):
    src = _write(tmp_path, HEAD + ROWS + THREE)
    r = subprocess.run([sys.executable, "-m", "spm_models.cli", "forecast", "backtest",
                        "--data", str(src), "--holdout", "40", "--out", str(tmp_path / "m.json")],
                       capture_output=True, text=True)
    assert r.returncode == 1  # too short; the warning still reaches the user, once
    assert r.stderr.count("repeat an earlier row") == 1, r.stderr
    assert "the largest holdout is" in r.stderr and "Traceback" not in r.stderr


def test_excel_blank_rows_are_skipped_and_rows_keep_their_numbers(tmp_path):
    df = pd.DataFrame({"rep_id": ["R1", None, "R2", None, "R3"],
                       "date": ["2024-01", None, "2024-02", "  ", "x"],
                       "amount": [1.0, None, 2.0, None, 3.0]})
    df.to_excel(tmp_path / "bookings.xlsx", index=False)
    assert validate_source(tmp_path) == [
        "bookings.xlsx, row 5, column 'date': not a date ('x')"]
    dups = pd.concat([df.iloc[[0]]] * 2)
    dups.to_excel(tmp_path / "bookings.xlsx", index=False)
    assert data_warnings(load_source(tmp_path, warn=False))[0].startswith("bookings.xlsx, row 2")


def test_lost_leading_zeros_are_hinted_and_capped(tmp_path):
    reps = "".join(f"{i:05d},W,T1,2020-01-01\n" for i in range(1, 31))
    _write(tmp_path, "rep_id,region,territory_id,hire_date\n" + reps, "reps.csv")
    rows = "".join(f"{i},2024-01,10\n" for i in range(1, 31))
    lines = validate_source(_write(tmp_path, HEAD + rows))
    assert len(lines) == MAX_ROWS_NAMED + 1
    assert lines[0] == ("bookings.csv, row 1, column 'rep_id': unknown rep_id '1' (not in "
                        "reps.csv): reps.csv has '00001' (leading zeros lost, e.g. by Excel? "
                        "format the id column as text)")
    assert "leading zeros lost" in lines[-1]


def test_wide_export_and_near_miss_headers_are_hinted(tmp_path):
    wide = "rep_id,2024-01,2024-02,2024-03\nR1,1,2,3\n"
    (line,) = validate_source(_write(tmp_path, wide))
    assert line.startswith("bookings.csv, header row: required columns date, amount not found")
    assert "one column per month" in line and "melt" in line
    lines = validate_source(_write(tmp_path, "Rep ID,Month,Amount (USD)\nR1,2024-01,5\n"))
    assert lines == [
        ("bookings.csv, header row, column 'rep_id': required column is missing: the column "
        "'Rep ID' is probably meant: rename it 'rep_id'"),
        ("bookings.csv, header row, column 'date': required column is missing: the column "
        "'Month' is probably meant: rename it 'date'"),
        ("bookings.csv, header row, column 'amount': required column is missing: the column "
        "'Amount (USD)' is probably meant: rename it 'amount'")]


def test_title_rows_above_an_excel_header_are_hinted(tmp_path):
    rows = [["Bookings by rep FY24", None, None], [None, None, None],
            ["rep_id", "date", "amount"], ["R1", "2024-01", 5.0]]
    pd.DataFrame(rows).to_excel(tmp_path / "bookings.xlsx", index=False, header=False)
    (line,) = validate_source(tmp_path)
    assert line.startswith("bookings.xlsx, header row: required columns rep_id, date, amount "
                           "not found: the header row seems to be spreadsheet row 3")


def test_files_not_used_are_named(tmp_path, capsys):
    _write(tmp_path, HEAD + ROWS)
    _write(tmp_path, HEAD + ROWS, "Bookings_2024_export.csv")
    _write(tmp_path, HEAD.replace(",", "\t"), "bookings.txt")
    _write(tmp_path, "x\n1\n", "truth_reps.csv")
    warns = data_warnings(load_source(tmp_path))
    assert warns == [
        ("Bookings_2024_export.csv: not used as a contract table: the file name is not a table "
        "name, so it is read as an extra table 'bookings_2024_export' (name it bookings.csv to "
        "use it as bookings)"),
        ("bookings.txt: skipped: not a CSV, Parquet or Excel file (a tab-separated export? save "
        "it as CSV, comma separated) (name it bookings.csv to use it as bookings)")]
    assert capsys.readouterr().err.count("warning: ") == 2


def test_an_excel_file_given_as_csv_is_named(tmp_path):
    from spm_models.data.csvfile import read_csv

    pd.DataFrame({"a": [1]}).to_excel(tmp_path / "credits.csv", index=False)
    df, problems = read_csv(tmp_path / "credits.csv", "credits.csv")
    assert df is None and problems[0].startswith("credits.csv: an Excel workbook (.xlsx)")
    assert "save it as 'CSV UTF-8'" in problems[0] and "0x" not in problems[0]


def test_excel_errors_and_non_breaking_spaces_are_worded(tmp_path):
    src = _write(tmp_path, HEAD + "R1,2024-01,#N/A\nR1,2024-02,47\xa0703.17\n#REF!,2024-03,5\n")
    assert validate_source(src) == [
        ("bookings.csv, row 3, column 'rep_id': '#REF!' is an Excel error value (a formula that "
        "failed): fix the formula or clear the cell"),
        ("bookings.csv, row 1, column 'amount': not a number ('#N/A'): an Excel error value (a "
        "formula that failed): fix the formula or clear the cell before exporting"),
        ("bookings.csv, row 2, column 'amount': not a number ('47 703.17'): write it without "
        "thousands separators (a space or non-breaking space between the thousands): 1234.50")]


def test_a_single_file_not_named_after_a_table_is_told_how_to_name_it(tmp_path):
    path = tmp_path / "single_bookings.csv"
    path.write_text("rep_id,date,amount\nR1,2026-01-05,10\n")
    (line,) = validate_source(path)
    assert line.endswith(": a single file is read as the table named after it; name it after its table, "
                         "e.g. bookings.csv")
    path.rename(tmp_path / "bookings.csv")
    assert validate_source(tmp_path / "bookings.csv") == []


def test_a_trailing_minus_is_worded(tmp_path):
    # SAP exports write negatives as 500.00-
    src = _write(tmp_path, HEAD + "R1,2024-01,500.00-\nR1,2024-02,-5\n")
    assert validate_source(src) == [
        ("bookings.csv, row 1, column 'amount': not a number ('500.00-'): write a negative number with "
         "the minus first (-500.00), not 500.00- (SAP)")]


def test_comp_calc_number_errors_carry_the_hint():
    from spm_models.comp.calc import _bounded

    assert _bounded("$1,200")[1] == ("not a number: '$1,200': write the number without a "
                                     "currency symbol")
