"""``spm data validate`` warns about booking rows that repeat (an export pasted twice)."""

import subprocess
import sys

import pandas as pd

from spm_models.data.duplicates import repeated_bookings


def test_exact_repeats_and_reused_ids_are_named():
    b = pd.DataFrame({"booking_id": ["B1", "B1", "B2", "B2", "B3"],
                      "rep_id": ["1", "1", "1", "2", "1"],
                      "date": pd.to_datetime(["2024-02-01"] * 5),
                      "amount": [5000.0, 5000.0, 10.0, 10.0, 7.0]})
    lines = repeated_bookings(b, "bookings.csv")
    assert lines == [
        ("bookings.csv, row 2: 1 row(s) repeat an earlier row in every column (an export "
        "pasted twice?): each is counted as a deal"),
        ("bookings.csv, row 4, field 'booking_id': 1 row(s) reuse an earlier row's booking_id "
        "with other values")]
    assert repeated_bookings(b.drop_duplicates()) == [  # positions once read from memory
        lines[1].replace("bookings.csv", "bookings").replace("row 4", "row 3")]
    assert repeated_bookings(b.iloc[[0, 2, 4]]) == []


def test_validate_prints_the_warning_and_stays_valid(tmp_path):
    (tmp_path / "bookings.csv").write_text("booking_id,rep_id,date,amount\n"
                                           "B1,101,2024-02-01,5000\nB1,101,2024-02-01,5000\n")
    r = subprocess.run([sys.executable, "-m", "spm_models.cli", "data", "validate", str(tmp_path)],
                       capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.startswith("valid: 2 bookings")
    assert r.stderr.strip() == ("warning: bookings.csv, row 2: 1 row(s) repeat an earlier row in "
                                "every column (an export pasted twice?): each is counted as a deal")
