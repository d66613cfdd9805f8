"""How to fix a bad cell or header: the hints that end problem lines of the data loader
(:mod:`spm_models.data.validate`) and of the comp inputs (:mod:`spm_models.comp.calc`).

* :func:`number_hint`, :func:`date_hint` — a number or date written as spreadsheets display it;
* :func:`total_rows` — id cells that are the label of a total/subtotal line of a report
  (``Total``, ``Grand Total``, ``West Total``, ``Subtotal``, ``Sum``, ...) or an Excel error
  value (``#N/A``): such a row is not a rep's data and is refused;
* :func:`lost_zeros` — an unknown id that matches a known one up to leading zeros;
* :func:`missing_columns_hint` — why required columns were not found: a title above the
  header, a wide month-per-column export, or a header spelled differently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

#: Excel's error values (a formula that failed), compared case-insensitively.
EXCEL_ERRORS = ("#N/A", "#REF!", "#VALUE!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                "#SPILL!", "#CALC!", "#GETTING_DATA", "#N/A N/A")
_EXCEL_ERRORS_LOWER = frozenset(e.lower() for e in EXCEL_ERRORS)
EXCEL_ERROR_HOW = ("an Excel error value (a formula that failed): fix the formula or clear the "
                   "cell before exporting")

#: Labels of total and subtotal lines as report tools write them (Excel pivot tables and
#: Subtotal, LibreOffice "Total Result", Google Sheets "SUM of ...", German/French/Spanish
#: exports), matched after lower-casing and dropping a trailing colon.
_TOTAL_RE = re.compile(
    r"^(?:(?:grand|sub|overall|running)[\s_-]*)?(?:totals?(?:\s+\w+)?|sum|summe|"
    r"gesamt(?:summe)?|zwischensumme|somme|suma|totale|all\s+reps)$"
    r"|^.*\s(?:total|totals|subtotal|gesamt|summe)$"
    r"|^(?:sum|count|average)\s+of\s+.+$"
    r"|^total\s+(?:g[ée]n[ée]ral|general)$",
    re.IGNORECASE)


def _shown(v: object) -> str:
    text = " ".join(str(v).replace("\xa0", " ").replace("\u202f", " ").split())
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------- cells

_HINTS_NUMBER = (
    (re.compile(r"^#"), None),  # Excel error values: see below
    (re.compile(r"[$€£¥]|\b(?:USD|EUR|GBP)\b"), "write the number without a currency symbol"),
    (re.compile(r"^\(.*\)$"), "write a negative number as -500, not (500)"),
    (re.compile(r"^\d[\d.,]*-$"), "write a negative number with the minus first (-500.00), not 500.00- (SAP)"),
    (re.compile(r"^-?\d{1,3}(?:\.\d{3})*,\d+$"), "write decimals with '.', not ',' (1234.50)"),
    (re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$"), "write it without thousands separators (1234.50)"),
    (re.compile(r"^-?\d{1,3}(?:[ \u00a0\u202f']\d{3})+(?:[.,]\d+)?$"),
     ("write it without thousands separators (a space or non-breaking space between the "
     "thousands): 1234.50")),
    (re.compile(r"\d%$"), "write a share as a plain number (0.25), not a percentage"),
)


def is_excel_error(value: object) -> bool:
    """Whether a cell is one of Excel's error values (``#N/A``, ``#REF!``, ...)."""
    return str(value).strip().lower() in _EXCEL_ERRORS_LOWER


def number_hint(value: object) -> str:
    """``": <how to write it>"`` for a cell that is a number written the way spreadsheets
    display it (currency symbol, thousands separators -- commas, spaces or non-breaking
    spaces --, decimal comma, accounting parentheses, a trailing minus, percent sign) or an
    Excel error value;
    ``""`` for anything else."""
    text = str(value).strip()
    if is_excel_error(text):
        return f": {EXCEL_ERROR_HOW}"
    for rx, how in _HINTS_NUMBER:
        if how is not None and rx.search(text):
            return f": {how}"
    return ""


def date_hint(value: object) -> str:
    """``": <how to write it>"`` for a date cell written in a shape the reader refuses: an
    Excel serial number, a month without its year first (``Jan-24``, ``01/2024``), an Excel
    error value, the label of a total line."""
    text = str(value).strip()
    if is_excel_error(text):
        return f": {EXCEL_ERROR_HOW}"
    if _TOTAL_RE.match(text.rstrip(":").strip()):
        return ": a total/subtotal line of a report, not data: delete the row"
    if re.fullmatch(r"\d{5}(?:\.0+)?", text) and 20000 <= float(text) <= 80000:
        return (": an Excel date serial number? format the column as a date (YYYY-MM-DD) "
                "before saving")
    if re.fullmatch(r"[A-Za-z]{3,9}[-/ ]\d{2,4}|\d{1,2}[-/.]\d{4}", text):
        return ": write a month year first, as YYYY-MM (2024-01)"
    return ""


def is_total_label(value: object) -> bool:
    """Whether an id cell reads as the label of a total/subtotal line (``Total``, ``Grand
    Total``, ``Sub-Total``, ``West Total``, ``Total Result``, ``Sum of amount``, ``Summe``,
    ...), any case and spacing, a trailing colon ignored."""
    text = " ".join(str(value).split()).rstrip(":").strip()
    return bool(text) and bool(_TOTAL_RE.match(text))


def total_rows(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the id cells that are a total/subtotal label and of those that are an Excel
    error value (``ids``: text or ``None``; each distinct value is tested once)."""
    codes, uniques = pd.factorize(ids, use_na_sentinel=True)
    total = np.array([is_total_label(u) for u in uniques] + [False], dtype=bool)
    error = np.array([is_excel_error(u) for u in uniques] + [False], dtype=bool)
    return total[codes], error[codes]


TOTAL_HOW = ("looks like a total/subtotal line of a report, not a rep's data: delete the row "
             "(or export the details without totals)")


def lost_zeros(unknown: Iterable[str], known: Iterable[str]) -> dict[str, str]:
    """For unknown ids that equal a known id up to leading zeros (``'1'`` vs ``'00001'``, in
    either direction), the known spelling: ``{unknown: known}``."""
    by_number: dict[str, str] = {}
    for k in known:
        if k and k.isdigit():
            by_number.setdefault(k.lstrip("0") or "0", k)
    out = {}
    for u in unknown:
        if u and u.isdigit():
            hit = by_number.get(u.lstrip("0") or "0")
            if hit is not None and hit != u:
                out[u] = hit
    return out


# --------------------------------------------------------------------------- headers

#: Header names (letters and digits only, lower case) meaning a contract column.
_SYNONYMS = {
    "rep_id": ("repid", "rep", "salesrep", "salesrepid", "repname", "owner", "ownerid",
               "employeeid", "employee", "seller", "sellerid", "accountexecutive", "aeid"),
    "date": ("month", "period", "closedate", "bookingdate", "orderdate", "day", "yearmonth",
             "closedmonth", "bookedon", "dated"),
    "amount": ("amountusd", "amount", "value", "revenue", "bookings", "booking", "sales",
               "total", "acv", "arr", "tcv", "dealvalue", "amt", "netamount", "sum"),
}
_MONTH_HEADER_RE = re.compile(
    r"^(?:\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?(?:[ T]00:00:00)?|\d{1,2}[-/.]\d{4}|"
    r"[A-Za-z]{3,9}[-/ ']?\d{2,4}|\d{4}[-/ ]?[A-Za-z]{3,9})$")


def _key(name: object) -> str:
    return re.sub(r"[^0-9a-z]", "", str(name).lower())


def _month_headers(columns: Sequence[object]) -> list[str]:
    out = []
    for c in columns:
        if hasattr(c, "year") and hasattr(c, "month"):
            out.append(f"{c.year:04d}-{c.month:02d}")
        elif _MONTH_HEADER_RE.match(str(c).strip()):
            out.append(str(c).strip())
    return out


def _header_row(df: pd.DataFrame, missing: Sequence[str]) -> int | None:
    """Position (0-based) of a data row that holds the missing column names (a title above
    the header pushed the header down), looking at the first 20 rows."""
    want = {_key(m) for m in missing}
    for pos in range(min(20, len(df))):
        cells = {_key(v) for v in df.iloc[pos].tolist() if v is not None and str(v).strip()}
        if want <= cells:
            return pos
    return None


def missing_columns_hint(df: pd.DataFrame, missing: Sequence[str], rows: np.ndarray
                         ) -> tuple[str | None, dict[str, str]]:
    """Why the required columns ``missing`` are not in ``df``'s header.

    Returns
    -------
    (table_hint, column_hints)
        ``table_hint``: one sentence for the whole header (the header is further down, below
        a title; the table is wide, one column per month), or ``None``; ``column_hints``: for
        a missing column, the header that was probably meant (``Rep ID`` → ``rep_id``).
    """
    if not missing:
        return None, {}
    pos = _header_row(df, missing)
    if pos is not None:
        return (f"the header row seems to be spreadsheet row {int(rows[pos]) + 1} (rows above "
                "it look like a title): delete the rows above the header"), {}
    months = _month_headers(list(df.columns))
    if len(months) >= 3:
        return (f"one column per month ('{months[0]}', '{months[1]}', ... {len(months)} "
                "columns): the contract wants one row per rep and month, columns rep_id, "
                "date, amount; reshape it (Excel: Power Query, Unpivot Columns; pandas: "
                "df.melt(id_vars='rep_id', var_name='date', value_name='amount'))"), {}
    unnamed = [c for c in df.columns if str(c).startswith("Unnamed:") or str(c).strip() == ""]
    if len(unnamed) >= max(1, len(df.columns) - 1) and len(df.columns) > 1:
        return ("the first row has no column names (a title above the header?): the header "
                "must be the first row"), {}
    hints: dict[str, str] = {}
    taken: set[str] = set()
    for name in missing:
        wanted = (_key(name), *_SYNONYMS.get(name, ()))
        for c in df.columns:
            k = _key(c)
            if c not in taken and (k in wanted or any(k.startswith(w) and len(w) > 3
                                                      for w in wanted)):
                hints[name] = f"the column '{_shown(c)}' is probably meant: rename it '{name}'"
                taken.add(c)
                break
    return None, hints
