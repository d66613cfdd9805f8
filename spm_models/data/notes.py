"""Warnings about a data source that is valid but probably not what the user meant.

* booking rows that repeat an earlier row (an export pasted twice; :mod:`.duplicates`);
* booking rows dated before their rep's hire month (a ``hire_date`` that holds the start of
  the current role: the forecast leaves those months out, :func:`bookings_before_hire`);
* files of a source folder that the loader does not use (``Bookings_2024_export.csv``: read as
  an extra table, not as ``bookings``; ``bookings.txt``: not a CSV, Parquet or Excel file).

:func:`spm_models.data.load_source` returns a :class:`Tables` mapping that carries these lines
and prints each once per process on stderr (``warning: ...``); :func:`data_warnings` gives them
to the report (``summary.json``).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd

#: Extra tables of the demo organisation: read and returned, never worth a note.
KNOWN_EXTRAS = frozenset({"truth", "truth_reps", "territories"})
#: Words of a file name that mean a contract table.
_TABLE_WORDS = {"booking": "bookings", "bookings": "bookings", "rep": "reps", "reps": "reps",
                "quota": "quotas", "quotas": "quotas", "account": "accounts",
                "accounts": "accounts", "opportunity": "opportunities",
                "opportunities": "opportunities", "opps": "opportunities"}
_QUIET_FILES = frozenset({"source.yaml", "source.yml"})
_QUIET_SUFFIXES = frozenset({".md", ".rst", ".yaml", ".yml", ".duckdb", ".db", ".ddb",
                             ".wal", ".lock"})
_printed: set[str] = set()


class Tables(dict[str, pd.DataFrame]):
    """The tables of a source (``{name: DataFrame}``) with ``warnings``: one line per
    warning (file, row, field), empty when there is nothing to say."""

    warnings: list[str]

    def __init__(self, tables: dict[str, pd.DataFrame], warnings: list[str] | None = None):
        super().__init__(tables)
        self.warnings = list(warnings or [])


def data_warnings(tables: object) -> list[str]:
    """The warning lines of tables returned by :func:`spm_models.data.load_source` (booking
    rows that repeat an earlier row, files of the folder that were not used); ``[]`` for any
    other mapping. Each line names the file (and rows/field where it applies), without a
    ``warning:`` prefix, e.g. ``bookings.csv, rows 41, 42, ...: 40 row(s) repeat an earlier
    row in every column (an export pasted twice?): each is counted as a deal``."""
    return list(getattr(tables, "warnings", []) or [])


def print_warnings(lines: list[str]) -> None:
    """Print each line as ``warning: LINE`` on stderr, once per process (a source loaded
    twice by one command warns once)."""
    for line in lines:
        if line not in _printed:
            _printed.add(line)
            print(f"warning: {line}", file=sys.stderr)


def _tokens(stem: str) -> list[str]:
    return [t for t in re.split(r"[^a-z]+", stem.lower()) if t]


def skipped_files(folder: Path, suffixes: tuple[str, ...], contract: set[str]) -> list[str]:
    """One line per file of ``folder`` that is not used as a contract table: a file of
    another kind (``bookings.txt``), or a table file whose name is not a table's name but
    looks like one (``Bookings_2024_export.csv`` is read as an extra table)."""
    out = []
    for p in sorted(folder.iterdir()):
        if not p.is_file() or p.name.startswith((".", "~$")) or p.name.lower() in _QUIET_FILES:
            continue
        suffix = p.suffix.lower()
        stem = p.stem.strip().lower()
        words = [_TABLE_WORDS[t] for t in _tokens(stem) if t in _TABLE_WORDS]
        meant = f" (name it {words[0]}{suffix if suffix in suffixes else '.csv'} to use it as "\
                f"{words[0]})" if words else ""
        if suffix in suffixes:
            if stem not in contract and stem not in KNOWN_EXTRAS and words:
                out.append(f"{p.name}: not used as a contract table: the file name is not a "
                           f"table name, so it is read as an extra table '{stem}'{meant}")
        elif suffix not in _QUIET_SUFFIXES and not stem.startswith("readme"):
            how = {".txt": " (a tab-separated export? save it as CSV, comma separated)",
                   ".tsv": " (save it as CSV, comma separated)",
                   ".xls": " (an Excel 97-2003 workbook: save it as .xlsx)"}.get(suffix, "")
            out.append(f"{p.name}: skipped: not a CSV, Parquet or Excel file{how}{meant}")
    return out


def bookings_before_hire(bookings: pd.DataFrame, reps: pd.DataFrame, label: str, reps_label: str) -> list[str]:
    """One line when booking rows (typed; index = spreadsheet rows) fall in months before their
    rep's ``hire_date`` month in ``reps``: the forecast's panel counts a rep from the hire
    month on (:func:`spm_models.forecast.panel.monthly_panel`), so those bookings are not used
    (a rep with positive bookings in ``PRE_HIRE_MONTHS`` or more months before it is taken as
    tenured: no ramp-up);
    ``[]`` when there are none or a column is missing."""
    from spm_models.forecast.panel import PRE_HIRE_MONTHS

    if not {"rep_id", "hire_date"} <= set(reps) or not {"rep_id", "date"} <= set(bookings):
        return []
    hire = reps.drop_duplicates("rep_id").set_index("rep_id")["hire_date"]
    h = pd.to_datetime(bookings["rep_id"].map(hire), errors="coerce")
    d = pd.to_datetime(bookings["date"], errors="coerce")
    before = (d.dt.to_period("M") < h.dt.to_period("M")).to_numpy()  # False where either is NaT
    if not before.any():
        return []
    rows = bookings.index[before]
    first = np.flatnonzero(before)[0]
    shown = ", ".join(str(r) for r in rows[:3]) + (", ..." if len(rows) > 3 else "")
    n_reps = bookings["rep_id"][before].nunique()
    return [(f"{label}, row{'s' if len(rows) > 1 else ''} {shown}: {len(rows)} booking row(s) of {n_reps} "
             f"rep(s) dated before the rep's hire month in {reps_label} (e.g. '{bookings['rep_id'].iloc[first]}' "
             f"on {d.iloc[first].date()}, hired {h.iloc[first].date()}): the forecast counts a rep from the "
             f"hire month on and leaves these out (a rep with positive bookings in {PRE_HIRE_MONTHS} or more "
             "months before it is taken as tenured: no ramp-up); if hire_date is the start of the current "
             "role, give the first day with the company")]
