"""The columns of crediting's tables: reading text, numbers and dates of bookings, splits and
reps files fast (factorised distinct values, pyarrow where the reader produced Arrow text),
the one-line problems about them, and the warnings about input that is credited as the rules
say but is likely a mistake. Used by :mod:`spm_models.comp.crediting` (tables) and
:mod:`spm_models.comp.credit_cube` (history shares)."""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from spm_models.comp.plan import MAX_MONEY
from spm_models.data.columns import ID_INTEGRAL_PATTERN, canonical_columns, normalise_ids
from spm_models.data.hints import number_hint
from spm_models.errors import location, row_problems

_DATE_RE = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?(?:[T ][0-9:.]*(?:Z|[+-]\d{2}:?\d{2})?)?\s*$")


class CreditingWarning(UserWarning):
    """Something in the bookings that is credited as the rules say but is likely a mistake
    (a ``where`` value no booking has, a booking id on several rows)."""


@dataclass(frozen=True)
class Names:
    """File names used in error lines."""

    plan: str = "plan"
    bookings: str = "bookings"
    splits: str = "splits"
    reps: str = "reps"


def _warn_repeated_ids(ids: pd.Series, rows: np.ndarray, names: Names) -> None:
    """Warn when booking ids repeat (an export pasted twice credits every deal twice)."""
    codes, uniques = _id_codes(ids)
    counts = np.bincount(codes, minlength=len(uniques))
    rep = np.flatnonzero((counts > 1) & (np.asarray(uniques, dtype=object) != ""))
    if len(rep):
        k = int(rep[0])
        at = rows[np.flatnonzero(codes == k)[:2]]
        warnings.warn(f"{names.bookings}, rows {int(at[0])} and {int(at[1])}, field 'booking_id': "
                      f"{str(uniques[k])[:40]!r} is on {int(counts[k])} rows, each credited"
                      + (f" (and {len(rep) - 1} more repeated ids)" if len(rep) > 1 else ""),
                      CreditingWarning, stacklevel=3)


def _warn_unlisted(credited: np.ndarray, reps: pd.DataFrame, names: Names) -> None:
    """Warn about credited reps (bookings' or splits' ``rep_id``) missing from the reps file:
    no ``manager_id`` chain starts at them, so their credits roll up to nobody."""
    reps = canonical_columns(reps, ["rep_id"])
    if "rep_id" not in reps.columns:
        return
    listed = set(normalise_ids(reps["rep_id"]))
    missing = sorted({str(r) for r in credited if str(r) and str(r) not in listed})
    if missing:
        warnings.warn(f"{names.reps}, field 'rep_id': {len(missing)} credited rep(s) not in the "
                      f"file ({', '.join(map(repr, missing[:5]))}{' ...' if len(missing) > 5 else ''}): "
                      "their credits roll up to no manager", CreditingWarning, stacklevel=3)


def _where_unmatched(col: str, allowed: tuple[str, ...],
                     present: np.ndarray, i: int, names: Names) -> None:
    """Warn about the values of a ``where`` list that no booking row has (``New`` against
    ``new``, a misspelt product): the measure then silently credits less."""
    have = {str(v) for v in present}
    missing = [v for v in allowed if v not in have]
    if missing:
        shown = ", ".join(sorted(have)[:8]) + (" ..." if len(have) > 8 else "")
        warnings.warn(f"{names.plan}, key 'measures[{i}].credit.where.{col}': "
                      f"{', '.join(map(repr, missing))} matches no row of {names.bookings} "
                      f"(values there: {shown or 'none'}; matching is exact text)",
                      CreditingWarning, stacklevel=3)


def _text(series: pd.Series) -> pd.Series:
    """A column as stripped text ('' for missing): the distinct values are stripped once
    (factorised first), which keeps a million-row column fast."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    stripped = np.array([("" if u is None else str(u).strip()) for u in uniques] + [""],
                        dtype=object)
    return pd.Series(stripped[codes], index=series.index, dtype=object)


def _arrow(series: pd.Series):
    """The pyarrow string array behind a ``pd.ArrowDtype`` text column, else None."""
    if isinstance(series.dtype, pd.ArrowDtype):
        import pyarrow as pa

        if pa.types.is_string(series.dtype.pyarrow_dtype) or \
                pa.types.is_large_string(series.dtype.pyarrow_dtype):
            return series.array.__arrow_array__()
    return None


def _codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes and the distinct values of a column as stripped text ('' for missing):
    ``uniques[codes]`` is :func:`_text` of the column, without building a million strings."""
    arr = _arrow(series)
    if arr is not None:
        import pyarrow.compute as pc

        enc = pc.dictionary_encode(pc.fill_null(pc.utf8_trim_whitespace(arr), "")).combine_chunks()
        return (enc.indices.to_numpy(zero_copy_only=False).astype(np.int64),
                np.asarray(enc.dictionary.to_pylist(), dtype=object))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    missing = bool((codes < 0).any())
    stripped = np.array([("" if u is None else str(u).strip()) for u in uniques]
                        + ([""] if missing else []), dtype=object)
    # values equal once stripped share a code; a missing value (code -1) is the last: ""
    merged, distinct = pd.factorize(stripped)
    return merged[codes].astype(np.int64), np.asarray(distinct, dtype=object)


def _id_codes(series: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_codes` of an identifier column, each distinct value normalised as the data
    loader does (:func:`spm_models.data.columns.normalise_ids`: stripped, ``101.0`` →
    ``101``); pyarrow text columns are normalised in C++ with the same pattern."""
    arr = _arrow(series)
    if arr is not None:
        import pyarrow.compute as pc

        ids = pc.replace_substring_regex(pc.fill_null(pc.utf8_trim_whitespace(arr), ""),
                                         pattern=ID_INTEGRAL_PATTERN, replacement=r"\1")
        enc = pc.dictionary_encode(ids).combine_chunks()
        return (enc.indices.to_numpy(zero_copy_only=False).astype(np.int64),
                np.asarray(enc.dictionary.to_pylist(), dtype=object))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    normal = normalise_ids(pd.Series(list(uniques) + [None], dtype=object)).to_numpy()
    merged, distinct = pd.factorize(normal)
    return merged[codes].astype(np.int64), np.asarray(distinct, dtype=object)


def _fast_numbers(series: pd.Series, name: str, field: str, rows: np.ndarray,
                  problems: list[str]) -> np.ndarray:
    """:func:`_numbers`, parsing a pyarrow text column in C++ (its problems, if any, are
    worded by :func:`_numbers`)."""
    arr = _arrow(series)
    if arr is None:
        return _numbers(series, name, field, rows, problems)
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        vals = pc.cast(pc.utf8_trim_whitespace(arr), pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        vals = None
    if vals is None or not (np.isfinite(vals) & (np.abs(vals) <= MAX_MONEY)).all():
        return _numbers(series.astype(object), name, field, rows, problems)
    return np.asarray(vals, dtype=np.float64)


def _month_of(value: str) -> str | None:
    if isinstance(value, (_dt.date, pd.Timestamp)):
        return f"{value.year:04d}-{value.month:02d}"
    m = _DATE_RE.match(str(value))
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    if m.group(3) is not None:
        try:
            _dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
        except ValueError:
            return None
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def _header(df: pd.DataFrame, name: str, required: list[str], problems: list[str],
            why: str = "missing column") -> None:
    cols = list(df.columns)
    for c in required:
        if c not in cols:
            problems.append(f"{location(name, None, c).replace(', field', ', header, field')}: "
                            f"{why} (have: {', '.join(map(str, cols)) or 'none'})")


def _numbers(series: pd.Series, name: str, field: str, rows: np.ndarray,
             problems: list[str]) -> np.ndarray:
    """Parse a numeric column; one problem line per row that is not a finite number within
    the money bound (:func:`spm_models.errors.row_problems`: the first rows, then how many
    more)."""
    vals = pd.to_numeric(series, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(vals) | (np.abs(vals) > MAX_MONEY)
    if bad.any():
        pos = np.flatnonzero(bad)
        problems.extend(row_problems(
            name, field, rows[pos],
            lambda k: f"not a number within ±{MAX_MONEY:g}: {str(series.iloc[pos[k]])[:40]!r}"
                      f"{number_hint(series.iloc[pos[k]])}",
            f"not a number within ±{MAX_MONEY:g}"))
    return vals
