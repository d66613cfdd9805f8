"""Warnings about booking rows that repeat: an export pasted twice, or appended to itself,
validates cleanly (every row is fine on its own) but counts every deal twice.

Used by ``spm data validate`` (warnings on stderr, exit 0): a repeated row may be real (two
equal deals on one day), so it is reported, not refused. ``spm comp credit`` warns about
repeated ``booking_id`` values itself (:mod:`spm_models.comp.credit_columns`).
"""

from __future__ import annotations

import pandas as pd

from spm_models.data.csvfile import row_numbers

#: rows named in one warning line
MAX_NAMED = 5


def repeated_bookings(bookings: pd.DataFrame, label: str = "bookings") -> list[str]:
    """Warning lines for ``bookings`` rows equal in every column to an earlier row, and for
    ``booking_id`` values on more than one row (when that column is present).

    Parameters
    ----------
    bookings
        The validated bookings table (rows as read; spreadsheet row numbers from its index
        when read from CSV, positions otherwise -- :func:`row_numbers`).
    label
        The table's name in the lines (e.g. ``bookings.csv``).

    Returns
    -------
    list[str]
        ``"{label}, rows A, B, ...: ..."`` lines (empty when nothing repeats).
    """
    if len(bookings) == 0:
        return []
    rows = row_numbers(bookings)
    out = []
    frame = bookings.reset_index(drop=True)
    dup = frame.duplicated(keep="first").to_numpy()
    if dup.any():
        shown = ", ".join(str(r) for r in rows[dup][:MAX_NAMED])
        more = f" and {int(dup.sum()) - MAX_NAMED} more" if dup.sum() > MAX_NAMED else ""
        out.append(f"{label}, {_rows(dup.sum())} {shown}{more}: {int(dup.sum())} row(s) repeat an earlier row "
                   "in every column (an export pasted twice?): each is counted as a deal")
    if "booking_id" in frame.columns:
        ids = frame["booking_id"]
        again = (ids.notna() & ids.duplicated(keep="first")).to_numpy() & ~dup
        if again.any():
            shown = ", ".join(str(r) for r in rows[again][:MAX_NAMED])
            out.append(f"{label}, {_rows(again.sum())} {shown}, field 'booking_id': {int(again.sum())} row(s) "
                       "reuse an earlier row's booking_id with other values")
    return out


def _rows(n) -> str:
    return "row" if int(n) == 1 else "rows"
