"""Header names and identifiers of user tables, read the same way everywhere: by the data
loader (``spm data validate``, :func:`spm_models.data.load_source`) and by the comp inputs
(credits, quotas, reps and target-incentive files, bookings, splits of ``spm comp calc`` /
``credit`` / ``statement``).

* :func:`canonical_columns` — a header matches a contract column up to case and surrounding
  spaces (``Rep_ID``, `` amount ``);
* :func:`normalise_ids` — an identifier cell is stripped text, and an integer written with a
  zero fraction (``101.0``, how spreadsheets and float columns export integer ids) is that
  integer (``'101'``), as ``docs/data.md`` ("Typed output") states.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np
import pandas as pd

#: An integer written with a zero fraction (``101.0``); group 1 is the integer. Shared by the
#: Python and the pyarrow (bookings of a million rows) normalisation.
ID_INTEGRAL_PATTERN = r"^([+-]?\d+)\.0*$"
_INTEGRAL_RE = re.compile(ID_INTEGRAL_PATTERN)


def canonical_columns(df: pd.DataFrame, wanted: Iterable[str]) -> pd.DataFrame:
    """``df`` with its header names stripped of surrounding spaces, and each ``wanted`` column
    written in another case (``Rep_ID``, ``AMOUNT``) renamed to the wanted spelling when
    exactly one header matches it case-insensitively and no header has the wanted spelling.

    Returns a new frame (the data are not copied when nothing is renamed). Two headers equal up
    to case are refused earlier, by the CSV reader (:mod:`spm_models.data.csvfile`)."""
    wanted = list(wanted)
    cols = [c.strip() if isinstance(c, str) else c for c in df.columns]
    have = set(cols)
    rename: dict[int, str] = {}
    for w in wanted:
        if w in have:
            continue
        hits = [k for k, c in enumerate(cols) if isinstance(c, str) and c.lower() == w.lower()]
        if len(hits) == 1 and cols[hits[0]] not in wanted:
            rename[hits[0]] = w
    new = [rename.get(k, c) for k, c in enumerate(cols)]
    if new == list(df.columns):
        return df
    out = df.copy(deep=False)
    out.columns = new
    return out


def normalise_id(value: object) -> str:
    """One identifier as text: ``''`` when missing, stripped, ``'101.0'`` → ``'101'`` (an
    integral float → its integer)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, float):
        if np.isnan(value):
            return ""
        return str(int(value)) if value.is_integer() else repr(value)
    text = str(value).strip()
    m = _INTEGRAL_RE.match(text)
    return m.group(1) if m else text


def normalise_ids(series: pd.Series) -> pd.Series:
    """:func:`normalise_id` of every cell (object dtype, ``''`` where missing); the distinct
    values are normalised once, which keeps a million-row column fast."""
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    texts = np.array([normalise_id(u) for u in uniques] + [""], dtype=object)
    return pd.Series(texts[codes], index=series.index, dtype=object)
