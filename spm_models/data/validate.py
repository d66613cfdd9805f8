"""Vectorised validation and typing of contract tables.

:func:`validate_tables` takes raw tables (as read from CSV, Parquet, Excel, DuckDB or SQL) and
returns typed tables plus one problem line per bad cell::

    bookings.csv, row 17, column 'amount': not a number ('abc')

Rows are spreadsheet rows below the header (:mod:`spm_models.data.csvfile`: blank lines count,
a multi-line cell is one row; tables from databases are numbered by position). A check that
fails on many rows reports the first :data:`~spm_models.errors.MAX_ROWS_NAMED` rows one per line
and then one :func:`~spm_models.errors.more_rows` line with the count (as every command does).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from spm_models.data.columns import canonical_columns, normalise_ids
from spm_models.data.csvfile import row_numbers
from spm_models.data.dates import order_hint, parse_dates
from spm_models.data.hints import (
    TOTAL_HOW,
    date_hint,
    lost_zeros,
    missing_columns_hint,
    number_hint,
    total_rows,
)
from spm_models.data.schemas import (
    KNOWN_STAGES,
    MAX_ABS_NUMBER,
    MAX_ABS_TEXT,
    MAX_VALUE,
    OPPORTUNITY_STATUSES,
    SCHEMAS,
    ColumnSchema,
    TableSchema,
)
from spm_models.data.zipcode import normalise_zips
from spm_models.errors import MAX_ROWS_NAMED, more_rows

_NAN_WORDS = {"nan", "na", "n/a", "null", "none"}
__all__ = ["DATE_FORMAT_HOW", "date_hint", "number_hint", "validate_tables"]
_PERIOD_ANY_RE = r"^\s*(\d{4})[-/.](\d{1,2})(?:[-/.](\d{1,2}))?\s*$"
#: How a source states the order of dates such as 03/04/2026 (ends the column's error line).
DATE_FORMAT_HOW = ("set date_format: DD/MM/YYYY or MM/DD/YYYY in source.yaml beside the data "
                   "files (every command reads it; spm data validate and spm forecast backtest also take "
                   "--date-format)")


class Problems:
    """Collects problem lines, capping each row-level check at
    :data:`~spm_models.errors.MAX_ROWS_NAMED` rows."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        #: spreadsheet row number of each position, by table label (default: position + 1)
        self.row_of: dict[str, np.ndarray] = {}
        #: positions already reported as not data (a total line), by table label
        self.skip: dict[str, np.ndarray] = {}

    def row(self, label: str, pos: int) -> int:
        """The row number shown for position ``pos`` of table ``label``."""
        rows = self.row_of.get(label)
        return int(rows[pos]) if rows is not None else pos + 1

    def add(self, label: str, message: str, column: str | None = None,
            row: int | str | None = None) -> None:
        """Add one line ``label, row R, column 'C': message`` (row/column optional)."""
        parts = [label]
        if row is not None:
            parts.append(row if isinstance(row, str) else f"row {row}")
        if column is not None:
            parts.append(f"column '{column}'")
        self.lines.append(f"{', '.join(parts)}: {message}")

    def rows(self, label: str, column: str, mask: np.ndarray | pd.Series,
             message: Callable[[int], str], summary: str) -> None:
        """Add one line per position where ``mask`` holds (``message(pos)``), capped."""
        mask = np.asarray(mask, dtype=bool)
        skip = self.skip.get(label)
        if skip is not None and len(skip) == len(mask):
            mask = mask & ~skip
        pos = np.flatnonzero(mask)
        for p in pos[:MAX_ROWS_NAMED]:
            self.add(label, message(int(p)), column, self.row(label, int(p)))
        if len(pos) > MAX_ROWS_NAMED:
            rest = pos[MAX_ROWS_NAMED:]
            where = f"{label}, rows {self.row(label, rest[0])}-{self.row(label, rest[-1])}" + (
                f", column '{column}'" if column is not None else "")
            self.lines.append(more_rows(where, len(rest), summary))


# --------------------------------------------------------------------------- coercion


def _shown(v: object) -> str:
    """A raw value as quoted in an error line."""
    text = str(v).replace("\xa0", " ").replace("\u202f", " ")  # as a spreadsheet shows them
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)  # one line
    if len(text) > 40:
        text = text[:37] + "..."
    return f"'{text}'"


def _stringify(s: pd.Series) -> pd.Series:
    """Values as stripped strings (object dtype), ``None`` where missing."""
    if pd.api.types.is_bool_dtype(s):
        out = s.astype(object).map(str)
    elif pd.api.types.is_integer_dtype(s):
        out = s.astype(object).where(s.notna(), None).map(lambda v: None if v is None else str(v))
    elif pd.api.types.is_float_dtype(s):
        vals = s.to_numpy(dtype=float, na_value=np.nan)
        integral = np.isfinite(vals) & (np.floor(vals) == vals)
        out = pd.Series(
            [None if np.isnan(v) else (str(int(v)) if i else repr(v))
             for v, i in zip(vals, integral, strict=True)],
            index=s.index, dtype=object,
        )
    elif pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
        out = s.astype(object).str.strip()
    else:
        def conv(v: object) -> object:
            if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
                return None
            if isinstance(v, float) and v.is_integer():
                return str(int(v))
            return str(v).strip()

        out = s.astype(object).map(conv)
    return out.where(out.notna(), None)


def _empty(text: pd.Series) -> np.ndarray:
    return (text.isna() | (text == "")).to_numpy()


def _coerce_id(s: pd.Series) -> tuple[pd.Series, list[tuple[np.ndarray, Callable[[int], str], str]]]:
    """Ids as text (:func:`spm_models.data.columns.normalise_ids`: ``101.0`` → ``'101'``,
    as the comp inputs read them), ``None`` where empty."""
    text = normalise_ids(_stringify(s))
    return text.where(~_empty(text), None), []


def _coerce_number(s: pd.Series) -> tuple[pd.Series, list]:
    bad: list = []
    if pd.api.types.is_bool_dtype(s):
        num = pd.Series(np.nan, index=s.index)
        bad.append((s.notna().to_numpy(), lambda p: f"not a number ({_shown(s.iloc[p])})",
                    "not a number"))
        return num, bad
    if pd.api.types.is_numeric_dtype(s):
        num = s.astype(float)
    else:
        text = _stringify(s)
        num = pd.to_numeric(text, errors="coerce").astype(float)
        empty = _empty(text)
        nan_word = text.str.lower().isin(_NAN_WORDS).to_numpy()
        not_num = ~empty & num.isna().to_numpy() & ~nan_word
        bad.append((not_num, lambda p: f"not a number ({_shown(text.iloc[p])}){number_hint(text.iloc[p])}",
                    "not a number"))
        num = num.where(~not_num, np.nan)
    vals = num.to_numpy(copy=True)
    huge = np.abs(vals) > MAX_ABS_NUMBER  # inf too
    if huge.any():
        shown = _stringify(s)
        bad.append((huge, lambda p: f"number beyond ±{MAX_ABS_TEXT} ({_shown(shown.iloc[p])})",
                    f"number beyond ±{MAX_ABS_TEXT}"))
        num = num.where(~huge, np.nan)
    return num, bad


def _coerce_date(s: pd.Series, date_format: str | None = None) -> tuple[pd.Series, list]:
    """Dates at midnight (the calendar date as written; see :mod:`spm_models.data.dates`).
    A check whose message is ``None`` is a column-level problem worded by its summary."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):  # wall time in its own zone, then the date
        return s.dt.tz_localize(None).dt.normalize().astype("datetime64[ns]"), []
    if pd.api.types.is_datetime64_any_dtype(s):
        arr = s.to_numpy()
        lo = np.datetime64(pd.Timestamp.min.ceil("D").date())
        hi = np.datetime64(pd.Timestamp.max.floor("D").date())
        out_of_range = ~np.isnat(arr) & ((arr < lo) | (arr > hi))
        if not out_of_range.any():
            return s.astype("datetime64[ns]").dt.normalize(), []
        ok = pd.Series(np.where(out_of_range, np.datetime64("NaT"), arr), index=s.index)
        return ok.astype("datetime64[ns]").dt.normalize(), [
            (out_of_range, lambda p: f"date out of range ({_shown(arr[p].astype('datetime64[D]'))})", "date out of range")]
    if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s):
        text = _stringify(s)
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns]"), [
            (~_empty(text), lambda p: f"not a date ({_shown(text.iloc[p])}){date_hint(text.iloc[p])}",
             "not a date")]
    kind = pd.api.types.infer_dtype(s, skipna=True)
    if kind in ("date", "datetime", "datetime64"):  # Python date/datetime objects: wall date
        wall = s.map(lambda v: None if pd.isna(v)
                     else pd.Timestamp(getattr(v, "date", lambda: v)()))
        return pd.to_datetime(wall, errors="coerce").astype("datetime64[ns]"), []
    text = _stringify(s)
    res = parse_dates(text, date_format, DATE_FORMAT_HOW)
    problems = [(res.bad, lambda p: (f"not a date ({_shown(text.iloc[p])})"
                                     f"{date_hint(text.iloc[p]) or order_hint(text.iloc[p], res.order)}"),
                 "not a date")]
    if res.problem:
        problems.append((res.undecided, None, res.problem))
    return res.values.astype("datetime64[ns]"), problems


def _coerce_period(s: pd.Series) -> tuple[pd.Series, list]:
    if pd.api.types.is_datetime64_any_dtype(s) or pd.api.types.infer_dtype(
        s, skipna=True
    ) in ("date", "datetime", "datetime64"):
        dt = pd.to_datetime(s, errors="coerce")
        out = dt.dt.strftime("%Y-%m")
        return out.where(dt.notna(), None), []
    text = _stringify(s)
    empty = _empty(text)
    # year first, as the bookings' month dates are read: 2026-03, 2026-3, 2026/03, and a
    # date of the month (2026-03-01, the form spreadsheets save) for its month
    parts = text.str.extract(_PERIOD_ANY_RE)
    month = pd.to_numeric(parts[1], errors="coerce")
    ok = (month >= 1) & (month <= 12)
    day = parts[2].notna()
    if day.any():
        whole = pd.to_datetime(parts[0] + "-" + parts[1] + "-" + parts[2], format="%Y-%m-%d",
                               errors="coerce")
        ok &= ~day | whole.notna()
    ok = ok.fillna(False).to_numpy(dtype=bool)
    bad = ~empty & ~ok
    norm = parts[0] + "-" + month.fillna(1).astype(int).astype(str).str.zfill(2)
    out = norm.where(ok, None)
    return out, [(bad, lambda p: f"not a month 'YYYY-MM' ({_shown(text.iloc[p])})",
                  "not a month 'YYYY-MM'")]


_COERCE = {
    "id": _coerce_id,
    "text": _coerce_id,
    "number": _coerce_number,
    "date": _coerce_date,
    "period": _coerce_period,
}


# --------------------------------------------------------------------------- checks


def _normalise_columns(df: pd.DataFrame, schema: TableSchema) -> pd.DataFrame:
    """Rename columns that match a contract column up to case and surrounding spaces
    (:func:`spm_models.data.columns.canonical_columns`, as the comp inputs)."""
    return canonical_columns(df, [c.name for c in schema.columns])


def _check_table(df: pd.DataFrame, schema: TableSchema, label: str, out: Problems,
                 date_format: str | None = None) -> tuple[pd.DataFrame, set[str]]:
    """Type one table; return it and the set of contract columns that are usable."""
    out.row_of[label] = row_numbers(df)
    df = _normalise_columns(df, schema).reset_index(drop=True)
    ids = _check_totals(df, label, out)
    missing = [n for n in schema.required if n not in df.columns]
    whole, hints = missing_columns_hint(df, missing, out.row_of[label])
    if whole is not None:
        out.add(label, f"required column{'s' if len(missing) > 1 else ''} "
                f"{', '.join(missing)} not found: {whole}", None, "header row")
    for name in missing if whole is None else ():
        hint = f": {hints[name]}" if name in hints else ""
        if name == "date" and "period" in df.columns:  # a finance export: one row per rep-month
            hint = (" (the file has 'period': name that column 'date'; months written "
                    "YYYY-MM are read as their first day)")
        out.add(label, "required column is missing" + hint, name, "header row")
    typed = df.copy()
    usable: set[str] = set()
    for col in schema.columns:
        if col.name not in df.columns:
            continue
        raw = df[col.name]
        if col.kind == "date":
            values, bad = _coerce_date(raw, date_format)
        elif col.name == "rep_id" and ids is not None:
            values, bad = ids, []
        else:
            values, bad = _COERCE[col.kind](raw)
        if col.name == "zip":
            values, not_zip = normalise_zips(values)
            written = _stringify(raw)
            bad.append((not_zip, lambda p, v=written: f"not a US ZIP code ({_shown(v.iloc[p])}): "
                        "5 digits, or ZIP+4", "not a US ZIP code"))
        failed = np.zeros(len(values), dtype=bool)
        for mask, message, summary in bad:
            if message is None:  # one line for the column
                if np.asarray(mask).any():
                    out.add(label, summary, col.name)
            else:
                out.rows(label, col.name, mask, message, summary)
            failed |= np.asarray(mask, dtype=bool)
        _check_values(values, col, schema, label, out, failed)
        typed[col.name] = values
        usable.add(col.name)
    return typed, usable


def _check_values(values: pd.Series, col: ColumnSchema, schema: TableSchema, label: str,
                  out: Problems, failed: np.ndarray) -> None:
    """Missing values in non-nullable columns, and number bounds (``failed``: already reported)."""
    if not col.nullable:
        missing = values.isna().to_numpy()
        if col.kind == "number":
            msg = "missing value (empty or NaN)"
        else:
            msg = "missing value (empty)"
        out.rows(label, col.name, missing & ~failed, lambda p: msg, msg)
    if col.kind == "number":
        arr = values.to_numpy(dtype=float)
        if col.min_value is not None:
            low = arr < col.min_value
            what = "negative" if col.min_value == 0 else f"below {col.min_value:g}"
            out.rows(label, col.name, low, lambda p: f"{what} {col.name} ({arr[p]:g})",
                     f"{what} {col.name}")
        hi = MAX_VALUE.get((schema.name, col.name))
        if hi is not None:
            high = arr > hi
            out.rows(label, col.name, high, lambda p: f"above {hi:g} ({arr[p]:g})", f"above {hi:g}")


def _check_duplicates(df: pd.DataFrame, schema: TableSchema, usable: set[str], label: str,
                      out: Problems) -> None:
    """Rows repeating the table's key (rows with an empty id are skipped)."""
    key = [k for k in schema.key if k in df.columns and k in usable]
    if not key or key[: min(2, len(schema.key))] != list(schema.key[:2]):
        return
    sub = df[key].astype(object).where(df[key].notna(), "")
    valid = df[key[:2]].notna().all(axis=1).to_numpy()
    if len(key) == 1:
        codes = pd.factorize(sub[key[0]])[0]
    else:
        codes = sub.groupby(key, sort=False).ngroup().to_numpy()
    n = len(codes)
    first = np.full(codes.max() + 1 if n else 0, n)
    np.minimum.at(first, codes, np.arange(n))
    dup = (first[codes] < np.arange(n)) & valid
    if not dup.any():
        return

    def msg(p: int) -> str:
        row = tuple(sub.iloc[p])
        at = f"(first at row {out.row(label, int(first[codes[p]]))})"
        if len(key) == 1:
            return f"duplicate {key[0]} {_shown(row[0])} {at}"
        what = " and ".join(f"{k} {_shown(v)}" for k, v in zip(key, row, strict=True) if v != "")
        return f"duplicate row for {what} {at}"

    out.rows(label, key[min(1, len(key) - 1)], dup, msg, "duplicate " + "/".join(key))


def _check_rules(name: str, df: pd.DataFrame, usable: set[str], label: str,
                 out: Problems) -> pd.DataFrame:
    """Table-specific rules; returns the table (status normalised to lower case)."""
    if name == "reps" and {"hire_date", "term_date"} <= usable:
        before = (df["term_date"] < df["hire_date"]).to_numpy()
        out.rows(label, "term_date", before,
                 lambda p: f"term_date {df['term_date'].iloc[p]:%Y-%m-%d} is before hire_date "
                           f"{df['hire_date'].iloc[p]:%Y-%m-%d}",
                 "term_date before hire_date")
    if name == "reps" and {"rep_id", "manager_id"} <= usable:
        mgr = df["manager_id"]
        unknown = (mgr.notna() & ~mgr.isin(set(df["rep_id"].dropna()))).to_numpy()
        out.rows(label, "manager_id", unknown,
                 lambda p: f"unknown manager_id {_shown(mgr.iloc[p])} (not a rep_id in reps)",
                 "unknown manager_id")
    if name == "opportunities" and "status" in usable:
        status = df["status"].str.lower()
        bad = (status.notna() & ~status.isin(OPPORTUNITY_STATUSES)).to_numpy()
        out.rows(label, "status", bad,
                 lambda p: f"status {_shown(df['status'].iloc[p])} is not one of "
                           f"{'/'.join(OPPORTUNITY_STATUSES)}",
                 "status not in " + "/".join(OPPORTUNITY_STATUSES))
        df = df.assign(status=status.where(~bad, None))
    if name == "opportunities" and {"created_date", "close_date"} <= usable:
        before = (df["close_date"] < df["created_date"]).to_numpy()
        out.rows(label, "close_date", before,
                 lambda p: f"close_date {df['close_date'].iloc[p]:%Y-%m-%d} is before "
                           f"created_date {df['created_date'].iloc[p]:%Y-%m-%d}",
                 "close_date before created_date")
    return df


def _check_pipeline_rules(name: str, df: pd.DataFrame, usable: set[str], label: str,
                          out: Problems) -> pd.DataFrame:
    """Opportunity and stage-history rules: unknown stage names (see
    :data:`~spm_models.data.schemas.KNOWN_STAGES`), history status normalised to lower case."""
    if name in ("opportunities", "opportunity_history") and "stage" in usable:
        stage = df["stage"]
        bad = (stage.notna() & ~stage.str.lower().isin(KNOWN_STAGES)).to_numpy()
        out.rows(label, "stage", bad,
                 lambda p: f"unknown stage {_shown(stage.iloc[p])} (known: an open CRM stage "
                           "such as Prospecting/Qualification/Proposal/Negotiation, or "
                           "Closed Won/Closed Lost)",
                 "unknown stage")
    if name == "opportunity_history" and "status" in usable:
        status = df["status"].str.lower()
        bad = (status.notna() & ~status.isin(OPPORTUNITY_STATUSES)).to_numpy()
        out.rows(label, "status", bad,
                 lambda p: f"status {_shown(df['status'].iloc[p])} is not one of "
                           f"{'/'.join(OPPORTUNITY_STATUSES)}",
                 "status not in " + "/".join(OPPORTUNITY_STATUSES))
        df = df.assign(status=status.where(~bad, None))
    return df


def _check_history_reference(typed: Mapping[str, pd.DataFrame], usable: Mapping[str, set[str]],
                             labels: Mapping[str, str], out: Problems) -> None:
    """``opportunity_history.opp_id`` must name an opportunity (when both tables exist)."""
    if "opp_id" in usable.get("opportunities", set()) and "opp_id" in usable.get(
            "opportunity_history", set()):
        known = set(typed["opportunities"]["opp_id"].dropna())
        _check_reference(typed["opportunity_history"], "opp_id", known,
                         labels.get("opportunity_history", "opportunity_history"),
                         labels.get("opportunities", "opportunities"), out)


def _check_reference(df: pd.DataFrame, column: str, known: set[str], label: str,
                     ref_label: str, out: Problems) -> None:
    vals = df[column]
    unknown = (vals.notna() & ~vals.isin(known)).to_numpy()
    zeros = lost_zeros(set(vals[unknown]), known) if unknown.any() else {}

    def msg(p: int) -> str:
        v = vals.iloc[p]
        hint = (f": {ref_label} has {_shown(zeros[v])} (leading zeros lost, e.g. by Excel? "
                "format the id column as text)") if v in zeros else ""
        return f"unknown {column} {_shown(v)} (not in {ref_label}){hint}"

    summary = f"unknown {column}" + (", leading zeros lost?" if zeros else "")
    out.rows(label, column, unknown, msg, summary)


def _check_totals(df: pd.DataFrame, label: str, out: Problems) -> pd.Series | None:
    """Rows whose ``rep_id`` is the label of a total/subtotal line (``Grand Total``) or an
    Excel error value (``#N/A``): one line each; no later check names these rows. Returns the
    typed ``rep_id`` column (None without one)."""
    if "rep_id" not in df.columns:
        return None
    ids = _coerce_id(df["rep_id"])[0]
    total, error = total_rows(ids)
    out.rows(label, "rep_id", total, lambda p: f"{_shown(ids.iloc[p])} {TOTAL_HOW}",
             "a total/subtotal line")
    out.rows(label, "rep_id", error,
             lambda p: f"{_shown(ids.iloc[p])} is an Excel error value (a formula that "
                       "failed): fix the formula or clear the cell", "an Excel error value")
    out.skip[label] = total | error
    return ids


def validate_tables(
    tables: Mapping[str, pd.DataFrame], labels: Mapping[str, str] | None = None,
    date_format: str | None = None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Validate and type raw tables.

    Parameters
    ----------
    tables
        Raw tables by name; names outside the contract are passed through unchecked.
    labels
        How each table is named in problem lines (e.g. ``bookings.csv``); default the name.
    date_format
        ``"DMY"`` or ``"MDY"`` (:func:`spm_models.data.dates.parse_date_format`): the order of
        numeric dates such as ``03/04/2026`` when a column cannot decide it; ``None``: such a
        column is reported.

    Returns
    -------
    (typed tables, problem lines)
        Dates are ``datetime64[ns]``, ``period`` a ``'YYYY-MM'`` string, ids strings, numbers
        ``float64``; extra columns are kept unchanged.
    """
    labels = dict(labels or {})
    out = Problems()
    typed: dict[str, pd.DataFrame] = {}
    usable: dict[str, set[str]] = {}
    for name in SCHEMAS:
        if name not in tables:
            continue
        label = labels.get(name, name)
        df, ok = _check_table(tables[name], SCHEMAS[name], label, out, date_format)
        _check_duplicates(df, SCHEMAS[name], ok, label, out)
        typed[name] = _check_rules(name, df, ok, label, out)
        typed[name] = _check_pipeline_rules(name, typed[name], ok, label, out)
        usable[name] = ok
    if "rep_id" in usable.get("reps", set()):
        rep_ids = set(typed["reps"]["rep_id"].dropna())
        ref = labels.get("reps", "reps")
        for name in ("bookings", "quotas", "opportunities", "accounts"):
            if "rep_id" in usable.get(name, set()):
                _check_reference(typed[name], "rep_id", rep_ids, labels.get(name, name), ref, out)
    if "account_id" in usable.get("accounts", set()):
        acc_ids = set(typed["accounts"]["account_id"].dropna())
        ref = labels.get("accounts", "accounts")
        for name in ("bookings", "opportunities"):
            if "account_id" in usable.get(name, set()):
                _check_reference(typed[name], "account_id", acc_ids, labels.get(name, name), ref,
                                 out)
    _check_history_reference(typed, usable, labels, out)
    for name, df in tables.items():
        if name not in typed:
            typed[name] = df
    return typed, out.lines
