"""`spm data validate`: one line per problem naming table, row and column; exit codes."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spm_models.cli import main
from spm_models.data import validate_source, validate_tables
from spm_models.errors import MAX_ROWS_NAMED

BAD_FILES = {
    "reps.csv": """rep_id,region,territory_id,hire_date,term_date,manager_id
R1,West,T1,2024-01-15,,
R2,West,T2,2024-13-45,,R1
R1,East,T3,2024-02-01,,
R4,East,T4,2024-05-01,2024-03-01,
R5,East,,2024-01-01,,R9
""",
    "bookings.csv": """rep_id,date,amount,account_id
R1,2024-02-01,100,A1
R2,2024-02-02,abc,A1
R1,2024-02-03,,A1
R1,not-a-date,10,A1
R9,2024-02-05,5,A1
R1,2024-02-06,NaN,A1
R1,2024-02-07,7,A7
""",
    "quotas.csv": """rep_id,period,quota
R1,2024-01,1000
R1,Feb 2024,1000
R1,2024-03,-5
R9,2024-04,100
R1,2024-01,200
""",
    "accounts.csv": """account_id,zip
A1,02134
A1,10001
""",
    "opportunities.csv": """opp_id,rep_id,amount,stage,created_date,close_date,status
O1,R1,100,Prospecting,2024-01-01,2024-02-01,open
O1,R1,100,Closed Won,2024-01-01,2024-02-01,won
O3,R1,100,Closed Lost,2024-03-01,2024-02-01,lost
O4,R1,100,Proposal,2024-01-01,2024-02-01,pending
O5,R9,100,Proposal,2024-01-01,2024-02-01,open
""",
    "truth.csv": "parameter,value\nbase_deals,oops\n",  # unknown tables are not validated
}

EXPECTED = {
    "reps.csv, row 2, column 'hire_date': not a date ('2024-13-45')",
    "reps.csv, row 3, column 'rep_id': duplicate rep_id 'R1' (first at row 1)",
    "reps.csv, row 4, column 'term_date': term_date 2024-03-01 is before hire_date 2024-05-01",
    "reps.csv, row 5, column 'territory_id': missing value (empty)",
    "reps.csv, row 5, column 'manager_id': unknown manager_id 'R9' (not a rep_id in reps)",
    "bookings.csv, row 2, column 'amount': not a number ('abc')",
    "bookings.csv, row 3, column 'amount': missing value (empty or NaN)",
    "bookings.csv, row 6, column 'amount': missing value (empty or NaN)",
    "bookings.csv, row 4, column 'date': not a date ('not-a-date')",
    "bookings.csv, row 5, column 'rep_id': unknown rep_id 'R9' (not in reps.csv)",
    "bookings.csv, row 7, column 'account_id': unknown account_id 'A7' (not in accounts.csv)",
    "quotas.csv, row 2, column 'period': not a month 'YYYY-MM' ('Feb 2024')",
    "quotas.csv, row 3, column 'quota': negative quota (-5)",
    "quotas.csv, row 4, column 'rep_id': unknown rep_id 'R9' (not in reps.csv)",
    ("quotas.csv, row 5, column 'period': duplicate row for rep_id 'R1' and period '2024-01' "
     "(first at row 1)"),
    "accounts.csv, header row, column 'potential': required column is missing",
    "accounts.csv, row 2, column 'account_id': duplicate account_id 'A1' (first at row 1)",
    "opportunities.csv, row 2, column 'opp_id': duplicate opp_id 'O1' (first at row 1)",
    ("opportunities.csv, row 3, column 'close_date': close_date 2024-02-01 is before "
     "created_date 2024-03-01"),
    "opportunities.csv, row 4, column 'status': status 'pending' is not one of open/won/lost",
    "opportunities.csv, row 5, column 'rep_id': unknown rep_id 'R9' (not in reps.csv)",
}


@pytest.fixture
def bad_folder(tmp_path: Path) -> Path:
    for name, text in BAD_FILES.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def run_cli(args: list[str], capsys: pytest.CaptureFixture) -> tuple[int, str, str]:
    """Run ``spm`` in-process through ``spm_models.cli.main``; return (code, stdout, stderr)."""
    try:
        main(args)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_each_bad_input_gives_one_line(bad_folder):
    assert set(validate_source(bad_folder)) == EXPECTED
    assert len(validate_source(bad_folder)) == len(EXPECTED)


def test_cli_exit_1_one_line_per_problem(bad_folder, capsys):
    code, out, err = run_cli(["data", "validate", str(bad_folder)], capsys)
    assert code == 1
    lines = [ln.removeprefix("error: ") for ln in err.strip().splitlines()]
    assert set(lines) == EXPECTED and len(lines) == len(EXPECTED)
    assert "Traceback" not in err and out == ""


def test_valid_folder_exit_0(tmp_path, capsys):
    (tmp_path / "reps.csv").write_text("rep_id,region,territory_id,hire_date\nR1,West,T1,"
                                       "2024-01-01\n")
    (tmp_path / "bookings.csv").write_text("rep_id,date,amount,extra\nR1,2024-02-01,-5.5,x\n")
    code, out, err = run_cli(["data", "validate", str(tmp_path)], capsys)
    assert code == 0, err
    assert out.startswith("valid: 1 reps, 1 bookings")


@pytest.mark.parametrize("make,expected", [
    (lambda p: p / "missing", "no such file, folder or database URL"),
    (lambda p: p, "folder holds no CSV, Parquet or Excel files"),
    (lambda p: (p / "x.txt").write_text("hi") and p / "x.txt", "unknown kind of source"),
])
def test_source_level_problems(tmp_path, capsys, make, expected):
    source = make(tmp_path)
    code, _, err = run_cli(["data", "validate", str(source)], capsys)
    assert code == 1
    assert expected in err


def test_folder_without_contract_tables(tmp_path):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    assert any("holds none of the tables" in p for p in validate_source(tmp_path))


def test_empty_csv_file(tmp_path):
    (tmp_path / "bookings.csv").write_text("")
    assert validate_source(tmp_path) == ["bookings.csv, header row: file is empty (no header row)"]


def test_wrong_types_from_typed_sources():
    reps = pd.DataFrame({"rep_id": [1, 2], "region": ["W", "W"], "territory_id": ["T", "T"],
                         "hire_date": [20240101, 20240102]})
    bookings = pd.DataFrame({"rep_id": ["1"], "date": [pd.Timestamp("2024-02-01")],
                             "amount": [True]})
    typed, problems = validate_tables({"reps": reps, "bookings": bookings})
    assert "reps, row 1, column 'hire_date': not a date ('20240101')" in problems
    assert "bookings, row 1, column 'amount': not a number ('True')" in problems
    assert typed["reps"]["rep_id"].tolist() == ["1", "2"]  # ids become strings
    far = reps.assign(hire_date=np.array(["2024-01-01", "9999-12-31"], dtype="datetime64[us]"))
    typed, problems = validate_tables({"reps": far})
    assert problems == ["reps, row 2, column 'hire_date': date out of range ('9999-12-31')"]
    assert typed["reps"]["hire_date"].dtype == "datetime64[ns]"


def test_many_bad_rows_are_capped(tmp_path):
    n = MAX_ROWS_NAMED + 50
    rows = "\n".join(f"R1,2024-01-01,x{i}" for i in range(n))
    (tmp_path / "bookings.csv").write_text("rep_id,date,amount\n" + rows + "\n")
    problems = validate_source(tmp_path)
    assert len(problems) == MAX_ROWS_NAMED + 1
    assert problems[-1] == (f"bookings.csv, rows {MAX_ROWS_NAMED + 1}-{n}, column 'amount': "
                            "... and 50 more rows with the same problem (not a number)")


def test_cli_demo_then_validate_subprocess(tmp_path):
    """The acceptance commands through the installed ``spm`` entry point (DuckDB file)."""
    spm = Path(sys.executable).with_name("spm")
    out = tmp_path / "demo.duckdb"
    r = subprocess.run([str(spm), "data", "demo", "--out", str(out), "--reps", "20",
                        "--years", "1", "--seed", "3"], check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    v = subprocess.run([str(spm), "data", "validate", str(out)], check=False, capture_output=True, text=True)
    assert v.returncode == 0, v.stderr
    assert v.stdout.startswith("valid: ")
    assert not list(tmp_path.glob(".*tmp*"))  # no temp leftovers


def test_cli_demo_csv_folder_then_validate(tmp_path, capsys):
    out = tmp_path / "demo_csv"
    code, _, err = run_cli(["data", "demo", "--out", f"{out}/", "--reps", "20", "--years", "1"],
                           capsys)
    assert code == 0, err
    assert {p.name for p in out.iterdir()} >= {"reps.csv", "bookings.csv", "quotas.csv",
                                               "accounts.csv", "opportunities.csv", "truth.csv"}
    code, stdout, err = run_cli(["data", "validate", str(out)], capsys)
    assert code == 0, err
    assert stdout.startswith("valid: ")
    # writing again over the folder replaces it atomically; a folder of other files is refused
    code, _, err = run_cli(["data", "demo", "--out", str(out), "--reps", "10", "--years", "1"],
                           capsys)
    assert code == 0, err
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "keep.txt").write_text("x")
    code, _, err = run_cli(["data", "demo", "--out", str(tmp_path / "docs")], capsys)
    assert code == 1 and "holds other files" in err
    assert [p.name for p in (tmp_path / "docs").iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(".*tmp*"))


def test_cli_usage_error_exit_2(capsys):
    code, _, _ = run_cli(["data", "demo"], capsys)  # --out missing
    assert code == 2


_LINE = (r"^(reps|bookings|quotas), (row \d+|header row|rows \d+-\d+), "
         r"column '[a-z_]+': .+$")
_cell = st.one_of(st.sampled_from(["", "NaN", "R1", "R2", "2024-01", "2024-01-15", "-3", "1.5",
                                   "abc", " 7 ", "2024-13", "1e400"]), st.text(max_size=6))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(_cell, _cell, _cell), max_size=8),
       st.lists(st.tuples(_cell, _cell, _cell), max_size=8))
def test_any_cells_give_well_formed_lines_or_clean_types(booking_rows, quota_rows):
    """Arbitrary cells never crash validation; every line names table, row and column; when
    there is no problem the typed values are clean."""
    reps = pd.DataFrame({"rep_id": ["R1", "R2"], "region": ["W", "E"],
                         "territory_id": ["T1", "T2"], "hire_date": ["2023-01-01"] * 2})
    bookings = pd.DataFrame(booking_rows, columns=["rep_id", "date", "amount"], dtype=object)
    quotas = pd.DataFrame(quota_rows, columns=["rep_id", "period", "quota"], dtype=object)
    typed, problems = validate_tables({"reps": reps, "bookings": bookings, "quotas": quotas})
    for line in problems:
        assert re.match(_LINE, line), line
    bad_rows = {int(m.group(1)) for ln in problems
                if (m := re.match(r"^bookings, row (\d+),", ln))}
    b = typed["bookings"]
    for i in range(len(b)):
        if i + 1 not in bad_rows:
            assert b["rep_id"].iloc[i] in ("R1", "R2")
            assert np.isfinite(b["amount"].iloc[i])
            assert pd.notna(b["date"].iloc[i])
    if not any(ln.startswith("quotas") for ln in problems):
        assert typed["quotas"]["period"].str.fullmatch(r"\d{4}-\d{2}").all()
        assert (typed["quotas"]["quota"] >= 0).all()


def test_quota_periods_written_as_spreadsheets_write_them():
    """Quota months are read year first like the bookings' months: 2024-1, 2024/03 and a
    date of the month (2024-02-01) are months; 2024-13 and 2024-02-30 are not."""
    import pandas as pd

    from spm_models.data.validate import _coerce_period

    out, checks = _coerce_period(pd.Series(["2024-1", "2024-02-01", "2024/3", " 2024-12 ",
                                            "2024-13", "2024-02-30", "Feb 2024", ""]))
    assert list(out[:4]) == ["2024-01", "2024-02", "2024-03", "2024-12"]
    assert out[4:].isna().all()
    assert list(checks[0][0]) == [False] * 4 + [True] * 3 + [False]  # empty: a missing value


def test_spreadsheet_shaped_numbers_and_dates_get_a_hint(tmp_path):
    """Numbers and dates as spreadsheets display them are still refused, with how to write them."""
    from spm_models.data.loader import load_source
    from spm_models.errors import InputError

    (tmp_path / "bookings.csv").write_text(
        "rep_id,date,amount\n"
        'R1,2024-01-05,"1,234.50"\nR1,2024-01-06,$2000\nR1,2024-01-07,(500)\n'
        "R1,44927,10\nR1,Jan-24,10\nR1,2024-01-08,abc\n")
    with pytest.raises(InputError) as exc:
        load_source(str(tmp_path))
    got = [p.split(": ", 1)[1] for p in exc.value.problems]
    assert "not a number ('1,234.50'): write it without thousands separators (1234.50)" in got
    assert "not a number ('$2000'): write the number without a currency symbol" in got
    assert "not a number ('(500)'): write a negative number as -500, not (500)" in got
    assert "not a number ('abc')" in got
    assert any(g.startswith("not a date ('44927'): an Excel date serial number?") for g in got)
    assert "not a date ('Jan-24'): write a month year first, as YYYY-MM (2024-01)" in got
