"""The in-quarter outlook on finance exports dated by month (one row per rep and month).

A row dated 2026-08-01 stands for all of August: with an as-of date of 2026-08-15 August is
closed in full and only September is forecast -- not August's row plus half of August again
(a new user's finding: the quarter's median was 20 % above the truth, outside its interval).
"""

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from spm_models.data.dates import month_stamp
from spm_models.forecast.quarter_outlook import (
    _covering,
    bookings_only_quarter,
    first_open_month,
    quarter_outlook,
)


def _day(s: str) -> int:
    return int(np.datetime64(s, "D").astype(np.int64))


def _tables(stamp_day: str = "start") -> dict[str, pd.DataFrame]:
    months = pd.period_range("2025-01", "2026-08", freq="M")
    rows = []
    for r, base in (("R1", 1000.0), ("R2", 50.0)):
        for i, m in enumerate(months):
            d = m.start_time if stamp_day == "start" else m.end_time.normalize()
            rows.append({"booking_id": f"{r}-{m}", "rep_id": r, "date": d, "amount": base + i})
    return {"bookings": pd.DataFrame(rows)}


def _cube(periods: list[str], value: float = 7.0, draws: int = 5) -> xr.DataArray:
    return xr.DataArray(np.full((2, len(periods), draws), value), dims=("rep", "period", "draw"),
                        coords={"rep": ["R1", "R2"], "period": periods, "draw": np.arange(draws)})


def test_month_stamp_reads_how_a_column_is_dated():
    assert month_stamp(pd.Series(["2026-01-01", "2026-02-01"])) == "start"
    assert month_stamp(pd.Series(pd.to_datetime(["2026-01-31", "2026-02-28"]))) == "end"
    assert month_stamp(pd.Series(["2026-01-01", "2026-02-14"])) is None
    assert month_stamp(pd.Series(["2026-01-01 09:30"])) is None
    assert month_stamp(pd.Series([], dtype="datetime64[ns]")) is None


def test_first_open_month():
    assert str(first_open_month(_day("2026-08-15"), "start")) == "2026-09"
    assert str(first_open_month(_day("2026-08-01"), "start")) == "2026-08"
    assert str(first_open_month(_day("2026-08-15"), None)) == "2026-08"
    assert str(first_open_month(_day("2026-08-15"), "end")) == "2026-08"


@pytest.mark.parametrize("as_of", ["2026-08-02", "2026-08-15", "2026-08-31"])
def test_mid_month_as_of_counts_the_stamped_month_once(as_of):
    t = _tables()
    q = bookings_only_quarter(t, _day(as_of), None, 5, 0, _cube(["2026-09"]))
    b = t["bookings"].set_index(["rep_id", pd.to_datetime(t["bookings"]["date"]).dt.strftime("%Y-%m")])["amount"]
    for r in ("R1", "R2"):
        jul, aug = b[(r, "2026-07")], b[(r, "2026-08")]
        np.testing.assert_array_equal(q["closed"].sel(rep=r).values, [jul, aug, 0.0])
        # July and August as booked, September from the forecast, nothing counted twice
        np.testing.assert_allclose(q["bookings"].sel(rep=r).sum("period").values, jul + aug + 7.0)


def test_as_of_on_the_first_forecasts_that_month_in_full():
    t = _tables()
    q = bookings_only_quarter(t, _day("2026-08-01"), None, 5, 0, _cube(["2026-08", "2026-09"]))
    jul = t["bookings"].query("rep_id == 'R1'")["amount"].iloc[-2]
    np.testing.assert_allclose(q["bookings"].sel(rep="R1").sum("period").values, jul + 14.0)


def test_month_end_stamps_are_known_only_after_the_month():
    t = _tables("end")  # the August row is dated 2026-08-31: not known on 2026-08-15
    q = bookings_only_quarter(t, _day("2026-08-15"), None, 5, 0, _cube(["2026-08", "2026-09"]))
    jul = t["bookings"].query("rep_id == 'R2'")["amount"].iloc[-2]
    np.testing.assert_allclose(q["bookings"].sel(rep="R2").sum("period").values, jul + 14.0)


def test_day_dated_bookings_keep_the_share_of_the_month_ahead():
    t = _tables()
    t["bookings"].loc[0, "date"] = pd.Timestamp("2025-01-17")  # one deal-dated row
    q = bookings_only_quarter(t, _day("2026-08-16"), None, 5, 0, _cube(["2026-08", "2026-09"]))
    np.testing.assert_allclose(q["bookings"].sel(rep="R2", period="2026-08").values,
                               t["bookings"]["amount"].iloc[-1] + 7.0 * 16 / 31)


def test_a_quarter_closed_in_full_needs_no_forecast():
    t = _tables()
    t["bookings"] = t["bookings"][pd.to_datetime(t["bookings"]["date"]) < "2026-07-01"]
    out = quarter_outlook(t, "2026-06-20", n_draws=4)  # June's row is known: Q2 is closed
    tot = out.quarter["bookings"].sum("period")
    want = t["bookings"][pd.to_datetime(t["bookings"]["date"]) >= "2026-04-01"].groupby("rep_id")["amount"].sum()
    np.testing.assert_allclose(tot.sel(rep="R1").values, want["R1"])
    assert "dated by month" in " ".join(out.notes)


def test_covering_starts_at_the_first_open_month():
    a = _day("2026-08-15")
    assert _covering(_cube(["2026-09"]), a, "start") is not None
    assert _covering(_cube(["2026-09"]), a, None) is None
