"""``monthly_panel`` on tables built in memory names every bad row up to the shared cap, then
one "... and N more" line (it used to drop rows beyond the 20th silently)."""

import pandas as pd
import pytest

from spm_models.errors import MAX_ROWS_NAMED, InputError
from spm_models.forecast.panel import monthly_panel


def test_bad_amounts_beyond_the_cap_are_counted():
    n = MAX_ROWS_NAMED + 5
    b = pd.DataFrame({"rep_id": ["1"] * n, "date": ["2024-01-01"] * n, "amount": ["x"] * n})
    with pytest.raises(InputError) as exc:
        monthly_panel({"bookings": b})
    lines = exc.value.problems
    assert len(lines) == MAX_ROWS_NAMED + 1
    assert lines[0] == "bookings, row 1, field 'amount': not a number 'x'"
    assert lines[-1] == (f"bookings, rows {MAX_ROWS_NAMED + 1}-{n}, field 'amount': ... and 5 more "
                         "rows with the same problem (not a number)")


def test_unknown_reps_are_named_by_row():
    b = pd.DataFrame({"rep_id": ["1", "9"], "date": ["2024-01-01", "2024-02-01"], "amount": [1.0, 2.0]})
    reps = pd.DataFrame({"rep_id": ["1"], "hire_date": ["2023-01-01"]})
    with pytest.raises(InputError) as exc:
        monthly_panel({"bookings": b, "reps": reps})
    assert exc.value.problems == ["bookings, row 2, field 'rep_id': unknown rep '9'"]
