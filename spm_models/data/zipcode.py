"""US ZIP codes as spreadsheets mangle them, normalised to five digits (``docs/data.md``, "ZIP").

A spreadsheet that saw a ZIP column as numbers drops leading zeros (``02134`` → ``2134``), may
write it as a float (``2134.0``) and turns ZIP+4 ``02134-1234`` into ``21341234``. Every such
spelling is mapped back to the 5-digit ZIP; anything else is rejected (never guessed):

============================  ===================  ==========
written                        read as              example
============================  ===================  ==========
1-5 digits                     zero-padded to 5     ``2134`` → ``02134``
digits + ``.0`` (float)        as the digits        ``2134.0`` → ``02134``
3-5 digits ``-`` 4 digits      ZIP+4: the ZIP       ``02134-1234``, ``2134-1234`` → ``02134``
7-9 digits                     ZIP+4 without hyphen ``021341234``, ``21341234`` → ``02134``
6 digits, ``00000``, letters  rejected             ``213412``, ``SW1A 1AA``
============================  ===================  ==========

Six digits cannot be either: a 5-digit ZIP has at most 5, and a ZIP+4 of the lowest ZIP
(``00501-0000``) still has 7 once its leading zeros are lost.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_RULES = (
    (r"(\d{1,5})(?:\.0*)?", 5),           # plain, or a float's ".0"
    (r"(\d{3,5})-\d{4}", 5),             # ZIP+4 with hyphen (maybe without leading zeros)
    (r"(\d{7,9})(?:\.0*)?", 9),          # ZIP+4 without hyphen (maybe without leading zeros)
)


def normalise_zips(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Five-digit ZIP strings for ``values`` (strings, numbers or ``None``).

    Returns
    -------
    (zips, bad)
        ``zips``: object Series (same index), the 5-digit ZIP, ``None`` where empty or bad;
        ``bad``: bool array, non-empty values that are no ZIP spelling (to be reported).
    """
    if pd.api.types.is_float_dtype(values):
        arr = values.to_numpy(dtype=float)
        ints = np.isfinite(arr) & (np.floor(arr) == arr)
        text = pd.Series([str(int(v)) if i else (None if np.isnan(v) else repr(v))
                          for v, i in zip(arr, ints, strict=True)], index=values.index,
                         dtype=object)
    else:
        text = values.astype(object).where(values.notna(), None).map(
            lambda v: None if v is None else str(v).strip())
    out = pd.Series(None, index=text.index, dtype=object)
    done = np.zeros(len(text), dtype=bool)
    s = text.fillna("")
    for pattern, width in _RULES:
        m = s.str.fullmatch(pattern).to_numpy(dtype=bool) & ~done
        if m.any():
            digits = s[m].str.extract(f"^{pattern}$")[0]
            out[m] = digits.str.zfill(width).str[:5]
            done |= m
    zero = (out == "00000").to_numpy()  # the usual "unknown" placeholder, no ZIP
    out[zero] = None
    empty = (s == "").to_numpy()
    return out.where(out.notna(), None), (~done | zero) & ~empty
