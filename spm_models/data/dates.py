"""Reading date columns written as text (CSV files, text columns of databases and workbooks).

One column is read with one format (see ``docs/data.md``, "Dates"):

* ISO 8601 dates and date-times, year first (``2026-03-04``, ``2026-03-04T09:30:00-05:00``,
  ``2026-03-04T00:00:00Z``, ``2026/03/04``): the calendar date **as written** -- the time of
  day and the zone are dropped, never converted (``2026-03-04T23:30:00-05:00`` is 2026-03-04).
* A month, year first (``2026-03``, ``2026/3``; finance exports of one row per rep and
  month): its first day.
* Numeric dates with the year last (``03/04/2026``, ``3.4.26``, ``03-04-2026 9:30 AM``): the
  column decides between day-first and month-first when one of its values can only be read one
  way (``13/04/2026`` is day-first) -- unless such values are at most 1 in :data:`THIN_SHARE`
  of 20 or more distinct dates (a lone ``25/03/2026`` among month-first dates is more likely a
  typo than evidence: the column is reported once); when every value fits both (all ≤ 12/12) the source's
  ``date_format`` (``DD/MM/YYYY`` or ``MM/DD/YYYY``) decides, else the column is reported once.
  Two-digit years follow Python's ``%y`` (00-68 → 20xx, 69-99 → 19xx).
* Dates with a month name (``Mar 4, 2026``, ``4 March 2026``): read by ``dateutil``; the day
  and a four-digit year must be written.

Work is done on the column's distinct values (``pandas.factorize``), so a column of millions of
rows with a few thousand distinct dates costs a few vectorised passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Accepted spellings of a source's ``date_format`` setting -> ``"DMY"`` / ``"MDY"``.
_ORDER_WORDS = {"DDMMYYYY": "DMY", "DDMMYY": "DMY", "DMY": "DMY", "DAYFIRST": "DMY",
                "MMDDYYYY": "MDY", "MMDDYY": "MDY", "MDY": "MDY", "MONTHFIRST": "MDY"}
DATE_FORMATS = ("DD/MM/YYYY", "MM/DD/YYYY")
#: How each order is written in messages.
_SPELLED = {"DMY": "DD/MM/YYYY", "MDY": "MM/DD/YYYY"}

_TIME = (r"(?:[T ,]+\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?\s*(?:[AaPp]\.?[Mm]\.?)?\s*"
         r"(?:Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)?)?")
_ISO_RE = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + r"$"
_NUM_RE = r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})" + _TIME + r"$"
_MONTH_RE = r"^(\d{4})[-/.](\d{1,2})$"
_NAMED_RE = r"[A-Za-z]{3,}"
_YEAR4_RE = r"(?<!\d)\d{4}(?!\d)"


def parse_date_format(value: object) -> str | None:
    """``"DMY"`` or ``"MDY"`` for a ``date_format`` setting (``DD/MM/YYYY``, ``MM/DD/YYYY``,
    any separators, ``day-first``/``month-first``); ``None`` when not recognised."""
    key = re.sub(r"[^A-Za-z]", "", str(value)).upper()
    return _ORDER_WORDS.get(key)


@dataclass
class ParsedDates:
    """Result of :func:`parse_dates` for one column (all arrays row-aligned with the input).

    ``values``: ``datetime64[ns]`` midnight of each date, NaT where empty or unreadable;
    ``bad``: non-empty cells that are not dates (one line per row); ``undecided``: cells left
    unread because the column's day/month order is unknown or mixed (one line for the column,
    ``problem``); ``problem``: that column-level message, else ``None``.
    """

    values: pd.Series
    bad: np.ndarray
    undecided: np.ndarray
    problem: str | None
    order: str | None  # "DMY"/"MDY" used for the numeric dates, None if none were read


def _assemble(year: pd.Series, month: pd.Series, day: pd.Series) -> np.ndarray:
    """datetime64[ns] from integer parts; NaT where the parts are not a calendar date."""
    frame = pd.DataFrame({"year": year, "month": month, "day": day})
    ok = frame["month"].between(1, 12) & frame["day"].between(1, 31) & frame["year"].between(
        1678, 2261)
    out = np.full(len(frame), np.datetime64("NaT"), dtype="datetime64[ns]")
    if ok.any():
        out[ok.to_numpy()] = pd.to_datetime(frame[ok], errors="coerce").to_numpy(
            dtype="datetime64[ns]")
    return out


def _named(values: pd.Series) -> np.ndarray:
    """Dates with a month name (one ``dateutil`` call per distinct value; day and year required)."""
    from datetime import datetime

    from dateutil import parser

    out = np.full(len(values), np.datetime64("NaT"), dtype="datetime64[ns]")
    d1, d2 = datetime(2000, 1, 1), datetime(2001, 2, 2)
    for i, v in enumerate(values):
        try:
            a = parser.parse(v, default=d1)
            b = parser.parse(v, default=d2)
        except (ValueError, OverflowError, TypeError):
            continue
        if a.date() != b.date():  # a part of the date was filled from the default
            continue
        out[i] = np.datetime64(a.date().isoformat(), "ns")
    return out


#: a column whose numeric dates are decided by at most 1 in THIN_SHARE of its distinct
#: values (with at least THIN_MIN_DATES of them) is not decided by them: real day-first data
#: has a day above 12 in about 60 % of its dates, so a lone one is more likely a typo
THIN_SHARE = 20
THIN_MIN_DATES = 20
#: Default end of the "cannot decide" line: how to state the order.
HOW = "set date_format: DD/MM/YYYY or MM/DD/YYYY in source.yaml beside the data files"


def parse_dates(text: pd.Series, date_format: str | None = None,
                how: str = HOW) -> ParsedDates:
    """Read a column of date text with one format (see the module docstring).

    Parameters
    ----------
    text
        Stripped strings, ``None`` or ``""`` where empty (object dtype).
    date_format
        ``"DMY"``/``"MDY"`` (from :func:`parse_date_format`) deciding numeric dates whose
        day/month order the column cannot decide; ``None`` when the source does not say.
    how
        End of the message when the order is unknown: how the user states it.
    """
    n = len(text)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    u = pd.Series(np.asarray(uniques, dtype=object), dtype=object).str.strip()
    parsed = np.full(len(u), np.datetime64("NaT"), dtype="datetime64[ns]")
    handled = (u == "").to_numpy()
    u_undecided = np.zeros(len(u), dtype=bool)
    problem = None
    order = None

    iso = u.str.extract(_ISO_RE)
    is_iso = iso[0].notna().to_numpy()
    if is_iso.any():
        parts = iso[is_iso].astype(int)
        parsed[is_iso] = _assemble(parts[0], parts[1], parts[2])
    handled |= is_iso

    month = u.str.extract(_MONTH_RE)  # a month (finance exports): its first day
    is_month = month[0].notna().to_numpy() & ~handled
    if is_month.any():
        parts = month[is_month].astype(int)
        parsed[is_month] = _assemble(parts[0], parts[1], pd.Series(1, index=parts.index))
    handled |= is_month

    num = u.str.extract(_NUM_RE)
    is_num = num[0].notna().to_numpy() & ~handled
    if is_num.any():
        a = num.loc[is_num, 0].astype(int)
        b = num.loc[is_num, 1].astype(int)
        y = num.loc[is_num, 2]
        year = y.astype(int)
        short = (y.str.len() == 2).to_numpy()
        year = year.where(~short, np.where(year < 69, 2000 + year, 1900 + year))
        # evidence of an order: a value that is a date in that order only (13/25/2026 is
        # neither and is reported by row once the order is known, not taken for evidence)
        only_d = ((a > 12) & (a <= 31) & (b <= 12)).to_numpy()
        only_m = ((b > 12) & (b <= 31) & (a <= 12)).to_numpy()
        day_first, month_first = bool(only_d.any()), bool(only_m.any())
        # distinct dates, not spellings ('1/2/2024' and '01/02/2024 9:30 AM' are one date)
        key = (year * 10000 + a * 100 + b).to_numpy()
        n_dates = len(np.unique(key))
        n_decisive = len(np.unique(key[only_d | only_m]))
        contra = (only_m if date_format == "DMY" else only_d) if date_format is not None else None
        n_contra = len(np.unique(key[contra])) if contra is not None else 0
        if (contra is not None and (2 * n_contra > n_dates
                                    or (n_dates >= THIN_MIN_DATES and n_contra * THIN_SHARE > n_dates))
                and not (only_d if date_format == "DMY" else only_m).any()):
            # more than a stray value reads only the other way (and none of it the stated way):
            # one line, not a row error per date; a stray one is named on its row
            stated, other = _SPELLED["DMY"], _SPELLED["MDY"]
            if date_format == "MDY":
                stated, other = other, stated
            problem = (f"dates such as '{u[is_num][contra].iloc[0]}' read only {other}, not the stated "
                       f"{stated}: state date_format {other} (source.yaml or --date-format)")
        elif date_format is not None:
            order = date_format
        elif (day_first != month_first and n_dates >= THIN_MIN_DATES
              and n_decisive * THIN_SHARE <= n_dates):
            # one order has evidence, but so little of the column that it may be a typo
            # (a month-first export with one '25/03/2022' would otherwise be read day-first)
            decisive = only_d | only_m
            reads = _SPELLED["DMY" if day_first else "MDY"]
            problem = (f"only {n_decisive} of {n_dates} distinct dates read one way only (such as "
                       f"'{u[is_num][decisive].iloc[0]}', {reads}); the others can be read day-first or "
                       f"month-first, too little to decide the order (a typo?); {how}")
        elif day_first and month_first:
            ex_d = u[is_num][only_d].iloc[0]
            ex_m = u[is_num][only_m].iloc[0]
            problem = (f"the column mixes day-first ('{ex_d}') and month-first ('{ex_m}') "
                       "dates; export it in one format (ISO YYYY-MM-DD is safest)")
        elif day_first:
            order = "DMY"
        elif month_first:
            order = "MDY"
        else:
            example = u[is_num].iloc[0]
            problem = (f"dates such as '{example}' can be read day-first or month-first; "
                       f"{how}")
        if order is None:
            u_undecided[is_num] = True
        else:
            day, month = (a, b) if order == "DMY" else (b, a)
            parsed[is_num] = _assemble(year, month, day)
    handled |= is_num

    rest = ~handled
    if rest.any():
        cand = rest & u.str.contains(_NAMED_RE).to_numpy() & u.str.contains(_YEAR4_RE).to_numpy()
        if cand.any():
            parsed[cand] = _named(u[cand])

    u_bad = ~(u == "").to_numpy() & np.isnat(parsed) & ~u_undecided
    valid = codes >= 0
    values = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    values[valid] = parsed[codes[valid]]
    bad = np.zeros(n, dtype=bool)
    bad[valid] = u_bad[codes[valid]]
    undecided = np.zeros(n, dtype=bool)
    undecided[valid] = u_undecided[codes[valid]]
    return ParsedDates(pd.Series(values, index=text.index), bad, undecided, problem,
                       order if is_num.any() else None)


def order_hint(value: object, order: str | None) -> str:
    """``": reads only DD/MM/YYYY, not the column's MM/DD/YYYY"`` for a numeric date that fits
    only the other day/month order than ``order`` (``"DMY"``/``"MDY"``), else ``""``."""
    m = re.match(_NUM_RE, str(value).strip())
    if m is None or order not in ("DMY", "MDY"):
        return ""
    a, b = int(m.group(1)), int(m.group(2))
    fits = {"DMY": 1 <= b <= 12 and 1 <= a <= 31, "MDY": 1 <= a <= 12 and 1 <= b <= 31}
    other = "MDY" if order == "DMY" else "DMY"
    if fits[order] or not fits[other]:
        return ""
    return f": reads only {_SPELLED[other]}, not the column's {_SPELLED[order]}"


def month_stamp(dates: pd.Series) -> str | None:
    """How a bookings column is dated: ``"start"`` when every date is the first day of its
    month, ``"end"`` when every date is the last day of its month (finance and ERP exports of
    one amount per rep and month), ``None`` when dated by day (CRM deal rows) or empty.

    A month-stamped row stands for the whole month: the in-quarter outlook counts such a month
    as closed in full once its stamp is before the as-of date, and forecasts it in full
    otherwise (:func:`spm_models.forecast.quarter_outlook.bookings_only_quarter`).
    """
    d = pd.to_datetime(pd.Series(dates)).dropna()
    if len(d) == 0 or (d != d.dt.normalize()).any():
        return None
    if (d.dt.day == 1).all():
        return "start"
    if d.dt.is_month_end.all():
        return "end"
    return None
